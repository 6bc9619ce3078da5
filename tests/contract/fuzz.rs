//! Random and hostile requests for every RPC, built from the descriptors: huge and
//! odd strings, extreme and negative numbers, unknown enum values, broken times,
//! garbage page tokens. None may panic a server, come back Internal, or — when
//! refused — change a single row.
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tonic::Code;
use xiaopu_common::testing::{TestDatabase, token};
use xiaopu_testkit::{Options, Stack};

use crate::{
    auth_table::{TABLE, api, channels},
    raw::call,
};

/// Random requests per RPC.
const CASES: u32 = 12;

const STRINGS: &[&str] = &[
    "",
    "p1",
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "'; DROP TABLE position; --",
    "../../etc/passwd",
    "好物推荐",
    "\u{0000}\u{0007}\n\t",
    "CNY",
    "XXX",
    "https://img.example/x.jpg",
    "title",
    "eyJub3QiOiJhIHRva2VuIn0",
    "!!!",
];

fn string(rng: &mut StdRng) -> String {
    match rng.random_range(0..10) {
        0 => "x".repeat(rng.random_range(1..200_000)),
        1 => {
            (0..rng.random_range(1..64)).map(|_| char::from_u32(rng.random_range(1..0x2FFFF)).unwrap_or('?')).collect()
        }
        _ => STRINGS[rng.random_range(0..STRINGS.len())].to_owned(),
    }
}

fn int(rng: &mut StdRng) -> i64 {
    match rng.random_range(0..8) {
        0 => i64::MAX,
        1 => i64::MIN,
        2 => -1,
        3 => 0,
        4 => i64::from(i32::MAX),
        _ => rng.random_range(-100_000..100_000_000),
    }
}

fn value(rng: &mut StdRng, field: &FieldDescriptor, depth: u32) -> Option<Value> {
    Some(match field.kind() {
        Kind::String => Value::String(string(rng)),
        Kind::Bytes => Value::Bytes((0..rng.random_range(0..64)).map(|_| rng.random()).collect::<Vec<u8>>().into()),
        Kind::Bool => Value::Bool(rng.random()),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(int(rng) as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(int(rng)),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(int(rng) as u32),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(int(rng) as u64),
        Kind::Float => Value::F32(rng.random()),
        Kind::Double => Value::F64(rng.random()),
        // Known and unknown enum numbers alike.
        Kind::Enum(_) => Value::EnumNumber(rng.random_range(-2..12)),
        Kind::Message(m) if depth < 3 => Value::Message(message(rng, &m, depth + 1)),
        Kind::Message(_) => return None,
    })
}

pub fn message(rng: &mut StdRng, descriptor: &MessageDescriptor, depth: u32) -> DynamicMessage {
    let mut m = DynamicMessage::new(descriptor.clone());
    for field in descriptor.fields() {
        if rng.random_range(0..4) == 0 {
            continue; // leave some fields unset
        }
        if field.is_list() {
            let items: Vec<Value> = (0..rng.random_range(0..4)).filter_map(|_| value(rng, &field, depth)).collect();
            m.set_field(&field, Value::List(items));
        } else if field.is_map() {
            continue;
        } else if let Some(v) = value(rng, &field, depth) {
            m.set_field(&field, v);
        }
    }
    m
}

/// Tables a refusal is meant to write: the storefront's count of a visitor's unknown
/// codes (a miss is what the guess limit counts).
const COUNTS_REFUSALS: &[&str] = &["code_guess"];

/// The content of every table of a database (a hash of each row, order-free): a
/// refused request must not insert, update or delete anything (but count it where
/// counting refusals is the point).
async fn fingerprint(db: &TestDatabase) -> String {
    let pool = db.connect().await;
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    let mut hashes = String::new();
    for (table,) in tables.into_iter().filter(|(t,)| !COUNTS_REFUSALS.contains(&t.as_str())) {
        let query =
            format!("SELECT coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '') FROM \"{table}\" t");
        let (hash,): (String,) = sqlx::query_as(&query).fetch_one(&pool).await.expect("hash");
        hashes.push_str(&format!("{table}:{hash};"));
    }
    hashes
}

fn database<'a>(stack: &'a Stack, service: &str) -> Option<&'a TestDatabase> {
    match service.split('.').nth(1) {
        Some("storefront") => Some(&stack.storefront_db),
        Some("attribution") => Some(&stack.attribution_db),
        Some("settlement") => Some(&stack.settlement_db),
        _ => None,
    }
}

