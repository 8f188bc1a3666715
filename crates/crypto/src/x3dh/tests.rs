use super::*;
use crate::prekeys::SignedPreKeyPublic;

struct Bob {
    identity: IdentityKeyPair,
    spk: SignedPreKey,
    opks: Vec<OneTimePreKey>,
}

fn seeded(seed: u64) -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(seed)
}

fn bob(seed: u64) -> Bob {
    let mut rng = seeded(seed);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&identity, 1, 0, &mut rng);
    let opks = OneTimePreKey::generate_batch(10, 2, &mut rng);
    Bob {
        identity,
        spk,
        opks,
    }
}

fn bundle(bob: &Bob, with_opk: bool) -> PreKeyBundle {
    PreKeyBundle {
        identity: bob.identity.public(),
        signed_prekey: bob.spk.public(),
        one_time_prekey: with_opk.then(|| (bob.opks[0].id(), bob.opks[0].public())),
    }
}

#[test]
fn both_sides_derive_the_same_secret_with_and_without_a_one_time_prekey() {
    let alice = IdentityKeyPair::generate(&mut seeded(1));
    let bob = bob(2);
    for with_opk in [true, false] {
        let (msg, a) = initiate(&alice, &bundle(&bob, with_opk), &mut seeded(3)).unwrap();
        let msg = InitialMessage::from_bytes(&msg.to_bytes()).unwrap();
        let opk = msg.one_time_prekey_id.map(|_| &bob.opks[0]);
        let b = respond(&bob.identity, &bob.spk, opk, &msg).unwrap();
        assert_eq!(a.secret, b.secret);
        assert_eq!(a.associated_data, b.associated_data);
        assert_eq!(&a.associated_data[..64], &alice.public().to_bytes());
        assert_eq!(&a.associated_data[64..], &bob.identity.public().to_bytes());
    }
}

#[test]
fn the_one_time_prekey_changes_the_secret() {
    let alice = IdentityKeyPair::generate(&mut seeded(1));
    let bob = bob(2);
    let (_, with) = initiate(&alice, &bundle(&bob, true), &mut seeded(3)).unwrap();
    let (_, without) = initiate(&alice, &bundle(&bob, false), &mut seeded(3)).unwrap();
    assert_ne!(with.secret, without.secret);
}

#[test]
fn a_forged_signed_prekey_is_refused() {
    let alice = IdentityKeyPair::generate(&mut seeded(1));
    let bob = bob(2);
    let mallory = bob_signed_by_someone_else(&bob);
    assert_eq!(
        initiate(&alice, &mallory, &mut seeded(3)).unwrap_err(),
        X3dhError::ForgedSignedPreKey
    );
}

fn bob_signed_by_someone_else(bob: &Bob) -> PreKeyBundle {
    let mallory = IdentityKeyPair::generate(&mut seeded(99));
    let fake = SignedPreKey::generate(&mallory, 1, 0, &mut seeded(98));
    PreKeyBundle {
        identity: bob.identity.public(),
        signed_prekey: SignedPreKeyPublic { ..fake.public() },
        one_time_prekey: None,
    }
}

#[test]
fn low_order_peer_keys_are_refused_with_a_distinct_error() {
    let alice = IdentityKeyPair::generate(&mut seeded(1));
    let bob = bob(2);
    let mut b = bundle(&bob, true);
    b.one_time_prekey = Some((10, PublicKey::from([0u8; 32])));
    assert_eq!(
        initiate(&alice, &b, &mut seeded(3)).unwrap_err(),
        X3dhError::NonContributory
    );
    // A responder refuses an all-zero ephemeral key.
    let (mut msg, _) = initiate(&alice, &bundle(&bob, false), &mut seeded(3)).unwrap();
    msg.ephemeral = PublicKey::from([0u8; 32]);
    assert_eq!(
        respond(&bob.identity, &bob.spk, None, &msg).unwrap_err(),
        X3dhError::NonContributory
    );
}

#[test]
fn unknown_or_used_prekeys_are_refused() {
    let alice = IdentityKeyPair::generate(&mut seeded(1));
    let bob = bob(2);
    let (msg, _) = initiate(&alice, &bundle(&bob, true), &mut seeded(3)).unwrap();
    // The one-time prekey was already used and deleted.
    assert_eq!(
        respond(&bob.identity, &bob.spk, None, &msg).unwrap_err(),
        X3dhError::UnknownPreKey
    );
    assert_eq!(
        respond(&bob.identity, &bob.spk, Some(&bob.opks[1]), &msg).unwrap_err(),
        X3dhError::UnknownPreKey
    );
    let rotated = SignedPreKey::generate(&bob.identity, 2, 0, &mut seeded(5));
    assert_eq!(
        respond(&bob.identity, &rotated, Some(&bob.opks[0]), &msg).unwrap_err(),
        X3dhError::UnknownPreKey
    );
}

