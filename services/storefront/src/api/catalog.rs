//! Suppliers' catalog: publishing, editing and withdrawing products (reading it is
//! in `product_views`).
use tonic::{Request, Response};
use uuid::Uuid;
use xiaopu_api::{storefront as pb, types::Money};
use xiaopu_common::{
    auth::{CallerExt, Role},
    error::{FieldViolation, Violations},
    feed::{publish, publish_all},
    idempotency::{self, Claim},
    validate,
};

use super::{Error, StorefrontApi, convert, events};
use crate::{
    domain::{ProductStatus, StockStatus},
    store::{self, product::ProductRecord},
};

const MAX_TITLE_CHARS: usize = 120;
const MAX_DESCRIPTION_CHARS: usize = 5000;
const MAX_IMAGES: usize = 9;
const MAX_IMAGE_URL_LEN: usize = 1024;
/// One billion yuan, in fen.
const MAX_PRICE_MINOR: i64 = 100_000_000_000;
pub(super) const MAX_CATEGORY_CHARS: usize = 32;
/// The idempotency scope of publishing's request ids.
const SCOPE_PUBLISH: &str = "storefront.PublishProduct";

/// Supplier-editable fields, validated.
struct ProductFields {
    title: Option<String>,
    description: Option<String>,
    price: Option<(i64, String)>,
    image_urls: Option<Vec<String>>,
    category: Option<String>,
    stock_status: Option<StockStatus>,
}

/// The supplier-editable fields as a request carries them.
struct RawProduct<'a> {
    title: &'a str,
    description: &'a str,
    price: Option<&'a Money>,
    image_urls: &'a [String],
    category: &'a str,
    stock_status: i32,
}

impl<'a> From<&'a pb::PublishProductRequest> for RawProduct<'a> {
    fn from(r: &'a pb::PublishProductRequest) -> Self {
        Self {
            title: &r.title,
            description: &r.description,
            price: r.price.as_ref(),
            image_urls: &r.image_urls,
            category: &r.category,
            stock_status: r.stock_status,
        }
    }
}

impl<'a> From<&'a pb::Product> for RawProduct<'a> {
    fn from(r: &'a pb::Product) -> Self {
        Self {
            title: &r.title,
            description: &r.description,
            price: r.price.as_ref(),
            image_urls: &r.image_urls,
            category: &r.category,
            stock_status: r.stock_status,
        }
    }
}

/// Validates the fields named by `wanted` (all of them when publishing); field names
/// in violations carry `prefix`.
fn product_fields(
    api: &StorefrontApi,
    v: &mut Violations,
    prefix: &str,
    wanted: impl Fn(&str) -> bool,
    raw: RawProduct<'_>,
) -> ProductFields {
    let RawProduct { title, description, price, image_urls, category, stock_status } = raw;
    let field = |name: &str| format!("{prefix}{name}");
    ProductFields {
        title: wanted("title")
            .then(|| v.check(validate::text(&field("title"), title, MAX_TITLE_CHARS, false)).map(str::to_owned))
            .flatten(),
        description: wanted("description")
            .then(|| {
                v.check(validate::optional_text(&field("description"), description, MAX_DESCRIPTION_CHARS, true))
                    .map(str::to_owned)
            })
            .flatten(),
        price: wanted("price").then(|| v.check(api.price(&field("price"), price))).flatten(),
        image_urls: wanted("image_urls").then(|| v.check(images(&field("image_urls"), image_urls))).flatten(),
        category: wanted("category")
            .then(|| v.check(validate::label(&field("category"), category, MAX_CATEGORY_CHARS)).map(str::to_owned))
            .flatten(),
        stock_status: wanted("stock_status")
            .then(|| match stock_status {
                0 => Some(StockStatus::InStock),
                n => v.check(
                    convert::stock_status_from(n)
                        .ok_or_else(|| FieldViolation::new(field("stock_status"), "is not a known stock status")),
                ),
            })
            .flatten(),
    }
}

