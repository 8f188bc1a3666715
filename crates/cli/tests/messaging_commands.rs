//! Messaging through the real `missiva-cli` binary: two data folders, a relay on 127.0.0.1:0,
//! `account create --relay --handle`, `contact add`, `send`, `sync`, `messages --json`, `listen`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
mod relay;

use common::{cli, ok, ok_json};
use relay::Relay;

#[test]
fn two_data_folders_exchange_messages_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let (anna, bea, other) = (
        tmp.path().join("anna"),
        tmp.path().join("bea"),
        tmp.path().join("other"),
    );
    let mut relay = Relay::start(&tmp.path().join("relay.db"), "127.0.0.1:0".parse().unwrap());
    let url = relay.url();

    let created = ok_json(
        &anna,
        &[
            "account", "create", "Anna", "--relay", &url, "--handle", "@Anna", "--json",
        ],
    );
    assert_eq!(created["handle"], "anna");
    assert_eq!(created["unread"], 0);
    ok(
        &bea,
        &[
            "account", "create", "Bea", "--relay", &url, "--handle", "bea",
        ],
    );

    // A taken handle is a clear error and leaves no account behind.
    let taken = cli(
        &other,
        &[
            "account", "create", "Impostor", "--relay", &url, "--handle", "bea",
        ],
    );
    assert!(!taken.status.success());
    assert!(
        String::from_utf8_lossy(&taken.stderr).contains("@bea is taken"),
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
    assert_eq!(
        ok_json(&other, &["account", "list", "--json"]),
        serde_json::json!([])
    );

    let contact = ok_json(&anna, &["contact", "add", "@bea", "--json"]);
    assert_eq!(contact["handle"], "bea");
    assert_eq!(
        contact["safetyNumber"].as_str().unwrap().split(' ').count(),
        12
    );

    let sent = ok_json(&anna, &["send", "@bea", "hello from the cli", "--json"]);
    assert_eq!(sent["state"], "sent", "returns after the relay's Ok");
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);

    let synced = ok(&bea, &["sync", "--timeout", "20"]);
    assert!(
        String::from_utf8_lossy(&synced.stdout).contains("received 1"),
        "{}",
        String::from_utf8_lossy(&synced.stdout)
    );
    // The sync also had the relay confirm Anna's handle: Bea sees who wrote without adding her.
    let contacts = ok_json(&bea, &["contacts", "--json"]);
    assert_eq!(contacts.as_array().unwrap().len(), 1);
    assert_eq!(contacts[0]["handle"], "anna");
    assert_eq!(ok_json(&bea, &["chats", "--json"])[0]["title"], "anna");
    let added = ok_json(&bea, &["contact", "add", "anna", "--json"]);
    assert_eq!(added["safetyNumber"], contact["safetyNumber"]);
    let got = ok_json(&bea, &["messages", "@anna", "--json"]);
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["id"], id.as_str());
    assert_eq!(got[0]["text"], "hello from the cli");
    assert_eq!(got[0]["sender"], "anna");
    assert_eq!(got[0]["state"], "received");
    assert_eq!(got[0]["outgoing"], false);
    let sent_at = got[0]["sent_at"].as_str().unwrap();
    assert!(sent_at.contains('T') && sent_at.ends_with('Z'), "{sent_at}");
    let chats = ok_json(&bea, &["chats", "--json"]);
    assert_eq!(chats[0]["unread"], 1);
    assert_eq!(chats[0]["lastMessage"]["text"], "hello from the cli");

    // Bea's delivery receipt went out with her sync; Anna picks it up with hers.
    ok(&anna, &["sync", "--timeout", "20"]);
    let mine = ok_json(&anna, &["messages", "@bea", "--json", "--limit", "1"]);
    assert_eq!(mine[0]["state"], "delivered");
    assert_eq!(mine[0]["outgoing"], true);
    assert_eq!(mine[0]["sender"], serde_json::Value::Null);

    // With the relay down, a send stays pending, says so, and exits 0.
    relay.stop();
    let offline = ok(
        &anna,
        &["send", "bea", "sent while offline", "--timeout", "5"],
    );
    let err = String::from_utf8_lossy(&offline.stderr);
    assert!(err.contains("pending"), "{err}");
    let mine = ok_json(&anna, &["messages", "@bea", "--json"]);
    assert_eq!(mine.as_array().unwrap().last().unwrap()["state"], "pending");

    // Back up: a later sync delivers it, once.
    relay.serve();
    assert_eq!(relay.url(), url);
    let synced = ok(&anna, &["sync", "--timeout", "20"]);
    assert!(String::from_utf8_lossy(&synced.stdout).contains("pending 0"));
    ok(&bea, &["sync", "--timeout", "20"]);
    ok(&bea, &["sync", "--timeout", "20"]);
    let got = ok_json(&bea, &["messages", "@anna", "--json"]);
    let texts: Vec<_> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["hello from the cli", "sent while offline"]);
}

#[test]
fn listen_prints_one_json_line_per_event() {
    let tmp = tempfile::tempdir().unwrap();
    let (anna, bea) = (tmp.path().join("anna"), tmp.path().join("bea"));
    let relay = Relay::start(&tmp.path().join("relay.db"), "127.0.0.1:0".parse().unwrap());
    let url = relay.url();
    ok(
        &anna,
        &[
            "account", "create", "Anna", "--relay", &url, "--handle", "anna",
        ],
    );
    ok(
        &bea,
        &[
            "account", "create", "Bea", "--relay", &url, "--handle", "bea",
        ],
    );
    ok(&anna, &["contact", "add", "bea"]);

    let mut listener = Command::new(env!("CARGO_BIN_EXE_missiva-cli"))
        .arg("--data-dir")
        .arg(&bea)
        .args(["--keystore", "file", "listen", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = listener.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    // Once it is online, a message arrives as an incomingMessage event.
    let mut online = false;
    let mut incoming = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while incoming.is_none() && std::time::Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        if event["kind"]["type"] == "connectionChanged" && event["kind"]["state"] == "online" {
            online = true;
            ok(&anna, &["send", "bea", "are you listening?"]);
        }
        if event["kind"]["type"] == "incomingMessage" {
            incoming = Some(event);
        }
    }
    let _ = listener.kill();
    let _ = listener.wait();
    assert!(online, "a connectionChanged online event");
    let incoming = incoming.expect("an incomingMessage event");
    assert_eq!(incoming["account"], 1);
    assert_eq!(incoming["kind"]["message"].as_str().unwrap().len(), 32);
}

#[test]
fn account_is_chosen_by_name_or_id_and_errors_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    ok(&dir, &["account", "create", "Work"]);
    // One account: --account may be left out.
    assert_eq!(
        ok_json(&dir, &["contacts", "--json"]),
        serde_json::json!([])
    );
    ok(&dir, &["account", "create", "Home"]);
    assert_eq!(
        ok_json(&dir, &["--account", "Home", "chats", "--json"]),
        serde_json::json!([])
    );
    assert_eq!(
        ok_json(&dir, &["--account", "2", "chats", "--json"]),
        serde_json::json!([])
    );
    let missing = cli(&dir, &["--account", "Nobody", "contacts"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no account \"Nobody\""));
    // An account without a relay cannot sync, and says why.
    let no_relay = cli(&dir, &["--account", "Home", "sync"]);
    assert_eq!(no_relay.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&no_relay.stderr).contains("no relay"),
        "{}",
        String::from_utf8_lossy(&no_relay.stderr)
    );
    let unknown = cli(&dir, &["messages", "@nobody", "--json"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(unknown.stdout.is_empty());
}
