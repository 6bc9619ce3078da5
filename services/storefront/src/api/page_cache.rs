//! Public shop pages are read far more than they change. A page is cached with the
//! shop's `page_version`; every request reads the shop row anyway (status, name), and
//! a version match proves the cached listings current, on any replica.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use uuid::Uuid;
use xiaopu_api::storefront::PublicListing;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub shop_id: Uuid,
    pub page_token: String,
    pub page_size: i64,
}

struct CachedPage {
    version: i64,
    listings: Arc<[PublicListing]>,
    next_page_token: String,
}

pub struct PageCache {
    entries: Mutex<HashMap<PageKey, CachedPage>>,
    capacity: usize,
}

impl PageCache {
    pub fn new(capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity }
    }

    /// The page if cached at exactly `version`.
    pub fn get(&self, key: &PageKey, version: i64) -> Option<(Arc<[PublicListing]>, String)> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(key)
            .filter(|page| page.version == version)
            .map(|page| (page.listings.clone(), page.next_page_token.clone()))
    }

    pub fn put(&self, key: PageKey, version: i64, listings: Arc<[PublicListing]>, next_page_token: String) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Bounded: when full, start over (simple, and hot pages come straight back).
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, CachedPage { version, listings, next_page_token });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(token: &str) -> PageKey {
        PageKey { shop_id: Uuid::nil(), page_token: token.into(), page_size: 50 }
    }

    #[test]
    fn only_the_same_version_is_served() {
        let cache = PageCache::new(2);
        cache.put(key(""), 3, Arc::from(vec![PublicListing::default()]), "next".into());
        assert_eq!(cache.get(&key(""), 3).map(|(l, t)| (l.len(), t)), Some((1, "next".to_string())));
        assert!(cache.get(&key(""), 4).is_none(), "a newer version misses");
        cache.put(key("a"), 1, Arc::from(vec![]), String::new());
        cache.put(key("b"), 1, Arc::from(vec![]), String::new());
        assert!(cache.get(&key(""), 3).is_none(), "bounded");
    }
}
