//! Order lines: the facts their decisions rest on (one query for a whole batch),
//! and bulk insert and update.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;
use xiaopu_common::{db::unknown_value, ids::PromoterId};
use xiaopu_money::Bps;

use crate::domain::{Click, Facts, Link, Precedence, Rate, Reason, Rules, line::State, risk};

/// An order line, decision included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRow {
    pub line_id: String,
    pub order_id: String,
    pub buyer_id: String,
    pub paid_at: DateTime<Utc>,
    pub order_code: Option<String>,
    pub product_id: Uuid,
    pub supplier_id: String,
    pub quantity: i32,
    pub currency: String,
    pub paid_minor: i64,
    pub refunded_minor: i64,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub state: State,
    pub attributed: bool,
    pub reason: Reason,
    pub summary: String,
    pub promoter_id: Option<String>,
    pub shop_id: Option<Uuid>,
    pub share_code: Option<String>,
    pub click_event_id: Option<String>,
    pub clicked_at: Option<DateTime<Utc>>,
    pub rate_id: Option<Uuid>,
    pub rate_bps: Option<Bps>,
    /// The product's own rate, when a group rule set `rate_bps`.
    pub base_rate_bps: Option<Bps>,
    pub group_id: Option<Uuid>,
    pub group_rule_id: Option<Uuid>,
    /// The risk rule that held the line, and where the hold stands.
    pub risk_rule: Option<risk::Rule>,
    pub risk_state: Option<risk::State>,
    pub commission_minor: i64,
    pub decided_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An order line as its row reads, before its state and reason are known values.
pub(super) struct StoredLine {
    pub(super) line_id: String,
    pub(super) order_id: String,
    pub(super) buyer_id: String,
    pub(super) paid_at: DateTime<Utc>,
    pub(super) order_code: Option<String>,
    pub(super) product_id: Uuid,
    pub(super) supplier_id: String,
    pub(super) quantity: i32,
    pub(super) currency: String,
    pub(super) paid_minor: i64,
    pub(super) refunded_minor: i64,
    pub(super) confirmed_at: Option<DateTime<Utc>>,
    pub(super) state: String,
    pub(super) attributed: bool,
    pub(super) reason: String,
    pub(super) summary: String,
    pub(super) promoter_id: Option<String>,
    pub(super) shop_id: Option<Uuid>,
    pub(super) share_code: Option<String>,
    pub(super) click_event_id: Option<String>,
    pub(super) clicked_at: Option<DateTime<Utc>>,
    pub(super) rate_id: Option<Uuid>,
    pub(super) rate_bps: Option<i32>,
    pub(super) base_rate_bps: Option<i32>,
    pub(super) group_id: Option<Uuid>,
    pub(super) group_rule_id: Option<Uuid>,
    pub(super) risk_rule: Option<String>,
    pub(super) risk_state: Option<String>,
    pub(super) commission_minor: i64,
    pub(super) decided_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

impl TryFrom<StoredLine> for LineRow {
    type Error = sqlx::Error;

