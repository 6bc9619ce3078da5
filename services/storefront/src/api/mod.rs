//! The gRPC face of the storefront: each RPC decodes and validates, authorises
//! against the resource's owner, and orchestrates `store` and `domain`. Handlers live
//! by subject in the modules below; this file only routes to them.
mod catalog;
mod links;
mod listings;
mod page_cache;
mod product_views;
mod promo_codes;
mod rates;
mod shops;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use sqlx::PgPool;
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

xiaopu_common::route! {
    impl StorefrontService for StorefrontApi {
        publish_product => catalog::publish_product: pb::PublishProductRequest => pb::PublishProductResponse;
        update_product => catalog::update_product: pb::UpdateProductRequest => pb::UpdateProductResponse;
        withdraw_product => catalog::withdraw_product: pb::WithdrawProductRequest => pb::WithdrawProductResponse;
        get_product => product_views::get_product: pb::GetProductRequest => pb::GetProductResponse;
        batch_get_products => product_views::batch_get_products: pb::BatchGetProductsRequest => pb::BatchGetProductsResponse;
        list_supplier_products => product_views::list_supplier_products:
            pb::ListSupplierProductsRequest => pb::ListSupplierProductsResponse;
        set_commission_rate => rates::set_commission_rate:
            pb::SetCommissionRateRequest => pb::SetCommissionRateResponse;
        get_commission_rate => rates::get_commission_rate:
            pb::GetCommissionRateRequest => pb::GetCommissionRateResponse;
        list_commission_rates => rates::list_commission_rates:
            pb::ListCommissionRatesRequest => pb::ListCommissionRatesResponse;
        cancel_scheduled_rate => rates::cancel_scheduled_rate:
            pb::CancelScheduledRateRequest => pb::CancelScheduledRateResponse;
        search_products => product_views::search_products: pb::SearchProductsRequest => pb::SearchProductsResponse;
        open_shop => shops::open_shop: pb::OpenShopRequest => pb::OpenShopResponse;
        get_shop => shops::get_shop: pb::GetShopRequest => pb::GetShopResponse;
        get_my_shop => shops::get_my_shop: pb::GetMyShopRequest => pb::GetMyShopResponse;
        update_shop => shops::update_shop: pb::UpdateShopRequest => pb::UpdateShopResponse;
        get_shop_page => shops::get_shop_page: pb::GetShopPageRequest => pb::GetShopPageResponse;
        add_listing => listings::add_listing: pb::AddListingRequest => pb::AddListingResponse;
        update_listing => listings::update_listing: pb::UpdateListingRequest => pb::UpdateListingResponse;
        reorder_listings => listings::reorder_listings: pb::ReorderListingsRequest => pb::ReorderListingsResponse;
        remove_listing => listings::remove_listing: pb::RemoveListingRequest => pb::RemoveListingResponse;
        list_shop_listings => listings::list_shop_listings: pb::ListShopListingsRequest => pb::ListShopListingsResponse;
        check_listing => listings::check_listing: pb::CheckListingRequest => pb::CheckListingResponse;
        create_share_link => links::create_share_link: pb::CreateShareLinkRequest => pb::CreateShareLinkResponse;
        create_promo_code => promo_codes::create_promo_code: pb::CreatePromoCodeRequest => pb::CreatePromoCodeResponse;
        revoke_share_link => links::revoke_share_link: pb::RevokeShareLinkRequest => pb::RevokeShareLinkResponse;
        list_share_links => links::list_share_links: pb::ListShareLinksRequest => pb::ListShareLinksResponse;
        resolve_share_code => links::resolve_share_code: pb::ResolveShareCodeRequest => pb::ResolveShareCodeResponse;
    }
}
