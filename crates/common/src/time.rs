//! Time: conversions between protobuf timestamps and `chrono`, and the clock every
//! service reads "now" from (tests replace it).
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeDelta, Utc};

pub fn to_timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.timestamp(), nanos: time.timestamp_subsec_nanos() as i32 }
}

/// None when the timestamp is outside what `chrono` (and PostgreSQL) can hold.
pub fn from_timestamp(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(ts.nanos).ok()?;
    let time = DateTime::from_timestamp(ts.seconds, nanos)?;
    // PostgreSQL timestamptz spans 4713 BC to 294276 AD; keep to years 1..=9999.
    (time.timestamp() >= -62_135_596_800 && time.timestamp() <= 253_402_300_799).then_some(time)
}

/// Times a request may carry: from 2000-01-01 to the end of 2199 (UTC). Wide enough
/// for any real order, score or period; narrow enough that date arithmetic (windows,
/// holds) cannot overflow and the database never sees an absurd year.
pub fn is_business_time(time: &DateTime<Utc>) -> bool {
    (946_684_800..7_258_118_400).contains(&time.timestamp())
}

/// What [`is_business_time`] requires, as a field rule.
pub const BUSINESS_RANGE_RULE: &str = "must be a time between 2000-01-01 and 2199-12-31 (UTC)";

/// The business time zone: where finance's days begin and what its files show
/// (Asia/Shanghai by default). Periods are instants; the zone only names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(chrono_tz::Tz);

impl Default for Zone {
    fn default() -> Self {
        Self(chrono_tz::Asia::Shanghai)
    }
}

impl Zone {
    /// An IANA zone name, e.g. `Asia/Shanghai`.
    pub fn parse(name: &str) -> Option<Self> {
        name.parse().ok().map(Self)
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// `2026-12-03 10:15:30`: local time to the second, as spreadsheets read it.
    pub fn to_second(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.0).format("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// The calendar month `at` falls in, here.
    pub fn month_of(&self, at: DateTime<Utc>) -> Month {
        let local = at.with_timezone(&self.0);
        self.month_from(local.year(), local.month()).unwrap_or(Month { label: String::new(), start: at, end: at })
    }

    /// The month a `YYYY-MM` label names, here.
    pub fn month(&self, label: &str) -> Option<Month> {
        let (year, month) = label.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        self.month_from(year.parse().ok()?, month.parse().ok()?)
    }

    fn month_from(&self, year: i32, month: u32) -> Option<Month> {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        let next = first.checked_add_months(Months::new(1))?;
        // Midnight exists in every zone chrono-tz knows on the first of a month
        // (no zone shifts its clocks there); `earliest` covers a fold.
        let start = first.and_hms_opt(0, 0, 0)?.and_local_timezone(self.0).earliest()?.with_timezone(&Utc);
        let end = next.and_hms_opt(0, 0, 0)?.and_local_timezone(self.0).earliest()?.with_timezone(&Utc);
        Some(Month { label: format!("{year:04}-{month:02}"), start, end })
    }
}

/// A calendar month in the business zone: `2026-12`, from its first instant up to
/// (not including) the next month's. Labels sort as the months do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Month {
    pub label: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Where services read the current time from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Microseconds: what PostgreSQL stores, so a value read back compares equal.
        let now = Utc::now();
        now - TimeDelta::nanoseconds(i64::from(now.timestamp_subsec_nanos() % 1_000))
    }
}

/// The system clock shifted by an offset that tests can move forward, so a
/// holding period or a window passes without sleeping.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock {
    offset_micros: Arc<AtomicI64>,
}

impl OffsetClock {
    pub fn advance(&self, by: TimeDelta) {
        self.offset_micros.fetch_add(by.num_microseconds().unwrap_or(i64::MAX), Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        SystemClock.now() + TimeDelta::microseconds(self.offset_micros.load(Ordering::SeqCst))
    }
}

pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_absurd_ones_are_refused() {
        let now = SystemClock.now();
        assert_eq!(from_timestamp(&to_timestamp(now)), Some(now));
        assert_eq!(from_timestamp(&prost_types::Timestamp { seconds: i64::MAX, nanos: 0 }), None);
        assert_eq!(from_timestamp(&prost_types::Timestamp { seconds: 0, nanos: -1 }), None);
    }

    #[test]
    fn offset_clock_moves_forward() {
        let clock = OffsetClock::default();
        let before = clock.now();
        clock.advance(TimeDelta::days(7));
        assert!(clock.now() - before >= TimeDelta::days(7));
    }

    #[test]
    fn months_are_local() {
        let zone = Zone::default();
        // 16:00 UTC on 30 November is midnight of 1 December in Shanghai.
        let at = DateTime::parse_from_rfc3339("2026-11-30T16:00:00Z").expect("time").with_timezone(&Utc);
        let month = zone.month_of(at);
        assert_eq!(month.label, "2026-12");
        assert_eq!(month.start, at);
        assert_eq!(month.end.to_rfc3339(), "2026-12-31T16:00:00+00:00");
        assert_eq!(zone.month_of(at - TimeDelta::microseconds(1)).label, "2026-11");
        assert_eq!(zone.month("2026-12"), Some(month));
        assert_eq!(zone.month("2026-13"), None);
        assert_eq!(zone.month("2026-1"), None);
        assert_eq!(zone.month("x"), None);
    }

    #[test]
    fn the_business_zone_names_local_seconds() {
        let zone = Zone::default();
        assert_eq!(zone.name(), "Asia/Shanghai");
        let at = DateTime::parse_from_rfc3339("2026-11-30T16:00:00.123456Z").expect("time").with_timezone(&Utc);
        assert_eq!(zone.to_second(at), "2026-12-01 00:00:00", "midnight in Beijing, no fractions");
        assert_eq!(Zone::parse("Europe/London").map(|z| z.to_second(at)).as_deref(), Some("2026-11-30 16:00:00"));
        assert_eq!(Zone::parse("Mars/Olympus"), None);
    }
}
