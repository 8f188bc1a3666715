//! Committed golden vectors of our own protocol in `tests/data/protocol_golden.txt`: fixed seeds
//! give a fixed prekey bundle, X3DH initial message, shared secret and associated data, and fixed
//! first Double Ratchet messages. A change to the wire-visible protocol must change that file on
//! purpose: `MISSIVA_REGENERATE_GOLDEN=1 cargo test -p missiva-crypto --test protocol_golden`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;
use std::collections::BTreeMap;

use missiva_crypto::identity::IdentityKeyPair;
use missiva_crypto::prekeys::{OneTimePreKey, PreKeyBundle, SignedPreKey};
use missiva_crypto::ratchet::Session;
use missiva_crypto::x3dh::{self, InitialMessage};
use rand::SeedableRng;
use rand::rngs::StdRng;

const GOLDEN: &str = include_str!("data/protocol_golden.txt");
const GOLDEN_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/protocol_golden.txt"
);
const REGENERATE: &str = "MISSIVA_REGENERATE_GOLDEN";

/// One seed per key or random stream, so that reordering calls does not move every value.
const SEED_ALICE_IDENTITY: u64 = 1;
const SEED_BOB_IDENTITY: u64 = 2;
const SEED_BOB_SIGNED_PREKEY: u64 = 3;
const SEED_BOB_ONE_TIME_PREKEY: u64 = 4;
const SEED_ALICE_X3DH: u64 = 5;
const SEED_ALICE_RATCHET: u64 = 6;
const SEED_BOB_RATCHET: u64 = 7;
/// Alice's ratchet key after Bob's reply: used only to read the reply, not in the file.
const SEED_ALICE_REPLY: u64 = 8;
const SIGNED_PREKEY_ID: u32 = 1;
const ONE_TIME_PREKEY_ID: u32 = 100;
/// When the signed prekey was made; not on the wire, fixed for completeness.
const SIGNED_PREKEY_CREATED_AT: u64 = 1_700_000_000;

const ALICE_PLAINTEXT_1: &[u8] = b"Ciao Bob, sono Alice.";
const ALICE_PLAINTEXT_2: &[u8] = b"Second message, same chain.";
const BOB_PLAINTEXT_1: &[u8] = b"Hi Alice! Bob here.";

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Bob's secret keys, all from fixed seeds.
struct Bob {
    identity: IdentityKeyPair,
    signed_prekey: SignedPreKey,
    one_time_prekey: OneTimePreKey,
}

impl Bob {
    fn new() -> Self {
        let identity = IdentityKeyPair::generate(&mut rng(SEED_BOB_IDENTITY));
        let signed_prekey = SignedPreKey::generate(
            &identity,
            SIGNED_PREKEY_ID,
            SIGNED_PREKEY_CREATED_AT,
            &mut rng(SEED_BOB_SIGNED_PREKEY),
        );
        let one_time_prekey = OneTimePreKey::generate_batch(
            ONE_TIME_PREKEY_ID,
            1,
            &mut rng(SEED_BOB_ONE_TIME_PREKEY),
        )
        .pop()
        .unwrap();
        Bob {
            identity,
            signed_prekey,
            one_time_prekey,
        }
    }

    fn bundle(&self) -> PreKeyBundle {
        PreKeyBundle {
            identity: self.identity.public(),
            signed_prekey: self.signed_prekey.public(),
            one_time_prekey: Some((self.one_time_prekey.id(), self.one_time_prekey.public())),
        }
    }
}

