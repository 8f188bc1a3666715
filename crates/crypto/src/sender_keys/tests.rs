use super::*;

const GROUP: &[u8] = b"group: hiking club";

fn seeded(seed: u64) -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(seed)
}

/// A sender and a receiver record built from its distribution.
fn pair(seed: u64) -> (SenderKey, SenderKeyRecord) {
    let mut rng = seeded(seed);
    let sender = SenderKey::generate(GROUP, &mut rng).unwrap();
    let record = SenderKeyRecord::from_distribution(&sender.distribution_message());
    (sender, record)
}

/// The distribution as it travels: through bytes.
fn received(distribution: &SenderKeyDistribution) -> SenderKeyDistribution {
    SenderKeyDistribution::from_bytes(&distribution.to_bytes()).unwrap()
}

#[test]
fn three_members_exchange_messages() {
    let mut rng = seeded(1);
    let names = ["anna", "bruno", "carla"];
    let mut senders: Vec<SenderKey> = names
        .iter()
        .map(|_| SenderKey::generate(GROUP, &mut rng).unwrap())
        .collect();
    // records[me][them]: what `me` holds for `them`.
    let mut records: Vec<Vec<Option<SenderKeyRecord>>> = (0..3)
        .map(|me| {
            (0..3)
                .map(|them| {
                    (me != them).then(|| {
                        SenderKeyRecord::from_distribution(&received(
                            &senders[them].distribution_message(),
                        ))
                    })
                })
                .collect()
        })
        .collect();
    for round in 0..4 {
        for from in 0..3 {
            let text = format!("{} says {round}", names[from]);
            let m = senders[from].encrypt(text.as_bytes()).unwrap();
            for to in (0..3).filter(|&to| to != from) {
                let record = records[to][from].as_mut().unwrap();
                assert_eq!(record.decrypt(&m).unwrap().as_slice(), text.as_bytes());
            }
        }
    }
    // A member's message does not open on the record of another member.
    let m = senders[0].encrypt(b"from anna").unwrap();
    assert!(matches!(
        records[2][1].as_mut().unwrap().decrypt(&m),
        Err(SenderKeyError::UnknownKeyId(_))
    ));
}

#[test]
fn out_of_order_messages_decrypt_exactly_once() {
    let (mut sender, mut record) = pair(2);
    let msgs: Vec<_> = (0..10u8).map(|i| sender.encrypt(&[i]).unwrap()).collect();
    for i in [3usize, 0, 9, 1, 2, 8, 4, 7, 5, 6] {
        assert_eq!(record.decrypt(&msgs[i]).unwrap().as_slice(), &[i as u8]);
    }
    for m in &msgs {
        assert_eq!(record.decrypt(m).unwrap_err(), SenderKeyError::Duplicate);
    }
    assert_eq!(record.states[0].skipped_keys(), 0);
}

#[test]
fn a_replayed_message_is_refused_as_duplicate() {
    let (mut sender, mut record) = pair(3);
    let m = sender.encrypt(b"once").unwrap();
    record.decrypt(&m).unwrap();
    assert_eq!(record.decrypt(&m).unwrap_err(), SenderKeyError::Duplicate);
}

#[test]
fn a_resent_distribution_does_not_reopen_replays() {
    let (mut sender, mut record) = pair(4);
    let distribution = sender.distribution_message();
    let m = sender.encrypt(b"once").unwrap();
    record.decrypt(&m).unwrap();
    record.process(&received(&distribution)).unwrap();
    assert_eq!(record.decrypt(&m).unwrap_err(), SenderKeyError::Duplicate);
}

#[test]
fn a_flipped_signature_byte_is_a_bad_signature() {
    let (mut sender, mut record) = pair(5);
    let m = sender.encrypt(b"signed").unwrap();
    for i in m.len() - SIGNATURE_LEN..m.len() {
        let mut bad = m.clone();
        bad[i] ^= 0x01;
        assert_eq!(
            record.decrypt(&bad).unwrap_err(),
            SenderKeyError::BadSignature
        );
    }
    assert_eq!(record.decrypt(&m).unwrap().as_slice(), b"signed");
}

