//! The account commands through the real `missiva-cli` binary in a temporary data folder.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::Command;

use common::{cli, ok_json};

#[test]
fn create_list_rename_remove_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let work = ok_json(
        dir,
        &[
            "account",
            "create",
            "--name",
            "Work",
            "--relay",
            "ws://127.0.0.1:9",
            "--json",
        ],
    );
    assert_eq!(work["name"], "Work");
    assert_eq!(work["relay"], "ws://127.0.0.1:9");
    assert_eq!(work["selected"], true);
    let home = ok_json(dir, &["account", "create", "--name", "Home", "--json"]);
    assert_eq!(home["selected"], false);
    assert_ne!(work["id"], home["id"]);

    let list = ok_json(dir, &["account", "list", "--json"]);
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Work", "Home"]);

    let home_id = home["id"].to_string();
    let renamed = ok_json(dir, &["account", "rename", &home_id, "Family", "--json"]);
    assert_eq!(renamed["name"], "Family");

    let out = cli(dir, &["account", "select", &home_id]);
    assert!(out.status.success());
    let list = ok_json(dir, &["account", "list", "--json"]);
    assert_eq!(list[1]["name"], "Family");
    assert_eq!(list[1]["selected"], true);
    assert_eq!(list[0]["selected"], false);

    let out = cli(dir, &["account", "remove", &work["id"].to_string()]);
    assert!(out.status.success());
    let list = ok_json(dir, &["account", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "Family");

    // Plain output is one line per account, the selected one starred.
    let out = cli(dir, &["account", "list"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with('*') && text.contains("Family"), "{text}");
}

#[test]
fn errors_go_to_stderr_with_a_non_zero_exit() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cli(tmp.path(), &["account", "rename", "42", "Nobody"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("there is no account 42"), "{err}");

    let out = cli(tmp.path(), &["account", "create", "--name", "   "]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid account name"));

    let out = cli(
        tmp.path(),
        &["account", "create", "--name", "X", "--relay", "http://x"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ws://"));
}

#[test]
fn passcode_protects_the_data_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok_json(dir, &["account", "create", "--name", "Work", "--json"]);
    let out = Command::new(env!("CARGO_BIN_EXE_missiva-cli"))
        .arg("--data-dir")
        .arg(dir)
        .args(["passcode", "set"])
        .env("MISSIVA_NEW_PASSCODE", "tr0ub4dor")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = cli(dir, &["account", "list", "--json"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("passcode"));

    let with = |pass: &str| {
        Command::new(env!("CARGO_BIN_EXE_missiva-cli"))
            .arg("--data-dir")
            .arg(dir)
            .args(["account", "select", "1"])
            .env("MISSIVA_PASSCODE", pass)
            .output()
            .unwrap()
    };
    let wrong = with("tr0ub4dor!");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passcode"));
    // `select` opens the database: the wrapped key must unwrap to the right key.
    let right = with("tr0ub4dor");
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );
}
