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
            accounts: Vec::new(),
        }
    }
}

/// One account's line in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) id: AccountId,
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) relay: Option<String>,
    /// The account's folder under the data directory; also its keystore entry name.
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
