//! The gRPC face of the storefront: each RPC decodes and validates, authorises
//! against the resource's owner, and orchestrates `store` and `domain`. Handlers live
//! by subject in the modules below; this file only routes to them.
mod catalog;
mod links;
mod listings;
mod page_cache;
mod rates;
mod shops;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use xiaopu_api::{
    eligibility::eligibility_service_client::EligibilityServiceClient,
    storefront::{self as pb, storefront_service_server::StorefrontService},
};
use xiaopu_common::{grpc_client::Upstream, paging::Page, time::SharedClock};

pub use crate::Error;
use crate::{StorefrontSettings, domain::RateBounds};
use crate::{
    app::{events, listing_adds},
    convert,
};

pub struct StorefrontApi {
    pool: PgPool,
    clock: SharedClock,
    settings: StorefrontSettings,
    eligibility: EligibilityServiceClient<Upstream>,
    pages: page_cache::PageCache,
    /// Adds to one shop queue here and are written together, a group at a time.
    listing_adds: Arc<listing_adds::ListingAdds>,
}

/// Public pages kept in memory per replica.
const CACHED_PAGES: usize = 10_000;

impl StorefrontApi {
    pub fn new(pool: PgPool, clock: SharedClock, settings: StorefrontSettings, eligibility: Upstream) -> Self {
        Self {
            listing_adds: listing_adds::listing_adds(pool.clone(), clock.clone()),
            pool,
            clock,
            settings,
            eligibility: EligibilityServiceClient::new(eligibility),
            pages: page_cache::PageCache::new(CACHED_PAGES),
        }
    }

    fn rate_bounds(&self) -> RateBounds {
        RateBounds { min_bps: self.settings.min_rate_bps, max_bps: self.settings.max_rate_bps }
    }
}

/// Page size and keyset of a list request (default 50, at most 500).
fn page<K: DeserializeOwned>(page_size: i32, token: &str) -> Result<Page<K>, Error> {
    Ok(Page::from_request(page_size, token, 50, 500)?)
}

/// Each RPC routes to its handler.
macro_rules! route {
    ($($rpc:ident => $handler:path: $req:ident -> $resp:ident;)+) => {
        #[tonic::async_trait]
        impl StorefrontService for StorefrontApi {
            $(
                async fn $rpc(&self, request: Request<pb::$req>) -> Result<Response<pb::$resp>, Status> {
                    $handler(self, request).await
                }
            )+
        }
    };
}

route! {
    publish_product => catalog::publish_product: PublishProductRequest -> PublishProductResponse;
    update_product => catalog::update_product: UpdateProductRequest -> UpdateProductResponse;
    withdraw_product => catalog::withdraw_product: WithdrawProductRequest -> WithdrawProductResponse;
    get_product => catalog::get_product: GetProductRequest -> GetProductResponse;
    batch_get_products => catalog::batch_get_products: BatchGetProductsRequest -> BatchGetProductsResponse;
    list_supplier_products => catalog::list_supplier_products: ListSupplierProductsRequest -> ListSupplierProductsResponse;
    set_commission_rate => rates::set_commission_rate: SetCommissionRateRequest -> SetCommissionRateResponse;
    get_commission_rate => rates::get_commission_rate: GetCommissionRateRequest -> GetCommissionRateResponse;
    list_commission_rates => rates::list_commission_rates: ListCommissionRatesRequest -> ListCommissionRatesResponse;
    cancel_scheduled_rate => rates::cancel_scheduled_rate: CancelScheduledRateRequest -> CancelScheduledRateResponse;
    search_products => catalog::search_products: SearchProductsRequest -> SearchProductsResponse;
    open_shop => shops::open_shop: OpenShopRequest -> OpenShopResponse;
    get_shop => shops::get_shop: GetShopRequest -> GetShopResponse;
    get_my_shop => shops::get_my_shop: GetMyShopRequest -> GetMyShopResponse;
    update_shop => shops::update_shop: UpdateShopRequest -> UpdateShopResponse;
    get_shop_page => shops::get_shop_page: GetShopPageRequest -> GetShopPageResponse;
    add_listing => listings::add_listing: AddListingRequest -> AddListingResponse;
    update_listing => listings::update_listing: UpdateListingRequest -> UpdateListingResponse;
    reorder_listings => listings::reorder_listings: ReorderListingsRequest -> ReorderListingsResponse;
    remove_listing => listings::remove_listing: RemoveListingRequest -> RemoveListingResponse;
    list_shop_listings => listings::list_shop_listings: ListShopListingsRequest -> ListShopListingsResponse;
    check_listing => listings::check_listing: CheckListingRequest -> CheckListingResponse;
    create_share_link => links::create_share_link: CreateShareLinkRequest -> CreateShareLinkResponse;
    revoke_share_link => links::revoke_share_link: RevokeShareLinkRequest -> RevokeShareLinkResponse;
    list_share_links => links::list_share_links: ListShareLinksRequest -> ListShareLinksResponse;
    resolve_share_code => links::resolve_share_code: ResolveShareCodeRequest -> ResolveShareCodeResponse;
}
