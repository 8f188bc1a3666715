use std::time::Duration;

use super::*;

const A: ContactId = ContactId(1);
const B: ContactId = ContactId(2);

fn rows(taken: &[(i64, ContactId)]) -> Vec<i64> {
    taken.iter().map(|(row, _)| *row).collect()
}

#[test]
fn rows_go_oldest_first_up_to_the_window() {
    let mut w = Window::new(3, 8);
    w.add([(1, A), (2, B), (3, A), (4, A), (5, B)]);
    let now = Instant::now();
    assert_eq!(rows(&w.take(now)), [1, 2, 3]);
    assert!(w.take(now).is_empty(), "the window is full");
    assert_eq!(w.done(2), Some(B));
    assert_eq!(rows(&w.take(now)), [4]);
    for row in [1, 3, 4] {
        w.done(row);
    }
    assert_eq!(rows(&w.take(now)), [5]);
    w.done(5);
    assert!(w.is_empty());
}

#[test]
fn one_contact_never_has_more_than_its_share_in_flight() {
    let mut w = Window::new(64, 1);
    w.add((1..=6).map(|row| (row, if row <= 4 { A } else { B })));
    let now = Instant::now();
    assert_eq!(
        rows(&w.take(now)),
        [1, 5],
        "one each, the other contact not held up"
    );
    assert!(w.take(now).is_empty());
    w.done(1);
    assert_eq!(rows(&w.take(now)), [2]);
    w.done(5);
    w.done(2);
    assert_eq!(rows(&w.take(now)), [3, 6]);
    assert_eq!(w.in_flight(), 2);
}

#[test]
fn rows_already_loaded_are_not_added_twice() {
    let mut w = Window::new(64, 64);
    w.add([(1, A), (2, A)]);
    w.add([(2, A), (3, A)]);
    assert_eq!(w.loaded(), 3);
    assert_eq!(rows(&w.take(Instant::now())), [1, 2, 3]);
}

#[test]
fn a_refused_row_waits_in_its_place_without_holding_up_other_contacts() {
    let mut w = Window::new(64, 64);
    w.add([(1, A), (2, A), (3, B), (4, A)]);
    let now = Instant::now();
    assert_eq!(rows(&w.take(now)), [1, 2, 3, 4]);
    assert_eq!(w.refused(2, now), Some(A));
    assert_eq!(w.refused(4, now), Some(A));
    w.add([(5, A), (6, B)]);
    assert_eq!(rows(&w.take(now)), [6], "A waits, B goes on");
    let wake = w.next_wake().unwrap();
    assert!(
        wake > now && wake <= now + Duration::from_secs(2),
        "{:?}",
        wake - now
    );
    assert!(w.take(wake - Duration::from_millis(1)).is_empty());
    assert_eq!(
        rows(&w.take(wake)),
        [2, 4, 5],
        "retried in order, before the newer row"
    );
    assert_eq!(w.next_wake(), None);
}

#[test]
fn refusals_in_a_row_back_off_further_and_an_answer_resets_them() {
    let mut w = Window::new(64, 1);
    w.add([(1, A), (2, A)]);
    let mut now = Instant::now();
    let mut delays = Vec::new();
    for _ in 0..5 {
        assert_eq!(rows(&w.take(now)), [1]);
        w.refused(1, now);
        let wake = w.next_wake().unwrap();
        delays.push(wake - now);
        now = wake;
    }
    assert!(delays[4] > delays[0] * 4, "{delays:?}");
    assert_eq!(rows(&w.take(now)), [1]);
    w.done(1);
    assert_eq!(rows(&w.take(now)), [2]);
    w.refused(2, now);
    assert!(
        w.next_wake().unwrap() - now <= Duration::from_secs(1),
        "reset after the Ok"
    );
}

#[test]
fn a_contact_without_a_session_waits_for_it() {
    let mut w = Window::new(64, 64);
    w.add([(1, A), (2, A), (3, B)]);
    let now = Instant::now();
    assert_eq!(rows(&w.take(now)), [1, 2, 3]);
    w.needs_session(1);
    w.needs_session(2);
    assert_eq!(
        w.next_wake(),
        None,
        "no timer: the bundle's answer releases it"
    );
    assert!(w.take(now).is_empty());
    w.release(A);
    assert_eq!(rows(&w.take(now)), [1, 2]);
    assert!(!w.is_empty());
}
