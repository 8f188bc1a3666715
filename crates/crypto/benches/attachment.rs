//! Throughput of the attachment cipher over a 256 MiB in-memory file.
//!
//! `cargo bench -p missiva-crypto --bench attachment`; compare with
//! `openssl speed -evp aes-256-gcm` (the figure for 16384-byte blocks).

#![allow(clippy::expect_used, reason = "benchmark setup, not shipped code")]

use std::io;
use std::sync::OnceLock;

use divan::Bencher;
use divan::counter::BytesCount;
use missiva_crypto::attachment::{self, AttachmentKey};

const LEN: usize = 256 * 1024 * 1024;

fn main() {
    divan::main();
}

fn key() -> AttachmentKey {
    AttachmentKey::from_bytes(&[0x42; attachment::KEY_LEN]).expect("32 bytes are a key")
}

fn plaintext() -> &'static [u8] {
    static PLAINTEXT: OnceLock<Vec<u8>> = OnceLock::new();
    PLAINTEXT.get_or_init(|| (0..LEN).map(|i| (i % 251) as u8).collect())
}

fn ciphertext() -> &'static [u8] {
    static CIPHERTEXT: OnceLock<Vec<u8>> = OnceLock::new();
    CIPHERTEXT.get_or_init(|| {
        let mut blob =
            Vec::with_capacity(LEN + LEN / attachment::CHUNK_SIZE * attachment::TAG_SIZE + 64);
        attachment::encrypt(&key(), plaintext(), &mut blob).expect("in-memory encryption");
        blob
    })
}

/// Encrypts 256 MiB from memory into `io::sink()`; bytes/s counts plaintext.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn encrypt_256_mib(bencher: Bencher) {
    let key = key();
    let plaintext = plaintext();
    bencher
        .counter(BytesCount::new(LEN))
        .bench(|| attachment::encrypt(&key, divan::black_box(plaintext), io::sink()));
}

/// Decrypts a 256 MiB file's blob from memory into `io::sink()`; bytes/s counts plaintext.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn decrypt_256_mib(bencher: Bencher) {
    let key = key();
    let ciphertext = ciphertext();
    bencher
        .counter(BytesCount::new(LEN))
        .bench(|| attachment::decrypt(&key, divan::black_box(ciphertext), io::sink()));
}