#[test]
fn an_identity_swap_gives_a_different_secret_and_associated_data() {
    // Unknown key-share: what Alice set up with Bob must not look like a session with Carol.
    let alice = IdentityKeyPair::generate(&mut seeded(1));
    let bob = bob(2);
    let carol = IdentityKeyPair::generate(&mut seeded(4));
    let (mut msg, a) = initiate(&alice, &bundle(&bob, false), &mut seeded(3)).unwrap();
    msg.identity = carol.public();
    let b = respond(&bob.identity, &bob.spk, None, &msg).unwrap();
    assert_ne!(a.secret, b.secret);
    assert_ne!(a.associated_data, b.associated_data);
}

#[test]
fn malformed_initial_messages_are_errors() {
    let alice = IdentityKeyPair::generate(&mut seeded(1));
    let bob = bob(2);
    let (msg, _) = initiate(&alice, &bundle(&bob, true), &mut seeded(3)).unwrap();
    let bytes = msg.to_bytes();
    for len in 0..bytes.len() {
        assert!(InitialMessage::from_bytes(&bytes[..len]).is_err());
    }
    let mut v9 = bytes.clone();
    v9[0] = 9;
    assert_eq!(
        InitialMessage::from_bytes(&v9),
        Err(X3dhError::UnsupportedVersion(9))
    );
    let mut long = bytes;
    long.push(0);
    assert_eq!(
        InitialMessage::from_bytes(&long),
        Err(X3dhError::Malformed("trailing bytes"))
    );
}

#[test]
fn debug_of_the_shared_secret_leaks_nothing() {
    let alice = IdentityKeyPair::generate(&mut seeded(1));
    let bob = bob(2);
    let (_, a) = initiate(&alice, &bundle(&bob, true), &mut seeded(3)).unwrap();
    let shown = format!("{a:?}");
    assert!(!shown.contains(&format!("{:?}", &a.secret.as_bytes()[..4])));
    assert!(shown.contains("<redacted>"));
}

#[test]
fn a_replayed_initial_message_without_a_one_time_prekey_is_refused() {
    let alice = IdentityKeyPair::generate(&mut seeded(1));
    let bob = bob(2);
    let (msg, a) = initiate(&alice, &bundle(&bob, false), &mut seeded(3)).unwrap();
    // X3DH alone cannot tell: the same message derives the same secret twice.
    let first = respond(&bob.identity, &bob.spk, None, &msg).unwrap();
    let again = respond(&bob.identity, &bob.spk, None, &msg).unwrap();
    assert_eq!(first.secret, again.secret);
    assert_eq!(first.secret, a.secret);
    // With the guard the second one is a replay.
    let mut guard = ReplayGuard::default();
    respond_once(&mut guard, &bob.identity, &bob.spk, None, &msg).unwrap();
    assert_eq!(
        respond_once(&mut guard, &bob.identity, &bob.spk, None, &msg).unwrap_err(),
        X3dhError::Replayed
    );
    // A fresh setup by the same initiator is not a replay.
    let (fresh, _) = initiate(&alice, &bundle(&bob, false), &mut seeded(4)).unwrap();
    respond_once(&mut guard, &bob.identity, &bob.spk, None, &fresh).unwrap();
    assert_eq!(guard.len(), 2);
    // The guard survives a restart.
    let mut guard = ReplayGuard::from_bytes(&guard.to_bytes()).unwrap();
    assert_eq!(
        respond_once(&mut guard, &bob.identity, &bob.spk, None, &msg).unwrap_err(),
        X3dhError::Replayed
    );
    let bytes = guard.to_bytes();
    for len in 0..bytes.len() {
        assert!(ReplayGuard::from_bytes(&bytes[..len]).is_err());
    }
    // Entries go with their signed prekey.
    guard.retain_signed_prekeys(&[2]);
    assert!(guard.is_empty());
}

#[test]
fn a_failed_setup_is_not_recorded_by_the_guard() {
    let alice = IdentityKeyPair::generate(&mut seeded(1));
    let bob = bob(2);
    let (msg, _) = initiate(&alice, &bundle(&bob, true), &mut seeded(3)).unwrap();
    let mut guard = ReplayGuard::default();
    // The one-time prekey is missing: an error, and nothing remembered.
    assert_eq!(
        respond_once(&mut guard, &bob.identity, &bob.spk, None, &msg).unwrap_err(),
        X3dhError::UnknownPreKey
    );
    assert!(guard.is_empty());
    respond_once(
        &mut guard,
        &bob.identity,
        &bob.spk,
        Some(&bob.opks[0]),
        &msg,
    )
    .unwrap();
}