fn images(field: &str, urls: &[String]) -> Result<Vec<String>, FieldViolation> {
    if urls.len() > MAX_IMAGES {
        return Err(FieldViolation::new(field, format!("must hold at most {MAX_IMAGES} images")));
    }
    for (i, url) in urls.iter().enumerate() {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > MAX_IMAGE_URL_LEN {
            return Err(FieldViolation::new(
                format!("{field}[{i}]"),
                format!("must be an http(s) URL of at most {MAX_IMAGE_URL_LEN} characters"),
            ));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldViolation::new(format!("{field}[{i}]"), "must not contain spaces or control characters"));
        }
    }
    Ok(urls.to_vec())
}

impl StorefrontApi {
    fn price(&self, field: &str, price: Option<&Money>) -> Result<(i64, String), FieldViolation> {
        let price = price.ok_or_else(|| FieldViolation::new(field, "is required"))?;
        if price.minor_units <= 0 || price.minor_units > MAX_PRICE_MINOR {
            return Err(FieldViolation::new(
                format!("{field}.minor_units"),
                format!("must be between 1 and {MAX_PRICE_MINOR}"),
            ));
        }
        if !self.settings.currencies().any(|c| c == price.currency) {
            return Err(FieldViolation::new(
                format!("{field}.currency"),
                format!("must be one of {}", self.settings.currencies().collect::<Vec<_>>().join(", ")),
            ));
        }
        Ok((price.minor_units, price.currency.clone()))
    }
}

#[tracing::instrument(skip_all)]
pub async fn publish_product(
    api: &StorefrontApi,
    request: Request<pb::PublishProductRequest>,
) -> Result<Response<pb::PublishProductResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier])?;
    let r = request.into_inner();
    let fingerprint = idempotency::fingerprint(&r);
    let mut v = Violations::new();
    let request_id = v.check(validate::id("request_id", &r.request_id));
    let f = product_fields(api, &mut v, "", |_| true, RawProduct::from(&r));
    let (request_id, (title, (description, (price, (image_urls, (category, stock_status)))))) = v.finish_with(
        request_id.zip(f.title.zip(f.description.zip(f.price.zip(f.image_urls.zip(f.category.zip(f.stock_status)))))),
    )?;
    let now = api.clock.now();
    let product = ProductRecord {
        product_id: Uuid::now_v7(),
        supplier_id: caller.subject.clone(),
        title,
        description,
        price_minor: price.0,
        currency: price.1,
        image_urls,
        category,
        stock_status,
        status: ProductStatus::Active,
        published_at: now,
        updated_at: now,
        withdrawn_at: None,
        withdrawal_reason: None,
        request_id: request_id.to_owned(),
    };
    let mut tx = api.pool.begin().await?;
    let key = match idempotency::claim(&mut tx, SCOPE_PUBLISH, &caller.subject, request_id, &fingerprint).await? {
        Claim::Replay(first) => return Ok(Response::new(first)),
        Claim::New(key) => key,
    };
    if !store::product::insert(&mut *tx, &product).await? {
        // Published before idempotency keys kept answers: answer from the product.
        let stored = store::product::by_request(&mut *tx, &caller.subject, request_id)
            .await?
            .ok_or_else(|| Error::from(sqlx::Error::Protocol("a used request id has no product".into())))?;
        return Ok(Response::new(pb::PublishProductResponse { product: Some(convert::product(&stored)) }));
    }
    publish(&mut tx, &events::product_published(&product)).await?;
    let answer = pb::PublishProductResponse { product: Some(convert::product(&product)) };
    key.remember(&mut tx, &answer).await?;
    tx.commit().await?;
    tracing::info!(product_id = %product.product_id, supplier_id = %caller.subject, "product published");
    Ok(Response::new(answer))
}

/// The product if it exists and the caller is the supplier who owns it.
pub(super) async fn owned_product(
    conn: &mut sqlx::PgConnection,
    caller: &xiaopu_common::auth::Caller,
    product_id: Uuid,
) -> Result<ProductRecord, Error> {
    let product = store::product::get_for_update(&mut *conn, product_id)
        .await?
        .ok_or_else(|| Error::not_found("product", product_id))?;
    caller.require_owner(Role::Supplier, &product.supplier_id, &[])?;
    Ok(product)
}

