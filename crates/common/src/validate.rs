//! Field rules shared by every service's request validation. Each returns the
//! violation naming the field and the rule.
use chrono::{DateTime, Utc};

use crate::error::FieldViolation;

/// Longest id (person, product, order, request ids) accepted from a client.
pub const MAX_ID_LEN: usize = 128;

/// A required identifier: 1-128 characters of letters, digits and `-_.:@`.
pub fn id<'a>(field: &str, value: &'a str) -> Result<&'a str, FieldViolation> {
    if value.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(FieldViolation::new(field, format!("must be at most {MAX_ID_LEN} characters")));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@')) {
        return Err(FieldViolation::new(field, "may contain only letters, digits and - _ . : @"));
    }
    Ok(value)
}

/// A short name people type, such as a product category (`水果`, `Home & Garden`):
/// 1 to `max_chars` letters (any script), digits, spaces and `-_&/·.`, not
/// starting or ending with a space.
pub fn label<'a>(field: &str, value: &'a str, max_chars: usize) -> Result<&'a str, FieldViolation> {
    if value.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    if value.chars().count() > max_chars {
        return Err(FieldViolation::new(field, format!("must be at most {max_chars} characters")));
    }
    if value.trim() != value {
        return Err(FieldViolation::new(field, "must not start or end with a space"));
    }
    if !value.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '&' | '/' | '·' | '.')) {
        return Err(FieldViolation::new(field, "may contain only letters, digits, spaces and - _ & / · ."));
    }
    Ok(value)
}

/// A required UUID, e.g. a product or shop id.
pub fn uuid(field: &str, value: &str) -> Result<uuid::Uuid, FieldViolation> {
    if value.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    uuid::Uuid::parse_str(value).map_err(|_| FieldViolation::new(field, "is not a valid id"))
}

/// An optional UUID: empty means none.
pub fn optional_uuid(field: &str, value: &str) -> Result<Option<uuid::Uuid>, FieldViolation> {
    if value.is_empty() { Ok(None) } else { uuid(field, value).map(Some) }
}

/// A required free text of at most `max_chars` characters, trimmed, without control
/// characters (newlines allowed when `multiline`).
pub fn text<'a>(field: &str, value: &'a str, max_chars: usize, multiline: bool) -> Result<&'a str, FieldViolation> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    optional_text(field, trimmed, max_chars, multiline)
}

/// Like [`text`] but empty is allowed.
pub fn optional_text<'a>(
    field: &str,
    value: &'a str,
    max_chars: usize,
    multiline: bool,
) -> Result<&'a str, FieldViolation> {
    let trimmed = value.trim();
    if trimmed.chars().count() > max_chars {
        return Err(FieldViolation::new(field, format!("must be at most {max_chars} characters")));
    }
    if trimmed.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) {
        return Err(FieldViolation::new(field, "must not contain control characters"));
    }
    Ok(trimmed)
}

/// An optional timestamp that must be a valid time within [`crate::time::business_range`]
/// (a payment in year 1 is a client's bug, not a fact to store).
pub fn timestamp(field: &str, value: Option<&prost_types::Timestamp>) -> Result<Option<DateTime<Utc>>, FieldViolation> {
    value
        .map(|ts| {
            crate::time::from_timestamp(ts)
                .filter(crate::time::is_business_time)
                .ok_or_else(|| FieldViolation::new(field, crate::time::BUSINESS_RANGE_RULE))
        })
        .transpose()
}

/// A required timestamp.
pub fn required_timestamp(
    field: &str,
    value: Option<&prost_types::Timestamp>,
) -> Result<DateTime<Utc>, FieldViolation> {
    timestamp(field, value)?.ok_or_else(|| FieldViolation::new(field, "is required"))
}

/// A request's period `[from, to)`: both required, `to` after `from`.
pub fn period(
    from: Option<&prost_types::Timestamp>,
    to: Option<&prost_types::Timestamp>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), crate::error::Invalid> {
    let mut v = crate::error::Violations::new();
    let from = v.check(required_timestamp("from", from));
    let to = v.check(required_timestamp("to", to));
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        v.add("to", "must be after from");
    }
    v.finish_with(from.zip(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_take_any_script_but_no_markup() {
        assert_eq!(label("category", "水果", 32), Ok("水果"));
        assert_eq!(label("category", "Home & Garden", 32), Ok("Home & Garden"));
        assert!(label("category", "", 32).is_err());
        assert!(label("category", " 水果", 32).is_err());
        assert!(label("category", "<b>", 32).is_err());
        assert!(label("category", &"果".repeat(33), 32).is_err());
    }

    #[test]
    fn ids_are_bounded_and_plain() {
        assert!(id("person_id", "p-1").is_ok());
        assert_eq!(id("person_id", "").expect_err("empty").rule, "is required");
        assert!(id("person_id", &"x".repeat(129)).is_err());
        assert!(id("person_id", "a b").is_err());
        assert!(id("person_id", "张三").is_err());
    }

    #[test]
    fn times_outside_the_business_range_are_refused_by_name() {
        let year_one = prost_types::Timestamp { seconds: -62_135_596_800, nanos: 0 };
        let err = timestamp("paid_at", Some(&year_one)).expect_err("year 1");
        assert_eq!(err.field, "paid_at");
        assert_eq!(err.rule, crate::time::BUSINESS_RANGE_RULE);
        let now = crate::time::to_timestamp(Utc::now());
        assert!(timestamp("paid_at", Some(&now)).is_ok());
    }

    #[test]
    fn text_counts_characters_not_bytes() {
        assert!(text("reason", &"好".repeat(200), 200, false).is_ok());
        assert!(text("reason", &"好".repeat(201), 200, false).is_err());
        assert!(text("reason", "a\u{0007}b", 200, false).is_err());
        assert!(text("reason", "a\nb", 200, true).is_ok());
    }
}
