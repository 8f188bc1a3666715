//! Sender Keys for groups, after libsignal's `sender_keys.rs`/`group_cipher.rs` and WhatsApp's
//! whitepaper: each member has a chain key and an Ed25519 signing key per group, distributed to
//! the others as a [`SenderKeyDistribution`] over the pairwise Double Ratchet sessions. Every
//! group message is encrypted once with AES-256-GCM under a key from the chain (HMAC-SHA256:
//! 0x01 message seed, 0x02 next chain key; key and nonce by HKDF, never random, never reused)
//! and signed, so members who hold the chain key still cannot forge each other's messages.
//! Out-of-order delivery within the ratchet's limits; a failed decryption changes nothing.
//! [`SenderKey::rotate`] starts a new chain for membership changes; a [`SenderKeyRecord`] keeps
//! a sender's last [`MAX_SENDER_KEY_STATES`] chains so messages in flight survive a rotation.

use std::collections::VecDeque;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::chain::{Key32, kdf_chain, open, seal};
pub use crate::ratchet::{MAX_FORWARD_JUMP, MAX_SKIPPED_KEYS};
use crate::wire::{Reader, fill};

mod state;
#[cfg(test)]
mod tests;

pub use state::STATE_VERSION;

/// At most this many chains are kept per sender (libsignal's MAX_SENDER_KEY_STATES).
pub const MAX_SENDER_KEY_STATES: usize = 5;
/// Format version of a group message.
pub const MESSAGE_VERSION: u8 = 1;
/// Format version of a distribution message.
pub const DISTRIBUTION_VERSION: u8 = 1;
/// Longest group id, in bytes (its length travels in one byte).
pub const MAX_GROUP_ID_LEN: usize = 255;
/// Bytes of a message header: version ‖ key id ‖ iteration.
pub const HEADER_LEN: usize = 1 + 4 + 4;
/// Bytes of the AES-GCM tag.
pub const TAG_LEN: usize = 16;
/// Bytes of the Ed25519 signature that ends every message.
pub const SIGNATURE_LEN: usize = 64;

const MESSAGE_INFO: &[u8] = b"Missiva sender key message v1";

/// Errors of sender keys; each attack has its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SenderKeyError {
    /// The signature does not verify against the sender's signing key for this key id.
    #[error("bad signature on a group message")]
    BadSignature,
    /// This message was already decrypted (a replay or a duplicate delivery), or its key was
    /// evicted.
    #[error("duplicate or replayed group message")]
    Duplicate,
    /// Authentication failed: the message is signed but not for this group, or was changed.
    #[error("the group message was tampered with or is not for this group")]
    Tampered,
    /// The message claims to be further ahead than the limits allow.
    #[error("the group message skips too far ahead ({skip} messages, at most {MAX_FORWARD_JUMP})")]
    TooLargeJump {
        /// How many keys it would skip.
        skip: u64,
    },
    /// No chain with this key id from this sender: an old rotated key, or one never received.
    #[error("unknown sender key id {0:?}")]
    UnknownKeyId(KeyId),
    /// A distribution for another group was given to this group's record.
    #[error("the distribution message is for another group")]
    WrongGroup,
    /// A group id longer than [`MAX_GROUP_ID_LEN`].
    #[error("group id of {len} bytes is longer than {MAX_GROUP_ID_LEN}")]
    GroupIdTooLong {
        /// Its length.
        len: usize,
    },
    /// The plaintext is larger than AES-GCM can encrypt.
    #[error("the plaintext is too long to encrypt")]
    PlaintextTooLong,
    /// The sending chain's counter would overflow: rotate.
    #[error("the sending chain is exhausted: rotate the sender key")]
    ChainExhausted,
    /// The message or state bytes cannot be decoded.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A format version this build does not read.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
}

/// Identifies one chain of one sender in one group; random, fresh on every rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u32);

/// A group id, checked to fit its one-byte length prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupId(Vec<u8>);

