//! Who is connected: the authenticated connections of each identity, each with a small bounded
//! inbox of pushes (stored envelopes, ephemeral envelopes, "prekeys low").

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::identity::Identity;
use crate::storage::{StoredEnvelope, StoredListener};

/// Pushes an inbox holds before it only records that it overflowed (the connection then reads
/// the mailbox from storage instead).
const INBOX_CAPACITY: usize = 64;

/// Something to push to a connection.
#[derive(Debug, Clone)]
pub(crate) enum Push {
    /// A durably stored envelope.
    Stored(Arc<StoredEnvelope>),
    /// An ephemeral envelope (never stored; dropped when the inbox is full).
    Ephemeral(Arc<StoredEnvelope>),
    /// The identity holds this few one-time prekeys.
    PrekeysLow(u32),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Push>,
    /// Stored envelopes were dropped for lack of room.
    overflowed: bool,
}

/// One connection's inbox.
#[derive(Default)]
pub(crate) struct Inbox {
    id: u64,
    queue: Mutex<Queue>,
    notify: Notify,
}

impl Inbox {
    /// Waits until something may have been pushed.
    pub(crate) async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Takes everything pushed so far, and whether stored envelopes were dropped.
    pub(crate) fn take(&self) -> (VecDeque<Push>, bool) {
        let mut queue = lock(&self.queue);
        let overflowed = std::mem::take(&mut queue.overflowed);
        (std::mem::take(&mut queue.items), overflowed)
    }

    fn push(&self, push: Push) {
        {
            let mut queue = lock(&self.queue);
            if queue.items.len() >= INBOX_CAPACITY {
                match push {
                    Push::Stored(_) => queue.overflowed = true,
                    Push::Ephemeral(_) => return,
                    Push::PrekeysLow(_) => queue.items.push_back(push),
                }
            } else {
                queue.items.push_back(push);
            }
        }
        self.notify.notify_one();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The identity already has the maximum number of connections.
#[derive(Debug)]
pub(crate) struct TooManyConnections;

/// The registry of authenticated connections.
#[derive(Default)]
pub(crate) struct Hub {
    connections: Mutex<HashMap<Identity, Vec<Arc<Inbox>>>>,
    next_id: AtomicU64,
}

impl Hub {
    /// Adds a connection of `identity`, unless it already has `max` of them.
    pub(crate) fn register(
        &self,
        identity: Identity,
        max: u32,
    ) -> Result<Arc<Inbox>, TooManyConnections> {
        let mut connections = lock(&self.connections);
        let list = connections.entry(identity).or_default();
        if list.len() >= max as usize {
            if list.is_empty() {
                connections.remove(&identity);
            }
            return Err(TooManyConnections);
        }
        let inbox = Arc::new(Inbox {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            ..Inbox::default()
        });
        list.push(inbox.clone());
        Ok(inbox)
    }

    /// Removes a connection.
    pub(crate) fn unregister(&self, identity: &Identity, inbox: &Inbox) {
        let mut connections = lock(&self.connections);
        if let Some(list) = connections.get_mut(identity) {
            list.retain(|i| i.id != inbox.id);
            if list.is_empty() {
                connections.remove(identity);
            }
        }
    }

    /// Pushes to every connection of `identity`; returns how many there were.
    pub(crate) fn push(&self, identity: &Identity, push: &Push) -> usize {
        let connections = lock(&self.connections);
        let Some(list) = connections.get(identity) else {
            return 0;
        };
        for inbox in list {
            inbox.push(push.clone());
        }
        list.len()
    }
}

impl StoredListener for Hub {
    fn stored(&self, envelope: &Arc<StoredEnvelope>) {
        self.push(&envelope.recipient, &Push::Stored(envelope.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_gets_at_most_max_connections_and_freed_slots_are_reused() {
        let hub = Hub::default();
        let alice = Identity::from_slice(&[1; 64]).unwrap();
        let a = hub.register(alice, 2).unwrap();
        let _b = hub.register(alice, 2).unwrap();
        assert!(hub.register(alice, 2).is_err());
        hub.unregister(&alice, &a);
        assert!(hub.register(alice, 2).is_ok());
    }

    #[test]
    fn a_full_inbox_drops_ephemerals_and_remembers_dropped_envelopes() {
        let hub = Hub::default();
        let alice = Identity::from_slice(&[1; 64]).unwrap();
        let inbox = hub.register(alice, 1).unwrap();
        for _ in 0..INBOX_CAPACITY + 3 {
            assert_eq!(hub.push(&alice, &Push::PrekeysLow(1)), 1);
        }
        let (items, overflowed) = inbox.take();
        assert_eq!(items.len(), INBOX_CAPACITY + 3);
        assert!(!overflowed);
        let envelope = Arc::new(StoredEnvelope {
            seq: crate::storage::Seq(1),
            recipient: alice,
            sender: alice,
            id: crate::identity::EnvelopeId::from_slice(&[0; 16]).unwrap(),
            content: bytes::Bytes::from_static(b"x"),
            received_at_ms: 0,
        });
        for _ in 0..INBOX_CAPACITY + 1 {
            hub.push(&alice, &Push::Stored(envelope.clone()));
            hub.push(&alice, &Push::Ephemeral(envelope.clone()));
        }
        let (items, overflowed) = inbox.take();
        assert_eq!(items.len(), INBOX_CAPACITY);
        assert!(overflowed);
        assert!(!inbox.take().1, "the overflow is reported once");
    }
}
