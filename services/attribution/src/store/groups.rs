//! Promoter groups: the groups, their rules (history, never edited) and memberships
//! over time; and the memberships a batch's decisions read in one statement.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;
use xiaopu_common::db::unknown_value;
use xiaopu_money::Bps;

use crate::domain::group::{Kind, Membership, Rule, Scope};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub group_id: Uuid,
    pub supplier_id: String,
    pub name: String,
    pub promote_at_minor: Option<i64>,
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub group_id: Uuid,
    pub rule: Rule,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub group_id: Uuid,
    pub promoter_id: String,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    pub source: String,
}

fn rule_of(
    rule_id: Uuid,
    product_id: Option<Uuid>,
    category: Option<String>,
    kind: &str,
    bps: i32,
    effective_from: DateTime<Utc>,
) -> Result<Rule, sqlx::Error> {
    let scope = match (product_id, category) {
        (Some(p), _) => Scope::Product(p),
        (None, Some(c)) => Scope::Category(c),
        (None, None) => Scope::Catalogue,
    };
    Ok(Rule {
        rule_id,
        scope,
        kind: Kind::parse(kind).ok_or_else(|| unknown_value("group_rule.kind", kind))?,
        bps: Bps::new(bps).ok_or_else(|| unknown_value("group_rule.bps", &bps.to_string()))?,
        effective_from,
    })
}

/// Each (promoter, supplier)'s memberships in that supplier's groups, with every rule
/// of each group: what deciding a batch's lines needs, in one statement.
pub async fn memberships(
    conn: &mut PgConnection,
    promoters: &[String],
    suppliers: &[&str],
) -> Result<HashMap<(String, String), Vec<Membership>>, sqlx::Error> {
    if promoters.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        r#"SELECT m.promoter_id, g.supplier_id, g.group_id, g.name, m.joined_at, m.left_at,
                  r.rule_id AS "rule_id?", r.product_id, r.category, r.kind AS "kind?", r.bps AS "bps?",
                  r.effective_from AS "effective_from?"
             FROM group_member m
             JOIN promoter_group g USING (group_id)
             LEFT JOIN group_rule r ON r.group_id = g.group_id
            WHERE m.promoter_id = ANY($1) AND g.supplier_id = ANY($2::text[])
            ORDER BY m.promoter_id, g.supplier_id, g.group_id, m.joined_at"#,
        promoters,
        suppliers as &[&str]
    )
    .fetch_all(conn)
    .await?;
    let mut out: HashMap<(String, String), Vec<Membership>> = HashMap::new();
    for r in rows {
        let list = out.entry((r.promoter_id, r.supplier_id)).or_default();
        let index = match list.iter().position(|m| m.group_id == r.group_id && m.joined_at == r.joined_at) {
            Some(i) => i,
            None => {
                list.push(Membership {
                    group_id: r.group_id,
                    group_name: r.name,
                    joined_at: r.joined_at,
                    left_at: r.left_at,
                    rules: Vec::new(),
                });
                list.len() - 1
            }
        };
        if let (Some(rule_id), Some(kind), Some(bps), Some(from)) = (r.rule_id, r.kind, r.bps, r.effective_from) {
            list[index].rules.push(rule_of(rule_id, r.product_id, r.category, &kind, bps, from)?);
        }
    }
    Ok(out)
}

