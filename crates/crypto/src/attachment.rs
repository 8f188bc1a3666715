//! The attachment cipher: a random key per file and chunked AES-256-GCM in the STREAM
//! construction (Hoang, Reyhanitabar, Rogaway, Vizár: "Online authenticated-encryption and its
//! nonce-reuse misuse-resistance"), so a file of any size streams through one 64 KiB chunk of
//! memory while truncation, reordering, chunk swaps and appended data are all detected.
//!
//! The key travels inside the (already end-to-end encrypted) message; the relay stores only the
//! ciphertext blob. There is no separate digest of the blob: every chunk's tag already
//! authenticates it under a key only the sender and the recipients hold, and the nonce's index and
//! last flag bind the chunks' order and the end, so any change to the blob fails decryption.
//! (A SHA-256 over the whole blob cost two thirds of the throughput and added no protection.)
//!
//! # Wire format, version 1
//!
//! ```text
//! blob       = segment_0 ‖ … ‖ segment_n
//! segment_i  = AES-256-GCM(aes_key, nonce_i, aad, chunk_i) ‖ tag_i          (tag: 16 bytes)
//! chunk_i    = exactly CHUNK_SIZE (65 536) plaintext bytes for i < n,
//!              0..=CHUNK_SIZE bytes for i = n (an empty file is one empty last chunk)
//! nonce_i    = prefix (7 bytes) ‖ i (u32, big-endian) ‖ last flag (0x01 if i = n, else 0x00)
//! aad        = "missiva attachment" ‖ FORMAT_VERSION (1 byte) ‖ CHUNK_SIZE (u32, big-endian)
//! aes_key ‖ prefix = HKDF-SHA256(salt: none, ikm: secret, info: "missiva attachment v1"), 39 bytes
//! ```
//!
//! The blob carries no header: the format version is bound into every tag through the associated
//! data, and travels with the key inside the message. The per-file key and nonce prefix are derived
//! from one random 32-byte secret so that the message carries 32 bytes, the two halves can never
//! be paired wrongly, and a future version derives unrelated keys from the same secret. A secret
//! must encrypt one file only: encrypting two files with it would reuse nonces.

use std::io::{self, Read, Write};

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{self, AeadInOut, KeyInit};
use hkdf::Hkdf;
use rand::CryptoRng;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Plaintext bytes per chunk; every chunk but the last is exactly this long.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Bytes of authentication tag after each chunk's ciphertext.
pub const TAG_SIZE: usize = 16;
/// Bytes of one full segment on the wire: a full chunk's ciphertext and its tag.
pub const SEGMENT_SIZE: usize = CHUNK_SIZE + TAG_SIZE;
/// The wire format version, bound into every chunk's tag.
pub const FORMAT_VERSION: u8 = 1;
/// Length of a serialized [`AttachmentKey`].
pub const KEY_LEN: usize = 32;

const NONCE_PREFIX_LEN: usize = 7;
const AES_KEY_LEN: usize = 32;
const KDF_INFO: &[u8] = b"missiva attachment v1";
const AAD_LABEL: &[u8] = b"missiva attachment";

/// Everything that can go wrong encrypting or decrypting an attachment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttachmentError {
    /// The ciphertext ended before its last chunk (cut at a chunk boundary, or shorter than a tag).
    #[error("the attachment ends before its last chunk")]
    Truncated,
    /// A chunk failed authentication: modified, swapped, reordered, cut mid-chunk, or the wrong key.
    #[error("attachment chunk {chunk} failed authentication")]
    Tampered {
        /// Index of the first chunk that failed.
        chunk: u32,
    },
    /// Bytes follow the chunk the sender marked as last.
    #[error("the attachment has data after its last chunk")]
    TrailingData,
    /// The file needs more than 2^32 chunks (256 TiB), so the chunk counter would wrap.
    #[error("the attachment is too large: more than 2^32 chunks")]
    TooLarge,
    /// Key bytes of the wrong length.
    #[error("malformed attachment key")]
    BadKey,
    /// The incremental API was handed a chunk or segment of the wrong length.
    #[error("chunk of {len} bytes where {expected} were expected")]
    BadChunkLength {
        /// What was given.
        len: usize,
        /// What was expected (the upper bound, for a last chunk).
        expected: usize,
    },
    /// Reading the input or writing the output failed.
    #[error("attachment I/O failed: {0}")]
    Io(#[from] io::Error),
}