    /// A state or reason this build does not know is an error, never a default.
    fn try_from(r: StoredLine) -> Result<Self, Self::Error> {
        Ok(LineRow {
            state: State::parse(&r.state).ok_or_else(|| unknown_value("order_line.state", &r.state))?,
            reason: Reason::parse(&r.reason).ok_or_else(|| unknown_value("order_line.reason", &r.reason))?,
            line_id: r.line_id,
            order_id: r.order_id,
            buyer_id: r.buyer_id,
            paid_at: r.paid_at,
            order_code: r.order_code,
            product_id: r.product_id,
            supplier_id: r.supplier_id,
            quantity: r.quantity,
            currency: r.currency,
            paid_minor: r.paid_minor,
            refunded_minor: r.refunded_minor,
            confirmed_at: r.confirmed_at,
            attributed: r.attributed,
            summary: r.summary,
            promoter_id: r.promoter_id,
            shop_id: r.shop_id,
            share_code: r.share_code,
            click_event_id: r.click_event_id,
            clicked_at: r.clicked_at,
            rate_id: r.rate_id,
            rate_bps: r.rate_bps.map(|bps| rate("order_line.rate_bps", bps)).transpose()?,
            base_rate_bps: r.base_rate_bps.map(|bps| rate("order_line.base_rate_bps", bps)).transpose()?,
            group_id: r.group_id,
            group_rule_id: r.group_rule_id,
            risk_rule: r
                .risk_rule
                .map(|v| risk::Rule::parse(&v).ok_or_else(|| unknown_value("order_line.risk_rule", &v)))
                .transpose()?,
            risk_state: r
                .risk_state
                .map(|v| risk::State::parse(&v).ok_or_else(|| unknown_value("order_line.risk_state", &v)))
                .transpose()?,
            commission_minor: r.commission_minor,
            decided_at: r.decided_at,
            updated_at: r.updated_at,
        })
    }
}

/// Rows read as [`StoredLine`], each checked into a [`LineRow`].
pub(super) fn checked(rows: Vec<StoredLine>) -> Result<Vec<LineRow>, sqlx::Error> {
    rows.into_iter().map(LineRow::try_from).collect()
}

/// The facts of each line (by line id), read in one statement for the whole batch.
/// The click is read for a line with a code only when a click may win over it (the
/// domain's `decide` makes the same choice from these facts).
pub async fn facts(
    conn: &mut PgConnection,
    lines: &[LineRow],
    rules: &Rules,
) -> Result<HashMap<String, Facts>, sqlx::Error> {
    let click_first = rules.precedence == Precedence::LastClick;
    let window_seconds = rules.window.as_seconds_f64();
    let ids: Vec<&str> = lines.iter().map(|l| l.line_id.as_str()).collect();
    let buyers: Vec<&str> = lines.iter().map(|l| l.buyer_id.as_str()).collect();
    let times: Vec<DateTime<Utc>> = lines.iter().map(|l| l.paid_at).collect();
    let codes: Vec<Option<&str>> = lines.iter().map(|l| l.order_code.as_deref()).collect();
    let products: Vec<Uuid> = lines.iter().map(|l| l.product_id).collect();
    let rows = sqlx::query!(
        r#"SELECT i.line_id AS "line_id!", i.buyer_id AS "buyer_id!", i.paid_at AS "paid_at!", i.order_code,
                  c.event_id AS "click_event_id?", c.share_code AS "click_code?", c.clicked_at AS "clicked_at?",
                  l.code AS "link_code?", l.shop_id AS "link_shop_id?", l.promoter_id AS "link_promoter_id?",
                  l.created_at AS "link_created_at?", l.revoked_at AS "link_revoked_at?",
                  EXISTS (
                      SELECT 1 FROM rm_listing li
                      WHERE li.shop_id = l.shop_id AND li.product_id = i.product_id
                        AND li.listed_at <= i.paid_at AND (li.removed_at IS NULL OR li.removed_at > i.paid_at)
                  ) AS "listed!",
                  (SELECT s.status = 'active' FROM rm_shop_status s
                   WHERE s.shop_id = l.shop_id AND s.changed_at <= i.paid_at
                   ORDER BY s.changed_at DESC LIMIT 1) AS "shop_active?",
                  r.rate_id AS "rate_id?", r.rate_bps AS "rate_bps?", i.product_id AS "product_id!",
                  (SELECT pc.category FROM rm_product_category pc
                   WHERE pc.product_id = i.product_id AND pc.since <= i.paid_at
                   ORDER BY pc.since DESC LIMIT 1) AS "category?"
           FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::uuid[])
                AS i(line_id, buyer_id, paid_at, order_code, product_id)
           LEFT JOIN LATERAL (
               SELECT k.event_id, k.share_code, k.clicked_at FROM click k
               WHERE (i.order_code IS NULL OR $6) AND k.visitor_id = i.buyer_id AND k.clicked_at <= i.paid_at
               ORDER BY k.clicked_at DESC, k.event_id DESC LIMIT 1
           ) c ON true
           CROSS JOIN LATERAL (SELECT CASE
               WHEN $6 AND c.clicked_at >= i.paid_at - make_interval(secs => $7) THEN c.share_code
               ELSE COALESCE(i.order_code, c.share_code)
           END AS code) used
           LEFT JOIN rm_share_link exact ON exact.code = used.code
           -- Else its upper-case form: a promo code is kept upper-case, and buyers
           -- type it in any case.
           LEFT JOIN rm_share_link upper_case
                  ON exact.code IS NULL AND used.code <> upper(used.code) AND upper_case.code = upper(used.code)
           -- At most one of the two matched (the second only without the first).
           CROSS JOIN LATERAL (SELECT COALESCE(exact.code, upper_case.code) AS code,
                                      COALESCE(exact.shop_id, upper_case.shop_id) AS shop_id,
                                      COALESCE(exact.promoter_id, upper_case.promoter_id) AS promoter_id,
                                      COALESCE(exact.created_at, upper_case.created_at) AS created_at,
                                      COALESCE(exact.revoked_at, upper_case.revoked_at) AS revoked_at) l
           LEFT JOIN LATERAL (
               SELECT rr.rate_id, rr.rate_bps FROM rm_rate rr
               WHERE rr.product_id = i.product_id AND rr.effective_from <= i.paid_at
               ORDER BY rr.effective_from DESC LIMIT 1
           ) r ON true"#,
        &ids as &[&str],
        &buyers as &[&str],
        &times,
        &codes as &[Option<&str>],
        &products,
        click_first,
        window_seconds
    )
    .fetch_all(&mut *conn)
    .await?;
    // The groups of each candidate promoter with the line's supplier.
    let suppliers: HashMap<&str, &str> = lines.iter().map(|l| (l.line_id.as_str(), l.supplier_id.as_str())).collect();
    let mut promoters: Vec<String> = rows.iter().filter_map(|r| r.link_promoter_id.clone()).collect();
    promoters.sort_unstable();
    promoters.dedup();
    let mut supplier_ids: Vec<&str> = suppliers.values().copied().collect();
    supplier_ids.sort_unstable();
    supplier_ids.dedup();
    let memberships = super::groups::memberships(conn, &promoters, &supplier_ids).await?;
    rows.into_iter()
        .map(|r| {
            let groups = match (&r.link_promoter_id, suppliers.get(r.line_id.as_str())) {
                (Some(promoter), Some(supplier)) => {
                    memberships.get(&(promoter.clone(), (*supplier).to_owned())).cloned().unwrap_or_default()
                }
                _ => Vec::new(),
            };
            let last_click = match (r.click_event_id, r.click_code, r.clicked_at) {
                (Some(event_id), Some(code), Some(clicked_at)) => Some(Click { event_id, code, clicked_at }),
                _ => None,
            };
            let link = match (r.link_code, r.link_shop_id, r.link_promoter_id, r.link_created_at) {
                (Some(code), Some(shop_id), Some(promoter_id), Some(created_at)) => Some(Link {
                    code,
                    shop_id,
                    promoter_id: PromoterId::new(promoter_id),
                    created_at,
                    revoked_at: r.link_revoked_at,
                }),
                _ => None,
            };
            let rate = match (r.rate_id, r.rate_bps) {
                (Some(rate_id), Some(bps)) => Some(Rate { rate_id, bps: rate("rm_rate.rate_bps", bps)? }),
                _ => None,
            };
            let facts = Facts {
                buyer_id: r.buyer_id,
                paid_at: r.paid_at,
                order_code: r.order_code,
                last_click,
                link,
                listed: r.listed,
                shop_active: r.shop_active,
                rate,
                product_id: r.product_id,
                category: r.category,
                groups,
            };
            Ok((r.line_id, facts))
        })
        .collect()
}

