//! Sending and receiving state to bytes and back, versioned, for the encrypted store. The bytes
//! hold keys: they come back in a `Zeroizing` buffer and must only ever be stored encrypted.
//! Every state starts `version ‖ kind`, so one kind of state is never read as another.

use std::collections::VecDeque;

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use super::{
    GroupId, Key32, KeyId, MAX_SENDER_KEY_STATES, MAX_SKIPPED_KEYS, SenderKey, SenderKeyError,
    SenderKeyReceiver, SenderKeyRecord, SkippedKey, read_verifying_key,
};
use crate::wire::Reader;

/// Format version of serialized sender-key state.
pub const STATE_VERSION: u8 = 1;

const KIND_SENDER: u8 = b'S';
const KIND_RECEIVER: u8 = b'R';
const KIND_RECORD: u8 = b'C';
const TRUNCATED: SenderKeyError = SenderKeyError::Malformed("sender key state: truncated");

/// Checks `version ‖ kind` at the start of a state.
fn read_start(r: &mut Reader<'_>, kind: u8) -> Result<(), SenderKeyError> {
    let version = r.u8().ok_or(TRUNCATED)?;
    if version != STATE_VERSION {
        return Err(SenderKeyError::UnsupportedVersion(version));
    }
    if r.u8().ok_or(TRUNCATED)? != kind {
        return Err(SenderKeyError::Malformed("sender key state: wrong kind"));
    }
    Ok(())
}

fn read_end(r: &Reader<'_>) -> Result<(), SenderKeyError> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(SenderKeyError::Malformed(
            "sender key state: trailing bytes",
        ))
    }
}

fn read_key(r: &mut Reader<'_>) -> Result<Key32, SenderKeyError> {
    r.array::<32>().map(Key32).ok_or(TRUNCATED)
}

impl SenderKey {
    /// `version ‖ 'S' ‖ group id ‖ key id ‖ iteration ‖ chain key ‖ signing seed`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(2 + 1 + self.group_id.0.len() + 72));
        out.push(STATE_VERSION);
        out.push(KIND_SENDER);
        self.group_id.write(&mut out);
        out.extend_from_slice(&self.key_id.0.to_be_bytes());
        out.extend_from_slice(&self.iteration.to_be_bytes());
        out.extend_from_slice(&self.chain.0);
        out.extend_from_slice(Zeroizing::new(self.signing.to_bytes()).as_ref());
        out
    }

    /// Restores [`SenderKey::to_bytes`]; damaged state is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SenderKeyError> {
        let mut r = Reader::new(bytes);
        read_start(&mut r, KIND_SENDER)?;
        let group_id = GroupId::read(&mut r, TRUNCATED)?;
        let key_id = KeyId(r.u32().ok_or(TRUNCATED)?);
        let iteration = r.u32().ok_or(TRUNCATED)?;
        let chain = read_key(&mut r)?;
        let seed = Zeroizing::new(r.array::<32>().ok_or(TRUNCATED)?);
        read_end(&r)?;
        Ok(SenderKey {
            group_id,
            key_id,
            chain,
            iteration,
            signing: SigningKey::from_bytes(&seed),
        })
    }
}

