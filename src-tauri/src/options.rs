//! Where the app keeps its data: `--data-dir` / `MISSIVA_DATA_DIR`, `--keystore` /
//! `MISSIVA_KEYSTORE`, else the platform data folder and the OS keychain.

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
}

impl AppOptions {
    /// Parses the process arguments; `--help`/`--version` print and exit, bad ones exit 2.
    pub fn from_env_and_args() -> Self {
        AppOptions::parse()
    }
}
