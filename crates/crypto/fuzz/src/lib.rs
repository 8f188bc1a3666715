//! Fixed, deterministic fixtures shared by the fuzz targets and by `examples/gen_corpus.rs`, so
//! the committed seed corpus matches exactly the sessions the targets decrypt with.

use std::sync::OnceLock;

use missiva_crypto::attachment::AttachmentKey;
use missiva_crypto::identity::IdentityKeyPair;
use missiva_crypto::prekeys::{OneTimePreKey, PreKeyBundle, SignedPreKey};
use missiva_crypto::ratchet::Session;
use missiva_crypto::sender_keys::{SenderKey, SenderKeyRecord};
use missiva_crypto::x3dh;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// A deterministic RNG (never for real keys: the fuzz fixtures only).
pub fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// The fixed attachment key the `attachment` target decrypts with.
pub const ATTACHMENT_KEY: [u8; 32] = [0x42; 32];

/// The fixed attachment key as the library type.
pub fn attachment_key() -> AttachmentKey {
    match AttachmentKey::from_bytes(&ATTACHMENT_KEY) {
        Ok(k) => k,
        Err(e) => panic!("a 32-byte attachment key is refused: {e}"),
    }
}

/// The plaintext lengths of the prepared attachments the `attachment` target mutates: empty, one
/// byte, exactly one chunk, one chunk and a byte, two chunks and a bit.
pub const ATTACHMENT_LENGTHS: [usize; 5] = [0, 1, 65_536, 65_537, 2 * 65_536 + 100];

/// Deterministic plaintext of `len` bytes.
pub fn attachment_plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A valid encryption of `attachment_plaintext(len)` under [`ATTACHMENT_KEY`].
pub fn attachment_blob(len: usize) -> Vec<u8> {
    let mut blob = Vec::new();
    missiva_crypto::attachment::encrypt(
        &attachment_key(),
        attachment_plaintext(len).as_slice(),
        &mut blob,
    )
    .unwrap_or_else(|e| panic!("encrypting the fixture attachment failed: {e}"));
    blob
}

/// Valid bundles and initial messages, with and without a one-time prekey.
pub struct X3dhFixture {
    /// Serialized [`PreKeyBundle`]s.
    pub bundles: Vec<Vec<u8>>,
    /// Serialized [`x3dh::InitialMessage`]s.
    pub initial_messages: Vec<Vec<u8>>,
}

/// Builds [`X3dhFixture`] from seeded RNGs.
pub fn x3dh_fixture() -> X3dhFixture {
    let mut rng = seeded(0x5eed_0001);
    let alice = IdentityKeyPair::generate(&mut rng);
    let bob = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&bob, 7, 1_700_000_000, &mut rng);
    let opks = OneTimePreKey::generate_batch(100, 2, &mut rng);
    let mut bundles = Vec::new();
    let mut initial_messages = Vec::new();
    for opk in [None, opks.first()] {
        let bundle = PreKeyBundle {
            identity: bob.public(),
            signed_prekey: spk.public(),
            one_time_prekey: opk.map(|k| (k.id(), k.public())),
        };
        bundles.push(bundle.to_bytes());
        let (msg, _) = x3dh::initiate(&alice, &bundle, &mut rng)
            .unwrap_or_else(|e| panic!("fixture X3DH failed: {e}"));
        initial_messages.push(msg.to_bytes());
    }
    X3dhFixture {
        bundles,
        initial_messages,
    }
}

/// Alice and Bob mid-conversation, with every decryption path of Bob's session reachable.
pub struct RatchetFixture {
    /// Bob's serialized session: one receiving chain, one skipped key, a sending chain.
    pub bob_state: Vec<u8>,
    /// Alice's serialized session at the same point.
    pub alice_state: Vec<u8>,
    /// Bob's session right after X3DH (no receiving or sending chain yet).
    pub bob_fresh_state: Vec<u8>,
    /// Alice's session right after X3DH (sending chain only).
    pub alice_fresh_state: Vec<u8>,
    /// `(message, plaintext)` for every message Alice ever sent Bob in this fixture. Against
    /// `bob_state`: [0] and [2] are duplicates, [1] is a skipped key, [3] is on the current
    /// chain, [4] and [5] open a new chain (a DH ratchet step; [5] skips one key).
    pub alice_to_bob: Vec<(Vec<u8>, Vec<u8>)>,
    /// `(message, plaintext)` Bob sent Alice (already decrypted by her).
    pub bob_to_alice: Vec<(Vec<u8>, Vec<u8>)>,
}

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("ratchet fixture: {what}: {e}"))
}

