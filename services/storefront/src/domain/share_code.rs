//! Share codes: drawn ones (short, unguessable) and promo codes (口令) a promoter
//! chooses (memorable, so guessable: lookups by visitors are limited). Uniqueness
//! across both is the database's job.
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

/// No 0/O, 1/l/I: codes get read aloud and retyped from screenshots.
const ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
/// 57^8 ≈ 1.1 × 10^14 codes: guessing a live one is hopeless at any request rate.
pub const LENGTH: usize = 8;

/// A fresh code from the operating system's CSPRNG-seeded generator.
pub fn generate() -> String {
    let mut rng = rand::rng();
    (0..LENGTH).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Whether a string could be a code (cheap check before any lookup).
pub fn is_well_formed(code: &str) -> bool {
    code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))
}

/// A promo code's length bounds.
pub const PROMO_MIN: usize = 4;
pub const PROMO_MAX: usize = 16;

/// A promo code as typed, as it is kept (upper-case), or the rule it breaks.
pub fn promo_code(typed: &str) -> Result<String, &'static str> {
    let code = typed.trim();
    if !(PROMO_MIN..=PROMO_MAX).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("must be 4 to 16 letters and digits, e.g. XIAOMEI88");
    }
    Ok(code.to_ascii_uppercase())
}

/// The codes a lookup of `typed` tries, in order: as typed if it could be a drawn
/// code, then its promo form (upper-case) if that differs. Empty when it can be
/// neither: nothing to look up.
pub fn lookup_forms(typed: &str) -> Vec<String> {
    let mut forms = Vec::with_capacity(2);
    if is_well_formed(typed) {
        forms.push(typed.to_owned());
    }
    if let Ok(promo) = promo_code(typed)
        && !forms.contains(&promo)
    {
        forms.push(promo);
    }
    forms
}

/// How many codes a visitor may miss in a window before every lookup is refused
/// until the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessLimit {
    pub misses: i32,
    pub window: TimeDelta,
}

impl GuessLimit {
    /// Whether a visitor with `stored` (window start, misses) is refused at `now`.
    pub fn refuses(&self, stored: Option<(DateTime<Utc>, i32)>, now: DateTime<Utc>) -> bool {
        stored.is_some_and(|(start, misses)| now - start < self.window && misses >= self.misses)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_short_well_formed_and_distinct() {
        let codes: HashSet<String> = (0..10_000).map(|_| generate()).collect();
        assert_eq!(codes.len(), 10_000);
        assert!(codes.iter().all(|c| is_well_formed(c)));
        assert!(!is_well_formed("abc"));
        assert!(!is_well_formed("0000000O"));
    }

    #[test]
    fn promo_codes_are_kept_upper_case_and_looked_up_either_way() {
        assert_eq!(promo_code(" xiaoMei88 "), Ok("XIAOMEI88".to_owned()));
        assert!(promo_code("abc").is_err());
        assert!(promo_code("小美88").is_err());
        assert!(promo_code("A234567890123456X").is_err());
        assert_eq!(lookup_forms("xiaomei88"), ["XIAOMEI88"]);
        assert_eq!(lookup_forms("abcd2345"), ["abcd2345", "ABCD2345"], "drawn as typed first");
        assert_eq!(lookup_forms("ABCD2345"), ["ABCD2345"]);
        assert!(lookup_forms("no!").is_empty());
    }

    #[test]
    fn a_visitor_who_missed_too_often_waits_out_the_window() {
        let limit = GuessLimit { misses: 10, window: TimeDelta::minutes(10) };
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        assert!(!limit.refuses(None, start));
        assert!(!limit.refuses(Some((start, 9)), start + TimeDelta::minutes(1)));
        assert!(limit.refuses(Some((start, 10)), start + TimeDelta::minutes(9)));
        assert!(!limit.refuses(Some((start, 10)), start + TimeDelta::minutes(10)), "a new window");
    }
}
