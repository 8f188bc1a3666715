use super::*;
use crate::identity::IdentityKeyPair;
use crate::prekeys::{PreKeyBundle, SignedPreKey};
use crate::x3dh;

fn seeded(seed: u64) -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(seed)
}

/// Alice and Bob after X3DH (no one-time prekey), as their ratchet sessions.
fn pair(seed: u64) -> (Session, Session) {
    let mut rng = seeded(seed);
    let alice = IdentityKeyPair::generate(&mut rng);
    let bob = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&bob, 1, 0, &mut rng);
    let bundle = PreKeyBundle {
        identity: bob.public(),
        signed_prekey: spk.public(),
        one_time_prekey: None,
    };
    let (msg, a) = x3dh::initiate(&alice, &bundle, &mut rng).unwrap();
    let b = x3dh::respond(&bob, &spk, None, &msg).unwrap();
    let alice_session = Session::initiator(&a, &bundle.signed_prekey.key, &mut rng).unwrap();
    let bob_session = Session::responder(&b, &spk);
    (alice_session, bob_session)
}

#[test]
fn messages_flow_both_ways_with_dh_turns() {
    let (mut a, mut b) = pair(1);
    let mut rng = seeded(2);
    assert_eq!(b.encrypt(b"too early"), Err(RatchetError::NoSendingChain));
    for round in 0..5u8 {
        for i in 0..3u8 {
            let m = a.encrypt(&[round, i, 0xA]).unwrap();
            assert_eq!(
                b.decrypt(&m, &mut rng).unwrap().as_slice(),
                &[round, i, 0xA]
            );
        }
        for i in 0..2u8 {
            let m = b.encrypt(&[round, i, 0xB]).unwrap();
            assert_eq!(
                a.decrypt(&m, &mut rng).unwrap().as_slice(),
                &[round, i, 0xB]
            );
        }
    }
    assert_eq!(a.skipped_keys(), 0);
    assert_eq!(b.skipped_keys(), 0);
}

#[test]
fn out_of_order_messages_decrypt_exactly_once() {
    let (mut a, mut b) = pair(3);
    let mut rng = seeded(4);
    let msgs: Vec<_> = (0..10u8).map(|i| a.encrypt(&[i]).unwrap()).collect();
    for i in [3usize, 0, 9, 1, 2, 8, 4, 7, 5, 6] {
        assert_eq!(
            b.decrypt(&msgs[i], &mut rng).unwrap().as_slice(),
            &[i as u8]
        );
    }
    for m in &msgs {
        assert_eq!(b.decrypt(m, &mut rng).unwrap_err(), RatchetError::Duplicate);
    }
    assert_eq!(b.skipped_keys(), 0);
}

#[test]
fn messages_from_a_previous_chain_arrive_after_a_dh_turn() {
    let (mut a, mut b) = pair(5);
    let mut rng = seeded(6);
    let first = a.encrypt(b"first").unwrap();
    let late = a.encrypt(b"late").unwrap();
    b.decrypt(&first, &mut rng).unwrap();
    let reply = b.encrypt(b"reply").unwrap();
    a.decrypt(&reply, &mut rng).unwrap();
    let next_chain = a.encrypt(b"new chain").unwrap();
    assert_eq!(
        b.decrypt(&next_chain, &mut rng).unwrap().as_slice(),
        b"new chain"
    );
    assert_eq!(b.decrypt(&late, &mut rng).unwrap().as_slice(), b"late");
    assert_eq!(
        b.decrypt(&late, &mut rng).unwrap_err(),
        RatchetError::Duplicate
    );
}

#[test]
fn a_replayed_message_is_refused_as_duplicate() {
    let (mut a, mut b) = pair(7);
    let mut rng = seeded(8);
    let m = a.encrypt(b"once").unwrap();
    b.decrypt(&m, &mut rng).unwrap();
    assert_eq!(
        b.decrypt(&m, &mut rng).unwrap_err(),
        RatchetError::Duplicate
    );
}

