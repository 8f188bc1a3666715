//! X3DH session setup (Signal's specification, revision 1) over X25519 and HKDF-SHA256:
//! DH1..DH4, IKM = 32 bytes of 0xFF ‖ DH outputs, a zero salt, a Missiva info string, and
//! associated data = initiator identity ‖ responder identity.

use hkdf::Hkdf;
use rand::CryptoRng;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::identity::{IdentityKeyPair, KeyError, PUBLIC_IDENTITY_LEN, PublicIdentity, agree};
use crate::prekeys::{OneTimePreKey, PreKeyBundle, SignedPreKey};
use crate::wire::{Reader, fill};

/// The HKDF info of Missiva's X3DH.
pub const X3DH_INFO: &[u8] = b"Missiva X3DH v1 X25519 SHA-256";
/// Format version of a serialized [`InitialMessage`].
pub const INITIAL_MESSAGE_VERSION: u8 = 1;

/// Errors of session setup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum X3dhError {
    /// The bundle's signed prekey is not signed by its identity.
    #[error("the signed prekey's signature does not verify")]
    ForgedSignedPreKey,
    /// A peer key is a low-order point (all-zero shared secret).
    #[error("a peer key is a low-order point (non-contributory key agreement)")]
    NonContributory,
    /// The initial message names a prekey the responder does not have (used or rotated).
    #[error("the initial message names an unknown or already used prekey")]
    UnknownPreKey,
    /// The initial message cannot be decoded.
    #[error("malformed initial message: {0}")]
    Malformed(&'static str),
    /// The initial message is of a format this version does not read.
    #[error("unsupported initial message version {0}")]
    UnsupportedVersion(u8),
    /// This initial message was already accepted once: a replay.
    #[error("this session setup was already used: a replayed initial message")]
    Replayed,
    /// A key inside is invalid.
    #[error(transparent)]
    Key(KeyError),
}

impl From<KeyError> for X3dhError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NonContributory => X3dhError::NonContributory,
            KeyError::BadSignature => X3dhError::ForgedSignedPreKey,
            other => X3dhError::Key(other),
        }
    }
}

/// The shared secret both sides derive: the Double Ratchet's first root key. Zeroed on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret([u8; 32]);

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

impl SharedSecret {
    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The result of X3DH on either side.
#[derive(Debug)]
pub struct Agreement {
    /// SK, the first root key.
    pub secret: SharedSecret,
    /// AD = Encode(IK_A) ‖ Encode(IK_B): bound into every message of the session.
    pub associated_data: [u8; 2 * PUBLIC_IDENTITY_LEN],
}

/// What the initiator sends with its first message so the responder can derive the same SK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialMessage {
    /// The initiator's identity.
    pub identity: PublicIdentity,
    /// The initiator's ephemeral key EK_A.
    pub ephemeral: PublicKey,
    /// Which signed prekey of the responder was used.
    pub signed_prekey_id: u32,
    /// Which one-time prekey was used, if any.
    pub one_time_prekey_id: Option<u32>,
}

