//! The console's templates and the rows they show. Amounts arrive formatted (exact
//! decimals from minor units); nothing here computes money.
use askama::Template;

pub use crate::pages::Frame;

pub struct BatchRow {
    pub batch_id: String,
    pub period: String,
    pub status: String,
    pub payable_lines: i32,
    pub payable_total: String,
    pub withheld_total: String,
    pub held_lines: i32,
    pub carried_forward_lines: i32,
    pub paid_lines: i32,
    pub failed_lines: i32,
    pub created_by: String,
    pub approved_by: String,
    pub held: String,
}

impl BatchRow {
    /// The promoters on hold, one by one (for links).
    pub fn held_list(&self) -> Vec<&str> {
        self.held.split(", ").filter(|p| !p.is_empty()).collect()
    }
}

/// Stacked bars of commission by state, one per month, laid out for an inline SVG.
pub struct Chart {
    pub bars: Vec<Bar>,
    pub legend: Vec<(String, String)>,
    pub max_label: String,
}

pub struct Bar {
    pub x: i64,
    pub label: String,
    pub segments: Vec<Segment>,
}

pub struct Segment {
    pub y: i64,
    pub height: i64,
    pub class: String,
    pub title: String,
}

#[derive(Template)]
#[template(path = "console/home.html")]
pub struct HomePage {
    pub frame: Frame,
    pub batches: Vec<BatchRow>,
    /// The list's filters, as the form shows them back.
    pub status: String,
    pub period_from: String,
    pub period_to: String,
    pub statuses: Vec<(String, String)>,
    pub next_page: Option<String>,
    pub default_from: String,
    pub default_to: String,
    pub chart: Chart,
}

pub struct LineRow {
    pub batch_line_id: String,
    pub promoter_id: String,
    pub status: String,
    /// Pay and fail forms are offered (pending, on a batch that records payouts).
    pub recordable: bool,
    pub withheld: String,
    pub hold_reason: String,
    pub settled_share: String,
    pub service_fee: String,
    pub reissued: String,
    pub clawback_netted: String,
    pub amount: String,
    pub order_lines: i32,
    pub payment: String,
}

#[derive(Template)]
#[template(path = "console/batch.html")]
pub struct BatchPage {
    pub frame: Frame,
    pub batch: BatchRow,
    pub lines: Vec<LineRow>,
    pub next_page: Option<String>,
    /// A draft, and this user did not create it.
    pub can_approve: bool,
    /// A draft created by this user: a second finance user must approve it.
    pub awaits_other_approver: bool,
    pub can_export: bool,
}

pub struct HoldRow {
    pub promoter_id: String,
    pub reason: String,
    pub placed: String,
    pub released: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "console/holds.html")]
pub struct HoldsPage {
    pub frame: Frame,
    pub holds: Vec<HoldRow>,
}

pub struct StatementRow {
    pub party_id: String,
    pub opening: String,
    pub earned: String,
    pub reversed: String,
    pub paid: String,
    pub closing: String,
    pub balanced: bool,
}

pub struct DiscrepancyRow {
    pub kind: String,
    pub line_id: String,
    pub promoter_id: String,
    pub expected: String,
    pub actual: String,
    pub description: String,
}

pub struct Statement {
    pub clean: bool,
    pub lines_checked: i64,
    pub promoters: Vec<StatementRow>,
    pub suppliers: Vec<StatementRow>,
    pub discrepancies: Vec<DiscrepancyRow>,
    /// Lines attribution changed after the last event settlement applied.
    pub in_flight: Vec<DiscrepancyRow>,
    pub backlog_events: i64,
    pub backlog_seconds: i64,
}

#[derive(Template)]
#[template(path = "console/reconcile.html")]
pub struct ReconcilePage {
    pub frame: Frame,
    pub from: String,
    pub to: String,
    pub statement: Option<Statement>,
}

#[derive(Template)]
#[template(path = "console/line.html")]
pub struct LinePage {
    pub frame: Frame,
    pub facts: Vec<(String, String)>,
    pub summary: String,
    /// Where its money is, per promoter, and every posting of it.
    pub positions: Vec<PositionRow>,
    pub journals: Vec<JournalRow>,
}

pub struct PeriodRow {
    pub from: String,
    pub to: String,
    pub closed_by: String,
    pub closed_at: String,
    pub batch_id: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "console/periods.html")]
pub struct PeriodsPage {
    pub frame: Frame,
    pub periods: Vec<PeriodRow>,
    /// Where the next period begins (empty before the first close).
    pub next_from: String,
    pub next_page: Option<String>,
}

/// An order line's commission for one promoter and where its money is.
pub struct PositionRow {
    pub line_id: String,
    pub promoter_id: String,
    pub paid_at: String,
    pub stage: String,
    pub commission: String,
    pub service_fee: String,
    pub share: String,
    pub batch_id: String,
    pub batch_line: String,
    /// Paid and now owed back, in words.
    pub note: String,
}

#[derive(Template)]
#[template(path = "console/promoter.html")]
pub struct PromoterPage {
    pub frame: Frame,
    pub promoter_id: String,
    pub balances: Vec<(String, String)>,
    pub on_hold: bool,
    pub payee: String,
    /// (placed, released)
    pub holds: Vec<(String, String)>,
    /// (period, batch, status, amount, reference)
    pub payouts: Vec<(String, String, String, String, String)>,
    pub lines: Vec<PositionRow>,
    pub next_page: Option<String>,
}

/// One posting of a line's money history.
pub struct JournalRow {
    pub at: String,
    pub kind: String,
    pub account: String,
    pub party: String,
    pub amount: String,
}

pub struct RiskHoldRow {
    pub line_id: String,
    pub promoter_id: String,
    pub paid_at: String,
    pub commission: String,
    /// The rule in words.
    pub rule: String,
    /// Each decision: when, who, what, the note.
    pub decisions: Vec<String>,
    pub held: bool,
}

pub struct RiskFlagRow {
    pub promoter_id: String,
    pub rule: String,
    pub rule_words: String,
    pub note: String,
    pub raised_at: String,
}

#[derive(Template)]
#[template(path = "console/risk.html")]
pub struct RiskPage {
    pub frame: Frame,
    /// held, released or voided.
    pub shown: &'static str,
    pub holds: Vec<RiskHoldRow>,
    pub flags: Vec<RiskFlagRow>,
}