/// Runs the protocol from the seeds: every value of the golden file, in file order.
fn generate() -> Vec<(&'static str, String)> {
    let alice = IdentityKeyPair::generate(&mut rng(SEED_ALICE_IDENTITY));
    let bob = Bob::new();
    let bundle = bob.bundle();

    let (initial, alice_agreement) =
        x3dh::initiate(&alice, &bundle, &mut rng(SEED_ALICE_X3DH)).unwrap();
    let bob_agreement = x3dh::respond(
        &bob.identity,
        &bob.signed_prekey,
        Some(&bob.one_time_prekey),
        &initial,
    )
    .unwrap();
    assert_eq!(alice_agreement.secret, bob_agreement.secret);
    assert_eq!(
        alice_agreement.associated_data,
        bob_agreement.associated_data
    );

    let mut alice_session = Session::initiator(
        &alice_agreement,
        &bundle.signed_prekey.key,
        &mut rng(SEED_ALICE_RATCHET),
    )
    .unwrap();
    let mut bob_session = Session::responder(&bob_agreement, &bob.signed_prekey);
    let alice_1 = alice_session.encrypt(ALICE_PLAINTEXT_1).unwrap();
    let alice_2 = alice_session.encrypt(ALICE_PLAINTEXT_2).unwrap();
    let mut bob_rng = rng(SEED_BOB_RATCHET);
    bob_session.decrypt(&alice_1, &mut bob_rng).unwrap();
    bob_session.decrypt(&alice_2, &mut bob_rng).unwrap();
    let bob_1 = bob_session.encrypt(BOB_PLAINTEXT_1).unwrap();

    vec![
        ("alice_identity", hex::encode(alice.public().to_bytes())),
        (
            "bob_identity",
            hex::encode(bob.identity.public().to_bytes()),
        ),
        ("bob_bundle", hex::encode(bundle.to_bytes())),
        ("x3dh_initial_message", hex::encode(initial.to_bytes())),
        (
            "x3dh_shared_secret",
            hex::encode(alice_agreement.secret.as_bytes()),
        ),
        (
            "x3dh_associated_data",
            hex::encode(alice_agreement.associated_data),
        ),
        ("alice_plaintext_1", hex::encode(ALICE_PLAINTEXT_1)),
        ("alice_message_1", hex::encode(alice_1)),
        ("alice_plaintext_2", hex::encode(ALICE_PLAINTEXT_2)),
        ("alice_message_2", hex::encode(alice_2)),
        ("bob_plaintext_1", hex::encode(BOB_PLAINTEXT_1)),
        ("bob_message_1", hex::encode(bob_1)),
    ]
}

/// The whole golden file as [`generate`] would write it.
fn render() -> String {
    let mut out = String::from(
        "# Missiva protocol golden vectors: prekey bundle v1, X3DH initial message v1, X3DH
# (\"Missiva X3DH v1 X25519 SHA-256\"), Double Ratchet messages v1 (AES-256-GCM).
# Wire-visible: a change to the protocol or its encodings must change this file on purpose,
# never to make a test pass. Regenerate with
#   MISSIVA_REGENERATE_GOLDEN=1 cargo test -p missiva-crypto --test protocol_golden
# and review the diff. Without the variable the test compares and names the first difference.
#
# Keys come from rand's StdRng::seed_from_u64, one seed per key or random stream:
",
    );
    for (name, seed) in [
        ("alice identity", SEED_ALICE_IDENTITY),
        ("bob identity", SEED_BOB_IDENTITY),
        ("bob signed prekey", SEED_BOB_SIGNED_PREKEY),
        ("bob one-time prekey", SEED_BOB_ONE_TIME_PREKEY),
        ("alice X3DH ephemeral", SEED_ALICE_X3DH),
        ("alice first ratchet key", SEED_ALICE_RATCHET),
        ("bob ratchet keys (decrypt)", SEED_BOB_RATCHET),
    ] {
        out.push_str(&format!("#   {name}: {seed}\n"));
    }
    out.push_str(&format!(
        "# Signed prekey id {SIGNED_PREKEY_ID}, one-time prekey id {ONE_TIME_PREKEY_ID}.
# StdRng is ChaCha12 and documented as not reproducible across rand versions: a rand upgrade
# may change every value here, and the file is then regenerated on purpose.
#
# Hex values are lowercase. Messages are header(41) || AES-256-GCM ciphertext || tag(16).
"
    ));
    for (name, value) in generate() {
        out.push_str(&format!("{name} = {value}\n"));
    }
    out
}