impl InitialMessage {
    /// `version ‖ identity(64) ‖ ephemeral(32) ‖ spk id(4) ‖ has_opk(1) [‖ opk id(4)]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + PUBLIC_IDENTITY_LEN + 32 + 4 + 5);
        out.push(INITIAL_MESSAGE_VERSION);
        out.extend_from_slice(&self.identity.to_bytes());
        out.extend_from_slice(self.ephemeral.as_bytes());
        out.extend_from_slice(&self.signed_prekey_id.to_be_bytes());
        match self.one_time_prekey_id {
            Some(id) => {
                out.push(1);
                out.extend_from_slice(&id.to_be_bytes());
            }
            None => out.push(0),
        }
        out
    }

    /// Parses [`InitialMessage::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, X3dhError> {
        const TRUNCATED: X3dhError = X3dhError::Malformed("truncated");
        let mut r = Reader::new(bytes);
        let version = r.u8().ok_or(TRUNCATED)?;
        if version != INITIAL_MESSAGE_VERSION {
            return Err(X3dhError::UnsupportedVersion(version));
        }
        let identity = PublicIdentity::from_bytes(r.take(PUBLIC_IDENTITY_LEN).ok_or(TRUNCATED)?)?;
        let ephemeral = PublicKey::from(r.array::<32>().ok_or(TRUNCATED)?);
        let signed_prekey_id = r.u32().ok_or(TRUNCATED)?;
        let one_time_prekey_id = match r.u8().ok_or(TRUNCATED)? {
            0 => None,
            1 => Some(r.u32().ok_or(TRUNCATED)?),
            _ => return Err(X3dhError::Malformed("bad one-time prekey flag")),
        };
        if !r.is_empty() {
            return Err(X3dhError::Malformed("trailing bytes"));
        }
        Ok(InitialMessage {
            identity,
            ephemeral,
            signed_prekey_id,
            one_time_prekey_id,
        })
    }
}

fn kdf(dhs: &[Zeroizing<[u8; 32]>]) -> SharedSecret {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 * (dhs.len() + 1)));
    ikm.extend_from_slice(&[0xFF; 32]);
    for dh in dhs {
        ikm.extend_from_slice(dh.as_ref());
    }
    let hk = Hkdf::<Sha256>::new(Some(&[0u8; 32]), &ikm);
    let mut sk = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
    let _ = hk.expand(X3DH_INFO, &mut sk);
    SharedSecret(sk)
}

fn associated_data(initiator: &PublicIdentity, responder: &PublicIdentity) -> [u8; 128] {
    let mut ad = [0u8; 2 * PUBLIC_IDENTITY_LEN];
    fill(&mut ad, &[&initiator.to_bytes(), &responder.to_bytes()]);
    ad
}

/// The initiator's side: verifies the bundle, makes an ephemeral key, derives SK.
pub fn initiate<R: CryptoRng + ?Sized>(
    ours: &IdentityKeyPair,
    bundle: &PreKeyBundle,
    rng: &mut R,
) -> Result<(InitialMessage, Agreement), X3dhError> {
    bundle.verify()?;
    let ephemeral = StaticSecret::random_from_rng(rng);
    let theirs = &bundle.identity;
    let spk = &bundle.signed_prekey.key;
    let mut dhs = vec![
        agree(ours.agreement(), spk)?,
        agree(&ephemeral, theirs.agreement())?,
        agree(&ephemeral, spk)?,
    ];
    if let Some((_, opk)) = &bundle.one_time_prekey {
        dhs.push(agree(&ephemeral, opk)?);
    }
    let message = InitialMessage {
        identity: ours.public(),
        ephemeral: PublicKey::from(&ephemeral),
        signed_prekey_id: bundle.signed_prekey.id,
        one_time_prekey_id: bundle.one_time_prekey.map(|(id, _)| id),
    };
    let agreement = Agreement {
        secret: kdf(&dhs),
        associated_data: associated_data(&ours.public(), theirs),
    };
    Ok((message, agreement))
}

/// The responder's side, with the signed prekey and the one-time prekey the message names.
/// The caller must delete the one-time prekey afterwards.
pub fn respond(
    ours: &IdentityKeyPair,
    signed_prekey: &SignedPreKey,
    one_time_prekey: Option<&OneTimePreKey>,
    message: &InitialMessage,
) -> Result<Agreement, X3dhError> {
    if message.signed_prekey_id != signed_prekey.id() {
        return Err(X3dhError::UnknownPreKey);
    }
    let opk = match (message.one_time_prekey_id, one_time_prekey) {
        (None, _) => None,
        (Some(id), Some(opk)) if opk.id() == id => Some(opk),
        (Some(_), _) => return Err(X3dhError::UnknownPreKey),
    };
    let theirs = &message.identity;
    let mut dhs = vec![
        agree(signed_prekey.secret(), theirs.agreement())?,
        agree(ours.agreement(), &message.ephemeral)?,
        agree(signed_prekey.secret(), &message.ephemeral)?,
    ];
    if let Some(opk) = opk {
        dhs.push(agree(opk.secret(), &message.ephemeral)?);
    }
    Ok(Agreement {
        secret: kdf(&dhs),
        associated_data: associated_data(theirs, &ours.public()),
    })
}

