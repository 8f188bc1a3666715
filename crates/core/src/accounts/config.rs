//! `accounts.toml`: the list of accounts of one data directory, replaced atomically.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::ids::AccountId;
use crate::keystore::KeystoreKind;
use crate::passcode::PasscodeConfig;

/// The file's current format.
pub(crate) const VERSION: u32 = 1;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Config {
    pub(crate) version: u32,
    pub(crate) next_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) selected: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) passcode: Option<PasscodeConfig>,
    /// Bumped by every passcode change: keys of generation N are stored under new names, so
    /// the old keys stay valid until accounts.toml names the new generation.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) key_generation: u32,
    #[serde(default)]
    pub(crate) accounts: Vec<Entry>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            version: VERSION,
            next_id: 1,
            selected: None,
            passcode: None,
            key_generation: 0,
            accounts: Vec::new(),
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One account's line in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) id: AccountId,
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) relay: Option<String>,
    /// The handle registered on the relay, without '@'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) handle: Option<String>,
    /// The account's folder under the data directory; also the base of its keystore entry name.
    pub(crate) folder: String,
    pub(crate) keystore: KeystoreKind,
    pub(crate) created_at: String,
}

/// Why `accounts.toml` could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(std::io::Error),
    Damaged(String),
}

impl Entry {
    /// The keystore entry holding this account's key in key generation `generation`.
    pub(crate) fn key_name(&self, generation: u32) -> String {
        key_name(&self.folder, generation)
    }
}

impl Config {
    /// Reads `path`; a missing file is an empty configuration.
    pub(crate) fn read(path: &Path) -> Result<Self, ReadError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(ReadError::Io(e)),
        };
        let config: Config =
            toml::from_str(&text).map_err(|e| ReadError::Damaged(e.to_string()))?;
        if config.version > VERSION {
            return Err(ReadError::Damaged(format!(
                "written by a newer Missiva (format {}, this one reads {VERSION})",
                config.version
            )));
        }
        Ok(config)
    }

    /// Replaces `path` with this configuration: temp file, fsync, rename, fsync folder.
    pub(crate) fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = toml::to_string_pretty(self).map_err(std::io::Error::other)?;
        atomic_file::write(path, text.as_bytes(), 0o600)
    }

    pub(crate) fn entry(&self, id: AccountId) -> Option<&Entry> {
        self.accounts.iter().find(|e| e.id == id)
    }

    pub(crate) fn entry_mut(&mut self, id: AccountId) -> Option<&mut Entry> {
        self.accounts.iter_mut().find(|e| e.id == id)
    }
}

/// The keystore name of the database key of the account in `folder`, at key `generation`.
pub(crate) fn key_name(folder: &str, generation: u32) -> String {
    match generation {
        0 => folder.to_owned(),
        g => format!("{folder}-g{g}"),
    }
}