#[tracing::instrument(skip_all, fields(product_id = %request.get_ref().product_id))]
pub async fn update_product(
    api: &StorefrontApi,
    request: Request<pb::UpdateProductRequest>,
) -> Result<Response<pb::UpdateProductResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier])?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let product_id = v.check(validate::uuid("product_id", &r.product_id));
    const EDITABLE: [&str; 6] = ["title", "description", "price", "image_urls", "category", "stock_status"];
    let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        v.add("update_mask", format!("must name at least one of {}", EDITABLE.join(", ")));
    }
    for (i, path) in paths.iter().enumerate() {
        if !EDITABLE.contains(&path.as_str()) {
            v.add(
                format!("update_mask.paths[{i}]"),
                format!("`{path}` is not editable; editable: {}", EDITABLE.join(", ")),
            );
        }
    }
    let given = r.product.unwrap_or_default();
    let f = product_fields(api, &mut v, "product.", |name| paths.iter().any(|p| p == name), RawProduct::from(&given));
    let product_id = v.finish_with(product_id)?;

    let mut tx = api.pool.begin().await?;
    let mut product = owned_product(&mut tx, &caller, product_id).await?;
    if product.status == ProductStatus::Withdrawn {
        return Err(Error::ProductWithdrawn(product_id.to_string()));
    }
    if let Some(title) = f.title {
        product.title = title;
    }
    if let Some(description) = f.description {
        product.description = description;
    }
    if let Some((minor, currency)) = f.price {
        product.price_minor = minor;
        product.currency = currency;
    }
    if let Some(urls) = f.image_urls {
        product.image_urls = urls;
    }
    let recategorized = f.category.as_ref().is_some_and(|c| *c != product.category);
    if let Some(category) = f.category {
        product.category = category;
    }
    if let Some(stock) = f.stock_status {
        product.stock_status = stock;
    }
    product.updated_at = api.clock.now();
    store::product::update(&mut *tx, &product).await?;
    store::shop::touch_pages_listing(&mut *tx, product_id).await?;
    if recategorized {
        // Group rules may apply per category: attribution keeps its history.
        publish(&mut tx, &events::product_categorized(&product)).await?;
    }
    tx.commit().await?;
    Ok(Response::new(pb::UpdateProductResponse { product: Some(convert::product(&product)) }))
}

#[tracing::instrument(skip_all, fields(product_id = %request.get_ref().product_id))]
pub async fn withdraw_product(
    api: &StorefrontApi,
    request: Request<pb::WithdrawProductRequest>,
) -> Result<Response<pb::WithdrawProductResponse>, Error> {
    let caller = request.caller()?.clone();
    caller.require_role(&[Role::Supplier])?;
    let r = request.into_inner();
    let mut v = Violations::new();
    let product_id = v.check(validate::uuid("product_id", &r.product_id));
    let reason = v.check(validate::optional_text("reason", &r.reason, 500, true));
    let (product_id, reason) = v.finish_with(product_id.zip(reason))?;

    let mut tx = api.pool.begin().await?;
    let mut product = owned_product(&mut tx, &caller, product_id).await?;
    if product.status == ProductStatus::Withdrawn {
        // Withdrawing twice changes nothing.
        return Ok(Response::new(pb::WithdrawProductResponse {
            product: Some(convert::product(&product)),
            listings_ended: 0,
        }));
    }
    let now = api.clock.now();
    product.status = ProductStatus::Withdrawn;
    product.withdrawn_at = Some(now);
    product.withdrawal_reason = Some(reason.to_owned());
    product.updated_at = now;
    store::product::update(&mut *tx, &product).await?;
    store::shop::lock_listing(&mut tx, product_id).await?;
    let ended = store::listing::end_all_of_product(&mut *tx, product_id, now).await?;
    let mut outgoing: Vec<_> =
        ended.iter().map(|(listing, promoter)| events::listing_changed(listing, promoter)).collect();
    outgoing.extend(events::product_withdrawn(&product));
    publish_all(&mut tx, &outgoing).await?;
    tx.commit().await?;
    tracing::info!(%product_id, listings_ended = ended.len(), "product withdrawn");
    Ok(Response::new(pb::WithdrawProductResponse {
        product: Some(convert::product(&product)),
        listings_ended: i32::try_from(ended.len()).unwrap_or(i32::MAX),
    }))
}