/// A stored rate, which every writer checked: one out of 0 to 100 % fails the read.
fn rate(column: &str, bps: i32) -> Result<Bps, sqlx::Error> {
    Bps::new(bps).ok_or_else(|| unknown_value(column, &bps.to_string()))
}

/// One field of every row as a column, for `UNNEST` writes.
macro_rules! column {
    ($rows:expr, $field:ident) => {
        $rows.iter().map(|l| l.$field.clone()).collect::<Vec<_>>()
    };
}

pub async fn insert(conn: &mut PgConnection, lines: &[LineRow]) -> Result<(), sqlx::Error> {
    if lines.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO order_line (line_id, order_id, buyer_id, paid_at, order_code, product_id, supplier_id, quantity,
                                 currency, paid_minor, refunded_minor, confirmed_at, state, attributed, reason, summary,
                                 promoter_id, shop_id, share_code, click_event_id, clicked_at, rate_id, rate_bps,
                                 commission_minor, decided_at, updated_at, base_rate_bps, group_id, group_rule_id,
                                 risk_rule, risk_state)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::uuid[], $7::text[],
                              $8::int[], $9::text[], $10::bigint[], $11::bigint[], $12::timestamptz[], $13::text[],
                              $14::bool[], $15::text[], $16::text[], $17::text[], $18::uuid[], $19::text[], $20::text[],
                              $21::timestamptz[], $22::uuid[], $23::int[], $24::bigint[], $25::timestamptz[],
                              $26::timestamptz[], $27::int[], $28::uuid[], $29::uuid[], $30::text[], $31::text[])",
        &column!(lines, line_id),
        &column!(lines, order_id),
        &column!(lines, buyer_id),
        &column!(lines, paid_at),
        &column!(lines, order_code) as &[Option<String>],
        &column!(lines, product_id),
        &column!(lines, supplier_id),
        &column!(lines, quantity),
        &column!(lines, currency),
        &column!(lines, paid_minor),
        &column!(lines, refunded_minor),
        &column!(lines, confirmed_at) as &[Option<DateTime<Utc>>],
        &lines.iter().map(|l| l.state.as_str()).collect::<Vec<_>>() as &[&str],
        &column!(lines, attributed),
        &lines.iter().map(|l| l.reason.as_str()).collect::<Vec<_>>() as &[&str],
        &column!(lines, summary),
        &column!(lines, promoter_id) as &[Option<String>],
        &column!(lines, shop_id) as &[Option<Uuid>],
        &column!(lines, share_code) as &[Option<String>],
        &column!(lines, click_event_id) as &[Option<String>],
        &column!(lines, clicked_at) as &[Option<DateTime<Utc>>],
        &column!(lines, rate_id) as &[Option<Uuid>],
        &lines.iter().map(|l| l.rate_bps.map(Bps::get)).collect::<Vec<_>>() as &[Option<i32>],
        &column!(lines, commission_minor),
        &column!(lines, decided_at),
        &column!(lines, updated_at),
        &lines.iter().map(|l| l.base_rate_bps.map(Bps::get)).collect::<Vec<_>>() as &[Option<i32>],
        &column!(lines, group_id) as &[Option<Uuid>],
        &column!(lines, group_rule_id) as &[Option<Uuid>],
        &lines.iter().map(|l| l.risk_rule.map(risk::Rule::as_str)).collect::<Vec<_>>() as &[Option<&str>],
        &lines.iter().map(|l| l.risk_state.map(risk::State::as_str)).collect::<Vec<_>>() as &[Option<&str>]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the mutable part of each line (money, state and decision).