impl SenderKeyReceiver {
    /// `version ‖ 'R' ‖ body`, the body as in [`SenderKeyReceiver::write_body`].
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.body_len() + 2));
        out.push(STATE_VERSION);
        out.push(KIND_RECEIVER);
        self.write_body(&mut out);
        out
    }

    /// Restores [`SenderKeyReceiver::to_bytes`]; damaged or oversized state is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SenderKeyError> {
        let mut r = Reader::new(bytes);
        read_start(&mut r, KIND_RECEIVER)?;
        let receiver = Self::read_body(&mut r)?;
        read_end(&r)?;
        Ok(receiver)
    }

    fn body_len(&self) -> usize {
        1 + self.group_id.0.len() + 4 + 4 + 32 + 32 + 4 + self.skipped.len() * 36
    }

    /// `group id ‖ key id ‖ next iteration ‖ chain key ‖ signing key ‖ skipped count ‖
    /// (iteration ‖ message seed)…`.
    fn write_body(&self, out: &mut Vec<u8>) {
        self.group_id.write(out);
        out.extend_from_slice(&self.key_id.0.to_be_bytes());
        out.extend_from_slice(&self.next.to_be_bytes());
        out.extend_from_slice(&self.chain.0);
        out.extend_from_slice(self.signing.as_bytes());
        // At most MAX_SKIPPED_KEYS (2,000): fits a u32.
        out.extend_from_slice(&u32::try_from(self.skipped.len()).unwrap_or(0).to_be_bytes());
        for s in &self.skipped {
            out.extend_from_slice(&s.iteration.to_be_bytes());
            out.extend_from_slice(&s.seed.0);
        }
    }

    fn read_body(r: &mut Reader<'_>) -> Result<Self, SenderKeyError> {
        let group_id = GroupId::read(r, TRUNCATED)?;
        let key_id = KeyId(r.u32().ok_or(TRUNCATED)?);
        let next = r.u32().ok_or(TRUNCATED)?;
        let chain = read_key(r)?;
        let signing = read_verifying_key(r, TRUNCATED)?;
        let count = usize::try_from(r.u32().ok_or(TRUNCATED)?).unwrap_or(usize::MAX);
        if count > MAX_SKIPPED_KEYS {
            return Err(SenderKeyError::Malformed(
                "sender key state: too many skipped keys",
            ));
        }
        let mut skipped = VecDeque::with_capacity(count);
        for _ in 0..count {
            let iteration = r.u32().ok_or(TRUNCATED)?;
            if iteration >= next {
                return Err(SenderKeyError::Malformed(
                    "sender key state: skipped key ahead of the chain",
                ));
            }
            skipped.push_back(SkippedKey {
                iteration,
                seed: read_key(r)?,
            });
        }
        Ok(SenderKeyReceiver {
            group_id,
            key_id,
            chain,
            next,
            signing,
            skipped,
        })
    }
}

impl SenderKeyRecord {
    /// `version ‖ 'C' ‖ count ‖ receiver bodies…`, newest first.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let len = self.states.iter().map(|s| s.body_len()).sum::<usize>() + 3;
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        out.push(STATE_VERSION);
        out.push(KIND_RECORD);
        // At most MAX_SENDER_KEY_STATES (5): fits a byte.
        out.push(u8::try_from(self.states.len()).unwrap_or(u8::MAX));
        for s in &self.states {
            s.write_body(&mut out);
        }
        out
    }

    /// Restores [`SenderKeyRecord::to_bytes`]: one to [`MAX_SENDER_KEY_STATES`] chains of one
    /// group with distinct key ids.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SenderKeyError> {
        let mut r = Reader::new(bytes);
        read_start(&mut r, KIND_RECORD)?;
        let count = usize::from(r.u8().ok_or(TRUNCATED)?);
        if count == 0 || count > MAX_SENDER_KEY_STATES {
            return Err(SenderKeyError::Malformed(
                "sender key record: bad number of states",
            ));
        }
        let mut states: VecDeque<SenderKeyReceiver> = VecDeque::with_capacity(count);
        for _ in 0..count {
            let state = SenderKeyReceiver::read_body(&mut r)?;
            if let Some(first) = states.front()
                && first.group_id != state.group_id
            {
                return Err(SenderKeyError::Malformed(
                    "sender key record: states of different groups",
                ));
            }
            if states.iter().any(|s| s.key_id == state.key_id) {
                return Err(SenderKeyError::Malformed(
                    "sender key record: repeated key id",
                ));
            }
            states.push_back(state);
        }
        read_end(&r)?;
        Ok(SenderKeyRecord { states })
    }
}
