//! The symmetric-key ratchet shared by the Double Ratchet and sender keys: HMAC-SHA256 chain
//! steps and the AES-256-GCM key and nonce derived from each message key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::wire::fill;

/// A 32-byte chain key or message key, zeroed on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Key32(pub(crate) [u8; 32]);

/// The first 32 bytes of `s` (zero-padded if shorter).
pub(crate) fn to32(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    fill(&mut out, &[s]);
    out
}

/// KDF_CK: HMAC(chain key, 0x01) → message key, HMAC(chain key, 0x02) → next chain key.
pub(crate) fn kdf_chain(chain: &Key32) -> (Key32, Key32) {
    let step = |byte: u8| {
        // HMAC accepts keys of any length: new_from_slice cannot fail for 32 bytes.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&chain.0) {
            Ok(m) => m,
            Err(_) => return Key32([0; 32]),
        };
        mac.update(&[byte]);
        Key32(to32(&mac.finalize().into_bytes()))
    };
    (step(0x01), step(0x02))
}

/// The AES-256-GCM cipher and 12-byte nonce of one message: HKDF-SHA256(zero salt, message
/// key, `info`) → 32-byte key ‖ 12-byte nonce. Each message key is used once, so the nonce is
/// never reused under a key.
fn message_cipher(message_key: &Key32, info: &[u8]) -> (Aes256Gcm, [u8; 12]) {
    let hk = Hkdf::<Sha256>::new(Some(&[0u8; 32]), &message_key.0);
    let mut okm = Zeroizing::new([0u8; 44]);
    // 44 bytes is far below HKDF-SHA256's limit: expand cannot fail.
    let _ = hk.expand(info, okm.as_mut());
    let (key, nonce) = okm.split_at(32);
    let key = Zeroizing::new(to32(key));
    let mut n = [0u8; 12];
    fill(&mut n, &[nonce]);
    (Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)), n)
}

/// Encrypts `plaintext` under the cipher and nonce derived from `message_key`; `None` only if
/// the plaintext exceeds AES-GCM's limit.
pub(crate) fn seal(
    message_key: &Key32,
    info: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> Option<Vec<u8>> {
    let (cipher, nonce) = message_cipher(message_key, info);
    cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .ok()
}

/// Decrypts what [`seal`] produced; `None` when authentication fails.
pub(crate) fn open(
    message_key: &Key32,
    info: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let (cipher, nonce) = message_cipher(message_key, info);
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}
