//! Session state to bytes and back, versioned, for the encrypted store. The bytes hold keys:
//! they come back in a `Zeroizing` buffer and must only ever be stored encrypted.

use std::collections::VecDeque;

use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use super::{
    AD_LEN, Key32, MAX_RECEIVER_CHAINS, MAX_SKIPPED_KEYS, RatchetError, ReceiverChain, Session,
    SkippedKey,
};
use crate::wire::Reader;

/// Format version of serialized session state.
pub const STATE_VERSION: u8 = 1;

impl Session {
    /// The whole state: `version ‖ root ‖ our ratchet secret ‖ AD ‖ [remote] ‖ [sending chain] ‖
    /// sent ‖ previous sent ‖ receiving chains ‖ skipped keys`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            300 + self.receivers.len() * 68 + self.skipped.len() * 68,
        ));
        out.push(STATE_VERSION);
        out.extend_from_slice(&self.root.0);
        out.extend_from_slice(Zeroizing::new(self.ours.to_bytes()).as_ref());
        out.extend_from_slice(&self.ad);
        match &self.remote {
            Some(r) => {
                out.push(1);
                out.extend_from_slice(r);
            }
            None => out.push(0),
        }
        match &self.sending {
            Some(c) => {
                out.push(1);
                out.extend_from_slice(&c.0);
            }
            None => out.push(0),
        }
        out.extend_from_slice(&self.sent.to_be_bytes());
        out.extend_from_slice(&self.previous_sent.to_be_bytes());
        // At most MAX_RECEIVER_CHAINS (5) chains: fits a byte.
        out.push(u8::try_from(self.receivers.len()).unwrap_or(u8::MAX));
        for c in &self.receivers {
            out.extend_from_slice(&c.remote);
            out.extend_from_slice(&c.chain.0);
            out.extend_from_slice(&c.next.to_be_bytes());
        }
        out.extend_from_slice(&u32::try_from(self.skipped.len()).unwrap_or(0).to_be_bytes());
        for s in &self.skipped {
            out.extend_from_slice(&s.remote);
            out.extend_from_slice(&s.n.to_be_bytes());
            out.extend_from_slice(&s.key.0);
        }
        out
    }

    /// Restores [`Session::to_bytes`]; damaged or oversized state is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RatchetError> {
        const TRUNCATED: RatchetError = RatchetError::Malformed("session state: truncated");
        let mut r = Reader::new(bytes);
        let version = r.u8().ok_or(TRUNCATED)?;
        if version != STATE_VERSION {
            return Err(RatchetError::UnsupportedVersion(version));
        }
        let key = |r: &mut Reader<'_>| r.array::<32>().map(Key32).ok_or(TRUNCATED);
        let root = key(&mut r)?;
        let ours_bytes = Zeroizing::new(r.array::<32>().ok_or(TRUNCATED)?);
        let ours = StaticSecret::from(*ours_bytes);
        let ad = r.array::<AD_LEN>().ok_or(TRUNCATED)?;
        let flag = |r: &mut Reader<'_>| match r.u8() {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(_) => Err(RatchetError::Malformed("session state: bad flag")),
            None => Err(TRUNCATED),
        };
        let remote = if flag(&mut r)? {
            Some(r.array::<32>().ok_or(TRUNCATED)?)
        } else {
            None
        };
        let sending = if flag(&mut r)? {
            Some(key(&mut r)?)
        } else {
            None
        };
        let sent = r.u32().ok_or(TRUNCATED)?;
        let previous_sent = r.u32().ok_or(TRUNCATED)?;
        let chains = usize::from(r.u8().ok_or(TRUNCATED)?);
        if chains > MAX_RECEIVER_CHAINS {
            return Err(RatchetError::Malformed("session state: too many chains"));
        }
        let mut receivers = VecDeque::with_capacity(chains);
        for _ in 0..chains {
            receivers.push_back(ReceiverChain {
                remote: r.array::<32>().ok_or(TRUNCATED)?,
                chain: key(&mut r)?,
                next: r.u32().ok_or(TRUNCATED)?,
            });
        }
        let count = r.u32().ok_or(TRUNCATED)?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > MAX_SKIPPED_KEYS {
            return Err(RatchetError::Malformed(
                "session state: too many skipped keys",
            ));
        }
        let mut skipped = VecDeque::with_capacity(count);
        for _ in 0..count {
            skipped.push_back(SkippedKey {
                remote: r.array::<32>().ok_or(TRUNCATED)?,
                n: r.u32().ok_or(TRUNCATED)?,
                key: key(&mut r)?,
            });
        }
        if !r.is_empty() {
            return Err(RatchetError::Malformed("session state: trailing bytes"));
        }
        Ok(Session {
            root,
            ours_public: x25519_dalek::PublicKey::from(&ours).to_bytes(),
            ours,
            remote,
            sending,
            sent,
            previous_sent,
            receivers,
            skipped,
            ad,
        })
    }
}
