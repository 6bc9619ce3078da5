use std::time::Duration;

use chrono::TimeDelta;
use sqlx::Connection;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use xiaopu_api::eligibility::PromoterStatus;

use crate::support::spawn;

#[tokio::test]
async fn the_same_request_twice_answers_once_and_changes_status_once() {
    let app = spawn().await;
    let observed = app.now() - TimeDelta::hours(1);
    let first = app.record_at("req-1", "p1", 720, observed).await.expect("record").into_inner();
    let retry = app.record_at("req-1", "p1", 720, observed).await.expect("retry").into_inner();
    assert_eq!(first, retry, "a retry answers exactly as the first call");
    assert!(first.status_changed);
    assert_eq!(app.outbox_count().await, 1);

    // The same score again under a new request id is a new observation: no change.
    let again = app.record("req-2", "p1", 720, TimeDelta::zero()).await.expect("again").into_inner();
    assert!(!again.status_changed);
    assert_eq!(app.outbox_count().await, 1, "one status change, one event");

    // Reusing a request id for a different score is refused, not silently replayed.
    let err = app.record("req-1", "p1", 650, TimeDelta::zero()).await.expect_err("reused id");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("req-1"), "{}", err.message());
}

#[tokio::test]
async fn concurrent_recordings_for_one_person_serialise() {
    let app = spawn().await;
    let ids: Vec<String> = (0..20).map(|i| format!("r{i}")).collect();
    let calls = ids.iter().enumerate().map(|(i, id)| {
        let score = if i % 2 == 0 { 720 } else { 650 };
        app.record(id, "p1", score, TimeDelta::seconds(100 - i as i64))
    });
    let results = futures::future::join_all(calls).await;
    let changes = results.iter().filter(|r| r.as_ref().expect("recorded").get_ref().status_changed).count();
    // Every change is published once and the event count matches the decisions.
    assert_eq!(app.outbox_count().await, changes as i64);
    let pool = app.db.connect().await;
    let (decisions,): (i64,) = sqlx::query_as("SELECT count(*) FROM decision").fetch_one(&pool).await.expect("count");
    assert_eq!(decisions, 20);
}

#[tokio::test]
async fn health_is_serving_once_the_database_answers() {
    let app = spawn().await;
    let mut health = HealthClient::new(app.channel.clone());
    xiaopu_common::testing::eventually("health says SERVING", Duration::from_secs(5), || {
        let mut health = health.clone();
        async move {
            let request = HealthCheckRequest { service: "xiaopu.eligibility.v1.EligibilityService".into() };
            let status = health.check(request).await.expect("health answers without a token").into_inner().status();
            (status == ServingStatus::Serving).then_some(())
        }
    })
    .await;

    // Kill the database's connections and forbid new ones: NOT_SERVING follows.
    let admin_url = xiaopu_common::testing::admin_database_url();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("admin");
    let name = &app.db.name;
    sqlx::query(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false")).execute(&mut admin).await.expect("lock");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(name)
        .execute(&mut admin)
        .await
        .expect("terminate");
    let mut watch = health.watch(HealthCheckRequest { service: String::new() }).await.expect("watch").into_inner();
    let mut saw_not_serving = false;
    while let Ok(Some(Ok(update))) = tokio::time::timeout(Duration::from_secs(10), watch.next()).await {
        if update.status() == ServingStatus::NotServing {
            saw_not_serving = true;
            break;
        }
    }
    assert!(saw_not_serving, "health must report NOT_SERVING while the database is gone");
    let err = app.record("r1", "p1", 720, TimeDelta::zero()).await.expect_err("database down");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");

    sqlx::query(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .expect("unlock");
    let mut recovered = false;
    while let Ok(Some(Ok(update))) = tokio::time::timeout(Duration::from_secs(10), watch.next()).await {
        if update.status() == ServingStatus::Serving {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "health returns to SERVING");
    app.record("r1", "p1", 720, TimeDelta::zero()).await.expect("retry succeeds once the database is back");
}

#[tokio::test]
async fn graceful_shutdown_completes_an_in_flight_call() {
    let app = spawn().await;
    // Hold the person's lock so the recording waits inside the server.
    let pool = app.db.connect().await;
    let mut blocker = pool.begin().await.expect("begin");
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('p1', 0))").execute(&mut *blocker).await.expect("lock");

    let call = tokio::spawn({
        let app_client = app.client();
        let request = xiaopu_common::testing::authed(
            xiaopu_api::eligibility::RecordCreditScoreRequest {
                request_id: "r1".into(),
                person_id: "p1".into(),
                score: 720,
                source: "zhima".into(),
                observed_at: None,
            },
            xiaopu_common::auth::Role::Service,
            "bureau",
        );
        async move { app_client.clone().record_credit_score(request).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!call.is_finished(), "the call is in flight");

    let shutdown = app.server.shutdown_token();
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(200)).await;
    blocker.rollback().await.expect("release");

    let answer = call.await.expect("join").expect("the in-flight call completes during shutdown");
    assert_eq!(answer.into_inner().decision.expect("decision").status(), PromoterStatus::Approved);
    tokio::time::timeout(Duration::from_secs(10), app.server.wait()).await.expect("stops").expect("clean stop");
}

#[tokio::test]
async fn reflection_lists_the_services_without_a_token() {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = spawn().await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses =
        client.server_reflection_info(tokio_stream::iter([request])).await.expect("reflection").into_inner();
    let response = responses.next().await.expect("one answer").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["xiaopu.eligibility.v1.EligibilityService", "xiaopu.feed.v1.FeedService", "grpc.health.v1.Health"]
    {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
}