/// The secret that encrypts one attachment. Zeroed on drop; `Debug` prints `<redacted>`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct AttachmentKey {
    secret: [u8; KEY_LEN],
}

impl AttachmentKey {
    /// A fresh random key from `rng`, for one file only.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut secret = [0u8; KEY_LEN];
        rng.fill_bytes(&mut secret);
        Self { secret }
    }

    /// The key from the bytes a message carried (or fixed bytes in a test).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AttachmentError> {
        let secret = <[u8; KEY_LEN]>::try_from(bytes).map_err(|_| AttachmentError::BadKey)?;
        Ok(Self { secret })
    }

    /// The bytes to carry inside the encrypted message.
    pub fn to_bytes(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.secret)
    }

    /// The AES-256-GCM instance and nonce prefix this secret stands for.
    fn derive(&self) -> Result<(Aes256Gcm, [u8; NONCE_PREFIX_LEN]), AttachmentError> {
        let mut okm = Zeroizing::new([0u8; AES_KEY_LEN + NONCE_PREFIX_LEN]);
        Hkdf::<Sha256>::new(None, &self.secret)
            .expand(KDF_INFO, okm.as_mut_slice())
            .map_err(|_| AttachmentError::BadKey)?;
        let (aes_key, prefix) = okm
            .split_at_checked(AES_KEY_LEN)
            .ok_or(AttachmentError::BadKey)?;
        let cipher = Aes256Gcm::new_from_slice(aes_key).map_err(|_| AttachmentError::BadKey)?;
        let prefix =
            <[u8; NONCE_PREFIX_LEN]>::try_from(prefix).map_err(|_| AttachmentError::BadKey)?;
        Ok((cipher, prefix))
    }
}

impl std::fmt::Debug for AttachmentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttachmentKey(<redacted>)")
    }
}

/// The state shared by both directions: cipher, nonce prefix, next chunk index.
struct Stream {
    cipher: Aes256Gcm,
    prefix: [u8; NONCE_PREFIX_LEN],
    // A u64 so that "one past u32::MAX" is representable and reported as `TooLarge`.
    counter: u64,
}

impl Stream {
    fn new(key: &AttachmentKey) -> Result<Self, AttachmentError> {
        let (cipher, prefix) = key.derive()?;
        Ok(Self {
            cipher,
            prefix,
            counter: 0,
        })
    }

    fn index(&self) -> Result<u32, AttachmentError> {
        u32::try_from(self.counter).map_err(|_| AttachmentError::TooLarge)
    }

    fn nonce(&self, index: u32, last: bool) -> aead::Nonce<Aes256Gcm> {
        let mut nonce = [0u8; NONCE_PREFIX_LEN + 5];
        let (prefix, rest) = nonce.split_at_mut(NONCE_PREFIX_LEN);
        prefix.copy_from_slice(&self.prefix);
        let (counter, flag) = rest.split_at_mut(4);
        counter.copy_from_slice(&index.to_be_bytes());
        flag.fill(u8::from(last));
        nonce.into()
    }