pub async fn insert_group(conn: &mut PgConnection, g: &GroupRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO promoter_group (group_id, supplier_id, name, promote_at_minor, currency, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (supplier_id, name) DO NOTHING",
        g.group_id,
        g.supplier_id,
        g.name,
        g.promote_at_minor,
        g.currency,
        g.created_at
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Renames a group and sets how promoters join it; false when the name is taken.
pub async fn update_group(conn: &mut PgConnection, g: &GroupRow) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE promoter_group SET name = $2, promote_at_minor = $3, currency = $4
          WHERE group_id = $1
            AND NOT EXISTS (SELECT 1 FROM promoter_group o
                             WHERE o.supplier_id = promoter_group.supplier_id AND o.name = $2 AND o.group_id <> $1)",
        g.group_id,
        g.name,
        g.promote_at_minor,
        g.currency
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

struct StoredGroup {
    group_id: Uuid,
    supplier_id: String,
    name: String,
    promote_at_minor: Option<i64>,
    currency: String,
    created_at: DateTime<Utc>,
}

impl From<StoredGroup> for GroupRow {
    fn from(g: StoredGroup) -> Self {
        GroupRow {
            group_id: g.group_id,
            supplier_id: g.supplier_id,
            name: g.name,
            promote_at_minor: g.promote_at_minor,
            currency: g.currency,
            created_at: g.created_at,
        }
    }
}

pub async fn group(db: impl PgExecutor<'_>, group_id: Uuid) -> Result<Option<GroupRow>, sqlx::Error> {
    let row = sqlx::query_as!(
        StoredGroup,
        "SELECT group_id, supplier_id, name, promote_at_minor, currency, created_at FROM promoter_group
          WHERE group_id = $1",
        group_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(GroupRow::from))
}

pub async fn group_by_name(
    db: impl PgExecutor<'_>,
    supplier_id: &str,
    name: &str,
) -> Result<Option<GroupRow>, sqlx::Error> {
    let row = sqlx::query_as!(
        StoredGroup,
        "SELECT group_id, supplier_id, name, promote_at_minor, currency, created_at FROM promoter_group
          WHERE supplier_id = $1 AND name = $2",
        supplier_id,
        name
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(GroupRow::from))
}

/// A supplier's groups, oldest first, each with how many promoters are members at `at`.
pub async fn of_supplier(
    db: impl PgExecutor<'_>,
    supplier_id: &str,
    at: DateTime<Utc>,
) -> Result<Vec<(GroupRow, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT g.group_id, g.supplier_id, g.name, g.promote_at_minor, g.currency, g.created_at,
                  (SELECT count(DISTINCT m.promoter_id) FROM group_member m
                    WHERE m.group_id = g.group_id AND m.joined_at <= $2 AND (m.left_at IS NULL OR m.left_at > $2))
                  AS "members!"
             FROM promoter_group g WHERE g.supplier_id = $1 ORDER BY g.created_at, g.group_id"#,
        supplier_id,
        at
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let group = GroupRow {
                group_id: r.group_id,
                supplier_id: r.supplier_id,
                name: r.name,
                promote_at_minor: r.promote_at_minor,
                currency: r.currency,
                created_at: r.created_at,
            };
            (group, r.members)
        })
        .collect())
}

/// Every rule of `groups`, newest first.
pub async fn rules(db: impl PgExecutor<'_>, groups: &[Uuid]) -> Result<Vec<RuleRow>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT rule_id, group_id, product_id, category, kind, bps, effective_from, created_at FROM group_rule
          WHERE group_id = ANY($1) ORDER BY effective_from DESC, created_at DESC",
        groups
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(RuleRow {
                group_id: r.group_id,
                rule: rule_of(r.rule_id, r.product_id, r.category, &r.kind, r.bps, r.effective_from)?,
                created_at: r.created_at,
            })
        })
        .collect()
}

pub async fn rule(db: impl PgExecutor<'_>, rule_id: Uuid) -> Result<Option<RuleRow>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT rule_id, group_id, product_id, category, kind, bps, effective_from, created_at FROM group_rule
          WHERE rule_id = $1",
        rule_id
    )
    .fetch_optional(db)
    .await?;
    rows.map(|r| {
        Ok(RuleRow {
            group_id: r.group_id,
            rule: rule_of(r.rule_id, r.product_id, r.category, &r.kind, r.bps, r.effective_from)?,
            created_at: r.created_at,
        })
    })
    .transpose()
}

pub async fn insert_rule(conn: &mut PgConnection, r: &RuleRow) -> Result<(), sqlx::Error> {
    let (product_id, category) = match &r.rule.scope {
        Scope::Product(p) => (Some(*p), None),
        Scope::Category(c) => (None, Some(c.as_str())),
        Scope::Catalogue => (None, None),
    };
    sqlx::query!(
        "INSERT INTO group_rule (rule_id, group_id, product_id, category, kind, bps, effective_from, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        r.rule.rule_id,
        r.group_id,
        product_id,
        category,
        r.rule.kind.as_str(),
        r.rule.bps.get(),
        r.rule.effective_from,
        r.created_at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens a membership by hand from `at`, or keeps the one open already; returns the
/// open one.
pub async fn join(
    conn: &mut PgConnection,
    group_id: Uuid,
    promoter_id: &str,
    at: DateTime<Utc>,
) -> Result<MemberRow, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO group_member (group_id, promoter_id, joined_at, source) VALUES ($1, $2, $3, 'manual')
         ON CONFLICT (group_id, promoter_id) WHERE left_at IS NULL DO NOTHING",
        group_id,
        promoter_id,
        at
    )
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query_as!(
        MemberRow,
        "SELECT group_id, promoter_id, joined_at, left_at, source FROM group_member
          WHERE group_id = $1 AND promoter_id = $2 AND left_at IS NULL",
        group_id,
        promoter_id
    )
    .fetch_one(conn)
    .await?;
    Ok(row)
}

