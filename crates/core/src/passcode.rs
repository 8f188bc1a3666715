//! The optional app passcode: Argon2id turns it into a key-encryption key that wraps every
//! account's database key (AES-256-GCM) before the key reaches the keystore.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use rand::Rng as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secret::Passcode;

/// Associated data of the check blob that tells a right passcode from a wrong one.
const CHECK_AD: &[u8] = b"missiva passcode check v1";
const CHECK_PLAINTEXT: &[u8] = b"missiva";
const NONCE_LEN: usize = 12;

/// Errors of the passcode layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasscodeError {
    /// The data directory is protected by a passcode and none was given.
    #[error("this data directory is protected by a passcode; enter it to unlock")]
    Required,
    /// The passcode does not open the data directory.
    #[error("wrong passcode")]
    Wrong,
    /// An empty passcode was offered as a new passcode.
    #[error("the passcode must not be empty")]
    Empty,
    /// A stored wrapped key is damaged or belongs to another passcode.
    #[error("the stored key for {name} cannot be unwrapped with this passcode; it is damaged")]
    Corrupt {
        /// The keystore entry.
        name: String,
    },
    /// The stored parameters are unusable.
    #[error("the passcode settings in accounts.toml are damaged: {reason}")]
    BadConfig {
        /// What is wrong.
        reason: String,
    },
}

/// What accounts.toml records about the passcode: never the passcode or the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PasscodeConfig {
    salt: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    check: String,
}

/// The key-encryption key derived from the passcode. Zeroed on drop, never printed.
pub(crate) struct Wrapper {
    kek: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Wrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wrapper(<redacted>)")
    }
}

impl PasscodeConfig {
    /// A new configuration for `passcode`, with a fresh salt, and its wrapper.
    pub(crate) fn create(passcode: &Passcode) -> Result<(Self, Wrapper), PasscodeError> {
        if passcode.is_empty() {
            return Err(PasscodeError::Empty);
        }
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        // RFC 9106's second recommended option (64 MiB, 3 passes): ~125 ms here, once per start.
        let mut config = PasscodeConfig {
            salt: hex::encode(salt),
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
            check: String::new(),
        };
        let wrapper = config.derive(passcode)?;
        config.check = hex::encode(wrapper.seal(CHECK_PLAINTEXT, CHECK_AD));
        Ok((config, wrapper))
    }

    /// The wrapper for `passcode`, or [`PasscodeError::Wrong`].
    pub(crate) fn unlock(&self, passcode: &Passcode) -> Result<Wrapper, PasscodeError> {
        let wrapper = self.derive(passcode)?;
        let check = hex::decode(&self.check).map_err(|e| PasscodeError::BadConfig {
            reason: e.to_string(),
        })?;
        match wrapper.open(&check, CHECK_AD) {
            Some(p) if p.as_slice() == CHECK_PLAINTEXT => Ok(wrapper),
            _ => Err(PasscodeError::Wrong),
        }
    }

    fn derive(&self, passcode: &Passcode) -> Result<Wrapper, PasscodeError> {
        let bad = |reason: String| PasscodeError::BadConfig { reason };
        let salt = hex::decode(&self.salt).map_err(|e| bad(e.to_string()))?;
        let params = argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| bad(e.to_string()))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut kek = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passcode.as_bytes(), &salt, kek.as_mut())
            .map_err(|e| bad(e.to_string()))?;
        Ok(Wrapper { kek })
    }
}

impl Wrapper {
    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&(*self.kek).into())
    }

    fn seal(&self, plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and in-memory buffers cannot fail.
        if let Ok(ct) = self.cipher().encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: ad,
            },
        ) {
            out.extend_from_slice(&ct);
        }
        out
    }

    fn open(&self, blob: &[u8], ad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, ct) = blob.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_from(nonce).ok()?;
        self.cipher()
            .decrypt(&nonce, Payload { msg: ct, aad: ad })
            .ok()
            .map(Zeroizing::new)
    }

    /// Wraps a secret stored under `name` (the name is bound as associated data).
    pub(crate) fn wrap(&self, name: &str, secret: &[u8]) -> Vec<u8> {
        self.seal(secret, name.as_bytes())
    }

    /// Unwraps what [`Wrapper::wrap`] produced for `name`.
    pub(crate) fn unwrap_secret(
        &self,
        name: &str,
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, PasscodeError> {
        self.open(blob, name.as_bytes())
            .ok_or_else(|| PasscodeError::Corrupt {
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_passcode_unwraps_and_wrong_one_is_refused() {
        let (config, wrapper) = PasscodeConfig::create(&Passcode::new("open sesame")).unwrap();
        let blob = wrapper.wrap("acct-1", b"0123456789abcdef0123456789abcdef");
        let again = config.unlock(&Passcode::new("open sesame")).unwrap();
        assert_eq!(
            again.unwrap_secret("acct-1", &blob).unwrap().as_slice(),
            b"0123456789abcdef0123456789abcdef"
        );
        assert!(matches!(
            again.unwrap_secret("acct-2", &blob),
            Err(PasscodeError::Corrupt { .. })
        ));
        assert!(matches!(
            config.unlock(&Passcode::new("open sesamE")),
            Err(PasscodeError::Wrong)
        ));
        assert!(!format!("{again:?}").contains(&format!("{:?}", again.kek.as_ref())));
    }
}
