//! An account's long-term identity: an Ed25519 signing key and an X25519 agreement key, kept
//! separate (as Olm does) rather than reusing one secret via XEdDSA.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::CryptoRng;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::wire::fill;

/// Length of a serialized [`PublicIdentity`]: Ed25519 verifying key ‖ X25519 public key.
pub const PUBLIC_IDENTITY_LEN: usize = 64;
/// Length of a signature.
pub const SIGNATURE_LEN: usize = 64;

/// Errors about keys and signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key or signature had the wrong number of bytes.
    #[error("wrong length: expected {expected} bytes, got {got}")]
    WrongLength {
        /// What was expected.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// The bytes are not a valid Ed25519 public key.
    #[error("not a valid Ed25519 public key")]
    InvalidSigningKey,
    /// A signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A Diffie-Hellman with a peer key gave a non-contributory (all-zero) result: the peer key
    /// is a low-order point.
    #[error("the peer's X25519 key is a low-order point (non-contributory key agreement)")]
    NonContributory,
}

/// The secret half of an identity. Zeroed on drop; `Debug` prints `<redacted>`.
pub struct IdentityKeyPair {
    signing: SigningKey,
    agreement: StaticSecret,
}

impl std::fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityKeyPair(<redacted>)")
    }
}

impl IdentityKeyPair {
    /// A fresh identity from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        IdentityKeyPair {
            signing: SigningKey::generate(rng),
            agreement: StaticSecret::random_from_rng(rng),
        }
    }

    /// The public half, to publish.
    pub fn public(&self) -> PublicIdentity {
        PublicIdentity {
            signing: self.signing.verifying_key(),
            agreement: PublicKey::from(&self.agreement),
        }
    }

    /// Signs `message` with the identity's Ed25519 key.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.signing.sign(message).to_bytes()
    }

    pub(crate) fn agreement(&self) -> &StaticSecret {
        &self.agreement
    }

    /// The 64 secret bytes (signing seed ‖ agreement scalar), for the encrypted store.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 64]> {
        let mut out = Zeroizing::new([0u8; 64]);
        let signing = Zeroizing::new(self.signing.to_bytes());
        let agreement = Zeroizing::new(self.agreement.to_bytes());
        fill(out.as_mut(), &[signing.as_ref(), agreement.as_ref()]);
        out
    }

    /// Restores what [`IdentityKeyPair::to_bytes`] produced.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let (signing, agreement) = split_pair(bytes, 64)?;
        Ok(IdentityKeyPair {
            signing: SigningKey::from_bytes(&signing),
            agreement: StaticSecret::from(*agreement),
        })
    }
}

/// Two 32-byte key halves, zeroed on drop.
type Halves = (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>);

/// Splits exactly `len` = 64 bytes into two zeroizing 32-byte halves.
fn split_pair(bytes: &[u8], len: usize) -> Result<Halves, KeyError> {
    let wrong = || KeyError::WrongLength {
        expected: len,
        got: bytes.len(),
    };
    let (a, b) = bytes.split_at_checked(32).ok_or_else(wrong)?;
    let a: [u8; 32] = a.try_into().map_err(|_| wrong())?;
    let b: [u8; 32] = b.try_into().map_err(|_| wrong())?;
    Ok((Zeroizing::new(a), Zeroizing::new(b)))
}

/// The public half of an identity, as published and as bound into every session.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicIdentity {
    signing: VerifyingKey,
    agreement: PublicKey,
}

impl std::fmt::Debug for PublicIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicIdentity({})", self.fingerprint())
    }
}

impl PublicIdentity {
    /// Ed25519 verifying key ‖ X25519 public key.
    pub fn to_bytes(&self) -> [u8; PUBLIC_IDENTITY_LEN] {
        let mut out = [0u8; PUBLIC_IDENTITY_LEN];
        fill(
            &mut out,
            &[self.signing.as_bytes(), self.agreement.as_bytes()],
        );
        out
    }

    /// Parses 64 bytes; the Ed25519 half must be a valid point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let (signing, agreement) = split_pair(bytes, PUBLIC_IDENTITY_LEN)?;
        let signing =
            VerifyingKey::from_bytes(&signing).map_err(|_| KeyError::InvalidSigningKey)?;
        Ok(PublicIdentity {
            signing,
            agreement: PublicKey::from(*agreement),
        })
    }

    /// Verifies an Ed25519 signature by this identity (strict: no malleable signatures).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let sig: [u8; SIGNATURE_LEN] = signature.try_into().map_err(|_| KeyError::WrongLength {
            expected: SIGNATURE_LEN,
            got: signature.len(),
        })?;
        self.signing
            .verify_strict(message, &Signature::from_bytes(&sig))
            .map_err(|_| KeyError::BadSignature)
    }

    /// The X25519 half, for key agreement.
    pub fn agreement(&self) -> &PublicKey {
        &self.agreement
    }

    /// A short human-readable fingerprint: the first 16 bytes of SHA-256, hex in groups of 4.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.to_bytes());
        let mut out = String::with_capacity(39);
        for (i, b) in digest.iter().take(16).enumerate() {
            if i > 0 && i % 2 == 0 {
                out.push(' ');
            }
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

/// X25519 with the contributory check: a low-order peer key (all-zero shared secret) is refused
/// with [`KeyError::NonContributory`].
pub fn agree(secret: &StaticSecret, peer: &PublicKey) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let shared = secret.diffie_hellman(peer);
    if !shared.was_contributory() {
        return Err(KeyError::NonContributory);
    }
    Ok(Zeroizing::new(shared.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> rand::rngs::StdRng {
        rand::SeedableRng::seed_from_u64(7)
    }

    #[test]
    fn identity_round_trips_and_signs() {
        let id = IdentityKeyPair::generate(&mut rng());
        let again = IdentityKeyPair::from_bytes(id.to_bytes().as_ref()).unwrap();
        assert_eq!(id.public(), again.public());
        let public = PublicIdentity::from_bytes(&id.public().to_bytes()).unwrap();
        let sig = id.sign(b"hello");
        public.verify(b"hello", &sig).unwrap();
        assert_eq!(public.verify(b"hellp", &sig), Err(KeyError::BadSignature));
        assert!(matches!(
            PublicIdentity::from_bytes(&[0u8; 63]),
            Err(KeyError::WrongLength {
                expected: 64,
                got: 63
            })
        ));
    }

    #[test]
    fn debug_of_the_secret_identity_leaks_no_key_bytes() {
        let id = IdentityKeyPair::generate(&mut rng());
        let shown = format!("{id:?} {id:#?}");
        let secret = id.to_bytes();
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(&hex::encode(&secret[..8])));
        assert!(!shown.contains(&hex::encode(&secret[32..40])));
    }

    #[test]
    fn low_order_peer_keys_are_refused() {
        let id = IdentityKeyPair::generate(&mut rng());
        for point in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            assert_eq!(
                agree(id.agreement(), &PublicKey::from(point)),
                Err(KeyError::NonContributory)
            );
        }
    }
}
