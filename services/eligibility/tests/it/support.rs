use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use tonic::{Response, Status, transport::Channel};
use xiaopu_api::eligibility::{self as pb, eligibility_service_client::EligibilityServiceClient};
use xiaopu_common::{
    auth::Role,
    server::RunningServer,
    testing::{self, TestDatabase, authed},
    time::{Clock, OffsetClock, to_timestamp},
};
use xiaopu_eligibility::{EligibilitySettings, Settings, start};

pub struct TestApp {
    pub server: RunningServer,
    pub db: TestDatabase,
    pub clock: OffsetClock,
    pub channel: Channel,
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

/// With its common settings changed by `change`.
pub async fn spawn_with(change: impl FnOnce(&mut xiaopu_common::config::CommonSettings)) -> TestApp {
    testing::init_logs();
    let db = TestDatabase::create("elig").await;
    let mut common = testing::common_settings(&db.url, "eligibility");
    change(&mut common);
    let settings = Settings { common, service: EligibilitySettings::default() };
    let clock = OffsetClock::default();
    let server = start(settings, Arc::new(clock.clone())).await.expect("eligibility starts");
    let channel = testing::channel(server.local_addr).await;
    TestApp { server, db, clock, channel }
}

impl TestApp {
    pub fn client(&self) -> EligibilityServiceClient<Channel> {
        EligibilityServiceClient::new(self.channel.clone())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Records `score` for `person` as the bureau integration, observed `age` ago.
    pub async fn record(
        &self,
        request_id: &str,
        person: &str,
        score: i32,
        age: TimeDelta,
    ) -> Result<Response<pb::RecordCreditScoreResponse>, Status> {
        self.record_at(request_id, person, score, self.now() - age).await
    }

    /// Records `score` for `person`, observed at `observed_at`.
    pub async fn record_at(
        &self,
        request_id: &str,
        person: &str,
        score: i32,
        observed_at: DateTime<Utc>,
    ) -> Result<Response<pb::RecordCreditScoreResponse>, Status> {
        let request = pb::RecordCreditScoreRequest {
            request_id: request_id.into(),
            person_id: person.into(),
            score,
            source: "zhima".into(),
            observed_at: Some(to_timestamp(observed_at)),
        };
        self.client().record_credit_score(authed(request, Role::Service, "bureau-sync")).await
    }

    pub async fn check(&self, person: &str) -> pb::CheckEligibilityResponse {
        let request = pb::CheckEligibilityRequest { person_id: person.into() };
        self.client()
            .check_eligibility(authed(request, Role::Service, "storefront"))
            .await
            .expect("check eligibility")
            .into_inner()
    }

    /// Rows in the outbox (events published).
    pub async fn outbox_count(&self) -> i64 {
        let pool = self.db.connect().await;
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox").fetch_one(&pool).await.expect("count");
        n
    }
}
