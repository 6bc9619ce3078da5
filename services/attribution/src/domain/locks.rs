//! Which locks a batch takes. Every event that touches an order, or a buyer's clicks
//! and orders, locks that key, so concurrent batches touching the same order or
//! buyer apply one after the other (no lost confirmation, no missed late click), and
//! batches that share neither never wait for each other.
//!
//! A key is locked as a row of `ingest_lock` named by the key's 64-bit hash: row
//! locks live in the tuples, not in PostgreSQL's shared lock table, so a batch of
//! thousands of orders takes thousands of locks without exhausting it. Two keys
//! sharing a hash only make their batches wait; the chance is 2^-64 per pair.

/// FNV-1a: stable across processes and versions, unlike std's hasher.
fn fnv1a(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// The sorted, distinct lock ids of `keys` (sorted: every transaction locks in the
/// same order, so two batches never deadlock).
pub fn keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<i64> {
    let mut ids: Vec<i64> = keys.into_iter().map(|k| fnv1a(k).cast_signed()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Lock key of an order.
pub fn order_key(order_id: &str) -> String {
    format!("order:{order_id}")
}

/// Lock key of a buyer (their clicks and their orders).
pub fn buyer_key(buyer_id: &str) -> String {
    format!("buyer:{buyer_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_distinct_and_stable() {
        let names: Vec<String> = (0..5000).map(|i| order_key(&i.to_string())).collect();
        let ids = keys(names.iter().map(String::as_str));
        assert_eq!(ids.len(), 5000, "5000 orders, 5000 locks: no two share one");
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(keys(["order:1"]), keys(["order:1", "order:1"]));
        assert_ne!(keys([order_key("1").as_str()]), keys([buyer_key("1").as_str()]));
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c, "FNV-1a test vector");
    }
}