#[test]
fn another_member_cannot_forge_a_message_under_this_key_id() {
    // Carla holds Bruno's chain key (every member does) and signs with her own key, claiming
    // Bruno's key id and chain: the signature gives her away.
    let mut rng = seeded(6);
    let bruno = SenderKey::generate(GROUP, &mut rng).unwrap();
    let mut anna_for_bruno = SenderKeyRecord::from_distribution(&bruno.distribution_message());
    let carla = SenderKey::generate(GROUP, &mut rng).unwrap();
    let mut forger = SenderKey {
        group_id: bruno.group_id.clone(),
        key_id: bruno.key_id,
        chain: bruno.chain.clone(),
        iteration: bruno.iteration,
        signing: carla.signing.clone(),
    };
    let forged = forger.encrypt(b"I am Bruno").unwrap();
    let before = anna_for_bruno.to_bytes();
    assert_eq!(
        anna_for_bruno.decrypt(&forged).unwrap_err(),
        SenderKeyError::BadSignature
    );
    assert_eq!(*anna_for_bruno.to_bytes(), *before);
}

#[test]
fn flipping_any_byte_is_refused_and_changes_nothing() {
    let (mut sender, mut record) = pair(7);
    let m = sender.encrypt(b"integrity matters").unwrap();
    let before = record.to_bytes();
    for byte in 0..m.len() {
        for bit in 0..8 {
            let mut bad = m.clone();
            bad[byte] ^= 1 << bit;
            let err = record.decrypt(&bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    SenderKeyError::BadSignature
                        | SenderKeyError::UnsupportedVersion(_)
                        | SenderKeyError::UnknownKeyId(_)
                ),
                "byte {byte} bit {bit}: {err:?}"
            );
            assert_eq!(
                *record.to_bytes(),
                *before,
                "a failed decryption changed the state"
            );
        }
    }
    assert_eq!(record.decrypt(&m).unwrap().as_slice(), b"integrity matters");
}

#[test]
fn a_signed_message_for_another_group_is_tampered() {
    // The same sender's chain known under another group id: the signature holds, the
    // associated data (which binds the group id) does not.
    let (mut sender, _) = pair(8);
    let mut distribution = sender.distribution_message();
    distribution.group_id = GroupId::new(b"another group").unwrap();
    let mut elsewhere = SenderKeyReceiver::from_distribution(&distribution);
    let m = sender.encrypt(b"for the hiking club").unwrap();
    let before = elsewhere.to_bytes();
    assert_eq!(elsewhere.decrypt(&m).unwrap_err(), SenderKeyError::Tampered);
    assert_eq!(*elsewhere.to_bytes(), *before);
}

#[test]
fn jumps_beyond_the_limit_are_refused() {
    let (mut sender, mut record) = pair(9);
    let before = record.to_bytes();
    // Skip the chain's counter ahead without deriving: the message is validly signed but its
    // key is never derived, because the receiver refuses before walking the chain.
    sender.iteration = MAX_FORWARD_JUMP + 1;
    let far = sender.encrypt(b"far").unwrap();
    assert_eq!(
        record.decrypt(&far).unwrap_err(),
        SenderKeyError::TooLargeJump {
            skip: u64::from(MAX_FORWARD_JUMP) + 1
        }
    );
    assert_eq!(*record.to_bytes(), *before);
}

#[test]
fn a_jump_at_the_limit_decrypts_and_keeps_the_newest_skipped_keys() {
    let (mut sender, mut record) = pair(10);
    let first = sender.encrypt(b"oldest").unwrap();
    let mut kept = Vec::new();
    for i in 1..MAX_FORWARD_JUMP {
        let m = sender.encrypt(b"filler").unwrap();
        if i == MAX_FORWARD_JUMP - 1 {
            kept = m;
        }
    }
    let last = sender.encrypt(b"at the limit").unwrap();
    assert_eq!(record.decrypt(&last).unwrap().as_slice(), b"at the limit");
    assert_eq!(record.states[0].skipped_keys(), MAX_SKIPPED_KEYS);
    assert_eq!(record.decrypt(&kept).unwrap().as_slice(), b"filler");
    // The oldest skipped key was dropped: its message can no longer be read.
    assert_eq!(
        record.decrypt(&first).unwrap_err(),
        SenderKeyError::Duplicate
    );
}