#[test]
fn hostile_requests_never_panic_never_come_back_internal_and_change_nothing_when_refused() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let stack = runtime.block_on(Stack::spawn(Options::default()));
    let pool = DescriptorPool::decode(xiaopu_api::FILE_DESCRIPTOR_SET).expect("descriptors");
    let streaming: Vec<(String, String)> = api().into_iter().filter(|(_, _, s)| *s).map(|(s, m, _)| (s, m)).collect();
    let calls = std::cell::Cell::new(0);
    for (service, method, allowed) in TABLE {
        let descriptor = pool.get_service_by_name(service).expect("service");
        let input = descriptor.methods().find(|m| m.name() == *method).expect("method").input();
        let path = format!("/{service}/{method}");
        let is_stream = streaming.contains(&(service.to_string(), method.to_string()));
        let bearer = token(allowed[0], "fuzz-user");
        // A runner per RPC: each gets its own cases, reproducible from a fixed seed.
        let mut runner = TestRunner::new_with_rng(
            Config { cases: CASES, failure_persistence: None, ..Config::default() },
            TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        );
        runner
            .run(&proptest::prelude::any::<u64>(), |seed| {
                let mut rng = StdRng::seed_from_u64(seed);
                let body = message(&mut rng, &input, 0).encode_to_vec();
                runtime.block_on(async {
                    for channel in channels(&stack, service) {
                        let before = match database(&stack, service) {
                            Some(db) => Some(fingerprint(db).await),
                            None => None,
                        };
                        let outcome = call(channel, &path, is_stream, body.clone(), Some(&bearer)).await;
                        calls.set(calls.get() + 1);
                        if let Err(err) = outcome {
                            assert!(
                                !matches!(err.code(), Code::Internal | Code::Unknown | Code::Unavailable),
                                "{path} as {}: {err:?}",
                                allowed[0]
                            );
                            // Every refusal's reason has words users can be shown.
                            if let Some(reason) = xiaopu_common::error::status_details(&err).0 {
                                let words =
                                    xiaopu_api::reasons::describe(&reason, xiaopu_api::reasons::Language::Chinese);
                                assert!(words.is_some(), "{path}: reason {reason} is not in the catalogue");
                            }
                            if let (Some(db), Some(before)) = (database(&stack, service), before) {
                                assert_eq!(fingerprint(db).await, before, "{path} refused ({err:?}) but changed rows");
                            }
                        } else {
                            // Let what an accepted request published settle before
                            // the next refused one is measured.
                            stack.feeds_caught_up().await;
                        }
                    }
                });
                Ok(())
            })
            .expect("fuzz");
    }
    assert!(calls.get() >= TABLE.len() * CASES as usize, "only {} calls", calls.get());
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_refused() {
    let stack = Stack::spawn(Options::default()).await;
    let before = fingerprint(&stack.storefront_db).await;
    let huge = xiaopu_api::storefront::PublishProductRequest {
        request_id: "big".into(),
        title: "x".repeat(5 * 1024 * 1024),
        ..Default::default()
    };
    let err = call(
        &stack.channels.storefront,
        "/xiaopu.storefront.v1.StorefrontService/PublishProduct",
        false,
        huge.encode_to_vec(),
        Some(&token(xiaopu_common::auth::Role::Supplier, "s1")),
    )
    .await
    .expect_err("too big");
    // tonic refuses a message over `max_decoding_message_size` with OutOfRange, naming
    // the limit, before any handler runs.
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert!(err.message().contains("limit"), "{err:?}");
    assert_eq!(fingerprint(&stack.storefront_db).await, before, "nothing stored");
}