    fn seal(&mut self, chunk: &mut Vec<u8>, last: bool) -> Result<(), AttachmentError> {
        let index = self.index()?;
        let nonce = self.nonce(index, last);
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &aad(), chunk.as_mut_slice().into())
            // Unreachable: a chunk is far below GCM's 64 GiB message limit.
            .map_err(|_| AttachmentError::TooLarge)?;
        chunk.extend_from_slice(&tag);
        self.counter += 1;
        Ok(())
    }

    fn open(&mut self, segment: &mut Vec<u8>, last: bool) -> Result<(), AttachmentError> {
        let index = self.index()?;
        let body_len = segment
            .len()
            .checked_sub(TAG_SIZE)
            .ok_or(AttachmentError::Truncated)?;
        let (body, tag) = segment
            .split_at_mut_checked(body_len)
            .ok_or(AttachmentError::Truncated)?;
        let tag =
            aead::Tag::<Aes256Gcm>::try_from(&*tag).map_err(|_| AttachmentError::Truncated)?;
        let aad = aad();
        if self
            .cipher
            .decrypt_inout_detached(&self.nonce(index, last), &aad, body.into(), &tag)
            .is_ok()
        {
            segment.truncate(body_len);
            self.counter += 1;
            return Ok(());
        }
        // The tag failed. Trying the other last-flag costs one more GHASH on this failure path only
        // and tells a cut at a chunk boundary or appended data apart from tampering. AES-GCM leaves
        // the buffer untouched when the tag fails, so the retry sees the same ciphertext. Only a
        // full segment can be a non-last chunk, so a short one is not worth the retry.
        let other_flag_verifies = body.len() == CHUNK_SIZE
            && self
                .cipher
                .decrypt_inout_detached(&self.nonce(index, !last), &aad, body.into(), &tag)
                .is_ok();
        // Hand back no plaintext from a stream that failed.
        segment.zeroize();
        Err(match (other_flag_verifies, last) {
            (true, true) => AttachmentError::Truncated,
            (true, false) => AttachmentError::TrailingData,
            (false, _) => AttachmentError::Tampered { chunk: index },
        })
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("key", &"<redacted>")
            .field("next_chunk", &self.counter)
            .finish_non_exhaustive()
    }
}

/// The associated data of every chunk: binds the format version and chunk size.
fn aad() -> [u8; AAD_LABEL.len() + 5] {
    let mut aad = [0u8; AAD_LABEL.len() + 5];
    let (label, rest) = aad.split_at_mut(AAD_LABEL.len());
    label.copy_from_slice(AAD_LABEL);
    let (version, size) = rest.split_at_mut(1);
    version.fill(FORMAT_VERSION);
    // CHUNK_SIZE is a constant far below u32::MAX.
    size.copy_from_slice(&(CHUNK_SIZE as u32).to_be_bytes());
    aad
}

/// Encrypts an attachment chunk by chunk, in place, without `std::io`.
#[derive(Debug)]
pub struct Encryptor(Stream);

impl Encryptor {
    /// An encryptor for the one file `key` belongs to.
    pub fn new(key: &AttachmentKey) -> Result<Self, AttachmentError> {
        Stream::new(key).map(Self)
    }

    /// Seals a chunk that is not the last: `chunk` holds exactly [`CHUNK_SIZE`] plaintext bytes
    /// and is replaced by its segment (ciphertext ‖ tag), ready to send.
    pub fn push(&mut self, chunk: &mut Vec<u8>) -> Result<(), AttachmentError> {
        if chunk.len() != CHUNK_SIZE {
            return Err(AttachmentError::BadChunkLength {
                len: chunk.len(),
                expected: CHUNK_SIZE,
            });
        }
        self.0.seal(chunk, false)
    }

    /// Seals the last chunk (0..=[`CHUNK_SIZE`] bytes) in place; the encryptor is used up.
    pub fn finish(mut self, chunk: &mut Vec<u8>) -> Result<(), AttachmentError> {
        if chunk.len() > CHUNK_SIZE {
            return Err(AttachmentError::BadChunkLength {
                len: chunk.len(),
                expected: CHUNK_SIZE,
            });
        }
        self.0.seal(chunk, true)
    }
}

/// Decrypts an attachment segment by segment, in place, without `std::io`.
///
/// Each chunk is authenticated before its plaintext is released, but only [`Decryptor::finish`]
/// proves the file is complete: discard everything on any error.
#[derive(Debug)]
pub struct Decryptor(Stream);

impl Decryptor {
    /// A decryptor for the one file `key` belongs to.
    pub fn new(key: &AttachmentKey) -> Result<Self, AttachmentError> {
        Stream::new(key).map(Self)
    }

