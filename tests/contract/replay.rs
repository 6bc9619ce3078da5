//! Every write a client may retry: the same request again (same `request_id`, every
//! field the same — timestamps to the nanosecond) gets the first answer byte for byte
//! and changes nothing; the same `request_id` with any one field changed is refused
//! with FAILED_PRECONDITION / IDEMPOTENCY_KEY_REUSED. Ingested events are keyed by
//! their event id the same way (a retry is DUPLICATE, a changed event REJECTED).
use chrono::{DateTime, TimeDelta, Utc};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use prost::Message;
use prost_reflect::DescriptorPool;
use prost_types::Timestamp;
use rand::{Rng, SeedableRng, rngs::StdRng};
use tonic::Code;
use xiaopu_api::{attribution as at, eligibility as el, settlement as st, storefront as sf, types::Money};
use xiaopu_common::{
    auth::Role,
    error::{reason, status_details},
    testing::{authed, token},
    time::to_timestamp,
};
use xiaopu_testkit::{Options, Stack, World, events};

use crate::{auth_table::channels, raw::call};

/// Random cases per RPC.
const CASES: u32 = 6;

fn cny(minor_units: i64) -> Option<Money> {
    Some(Money { minor_units, currency: "CNY".into() })
}

/// A time with random nanoseconds, which PostgreSQL would not keep.
fn ragged(rng: &mut StdRng, at: DateTime<Utc>) -> Option<Timestamp> {
    let mut ts = to_timestamp(at);
    ts.nanos = rng.random_range(0..1_000_000_000);
    Some(ts)
}

fn bump(ts: &Option<Timestamp>) -> Option<Timestamp> {
    ts.map(|t| Timestamp { nanos: (t.nanos + 1) % 1_000_000_000, ..t })
}

