//! Which advisory locks a batch takes. Every event that touches an order, or a buyer's
//! clicks and orders, locks that key's bucket, so concurrent batches touching the
//! same order or buyer apply one after the other (no lost confirmation, no missed
//! late click). Keys hash into a bounded number of buckets: a batch of any size
//! takes at most that many locks.
pub const BUCKETS: u64 = 1024;

/// FNV-1a: stable across processes and versions, unlike std's hasher.
fn fnv1a(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// The sorted, distinct buckets of `keys` (sorted: every transaction locks in the
/// same order, so two batches never deadlock).
pub fn buckets<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<i32> {
    let mut buckets: Vec<i32> = keys.into_iter().map(|k| (fnv1a(k) % BUCKETS) as i32).collect();
    buckets.sort_unstable();
    buckets.dedup();
    buckets
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
    fn buckets_are_bounded_sorted_and_stable() {
        let keys: Vec<String> = (0..5000).map(|i| order_key(&i.to_string())).collect();
        let b = buckets(keys.iter().map(String::as_str));
        assert!(b.len() as u64 <= BUCKETS);
        assert!(b.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(buckets(["order:1"]), buckets(["order:1", "order:1"]));
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c, "FNV-1a test vector");
    }
}
