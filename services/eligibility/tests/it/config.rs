use std::collections::HashMap;

use xiaopu_common::config::{ConfigError, Defaults, load_from};
use xiaopu_eligibility::Settings;

fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let env: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let environment = config::Environment::with_prefix("XIAOPU").source(Some(env));
    load_from(
        &Defaults {
            service_name: "eligibility",
            listen_addr: "127.0.0.1:50051",
            idle_timeout_ms: 120_000,
            needs_database: true,
        },
        None,
        environment,
    )
}

const BASE: [(&str, &str); 2] = [
    ("XIAOPU_DATABASE__URL", "postgres://u@localhost/eligibility"),
    ("XIAOPU_AUTH__SECRET", "0123456789abcdef0123456789abcdef"),
];

#[test]
fn environment_overrides_defaults() {
    let mut vars = BASE.to_vec();
    vars.extend([("XIAOPU_ELIGIBILITY__THRESHOLD", "750"), ("XIAOPU_SERVER__LISTEN_ADDR", "0.0.0.0:6000")]);
    let settings = load(&vars).expect("valid");
    assert_eq!(settings.service.threshold, 750);
    assert_eq!(settings.service.freshness_days, 30);
    assert_eq!(settings.common.server.listen_addr.port(), 6000);
    assert_eq!(settings.common.telemetry.service_name, "eligibility");
}

#[test]
fn a_bad_value_names_its_key() {
    let mut vars = BASE.to_vec();
    vars.push(("XIAOPU_ELIGIBILITY__THRESHOLD", "1000"));
    let err = load(&vars).expect_err("out of range").to_string();
    assert!(err.contains("eligibility.threshold"), "{err}");

    let err = load(&[BASE[0]]).expect_err("no secret").to_string();
    assert!(err.contains("auth.secret"), "{err}");

    let err = load(&[BASE[1]]).expect_err("no database").to_string();
    assert!(err.contains("database.url"), "{err}");

    let mut vars = BASE.to_vec();
    vars.push(("XIAOPU_SERVER__REQUEST_TIMEOUT_MS", "soon"));
    let err = load(&vars).expect_err("not a number").to_string();
    assert!(err.contains("server.request_timeout_ms"), "{err}");
}