    /// Opens a segment that is not the last: `segment` holds exactly [`SEGMENT_SIZE`] bytes and is
    /// replaced by its plaintext chunk.
    pub fn push(&mut self, segment: &mut Vec<u8>) -> Result<(), AttachmentError> {
        if segment.len() != SEGMENT_SIZE {
            return Err(AttachmentError::BadChunkLength {
                len: segment.len(),
                expected: SEGMENT_SIZE,
            });
        }
        self.0.open(segment, false)
    }

    /// Opens the last segment ([`TAG_SIZE`]..=[`SEGMENT_SIZE`] bytes) in place: success proves the
    /// file complete.
    pub fn finish(mut self, segment: &mut Vec<u8>) -> Result<(), AttachmentError> {
        if segment.len() > SEGMENT_SIZE {
            return Err(AttachmentError::BadChunkLength {
                len: segment.len(),
                expected: SEGMENT_SIZE,
            });
        }
        self.0.open(segment, true)
    }
}

/// Encrypts everything `reader` yields into `writer`, holding one chunk in memory; returns the
/// number of ciphertext bytes written (the blob's length).
pub fn encrypt<R: Read, W: Write>(
    key: &AttachmentKey,
    mut reader: R,
    mut writer: W,
) -> Result<u64, AttachmentError> {
    let mut written = 0u64;
    let mut encryptor = Encryptor::new(key)?;
    let mut buffer = Vec::with_capacity(SEGMENT_SIZE + 1);
    // One byte read past a full chunk tells whether that chunk is the last, so a file of exactly
    // n chunks is n segments, without an empty one after them.
    let mut lookahead = None;
    loop {
        buffer.clear();
        buffer.extend(lookahead.take());
        read_up_to(&mut reader, &mut buffer, CHUNK_SIZE + 1)?;
        if buffer.len() > CHUNK_SIZE {
            lookahead = buffer.pop();
            encryptor.push(&mut buffer)?;
            writer.write_all(&buffer)?;
            written += buffer.len() as u64;
        } else {
            encryptor.finish(&mut buffer)?;
            writer.write_all(&buffer)?;
            writer.flush()?;
            return Ok(written + buffer.len() as u64);
        }
    }
}

/// Decrypts the blob `reader` yields into `writer`, holding one chunk in memory; returns the
/// number of plaintext bytes written.
///
/// Plaintext is written chunk by chunk as each is authenticated, before the end of the stream is
/// checked: on any error, discard what was written.
pub fn decrypt<R: Read, W: Write>(
    key: &AttachmentKey,
    mut reader: R,
    mut writer: W,
) -> Result<u64, AttachmentError> {
    let mut written = 0u64;
    let mut decryptor = Decryptor::new(key)?;
    let mut buffer = Vec::with_capacity(SEGMENT_SIZE + 1);
    // One byte read past a full segment tells whether that segment must be the last.
    let mut lookahead = None;
    loop {
        buffer.clear();
        buffer.extend(lookahead.take());
        read_up_to(&mut reader, &mut buffer, SEGMENT_SIZE + 1)?;
        if buffer.len() > SEGMENT_SIZE {
            lookahead = buffer.pop();
            decryptor.push(&mut buffer)?;
            writer.write_all(&buffer)?;
            written += buffer.len() as u64;
        } else {
            decryptor.finish(&mut buffer)?;
            writer.write_all(&buffer)?;
            writer.flush()?;
            return Ok(written + buffer.len() as u64);
        }
    }
}

/// Appends to `buffer` from `reader` until it holds `limit` bytes or the reader is exhausted.
fn read_up_to<R: Read>(reader: &mut R, buffer: &mut Vec<u8>, limit: usize) -> io::Result<()> {
    let wanted = limit.saturating_sub(buffer.len());
    reader
        .by_ref()
        .take(u64::try_from(wanted).unwrap_or(u64::MAX))
        .read_to_end(buffer)?;
    Ok(())
}

#[cfg(test)]
mod tests;
