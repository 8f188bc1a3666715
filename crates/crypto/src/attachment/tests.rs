use super::*;

use std::io::Cursor;

fn key() -> AttachmentKey {
    AttachmentKey::from_bytes(&[7u8; KEY_LEN]).unwrap()
}

fn other_key() -> AttachmentKey {
    AttachmentKey::from_bytes(&[8u8; KEY_LEN]).unwrap()
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn seal(plaintext: &[u8]) -> (Vec<u8>, u64) {
    let mut blob = Vec::new();
    let written = encrypt(&key(), plaintext, &mut blob).unwrap();
    (blob, written)
}

/// Decrypted bytes whose `Debug` is their length, so a failed assertion prints a line, not a file.
#[derive(PartialEq)]
struct Opened(Vec<u8>);

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Opened({} bytes)", self.0.len())
    }
}

fn open(blob: &[u8]) -> Result<Opened, AttachmentError> {
    open_with(&key(), blob)
}

fn open_with(key: &AttachmentKey, blob: &[u8]) -> Result<Opened, AttachmentError> {
    let mut out = Vec::new();
    decrypt(key, blob, &mut out)?;
    Ok(Opened(out))
}

/// A blob of three full chunks and a short fourth: four segments.
fn four_segment_blob() -> Vec<u8> {
    seal(&plaintext(3 * CHUNK_SIZE + 1000)).0
}

fn segments(blob: &[u8]) -> Vec<Vec<u8>> {
    blob.chunks(SEGMENT_SIZE).map(<[u8]>::to_vec).collect()
}

#[test]
fn round_trips_at_chunk_edges() {
    for len in [
        0,
        1,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        2 * CHUNK_SIZE,
        3 * CHUNK_SIZE + 1000,
    ] {
        let data = plaintext(len);
        let (blob, _) = seal(&data);
        let chunks = len.div_ceil(CHUNK_SIZE).max(1);
        assert_eq!(
            blob.len(),
            len + chunks * TAG_SIZE,
            "ciphertext length for {len} bytes"
        );
        assert!(open(&blob).unwrap().0 == data, "round trip of {len} bytes");
    }
}

#[test]
fn empty_file_is_one_empty_last_chunk() {
    let (blob, _) = seal(&[]);
    assert_eq!(blob.len(), TAG_SIZE);
    assert!(open(&blob).unwrap().0.is_empty());
}

#[test]
fn ciphertext_hides_the_plaintext() {
    let data = plaintext(CHUNK_SIZE);
    let (blob, _) = seal(&data);
    assert_ne!(blob.get(..CHUNK_SIZE).unwrap(), data.as_slice());
}

#[test]
fn encrypt_and_decrypt_report_the_bytes_they_wrote() {
    let data = plaintext(2 * CHUNK_SIZE + 5);
    let (blob, written) = seal(&data);
    assert_eq!(written, blob.len() as u64);
    let mut out = Vec::new();
    assert_eq!(
        decrypt(&key(), blob.as_slice(), &mut out).unwrap(),
        data.len() as u64
    );
}

#[test]
fn truncation_at_every_chunk_boundary_is_detected() {
    let blob = four_segment_blob();
    for segments in 0..4 {
        let cut = blob.get(..segments * SEGMENT_SIZE).unwrap();
        let result = open(cut);
        assert!(
            matches!(result, Err(AttachmentError::Truncated)),
            "cut after {segments} segments: {result:?}"
        );
    }
}

#[test]
fn truncation_at_the_boundary_of_an_exact_multiple_is_detected() {
    let (blob, _) = seal(&plaintext(2 * CHUNK_SIZE));
    assert_eq!(blob.len(), 2 * SEGMENT_SIZE);
    let result = open(blob.get(..SEGMENT_SIZE).unwrap());
    assert!(
        matches!(result, Err(AttachmentError::Truncated)),
        "{result:?}"
    );
}

