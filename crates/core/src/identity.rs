//! The account's own identity and the keys it publishes, created with the account and kept only
//! in its encrypted database.

use missiva_crypto::identity::{IdentityKeyPair, PublicIdentity};
use missiva_proto::relay;
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use crate::clock;
use crate::prekeys::{self, PrekeySeed};
use crate::store::StoreError;

/// Errors about the account's own keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The account has no identity: it was created before messaging existed.
    #[error("this account has no identity keys; create a new account to send messages")]
    Missing,
    /// The stored keys cannot be read.
    #[error("the stored keys of this account are damaged: {0}")]
    Damaged(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for IdentityError {
    fn from(e: rusqlite::Error) -> Self {
        IdentityError::Store(e.into())
    }
}

/// Everything a new account publishes and keeps: identity, a signed prekey and a batch of
/// one-time prekeys. `Debug` shows no secret.
pub struct AccountKeys {
    pub(crate) identity: IdentityKeyPair,
    pub(crate) signed: PrekeySeed,
    pub(crate) one_time: Vec<PrekeySeed>,
}

impl std::fmt::Debug for AccountKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountKeys")
            .field("identity", &self.identity.public())
            .field("one_time", &self.one_time.len())
            .finish_non_exhaustive()
    }
}

impl AccountKeys {
    /// Fresh keys: an identity, signed prekey 1 and one-time prekeys 1..=100.
    pub(crate) fn generate() -> Self {
        let identity = IdentityKeyPair::generate(&mut rand::rng());
        let signed = PrekeySeed::random(1, clock::now_secs());
        let one_time = (1..=prekeys::ONE_TIME_BATCH)
            .map(|id| PrekeySeed::random(id, 0))
            .collect();
        AccountKeys {
            identity,
            signed,
            one_time,
        }
    }

    /// The public identity.
    pub(crate) fn public(&self) -> PublicIdentity {
        self.identity.public()
    }

    /// What to upload to the relay.
    pub(crate) fn upload(&self) -> relay::UploadPrekeys {
        relay::UploadPrekeys {
            signed_prekey: Some(prekeys::signed_public(&self.identity, &self.signed)),
            one_time_prekeys: self.one_time.iter().map(prekeys::one_time_public).collect(),
        }
    }

    /// Stores the keys in a new account's database; `uploaded` says the relay has them.
    pub(crate) fn insert(
        &self,
        tx: &Transaction<'_>,
        handle: Option<&str>,
        uploaded: bool,
    ) -> rusqlite::Result<()> {
        let secret = self.identity.to_bytes();
        tx.execute(
            "INSERT INTO identity (id, key_pair, public, handle, created_at)
             VALUES (1, ?1, ?2, ?3, ?4)",
            params![
                secret.as_slice(),
                self.identity.public().to_bytes().as_slice(),
                handle.unwrap_or(""),
                clock::now_ms()
            ],
        )?;
        prekeys::insert_signed(tx, &self.signed, true, uploaded)?;
        for k in &self.one_time {
            prekeys::insert_one_time(tx, k, uploaded)?;
        }
        prekeys::set_next_one_time_id(tx, prekeys::ONE_TIME_BATCH.saturating_add(1))?;
        Ok(())
    }
}

/// Gives an account created before messaging existed its keys (no handle; the prekeys are
/// uploaded on its first connection). Returns whether it had to.
pub(crate) fn ensure(store: &crate::store::Store) -> Result<bool, StoreError> {
    store.write(|tx| {
        let has: i64 = tx.query_row("SELECT count(*) FROM identity", [], |r| r.get(0))?;
        if has > 0 {
            return Ok(false);
        }
        AccountKeys::generate().insert(tx, None, false)?;
        Ok(true)
    })
}

/// The account's identity key pair.
pub(crate) fn load(conn: &Connection) -> Result<IdentityKeyPair, IdentityError> {
    let bytes: Option<Vec<u8>> = conn
        .query_row("SELECT key_pair FROM identity WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    let bytes = zeroize::Zeroizing::new(bytes.ok_or(IdentityError::Missing)?);
    IdentityKeyPair::from_bytes(&bytes).map_err(|e| IdentityError::Damaged(e.to_string()))
}

/// The account's handle on its relay, if it registered one.
pub(crate) fn handle(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let h: Option<String> = conn
        .query_row("SELECT handle FROM identity WHERE id = 1", [], |r| r.get(0))
        .optional()?;
    Ok(h.filter(|h| !h.is_empty()))
}

/// Normalises a handle as the relay does: no leading '@', lowercase, trimmed.
pub fn normalise_handle(handle: &str) -> String {
    let h = handle.trim();
    h.strip_prefix('@').unwrap_or(h).to_lowercase()
}

/// Whether `handle` (normalised) is one the relay accepts: `[a-z0-9_.]{3,32}`.
pub fn is_valid_handle(handle: &str) -> bool {
    (3..=32).contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_normalised_like_the_relay_does() {
        assert_eq!(normalise_handle(" @Anna_B "), "anna_b");
        assert!(is_valid_handle("anna_b"));
        assert!(!is_valid_handle("an"));
        assert!(!is_valid_handle("anna-b"));
        assert!(!is_valid_handle(&"a".repeat(33)));
    }

    #[test]
    fn debug_of_account_keys_leaks_no_secret() {
        let keys = AccountKeys::generate();
        let shown = format!("{keys:?} {keys:#?}");
        let secret = hex::encode(keys.identity.to_bytes().as_slice());
        assert!(!shown.contains(&secret[..16]), "{shown}");
        assert!(!shown.contains(&hex::encode(keys.signed.seed_bytes())[..16]));
    }
}
