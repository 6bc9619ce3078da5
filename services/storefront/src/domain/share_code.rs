//! Share codes: short, unguessable, unique (uniqueness is the database's job).
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
}
