//! Every RPC of the API, who may call it, and what everyone else gets.
use std::{collections::BTreeSet, time::Duration};

use prost_reflect::DescriptorPool;
use tonic::Code;
use xiaopu_common::{
    auth::{Claims, Role, TokenSigner},
    testing::{TEST_SECRET, token},
};
use xiaopu_testkit::{Options, Stack};

use crate::raw::call;

use Role::{Admin, Finance, Promoter, Service, Supplier};

const ALL: &[Role] = &[Promoter, Supplier, Finance, Service, Admin];

/// (service, RPC, roles that may call it at all). A new RPC needs a line here, or
/// `the_table_lists_the_whole_api` fails. Promoters and suppliers are further limited
/// to their own resources by the handlers.
pub const TABLE: &[(&str, &str, &[Role])] = &[
    ("xiaopu.eligibility.v1.EligibilityService", "RecordCreditScore", &[Service, Admin]),
    ("xiaopu.eligibility.v1.EligibilityService", "CheckEligibility", &[Promoter, Service, Admin]),
    ("xiaopu.eligibility.v1.EligibilityService", "GetPromoterStatus", &[Promoter, Service, Admin]),
    ("xiaopu.eligibility.v1.EligibilityService", "ListDecisions", &[Promoter, Service, Admin]),
    ("xiaopu.eligibility.v1.EligibilityService", "ListCreditScores", &[Promoter, Service, Admin]),
    ("xiaopu.feed.v1.FeedService", "WatchEvents", &[Service, Admin]),
    ("xiaopu.feed.v1.FeedService", "GetBacklog", &[Service, Admin]),
    ("xiaopu.storefront.v1.StorefrontService", "PublishProduct", &[Supplier]),
    ("xiaopu.storefront.v1.StorefrontService", "UpdateProduct", &[Supplier]),
    ("xiaopu.storefront.v1.StorefrontService", "WithdrawProduct", &[Supplier]),
    ("xiaopu.storefront.v1.StorefrontService", "GetProduct", ALL),
    ("xiaopu.storefront.v1.StorefrontService", "BatchGetProducts", ALL),
    ("xiaopu.storefront.v1.StorefrontService", "ListSupplierProducts", &[Supplier, Admin]),
    ("xiaopu.storefront.v1.StorefrontService", "SetCommissionRate", &[Supplier]),
    ("xiaopu.storefront.v1.StorefrontService", "GetCommissionRate", ALL),
    ("xiaopu.storefront.v1.StorefrontService", "ListCommissionRates", ALL),
    ("xiaopu.storefront.v1.StorefrontService", "CancelScheduledRate", &[Supplier]),
    ("xiaopu.storefront.v1.StorefrontService", "SearchProducts", &[Promoter, Service, Admin]),
    ("xiaopu.storefront.v1.StorefrontService", "OpenShop", &[Promoter]),
    ("xiaopu.storefront.v1.StorefrontService", "GetShop", &[Promoter, Service, Admin]),
    ("xiaopu.storefront.v1.StorefrontService", "GetMyShop", &[Promoter]),
    ("xiaopu.storefront.v1.StorefrontService", "UpdateShop", &[Promoter]),
    ("xiaopu.storefront.v1.StorefrontService", "AddListing", &[Promoter]),
    ("xiaopu.storefront.v1.StorefrontService", "UpdateListing", &[Promoter]),
    ("xiaopu.storefront.v1.StorefrontService", "ReorderListings", &[Promoter]),
    ("xiaopu.storefront.v1.StorefrontService", "RemoveListing", &[Promoter]),
    ("xiaopu.storefront.v1.StorefrontService", "ListShopListings", &[Promoter, Admin]),
    ("xiaopu.storefront.v1.StorefrontService", "CheckListing", &[Service, Admin]),
    ("xiaopu.storefront.v1.StorefrontService", "GetShopPage", &[Promoter, Service, Admin]),
    ("xiaopu.storefront.v1.StorefrontService", "CreateShareLink", &[Promoter]),
    ("xiaopu.storefront.v1.StorefrontService", "CreatePromoCode", &[Promoter]),
    ("xiaopu.storefront.v1.StorefrontService", "RevokeShareLink", &[Promoter]),
    ("xiaopu.storefront.v1.StorefrontService", "ListShareLinks", &[Promoter, Admin]),
    ("xiaopu.storefront.v1.StorefrontService", "ResolveShareCode", &[Service, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "IngestEvents", &[Service, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "RecordClick", &[Service, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ListPromoterLines", &[Promoter, Finance, Service, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ListSupplierLines", &[Supplier, Finance, Service, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "GetLinkStats", &[Promoter, Finance, Service, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ExplainLine", &[Promoter, Finance, Service, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "GetPeriodTotals", &[Finance, Service, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "StreamPeriodLines", &[Finance, Service, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "SetBudget", &[Supplier, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ListBudgets", &[Supplier, Finance, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "RemoveBudget", &[Supplier, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "CreateGroup", &[Supplier, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "UpdateGroup", &[Supplier, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ListGroups", &[Supplier, Finance, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "SetGroupRule", &[Supplier, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "AddGroupMember", &[Supplier, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "RemoveGroupMember", &[Supplier, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ListGroupMembers", &[Supplier, Finance, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ListPromoterGroups", &[Promoter, Finance, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ListRiskHolds", &[Finance, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ReleaseRiskHold", &[Finance, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "VoidRiskHold", &[Finance, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ListRiskFlags", &[Finance, Admin]),
    ("xiaopu.attribution.v1.AttributionService", "ClearRiskFlag", &[Finance, Admin]),
    ("xiaopu.settlement.v1.SettlementService", "VerifyLedger", &[Finance, Admin]),
    ("xiaopu.settlement.v1.SettlementService", "RunSettleableSweep", &[Finance, Admin]),
    ("xiaopu.settlement.v1.SettlementService", "ClosePeriod", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "ListPeriods", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "ListBatches", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "GetBatch", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "ListBatchLines", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "ApproveBatch", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "ExportBatch", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "RecordPayout", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "ImportPaymentResults", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "SetPayoutProfile", &[Promoter]),
    ("xiaopu.settlement.v1.SettlementService", "ListPromoterLines", &[Promoter, Finance, Admin]),
    ("xiaopu.settlement.v1.SettlementService", "GetLineLedger", &[Finance, Admin]),
    ("xiaopu.settlement.v1.SettlementService", "GetPayoutProfile", &[Promoter, Finance, Admin]),
    ("xiaopu.settlement.v1.SettlementService", "PlaceHold", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "ReleaseHold", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "ListHolds", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "CreateAdjustment", &[Finance]),
    ("xiaopu.settlement.v1.SettlementService", "CreateWebhook", &[Promoter, Supplier]),
    ("xiaopu.settlement.v1.SettlementService", "ListWebhooks", &[Promoter, Supplier]),
    ("xiaopu.settlement.v1.SettlementService", "DeleteWebhook", &[Promoter, Supplier]),
    ("xiaopu.settlement.v1.SettlementService", "ListWebhookDeliveries", &[Promoter, Supplier]),
    ("xiaopu.settlement.v1.SettlementService", "RedeliverWebhook", &[Promoter, Supplier]),
    ("xiaopu.settlement.v1.SettlementService", "GetPromoterEarnings", &[Promoter, Finance, Admin]),
    ("xiaopu.settlement.v1.SettlementService", "GetSupplierCharges", &[Supplier, Finance, Admin]),
    ("xiaopu.settlement.v1.SettlementService", "GetPeriodReport", &[Finance, Admin]),
    ("xiaopu.settlement.v1.SettlementService", "ExportPeriodReport", &[Finance, Admin]),
    ("xiaopu.settlement.v1.SettlementService", "Reconcile", &[Finance, Admin]),
];

/// Packages that no service serves (the benchmark's baseline server).
const NOT_SERVED: &[&str] = &["xiaopu.bench.v1"];

/// Every RPC in the descriptors: (service, method, server-streaming).
pub fn api() -> Vec<(String, String, bool)> {
    let pool = DescriptorPool::decode(xiaopu_api::FILE_DESCRIPTOR_SET).expect("descriptors");
    pool.services()
        .filter(|s| s.full_name().starts_with("xiaopu.") && !NOT_SERVED.contains(&s.package_name()))
        .flat_map(|s| {
            let service = s.full_name().to_owned();
            s.methods().map(|m| (service.clone(), m.name().to_owned(), m.is_server_streaming())).collect::<Vec<_>>()
        })
        .collect()
}

/// The channels a service's RPCs are served on (the feed by every producer).
pub fn channels<'a>(stack: &'a Stack, service: &str) -> Vec<&'a tonic::transport::Channel> {
    let c = &stack.channels;
    match service.split('.').nth(1) {
        Some("eligibility") => vec![&c.eligibility],
        Some("storefront") => vec![&c.storefront],
        Some("attribution") => vec![&c.attribution],
        Some("settlement") => vec![&c.settlement],
        _ => vec![&c.eligibility, &c.storefront, &c.attribution, &c.settlement],
    }
}

#[test]
fn the_table_lists_the_whole_api() {
    let listed: BTreeSet<(String, String)> = TABLE.iter().map(|(s, m, _)| (s.to_string(), m.to_string())).collect();
    let served: BTreeSet<(String, String)> = api().into_iter().map(|(s, m, _)| (s, m)).collect();
    let missing: Vec<_> = served.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&served).collect();
    assert!(missing.is_empty(), "RPCs without an entry in the auth table: {missing:?}");
    assert!(stale.is_empty(), "entries for RPCs that no longer exist: {stale:?}");
}

#[tokio::test]
async fn every_rpc_refuses_missing_expired_forged_and_wrong_role_tokens() {
    let stack = Stack::spawn(Options::default()).await;
    let streaming: BTreeSet<(String, String)> =
        api().into_iter().filter(|(_, _, s)| *s).map(|(s, m, _)| (s, m)).collect();
    let now = chrono::Utc::now().timestamp();
    let signed = |claims: Claims| TokenSigner::hs256(TEST_SECRET.as_bytes()).mint_claims(&claims).expect("mint");
    let claims = |role: Role| Claims {
        sub: "someone".into(),
        role,
        exp: now + 600,
        iat: Some(now),
        nbf: None,
        iss: None,
        aud: None,
    };
    let expired = |role: Role| signed(Claims { exp: now - 120, ..claims(role) });
    // Signed with the right key, yet no service may accept them: living until 2200,
    // not valid for another hour, or naming a subject no id rule admits.
    let lifelong = |role: Role| signed(Claims { exp: 7_258_118_400, ..claims(role) });
    let premature = |role: Role| signed(Claims { nbf: Some(now + 3600), ..claims(role) });
    let unusable = |role: Role| signed(Claims { sub: "张三 ".into(), ..claims(role) });
    let forged = |role: Role| {
        TokenSigner::hs256(b"forged-forged-forged-forged-forged")
            .mint(role, "someone", Duration::from_secs(60))
            .expect("mint")
    };
    let mut checked = 0;
    for (service, method, allowed) in TABLE {
        let path = format!("/{service}/{method}");
        let is_stream = streaming.contains(&(service.to_string(), method.to_string()));
        for channel in channels(&stack, service) {
            let allowed_role = allowed[0];
            let unauthenticated: [(&str, Option<String>); 7] = [
                ("no token", None),
                ("expired", Some(expired(allowed_role))),
                ("forged", Some(forged(allowed_role))),
                ("garbage", Some("not-a-jwt".into())),
                ("a 175-year lifetime", Some(lifelong(allowed_role))),
                ("nbf in an hour", Some(premature(allowed_role))),
                ("an unusable subject", Some(unusable(allowed_role))),
            ];
            for (what, bearer) in &unauthenticated {
                let err = call(channel, &path, is_stream, Vec::new(), bearer.as_deref()).await.expect_err(what);
                assert_eq!(err.code(), Code::Unauthenticated, "{path} with {what}: {err:?}");
            }
            for role in ALL.iter().filter(|r| !allowed.contains(r)) {
                let err = call(channel, &path, is_stream, Vec::new(), Some(&token(*role, "someone")))
                    .await
                    .expect_err("wrong role");
                assert_eq!(err.code(), Code::PermissionDenied, "{path} as {role}: {err:?}");
            }
            for role in allowed.iter() {
                if let Err(err) = call(channel, &path, is_stream, Vec::new(), Some(&token(*role, "someone"))).await {
                    assert!(
                        !matches!(err.code(), Code::Unauthenticated | Code::Internal | Code::Unknown),
                        "{path} as {role} with an empty request: {err:?}"
                    );
                    let reason = xiaopu_common::error::status_details(&err).0;
                    assert_ne!(
                        reason.as_deref(),
                        Some("ROLE_NOT_ALLOWED"),
                        "{path} refused {role}, which the table allows"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= TABLE.len());
}
