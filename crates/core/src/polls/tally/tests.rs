use proptest::prelude::*;

use super::*;

fn rules(multiple: bool, no_revote: bool) -> Rules {
    Rules {
        options: 4,
        multiple,
        no_revote,
        closes_at_ms: None,
    }
}

fn key(at: i64, id: u8) -> EventKey {
    EventKey {
        sent_at_ms: at,
        id: [id; 16],
    }
}

fn vote(voter: Voter, at: i64, id: u8, choice: &[u32]) -> Vote {
    Vote {
        voter,
        key: key(at, id),
        choice: choice.to_vec(),
    }
}

#[test]
fn the_latest_vote_of_each_voter_counts_and_a_retraction_removes_it() {
    let votes = [
        vote(1, 10, 1, &[0]),
        vote(1, 20, 2, &[2]),
        vote(2, 15, 3, &[2]),
        vote(3, 11, 4, &[1]),
        vote(3, 12, 5, &[]),
    ];
    let t = count(&rules(false, false), &votes, &[]);
    assert_eq!(t.counts, vec![0, 0, 2, 0]);
    assert_eq!(t.voters(), 2);
    assert_eq!(t.choices.get(&1), Some(&vec![2]));
}

#[test]
fn equal_clocks_are_ordered_by_message_id() {
    let votes = [vote(1, 10, 9, &[3]), vote(1, 10, 2, &[0])];
    assert_eq!(
        count(&rules(false, false), &votes, &[]).counts,
        vec![0, 0, 0, 1]
    );
}

#[test]
fn without_revoting_the_first_vote_is_final() {
    let votes = [
        vote(1, 20, 2, &[2]),
        vote(1, 10, 1, &[0]),
        vote(1, 30, 3, &[]),
    ];
    assert_eq!(
        count(&rules(false, true), &votes, &[]).counts,
        vec![1, 0, 0, 0]
    );
}

#[test]
fn votes_sent_after_the_close_do_not_count_whenever_they_arrive() {
    let votes = [
        vote(1, 10, 1, &[0]),
        vote(1, 30, 2, &[1]),
        vote(2, 40, 3, &[1]),
    ];
    let t = count(&rules(false, false), &votes, &[key(25, 7), key(50, 8)]);
    assert_eq!(t.counts, vec![1, 0, 0, 0]);
    assert_eq!(t.closed_at_ms, Some(25));
    let mut timed = rules(false, false);
    timed.closes_at_ms = Some(5);
    assert_eq!(count(&timed, &votes, &[]).counts, vec![0, 0, 0, 0]);
}

#[test]
fn choices_are_cleaned_before_they_count() {
    let votes = [vote(1, 10, 1, &[3, 1, 3, 99])];
    assert_eq!(
        count(&rules(true, false), &votes, &[]).counts,
        vec![0, 1, 0, 1]
    );
    assert_eq!(
        count(&rules(false, false), &votes, &[]).counts,
        vec![0, 1, 0, 0]
    );
}

fn any_vote() -> impl Strategy<Value = Vote> {
    (
        0i64..5,
        0i64..40,
        any::<u8>(),
        proptest::collection::vec(0u32..6, 0..4),
    )
        .prop_map(|(voter, at, id, choice)| vote(voter, at, id, &choice))
}

proptest! {
    /// Every member converges: any delivery order of the same votes, changes, retractions and
    /// closes gives the same tally, for every kind of poll.
    #[test]
    fn any_delivery_order_gives_the_same_tally(
        votes in proptest::collection::vec(any_vote(), 0..40),
        closes in proptest::collection::vec((0i64..60, any::<u8>()), 0..3),
        multiple in any::<bool>(),
        no_revote in any::<bool>(),
        shuffles in proptest::collection::vec(any::<u64>(), 3),
    ) {
        let rules = rules(multiple, no_revote);
        let closes: Vec<EventKey> = closes.into_iter().map(|(at, id)| key(at, id)).collect();
        let expected = count(&rules, &votes, &closes);
        for seed in shuffles {
            let mut order: Vec<Vote> = votes.clone();
            let mut closes = closes.clone();
            shuffle(&mut order, seed);
            shuffle(&mut closes, seed.rotate_left(17));
            prop_assert_eq!(&count(&rules, &order, &closes), &expected);
        }
        // And the tally is consistent with itself.
        let total: u32 = expected.counts.iter().sum();
        let chosen: usize = expected.choices.values().map(Vec::len).sum();
        prop_assert_eq!(total as usize, chosen);
        if !multiple {
            prop_assert!(expected.choices.values().all(|c| c.len() == 1));
        }
    }
}

/// A deterministic Fisher–Yates shuffle (a tiny xorshift), so a failure replays exactly.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    seed |= 1;
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = usize::try_from(seed % (i as u64 + 1)).unwrap();
        items.swap(i, j);
    }
}