impl GroupId {
    /// Checks that `bytes` fit in [`MAX_GROUP_ID_LEN`].
    pub fn new(bytes: &[u8]) -> Result<Self, SenderKeyError> {
        if bytes.len() > MAX_GROUP_ID_LEN {
            return Err(SenderKeyError::GroupIdTooLong { len: bytes.len() });
        }
        Ok(GroupId(bytes.to_vec()))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn write(&self, out: &mut Vec<u8>) {
        // `new` and `read` keep the length within a byte.
        out.push(u8::try_from(self.0.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&self.0);
    }

    fn read(r: &mut Reader<'_>, truncated: SenderKeyError) -> Result<Self, SenderKeyError> {
        let len = usize::from(r.u8().ok_or(truncated.clone())?);
        Ok(GroupId(r.take(len).ok_or(truncated)?.to_vec()))
    }
}

/// A message key kept for a message that has not arrived yet.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct SkippedKey {
    iteration: u32,
    seed: Key32,
}

/// Our own sending state for one group. `Debug` shows no key material; zeroed on drop.
pub struct SenderKey {
    group_id: GroupId,
    key_id: KeyId,
    chain: Key32,
    iteration: u32,
    signing: SigningKey,
}

impl std::fmt::Debug for SenderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderKey")
            .field("key_id", &self.key_id)
            .field("iteration", &self.iteration)
            .field("keys", &"<redacted>")
            .finish()
    }
}

/// What a member sends (inside the pairwise sessions) so others can read its group messages.
/// It holds the chain key: zeroed on drop, `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SenderKeyDistribution {
    group_id: GroupId,
    key_id: KeyId,
    iteration: u32,
    chain: Key32,
    signing: VerifyingKey,
}

impl std::fmt::Debug for SenderKeyDistribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderKeyDistribution")
            .field("key_id", &self.key_id)
            .field("iteration", &self.iteration)
            .field("chain", &"<redacted>")
            .finish()
    }
}

/// A member's receiving state for one chain of another member. Zeroed on drop.
#[derive(Clone)]
pub struct SenderKeyReceiver {
    group_id: GroupId,
    key_id: KeyId,
    chain: Key32,
    /// The iteration `chain` is at: the next message not yet derived.
    next: u32,
    signing: VerifyingKey,
    skipped: VecDeque<SkippedKey>,
}

impl std::fmt::Debug for SenderKeyReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderKeyReceiver")
            .field("key_id", &self.key_id)
            .field("next", &self.next)
            .field("skipped", &self.skipped.len())
            .field("keys", &"<redacted>")
            .finish()
    }
}

/// Everything a member holds for one other member in one group: that sender's newest
/// [`MAX_SENDER_KEY_STATES`] chains, newest first.
#[derive(Clone)]
pub struct SenderKeyRecord {
    states: VecDeque<SenderKeyReceiver>,
}

impl std::fmt::Debug for SenderKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.states.iter()).finish()
    }
}

/// A parsed group message: the header fields, the ciphertext, and the signed part.
struct Parsed<'a> {
    key_id: KeyId,
    iteration: u32,
    ciphertext: &'a [u8],
    signed: &'a [u8],
    signature: Signature,
}

/// Splits a group message; the version must be known and every part present.
fn parse(message: &[u8]) -> Result<Parsed<'_>, SenderKeyError> {
    const TRUNCATED: SenderKeyError = SenderKeyError::Malformed("group message: truncated");
    let mut r = Reader::new(message);
    let version = r.u8().ok_or(TRUNCATED)?;
    if version != MESSAGE_VERSION {
        return Err(SenderKeyError::UnsupportedVersion(version));
    }
    let key_id = KeyId(r.u32().ok_or(TRUNCATED)?);
    let iteration = r.u32().ok_or(TRUNCATED)?;
    let signed_len = message
        .len()
        .checked_sub(SIGNATURE_LEN)
        .filter(|&n| n >= HEADER_LEN + TAG_LEN)
        .ok_or(TRUNCATED)?;
    let (signed, signature) = message.split_at_checked(signed_len).ok_or(TRUNCATED)?;
    let signature: [u8; SIGNATURE_LEN] = signature.try_into().map_err(|_| TRUNCATED)?;
    Ok(Parsed {
        key_id,
        iteration,
        ciphertext: signed.get(HEADER_LEN..).ok_or(TRUNCATED)?,
        signed,
        signature: Signature::from_bytes(&signature),
    })
}