#[test]
fn rotation_locks_out_old_and_new_members() {
    let mut rng = seeded(11);
    let mut sender = SenderKey::generate(GROUP, &mut rng).unwrap();
    let old = received(&sender.distribution_message());
    let before = sender.encrypt(b"before the change").unwrap();
    let new = received(&sender.rotate(&mut rng));
    assert_ne!(old.key_id(), new.key_id());
    let after = sender.encrypt(b"after the change").unwrap();

    // A removed member, who only has the old distribution, cannot read what follows.
    let mut removed = SenderKeyRecord::from_distribution(&old);
    assert_eq!(
        removed.decrypt(&after).unwrap_err(),
        SenderKeyError::UnknownKeyId(new.key_id())
    );
    // Even forcing the old chain under the new key id fails: the chain and signing key are new.
    let mut forced = SenderKeyReceiver::from_distribution(&old);
    forced.key_id = new.key_id();
    assert_eq!(
        forced.decrypt(&after).unwrap_err(),
        SenderKeyError::BadSignature
    );
    // A new member, who only has the new distribution, cannot read what came before.
    let mut joined = SenderKeyRecord::from_distribution(&new);
    assert_eq!(
        joined.decrypt(&before).unwrap_err(),
        SenderKeyError::UnknownKeyId(old.key_id())
    );
    assert_eq!(
        joined.decrypt(&after).unwrap().as_slice(),
        b"after the change"
    );

    // A member who stayed holds both chains: in-flight messages survive the rotation.
    let mut stayed = SenderKeyRecord::from_distribution(&old);
    stayed.process(&new).unwrap();
    assert_eq!(stayed.key_ids(), vec![new.key_id(), old.key_id()]);
    assert_eq!(
        stayed.decrypt(&after).unwrap().as_slice(),
        b"after the change"
    );
    assert_eq!(
        stayed.decrypt(&before).unwrap().as_slice(),
        b"before the change"
    );
}

#[test]
fn a_record_keeps_the_newest_five_chains() {
    let mut rng = seeded(12);
    let mut sender = SenderKey::generate(GROUP, &mut rng).unwrap();
    let mut record = SenderKeyRecord::from_distribution(&sender.distribution_message());
    let mut messages = vec![sender.encrypt(b"chain 0").unwrap()];
    for i in 1..=MAX_SENDER_KEY_STATES {
        record.process(&sender.rotate(&mut rng)).unwrap();
        messages.push(sender.encrypt(format!("chain {i}").as_bytes()).unwrap());
    }
    assert_eq!(record.key_ids().len(), MAX_SENDER_KEY_STATES);
    assert!(matches!(
        record.decrypt(&messages[0]),
        Err(SenderKeyError::UnknownKeyId(_))
    ));
    for (i, m) in messages.iter().enumerate().skip(1) {
        assert_eq!(
            record.decrypt(m).unwrap().as_slice(),
            format!("chain {i}").as_bytes()
        );
    }
}

#[test]
fn a_distribution_for_another_group_is_refused() {
    let (_, mut record) = pair(13);
    let other = SenderKey::generate(b"another group", &mut seeded(14)).unwrap();
    assert_eq!(
        record.process(&other.distribution_message()),
        Err(SenderKeyError::WrongGroup)
    );
}

#[test]
fn group_ids_longer_than_a_byte_can_count_are_refused() {
    assert_eq!(
        SenderKey::generate(&[0u8; 256], &mut seeded(15)).unwrap_err(),
        SenderKeyError::GroupIdTooLong { len: 256 }
    );
    assert!(SenderKey::generate(&[0u8; 255], &mut seeded(15)).is_ok());
}

#[test]
fn a_member_joining_late_reads_from_the_distributed_iteration() {
    let (mut sender, _) = pair(16);
    let early = sender.encrypt(b"early").unwrap();
    let mut late = SenderKeyRecord::from_distribution(&received(&sender.distribution_message()));
    let now = sender.encrypt(b"now").unwrap();
    assert_eq!(late.decrypt(&early).unwrap_err(), SenderKeyError::Duplicate);
    assert_eq!(late.decrypt(&now).unwrap().as_slice(), b"now");
}

