//! Which outbox rows one connection may send next: rows go out oldest first, up to
//! [`MAX_IN_FLIGHT`] awaiting the relay's answer, at most [`MAX_IN_FLIGHT_PER_RECIPIENT`] of them
//! to one contact, and a contact whose session is being set up or whose last envelope the relay
//! refused for now waits without holding up the others. The window lives as long as its
//! connection: on the next one every row not yet acknowledged is loaded and sent again, in order.

use std::collections::{BTreeMap, VecDeque};

use tokio::time::Instant;

use crate::ids::ContactId;
use crate::sync::backoff;

/// Envelopes sent on one connection and not yet answered, at most. Enough to fill the relay's
/// group commits (it commits everything queued at once, and reads up to 256 requests of one
/// connection concurrently by default), so a burst to several contacts costs about one fsync
/// per batch instead of one round trip and one fsync per envelope; small enough that a
/// reconnect resends little, and that a request of the account's API is never stuck behind
/// thousands of sends.
pub(crate) const MAX_IN_FLIGHT: usize = 64;

/// Envelopes to one contact in flight at once, at most. One: the relay does not promise to
/// store several `Send`s pipelined on one connection in the order it read them (it hands each to
/// its database writer from a future polled by a `FuturesUnordered`; when the connection task
/// runs out of tokio's cooperative budget, the futures parked after taking their queue slot are
/// woken, and so submitted, in reverse order; 3,000 sends written at once came back with about
/// 200 reversed pairs), and a refusal for one envelope (`QUEUE_FULL`, a failed commit) does not
/// stop the later ones. Either would reorder a conversation at the receiver, which shows
/// messages in the order its relay delivers them. Once the relay stores a connection's sends in
/// the order it read them and refuses the rest of a recipient's pipeline after a refusal, this
/// can rise to [`MAX_IN_FLIGHT`].
pub(crate) const MAX_IN_FLIGHT_PER_RECIPIENT: usize = 1;

/// Why a contact's rows wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Its bundle is being fetched to set up a session.
    Session,
    /// The relay refused one of its envelopes, or its bundle, for now: retry at this time.
    Until(Instant),
}

/// The rows of the outbox one connection knows about (see the module docs).
#[derive(Debug)]
pub(crate) struct Window {
    max: usize,
    per_recipient: usize,
    /// Rows not sent on this connection yet, per contact, oldest first.
    queued: BTreeMap<ContactId, VecDeque<i64>>,
    /// The newest row loaded from the database (rows ids only grow).
    loaded: i64,
    /// Rows taken to be sent and not answered yet, with their contact.
    in_flight: BTreeMap<i64, ContactId>,
    /// How many of `in_flight` each contact has.
    per_contact: BTreeMap<ContactId, usize>,
    held: BTreeMap<ContactId, Hold>,
    /// Refusals in a row, per contact, for the backoff.
    failures: BTreeMap<ContactId, u32>,
}

impl Default for Window {
    fn default() -> Self {
        Window::new(MAX_IN_FLIGHT, MAX_IN_FLIGHT_PER_RECIPIENT)
    }
}

impl Window {
    /// A window of `max` rows in flight, `per_recipient` of them to one contact.
    pub(crate) fn new(max: usize, per_recipient: usize) -> Self {
        Window {
            max: max.max(1),
            per_recipient: per_recipient.max(1),
            queued: BTreeMap::new(),
            loaded: 0,
            in_flight: BTreeMap::new(),
            per_contact: BTreeMap::new(),
            held: BTreeMap::new(),
            failures: BTreeMap::new(),
        }
    }

    /// The newest row loaded so far: load the rows after it.
    pub(crate) fn loaded(&self) -> i64 {
        self.loaded
    }

    /// Adds rows read from the database, oldest first; rows already known are ignored.
    pub(crate) fn add(&mut self, rows: impl IntoIterator<Item = (i64, ContactId)>) {
        for (row, contact) in rows {
            if row > self.loaded {
                self.loaded = row;
                self.queued.entry(contact).or_default().push_back(row);
            }
        }
    }