/// The key id of a group message, to pick the record it belongs to before decrypting.
pub fn message_key_id(message: &[u8]) -> Result<KeyId, SenderKeyError> {
    parse(message).map(|p| p.key_id)
}

fn header(key_id: KeyId, iteration: u32) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    fill(
        &mut out,
        &[
            &[MESSAGE_VERSION],
            &key_id.0.to_be_bytes(),
            &iteration.to_be_bytes(),
        ],
    );
    out
}

/// Associated data: version ‖ group id length ‖ group id ‖ key id ‖ iteration.
fn aad(group_id: &GroupId, key_id: KeyId, iteration: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 1 + group_id.0.len());
    out.push(MESSAGE_VERSION);
    group_id.write(&mut out);
    out.extend_from_slice(&key_id.0.to_be_bytes());
    out.extend_from_slice(&iteration.to_be_bytes());
    out
}

fn random_chain<R: CryptoRng + ?Sized>(rng: &mut R) -> Key32 {
    let mut chain = Key32([0; 32]);
    rng.fill_bytes(&mut chain.0);
    chain
}

impl SenderKey {
    /// A fresh sending state for `group_id`: random key id and chain, a new signing key.
    pub fn generate<R: CryptoRng + ?Sized>(
        group_id: &[u8],
        rng: &mut R,
    ) -> Result<Self, SenderKeyError> {
        let group_id = GroupId::new(group_id)?;
        let key_id = KeyId(rng.next_u32());
        let chain = random_chain(rng);
        let signing = SigningKey::generate(rng);
        Ok(SenderKey {
            group_id,
            key_id,
            chain,
            iteration: 0,
            signing,
        })
    }

    /// Starts a new chain with a new key id and signing key, for a membership change: a removed
    /// member holding the old distribution cannot read what follows, and a new member given the
    /// returned distribution cannot read what came before.
    pub fn rotate<R: CryptoRng + ?Sized>(&mut self, rng: &mut R) -> SenderKeyDistribution {
        let mut key_id = KeyId(rng.next_u32());
        while key_id == self.key_id {
            key_id = KeyId(rng.next_u32());
        }
        self.key_id = key_id;
        self.chain = random_chain(rng);
        self.signing = SigningKey::generate(rng);
        self.iteration = 0;
        self.distribution_message()
    }

    /// The distribution for the current chain, at the current iteration.
    pub fn distribution_message(&self) -> SenderKeyDistribution {
        SenderKeyDistribution {
            group_id: self.group_id.clone(),
            key_id: self.key_id,
            iteration: self.iteration,
            chain: self.chain.clone(),
            signing: self.signing.verifying_key(),
        }
    }

    /// The current chain's key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The iteration the next message will carry.
    pub fn iteration(&self) -> u32 {
        self.iteration
    }

    /// The group this key sends to.
    pub fn group_id(&self) -> &GroupId {
        &self.group_id
    }

    /// Encrypts and signs `plaintext` as the next message of the chain:
    /// `version ‖ key id ‖ iteration ‖ ciphertext+tag ‖ signature`.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, SenderKeyError> {
        let next = self
            .iteration
            .checked_add(1)
            .ok_or(SenderKeyError::ChainExhausted)?;
        let (seed, next_chain) = kdf_chain(&self.chain);
        let aad = aad(&self.group_id, self.key_id, self.iteration);
        let ciphertext =
            seal(&seed, MESSAGE_INFO, plaintext, &aad).ok_or(SenderKeyError::PlaintextTooLong)?;
        let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len() + SIGNATURE_LEN);
        out.extend_from_slice(&header(self.key_id, self.iteration));
        out.extend_from_slice(&ciphertext);
        let signature = self.signing.sign(&out);
        out.extend_from_slice(&signature.to_bytes());
        self.chain = next_chain;
        self.iteration = next;
        Ok(out)
    }
}

