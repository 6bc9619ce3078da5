//! Domain and store types to and from protobuf messages.
use xiaopu_api::{storefront as pb, types::Money};
use xiaopu_common::time::to_timestamp;
use xiaopu_money::{Bps, Minor};

use crate::{
    domain::{self, Channel, ProductStatus, ShopStatus, StockStatus},
    store::{
        listing::{ListedProduct, ListingRecord, PublicRow},
        product::ProductRecord,
        rate::RateRecord,
        share_link::ShareLinkRecord,
        shop::ShopRecord,
    },
};

pub fn money(minor_units: i64, currency: &str) -> Money {
    Money { minor_units, currency: currency.to_owned() }
}

pub fn stock_status(s: StockStatus) -> pb::StockStatus {
    match s {
        StockStatus::InStock => pb::StockStatus::InStock,
        StockStatus::LowStock => pb::StockStatus::LowStock,
        StockStatus::OutOfStock => pb::StockStatus::OutOfStock,
    }
}

/// None for UNSPECIFIED or an unknown number.
pub fn stock_status_from(value: i32) -> Option<StockStatus> {
    match pb::StockStatus::try_from(value).ok()? {
        pb::StockStatus::Unspecified => None,
        pb::StockStatus::InStock => Some(StockStatus::InStock),
        pb::StockStatus::LowStock => Some(StockStatus::LowStock),
        pb::StockStatus::OutOfStock => Some(StockStatus::OutOfStock),
    }
}

pub fn shop_status(s: ShopStatus) -> pb::ShopStatus {
    match s {
        ShopStatus::Active => pb::ShopStatus::Active,
        ShopStatus::Suspended => pb::ShopStatus::Suspended,
    }
}

pub fn channel(c: Channel) -> pb::Channel {
    match c {
        Channel::Wechat => pb::Channel::Wechat,
        Channel::Moments => pb::Channel::Moments,
        Channel::Douyin => pb::Channel::Douyin,
        Channel::Weibo => pb::Channel::Weibo,
        Channel::Xiaohongshu => pb::Channel::Xiaohongshu,
        Channel::Live => pb::Channel::Live,
        Channel::Other => pb::Channel::Other,
    }
}

/// None for UNSPECIFIED or an unknown number.
pub fn channel_from(value: i32) -> Option<Channel> {
    Some(match pb::Channel::try_from(value).ok()? {
        pb::Channel::Unspecified => return None,
        pb::Channel::Wechat => Channel::Wechat,
        pb::Channel::Moments => Channel::Moments,
        pb::Channel::Douyin => Channel::Douyin,
        pb::Channel::Weibo => Channel::Weibo,
        pb::Channel::Xiaohongshu => Channel::Xiaohongshu,
        pb::Channel::Live => Channel::Live,
        pb::Channel::Other => Channel::Other,
    })
}

pub fn product(p: &ProductRecord) -> pb::Product {
    pb::Product {
        product_id: p.product_id.to_string(),
        supplier_id: p.supplier_id.clone(),
        title: p.title.clone(),
        description: p.description.clone(),
        price: Some(money(p.price_minor, &p.currency)),
        image_urls: p.image_urls.clone(),
        category: p.category.clone(),
        stock_status: stock_status(p.stock_status).into(),
        status: match p.status {
            ProductStatus::Active => pb::ProductStatus::Active,
            ProductStatus::Withdrawn => pb::ProductStatus::Withdrawn,
        }
        .into(),
        published_at: Some(to_timestamp(p.published_at)),
        updated_at: Some(to_timestamp(p.updated_at)),
        withdrawn_at: p.withdrawn_at.map(to_timestamp),
        withdrawal_reason: p.withdrawal_reason.clone().unwrap_or_default(),
    }
}

pub fn rate(r: &RateRecord) -> pb::CommissionRate {
    pb::CommissionRate {
        rate_id: r.rate_id.to_string(),
        product_id: r.product_id.to_string(),
        rate_bps: r.rate_bps,
        effective_from: Some(to_timestamp(r.effective_from)),
        set_by: r.set_by.clone(),
        set_at: Some(to_timestamp(r.set_at)),
        cancelled_at: r.cancelled_at.map(to_timestamp),
    }
}

/// What one unit at `price_minor` earns at a stored rate (the table's CHECK keeps
/// every stored rate within 1 to 10 000 bps).
fn per_unit(price_minor: i64, rate_bps: i32) -> i64 {
    domain::commission_per_unit(Minor::new(price_minor), Bps::clamped(rate_bps)).get()
}

pub fn offer(product_record: &ProductRecord, rate_bps: i32) -> pb::ProductOffer {
    pb::ProductOffer {
        product: Some(product(product_record)),
        current_rate_bps: rate_bps,
        commission_per_unit: Some(money(per_unit(product_record.price_minor, rate_bps), &product_record.currency)),
    }
}

pub fn shop(s: &ShopRecord) -> pb::Shop {
    pb::Shop {
        shop_id: s.shop_id.to_string(),
        promoter_id: s.promoter_id.clone(),
        name: s.name.clone(),
        description: s.description.clone(),
        status: shop_status(s.status).into(),
        listing_count: s.listing_count,
        opened_at: Some(to_timestamp(s.opened_at)),
        status_since: Some(to_timestamp(s.status_since)),
    }
}

pub fn listing(l: &ListingRecord) -> pb::Listing {
    pb::Listing {
        listing_id: l.listing_id.to_string(),
        shop_id: l.shop_id.to_string(),
        product_id: l.product_id.to_string(),
        recommendation_reason: l.recommendation_reason.clone(),
        position: l.position,
        listed_at: Some(to_timestamp(l.listed_at)),
        removed_at: l.removed_at.map(to_timestamp),
    }
}

pub fn managed(l: &ListedProduct) -> pb::ManagedListing {
    let rate_bps = l.rate_bps.unwrap_or(0);
    pb::ManagedListing {
        listing: Some(listing(&l.listing)),
        product: Some(product(&l.product)),
        current_rate_bps: rate_bps,
        commission_per_unit: Some(money(per_unit(l.product.price_minor, rate_bps), &l.product.currency)),
    }
}

/// What a consumer sees of a listing: no commission, no supplier terms.
pub fn public(l: &PublicRow) -> pb::PublicListing {
    pb::PublicListing {
        listing_id: l.listing_id.to_string(),
        product_id: l.product_id.to_string(),
        title: l.title.clone(),
        description: l.description.clone(),
        price: Some(money(l.price_minor, &l.currency)),
        image_urls: l.image_urls.clone(),
        category: l.category.clone(),
        stock_status: StockStatus::parse(&l.stock_status).map_or(pb::StockStatus::Unspecified, stock_status).into(),
        recommendation_reason: l.recommendation_reason.clone(),
        position: l.position,
    }
}

pub fn share_link(l: &ShareLinkRecord) -> pb::ShareLink {
    pb::ShareLink {
        code: l.code.clone(),
        shop_id: l.shop_id.to_string(),
        promoter_id: l.promoter_id.clone(),
        listing_id: l.listing_id.map(|id| id.to_string()).unwrap_or_default(),
        product_id: l.product_id.map(|id| id.to_string()).unwrap_or_default(),
        channel: channel(l.channel).into(),
        created_at: Some(to_timestamp(l.created_at)),
        revoked_at: l.revoked_at.map(to_timestamp),
        url: String::new(),
        promo_code: l.promo_code,
    }
}
