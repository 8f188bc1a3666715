//! Which stored envelopes a connection has pushed, and when to read more from the mailbox.
//!
//! Envelopes are pushed oldest first (by `Seq`), at most `window` unacknowledged at a time. While
//! the connection is caught up, new envelopes come live from the hub; once it falls behind (the
//! window filled, the inbox overflowed, or the backlog at authentication is still being read) it
//! reads the mailbox after its cursor instead, until a read comes back short.

use std::collections::HashSet;
use std::sync::Arc;

use crate::identity::{EnvelopeId, Identity};
use crate::storage::{MailboxState, Seq, StoredEnvelope};

pub(crate) struct Delivery {
    window: usize,
    /// Every envelope up to here has been pushed (or was gone).
    cursor: Seq,
    /// The newest envelope queued at authentication.
    backlog_end: Seq,
    in_flight: HashSet<(Identity, EnvelopeId)>,
    refilling: bool,
    missed_during_refill: bool,
    caught_up: bool,
    drained_due: bool,
    drained_sent: bool,
}

impl Delivery {
    pub(crate) fn new(state: &MailboxState, window: u32) -> Self {
        let empty = state.queued == 0;
        Delivery {
            window: window as usize,
            cursor: if empty { state.last } else { Seq(0) },
            backlog_end: state.last,
            in_flight: HashSet::new(),
            refilling: false,
            missed_during_refill: false,
            caught_up: empty,
            drained_due: empty,
            drained_sent: false,
        }
    }

    /// Whether `Drained` is to be sent now (true once per connection).
    pub(crate) fn take_drained(&mut self) -> bool {
        if self.drained_due && !self.drained_sent {
            self.drained_sent = true;
            return true;
        }
        false
    }

    fn room(&self) -> usize {
        self.window.saturating_sub(self.in_flight.len())
    }

    /// A mailbox read to start now, if one is needed and the window has room: (after, limit).
    pub(crate) fn start_refill(&mut self) -> Option<(Seq, u32)> {
        if self.refilling || self.caught_up || self.room() == 0 {
            return None;
        }
        self.refilling = true;
        self.missed_during_refill = false;
        Some((self.cursor, u32::try_from(self.room()).unwrap_or(u32::MAX)))
    }

    /// The result of a read of at most `requested`: the envelopes to push now.
    pub(crate) fn refilled(
        &mut self,
        requested: u32,
        envelopes: Vec<Arc<StoredEnvelope>>,
    ) -> Vec<Arc<StoredEnvelope>> {
        self.refilling = false;
        let short = envelopes.len() < requested as usize;
        let mut push = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            if envelope.seq > self.cursor {
                self.cursor = envelope.seq;
                self.in_flight.insert((envelope.sender, envelope.id));
                push.push(envelope);
            }
        }
        self.caught_up = short && !self.missed_during_refill;
        if short || self.cursor >= self.backlog_end {
            self.drained_due = true;
        }
        push
    }

    /// A live push from the hub: whether to push it now (otherwise a later read will).
    pub(crate) fn live(&mut self, envelope: &StoredEnvelope) -> bool {
        if envelope.seq <= self.cursor {
            return false;
        }
        if self.refilling {
            self.missed_during_refill = true;
            return false;
        }
        if !self.caught_up {
            return false;
        }
        if self.room() == 0 {
            self.caught_up = false;
            return false;
        }
        self.cursor = envelope.seq;
        self.in_flight.insert((envelope.sender, envelope.id));
        true
    }

    /// Live pushes were dropped before reaching the connection.
    pub(crate) fn missed(&mut self) {
        if self.refilling {
            self.missed_during_refill = true;
        } else {
            self.caught_up = false;
        }
    }

    /// The client acknowledged these: their window slots are free.
    pub(crate) fn acked(&mut self, keys: &[(Identity, EnvelopeId)]) {
        for key in keys {
            self.in_flight.remove(key);
        }
        if self.in_flight.is_empty() && self.in_flight.capacity() > 64 {
            self.in_flight = HashSet::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(seq: i64) -> Arc<StoredEnvelope> {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&seq.to_be_bytes());
        Arc::new(StoredEnvelope {
            seq: Seq(seq),
            recipient: Identity::from_slice(&[1; 64]).unwrap(),
            sender: Identity::from_slice(&[2; 64]).unwrap(),
            id: EnvelopeId::from_slice(&id).unwrap(),
            content: bytes::Bytes::from_static(b"c"),
            received_at_ms: 0,
        })
    }

    fn key(e: &StoredEnvelope) -> (Identity, EnvelopeId) {
        (e.sender, e.id)
    }

    fn state(queued: u32, last: i64) -> MailboxState {
        MailboxState {
            queued,
            last: Seq(last),
            one_time_prekeys: 0,
        }
    }

    #[test]
    fn an_empty_mailbox_is_drained_at_once_and_takes_live_pushes() {
        let mut d = Delivery::new(&state(0, 0), 2);
        assert!(d.take_drained());
        assert!(!d.take_drained(), "drained once");
        assert_eq!(d.start_refill(), None);
        assert!(d.live(&envelope(5)));
        assert!(d.live(&envelope(6)));
        assert!(!d.live(&envelope(7)), "window full");
        d.acked(&[key(&envelope(5))]);
        assert_eq!(
            d.start_refill(),
            Some((Seq(6), 1)),
            "reads what the full window missed"
        );
        assert_eq!(d.refilled(1, vec![envelope(7)]).len(), 1);
        assert!(!d.live(&envelope(8)), "not caught up after a full read");
    }

    #[test]
    fn the_backlog_is_read_in_windows_and_drained_after_the_last_of_it() {
        let mut d = Delivery::new(&state(3, 30), 2);
        assert!(!d.take_drained());
        assert!(
            !d.live(&envelope(40)),
            "live pushes wait behind the backlog"
        );
        assert_eq!(d.start_refill(), Some((Seq(0), 2)));
        assert_eq!(d.start_refill(), None, "one read at a time");
        let pushed = d.refilled(2, vec![envelope(10), envelope(20)]);
        assert_eq!(pushed.len(), 2);
        assert!(!d.take_drained());
        assert_eq!(d.start_refill(), None, "window full");
        d.acked(&[key(&envelope(10)), key(&envelope(20))]);
        assert_eq!(d.start_refill(), Some((Seq(20), 2)));
        let pushed = d.refilled(2, vec![envelope(30), envelope(40)]);
        assert_eq!(pushed.len(), 2);
        assert!(d.take_drained(), "seq 30 was the last of the backlog");
    }

    #[test]
    fn a_push_missed_during_a_read_causes_another_read() {
        let mut d = Delivery::new(&state(1, 1), 10);
        assert_eq!(d.start_refill(), Some((Seq(0), 10)));
        assert!(!d.live(&envelope(2)));
        assert_eq!(d.refilled(10, vec![envelope(1)]).len(), 1);
        assert!(d.take_drained());
        assert_eq!(
            d.start_refill(),
            Some((Seq(1), 9)),
            "envelope 2 may not have been read"
        );
        assert_eq!(d.refilled(9, vec![envelope(2)]).len(), 1);
        assert!(!d.live(&envelope(2)), "already pushed");
        assert!(d.live(&envelope(3)), "caught up again");
    }

    #[test]
    fn an_inbox_overflow_makes_the_connection_read_the_mailbox() {
        let mut d = Delivery::new(&state(0, 0), 10);
        d.missed();
        assert_eq!(d.start_refill(), Some((Seq(0), 10)));
    }
}