fn regenerating() -> bool {
    std::env::var_os(REGENERATE).is_some_and(|v| v == "1")
}

/// The golden values: the committed file, or freshly generated ones while regenerating.
fn golden() -> BTreeMap<String, Vec<u8>> {
    let text: Cow<'static, str> = if regenerating() {
        Cow::Owned(render())
    } else {
        Cow::Borrowed(GOLDEN)
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, value) = line
                .split_once(" = ")
                .unwrap_or_else(|| panic!("not `name = hex`: {line}"));
            let bytes = hex::decode(value).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name.to_owned(), bytes)
        })
        .collect()
}

#[test]
fn protocol_golden_vectors_still_hold() {
    let expected = render();
    if regenerating() {
        std::fs::write(GOLDEN_PATH, &expected).unwrap();
        return;
    }
    let mut committed = GOLDEN.lines();
    for (number, line) in expected.lines().enumerate() {
        let old = committed.next().unwrap_or("<end of file>");
        assert_eq!(
            old,
            line,
            "tests/data/protocol_golden.txt line {} differs (committed left, computed right); \
             if the protocol changed on purpose, rerun with {REGENERATE}=1",
            number + 1
        );
    }
    if let Some(extra) = committed.next() {
        panic!("tests/data/protocol_golden.txt has extra lines from: {extra}");
    }
}

#[test]
fn golden_messages_decrypt_from_the_committed_bytes() {
    let golden = golden();
    let bob = Bob::new();

    let bundle = PreKeyBundle::from_bytes(&golden["bob_bundle"]).unwrap();
    bundle.verify().unwrap();
    assert_eq!(bundle, bob.bundle());

    let initial = InitialMessage::from_bytes(&golden["x3dh_initial_message"]).unwrap();
    let bob_agreement = x3dh::respond(
        &bob.identity,
        &bob.signed_prekey,
        Some(&bob.one_time_prekey),
        &initial,
    )
    .unwrap();
    assert_eq!(
        bob_agreement.secret.as_bytes().as_slice(),
        golden["x3dh_shared_secret"].as_slice()
    );
    assert_eq!(
        bob_agreement.associated_data.as_slice(),
        golden["x3dh_associated_data"].as_slice()
    );

    // Bob reads Alice's messages as committed, out of order to use a skipped key too.
    let mut bob_session = Session::responder(&bob_agreement, &bob.signed_prekey);
    let mut bob_rng = rng(SEED_BOB_RATCHET);
    let second = bob_session
        .decrypt(&golden["alice_message_2"], &mut bob_rng)
        .unwrap();
    assert_eq!(second.as_slice(), golden["alice_plaintext_2"].as_slice());
    let first = bob_session
        .decrypt(&golden["alice_message_1"], &mut bob_rng)
        .unwrap();
    assert_eq!(first.as_slice(), golden["alice_plaintext_1"].as_slice());

    // Alice, from her seeds and the committed bundle, reads Bob's committed reply.
    let alice = IdentityKeyPair::generate(&mut rng(SEED_ALICE_IDENTITY));
    let (_, alice_agreement) = x3dh::initiate(&alice, &bundle, &mut rng(SEED_ALICE_X3DH)).unwrap();
    let mut alice_session = Session::initiator(
        &alice_agreement,
        &bundle.signed_prekey.key,
        &mut rng(SEED_ALICE_RATCHET),
    )
    .unwrap();
    let reply = alice_session
        .decrypt(&golden["bob_message_1"], &mut rng(SEED_ALICE_REPLY))
        .unwrap();
    assert_eq!(reply.as_slice(), golden["bob_plaintext_1"].as_slice());
}
