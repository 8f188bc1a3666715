//! The Double Ratchet (Signal's specification, revision 1) with AES-256-GCM: root KDF via
//! HKDF-SHA256, chain KDF via HMAC-SHA256 (0x01 message key, 0x02 next chain key), a per-message
//! key and nonce derived with HKDF (never random, never reused), and the header bound as
//! associated data together with both identities. Out-of-order delivery within libsignal's
//! limits; a failed decryption changes nothing.

use std::collections::VecDeque;

use hkdf::Hkdf;
use rand::CryptoRng;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::chain::{Key32, kdf_chain, open, seal, to32};
use crate::identity::{KeyError, agree};
use crate::prekeys::SignedPreKey;
use crate::wire::{Reader, fill};
use crate::x3dh::Agreement;

mod state;
#[cfg(test)]
mod tests;

/// At most this many message keys are skipped in one step (libsignal's MAX_FORWARD_JUMPS).
pub const MAX_FORWARD_JUMP: u32 = 25_000;
/// At most this many skipped message keys are kept; the oldest go first (MAX_MESSAGE_KEYS).
pub const MAX_SKIPPED_KEYS: usize = 2_000;
/// At most this many receiving chains are kept (MAX_RECEIVER_CHAINS).
pub const MAX_RECEIVER_CHAINS: usize = 5;
/// Format version of a ratchet message header.
pub const MESSAGE_VERSION: u8 = 1;
/// Bytes of a serialized header: version ‖ ratchet key ‖ previous chain length ‖ number.
pub const HEADER_LEN: usize = 1 + 32 + 4 + 4;

const ROOT_INFO: &[u8] = b"Missiva ratchet root v1";
const MESSAGE_INFO: &[u8] = b"Missiva ratchet message keys v1";
const AD_LEN: usize = 128;

/// Errors of the ratchet; each attack has its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RatchetError {
    /// This message was already decrypted (a replay or a duplicate delivery).
    #[error("duplicate or replayed message")]
    Duplicate,
    /// Authentication failed: the header or ciphertext was changed, or it is not for this session.
    #[error("the message was tampered with or is not for this session")]
    Tampered,
    /// The message claims to be further ahead than the limits allow.
    #[error("the message skips too far ahead ({skip} messages, at most {MAX_FORWARD_JUMP})")]
    TooLargeJump {
        /// How many keys it would skip.
        skip: u64,
    },
    /// The responder cannot send before it has received the first message.
    #[error("no sending chain yet: receive the first message of the session first")]
    NoSendingChain,
    /// A peer ratchet key is invalid (a low-order point).
    #[error("bad peer ratchet key: {0}")]
    BadKey(KeyError),
    /// The message or state bytes cannot be decoded.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A format version this build does not read.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// The chain counter would overflow.
    #[error("the sending chain is exhausted")]
    ChainExhausted,
}

impl From<KeyError> for RatchetError {
    fn from(e: KeyError) -> Self {
        RatchetError::BadKey(e)
    }
}

/// One receiving chain: the peer's ratchet key and where its chain stands.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct ReceiverChain {
    remote: [u8; 32],
    chain: Key32,
    next: u32,
}

/// A message key kept for a message that has not arrived yet.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct SkippedKey {
    remote: [u8; 32],
    n: u32,
    key: Key32,
}

/// One side of a session. `Debug` shows no key material; secrets are zeroed on drop.
pub struct Session {
    root: Key32,
    ours: StaticSecret,
    /// The public half of `ours`, computed once per DH turn rather than per message.
    ours_public: [u8; 32],
    remote: Option<[u8; 32]>,
    sending: Option<Key32>,
    sent: u32,
    previous_sent: u32,
    receivers: VecDeque<ReceiverChain>,
    skipped: VecDeque<SkippedKey>,
    ad: [u8; AD_LEN],
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("keys", &"<redacted>")
            .field("sent", &self.sent)
            .field("receivers", &self.receivers.len())
            .field("skipped", &self.skipped.len())
            .finish()
    }
}

/// A decoded message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The sender's current ratchet public key.
    pub ratchet_key: [u8; 32],
    /// How many messages the sender sent in its previous sending chain.
    pub previous_chain_length: u32,
    /// This message's number in the current sending chain.
    pub number: u32,
}

