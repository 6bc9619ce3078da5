//! In-process queues per key, in front of a database row lock on the same key.
//!
//! Many concurrent writers of one row each wait in PostgreSQL for the holder, and
//! every commit wakes them all to contend again: on a hot row most of the CPU goes to
//! that. Queueing them here first lets one writer per key and process reach the
//! database; the row lock still orders writers across replicas.
use std::{collections::HashMap, hash::Hash, sync::Arc};

use tokio::sync::{Mutex, OwnedMutexGuard};

pub struct KeyedLock<K> {
    gates: std::sync::Mutex<HashMap<K, Arc<Mutex<()>>>>,
}

/// Held while the key's writer works; releasing it lets the next writer in.
pub struct KeyedGuard<K: Eq + Hash> {
    _guard: OwnedMutexGuard<()>,
    key: Option<K>,
    owner: Arc<KeyedLock<K>>,
}

impl<K: Eq + Hash + Clone> KeyedLock<K> {
    pub fn new() -> Arc<Self> {
        Arc::new(Self { gates: std::sync::Mutex::new(HashMap::new()) })
    }

    /// Waits until no other caller in this process holds `key`.
    pub async fn lock(self: &Arc<Self>, key: K) -> KeyedGuard<K> {
        let gate = {
            let mut gates = self.gates.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            gates.entry(key.clone()).or_insert_with(|| Arc::new(Mutex::new(()))).clone()
        };
        KeyedGuard { _guard: gate.lock_owned().await, key: Some(key), owner: self.clone() }
    }

    /// Keys with a holder or a waiter (the map forgets idle keys).
    pub fn len(&self) -> usize {
        self.gates.lock().map_or(0, |g| g.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Eq + Hash> Drop for KeyedGuard<K> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut gates = self.owner.gates.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Two references: the map's and this guard's mutex (which is still locked
        // here, so no waiter holds a clone without having cloned it from the map).
        if gates.get(&key).is_some_and(|gate| Arc::strong_count(gate) <= 2) {
            gates.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn one_holder_per_key_others_in_parallel_and_idle_keys_forgotten() {
        let locks = KeyedLock::new();
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (locks, inside, most) = (locks.clone(), inside.clone(), most.clone());
                tokio::spawn(async move {
                    let _held = locks.lock("shop-1").await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        // Another key is not held up by shop-1's queue.
        let other = tokio::time::timeout(Duration::from_millis(500), locks.lock("shop-2")).await;
        assert!(other.is_ok(), "a different key waits for nobody");
        drop(other);
        for task in tasks {
            task.await.expect("task");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two holders of one key");
        assert!(locks.is_empty(), "idle keys are forgotten");
    }
}
