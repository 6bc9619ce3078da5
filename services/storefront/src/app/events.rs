//! The storefront's feed events, built from what was just written.
use uuid::Uuid;
use xiaopu_api::{storefront as pb, topics};
use xiaopu_common::{feed::OutboxEvent, time::to_timestamp};

use crate::convert;
use crate::store::{
    listing::ListingRecord, product::ProductRecord, rate::RateRecord, share_link::ShareLinkRecord, shop::ShopRecord,
};

pub fn listing_changed(listing: &ListingRecord, promoter_id: &str) -> OutboxEvent {
    let event = pb::ListingChanged {
        listing_id: listing.listing_id.to_string(),
        shop_id: listing.shop_id.to_string(),
        promoter_id: promoter_id.to_owned(),
        product_id: listing.product_id.to_string(),
        listed_at: Some(to_timestamp(listing.listed_at)),
        removed_at: listing.removed_at.map(to_timestamp),
    };
    OutboxEvent::new(Uuid::now_v7(), topics::LISTING, listing.shop_id.to_string(), &event)
}

pub fn rate_set(rate: &RateRecord, supplier_id: &str) -> OutboxEvent {
    let event = pb::CommissionRateSet {
        rate_id: rate.rate_id.to_string(),
        product_id: rate.product_id.to_string(),
        supplier_id: supplier_id.to_owned(),
        rate_bps: rate.rate_bps,
        effective_from: Some(to_timestamp(rate.effective_from)),
    };
    // The rate id is the event id: a rate joins the history once.
    OutboxEvent::new(rate.rate_id, topics::RATE, rate.product_id.to_string(), &event)
}

/// A scheduled rate left the history of rates in force.
pub fn rate_cancelled(rate: &RateRecord, supplier_id: &str) -> OutboxEvent {
    let event = pb::CommissionRateCancelled {
        rate_id: rate.rate_id.to_string(),
        product_id: rate.product_id.to_string(),
        supplier_id: supplier_id.to_owned(),
        effective_from: Some(to_timestamp(rate.effective_from)),
        cancelled_at: rate.cancelled_at.map(to_timestamp),
    };
    OutboxEvent::new(Uuid::now_v7(), topics::RATE, rate.product_id.to_string(), &event)
}

pub fn product_published(product: &ProductRecord) -> OutboxEvent {
    let event = pb::ProductPublished {
        product_id: product.product_id.to_string(),
        supplier_id: product.supplier_id.clone(),
        published_at: Some(to_timestamp(product.published_at)),
        category: product.category.clone(),
    };
    // The product id is the event id: a product is published once.
    OutboxEvent::new(product.product_id, topics::PRODUCT, product.product_id.to_string(), &event)
}

pub fn product_categorized(product: &ProductRecord) -> OutboxEvent {
    let event = pb::ProductCategorized {
        product_id: product.product_id.to_string(),
        supplier_id: product.supplier_id.clone(),
        category: product.category.clone(),
        categorized_at: Some(to_timestamp(product.updated_at)),
    };
    OutboxEvent::new(Uuid::now_v7(), topics::PRODUCT, product.product_id.to_string(), &event)
}

pub fn product_withdrawn(product: &ProductRecord) -> Option<OutboxEvent> {
    let withdrawn_at = product.withdrawn_at?;
    let event = pb::ProductWithdrawn {
        product_id: product.product_id.to_string(),
        supplier_id: product.supplier_id.clone(),
        withdrawn_at: Some(to_timestamp(withdrawn_at)),
    };
    Some(OutboxEvent::new(Uuid::now_v7(), topics::PRODUCT, product.product_id.to_string(), &event))
}

pub fn share_link_changed(link: &ShareLinkRecord) -> OutboxEvent {
    let event = pb::ShareLinkChanged { share_link: Some(convert::share_link(link)) };
    OutboxEvent::new(Uuid::now_v7(), topics::SHARE_LINK, link.code.clone(), &event)
}

pub fn shop_status_changed(shop: &ShopRecord) -> OutboxEvent {
    let event = pb::ShopStatusChanged {
        shop_id: shop.shop_id.to_string(),
        promoter_id: shop.promoter_id.clone(),
        status: convert::shop_status(shop.status).into(),
        changed_at: Some(to_timestamp(shop.status_since)),
    };
    OutboxEvent::new(Uuid::now_v7(), topics::SHOP, shop.shop_id.to_string(), &event)
}
