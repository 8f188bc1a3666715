//! Safety numbers: the 60-digit number and QR payload two people compare to be sure no one sits
//! between them.
//!
//! The derivation follows Signal's numeric fingerprint scheme (libsignal's
//! `NumericFingerprintGenerator`, hash version 0, 5200 iterations), so the digits for a given
//! identity and identifier are the ones Signal's algorithm yields for the same bytes. For each
//! party:
//!
//! ```text
//! h_0 = SHA-512(hash_version_be16 ‖ identity ‖ identifier ‖ identity)
//! h_i = SHA-512(h_{i-1} ‖ identity)            for i in 1..5200
//! ```
//!
//! The first 30 bytes of the final hash give six 5-digit groups (each 5-byte chunk read as a
//! big-endian integer, modulo 100 000). The two parties' 30-digit halves are put in ascending
//! order, so both sides display the same 60 digits whoever computes them.
//!
//! The QR payload is Missiva's own fixed layout rather than Signal's protobuf:
//!
//! ```text
//! magic "MSSN" (4) ‖ version u16 BE (2) ‖ local fingerprint (32) ‖ remote fingerprint (32)
//! ```
//!
//! where a fingerprint is the first 32 bytes of that party's final hash. Scanning the other
//! side's code matches when their local is our remote and their remote is our local.

use std::fmt::Write as _;

use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

#[cfg(test)]
mod tests;

/// Version of the QR payload layout; a scanned code of another version cannot be compared.
pub const SAFETY_NUMBER_VERSION: u16 = 1;

/// Version prefixed to every party's hash input (Signal's numeric fingerprint version 0).
pub const FINGERPRINT_HASH_VERSION: u16 = 0;

/// Number of chained SHA-512 invocations per party (Signal's value, > 112 bits of security).
pub const FINGERPRINT_ITERATIONS: u32 = 5200;

/// Length of one party's fingerprint as carried in the QR payload.
pub const FINGERPRINT_LEN: usize = 32;

/// Number of decimal digits in a displayed safety number.
pub const SAFETY_NUMBER_DIGITS: usize = 60;

/// Number of 5-digit groups in a displayed safety number.
pub const SAFETY_NUMBER_GROUPS: usize = 12;

/// Exact length of a QR payload of [`SAFETY_NUMBER_VERSION`].
pub const QR_PAYLOAD_LEN: usize = QR_HEADER_LEN + 2 * FINGERPRINT_LEN;

/// Marks a QR code as a Missiva safety number, so an unrelated code is told apart from a
/// safety number of another version.
const QR_MAGIC: [u8; 4] = *b"MSSN";
const QR_HEADER_LEN: usize = QR_MAGIC.len() + 2;

const GROUPS_PER_PARTY: usize = SAFETY_NUMBER_GROUPS / 2;
const BYTES_PER_GROUP: usize = 5;
const GROUP_MODULUS: u64 = 100_000;

/// What went wrong reading a scanned QR payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafetyError {
    /// The payload is shorter or longer than a safety number of its version.
    #[error("QR payload is {actual} bytes, a safety number needs {expected}")]
    WrongLength {
        /// Bytes a payload must have (the header alone, when even that is missing).
        expected: usize,
        /// Bytes the payload had.
        actual: usize,
    },
    /// The payload does not start with the safety-number marker: some other QR code.
    #[error("QR payload is not a Missiva safety number")]
    NotASafetyNumber,
    /// The payload is a safety number of a version this build cannot compare.
    #[error("safety number version {theirs} cannot be compared with version {ours}")]
    VersionMismatch {
        /// The version this build produces.
        ours: u16,
        /// The version found in the scanned payload.
        theirs: u16,
    },
}

/// The safety number of one conversation, as seen from the local side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyNumber {
    /// Twelve groups, each below 100 000, already in canonical (side-independent) order.
    groups: [u32; SAFETY_NUMBER_GROUPS],
    scannable: ScannableFingerprint,
}

impl SafetyNumber {
    /// Derives the safety number between a local and a remote party from their serialized
    /// public identities and stable identifiers (e.g. `"@anna"`).
    pub fn new(
        local_identity: &[u8],
        local_id: &str,
        remote_identity: &[u8],
        remote_id: &str,
    ) -> Self {
        let local = party_hash(local_identity, local_id.as_bytes());
        let remote = party_hash(remote_identity, remote_id.as_bytes());

        let local_groups = party_groups(&local);
        let remote_groups = party_groups(&remote);
        // Fixed-width groups compare like their zero-padded strings, which is how Signal
        // orders the two halves.
        let (first, second) = if local_groups <= remote_groups {
            (local_groups, remote_groups)
        } else {
            (remote_groups, local_groups)
        };
        let mut groups = [0u32; SAFETY_NUMBER_GROUPS];
        for (slot, group) in groups.iter_mut().zip(first.iter().chain(second.iter())) {
            *slot = *group;
        }

        Self {
            groups,
            scannable: ScannableFingerprint {
                version: SAFETY_NUMBER_VERSION,
                local: truncate_fingerprint(&local),
                remote: truncate_fingerprint(&remote),
            },
        }
    }

