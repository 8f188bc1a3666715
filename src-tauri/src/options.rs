//! Where the app keeps its data: `--data-dir` / `MISSIVA_DATA_DIR`, `--keystore` /
//! `MISSIVA_KEYSTORE`, else the platform data folder and the OS keychain; `--relay` /
//! `MISSIVA_RELAY` is the relay the new-account dialog offers.

use std::path::PathBuf;

use clap::Parser;
use missiva_core::keystore::KeystoreKind;

/// The app's command line.
#[derive(Debug, Clone, Parser)]
#[command(name = "missiva", version, about = "Missiva, the private messenger")]
pub struct AppOptions {
    /// The data folder (default: the platform data folder).
    #[arg(long, env = "MISSIVA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where new accounts keep their database key: "os" (system keychain) or "file".
    #[arg(long, env = "MISSIVA_KEYSTORE", default_value = "os")]
    pub keystore: KeystoreKind,
    /// The relay the new-account dialog proposes, e.g. `ws://127.0.0.1:7400`.
    #[arg(long, env = "MISSIVA_RELAY", value_name = "URL")]
    pub relay: Option<String>,
    /// Never show desktop notifications.
    #[arg(long, env = "MISSIVA_NO_NOTIFICATIONS")]
    pub no_notifications: bool,
}

impl AppOptions {
    /// Parses the process arguments; `--help`/`--version` print and exit, bad ones exit 2.
    pub fn from_env_and_args() -> Self {
        AppOptions::parse()
    }

    /// The relay new accounts are offered: `--relay` / `MISSIVA_RELAY` if given and not
    /// blank, else the one the build names (`MISSIVA_DEFAULT_RELAY` at compile time), if any.
    pub fn default_relay(&self) -> Option<String> {
        self.relay
            .as_deref()
            .or(option_env!("MISSIVA_DEFAULT_RELAY"))
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
    }

    /// The D-Bus name base the single-instance lock uses: the app identifier for the default
    /// data folder, the identifier plus a digest of the folder for `--data-dir`, so that two
    /// instances on two folders both run while a second launch on the same folder hands over.
    pub fn instance_id(&self, identifier: &str) -> String {
        match &self.data_dir {
            None => identifier.to_owned(),
            Some(dir) => {
                let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
                format!(
                    "{identifier}.d{:016x}",
                    fnv1a(dir.as_os_str().as_encoded_bytes())
                )
            }
        }
    }
}

/// FNV-1a, 64 bits: stable across builds and platforms (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: Option<&str>) -> AppOptions {
        AppOptions {
            data_dir: dir.map(PathBuf::from),
            keystore: KeystoreKind::File,
            relay: None,
            no_notifications: false,
        }
    }

    #[test]
    fn the_instance_id_is_per_data_folder() {
        let id = "app.missiva.desktop";
        assert_eq!(options(None).instance_id(id), id);
        let a = options(Some("/nonexistent/a")).instance_id(id);
        let b = options(Some("/nonexistent/b")).instance_id(id);
        assert_ne!(a, b);
        assert_eq!(a, options(Some("/nonexistent/a")).instance_id(id));
        // A valid D-Bus name: elements of [A-Za-z0-9_-], none starting with a digit.
        assert!(
            a.starts_with("app.missiva.desktop.d") && a.len() == id.len() + 18,
            "{a}"
        );
    }

    #[test]
    fn a_blank_relay_is_no_relay() {
        let mut o = options(None);
        let built_in = option_env!("MISSIVA_DEFAULT_RELAY").filter(|r| !r.trim().is_empty());
        assert_eq!(o.default_relay().as_deref(), built_in.map(str::trim));
        o.relay = Some("  ".into());
        assert_eq!(o.default_relay(), None);
        o.relay = Some(" ws://127.0.0.1:7400 ".into());
        assert_eq!(o.default_relay().as_deref(), Some("ws://127.0.0.1:7400"));
    }
}
