//! The wire format of the attachment cipher, pinned by a vector from an independent implementation
//! (`tests/data/attachment_golden.py`). If this fails, the ciphertext on the wire changed.

mod common;

use std::collections::BTreeMap;

use missiva_crypto::attachment::{self, AttachmentKey};
use sha2::{Digest as _, Sha256};

const GOLDEN: &str = include_str!("data/attachment_golden.txt");

fn golden() -> BTreeMap<&'static str, &'static str> {
    common::parse_golden(GOLDEN)
}

fn golden_plaintext() -> Vec<u8> {
    (0..150 * 1024).map(|i| (i % 251) as u8).collect()
}

#[test]
fn ciphertext_matches_the_golden_vector() {
    let golden = golden();
    let key = AttachmentKey::from_bytes(&hex::decode(golden["key"]).unwrap()).unwrap();
    let plaintext = golden_plaintext();
    assert_eq!(
        golden["plaintext"],
        format!("{} bytes, byte i = i % 251", plaintext.len())
    );

    let mut blob = Vec::new();
    let written = attachment::encrypt(&key, plaintext.as_slice(), &mut blob).unwrap();

    assert_eq!(blob.len().to_string(), golden["ciphertext_len"]);
    assert_eq!(written, blob.len() as u64);
    assert_eq!(
        hex::encode(Sha256::digest(&blob)),
        golden["ciphertext_sha256"]
    );
    assert_eq!(hex::encode(&blob[..64]), golden["ciphertext_head"]);
    assert_eq!(
        hex::encode(&blob[blob.len() - 32..]),
        golden["ciphertext_tail"]
    );
}

#[test]
fn golden_ciphertext_decrypts() {
    let golden = golden();
    let key = AttachmentKey::from_bytes(&hex::decode(golden["key"]).unwrap()).unwrap();
    let mut blob = Vec::new();
    attachment::encrypt(&key, golden_plaintext().as_slice(), &mut blob).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&blob)),
        golden["ciphertext_sha256"]
    );
    let mut plaintext = Vec::new();
    attachment::decrypt(&key, blob.as_slice(), &mut plaintext).unwrap();
    assert!(plaintext == golden_plaintext());
}