    /// The 60 digits, without separators.
    pub fn display(&self) -> String {
        let mut out = String::with_capacity(SAFETY_NUMBER_DIGITS);
        for group in self.groups {
            // Writing to a String cannot fail.
            let _ = write!(out, "{group:05}");
        }
        out
    }

    /// The twelve 5-digit groups, in display order.
    pub fn groups(&self) -> [String; SAFETY_NUMBER_GROUPS] {
        self.groups.map(|group| format!("{group:05}"))
    }

    /// The 60 digits as twelve groups of five separated by single spaces.
    pub fn formatted(&self) -> String {
        self.groups().join(" ")
    }

    /// The bytes to encode in this side's QR code.
    pub fn qr_payload(&self) -> Vec<u8> {
        self.scannable.to_bytes()
    }

    /// The scannable half of the safety number.
    pub fn scannable(&self) -> &ScannableFingerprint {
        &self.scannable
    }

    /// Compares a QR payload scanned from the other side's screen with this safety number.
    pub fn compare_qr(&self, scanned: &[u8]) -> Result<bool, SafetyError> {
        self.scannable.compare(scanned)
    }
}

/// Both parties' fingerprints as carried in a QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannableFingerprint {
    version: u16,
    local: [u8; FINGERPRINT_LEN],
    remote: [u8; FINGERPRINT_LEN],
}

impl ScannableFingerprint {
    /// Reads a QR payload, checking marker, version and length in that order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SafetyError> {
        let Some((header, body)) = bytes.split_first_chunk::<QR_HEADER_LEN>() else {
            return Err(SafetyError::WrongLength {
                expected: QR_HEADER_LEN,
                actual: bytes.len(),
            });
        };
        let [m0, m1, m2, m3, v0, v1] = *header;
        if [m0, m1, m2, m3] != QR_MAGIC {
            return Err(SafetyError::NotASafetyNumber);
        }
        let version = u16::from_be_bytes([v0, v1]);
        // The version decides the layout of the rest, so it is judged before the length.
        if version != SAFETY_NUMBER_VERSION {
            return Err(SafetyError::VersionMismatch {
                ours: SAFETY_NUMBER_VERSION,
                theirs: version,
            });
        }
        let wrong_length = || SafetyError::WrongLength {
            expected: QR_PAYLOAD_LEN,
            actual: bytes.len(),
        };
        let (local, remote) = body
            .split_first_chunk::<FINGERPRINT_LEN>()
            .ok_or_else(wrong_length)?;
        let remote: [u8; FINGERPRINT_LEN] = remote.try_into().map_err(|_| wrong_length())?;
        Ok(Self {
            version,
            local: *local,
            remote,
        })
    }

    /// Encodes this fingerprint as a QR payload of [`QR_PAYLOAD_LEN`] bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(QR_PAYLOAD_LEN);
        out.extend_from_slice(&QR_MAGIC);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.local);
        out.extend_from_slice(&self.remote);
        out
    }

    /// Whether a payload scanned from the other side shows the same two identities we see.
    ///
    /// `Ok(false)` means the identities differ (possibly someone in the middle); an error means
    /// the payload could not be compared at all.
    pub fn compare(&self, other_bytes: &[u8]) -> Result<bool, SafetyError> {
        let theirs = Self::from_bytes(other_bytes)?;
        let same = theirs.local.ct_eq(&self.remote) & theirs.remote.ct_eq(&self.local);
        Ok(same.into())
    }

    /// The QR payload version.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The fingerprint of the party that produced this payload.
    pub fn local_fingerprint(&self) -> &[u8; FINGERPRINT_LEN] {
        &self.local
    }

    /// The fingerprint of the other party, as the producer of this payload sees it.
    pub fn remote_fingerprint(&self) -> &[u8; FINGERPRINT_LEN] {
        &self.remote
    }
}

/// Iterated SHA-512 over one party's identity and stable identifier.
fn party_hash(identity: &[u8], stable_id: &[u8]) -> [u8; 64] {
    let mut hash: [u8; 64] = Sha512::new()
        .chain_update(FINGERPRINT_HASH_VERSION.to_be_bytes())
        .chain_update(identity)
        .chain_update(stable_id)
        .chain_update(identity)
        .finalize()
        .into();
    for _ in 1..FINGERPRINT_ITERATIONS {
        hash = Sha512::new()
            .chain_update(hash)
            .chain_update(identity)
            .finalize()
            .into();
    }
    hash
}

/// Six 5-digit groups from the first 30 bytes of a party's hash.
fn party_groups(hash: &[u8; 64]) -> [u32; GROUPS_PER_PARTY] {
    let mut groups = [0u32; GROUPS_PER_PARTY];
    for (slot, chunk) in groups.iter_mut().zip(hash.chunks_exact(BYTES_PER_GROUP)) {
        let value = chunk
            .iter()
            .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
        // The remainder is below 100 000, so it always fits.
        *slot = u32::try_from(value % GROUP_MODULUS).unwrap_or_default();
    }
    groups
}

fn truncate_fingerprint(hash: &[u8; 64]) -> [u8; FINGERPRINT_LEN] {
    let mut out = [0u8; FINGERPRINT_LEN];
    for (slot, byte) in out.iter_mut().zip(hash.iter()) {
        *slot = *byte;
    }
    out
}
