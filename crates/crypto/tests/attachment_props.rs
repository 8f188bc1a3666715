//! Property tests of the attachment cipher: every file round-trips, and no single corrupted byte
//! goes unnoticed.

use missiva_crypto::attachment::{self, AttachmentError, AttachmentKey, CHUNK_SIZE};
use proptest::prelude::*;

/// Deterministic bytes from a seed: cheaper to shrink than a 200 KiB `Vec` strategy.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn seal(key: &AttachmentKey, plaintext: &[u8]) -> Result<Vec<u8>, AttachmentError> {
    let mut blob = Vec::new();
    attachment::encrypt(key, plaintext, &mut blob)?;
    Ok(blob)
}

fn open(key: &AttachmentKey, blob: &[u8]) -> Result<Vec<u8>, AttachmentError> {
    let mut plaintext = Vec::new();
    attachment::decrypt(key, blob, &mut plaintext)?;
    Ok(plaintext)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_file_round_trips(
        key in any::<[u8; 32]>(),
        len in prop_oneof![0..300usize, 0..3 * CHUNK_SIZE + 300],
        seed in any::<u64>(),
    ) {
        let key = AttachmentKey::from_bytes(&key).unwrap();
        let plaintext = bytes(len, seed);
        let blob = seal(&key, &plaintext).unwrap();
        let opened = open(&key, &blob).unwrap();
        prop_assert!(opened == plaintext, "round trip of {} bytes", len);
    }

    #[test]
    fn any_corrupted_byte_is_detected(
        len in prop_oneof![0..300usize, 0..3 * CHUNK_SIZE + 300],
        seed in any::<u64>(),
        position in any::<prop::sample::Index>(),
        mask in 1..=255u8,
    ) {
        let key = AttachmentKey::from_bytes(&[9; 32]).unwrap();
        let mut blob = seal(&key, &bytes(len, seed)).unwrap();
        let position = position.index(blob.len());
        blob[position] ^= mask;
        let result = open(&key, &blob);
        prop_assert!(
            matches!(result, Err(AttachmentError::Tampered { .. })),
            "flip at {} of {}: {:?}", position, blob.len(), result.as_ref().map(Vec::len)
        );
    }
}