#[test]
fn state_round_trips_at_any_point() {
    let mut rng = seeded(17);
    let (mut sender, mut record) = pair(18);
    let mut held = Vec::new();
    for i in 0..30u8 {
        if i == 15 {
            record.process(&sender.rotate(&mut rng)).unwrap();
        }
        let m = sender.encrypt(&[i]).unwrap();
        if i % 3 == 0 {
            held.push((i, m));
        } else {
            assert_eq!(record.decrypt(&m).unwrap().as_slice(), &[i]);
        }
        let sender_bytes = sender.to_bytes();
        sender = SenderKey::from_bytes(&sender_bytes).unwrap();
        assert_eq!(*sender.to_bytes(), *sender_bytes);
        let record_bytes = record.to_bytes();
        record = SenderKeyRecord::from_bytes(&record_bytes).unwrap();
        assert_eq!(*record.to_bytes(), *record_bytes);
        let receiver = record.states[0].to_bytes();
        assert_eq!(
            *SenderKeyReceiver::from_bytes(&receiver).unwrap().to_bytes(),
            *receiver
        );
    }
    for (i, m) in held {
        assert_eq!(record.decrypt(&m).unwrap().as_slice(), &[i]);
    }
}

#[test]
fn damaged_bytes_are_an_error_not_a_panic() {
    let (mut sender, mut record) = pair(19);
    let held = sender.encrypt(b"held").unwrap();
    let m = sender.encrypt(b"delivered").unwrap();
    record.decrypt(&m).unwrap();
    let encodings: Vec<(&str, Vec<u8>)> = vec![
        ("sender", sender.to_bytes().to_vec()),
        ("record", record.to_bytes().to_vec()),
        ("receiver", record.states[0].to_bytes().to_vec()),
        (
            "distribution",
            sender.distribution_message().to_bytes().to_vec(),
        ),
    ];
    for (name, bytes) in &encodings {
        for len in 0..bytes.len() {
            let prefix = &bytes[..len];
            let failed = match *name {
                "sender" => SenderKey::from_bytes(prefix).is_err(),
                "record" => SenderKeyRecord::from_bytes(prefix).is_err(),
                "receiver" => SenderKeyReceiver::from_bytes(prefix).is_err(),
                _ => SenderKeyDistribution::from_bytes(prefix).is_err(),
            };
            assert!(failed, "{name}: a {len}-byte prefix decoded");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(SenderKey::from_bytes(&longer).is_err());
        assert!(SenderKeyRecord::from_bytes(&longer).is_err());
        assert!(SenderKeyReceiver::from_bytes(&longer).is_err());
        assert!(SenderKeyDistribution::from_bytes(&longer).is_err());
    }
    for len in 0..held.len() {
        assert!(record.decrypt(&held[..len]).is_err());
    }
    let mut v2 = sender.to_bytes().to_vec();
    v2[0] = 2;
    assert_eq!(
        SenderKey::from_bytes(&v2).unwrap_err(),
        SenderKeyError::UnsupportedVersion(2)
    );
    // One kind of state is never read as another.
    assert_eq!(
        SenderKeyReceiver::from_bytes(&record.to_bytes()).unwrap_err(),
        SenderKeyError::Malformed("sender key state: wrong kind")
    );
    let mut bad_version = held.clone();
    bad_version[0] = 2;
    assert_eq!(
        record.decrypt(&bad_version).unwrap_err(),
        SenderKeyError::UnsupportedVersion(2)
    );
    assert_eq!(record.decrypt(&held).unwrap().as_slice(), b"held");
}

#[test]
fn a_distribution_with_a_small_order_signing_key_is_refused() {
    let (sender, _) = pair(20);
    let mut bytes = sender.distribution_message().to_bytes().to_vec();
    let len = bytes.len();
    // The identity point (y = 1) is of small order.
    bytes[len - 32..].copy_from_slice(&{
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    });
    assert_eq!(
        SenderKeyDistribution::from_bytes(&bytes).unwrap_err(),
        SenderKeyError::Malformed("signing key: small order")
    );
}

#[test]
fn debug_of_secret_holding_types_leaks_no_keys() {
    let (mut sender, mut record) = pair(21);
    let _held = sender.encrypt(b"skipped").unwrap();
    let m = sender.encrypt(b"x").unwrap();
    record.decrypt(&m).unwrap();
    let distribution = sender.distribution_message();
    let receiver = record.states[0].clone();
    let shown = [
        format!("{sender:?} {sender:#?}"),
        format!("{distribution:?} {distribution:#?}"),
        format!("{receiver:?} {receiver:#?}"),
        format!("{record:?} {record:#?}"),
    ];
    let secrets = [
        hex::encode(&sender.chain.0[..8]),
        hex::encode(&sender.signing.to_bytes()[..8]),
        hex::encode(&distribution.chain.0[..8]),
        hex::encode(&receiver.chain.0[..8]),
        hex::encode(&receiver.skipped[0].seed.0[..8]),
    ];
    for s in &shown {
        assert!(s.contains("<redacted>"), "{s}");
        for secret in &secrets {
            assert!(!s.contains(secret.as_str()), "{s} leaks {secret}");
        }
        // Nor as decimal byte lists, which derived Debug of arrays would print.
        assert!(!s.contains(format!("{:?}", &sender.chain.0[..4]).trim_matches(['[', ']'])));
    }
}

#[test]
fn exhausted_chains_ask_for_a_rotation() {
    let (mut sender, _) = pair(22);
    sender.iteration = u32::MAX;
    assert_eq!(
        sender.encrypt(b"x").unwrap_err(),
        SenderKeyError::ChainExhausted
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One step of a group conversation seen by one receiver: the sender sends or rotates, or
    /// an in-flight message (an index modulo the queue length) is delivered, lost or replayed.
    #[derive(Debug, Clone)]
    enum Step {
        Send,
        Rotate,
        Deliver(usize),
        Lose(usize),
        Replay(usize),
        Persist,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            6 => Just(Step::Send),
            1 => Just(Step::Rotate),
            6 => any::<usize>().prop_map(Step::Deliver),
            1 => any::<usize>().prop_map(Step::Lose),
            1 => any::<usize>().prop_map(Step::Replay),
            1 => Just(Step::Persist),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

        /// Any reordering, loss and replay within the limits, across rotations: every delivered
        /// message decrypts exactly once with its content, replays are refused as duplicates,
        /// and messages of chains older than the last five are refused as unknown.
        #[test]
        fn any_schedule_delivers_each_message_exactly_once(
            seed in any::<u64>(),
            steps in proptest::collection::vec(step(), 1..150),
        ) {
            let (mut sender, mut record) = pair(seed);
            let mut rng = seeded(seed ^ 0x5eed);
            // (chain number, plaintext, bytes)
            let mut in_flight: Vec<(usize, Vec<u8>, Vec<u8>)> = Vec::new();
            let mut delivered: Vec<Vec<u8>> = Vec::new();
            let mut chain = 0usize;
            let mut counter = 0u32;
            for step in steps {
                match step {
                    Step::Send => {
                        counter += 1;
                        let text = format!("m{counter}").into_bytes();
                        in_flight.push((chain, text.clone(), sender.encrypt(&text).unwrap()));
                    }
                    Step::Rotate => {
                        record.process(&received(&sender.rotate(&mut rng))).unwrap();
                        chain += 1;
                    }
                    Step::Deliver(i) if !in_flight.is_empty() => {
                        let (from_chain, text, bytes) = in_flight.remove(i % in_flight.len());
                        if chain - from_chain < MAX_SENDER_KEY_STATES {
                            let got = record.decrypt(&bytes).unwrap();
                            prop_assert_eq!(got.as_slice(), text.as_slice());
                            delivered.push(bytes);
                        } else {
                            prop_assert!(matches!(
                                record.decrypt(&bytes),
                                Err(SenderKeyError::UnknownKeyId(_))
                            ));
                        }
                    }
                    Step::Lose(i) if !in_flight.is_empty() => {
                        in_flight.remove(i % in_flight.len());
                    }
                    Step::Replay(i) if !delivered.is_empty() => {
                        let bytes = &delivered[i % delivered.len()];
                        let before = record.to_bytes();
                        prop_assert!(matches!(
                            record.decrypt(bytes),
                            Err(SenderKeyError::Duplicate | SenderKeyError::UnknownKeyId(_))
                        ));
                        prop_assert_eq!(&*record.to_bytes(), &*before);
                    }
                    Step::Persist => {
                        sender = SenderKey::from_bytes(&sender.to_bytes()).unwrap();
                        record = SenderKeyRecord::from_bytes(&record.to_bytes()).unwrap();
                    }
                    _ => {}
                }
            }
            // Whatever is still in flight arrives in reverse order, each exactly once.
            while let Some((from_chain, text, bytes)) = in_flight.pop() {
                if chain - from_chain < MAX_SENDER_KEY_STATES {
                    let got = record.decrypt(&bytes).unwrap();
                    prop_assert_eq!(got.as_slice(), text.as_slice());
                    prop_assert_eq!(record.decrypt(&bytes).unwrap_err(), SenderKeyError::Duplicate);
                }
            }
        }
    }
}