impl Header {
    fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        fill(
            &mut out,
            &[
                &[MESSAGE_VERSION],
                &self.ratchet_key,
                &self.previous_chain_length.to_be_bytes(),
                &self.number.to_be_bytes(),
            ],
        );
        out
    }

    /// Splits a message into its header and ciphertext.
    pub fn parse(message: &[u8]) -> Result<(Header, &[u8]), RatchetError> {
        const TRUNCATED: RatchetError = RatchetError::Malformed("message: truncated");
        let mut r = Reader::new(message);
        let version = r.u8().ok_or(TRUNCATED)?;
        if version != MESSAGE_VERSION {
            return Err(RatchetError::UnsupportedVersion(version));
        }
        let header = Header {
            ratchet_key: r.array::<32>().ok_or(TRUNCATED)?,
            previous_chain_length: r.u32().ok_or(TRUNCATED)?,
            number: r.u32().ok_or(TRUNCATED)?,
        };
        let body = message.get(HEADER_LEN..).ok_or(TRUNCATED)?;
        if body.len() < 16 {
            return Err(TRUNCATED);
        }
        Ok((header, body))
    }
}

/// KDF_RK: HKDF(salt = root key, IKM = DH output) → new root key ‖ chain key.
fn kdf_root(root: &Key32, dh: &[u8; 32]) -> (Key32, Key32) {
    let hk = Hkdf::<Sha256>::new(Some(&root.0), dh);
    let mut okm = Zeroizing::new([0u8; 64]);
    let _ = hk.expand(ROOT_INFO, okm.as_mut());
    let (a, b) = okm.split_at(32);
    (Key32(to32(a)), Key32(to32(b)))
}

impl Session {
    /// The initiator's session after X3DH, given the responder's signed prekey (its first
    /// ratchet key).
    pub fn initiator<R: CryptoRng + ?Sized>(
        agreement: &Agreement,
        their_signed_prekey: &PublicKey,
        rng: &mut R,
    ) -> Result<Self, RatchetError> {
        let ours = StaticSecret::random_from_rng(rng);
        let dh = agree(&ours, their_signed_prekey)?;
        let (root, sending) = kdf_root(&Key32(*agreement.secret.as_bytes()), &dh);
        Ok(Session {
            root,
            ours_public: PublicKey::from(&ours).to_bytes(),
            ours,
            remote: Some(their_signed_prekey.to_bytes()),
            sending: Some(sending),
            sent: 0,
            previous_sent: 0,
            receivers: VecDeque::new(),
            skipped: VecDeque::new(),
            ad: agreement.associated_data,
        })
    }

    /// The responder's session after X3DH: its signed prekey is its first ratchet key.
    pub fn responder(agreement: &Agreement, signed_prekey: &SignedPreKey) -> Self {
        Session {
            root: Key32(*agreement.secret.as_bytes()),
            ours_public: PublicKey::from(signed_prekey.secret()).to_bytes(),
            ours: signed_prekey.secret().clone(),
            remote: None,
            sending: None,
            sent: 0,
            previous_sent: 0,
            receivers: VecDeque::new(),
            skipped: VecDeque::new(),
            ad: agreement.associated_data,
        }
    }

    fn aad(&self, header: &[u8; HEADER_LEN]) -> [u8; AD_LEN + HEADER_LEN] {
        let mut aad = [0u8; AD_LEN + HEADER_LEN];
        fill(&mut aad, &[&self.ad, header]);
        aad
    }

