//! Listing adds to one shop, committed together.
//!
//! Every add to a shop serialises on the shop's row lock, which keeps the 1000 cap
//! exact under any race; one transaction per add would pay the lock hand-over, its
//! round trips and a WAL flush in series. Adds that wait for a shop here go in one
//! transaction instead (`xiaopu_common::group_commit`): the products held against
//! withdrawal, the shop locked, each add checked in arrival order (owner, product,
//! already listed, room), the survivors inserted, counted and announced at once.
//! Each add gets its own answer; one add's refusal does not touch the others.
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use sqlx::PgPool;
use tonic::Status;
use tracing::Instrument;
use uuid::Uuid;
use xiaopu_common::{
    auth::{Caller, Role},
    feed::publish_all,
    group_commit::GroupCommit,
    time::SharedClock,
};

use super::events;
use crate::{
    Error,
    domain::{MAX_LISTINGS_PER_SHOP, ProductStatus},
    store::{self, listing::ListingRecord, product::ProductRecord},
};

/// Most adds in one transaction.
const MAX_GROUP: usize = 256;

/// One promoter's request to list a product, checked for form already.
pub struct ListingAdd {
    pub caller: Caller,
    pub product_id: Uuid,
    pub recommendation_reason: String,
    /// Where to insert it; 0 (or past the end) appends.
    pub position: i32,
}

pub type AddOutcome = Result<ListingRecord, Status>;

pub type ListingAdds = GroupCommit<Uuid, ListingAdd, AddOutcome>;

/// The queue of adds per shop, applying each shop's waiting adds together.
pub fn listing_adds(pool: PgPool, clock: SharedClock) -> Arc<ListingAdds> {
    GroupCommit::new(
        MAX_GROUP,
        Arc::new(move |shop_id, adds: Vec<ListingAdd>| {
            let (pool, clock) = (pool.clone(), clock.clone());
            let span = tracing::info_span!("listing_adds", %shop_id, adds = adds.len());
            Box::pin(
                async move {
                    match add_together(&pool, &clock, shop_id, &adds).await {
                        Ok(outcomes) => outcomes,
                        // Nothing of the group was written: each add hears why.
                        Err(err) => vec![Err(Status::from(err)); adds.len()],
                    }
                }
                .instrument(span),
            )
        }),
    )
}

/// Applies a group of adds to one shop in one transaction.
async fn add_together(
    pool: &PgPool,
    clock: &SharedClock,
    shop_id: Uuid,
    adds: &[ListingAdd],
) -> Result<Vec<AddOutcome>, Error> {
    let mut product_ids: Vec<Uuid> = adds.iter().map(|a| a.product_id).collect();
    product_ids.sort_unstable();
    product_ids.dedup();
    let mut tx = pool.begin().await?;
    // Products before the shop, the order every writer of both takes them in.
    let products: HashMap<Uuid, ProductRecord> = store::product::get_many_for_share(&mut *tx, &product_ids)
        .await?
        .into_iter()
        .map(|p| (p.product_id, p))
        .collect();
    let shop =
        store::shop::get_for_update(&mut *tx, shop_id).await?.ok_or_else(|| Error::not_found("shop", shop_id))?;
    // Read under the shop's lock: a removal committed while this group waited ended
    // before these listings begin, so the listing history never overlaps.
    let now = clock.now();
    let mut listed: HashSet<Uuid> =
        store::listing::active_products(&mut *tx, shop_id, &product_ids).await?.into_iter().collect();
    let mut room = MAX_LISTINGS_PER_SHOP - shop.listing_count;
    let mut end = store::listing::next_position(&mut *tx, shop_id).await?;

    let mut new: Vec<ListingRecord> = Vec::new();
    let mut answers: Vec<Result<usize, Status>> = Vec::with_capacity(adds.len());
    for add in adds {
        let checked = add
            .caller
            .require_owner(Role::Promoter, &shop.promoter_id, &[])
            .and_then(|()| check(add.product_id, products.get(&add.product_id), &listed, room).map_err(Status::from));
        if let Err(refused) = checked {
            answers.push(Err(refused));
            continue;
        }
        let position = if add.position == 0 || add.position >= end { end } else { add.position };
        if position < end {
            // Existing listings move down in the table, this group's in memory.
            store::listing::make_room_at(&mut *tx, shop_id, position).await?;
            for earlier in new.iter_mut().filter(|l| l.position >= position) {
                earlier.position += 1;
            }
        }
        listed.insert(add.product_id);
        room -= 1;
        end += 1;
        answers.push(Ok(new.len()));
        new.push(ListingRecord {
            listing_id: Uuid::now_v7(),
            shop_id,
            product_id: add.product_id,
            recommendation_reason: add.recommendation_reason.clone(),
            position,
            listed_at: now,
            removed_at: None,
            removal_reason: None,
        });
    }
    if !new.is_empty() {
        store::listing::insert_many(&mut *tx, &new).await?;
        let added = i32::try_from(new.len()).unwrap_or(i32::MAX);
        store::shop::adjust_listing_count(&mut *tx, shop_id, added).await?;
        let announced: Vec<_> = new.iter().map(|l| events::listing_changed(l, &shop.promoter_id)).collect();
        publish_all(&mut tx, &announced).await?;
        tx.commit().await?;
    }
    Ok(answers.into_iter().map(|answer| answer.map(|i| new[i].clone())).collect())
}

/// Whether one more listing of this product may join the shop.
fn check(product_id: Uuid, product: Option<&ProductRecord>, listed: &HashSet<Uuid>, room: i32) -> Result<(), Error> {
    let product = product.ok_or_else(|| Error::not_found("product", product_id))?;
    if product.status == ProductStatus::Withdrawn {
        return Err(Error::ProductWithdrawn(product_id.to_string()));
    }
    if listed.contains(&product_id) {
        return Err(Error::AlreadyListed(product_id.to_string()));
    }
    if room <= 0 {
        return Err(Error::ListingLimit);
    }
    Ok(())
}
