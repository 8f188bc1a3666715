//! Running the real `missiva-cli` binary on a data folder, for the CLI's integration tests.

use std::path::Path;
use std::process::{Command, Output};

/// `missiva-cli --data-dir DIR --keystore file ARGS…`, with no passcode or account from the
/// environment.
pub fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_missiva-cli"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--keystore", "file"])
        .args(args)
        .env_remove("MISSIVA_PASSCODE")
        .env_remove("MISSIVA_ACCOUNT")
        .output()
        .expect("run missiva-cli")
}

/// [`cli`], asserting success.
pub fn ok(dir: &Path, args: &[&str]) -> Output {
    let out = cli(dir, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`ok`], parsing stdout as one JSON document.
pub fn ok_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_slice(&ok(dir, args).stdout).expect("one JSON document on stdout")
}