/// One retryable write: who sends it, the request, and the same request with one
/// field changed in each way the test tries.
struct Case {
    service: &'static str,
    method: &'static str,
    role: Role,
    subject: &'static str,
    request: Vec<u8>,
    changed: Vec<(&'static str, Vec<u8>)>,
}

/// One way to change a request, named.
type Change<M> = (&'static str, Box<dyn Fn(&mut M)>);

fn case<M: Message + Clone>(
    service: &'static str,
    method: &'static str,
    (role, subject): (Role, &'static str),
    request: M,
    changes: Vec<Change<M>>,
) -> Case {
    let changed = changes
        .into_iter()
        .map(|(what, change)| {
            let mut other = request.clone();
            change(&mut other);
            (what, other.encode_to_vec())
        })
        .collect();
    Case { service, method, role, subject, request: request.encode_to_vec(), changed }
}

const EL: &str = "xiaopu.eligibility.v1.EligibilityService";
const SF: &str = "xiaopu.storefront.v1.StorefrontService";
const ST: &str = "xiaopu.settlement.v1.SettlementService";
const AT: &str = "xiaopu.attribution.v1.AttributionService";

/// A fresh, valid request of every retryable write (case `n` of the run); `group` is
/// a promoter group of the world's supplier.
fn cases(rng: &mut StdRng, world: &World, group: &str, now: DateTime<Utc>, n: u32) -> Vec<Case> {
    let id = format!("replay-{n}-{}", rng.random::<u32>());
    let days = i64::from(n);
    vec![
        case(
            EL,
            "RecordCreditScore",
            (Role::Service, "bureau"),
            el::RecordCreditScoreRequest {
                request_id: id.clone(),
                person_id: format!("p-{id}"),
                score: 720,
                source: "zhima".into(),
                observed_at: ragged(rng, now - TimeDelta::minutes(5)),
            },
            vec![
                ("score", Box::new(|r| r.score = 730)),
                ("person_id", Box::new(|r| r.person_id.push('x'))),
                ("source", Box::new(|r| r.source = "bank".into())),
                ("observed_at by 1 ns", Box::new(|r| r.observed_at = bump(&r.observed_at))),
            ],
        ),
        case(
            SF,
            "PublishProduct",
            (Role::Supplier, "s1"),
            sf::PublishProductRequest {
                request_id: id.clone(),
                title: "明前龙井".into(),
                price: cny(19900),
                category: "tea".into(),
                ..Default::default()
            },
            vec![
                ("title", Box::new(|r| r.title = "雨前龙井".into())),
                ("price", Box::new(|r| r.price = cny(19901))),
                ("description", Box::new(|r| r.description = "新茶".into())),
            ],
        ),
        case(
            SF,
            "SetCommissionRate",
            (Role::Supplier, "s1"),
            sf::SetCommissionRateRequest {
                request_id: id.clone(),
                product_id: world.product.clone(),
                rate_bps: 600,
                effective_from: ragged(rng, now + TimeDelta::days(1 + days)),
            },
            vec![
                ("rate_bps", Box::new(|r| r.rate_bps = 601)),
                ("effective_from by 1 ns", Box::new(|r| r.effective_from = bump(&r.effective_from))),
            ],
        ),
        case(
            SF,
            "CreateShareLink",
            (Role::Promoter, "p1"),
            sf::CreateShareLinkRequest {
                request_id: id.clone(),
                shop_id: world.shop.clone(),
                listing_id: String::new(),
                channel: sf::Channel::Wechat.into(),
            },
            vec![("channel", Box::new(|r| r.channel = sf::Channel::Douyin.into()))],
        ),
        case(
            SF,
            "CreatePromoCode",
            (Role::Promoter, "p1"),
            sf::CreatePromoCodeRequest {
                request_id: id.clone(),
                shop_id: world.shop.clone(),
                code: format!("REPLAY{n}"),
                listing_id: String::new(),
                channel: sf::Channel::Live.into(),
            },
            vec![
                ("code", Box::new(|r| r.code = "OTHERCODE".into())),
                ("channel", Box::new(|r| r.channel = sf::Channel::Douyin.into())),
            ],
        ),
        case(
            AT,
            "SetBudget",
            (Role::Supplier, "s1"),
            at::SetBudgetRequest {
                request_id: id.clone(),
                supplier_id: "s1".into(),
                product_id: world.product.clone(),
                cap: cny(100_000 + i64::from(n)),
            },
            vec![("cap", Box::new(|r| r.cap = cny(1))), ("product_id", Box::new(|r| r.product_id = String::new()))],
        ),
        case(
            AT,
            "CreateGroup",
            (Role::Supplier, "s1"),
            at::CreateGroupRequest {
                request_id: id.clone(),
                supplier_id: "s1".into(),
                name: format!("等级 {n}"),
                promote_at: None,
            },
            vec![
                ("name", Box::new(|r| r.name = "另一个等级".into())),
                ("promote_at", Box::new(|r| r.promote_at = cny(1000))),
            ],
        ),
        case(
            AT,
            "SetGroupRule",
            (Role::Supplier, "s1"),
            at::SetGroupRuleRequest {
                request_id: id.clone(),
                group_id: group.to_owned(),
                product_id: world.product.clone(),
                kind: at::GroupRuleKind::Uplift.into(),
                bps: 100 + i32::try_from(n).unwrap_or(0),
                ..Default::default()
            },
            vec![
                ("bps", Box::new(|r| r.bps = 1)),
                ("kind", Box::new(|r| r.kind = at::GroupRuleKind::Absolute.into())),
                ("category", Box::new(|r| (r.product_id, r.category) = (String::new(), "tea".into()))),
            ],
        ),
        case(
            ST,
            "CreateAdjustment",
            (Role::Finance, "f1"),
            st::CreateAdjustmentRequest {
                request_id: id.clone(),
                promoter_id: "p1".into(),
                amount: cny(100),
                reason: "goodwill".into(),
            },
            vec![
                ("amount", Box::new(|r| r.amount = cny(-100))),
                ("promoter_id", Box::new(|r| r.promoter_id = "p2".into())),
                ("reason", Box::new(|r| r.reason = "a typo".into())),
            ],
        ),
        case(
            ST,
            "CreateWebhook",
            (Role::Promoter, "p1"),
            st::CreateWebhookRequest {
                request_id: id.clone(),
                url: format!("https://erp.example.com/hooks/{n}"),
                events: vec![st::WebhookEvent::LineAttributed.into(), st::WebhookEvent::PayoutPaid.into()],
            },
            vec![
                ("url", Box::new(|r| r.url = "https://other.example.com/hooks".into())),
                ("events", Box::new(|r| r.events = vec![st::WebhookEvent::LineVoided.into()])),
            ],
        ),
        case(
            ST,
            "ClosePeriod",
            (Role::Finance, "f1"),
            st::ClosePeriodRequest {
                request_id: id,
                // A day of its own each case (two apart: ragged ends never touch).
                from: ragged(rng, now - TimeDelta::days(400 + 2 * days)),
                to: ragged(rng, now - TimeDelta::days(399 + 2 * days)),
            },
            vec![("to by 1 ns", Box::new(|r| r.to = bump(&r.to)))],
        ),
    ]
}

#[test]
fn every_retryable_write_replays_the_first_answer_and_refuses_a_changed_request() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let stack = runtime.block_on(Stack::spawn(Options::default()));
    let world = runtime.block_on(stack.world());
    let group = runtime.block_on(async {
        let request = at::CreateGroupRequest {
            request_id: "replay-group".into(),
            supplier_id: "s1".into(),
            name: "金牌".into(),
            promote_at: None,
        };
        let answer = stack.attribution().create_group(authed(request, Role::Supplier, "s1")).await.expect("group");
        answer.into_inner().group.expect("group").group_id
    });
    let mut runner = TestRunner::new_with_rng(
        Config { cases: CASES, failure_persistence: None, ..Config::default() },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let n = std::cell::Cell::new(0);
    runner
        .run(&proptest::prelude::any::<u64>(), |seed| {
            n.set(n.get() + 1);
            let mut rng = StdRng::seed_from_u64(seed);
            runtime.block_on(async {
                for case in cases(&mut rng, &world, &group, stack.now(), n.get()) {
                    let path = format!("/{}/{}", case.service, case.method);
                    let bearer = token(case.role, case.subject);
                    let channel = channels(&stack, case.service)[0];
                    let first = call(channel, &path, false, case.request.clone(), Some(&bearer))
                        .await
                        .unwrap_or_else(|e| panic!("{path}: {e:?}"));
                    let again = call(channel, &path, false, case.request.clone(), Some(&bearer)).await;
                    assert_eq!(again.ok(), Some(first.clone()), "{path}: a retry gets the first answer");
                    let (what, changed) = &case.changed[rng.random_range(0..case.changed.len())];
                    let err = call(channel, &path, false, changed.clone(), Some(&bearer))
                        .await
                        .expect_err("a changed request under a used request_id");
                    assert_eq!(err.code(), Code::FailedPrecondition, "{path}, {what}: {err:?}");
                    assert_eq!(status_details(&err).0.as_deref(), Some(reason::IDEMPOTENCY_KEY_REUSED), "{err:?}");
                    let after = call(channel, &path, false, case.request.clone(), Some(&bearer)).await;
                    assert_eq!(after.ok(), Some(first), "{path}: the refusal changed nothing");
                }
            });
            Ok(())
        })
        .expect("replays");
}

#[test]
fn every_rpc_with_a_request_id_is_covered() {
    let pool = DescriptorPool::decode(xiaopu_api::FILE_DESCRIPTOR_SET).expect("descriptors");
    let with_request_id: std::collections::BTreeSet<String> = pool
        .services()
        .flat_map(|s| s.methods().collect::<Vec<_>>())
        .filter(|m| m.input().get_field_by_name("request_id").is_some())
        .map(|m| format!("{}/{}", m.parent_service().full_name(), m.name()))
        .collect();
    let world = World {
        product: String::new(),
        supplier: String::new(),
        shop: String::new(),
        code: String::new(),
        since: Utc::now(),
    };
    let covered: std::collections::BTreeSet<String> = cases(&mut StdRng::seed_from_u64(0), &world, "", Utc::now(), 0)
        .iter()
        .map(|c| format!("{}/{}", c.service, c.method))
        .collect();
    assert_eq!(covered, with_request_id, "a retryable write without a replay case, or a stale case");
}

#[tokio::test]
async fn an_event_id_resent_with_a_different_event_is_refused_on_its_own() {
    let stack = Stack::spawn(Options::default()).await;
    let world = stack.world().await;
    let now = stack.now();
    let click = events::click("ev-1", &world.code, "buyer-1", now);
    let order = |amount| {
        let line = events::line("l-1", &world.product, &world.supplier, amount);
        events::paid("o-1", "buyer-1", now + TimeDelta::minutes(1), "", vec![line])
    };
    let first = stack.ingest(vec![click.clone(), order(19900)]).await;
    assert!(first.iter().all(|r| r.outcome == at::EventOutcome::Applied as i32), "{first:?}");

    let changed_click = events::click("ev-1", &world.code, "buyer-2", now);
    let again = stack.ingest(vec![click, order(19900), changed_click, order(9900)]).await;
    let outcomes: Vec<(i32, &str)> = again.iter().map(|r| (r.outcome, r.reason.as_str())).collect();
    let duplicate = (at::EventOutcome::Duplicate as i32, "");
    let reused = (at::EventOutcome::Rejected as i32, reason::IDEMPOTENCY_KEY_REUSED);
    assert_eq!(outcomes, vec![duplicate, duplicate, reused, reused], "{again:?}");
    assert_eq!(again[2].code, Code::FailedPrecondition as i32);
    assert_eq!(again[3].field, "order_paid.event_id");

    // The line still carries the first payment's amount.
    stack.feeds_caught_up().await;
    let lines = stack
        .attribution()
        .list_promoter_lines(xiaopu_common::testing::authed(
            at::ListPromoterLinesRequest { promoter_id: "p1".into(), ..Default::default() },
            Role::Promoter,
            "p1",
        ))
        .await
        .expect("lines")
        .into_inner()
        .lines;
    let paid: Vec<i64> = lines.iter().filter_map(|l| l.paid_amount.as_ref().map(|m| m.minor_units)).collect();
    assert_eq!(paid, vec![19900]);
}