pub async fn update(conn: &mut PgConnection, lines: &[LineRow]) -> Result<(), sqlx::Error> {
    if lines.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "UPDATE order_line SET refunded_minor = u.refunded_minor, confirmed_at = u.confirmed_at, state = u.state,
                attributed = u.attributed, reason = u.reason, summary = u.summary, promoter_id = u.promoter_id,
                shop_id = u.shop_id, share_code = u.share_code, click_event_id = u.click_event_id,
                clicked_at = u.clicked_at, rate_id = u.rate_id, rate_bps = u.rate_bps,
                commission_minor = u.commission_minor, decided_at = u.decided_at, updated_at = u.updated_at,
                base_rate_bps = u.base_rate_bps, group_id = u.group_id, group_rule_id = u.group_rule_id,
                risk_rule = u.risk_rule, risk_state = u.risk_state
         FROM UNNEST($1::text[], $2::bigint[], $3::timestamptz[], $4::text[], $5::bool[], $6::text[], $7::text[],
                     $8::text[], $9::uuid[], $10::text[], $11::text[], $12::timestamptz[], $13::uuid[], $14::int[],
                     $15::bigint[], $16::timestamptz[], $17::timestamptz[], $18::int[], $19::uuid[], $20::uuid[],
                     $21::text[], $22::text[])
              AS u(line_id, refunded_minor, confirmed_at, state, attributed, reason, summary, promoter_id, shop_id,
                   share_code, click_event_id, clicked_at, rate_id, rate_bps, commission_minor, decided_at, updated_at,
                   base_rate_bps, group_id, group_rule_id, risk_rule, risk_state)
         WHERE order_line.line_id = u.line_id",
        &column!(lines, line_id),
        &column!(lines, refunded_minor),
        &column!(lines, confirmed_at) as &[Option<DateTime<Utc>>],
        &lines.iter().map(|l| l.state.as_str()).collect::<Vec<_>>() as &[&str],
        &column!(lines, attributed),
        &lines.iter().map(|l| l.reason.as_str()).collect::<Vec<_>>() as &[&str],
        &column!(lines, summary),
        &column!(lines, promoter_id) as &[Option<String>],
        &column!(lines, shop_id) as &[Option<Uuid>],
        &column!(lines, share_code) as &[Option<String>],
        &column!(lines, click_event_id) as &[Option<String>],
        &column!(lines, clicked_at) as &[Option<DateTime<Utc>>],
        &column!(lines, rate_id) as &[Option<Uuid>],
        &lines.iter().map(|l| l.rate_bps.map(Bps::get)).collect::<Vec<_>>() as &[Option<i32>],
        &column!(lines, commission_minor),
        &column!(lines, decided_at),
        &column!(lines, updated_at),
        &lines.iter().map(|l| l.base_rate_bps.map(Bps::get)).collect::<Vec<_>>() as &[Option<i32>],
        &column!(lines, group_id) as &[Option<Uuid>],
        &column!(lines, group_rule_id) as &[Option<Uuid>],
        &lines.iter().map(|l| l.risk_rule.map(risk::Rule::as_str)).collect::<Vec<_>>() as &[Option<&str>],
        &lines.iter().map(|l| l.risk_state.map(risk::State::as_str)).collect::<Vec<_>>() as &[Option<&str>]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Reads and locks lines, in line id order (a stable lock order).
pub async fn lock(conn: &mut PgConnection, line_ids: &[String]) -> Result<Vec<LineRow>, sqlx::Error> {
    let rows = sqlx::query_as!(
        StoredLine,
        "SELECT * FROM order_line WHERE line_id = ANY($1::text[]) ORDER BY line_id FOR UPDATE",
        line_ids
    )
    .fetch_all(conn)
    .await?;
    checked(rows)
}

/// Lines of `order_ids`.
pub async fn of_orders(conn: &mut PgConnection, order_ids: &[&str]) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query!("SELECT line_id FROM order_line WHERE order_id = ANY($1::text[])", order_ids as &[&str])
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.line_id).collect())
}

