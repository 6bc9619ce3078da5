//! Keyset pagination with opaque page tokens: a token is the last row's sort key,
//! base64url-encoded JSON, so a page is one indexed range scan however deep.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{FieldViolation, Invalid, Violations};

/// A list request's page: how many rows, after which sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<K> {
    pub limit: i64,
    pub after: Option<K>,
}

impl<K: DeserializeOwned> Page<K> {
    /// Reads `page_size` (0 means `default`, at most `max`) and `page_token`.
    pub fn from_request(page_size: i32, page_token: &str, default: u32, max: u32) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let limit = v.check(self::page_size(page_size, default, max));
        let after = v.check(decode_token(page_token));
        let (limit, after) = v.finish_with(limit.zip(after))?;
        Ok(Self { limit, after })
    }
}

/// Page size from a request: 0 means `default`, anything above `max` is refused.
pub fn page_size(requested: i32, default: u32, max: u32) -> Result<i64, FieldViolation> {
    match requested {
        0 => Ok(i64::from(default)),
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        n if n as u32 > max => Err(FieldViolation::new("page_size", format!("must be at most {max}"))),
        n => Ok(i64::from(n)),
    }
}

pub fn encode_token<T: Serialize>(key: &T) -> String {
    // Serializing plain keys (numbers, strings, timestamps) cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// The key in a token; None for an empty token (the first page).
pub fn decode_token<T: DeserializeOwned>(token: &str) -> Result<Option<T>, FieldViolation> {
    if token.is_empty() {
        return Ok(None);
    }
    let malformed = || FieldViolation::new("page_token", "is not a token from a previous page of this list");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| malformed())?;
    let key: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    // A token is the client's to keep, so it can be forged: a time in it must be one
    // this service could have written, or the database would be the one to refuse it.
    if !times_are_plausible(&key) {
        return Err(malformed());
    }
    serde_json::from_value(key).map(Some).map_err(|_| malformed())
}

/// Whether every RFC 3339 time in a token's key is a business time.
fn times_are_plausible(key: &serde_json::Value) -> bool {
    match key {
        // The same parse a key's `DateTime<Utc>` field is deserialized with.
        serde_json::Value::String(s) => {
            s.parse::<chrono::DateTime<chrono::Utc>>().map_or(true, |t| crate::time::is_business_time(&t))
        }
        serde_json::Value::Array(items) => items.iter().all(times_are_plausible),
        serde_json::Value::Object(fields) => fields.values().all(times_are_plausible),
        _ => true,
    }
}

/// Splits one extra fetched row off: rows were fetched with `limit + 1` so the
/// presence of the extra row says whether another page exists.
pub fn next_page<R, K: Serialize>(rows: &mut Vec<R>, limit: i64, key: impl Fn(&R) -> K) -> String {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| encode_token(&key(row))).unwrap_or_default()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let token = encode_token(&(42_i64, "abc".to_string()));
        assert_eq!(decode_token::<(i64, String)>(&token).expect("decodes"), Some((42, "abc".to_string())));
        assert_eq!(decode_token::<(i64, String)>("").expect("empty"), None);
        assert_eq!(decode_token::<(i64, String)>("!!!").expect_err("garbage").field, "page_token");
        assert!(decode_token::<(i64, String)>(&encode_token(&"x")).is_err());
    }

    #[test]
    fn forged_tokens_with_absurd_times_are_refused_as_tokens() {
        type Key = (chrono::DateTime<chrono::Utc>, String);
        let now = chrono::Utc::now();
        let honest = encode_token(&(now, "l1".to_string()));
        assert_eq!(decode_token::<Key>(&honest).expect("honest"), Some((now, "l1".to_string())));
        let far_past = chrono::DateTime::<chrono::Utc>::MIN_UTC;
        let forged = encode_token(&(far_past, "l1".to_string()));
        assert_eq!(decode_token::<Key>(&forged).expect_err("year -262143").field, "page_token");
    }

    #[test]
    fn page_size_bounds() {
        assert_eq!(page_size(0, 50, 500), Ok(50));
        assert_eq!(page_size(500, 50, 500), Ok(500));
        assert!(page_size(501, 50, 500).is_err());
        assert!(page_size(-1, 50, 500).is_err());
    }

    #[test]
    fn next_page_trims_the_probe_row() {
        let mut rows = vec![1, 2, 3];
        let token = next_page(&mut rows, 2, |r| *r);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(decode_token::<i32>(&token).expect("token"), Some(2));
        let mut rows = vec![1, 2];
        assert_eq!(next_page(&mut rows, 2, |r| *r), "");
    }
}