/// Builds [`RatchetFixture`] from seeded RNGs, like `pair()` in `ratchet/tests.rs`.
pub fn ratchet_fixture() -> RatchetFixture {
    let mut rng = seeded(0x5eed_0002);
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let bob_id = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&bob_id, 1, 0, &mut rng);
    let bundle = PreKeyBundle {
        identity: bob_id.public(),
        signed_prekey: spk.public(),
        one_time_prekey: None,
    };
    let (init, a) = must(x3dh::initiate(&alice_id, &bundle, &mut rng), "initiate");
    let b = must(x3dh::respond(&bob_id, &spk, None, &init), "respond");
    let mut alice = must(
        Session::initiator(&a, &bundle.signed_prekey.key, &mut rng),
        "initiator",
    );
    let mut bob = Session::responder(&b, &spk);
    let alice_fresh_state = alice.to_bytes().to_vec();
    let bob_fresh_state = bob.to_bytes().to_vec();

    let mut alice_to_bob = Vec::new();
    let mut bob_to_alice = Vec::new();
    let send = |s: &mut Session, text: &[u8], log: &mut Vec<(Vec<u8>, Vec<u8>)>| {
        let m = must(s.encrypt(text), "encrypt");
        log.push((m.clone(), text.to_vec()));
        m
    };
    // Chain 1: messages 0..=3; Bob reads 0 and 2, so 1 is a skipped key and 3 is still ahead.
    let m0 = send(&mut alice, b"a0: hello bob", &mut alice_to_bob);
    let _m1 = send(&mut alice, b"a1: skipped", &mut alice_to_bob);
    let m2 = send(&mut alice, b"a2: out of order", &mut alice_to_bob);
    let _m3 = send(&mut alice, b"a3: still on chain 1", &mut alice_to_bob);
    must(bob.decrypt(&m0, &mut rng), "bob decrypts a0");
    must(bob.decrypt(&m2, &mut rng), "bob decrypts a2");
    // Bob answers; Alice's DH turn starts chain 2.
    let r0 = send(&mut bob, b"b0: hi alice", &mut bob_to_alice);
    must(alice.decrypt(&r0, &mut rng), "alice decrypts b0");
    let _m4 = send(&mut alice, b"a4: chain 2, first", &mut alice_to_bob);
    let _m5 = send(&mut alice, b"a5: chain 2, second", &mut alice_to_bob);

    RatchetFixture {
        bob_state: bob.to_bytes().to_vec(),
        alice_state: alice.to_bytes().to_vec(),
        bob_fresh_state,
        alice_fresh_state,
        alice_to_bob,
        bob_to_alice,
    }
}

/// [`ratchet_fixture`], built once per process.
pub fn ratchet() -> &'static RatchetFixture {
    static FIXTURE: OnceLock<RatchetFixture> = OnceLock::new();
    FIXTURE.get_or_init(ratchet_fixture)
}

/// A fresh session from serialized state that the fixture itself produced.
pub fn restore(state: &[u8]) -> Session {
    must(Session::from_bytes(state), "restoring fixture state")
}

/// One group sender and a member's record of its chains, mid-conversation.
pub struct SenderKeyFixture {
    /// The member's serialized [`SenderKeyRecord`]: the first chain (messages [0] and [2] read,
    /// [1] skipped, [3] ahead) and, newest first, the rotated chain (nothing read yet).
    pub record_state: Vec<u8>,
    /// The sender's serialized [`SenderKey`] (after the rotation).
    pub sender_state: Vec<u8>,
    /// A serialized receiver: the first state of the record on its own.
    pub receiver_state: Vec<u8>,
    /// The serialized distributions: before and after the rotation.
    pub distributions: Vec<Vec<u8>>,
    /// `(message, plaintext)` for every group message the sender sent: [0..=3] on the first
    /// chain, [4] and [5] on the rotated one.
    pub messages: Vec<(Vec<u8>, Vec<u8>)>,
}

fn sk<T>(r: Result<T, missiva_crypto::sender_keys::SenderKeyError>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("sender key fixture: {what}: {e}"))
}

/// Builds [`SenderKeyFixture`] from a seeded RNG.
pub fn sender_key_fixture() -> SenderKeyFixture {
    let mut rng = seeded(0x5eed_0003);
    let mut sender = sk(
        SenderKey::generate(b"missiva fuzz group", &mut rng),
        "generate",
    );
    let first = sender.distribution_message();
    let mut record = SenderKeyRecord::from_distribution(&first);
    let mut messages = Vec::new();
    let mut send = |s: &mut SenderKey, text: &[u8]| {
        let m = sk(s.encrypt(text), "encrypt");
        messages.push((m.clone(), text.to_vec()));
        m
    };
    let m0 = send(&mut sender, b"g0: hello group");
    let _m1 = send(&mut sender, b"g1: skipped");
    let m2 = send(&mut sender, b"g2: out of order");
    let _m3 = send(&mut sender, b"g3: still ahead");
    sk(record.decrypt(&m0), "decrypt g0");
    let receiver_state = missiva_crypto::sender_keys::SenderKeyReceiver::from_distribution(&first)
        .to_bytes()
        .to_vec();
    sk(record.decrypt(&m2), "decrypt g2");
    let second = sender.rotate(&mut rng);
    sk(record.process(&second), "process rotation");
    let _n0 = send(&mut sender, b"g4: rotated chain, first");
    let _n1 = send(&mut sender, b"g5: rotated chain, second");
    SenderKeyFixture {
        record_state: record.to_bytes().to_vec(),
        sender_state: sender.to_bytes().to_vec(),
        receiver_state,
        distributions: vec![first.to_bytes().to_vec(), second.to_bytes().to_vec()],
        messages,
    }
}

/// [`sender_key_fixture`], built once per process.
pub fn sender_keys() -> &'static SenderKeyFixture {
    static FIXTURE: OnceLock<SenderKeyFixture> = OnceLock::new();
    FIXTURE.get_or_init(sender_key_fixture)
}
