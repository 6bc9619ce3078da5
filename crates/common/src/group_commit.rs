//! Group commit per key: writes to one hot row, queued in-process and applied
//! together, one transaction for all that waited.
//!
//! Writers of one row (a shop's listing count) must serialise on its lock to keep an
//! invariant exact; one transaction each pays a lock hand-over, a few round trips and
//! a WAL flush in series. Here the first writer of a key starts a worker that takes
//! everything queued for the key and applies it in one call, so the next group forms
//! while the current one commits. The row lock still orders groups across replicas.
//!
//! The worker is a task of its own: a caller that goes away (a cancelled RPC) leaves
//! the others' group running, and its own write is applied or refused like the rest.
use std::{collections::HashMap, hash::Hash, sync::Arc};

use futures::future::BoxFuture;
use tokio::sync::oneshot;

/// Applies one group of requests for a key, answering each in order.
pub type ApplyGroup<K, R, O> = Arc<dyn Fn(K, Vec<R>) -> BoxFuture<'static, Vec<O>> + Send + Sync>;

pub struct GroupCommit<K, R, O> {
    /// A key is present while its worker runs; its queue waits for the next group.
    queues: std::sync::Mutex<HashMap<K, Vec<Waiting<R, O>>>>,
    apply: ApplyGroup<K, R, O>,
    max_group: usize,
}

struct Waiting<R, O> {
    request: R,
    reply: oneshot::Sender<O>,
}

/// The worker went away without an answer (it panicked, or answered fewer requests
/// than it was given): whether the write applied is unknown.
#[derive(Debug, thiserror::Error)]
#[error("the group this write joined ended without an answer")]
pub struct Unanswered;

impl<K, R, O> GroupCommit<K, R, O>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    R: Send + 'static,
    O: Send + 'static,
{
    /// `apply` gets at most `max_group` requests at a time and returns one answer
    /// per request, in the order given.
    pub fn new(max_group: usize, apply: ApplyGroup<K, R, O>) -> Arc<Self> {
        Arc::new(Self { queues: std::sync::Mutex::new(HashMap::new()), apply, max_group: max_group.max(1) })
    }

    /// Queues `request` behind the key's current group and waits for its answer.
    pub async fn submit(self: &Arc<Self>, key: K, request: R) -> Result<O, Unanswered> {
        let (reply, answer) = oneshot::channel();
        let start_worker = {
            let mut queues = self.queues();
            match queues.get_mut(&key) {
                Some(queue) => {
                    queue.push(Waiting { request, reply });
                    false
                }
                None => {
                    queues.insert(key.clone(), vec![Waiting { request, reply }]);
                    true
                }
            }
        };
        if start_worker {
            tokio::spawn(self.clone().work(key));
        }
        answer.await.map_err(|_| Unanswered)
    }

    /// Keys with a running worker.
    pub fn active_keys(&self) -> usize {
        self.queues().len()
    }

    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<K, Vec<Waiting<R, O>>>> {
        self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies the key's queue group by group until it is empty, then retires.
    async fn work(self: Arc<Self>, key: K) {
        let retire = Retire { owner: &self, key: &key };
        loop {
            let group: Vec<Waiting<R, O>> = {
                let mut queues = self.queues();
                let Some(queue) = queues.get_mut(&key) else { return };
                if queue.is_empty() {
                    queues.remove(&key);
                    std::mem::forget(retire);
                    return;
                }
                let take = queue.len().min(self.max_group);
                queue.drain(..take).collect()
            };
            let (requests, replies): (Vec<R>, Vec<oneshot::Sender<O>>) =
                group.into_iter().map(|w| (w.request, w.reply)).unzip();
            let answers = (self.apply)(key.clone(), requests).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                // The caller may have gone away; its write stands all the same.
                let _ = reply.send(answer);
            }
        }
    }
}

/// On a worker's unwinding: forget the key, dropping its queue so every waiter hears
/// `Unanswered` and the next write starts a fresh worker.
struct Retire<'a, K: Eq + Hash, R, O> {
    owner: &'a GroupCommit<K, R, O>,
    key: &'a K,
}

impl<K: Eq + Hash, R, O> Drop for Retire<'_, K, R, O> {
    fn drop(&mut self) {
        let mut queues = self.owner.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        queues.remove(self.key);
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use futures::FutureExt;

    use super::*;

    /// Answers each request with (its value, the size of its group); one group at a
    /// time per key is asserted by counting groups inside `apply`.
    fn doubling(inside: Arc<AtomicUsize>, most: Arc<AtomicUsize>) -> ApplyGroup<&'static str, u32, (u32, usize)> {
        Arc::new(move |_key, requests: Vec<u32>| {
            let (inside, most) = (inside.clone(), most.clone());
            async move {
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                let size = requests.len();
                requests.into_iter().map(|r| (r * 2, size)).collect()
            }
            .boxed()
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn waiting_writes_go_together_each_gets_its_own_answer_and_idle_keys_are_forgotten() {
        let (inside, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let groups = GroupCommit::new(8, doubling(inside, most.clone()));
        let tasks: Vec<_> = (0..40u32)
            .map(|i| {
                let groups = groups.clone();
                tokio::spawn(async move { (i, groups.submit("shop-1", i).await) })
            })
            .collect();
        let mut largest = 0;
        for task in tasks {
            let (i, answer) = task.await.expect("task");
            let (doubled, size) = answer.expect("answered");
            assert_eq!(doubled, i * 2, "each write gets its own answer");
            assert!(size <= 8, "groups stay within their bound");
            largest = largest.max(size);
        }
        assert!(largest > 1, "writes that waited went together");
        assert_eq!(most.load(Ordering::SeqCst), 1, "one group at a time per key");
        assert_eq!(groups.active_keys(), 0, "idle keys are forgotten");
    }

    #[tokio::test]
    async fn a_worker_that_fails_answers_its_waiters_and_the_key_starts_afresh() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let apply: ApplyGroup<&'static str, u32, u32> = Arc::new(move |_key, requests: Vec<u32>| {
            let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                assert!(!first, "the first group fails");
                requests
            }
            .boxed()
        });
        let groups = GroupCommit::new(8, apply);
        assert!(groups.submit("shop-1", 1).await.is_err(), "a failed group answers Unanswered");
        assert_eq!(groups.submit("shop-1", 2).await.ok(), Some(2), "the next write gets a new worker");
        assert_eq!(groups.active_keys(), 0);
    }
}