/// What a responder remembers of the initial messages it accepted, so that a replay of one
/// without a one-time prekey (which X3DH alone cannot tell from the original: it derives the
/// same secret) is refused. Entries are kept per signed prekey and dropped with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayGuard {
    seen: std::collections::BTreeSet<(u32, [u8; 32])>,
}

impl ReplayGuard {
    /// The tag of `message`: its signed prekey and a hash of initiator identity and ephemeral key.
    fn tag(message: &InitialMessage) -> (u32, [u8; 32]) {
        use sha2::Digest;
        let mut h = Sha256::new();
        h.update(message.identity.to_bytes());
        h.update(message.ephemeral.as_bytes());
        let digest = h.finalize();
        let mut tag = [0u8; 32];
        fill(&mut tag, &[digest.as_slice()]);
        (message.signed_prekey_id, tag)
    }

    /// Records `message` as accepted, or refuses it with [`X3dhError::Replayed`] if it was.
    pub fn check_and_record(&mut self, message: &InitialMessage) -> Result<(), X3dhError> {
        if self.seen.insert(Self::tag(message)) {
            Ok(())
        } else {
            Err(X3dhError::Replayed)
        }
    }

    /// Forgets entries of signed prekeys no longer held (their messages fail as unknown anyway).
    pub fn retain_signed_prekeys(&mut self, held: &[u32]) {
        self.seen.retain(|(id, _)| held.contains(id));
    }

    /// How many accepted initial messages are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// `version ‖ count(4) ‖ (signed prekey id(4) ‖ tag(32))*`, for the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.seen.len() * 36);
        out.push(INITIAL_MESSAGE_VERSION);
        out.extend_from_slice(&u32::try_from(self.seen.len()).unwrap_or(0).to_be_bytes());
        for (id, tag) in &self.seen {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(tag);
        }
        out
    }

    /// Restores [`ReplayGuard::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, X3dhError> {
        const TRUNCATED: X3dhError = X3dhError::Malformed("replay guard: truncated");
        let mut r = Reader::new(bytes);
        let version = r.u8().ok_or(TRUNCATED)?;
        if version != INITIAL_MESSAGE_VERSION {
            return Err(X3dhError::UnsupportedVersion(version));
        }
        let count = r.u32().ok_or(TRUNCATED)?;
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..count {
            let id = r.u32().ok_or(TRUNCATED)?;
            seen.insert((id, r.array::<32>().ok_or(TRUNCATED)?));
        }
        if !r.is_empty() {
            return Err(X3dhError::Malformed("replay guard: trailing bytes"));
        }
        Ok(ReplayGuard { seen })
    }
}

/// The responder's side with replay protection: refuses an initial message seen before, then
/// runs [`respond`]. The guard records the message only if the setup succeeds.
pub fn respond_once(
    guard: &mut ReplayGuard,
    ours: &IdentityKeyPair,
    signed_prekey: &SignedPreKey,
    one_time_prekey: Option<&OneTimePreKey>,
    message: &InitialMessage,
) -> Result<Agreement, X3dhError> {
    if guard.seen.contains(&ReplayGuard::tag(message)) {
        return Err(X3dhError::Replayed);
    }
    let agreement = respond(ours, signed_prekey, one_time_prekey, message)?;
    guard.check_and_record(message)?;
    Ok(agreement)
}

#[cfg(test)]
mod tests;