#[test]
fn flipping_any_bit_is_refused_and_changes_nothing() {
    let (mut a, mut b) = pair(9);
    let mut rng = seeded(10);
    let m = a.encrypt(b"integrity matters").unwrap();
    let before = b.to_bytes();
    for byte in 0..m.len() {
        let mut bad = m.clone();
        bad[byte] ^= 1 << (byte % 8);
        let err = b.decrypt(&bad, &mut rng).unwrap_err();
        assert!(
            matches!(
                err,
                RatchetError::Tampered
                    | RatchetError::UnsupportedVersion(_)
                    | RatchetError::TooLargeJump { .. }
                    | RatchetError::BadKey(_)
            ),
            "byte {byte}: {err:?}"
        );
        assert_eq!(
            *b.to_bytes(),
            *before,
            "a failed decryption must not change the state"
        );
    }
    assert_eq!(
        b.decrypt(&m, &mut rng).unwrap().as_slice(),
        b"integrity matters"
    );
}

#[test]
fn jumps_beyond_the_limit_are_refused() {
    let (mut a, mut b) = pair(11);
    let mut rng = seeded(12);
    let m = a.encrypt(b"x").unwrap();
    let (mut header, body) = Header::parse(&m).unwrap();
    header.number = MAX_FORWARD_JUMP + 1;
    let mut forged = header.to_bytes().to_vec();
    forged.extend_from_slice(body);
    assert_eq!(
        b.decrypt(&forged, &mut rng).unwrap_err(),
        RatchetError::TooLargeJump {
            skip: u64::from(MAX_FORWARD_JUMP) + 1
        }
    );
    assert_eq!(b.decrypt(&m, &mut rng).unwrap().as_slice(), b"x");
}

#[test]
fn skipped_keys_are_capped_oldest_first() {
    let (mut a, mut b) = pair(13);
    let mut rng = seeded(14);
    let first = a.encrypt(b"oldest").unwrap();
    let mut last = Vec::new();
    for _ in 0..(MAX_SKIPPED_KEYS + 10) {
        last = a.encrypt(b"filler").unwrap();
    }
    b.decrypt(&last, &mut rng).unwrap();
    assert_eq!(b.skipped_keys(), MAX_SKIPPED_KEYS);
    // The oldest skipped key was dropped: its message can no longer be read.
    assert_eq!(
        b.decrypt(&first, &mut rng).unwrap_err(),
        RatchetError::Duplicate
    );
}

#[test]
fn a_message_for_another_session_does_not_decrypt() {
    let (mut a, _) = pair(15);
    let (_, mut other_b) = pair(16);
    let mut rng = seeded(17);
    let m = a.encrypt(b"for bob").unwrap();
    assert!(other_b.decrypt(&m, &mut rng).is_err());
}

#[test]
fn state_round_trips_at_any_point() {
    let (mut a, mut b) = pair(18);
    let mut rng = seeded(19);
    let mut held = Vec::new();
    for i in 0..20u8 {
        let m = a.encrypt(&[i]).unwrap();
        if i % 3 == 0 {
            held.push((i, m));
        } else {
            b.decrypt(&m, &mut rng).unwrap();
        }
        a = Session::from_bytes(&a.to_bytes()).unwrap();
        b = Session::from_bytes(&b.to_bytes()).unwrap();
        assert_eq!(
            *Session::from_bytes(&b.to_bytes()).unwrap().to_bytes(),
            *b.to_bytes()
        );
        if i % 5 == 4 {
            let r = b.encrypt(b"r").unwrap();
            a.decrypt(&r, &mut rng).unwrap();
        }
    }
    for (i, m) in held {
        assert_eq!(b.decrypt(&m, &mut rng).unwrap().as_slice(), &[i]);
    }
}

#[test]
fn damaged_state_is_an_error_not_a_panic() {
    let (a, _) = pair(20);
    let bytes = a.to_bytes();
    for len in 0..bytes.len() {
        assert!(Session::from_bytes(&bytes[..len]).is_err());
    }
    let mut v2 = bytes.to_vec();
    v2[0] = 2;
    assert_eq!(
        Session::from_bytes(&v2).unwrap_err(),
        RatchetError::UnsupportedVersion(2)
    );
}