/// Closes an open membership by hand at `at` (or drops one that had not begun).
pub async fn leave(
    conn: &mut PgConnection,
    group_id: Uuid,
    promoter_id: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM group_member WHERE group_id = $1 AND promoter_id = $2 AND left_at IS NULL AND joined_at >= $3",
        group_id,
        promoter_id,
        at
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE group_member SET left_at = $3 WHERE group_id = $1 AND promoter_id = $2 AND left_at IS NULL",
        group_id,
        promoter_id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A group's memberships: open ones first, then by when they began, newest first.
pub async fn members(db: impl PgExecutor<'_>, group_id: Uuid) -> Result<Vec<MemberRow>, sqlx::Error> {
    sqlx::query_as!(
        MemberRow,
        "SELECT group_id, promoter_id, joined_at, left_at, source FROM group_member WHERE group_id = $1
          ORDER BY (left_at IS NULL) DESC, joined_at DESC, promoter_id LIMIT 1000",
        group_id
    )
    .fetch_all(db)
    .await
}

/// A promoter's memberships covering `at`, with their groups.
pub async fn of_promoter(
    db: impl PgExecutor<'_>,
    promoter_id: &str,
    at: DateTime<Utc>,
) -> Result<Vec<(GroupRow, MemberRow)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT g.group_id, g.supplier_id, g.name, g.promote_at_minor, g.currency, g.created_at,
                m.promoter_id, m.joined_at, m.left_at, m.source
           FROM group_member m JOIN promoter_group g USING (group_id)
          WHERE m.promoter_id = $1 AND m.joined_at <= $2 AND (m.left_at IS NULL OR m.left_at > $2)
          ORDER BY g.supplier_id, g.name",
        promoter_id,
        at
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let group = GroupRow {
                group_id: r.group_id,
                supplier_id: r.supplier_id,
                name: r.name,
                promote_at_minor: r.promote_at_minor,
                currency: r.currency,
                created_at: r.created_at,
            };
            let member = MemberRow {
                group_id: r.group_id,
                promoter_id: r.promoter_id,
                joined_at: r.joined_at,
                left_at: r.left_at,
                source: r.source,
            };
            (group, member)
        })
        .collect())
}

/// Groups that promote by last month's commission and have not yet been worked out
/// for `month`.
pub async fn due_for_month(db: impl PgExecutor<'_>, month: &str) -> Result<Vec<GroupRow>, sqlx::Error> {
    let rows = sqlx::query_as!(
        StoredGroup,
        "SELECT group_id, supplier_id, name, promote_at_minor, currency, created_at FROM promoter_group g
          WHERE promote_at_minor IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM group_month d WHERE d.group_id = g.group_id AND d.month = $1)",
        month
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(GroupRow::from).collect())
}

/// Works out a group's month: promoters whose lines of its supplier paid in
/// [`last_from`, `last_to`) earn at least its threshold now join for [`from`, `to`).
/// False when another replica did it first. Returns who joined.
pub async fn promote_for_month(
    conn: &mut PgConnection,
    group: &GroupRow,
    month: &str,
    (last_from, last_to): (DateTime<Utc>, DateTime<Utc>),
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let claimed = sqlx::query!(
        "INSERT INTO group_month (group_id, month, members, done_at) VALUES ($1, $2, 0, $3) ON CONFLICT DO NOTHING",
        group.group_id,
        month,
        now
    )
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(None);
    }
    let joined: Vec<String> = sqlx::query_scalar!(
        r#"INSERT INTO group_member (group_id, promoter_id, joined_at, left_at, source)
           SELECT $1, l.promoter_id, $6, $7, 'last_month'
             FROM order_line l
            WHERE l.product_id IN (SELECT product_id FROM rm_product WHERE supplier_id = $2)
              AND l.attributed AND l.currency = $3 AND l.paid_at >= $4 AND l.paid_at < $5
            GROUP BY l.promoter_id
           HAVING sum(l.commission_minor) >= $8::bigint
           ON CONFLICT DO NOTHING
           RETURNING promoter_id"#,
        group.group_id,
        group.supplier_id,
        group.currency,
        last_from,
        last_to,
        from,
        to,
        group.promote_at_minor.unwrap_or(i64::MAX)
    )
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE group_month SET members = $3 WHERE group_id = $1 AND month = $2",
        group.group_id,
        month,
        i32::try_from(joined.len()).unwrap_or(i32::MAX)
    )
    .execute(conn)
    .await?;
    Ok(Some(joined))
}
