//! Sender-key throughput: encrypting (HMAC chain step, AES-256-GCM, Ed25519 signature) and
//! decrypting (strict signature check, chain step, AES-256-GCM) 100-byte group messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::Bencher;
use divan::counter::ItemsCount;
use missiva_crypto::sender_keys::{SenderKey, SenderKeyRecord};

fn main() {
    divan::main();
}

fn seeded(seed: u64) -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(seed)
}

const MESSAGE: [u8; 100] = [0x42; 100];
const GROUP: &[u8] = b"bench group";

/// Encrypt and sign one 100-byte group message.
#[divan::bench(sample_count = 20, sample_size = 1000)]
fn encrypt(bencher: Bencher) {
    let mut sender = SenderKey::generate(GROUP, &mut seeded(1)).unwrap();
    bencher
        .counter(ItemsCount::new(1usize))
        .bench_local(|| sender.encrypt(&MESSAGE).unwrap());
}

/// Verify and decrypt one 100-byte group message, in order (each encrypted outside the timing).
#[divan::bench(sample_count = 20, sample_size = 1000)]
fn decrypt(bencher: Bencher) {
    let mut sender = SenderKey::generate(GROUP, &mut seeded(2)).unwrap();
    let mut record = SenderKeyRecord::from_distribution(&sender.distribution_message());
    bencher
        .counter(ItemsCount::new(1usize))
        .with_inputs(|| sender.encrypt(&MESSAGE).unwrap())
        .bench_local_refs(|m| record.decrypt(m).unwrap());
}

/// Encrypt + decrypt of one 100-byte message: the whole path of one group message to one member.
#[divan::bench(sample_count = 20, sample_size = 1000)]
fn encrypt_decrypt(bencher: Bencher) {
    let mut sender = SenderKey::generate(GROUP, &mut seeded(3)).unwrap();
    let mut record = SenderKeyRecord::from_distribution(&sender.distribution_message());
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
        let m = sender.encrypt(&MESSAGE).unwrap();
        record.decrypt(&m).unwrap()
    });
}
