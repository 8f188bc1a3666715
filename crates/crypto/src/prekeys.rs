//! Prekeys: a signed prekey (rotated every few weeks) and batches of one-time prekeys, and the
//! bundle a relay hands to someone starting a session.

use rand::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};

use crate::identity::{
    IdentityKeyPair, KeyError, PUBLIC_IDENTITY_LEN, PublicIdentity, SIGNATURE_LEN,
};
use crate::wire::Reader;

/// Domain separation for the signed-prekey signature.
const SPK_SIGNATURE_CONTEXT: &[u8] = b"Missiva signed prekey v1";
/// Format version of a serialized [`PreKeyBundle`].
pub const BUNDLE_VERSION: u8 = 1;
/// A signed prekey older than this (seconds) should be replaced: 30 days.
pub const SIGNED_PREKEY_MAX_AGE_SECS: u64 = 30 * 24 * 3600;

/// A medium-term prekey signed by the identity key. The secret is zeroed on drop.
pub struct SignedPreKey {
    id: u32,
    secret: StaticSecret,
    signature: [u8; SIGNATURE_LEN],
    created_at: u64,
}

impl std::fmt::Debug for SignedPreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedPreKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn spk_message(id: u32, public: &PublicKey) -> Vec<u8> {
    let mut m = Vec::with_capacity(SPK_SIGNATURE_CONTEXT.len() + 36);
    m.extend_from_slice(SPK_SIGNATURE_CONTEXT);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(public.as_bytes());
    m
}

impl SignedPreKey {
    /// A new signed prekey `id`, created at `now` (seconds since the epoch).
    pub fn generate<R: CryptoRng + ?Sized>(
        identity: &IdentityKeyPair,
        id: u32,
        now: u64,
        rng: &mut R,
    ) -> Self {
        let secret = StaticSecret::random_from_rng(rng);
        let signature = identity.sign(&spk_message(id, &PublicKey::from(&secret)));
        SignedPreKey {
            id,
            secret,
            signature,
            created_at: now,
        }
    }

    /// Its id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether it is older than [`SIGNED_PREKEY_MAX_AGE_SECS`] at `now` and should be rotated.
    pub fn needs_rotation(&self, now: u64) -> bool {
        now.saturating_sub(self.created_at) >= SIGNED_PREKEY_MAX_AGE_SECS
    }

    /// What gets published.
    pub fn public(&self) -> SignedPreKeyPublic {
        SignedPreKeyPublic {
            id: self.id,
            key: PublicKey::from(&self.secret),
            signature: self.signature,
        }
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }
}

/// The published half of a signed prekey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedPreKeyPublic {
    /// Its id.
    pub id: u32,
    /// The X25519 public key.
    pub key: PublicKey,
    /// The owner's Ed25519 signature over it.
    pub signature: [u8; SIGNATURE_LEN],
}

impl SignedPreKeyPublic {
    /// Checks the owner's signature.
    pub fn verify(&self, owner: &PublicIdentity) -> Result<(), KeyError> {
        owner.verify(&spk_message(self.id, &self.key), &self.signature)
    }
}

/// A one-time prekey: used for one session setup, then deleted. Zeroed on drop.
pub struct OneTimePreKey {
    id: u32,
    secret: StaticSecret,
}

impl std::fmt::Debug for OneTimePreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneTimePreKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl OneTimePreKey {
    /// `count` new one-time prekeys with ids `first_id`, `first_id + 1`, ….
    pub fn generate_batch<R: CryptoRng + ?Sized>(
        first_id: u32,
        count: u32,
        rng: &mut R,
    ) -> Vec<Self> {
        (0..count)
            .map(|i| OneTimePreKey {
                id: first_id.wrapping_add(i),
                secret: StaticSecret::random_from_rng(rng),
            })
            .collect()
    }

    /// Its id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Its public key, to publish.
    pub fn public(&self) -> PublicKey {
        PublicKey::from(&self.secret)
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }
}

/// Errors decoding a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The first byte names a format this version does not read.
    #[error("unsupported prekey bundle version {0}")]
    UnsupportedVersion(u8),
    /// The bytes end early or run on.
    #[error("malformed prekey bundle: {0}")]
    Malformed(&'static str),
    /// A key inside is invalid.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// What someone needs to start a session with the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreKeyBundle {
    /// The owner's identity.
    pub identity: PublicIdentity,
    /// The current signed prekey.
    pub signed_prekey: SignedPreKeyPublic,
    /// One one-time prekey, if any are left.
    pub one_time_prekey: Option<(u32, PublicKey)>,
}

const BUNDLE_FIXED_LEN: usize = 1 + PUBLIC_IDENTITY_LEN + 4 + 32 + SIGNATURE_LEN + 1;

