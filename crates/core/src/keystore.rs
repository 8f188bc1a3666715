//! Where database keys live: the OS keychain (Secret Service, Keychain, Credential Manager) or,
//! chosen explicitly for headless machines, a file keystore that says loudly that it is weaker.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::atomic_file;

/// The keychain service name under which Missiva stores its entries.
const SERVICE: &str = "missiva";

/// Which keystore holds an account's database key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeystoreKind {
    /// The operating system's keychain (Secret Service on Linux).
    #[default]
    Os,
    /// A 0600 file per key under the data directory: for servers and CI, weaker.
    File,
}

impl std::str::FromStr for KeystoreKind {
    type Err = KeystoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "os" | "keychain" | "system" => Ok(KeystoreKind::Os),
            "file" => Ok(KeystoreKind::File),
            other => Err(KeystoreError::UnknownKind {
                name: other.to_owned(),
            }),
        }
    }
}

impl std::fmt::Display for KeystoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeystoreKind::Os => "os",
            KeystoreKind::File => "file",
        })
    }
}

/// What went wrong reaching a keystore.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// No keychain service answered.
    #[error(
        "the system keychain is not reachable ({reason}); start a Secret Service such as \
         gnome-keyring, or choose the file keystore with --keystore file (MISSIVA_KEYSTORE=file)"
    )]
    Unavailable {
        /// The keychain library's own words.
        reason: String,
    },
    /// A key file could not be read or written.
    #[error("cannot use the key file {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `--keystore` named something that does not exist.
    #[error("unknown keystore \"{name}\": use \"os\" or \"file\"")]
    UnknownKind {
        /// What was asked for.
        name: String,
    },
}

/// One keystore backend, able to load, save and delete secrets by name.
#[derive(Debug)]
pub(crate) struct Keystore {
    kind: KeystoreKind,
    dir: PathBuf,
}

impl Keystore {
    /// A keystore of `kind`; the file keystore keeps its files in `data_dir/keys`.
    pub(crate) fn new(kind: KeystoreKind, data_dir: &Path) -> Self {
        Keystore {
            kind,
            dir: data_dir.join("keys"),
        }
    }

    fn file_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    /// The secret stored under `name`, or `None` if there is none.
    pub(crate) fn load(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeystoreError> {
        match self.kind {
            KeystoreKind::Os => match os_entry(name)?.get_secret() {
                Ok(secret) => Ok(Some(Zeroizing::new(secret))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(unavailable(e)),
            },
            KeystoreKind::File => {
                let path = self.file_path(name);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(KeystoreError::Io { path, source }),
                }
            }
        }
    }

    /// Stores `secret` under `name`, replacing what was there.
    pub(crate) fn save(&self, name: &str, secret: &[u8]) -> Result<(), KeystoreError> {
        match self.kind {
            KeystoreKind::Os => os_entry(name)?.set_secret(secret).map_err(unavailable),
            KeystoreKind::File => {
                atomic_file::create_private_dir(&self.dir).map_err(|source| KeystoreError::Io {
                    path: self.dir.clone(),
                    source,
                })?;
                let path = self.file_path(name);
                atomic_file::write(&path, secret, 0o600)
                    .map_err(|source| KeystoreError::Io { path, source })
            }
        }
    }

    /// Removes the secret under `name`; removing a missing one is not an error.
    pub(crate) fn delete(&self, name: &str) -> Result<(), KeystoreError> {
        match self.kind {
            KeystoreKind::Os => match os_entry(name)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(unavailable(e)),
            },
            KeystoreKind::File => {
                let path = self.file_path(name);
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                    Err(source) => Err(KeystoreError::Io { path, source }),
                }
            }
        }
    }
}

fn os_entry(name: &str) -> Result<keyring::Entry, KeystoreError> {
    keyring::Entry::new(SERVICE, name).map_err(unavailable)
}

fn unavailable(e: keyring::Error) -> KeystoreError {
    KeystoreError::Unavailable {
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn file_keystore_round_trips_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::new(KeystoreKind::File, dir.path());
        assert!(ks.load("a").unwrap().is_none());
        ks.save("a", b"secret-bytes").unwrap();
        assert_eq!(ks.load("a").unwrap().unwrap().as_slice(), b"secret-bytes");
        let mode = std::fs::metadata(dir.path().join("keys/a.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(dir.path().join("keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        ks.delete("a").unwrap();
        ks.delete("a").unwrap();
        assert!(ks.load("a").unwrap().is_none());
    }

    #[test]
    fn keystore_kind_parses_names() {
        assert_eq!("file".parse::<KeystoreKind>().unwrap(), KeystoreKind::File);
        assert_eq!("OS".parse::<KeystoreKind>().unwrap(), KeystoreKind::Os);
        let err = "vault".parse::<KeystoreKind>().unwrap_err().to_string();
        assert!(err.contains("vault"), "{err}");
    }
}
