//! Running the real `missiva-cli` binary on a data folder, for the CLI's integration tests.

// Each test file uses some of these.
#![allow(dead_code)]

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

/// `sync` in `dir`, waiting up to 20 s.
pub fn sync(dir: &Path) {
    ok(dir, &["sync", "--timeout", "20"]);
}

/// `poll show POLL --json` in `dir`.
pub fn show_poll(dir: &Path, poll: &str) -> serde_json::Value {
    ok_json(dir, &["poll", "show", poll, "--json"])
}

/// What every member of a poll's chat must agree on: the question, the options with their
/// counts and voters, whether it is closed, how many voted.
pub fn shared(poll: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "question": poll["question"],
        "options": poll["options"],
        "closed": poll["closed"],
        "voters": poll["voters"],
    })
}