#[test]
fn truncation_mid_chunk_is_detected() {
    let blob = four_segment_blob();
    for cut in [
        1,
        TAG_SIZE - 1,
        TAG_SIZE,
        TAG_SIZE + 1,
        SEGMENT_SIZE - 1,
        SEGMENT_SIZE + 1,
        2 * SEGMENT_SIZE + 77,
        blob.len() - 1,
    ] {
        let result = open(blob.get(..cut).unwrap());
        assert!(
            matches!(
                result,
                Err(AttachmentError::Truncated | AttachmentError::Tampered { .. })
            ),
            "cut at {cut}: {result:?}"
        );
    }
    let result = open(blob.get(..blob.len() - 1).unwrap());
    assert!(
        matches!(result, Err(AttachmentError::Tampered { chunk: 3 })),
        "{result:?}"
    );
}

#[test]
fn swapping_two_chunks_is_detected() {
    let mut parts = segments(&four_segment_blob());
    parts.swap(1, 2);
    let result = open(&parts.concat());
    assert!(
        matches!(result, Err(AttachmentError::Tampered { chunk: 1 })),
        "{result:?}"
    );
}

#[test]
fn reordering_chunks_is_detected() {
    let mut parts = segments(&four_segment_blob());
    parts.get_mut(..3).unwrap().rotate_left(1);
    let result = open(&parts.concat());
    assert!(
        matches!(result, Err(AttachmentError::Tampered { chunk: 0 })),
        "{result:?}"
    );
}

#[test]
fn dropping_a_middle_chunk_is_detected() {
    let mut parts = segments(&four_segment_blob());
    parts.remove(1);
    let result = open(&parts.concat());
    assert!(
        matches!(result, Err(AttachmentError::Tampered { chunk: 1 })),
        "{result:?}"
    );
}

#[test]
fn flipping_any_byte_is_detected() {
    let blob = four_segment_blob();
    let positions =
        (0..blob.len())
            .step_by(997)
            .chain([SEGMENT_SIZE - 1, SEGMENT_SIZE, blob.len() - 1]);
    for position in positions {
        let mut corrupt = blob.clone();
        corrupt[position] ^= 0x01;
        let result = open(&corrupt);
        let chunk = u32::try_from(position / SEGMENT_SIZE).unwrap();
        assert!(
            matches!(result, Err(AttachmentError::Tampered { chunk: c }) if c == chunk),
            "flip at {position}: {result:?}"
        );
    }
}

#[test]
fn appending_data_after_a_short_last_chunk_is_detected() {
    let mut blob = four_segment_blob();
    blob.extend_from_slice(b"extra");
    let result = open(&blob);
    assert!(
        matches!(result, Err(AttachmentError::Tampered { chunk: 3 })),
        "{result:?}"
    );
}

#[test]
fn appending_data_after_a_full_last_chunk_is_trailing_data() {
    let (blob, _) = seal(&plaintext(2 * CHUNK_SIZE));
    for extra in [&b"x"[..], &blob[..]] {
        let mut longer = blob.clone();
        longer.extend_from_slice(extra);
        let result = open(&longer);
        assert!(
            matches!(result, Err(AttachmentError::TrailingData)),
            "{} extra bytes: {result:?}",
            extra.len()
        );
    }
}

#[test]
fn wrong_key_fails() {
    let (blob, _) = seal(&plaintext(1000));
    let result = open_with(&other_key(), &blob);
    assert!(
        matches!(result, Err(AttachmentError::Tampered { chunk: 0 })),
        "{result:?}"
    );
}

#[test]
fn key_debug_leaks_nothing() {
    let bytes: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let key = AttachmentKey::from_bytes(&bytes).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(
        !debug.to_lowercase().contains(&hex::encode(&bytes[..])),
        "{debug}"
    );
    assert!(
        !debug.contains(format!("{:?}", bytes.get(..4).unwrap()).trim_matches(['[', ']'])),
        "{debug}"
    );
}