impl SenderKeyDistribution {
    /// The group it is for.
    pub fn group_id(&self) -> &GroupId {
        &self.group_id
    }

    /// The chain's key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The iteration the chain key stands at.
    pub fn iteration(&self) -> u32 {
        self.iteration
    }

    /// `version ‖ group id length ‖ group id ‖ key id ‖ iteration ‖ chain key ‖ signing key`.
    /// Holds the chain key: send only inside a pairwise session.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(1 + 1 + self.group_id.0.len() + 72));
        out.push(DISTRIBUTION_VERSION);
        self.group_id.write(&mut out);
        out.extend_from_slice(&self.key_id.0.to_be_bytes());
        out.extend_from_slice(&self.iteration.to_be_bytes());
        out.extend_from_slice(&self.chain.0);
        out.extend_from_slice(self.signing.as_bytes());
        out
    }

    /// Parses [`SenderKeyDistribution::to_bytes`]; the signing key must be a valid, strong point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SenderKeyError> {
        const TRUNCATED: SenderKeyError = SenderKeyError::Malformed("distribution: truncated");
        let mut r = Reader::new(bytes);
        let version = r.u8().ok_or(TRUNCATED)?;
        if version != DISTRIBUTION_VERSION {
            return Err(SenderKeyError::UnsupportedVersion(version));
        }
        let group_id = GroupId::read(&mut r, TRUNCATED)?;
        let key_id = KeyId(r.u32().ok_or(TRUNCATED)?);
        let iteration = r.u32().ok_or(TRUNCATED)?;
        let chain = Key32(r.array::<32>().ok_or(TRUNCATED)?);
        let signing = read_verifying_key(&mut r, TRUNCATED)?;
        if !r.is_empty() {
            return Err(SenderKeyError::Malformed("distribution: trailing bytes"));
        }
        Ok(SenderKeyDistribution {
            group_id,
            key_id,
            iteration,
            chain,
            signing,
        })
    }
}

/// A verifying key from the next 32 bytes: a valid point, not of small order.
fn read_verifying_key(
    r: &mut Reader<'_>,
    truncated: SenderKeyError,
) -> Result<VerifyingKey, SenderKeyError> {
    let bytes = r.array::<32>().ok_or(truncated)?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| SenderKeyError::Malformed("signing key: not a valid point"))?;
    if key.is_weak() {
        return Err(SenderKeyError::Malformed("signing key: small order"));
    }
    Ok(key)
}

impl SenderKeyReceiver {
    /// The receiving state a distribution describes.
    pub fn from_distribution(distribution: &SenderKeyDistribution) -> Self {
        SenderKeyReceiver {
            group_id: distribution.group_id.clone(),
            key_id: distribution.key_id,
            chain: distribution.chain.clone(),
            next: distribution.iteration,
            signing: distribution.signing,
            skipped: VecDeque::new(),
        }
    }

    /// The chain's key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The group it is for.
    pub fn group_id(&self) -> &GroupId {
        &self.group_id
    }

    /// How many skipped message keys are stored.
    pub fn skipped_keys(&self) -> usize {
        self.skipped.len()
    }

    /// Verifies the signature (strictly), then decrypts, within the out-of-order limits. On any
    /// error the state is left exactly as it was.
    pub fn decrypt(&mut self, message: &[u8]) -> Result<Zeroizing<Vec<u8>>, SenderKeyError> {
        let parsed = parse(message)?;
        if parsed.key_id != self.key_id {
            return Err(SenderKeyError::UnknownKeyId(parsed.key_id));
        }
        self.decrypt_parsed(&parsed)
    }

