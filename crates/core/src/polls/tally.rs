//! The tally of a poll: a pure function of its definition and the set of events received.

use std::collections::BTreeMap;

/// Who did something: this account or a contact (by an id stable within one member's store).
pub type Voter = i64;

/// The settings a tally depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// The number of options (2 to 12).
    pub options: usize,
    /// Several options may be chosen.
    pub multiple: bool,
    /// A voter's first vote is final.
    pub no_revote: bool,
    /// Closed at this time (Unix ms), by the creator's settings.
    pub closes_at_ms: Option<i64>,
}

/// The order of events: the sender's clock, then the message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    /// The sender's clock (Unix ms).
    pub sent_at_ms: i64,
    /// The event's message id.
    pub id: [u8; 16],
}

/// A vote (an empty choice is a retraction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    /// Who voted.
    pub voter: Voter,
    /// When, and which message.
    pub key: EventKey,
    /// The option indexes chosen, as sent.
    pub choice: Vec<u32>,
}

/// The counted result.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    /// Votes per option.
    pub counts: Vec<u32>,
    /// Each voter's counted choice (empty choices are left out).
    pub choices: BTreeMap<Voter, Vec<u32>>,
    /// When the poll closed, if it has.
    pub closed_at_ms: Option<i64>,
}

impl Tally {
    /// Voters whose choice counts.
    pub fn voters(&self) -> u32 {
        u32::try_from(self.choices.len()).unwrap_or(u32::MAX)
    }
}

/// When the poll closed: the earliest of its own close time and the creator's close events.
pub fn closed_at(rules: &Rules, closes: &[EventKey]) -> Option<i64> {
    closes
        .iter()
        .map(|k| k.sent_at_ms)
        .chain(rules.closes_at_ms)
        .min()
}

/// `choice` as it counts: in range, no duplicates, sorted, at most one unless `multiple`.
pub fn clean(rules: &Rules, choice: &[u32]) -> Vec<u32> {
    let mut options: Vec<u32> = choice
        .iter()
        .copied()
        .filter(|&o| usize::try_from(o).is_ok_and(|o| o < rules.options))
        .collect();
    options.sort_unstable();
    options.dedup();
    if !rules.multiple {
        options.truncate(1);
    }
    options
}

/// Counts `votes` under `rules`, the poll closed by `closes` (the creator's close events).
pub fn count(rules: &Rules, votes: &[Vote], closes: &[EventKey]) -> Tally {
    let closed_at_ms = closed_at(rules, closes);
    let mut deciding: BTreeMap<Voter, &Vote> = BTreeMap::new();
    for vote in votes {
        if closed_at_ms.is_some_and(|c| vote.key.sent_at_ms > c) {
            continue;
        }
        // Two events with the same key (one message id sent twice with other contents: never
        // by a well-behaved client) are ordered by their options, so the result stays the same
        // in any order.
        let rank = |v: &Vote| (v.key, v.choice.clone());
        match deciding.get(&vote.voter) {
            Some(held) if rules.no_revote && rank(held) <= rank(vote) => {}
            Some(held) if !rules.no_revote && rank(held) >= rank(vote) => {}
            _ => {
                deciding.insert(vote.voter, vote);
            }
        }
    }
    let mut counts = vec![0u32; rules.options];
    let mut choices = BTreeMap::new();
    for (voter, vote) in deciding {
        let choice = clean(rules, &vote.choice);
        if choice.is_empty() {
            continue;
        }
        for &o in &choice {
            if let Some(c) = usize::try_from(o).ok().and_then(|o| counts.get_mut(o)) {
                *c = c.saturating_add(1);
            }
        }
        choices.insert(voter, choice);
    }
    Tally {
        counts,
        choices,
        closed_at_ms,
    }
}

#[cfg(test)]
mod tests;