#[test]
fn stream_debug_leaks_no_key_material() {
    let key = key();
    let (aes_key, prefix) = {
        let mut okm = [0u8; 39];
        Hkdf::<Sha256>::new(None, &*key.to_bytes())
            .expand(KDF_INFO, &mut okm)
            .unwrap();
        (hex::encode(&okm[..32]), hex::encode(&okm[32..]))
    };
    for debug in [
        format!("{:?}", Encryptor::new(&key).unwrap()),
        format!("{:?}", Decryptor::new(&key).unwrap()),
    ] {
        assert!(debug.contains("<redacted>"), "{debug}");
        for secret in [
            hex::encode(*key.to_bytes()),
            aes_key.clone(),
            prefix.clone(),
        ] {
            assert!(!debug.to_lowercase().contains(&secret), "{debug}");
        }
        assert!(!debug.contains("7, 7, 7"), "{debug}");
    }
}

#[test]
fn key_bytes_round_trip() {
    let key = AttachmentKey::generate(&mut rand::rng());
    let carried = AttachmentKey::from_bytes(key.to_bytes().as_slice()).unwrap();
    let mut blob = Vec::new();
    encrypt(&key, &b"hello"[..], &mut blob).unwrap();
    assert_eq!(open_with(&carried, &blob).unwrap().0, b"hello");
}

#[test]
fn generated_keys_differ() {
    let a = AttachmentKey::generate(&mut rand::rng());
    let b = AttachmentKey::generate(&mut rand::rng());
    assert_ne!(*a.to_bytes(), *b.to_bytes());
}

#[test]
fn key_of_wrong_length_is_rejected() {
    for len in [0, 31, 33, 39] {
        let result = AttachmentKey::from_bytes(&vec![1; len]);
        assert!(
            matches!(result, Err(AttachmentError::BadKey)),
            "{len} bytes"
        );
    }
}

#[test]
fn nonce_is_prefix_then_big_endian_index_then_last_flag() {
    let stream = Stream::new(&key()).unwrap();
    let nonce = stream.nonce(0x0102_0304, true);
    assert_eq!(nonce.get(..7).unwrap(), stream.prefix.as_slice());
    assert_eq!(nonce.get(7..).unwrap(), [1, 2, 3, 4, 1].as_slice());
    assert_eq!(
        stream.nonce(5, false).get(7..).unwrap(),
        [0, 0, 0, 5, 0].as_slice()
    );
}

#[test]
fn counter_overflow_is_too_large() {
    let mut encryptor = Encryptor::new(&key()).unwrap();
    encryptor.0.counter = u64::from(u32::MAX);
    encryptor.push(&mut plaintext(CHUNK_SIZE)).unwrap();
    let result = encryptor.push(&mut plaintext(CHUNK_SIZE));
    assert!(
        matches!(result, Err(AttachmentError::TooLarge)),
        "{result:?}"
    );
    let result = encryptor.finish(&mut Vec::new());
    assert!(
        matches!(result, Err(AttachmentError::TooLarge)),
        "{result:?}"
    );

    let mut decryptor = Decryptor::new(&key()).unwrap();
    decryptor.0.counter = u64::from(u32::MAX) + 1;
    let result = decryptor.push(&mut vec![0; SEGMENT_SIZE]);
    assert!(
        matches!(result, Err(AttachmentError::TooLarge)),
        "{result:?}"
    );
}

#[test]
fn the_last_index_may_hold_the_last_chunk() {
    let mut encryptor = Encryptor::new(&key()).unwrap();
    encryptor.0.counter = u64::from(u32::MAX);
    let mut segment = plaintext(10);
    encryptor.finish(&mut segment).unwrap();
    let mut decryptor = Decryptor::new(&key()).unwrap();
    decryptor.0.counter = u64::from(u32::MAX);
    decryptor.finish(&mut segment).unwrap();
    assert_eq!(segment, plaintext(10));
}

