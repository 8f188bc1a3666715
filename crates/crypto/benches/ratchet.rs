//! Ratchet and X3DH throughput: 100-byte messages on a steady chain, with a DH turn on every
//! message, and full X3DH handshakes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::Bencher;
use divan::counter::ItemsCount;
use missiva_crypto::identity::IdentityKeyPair;
use missiva_crypto::prekeys::{OneTimePreKey, PreKeyBundle, SignedPreKey};
use missiva_crypto::ratchet::Session;
use missiva_crypto::x3dh;

fn main() {
    divan::main();
}

fn seeded(seed: u64) -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(seed)
}

struct Bob {
    identity: IdentityKeyPair,
    spk: SignedPreKey,
    opk: OneTimePreKey,
}

fn bob() -> Bob {
    let mut rng = seeded(2);
    let identity = IdentityKeyPair::generate(&mut rng);
    let spk = SignedPreKey::generate(&identity, 1, 0, &mut rng);
    let opk = OneTimePreKey::generate_batch(1, 1, &mut rng).pop().unwrap();
    Bob { identity, spk, opk }
}

fn bundle(bob: &Bob) -> PreKeyBundle {
    PreKeyBundle {
        identity: bob.identity.public(),
        signed_prekey: bob.spk.public(),
        one_time_prekey: Some((bob.opk.id(), bob.opk.public())),
    }
}

fn pair() -> (Session, Session) {
    let mut rng = seeded(1);
    let alice = IdentityKeyPair::generate(&mut rng);
    let bob = bob();
    let b = bundle(&bob);
    let (msg, a) = x3dh::initiate(&alice, &b, &mut rng).unwrap();
    let r = x3dh::respond(&bob.identity, &bob.spk, Some(&bob.opk), &msg).unwrap();
    let alice_s = Session::initiator(&a, &b.signed_prekey.key, &mut rng).unwrap();
    let bob_s = Session::responder(&r, &bob.spk);
    (alice_s, bob_s)
}

const MESSAGE: [u8; 100] = [0x42; 100];

/// Encrypt + decrypt of one 100-byte message on a steady sending chain (no DH turn).
#[divan::bench(sample_count = 20, sample_size = 1000)]
fn steady_chain_encrypt_decrypt(bencher: Bencher) {
    let (mut a, mut b) = pair();
    let mut rng = seeded(3);
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        let m = a.encrypt(&MESSAGE).unwrap();
        b.decrypt(&m, &mut rng).unwrap()
    });
}

/// Encrypt + decrypt where the direction alternates, so every message carries a DH turn.
#[divan::bench(sample_count = 20, sample_size = 100)]
fn dh_turn_every_message(bencher: Bencher) {
    let (mut a, mut b) = pair();
    let mut rng = seeded(4);
    let first = a.encrypt(&MESSAGE).unwrap();
    b.decrypt(&first, &mut rng).unwrap();
    let mut alice_turn = false;
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        let (from, to) = if alice_turn {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        alice_turn = !alice_turn;
        let m = from.encrypt(&MESSAGE).unwrap();
        to.decrypt(&m, &mut rng).unwrap()
    });
}

/// One complete X3DH: the initiator's side and the responder's side.
#[divan::bench(sample_count = 20, sample_size = 20)]
fn x3dh_handshake(bencher: Bencher) {
    let alice = IdentityKeyPair::generate(&mut seeded(5));
    let bob = bob();
    let b = bundle(&bob);
    let mut rng = seeded(6);
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        let (msg, _) = x3dh::initiate(&alice, &b, &mut rng).unwrap();
        x3dh::respond(&bob.identity, &bob.spk, Some(&bob.opk), &msg).unwrap()
    });
}