    /// Takes the rows to send now, oldest first, marking them in flight: as many as the window
    /// has room for, skipping contacts that wait or have their share in flight. Holds that
    /// expired by `now` are lifted first.
    pub(crate) fn take(&mut self, now: Instant) -> Vec<(i64, ContactId)> {
        self.held
            .retain(|_, hold| !matches!(hold, Hold::Until(at) if *at <= now));
        let mut taken = Vec::new();
        while self.in_flight.len() < self.max {
            let next = self
                .queued
                .iter()
                .filter(|(contact, _)| {
                    !self.held.contains_key(contact)
                        && self.per_contact.get(contact).copied().unwrap_or(0) < self.per_recipient
                })
                .filter_map(|(contact, rows)| rows.front().map(|row| (*row, *contact)))
                .min();
            let Some((row, contact)) = next else { break };
            if let Some(rows) = self.queued.get_mut(&contact) {
                rows.pop_front();
                if rows.is_empty() {
                    self.queued.remove(&contact);
                }
            }
            self.in_flight.insert(row, contact);
            *self.per_contact.entry(contact).or_default() += 1;
            taken.push((row, contact));
        }
        taken
    }

    fn leave(&mut self, row: i64) -> Option<ContactId> {
        let contact = self.in_flight.remove(&row)?;
        if let Some(n) = self.per_contact.get_mut(&contact) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_contact.remove(&contact);
            }
        }
        Some(contact)
    }

    /// Returns a taken row to its contact's queue, in its place.
    fn requeue(&mut self, row: i64, contact: ContactId) {
        let rows = self.queued.entry(contact).or_default();
        let at = rows.partition_point(|r| *r < row);
        if rows.get(at) != Some(&row) {
            rows.insert(at, row);
        }
    }

    /// `row` is settled for good (the relay stored it, or it failed): it leaves the window, and
    /// its contact's refusals are forgotten. Returns its contact.
    pub(crate) fn done(&mut self, row: i64) -> Option<ContactId> {
        let contact = self.leave(row)?;
        self.failures.remove(&contact);
        Some(contact)
    }

    /// `row`'s contact has no session yet: the row goes back, and the contact's rows wait until
    /// [`Window::release`] or [`Window::retry_later`].
    pub(crate) fn needs_session(&mut self, row: i64) {
        if let Some(contact) = self.leave(row) {
            self.requeue(row, contact);
            self.held.insert(contact, Hold::Session);
        }
    }

    /// `contact`'s session question is settled (set up, or its unencrypted rows failed): its
    /// rows may go.
    pub(crate) fn release(&mut self, contact: ContactId) {
        if self.held.get(&contact) == Some(&Hold::Session) {
            self.held.remove(&contact);
        }
    }

    /// The relay refused `row` for now: it goes back, and its contact's rows wait a growing,
    /// jittered delay. Returns the contact.
    pub(crate) fn refused(&mut self, row: i64, now: Instant) -> Option<ContactId> {
        let contact = self.leave(row)?;
        self.requeue(row, contact);
        self.retry_later(contact, now);
        Some(contact)
    }

    /// `contact`'s rows wait a growing, jittered delay (a refusal, or a bundle not fetched).
    pub(crate) fn retry_later(&mut self, contact: ContactId, now: Instant) {
        let failures = self.failures.entry(contact).or_default();
        *failures = failures.saturating_add(1);
        self.held
            .insert(contact, Hold::Until(now + backoff(*failures)));
    }

    /// When the first held contact may go again, if any waits for a time.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        self.held
            .values()
            .filter_map(|hold| match hold {
                Hold::Until(at) => Some(*at),
                Hold::Session => None,
            })
            .min()
    }

    /// Rows in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Nothing queued and nothing in flight.
    pub(crate) fn is_empty(&self) -> bool {
        self.queued.is_empty() && self.in_flight.is_empty()
    }
}

#[cfg(test)]
mod tests;