impl PreKeyBundle {
    /// `version ‖ identity(64) ‖ spk id(4) ‖ spk(32) ‖ sig(64) ‖ has_opk(1) [‖ opk id(4) ‖ opk(32)]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BUNDLE_FIXED_LEN + 36);
        out.push(BUNDLE_VERSION);
        out.extend_from_slice(&self.identity.to_bytes());
        out.extend_from_slice(&self.signed_prekey.id.to_be_bytes());
        out.extend_from_slice(self.signed_prekey.key.as_bytes());
        out.extend_from_slice(&self.signed_prekey.signature);
        match &self.one_time_prekey {
            Some((id, key)) => {
                out.push(1);
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(key.as_bytes());
            }
            None => out.push(0),
        }
        out
    }

    /// Parses [`PreKeyBundle::to_bytes`]; does not check the signature (see `verify`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        const TRUNCATED: BundleError = BundleError::Malformed("truncated");
        let mut r = Reader::new(bytes);
        let version = r.u8().ok_or(TRUNCATED)?;
        if version != BUNDLE_VERSION {
            return Err(BundleError::UnsupportedVersion(version));
        }
        let identity = PublicIdentity::from_bytes(r.take(PUBLIC_IDENTITY_LEN).ok_or(TRUNCATED)?)?;
        let spk_id = r.u32().ok_or(TRUNCATED)?;
        let spk = PublicKey::from(r.array::<32>().ok_or(TRUNCATED)?);
        let signature = r.array::<SIGNATURE_LEN>().ok_or(TRUNCATED)?;
        let one_time_prekey = match r.u8().ok_or(TRUNCATED)? {
            0 => None,
            1 => {
                let id = r.u32().ok_or(TRUNCATED)?;
                Some((id, PublicKey::from(r.array::<32>().ok_or(TRUNCATED)?)))
            }
            _ => return Err(BundleError::Malformed("bad one-time prekey flag")),
        };
        if !r.is_empty() {
            return Err(BundleError::Malformed("trailing bytes"));
        }
        Ok(PreKeyBundle {
            identity,
            signed_prekey: SignedPreKeyPublic {
                id: spk_id,
                key: spk,
                signature,
            },
            one_time_prekey,
        })
    }

    /// Checks that the signed prekey is signed by the bundle's identity.
    pub fn verify(&self) -> Result<(), KeyError> {
        self.signed_prekey.verify(&self.identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> rand::rngs::StdRng {
        rand::SeedableRng::seed_from_u64(11)
    }

    fn bundle(with_opk: bool) -> (IdentityKeyPair, PreKeyBundle) {
        let mut rng = rng();
        let id = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKey::generate(&id, 7, 1_000, &mut rng);
        let opks = OneTimePreKey::generate_batch(100, 3, &mut rng);
        let b = PreKeyBundle {
            identity: id.public(),
            signed_prekey: spk.public(),
            one_time_prekey: with_opk.then(|| (opks[0].id(), opks[0].public())),
        };
        (id, b)
    }

    #[test]
    fn bundles_round_trip_and_verify() {
        for with_opk in [true, false] {
            let (_, b) = bundle(with_opk);
            let bytes = b.to_bytes();
            let parsed = PreKeyBundle::from_bytes(&bytes).unwrap();
            assert_eq!(parsed, b);
            parsed.verify().unwrap();
        }
    }

    #[test]
    fn a_forged_signed_prekey_is_refused() {
        let (_, mut b) = bundle(true);
        let mut forged = b.signed_prekey.key.to_bytes();
        forged[0] ^= 1;
        b.signed_prekey.key = PublicKey::from(forged);
        assert_eq!(b.verify(), Err(KeyError::BadSignature));
        let (other, _) = bundle(false);
        let (_, mut b) = bundle(true);
        b.identity = IdentityKeyPair::generate(&mut rand::rng()).public();
        assert_eq!(b.verify(), Err(KeyError::BadSignature));
        drop(other);
    }

    #[test]
    fn malformed_bundles_are_errors() {
        let (_, b) = bundle(true);
        let bytes = b.to_bytes();
        for len in 0..bytes.len() {
            assert!(
                PreKeyBundle::from_bytes(&bytes[..len]).is_err(),
                "prefix {len}"
            );
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(
            PreKeyBundle::from_bytes(&extra),
            Err(BundleError::Malformed("trailing bytes"))
        );
        let mut v2 = bytes;
        v2[0] = 2;
        assert_eq!(
            PreKeyBundle::from_bytes(&v2),
            Err(BundleError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn signed_prekeys_ask_for_rotation_after_thirty_days() {
        let id = IdentityKeyPair::generate(&mut rng());
        let spk = SignedPreKey::generate(&id, 1, 1_000, &mut rng());
        assert!(!spk.needs_rotation(1_000 + SIGNED_PREKEY_MAX_AGE_SECS - 1));
        assert!(spk.needs_rotation(1_000 + SIGNED_PREKEY_MAX_AGE_SECS));
        assert!(format!("{spk:?}").contains("<redacted>"));
    }
}