/// Lines a late click may change: the visitor's lines without an order code, paid
/// at or after the click, whose known last click is not newer (within the window it
/// may attribute them; beyond it, it changes why they are not).
pub async fn affected_by_clicks(
    conn: &mut PgConnection,
    visitors: &[String],
    clicked_at: &[DateTime<Utc>],
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT DISTINCT l.line_id FROM order_line l
         JOIN UNNEST($1::text[], $2::timestamptz[]) AS c(visitor, at) ON l.buyer_id = c.visitor
         WHERE l.order_code IS NULL AND l.paid_at >= c.at AND (l.clicked_at IS NULL OR l.clicked_at <= c.at)",
        visitors,
        clicked_at
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.line_id).collect())
}

/// Lines whose code in use is `code` (a link that appeared or was revoked). A line's
/// `share_code` is the code in use, the order's own when it has one (known or not),
/// so this one indexed column finds them all (an `OR order_code = $1` here made every
/// link event scan the whole table: `order_code` has no index).
pub async fn using_code(conn: &mut PgConnection, code: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query!("SELECT line_id FROM order_line WHERE share_code = $1", code).fetch_all(conn).await?;
    Ok(rows.into_iter().map(|r| r.line_id).collect())
}

/// Lines reached through `shop_id` paid at or after `from` (optionally only of
/// `product_id`): a change to the shop's status or listings can only move those. A
/// line's shop is the shop of its code's link, so they are found by the shop's codes
/// (`order_line` keeps no index on `shop_id`: it would cost every paid line a write).
pub async fn through_shop_since(
    conn: &mut PgConnection,
    shop_id: Uuid,
    product_id: Option<Uuid>,
    from: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT line_id FROM order_line
         WHERE share_code = ANY(ARRAY(SELECT code FROM rm_share_link WHERE shop_id = $1))
           AND shop_id = $1 AND ($2::uuid IS NULL OR product_id = $2) AND paid_at >= $3",
        shop_id,
        product_id,
        from
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.line_id).collect())
}

/// Lines of `product_id` paid at or after `from`.
pub async fn of_product_since(
    conn: &mut PgConnection,
    product_id: Uuid,
    from: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query!("SELECT line_id FROM order_line WHERE product_id = $1 AND paid_at >= $2", product_id, from)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.line_id).collect())
}

/// Lines `promoters` earn on of `supplier_id`'s, paid at or after `from` (a group they
/// joined from then changes their rate).
pub async fn of_promoters_since(
    conn: &mut PgConnection,
    promoters: &[String],
    supplier_id: &str,
    from: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    if promoters.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query!(
        "SELECT line_id FROM order_line
         WHERE attributed AND promoter_id = ANY($1) AND paid_at >= $2 AND supplier_id = $3",
        promoters,
        from,
        supplier_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.line_id).collect())
}
