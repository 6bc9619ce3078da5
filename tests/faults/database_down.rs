//! PostgreSQL stopped under load, on a cluster of the test's own: calls fail fast
//! with Unavailable (never Internal, never a hang), health says NOT_SERVING while it
//! is down, and the clients' retries of the same request ids succeed once it is back,
//! each write stored exactly once.
use std::{
    collections::BTreeSet,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tonic::Code;
use xiaopu_api::eligibility::{RecordCreditScoreRequest, eligibility_service_client::EligibilityServiceClient};
use xiaopu_common::{
    auth::Role,
    config::FeedTransportKind,
    testing::{TestDatabase, process::ServingStatus},
    transport_matrix,
};
use xiaopu_e2e::system::System;

const CLIENTS: usize = 4;
const WRITES: usize = 60;

/// `postgres.sh start|stop <cluster>`: this test's own cluster, stopped and started
/// on the same port while the service runs.
fn cluster(command: &str, cluster: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/local/postgres.sh");
    let out = Command::new("bash")
        .args([script, command, cluster])
        .env_remove("DATABASE_URL")
        .output()
        .expect("run postgres.sh");
    assert!(out.status.success(), "postgres.sh {command}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Stops the cluster however the test ends.
struct ClusterGuard(&'static str);

impl Drop for ClusterGuard {
    fn drop(&mut self) {
        cluster("stop", self.0);
    }
}

#[derive(Default)]
struct Seen {
    codes: BTreeSet<String>,
    slowest_failure: Duration,
}

transport_matrix!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    database_stopped_under_load_gives_unavailable_then_retries_succeed
);
async fn database_stopped_under_load_gives_unavailable_then_retries_succeed(transport: FeedTransportKind) {
    xiaopu_common::testing::init_logs();
    // A cluster per transport: the two runs of this test go on side by side.
    let name = match transport {
        FeedTransportKind::Outbox => "fault-outbox",
        FeedTransportKind::Jetstream => "fault-jetstream",
    };
    let admin_url = cluster("start", name);
    let _guard = ClusterGuard(name);
    let db = TestDatabase::create_on(&admin_url, "fault_elig").await;
    let mut system = System::new(transport, None).await;
    // A short pool wait: a call finds out within a second that the database is gone.
    let env = [("XIAOPU_DATABASE__ACQUIRE_TIMEOUT_MS", "1000"), ("XIAOPU_SERVER__HEALTH_CHECK_INTERVAL_MS", "200")];
    system.add_with_database("eligibility", "eligibility", None, &env, db).await;

    let seen = Arc::new(Mutex::new(Seen::default()));
    let writers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let mut client = EligibilityServiceClient::new(system.client("eligibility", Role::Service, "bureau"));
            let seen = seen.clone();
            tokio::spawn(async move {
                for i in 0..WRITES {
                    let request = RecordCreditScoreRequest {
                        request_id: format!("w{c}-{i}"),
                        person_id: format!("person-{c}-{i}"),
                        score: 600 + i as i32,
                        source: "zhima".into(),
                        observed_at: None,
                    };
                    // Retries the same request id until it is stored, as a client should.
                    let deadline = Instant::now() + Duration::from_secs(90);
                    loop {
                        let started = Instant::now();
                        match client.record_credit_score(request.clone()).await {
                            Ok(_) => break,
                            Err(status) => {
                                let mut seen = seen.lock().expect("lock");
                                seen.codes.insert(format!("{:?}: {}", status.code(), status.message()));
                                seen.slowest_failure = seen.slowest_failure.max(started.elapsed());
                            }
                        }
                        assert!(Instant::now() < deadline, "w{c}-{i} never succeeded");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();

    // Under load, the database goes away.
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster("stop", name);
    let eligibility = &system.processes["eligibility"];
    eligibility.wait_health(ServingStatus::NotServing, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(eligibility.health().await, Some(ServingStatus::NotServing), "still down, still not serving");
    cluster("start", name);
    eligibility.wait_serving(Duration::from_secs(30)).await;
    for writer in writers {
        writer.await.expect("a writer failed");
    }

    let seen = std::mem::take(&mut *seen.lock().expect("lock"));
    assert!(!seen.codes.is_empty(), "no call failed while the database was down");
    for failure in &seen.codes {
        assert!(
            failure.starts_with(&format!("{:?}", Code::Unavailable)),
            "a failure other than Unavailable: {failure}"
        );
    }
    assert!(seen.slowest_failure < Duration::from_secs(5), "a failing call hung for {:?}", seen.slowest_failure);
    let pool = system.pool("eligibility").await;
    let (stored, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT request_id) FROM credit_score")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!((stored, distinct), ((CLIENTS * WRITES) as i64, (CLIENTS * WRITES) as i64), "each write stored once");
}