#[test]
fn incremental_api_matches_the_streaming_one() {
    let data = plaintext(2 * CHUNK_SIZE + 3);
    let (expected, _) = seal(&data);

    let mut encryptor = Encryptor::new(&key()).unwrap();
    let mut blob = Vec::new();
    let mut chunks = data
        .chunks(CHUNK_SIZE)
        .map(<[u8]>::to_vec)
        .collect::<Vec<_>>();
    let mut last = chunks.pop().unwrap();
    for chunk in &mut chunks {
        encryptor.push(chunk).unwrap();
        blob.extend_from_slice(chunk);
    }
    encryptor.finish(&mut last).unwrap();
    blob.extend_from_slice(&last);
    assert_eq!(blob, expected);

    let mut decryptor = Decryptor::new(&key()).unwrap();
    let mut parts = segments(&blob);
    let mut last = parts.pop().unwrap();
    let mut plain = Vec::new();
    for part in &mut parts {
        decryptor.push(part).unwrap();
        plain.extend_from_slice(part);
    }
    decryptor.finish(&mut last).unwrap();
    plain.extend_from_slice(&last);
    assert_eq!(plain, data);
}

#[test]
fn incremental_api_rejects_chunks_of_the_wrong_length() {
    let mut encryptor = Encryptor::new(&key()).unwrap();
    let result = encryptor.push(&mut plaintext(CHUNK_SIZE - 1));
    assert!(
        matches!(result, Err(AttachmentError::BadChunkLength { len, .. }) if len == CHUNK_SIZE - 1)
    );
    let result = encryptor.finish(&mut plaintext(CHUNK_SIZE + 1));
    assert!(
        matches!(result, Err(AttachmentError::BadChunkLength { .. })),
        "{result:?}"
    );

    let mut decryptor = Decryptor::new(&key()).unwrap();
    let result = decryptor.push(&mut vec![0; SEGMENT_SIZE - 1]);
    assert!(
        matches!(result, Err(AttachmentError::BadChunkLength { .. })),
        "{result:?}"
    );
    let result = decryptor.finish(&mut vec![0; SEGMENT_SIZE + 1]);
    assert!(
        matches!(result, Err(AttachmentError::BadChunkLength { .. })),
        "{result:?}"
    );
}

#[test]
fn failed_chunk_releases_no_plaintext() {
    let (blob, _) = seal(&plaintext(2 * CHUNK_SIZE));
    let decryptor = Decryptor::new(&key()).unwrap();
    // The first segment is not the last, so opening it as the last succeeds only on the retry.
    let mut segment = blob.get(..SEGMENT_SIZE).unwrap().to_vec();
    let result = decryptor.finish(&mut segment);
    assert!(
        matches!(result, Err(AttachmentError::Truncated)),
        "{result:?}"
    );
    assert!(segment.is_empty());
}

/// Yields at most `step` bytes per read, as sockets and pipes do.
struct Trickle<R> {
    inner: R,
    step: usize,
}

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(self.step);
        self.inner.read(&mut buf[..len])
    }
}

#[test]
fn short_reads_give_the_same_result() {
    let data = plaintext(CHUNK_SIZE + 10);
    let (expected, _) = seal(&data);
    let mut blob = Vec::new();
    encrypt(
        &key(),
        Trickle {
            inner: data.as_slice(),
            step: 4093,
        },
        &mut blob,
    )
    .unwrap();
    assert_eq!(blob, expected);
    let mut plain = Vec::new();
    decrypt(
        &key(),
        Trickle {
            inner: Cursor::new(&blob),
            step: 1000,
        },
        &mut plain,
    )
    .unwrap();
    assert_eq!(plain, data);
}

struct Broken;

impl Read for Broken {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("disk on fire"))
    }
}

#[test]
fn io_errors_are_reported_as_io() {
    let result = encrypt(&key(), Broken, io::sink());
    assert!(matches!(result, Err(AttachmentError::Io(_))), "{result:?}");
    let result = decrypt(&key(), Broken, io::sink());
    assert!(matches!(result, Err(AttachmentError::Io(_))), "{result:?}");
}
