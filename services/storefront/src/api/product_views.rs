//! Reading the catalog: one product, a batch of them, a supplier's own list, and
//! promoters' search of the supply.
use chrono::{DateTime, Utc};
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::storefront as pb;
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::{Invalid, Violations},
    paging::{Page, next_page},
    validate,
};

use super::{Error, StorefrontApi, catalog::MAX_CATEGORY_CHARS, convert, page};
use crate::{domain::like_pattern, store};

const MAX_QUERY_CHARS: usize = 100;

#[tracing::instrument(skip_all, fields(product_id = %request.get_ref().product_id))]
pub async fn get_product(
    api: &StorefrontApi,
    request: Request<pb::GetProductRequest>,
) -> Result<Response<pb::GetProductResponse>, Error> {
    request.caller()?;
    let product_id =
        validate::uuid("product_id", &request.get_ref().product_id).map_err(|v| Error::from(Invalid::from(v)))?;
    let product =
        store::product::get(&api.pool, product_id).await?.ok_or_else(|| Error::not_found("product", product_id))?;
    let rate = store::rate::at(&api.pool, product_id, api.clock.now()).await?;
    Ok(Response::new(pb::GetProductResponse {
        product: Some(convert::product(&product)),
        current_rate_bps: rate.map_or(0, |r| r.rate_bps),
    }))
}

#[tracing::instrument(skip_all, fields(supplier_id = %request.get_ref().supplier_id))]
pub async fn list_supplier_products(
    api: &StorefrontApi,
    request: Request<pb::ListSupplierProductsRequest>,
) -> Result<Response<pb::ListSupplierProductsResponse>, Error> {
    request.caller()?.require_role(&[Role::Supplier, Role::Admin])?;
    let r = request.get_ref();
    let supplier_id = validate::id("supplier_id", &r.supplier_id).map_err(|v| Error::from(Invalid::from(v)))?;
    request.caller()?.require_owner(Role::Supplier, supplier_id, &[Role::Admin])?;
    let page: Page<(DateTime<Utc>, Uuid)> = page(r.page_size, &r.page_token)?;
    let mut rows = store::product::list_by_supplier(&api.pool, supplier_id, page.after, page.limit + 1).await?;
    let next_page_token = next_page(&mut rows, page.limit, |p| (p.published_at, p.product_id));
    let ids: Vec<Uuid> = rows.iter().map(|p| p.product_id).collect();
    let listed = store::listing::active_counts(&api.pool, &ids).await?;
    let rates = store::rate::current_of(&api.pool, &ids, api.clock.now()).await?;
    Ok(Response::new(pb::ListSupplierProductsResponse {
        products: rows.iter().map(convert::product).collect(),
        next_page_token,
        active_listings: listed
            .into_iter()
            .map(|(id, shops)| (id.to_string(), i32::try_from(shops).unwrap_or(i32::MAX)))
            .collect(),
        current_rate_bps: rates.into_iter().map(|(id, bps)| (id.to_string(), bps)).collect(),
    }))
}

/// The most ids one BatchGetProducts takes.
const MAX_BATCH_GET: usize = 100;

#[tracing::instrument(skip_all, fields(ids = request.get_ref().product_ids.len()))]
pub async fn batch_get_products(
    api: &StorefrontApi,
    request: Request<pb::BatchGetProductsRequest>,
) -> Result<Response<pb::BatchGetProductsResponse>, Error> {
    request.caller()?;
    let r = request.get_ref();
    let mut v = Violations::new();
    if r.product_ids.len() > MAX_BATCH_GET {
        v.add("product_ids", format!("must hold at most {MAX_BATCH_GET} ids"));
    }
    let ids: Vec<Uuid> = r
        .product_ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| v.check(validate::uuid(&format!("product_ids[{i}]"), id)))
        .collect();
    v.finish()?;
    let products = store::product::get_many(&api.pool, &ids).await?;
    Ok(Response::new(pb::BatchGetProductsResponse { products: products.iter().map(convert::product).collect() }))
}

#[tracing::instrument(skip_all, fields(query = %request.get_ref().query))]
pub async fn search_products(
    api: &StorefrontApi,
    request: Request<pb::SearchProductsRequest>,
) -> Result<Response<pb::SearchProductsResponse>, Error> {
    request.caller()?.require_role(&[Role::Promoter, Role::Admin, Role::Service])?;
    let r = request.get_ref();
    let mut v = Violations::new();
    let query = v.check(validate::optional_text("query", &r.query, MAX_QUERY_CHARS, false));
    let category = if r.category.is_empty() {
        None
    } else {
        v.check(validate::label("category", &r.category, MAX_CATEGORY_CHARS))
    };
    let min = if r.min_rate_bps == 0 { 0 } else { r.min_rate_bps };
    let max = if r.max_rate_bps == 0 { 10_000 } else { r.max_rate_bps };
    if !(0..=10_000).contains(&min) {
        v.add("min_rate_bps", "must be between 0 and 10000");
    }
    if !(0..=10_000).contains(&max) {
        v.add("max_rate_bps", "must be between 0 and 10000");
    }
    if min > max {
        v.add("min_rate_bps", "must not exceed max_rate_bps");
    }
    let sort = match pb::ProductSort::try_from(r.sort) {
        Ok(pb::ProductSort::Unspecified | pb::ProductSort::Rate) => Some(pb::ProductSort::Rate),
        Ok(pb::ProductSort::Newest) => Some(pb::ProductSort::Newest),
        Err(_) => {
            v.add("sort", "is not a known sort order");
            None
        }
    };
    let query = v.finish_with(query)?;
    let filter = store::product::SearchFilter {
        pattern: (!query.is_empty()).then(|| like_pattern(query)),
        category: category.map(str::to_owned),
        min_rate_bps: min,
        max_rate_bps: max,
    };
    let now = api.clock.now();
    let (offers, next_page_token) = if sort == Some(pb::ProductSort::Newest) {
        let page: Page<(DateTime<Utc>, Uuid)> = page(r.page_size, &r.page_token)?;
        let mut rows = store::product::search_by_newest(&api.pool, &filter, now, page.after, page.limit + 1).await?;
        let token = next_page(&mut rows, page.limit, |o| (o.product.published_at, o.product.product_id));
        (rows, token)
    } else {
        let page: Page<(i32, Uuid)> = page(r.page_size, &r.page_token)?;
        let mut rows = store::product::search_by_rate(&api.pool, &filter, now, page.after, page.limit + 1).await?;
        let token = next_page(&mut rows, page.limit, |o| (o.rate_bps, o.product.product_id));
        (rows, token)
    };
    Ok(Response::new(pb::SearchProductsResponse {
        offers: offers.iter().map(|o| convert::offer(&o.product, o.rate_bps)).collect(),
        next_page_token,
    }))
}
