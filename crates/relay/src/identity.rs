//! Identities (64-byte public keys), envelope ids, and the challenge-response that proves an
//! identity.

use ed25519_dalek::{Signature, VerifyingKey};
use missiva_proto::AUTH_LABEL;

/// The length of a public identity: Ed25519 verifying key ‖ X25519 public key.
pub const IDENTITY_LEN: usize = 64;
/// The length of an envelope id.
pub const ENVELOPE_ID_LEN: usize = 16;
/// The length of a challenge nonce.
pub const NONCE_LEN: usize = 32;

/// An account's public identity; mailboxes, handles and prekeys are keyed by it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity([u8; IDENTITY_LEN]);

impl Identity {
    /// Reads an identity from exactly 64 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Identity)
    }

    /// The 64 bytes.
    pub fn as_bytes(&self) -> &[u8; IDENTITY_LEN] {
        &self.0
    }

    /// A short, non-identifying-enough-to-matter tag for logs: the first 4 bytes in hex.
    pub fn fingerprint(&self) -> String {
        self.0.iter().take(4).map(|b| format!("{b:02x}")).collect()
    }

    fn ed25519(&self) -> Option<VerifyingKey> {
        let key: &[u8; 32] = self.0.first_chunk()?;
        VerifyingKey::from_bytes(key).ok()
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.fingerprint())
    }
}

/// A sender-chosen envelope id, the same on every retry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct EnvelopeId([u8; ENVELOPE_ID_LEN]);

impl EnvelopeId {
    /// Reads an id from exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(EnvelopeId)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; ENVELOPE_ID_LEN] {
        &self.0
    }
}

/// A fresh random challenge nonce.
pub(crate) fn new_nonce() -> [u8; NONCE_LEN] {
    rand::random()
}

/// Whether `signature` is `identity`'s Ed25519 signature over `AUTH_LABEL ‖ nonce`
/// (`verify_strict`: no small-order keys, no malleable signatures).
pub(crate) fn verify_auth(identity: &Identity, nonce: &[u8; NONCE_LEN], signature: &[u8]) -> bool {
    let Some(key) = identity.ed25519() else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    let mut message = Vec::with_capacity(AUTH_LABEL.len() + NONCE_LEN);
    message.extend_from_slice(AUTH_LABEL);
    message.extend_from_slice(nonce);
    key.verify_strict(&message, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use missiva_crypto::identity::IdentityKeyPair;

    fn signed(nonce: &[u8; NONCE_LEN]) -> (Identity, [u8; 64]) {
        let pair = IdentityKeyPair::generate(&mut rand::rng());
        let identity = Identity::from_slice(&pair.public().to_bytes()).unwrap();
        let mut message = AUTH_LABEL.to_vec();
        message.extend_from_slice(nonce);
        (identity, pair.sign(&message))
    }

    #[test]
    fn a_signature_over_the_label_and_nonce_authenticates() {
        let nonce = new_nonce();
        let (identity, signature) = signed(&nonce);
        assert!(verify_auth(&identity, &nonce, &signature));
    }

    #[test]
    fn another_nonce_or_a_flipped_bit_does_not() {
        let nonce = new_nonce();
        let (identity, mut signature) = signed(&nonce);
        assert!(!verify_auth(&identity, &new_nonce(), &signature));
        signature[10] ^= 1;
        assert!(!verify_auth(&identity, &nonce, &signature));
        assert!(!verify_auth(&identity, &nonce, &signature[..63]));
    }

    #[test]
    fn the_debug_form_is_a_short_fingerprint() {
        let identity = Identity([0xab; 64]);
        assert_eq!(format!("{identity:?}"), "Identity(abababab)");
    }
}