    /// Encrypts `plaintext` as the next message of the sending chain.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, RatchetError> {
        let chain = self.sending.as_ref().ok_or(RatchetError::NoSendingChain)?;
        let next_number = self
            .sent
            .checked_add(1)
            .ok_or(RatchetError::ChainExhausted)?;
        let (message_key, next_chain) = kdf_chain(chain);
        let header = Header {
            ratchet_key: self.ours_public,
            previous_chain_length: self.previous_sent,
            number: self.sent,
        }
        .to_bytes();
        let aad = self.aad(&header);
        let ciphertext = seal(&message_key, MESSAGE_INFO, plaintext, &aad)
            .ok_or(RatchetError::ChainExhausted)?;
        self.sending = Some(next_chain);
        self.sent = next_number;
        let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Decrypts a message; on any error the session is left exactly as it was.
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        message: &[u8],
        rng: &mut R,
    ) -> Result<Zeroizing<Vec<u8>>, RatchetError> {
        let (header, body) = Header::parse(message)?;
        let header_bytes = header.to_bytes();
        let aad = self.aad(&header_bytes);
        let open = |key: &Key32| open(key, MESSAGE_INFO, body, &aad).ok_or(RatchetError::Tampered);

        // 1. A message we skipped earlier.
        if let Some(i) = self
            .skipped
            .iter()
            .position(|s| s.remote == header.ratchet_key && s.n == header.number)
        {
            let plaintext = self
                .skipped
                .get(i)
                .map(|s| open(&s.key))
                .ok_or(RatchetError::Duplicate)??;
            self.skipped.remove(i);
            return Ok(plaintext);
        }

        // 2. A chain we already receive on.
        if let Some(i) = self
            .receivers
            .iter()
            .position(|c| c.remote == header.ratchet_key)
        {
            let chain = self.receivers.get(i).ok_or(RatchetError::Duplicate)?;
            if header.number < chain.next {
                return Err(RatchetError::Duplicate);
            }
            let step = advance(&chain.chain, chain.next, header.number, &header.ratchet_key)?;
            let plaintext = open(&step.message_key)?;
            if let Some(chain) = self.receivers.get_mut(i) {
                chain.chain = step.next_chain;
                chain.next = header.number.saturating_add(1);
            }
            self.keep_skipped(step.skipped);
            return Ok(plaintext);
        }

        // 3. A new ratchet key: finish the current chain, then take a DH ratchet step.
        let their_key = PublicKey::from(header.ratchet_key);
        let mut skipped = Vec::new();
        // The finished chain stops at `previous_chain_length`: later replays of its messages
        // must find it there, not derive their keys again.
        let mut finished = None;
        if let Some(current) = self.receivers.back() {
            let step = advance(
                &current.chain,
                current.next,
                header.previous_chain_length,
                &current.remote,
            )?;
            skipped = step.skipped;
            if header.previous_chain_length > current.next {
                finished = Some((step.chain_at_target, header.previous_chain_length));
            }
        }
        let dh = agree(&self.ours, &their_key)?;
        let (root, receiving) = kdf_root(&self.root, &dh);
        let new_ours = StaticSecret::random_from_rng(rng);
        let dh = agree(&new_ours, &their_key)?;
        let (root, sending) = kdf_root(&root, &dh);
        let step = advance(&receiving, 0, header.number, &header.ratchet_key)?;
        skipped.extend(step.skipped);
        let plaintext = open(&step.message_key)?;

        if let (Some((chain, next)), Some(current)) = (finished, self.receivers.back_mut()) {
            current.chain = chain;
            current.next = next;
        }
        self.root = root;
        self.ours_public = PublicKey::from(&new_ours).to_bytes();
        self.ours = new_ours;
        self.remote = Some(header.ratchet_key);
        self.sending = Some(sending);
        self.previous_sent = self.sent;
        self.sent = 0;
        self.receivers.push_back(ReceiverChain {
            remote: header.ratchet_key,
            chain: step.next_chain,
            next: header.number.saturating_add(1),
        });
        while self.receivers.len() > MAX_RECEIVER_CHAINS {
            self.receivers.pop_front();
        }
        self.keep_skipped(skipped);
        Ok(plaintext)
    }

    fn keep_skipped(&mut self, keys: Vec<SkippedKey>) {
        self.skipped.extend(keys);
        while self.skipped.len() > MAX_SKIPPED_KEYS {
            self.skipped.pop_front();
        }
    }

    /// How many skipped message keys are stored.
    pub fn skipped_keys(&self) -> usize {
        self.skipped.len()
    }
}

/// The outcome of walking a receiving chain from `from` to message `to`.
struct Advance {
    /// The chain key at message `to`, before its message key is taken.
    chain_at_target: Key32,
    message_key: Key32,
    next_chain: Key32,
    skipped: Vec<SkippedKey>,
}

/// Walks `chain` (at message `from`) to message `to`, keeping the keys passed over. When
/// `to == from` nothing is skipped. Refuses jumps beyond [`MAX_FORWARD_JUMP`].
fn advance(chain: &Key32, from: u32, to: u32, remote: &[u8; 32]) -> Result<Advance, RatchetError> {
    let skip = u64::from(to).saturating_sub(u64::from(from));
    if skip > u64::from(MAX_FORWARD_JUMP) {
        return Err(RatchetError::TooLargeJump { skip });
    }
    let mut skipped = Vec::new();
    let mut current = chain.clone();
    for n in from..to {
        let (message_key, next) = kdf_chain(&current);
        skipped.push(SkippedKey {
            remote: *remote,
            n,
            key: message_key,
        });
        current = next;
    }
    let (message_key, next_chain) = kdf_chain(&current);
    Ok(Advance {
        chain_at_target: current,
        message_key,
        next_chain,
        skipped,
    })
}
