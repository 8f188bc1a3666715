//! The wire formats of sender keys, pinned by a vector from an independent implementation
//! (`tests/data/sender_keys_golden.py`). If this fails, bytes on the wire or in the store changed.

mod common;

use std::collections::BTreeMap;

use missiva_crypto::sender_keys::{
    KeyId, SenderKey, SenderKeyDistribution, SenderKeyError, SenderKeyRecord,
};

const GOLDEN: &str = include_str!("data/sender_keys_golden.txt");
const CHANGED: &str =
    "the sender-key wire format changed: if on purpose, update tests/data/sender_keys_golden.*";

fn golden() -> BTreeMap<&'static str, &'static str> {
    common::parse_golden(GOLDEN)
}

/// The hex value `name` decoded (empty if it is not hex, which then fails the test's decoding).
fn bytes(golden: &BTreeMap<&str, &str>, name: &str) -> Vec<u8> {
    hex::decode(golden[name]).unwrap_or_default()
}

#[test]
fn a_seeded_sender_key_matches_the_golden_state_and_messages() {
    let golden = golden();
    let seed: u64 = golden["rng_seed"].parse().unwrap();
    let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(seed);
    let mut sender = SenderKey::generate(golden["group_id"].as_bytes(), &mut rng).unwrap();

    assert_eq!(
        hex::encode(&*sender.to_bytes()),
        golden["sender_state"],
        "{CHANGED}"
    );
    assert_eq!(
        hex::encode(&*sender.distribution_message().to_bytes()),
        golden["distribution"],
        "{CHANGED}"
    );
    let m0 = sender
        .encrypt(golden["message_0_plaintext"].as_bytes())
        .unwrap();
    assert_eq!(hex::encode(&m0), golden["message_0"], "{CHANGED}");
    let m1 = sender.encrypt(b"").unwrap();
    assert_eq!(hex::encode(&m1), golden["message_1"], "{CHANGED}");
}

#[test]
fn the_golden_state_restores_and_encrypts_the_same_messages() {
    let golden = golden();
    let mut sender = SenderKey::from_bytes(&bytes(&golden, "sender_state")).unwrap();
    assert_eq!(
        hex::encode(
            sender
                .encrypt(golden["message_0_plaintext"].as_bytes())
                .unwrap()
        ),
        golden["message_0"]
    );
    assert_eq!(
        hex::encode(sender.encrypt(b"").unwrap()),
        golden["message_1"]
    );
}

#[test]
fn golden_messages_decrypt_with_the_golden_distribution() {
    let golden = golden();
    let distribution = SenderKeyDistribution::from_bytes(&bytes(&golden, "distribution")).unwrap();
    assert_eq!(distribution.key_id(), KeyId(0x08b3_ba6c));
    assert_eq!(distribution.iteration(), 0);
    assert_eq!(
        distribution.group_id().as_bytes(),
        golden["group_id"].as_bytes()
    );
    let mut record = SenderKeyRecord::from_distribution(&distribution);
    let m0 = bytes(&golden, "message_0");
    let m1 = bytes(&golden, "message_1");
    assert_eq!(record.decrypt(&m1).unwrap().as_slice(), b"");
    assert_eq!(
        record.decrypt(&m0).unwrap().as_slice(),
        golden["message_0_plaintext"].as_bytes()
    );
    assert_eq!(record.decrypt(&m0).unwrap_err(), SenderKeyError::Duplicate);
}