#[test]
fn debug_of_a_session_leaks_no_keys() {
    let (a, _) = pair(21);
    let shown = format!("{a:?} {a:#?}");
    let state = a.to_bytes();
    assert!(shown.contains("<redacted>"));
    assert!(!shown.contains(&hex::encode(&state[1..9])));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One step of a conversation: who sends, or which in-flight message is delivered next
    /// (an index into the queue, modulo its length), or which one is lost.
    #[derive(Debug, Clone)]
    enum Step {
        AliceSends,
        BobSends,
        Deliver(usize),
        Lose(usize),
        Replay(usize),
        Persist,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => Just(Step::AliceSends),
            3 => Just(Step::BobSends),
            6 => any::<usize>().prop_map(Step::Deliver),
            1 => any::<usize>().prop_map(Step::Lose),
            1 => any::<usize>().prop_map(Step::Replay),
            1 => Just(Step::Persist),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

        /// Any interleaving, reordering and loss within the limits: every delivered message
        /// decrypts exactly once with its content; replays are refused; sessions survive being
        /// serialized at any point.
        #[test]
        fn any_schedule_delivers_each_message_exactly_once(
            seed in any::<u64>(),
            steps in proptest::collection::vec(step(), 1..120),
        ) {
            let (mut a, mut b) = pair(seed);
            let mut rng = seeded(seed ^ 0x5eed);
            // (to_bob, plaintext, bytes)
            let mut in_flight: Vec<(bool, Vec<u8>, Vec<u8>)> = Vec::new();
            let mut delivered: Vec<(bool, Vec<u8>)> = Vec::new();
            let mut bob_has_received = false;
            let mut counter = 0u32;
            for step in steps {
                match step {
                    Step::AliceSends => {
                        counter += 1;
                        let text = format!("a{counter}").into_bytes();
                        in_flight.push((true, text.clone(), a.encrypt(&text).unwrap()));
                    }
                    Step::BobSends => {
                        counter += 1;
                        let text = format!("b{counter}").into_bytes();
                        match b.encrypt(&text) {
                            Ok(m) => in_flight.push((false, text, m)),
                            Err(e) => {
                                prop_assert!(!bob_has_received);
                                prop_assert_eq!(e, RatchetError::NoSendingChain);
                            }
                        }
                    }
                    Step::Deliver(i) if !in_flight.is_empty() => {
                        let (to_bob, text, bytes) = in_flight.remove(i % in_flight.len());
                        let receiver = if to_bob { &mut b } else { &mut a };
                        let got = receiver.decrypt(&bytes, &mut rng).unwrap();
                        prop_assert_eq!(got.as_slice(), text.as_slice());
                        bob_has_received |= to_bob;
                        delivered.push((to_bob, bytes));
                    }
                    Step::Lose(i) if !in_flight.is_empty() => {
                        in_flight.remove(i % in_flight.len());
                    }
                    Step::Replay(i) if !delivered.is_empty() => {
                        let (to_bob, bytes) = &delivered[i % delivered.len()];
                        let receiver = if *to_bob { &mut b } else { &mut a };
                        prop_assert!(receiver.decrypt(bytes, &mut rng).is_err());
                    }
                    Step::Persist => {
                        a = Session::from_bytes(&a.to_bytes()).unwrap();
                        b = Session::from_bytes(&b.to_bytes()).unwrap();
                    }
                    _ => {}
                }
            }
            // Whatever is still in flight arrives in reverse order, each exactly once.
            while let Some((to_bob, text, bytes)) = in_flight.pop() {
                let receiver = if to_bob { &mut b } else { &mut a };
                let got = receiver.decrypt(&bytes, &mut rng).unwrap();
                prop_assert_eq!(got.as_slice(), text.as_slice());
                prop_assert_eq!(receiver.decrypt(&bytes, &mut rng).unwrap_err(), RatchetError::Duplicate);
            }
        }
    }
}