    fn decrypt_parsed(
        &mut self,
        parsed: &Parsed<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, SenderKeyError> {
        self.signing
            .verify_strict(parsed.signed, &parsed.signature)
            .map_err(|_| SenderKeyError::BadSignature)?;
        let iteration = parsed.iteration;
        let aad = aad(&self.group_id, self.key_id, iteration);
        let open = |seed: &Key32| {
            open(seed, MESSAGE_INFO, parsed.ciphertext, &aad).ok_or(SenderKeyError::Tampered)
        };

        if iteration < self.next {
            let i = self
                .skipped
                .iter()
                .position(|s| s.iteration == iteration)
                .ok_or(SenderKeyError::Duplicate)?;
            let plaintext = self
                .skipped
                .get(i)
                .map(|s| open(&s.seed))
                .ok_or(SenderKeyError::Duplicate)??;
            self.skipped.remove(i);
            return Ok(plaintext);
        }

        // An honest sender never signs u32::MAX (its chain ends before); refusing it keeps
        // `next` strictly ahead of every message decrypted, so replays stay detectable.
        let next = iteration.checked_add(1).ok_or(SenderKeyError::Malformed(
            "group message: iteration out of range",
        ))?;
        let skip = u64::from(iteration).saturating_sub(u64::from(self.next));
        if skip > u64::from(MAX_FORWARD_JUMP) {
            return Err(SenderKeyError::TooLargeJump { skip });
        }
        // Keys that would be evicted at once are not kept at all.
        let keep_from = iteration.saturating_sub(u32::try_from(MAX_SKIPPED_KEYS).unwrap_or(0));
        let mut skipped = Vec::new();
        let mut chain = self.chain.clone();
        for n in self.next..iteration {
            let (seed, following) = kdf_chain(&chain);
            if n >= keep_from {
                skipped.push(SkippedKey { iteration: n, seed });
            }
            chain = following;
        }
        let (seed, following) = kdf_chain(&chain);
        let plaintext = open(&seed)?;

        self.chain = following;
        self.next = next;
        self.skipped.extend(skipped);
        while self.skipped.len() > MAX_SKIPPED_KEYS {
            self.skipped.pop_front();
        }
        Ok(plaintext)
    }
}

impl SenderKeyRecord {
    /// A record holding the chain of a first distribution.
    pub fn from_distribution(distribution: &SenderKeyDistribution) -> Self {
        let mut states = VecDeque::with_capacity(MAX_SENDER_KEY_STATES);
        states.push_back(SenderKeyReceiver::from_distribution(distribution));
        SenderKeyRecord { states }
    }

    /// Adds a sender's newer chain (after a rotation), dropping the oldest beyond
    /// [`MAX_SENDER_KEY_STATES`]. A distribution for a chain already held is ignored, so a
    /// re-sent distribution cannot rewind the chain and re-open replays.
    pub fn process(&mut self, distribution: &SenderKeyDistribution) -> Result<(), SenderKeyError> {
        if self.group_id() != Some(&distribution.group_id) {
            return Err(SenderKeyError::WrongGroup);
        }
        if self
            .states
            .iter()
            .any(|s| s.key_id == distribution.key_id && s.signing == distribution.signing)
        {
            return Ok(());
        }
        // The same key id with another signing key is a new chain: it replaces the old one.
        self.states.retain(|s| s.key_id != distribution.key_id);
        self.states
            .push_front(SenderKeyReceiver::from_distribution(distribution));
        self.states.truncate(MAX_SENDER_KEY_STATES);
        Ok(())
    }

    /// The group of the chains held.
    pub fn group_id(&self) -> Option<&GroupId> {
        self.states.front().map(|s| &s.group_id)
    }

    /// The key ids held, newest first.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.states.iter().map(|s| s.key_id).collect()
    }

    /// Decrypts a message on whichever held chain its key id names; on any error nothing
    /// changes.
    pub fn decrypt(&mut self, message: &[u8]) -> Result<Zeroizing<Vec<u8>>, SenderKeyError> {
        let parsed = parse(message)?;
        let state = self
            .states
            .iter_mut()
            .find(|s| s.key_id == parsed.key_id)
            .ok_or(SenderKeyError::UnknownKeyId(parsed.key_id))?;
        state.decrypt_parsed(&parsed)
    }
}
