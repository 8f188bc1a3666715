//! `missiva-cli import` through the real binary: the dry run touches no account, an import
//! shows up in `chats`/`messages`, importing twice adds nothing, and a `kill -9` mid-way leaves
//! no partial chat, after which a new import completes the history.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tokio::runtime::Runtime;
use tokio::sync::oneshot;

mod common;

use common::{cli, ok, ok_json};

/// A small Android export written for these tests: an encryption notice, a continuation line,
/// a media file named but not included, an omitted media, a line dated before the one above.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/WhatsApp Chat with Anna Rossi.txt")
}

#[test]
fn dry_run_json_describes_the_export_without_any_account() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("never-created");
    let file = fixture();
    let report = ok_json(
        &data,
        &["import", file.to_str().unwrap(), "--dry-run", "--json"],
    );
    assert_eq!(report["format"], "android");
    assert_eq!(report["date_order"], "dmy");
    assert_eq!(report["messages"], 7);
    assert_eq!(report["system"], 1);
    assert_eq!(report["media"], 2);
    assert_eq!(report["media_found"], 0);
    assert_eq!(report["media_missing"], 2);
    assert_eq!(
        report["participants"],
        serde_json::json!(["Anna Rossi", "Marco"])
    );
    assert_eq!(report["first"], "2021-02-13T23:59:00");
    assert_eq!(report["last"], "2021-02-15T18:30:00");
    assert_eq!(report["unparsed_lines"], serde_json::json!([]));
    assert_eq!(report["unparsed_total"], 0);
    assert_eq!(report["chat_title"], "Anna Rossi");
    assert_eq!(report["guessed_me"], "Marco");
    assert_eq!(report["warnings"], serde_json::json!(["not-chronological"]));
    assert!(!data.exists(), "a dry run must not create the data folder");

    let text = ok(&data, &["import", file.to_str().unwrap(), "--dry-run"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("messages:      7"), "{text}");
    assert!(text.contains("participants:  Anna Rossi, Marco"), "{text}");
}

#[test]
fn dry_run_of_a_file_that_is_not_an_export_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("notes.txt");
    std::fs::write(&file, "shopping list\nmilk\n").unwrap();
    let out = cli(
        tmp.path(),
        &["import", file.to_str().unwrap(), "--dry-run", "--json"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a WhatsApp chat export"), "{err}");

    let missing = cli(
        tmp.path(),
        &["import", "/nonexistent/chat.txt", "--dry-run"],
    );
    assert_eq!(missing.status.code(), Some(1));

    let bad_order = cli(
        tmp.path(),
        &[
            "import",
            fixture().to_str().unwrap(),
            "--dry-run",
            "--date-order",
            "dym",
        ],
    );
    assert!(!bad_order.status.success());
    assert!(String::from_utf8_lossy(&bad_order.stderr).contains("use dmy, mdy or ymd"));
}

#[test]
fn importing_into_a_new_chat_twice_adds_nothing_the_second_time() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    ok(data, &["account", "create", "Marco"]);
    let file = fixture();
    let args = [
        "import",
        file.to_str().unwrap(),
        "--me",
        "Marco",
        "--into",
        "new",
        "--json",
    ];
    let first = ok_json(data, &args);
    assert_eq!(first["added"], 8);
    assert_eq!(first["already_there"], 0);
    assert_eq!(first["report"]["messages"], 7);

    let chats = ok_json(data, &["chats", "--json"]);
    assert_eq!(chats.as_array().unwrap().len(), 1);
    assert_eq!(chats[0]["id"], first["chat"]);
    assert_eq!(chats[0]["title"], "Anna Rossi");
    assert_eq!(chats[0]["unread"], 0);
    // Sorted by its history's newest message, not by the time of the import.
    assert_eq!(chats[0]["lastActivityAt"], "2021-02-15T18:30:00Z");
    assert_eq!(chats[0]["lastMessage"]["text"], "A domani");
    assert_eq!(chats[0]["lastMessage"]["outgoing"], true);

    // The history by chat id: who wrote each message, marked imported.
    let chat = first["chat"].to_string();
    let messages = ok_json(data, &["messages", &chat, "--json"]);
    let anna = &messages[0];
    assert_eq!(
        (&anna["text"], &anna["author"], &anna["imported"]),
        (
            &"scritto prima ma arrivato dopo".into(),
            &"Anna Rossi".into(),
            &true.into()
        ),
        "{messages}"
    );
    assert!(messages[3]["author"].is_null(), "Marco is this account");
    let text = ok(data, &["messages", &chat]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Anna Rossi: Ciao Marco!  [imported]"),
        "{text}"
    );

    let again = ok_json(data, &args);
    assert_eq!(again["chat"], first["chat"]);
    assert_eq!(again["added"], 0);
    assert_eq!(again["already_there"], 8);
    assert_eq!(ok_json(data, &["chats", "--json"]), chats);
}

/// A relay embedded in the test, on its own runtime (contacts need one).
struct Relay {
    runtime: Runtime,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    fn start(db: &Path) -> Self {
        let runtime = Runtime::new().unwrap();
        let config = missiva_relay::Config::new("127.0.0.1:0".parse().unwrap(), db.to_owned());
        let relay = runtime
            .block_on(missiva_relay::Relay::bind(config))
            .unwrap();
        let addr = relay.local_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let task = runtime.spawn(async move {
            relay
                .serve(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Relay {
            runtime,
            addr,
            stop: Some(tx),
            task: Some(task),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = self.runtime.block_on(task);
        }
    }
}

#[test]
fn importing_into_a_contacts_chat_keeps_timestamps_and_who_wrote_what() {
    let tmp = tempfile::tempdir().unwrap();
    let (marco, anna) = (tmp.path().join("marco"), tmp.path().join("anna"));
    let relay = Relay::start(&tmp.path().join("relay.db"));
    let url = format!("ws://{}", relay.addr);
    ok(
        &marco,
        &[
            "account", "create", "Marco", "--relay", &url, "--handle", "marco",
        ],
    );
    ok(
        &anna,
        &[
            "account", "create", "Anna", "--relay", &url, "--handle", "anna",
        ],
    );
    ok(&marco, &["contact", "add", "@anna"]);
    let file = fixture();
    let summary = ok_json(
        &marco,
        &[
            "import",
            file.to_str().unwrap(),
            "--me",
            "Marco",
            "--into",
            "@anna",
            "--json",
        ],
    );
    assert_eq!(summary["added"], 8);
    let messages = ok_json(&marco, &["messages", "@anna", "--json"]);
    let seen: Vec<(String, bool, String)> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["sent_at"].as_str().unwrap().to_owned(),
                m["outgoing"].as_bool().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // In time order: the line dated before the one above it in the file goes first.
    let expected = [
        ("2021-02-13T23:59:00Z", false),
        ("2021-02-14T09:05:00Z", false),
        ("2021-02-14T09:06:00Z", false),
        ("2021-02-14T09:07:00Z", true),
        ("2021-02-14T09:08:00Z", false),
        ("2021-02-14T09:09:00Z", false),
        ("2021-02-14T09:10:00Z", true),
        ("2021-02-15T18:30:00Z", true),
    ];
    assert_eq!(seen.len(), expected.len(), "{messages}");
    for ((sent_at, outgoing, _), (want_at, want_out)) in seen.iter().zip(expected) {
        assert_eq!(
            (sent_at.as_str(), *outgoing),
            (want_at, want_out),
            "{messages}"
        );
    }
    assert_eq!(seen[3].2, "Ciao Anna, come stai?");
    assert_eq!(seen[4].2, "Bene grazie.\nTi mando la foto di ieri");
    assert!(messages[1]["kind"] == "system");
    assert!(
        messages
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["state"] == "read")
    );
    // Nothing to send: imported history is never put in the outbox.
    let synced = ok(&marco, &["sync", "--timeout", "20"]);
    assert!(
        String::from_utf8_lossy(&synced.stdout).contains("sent 0"),
        "{}",
        String::from_utf8_lossy(&synced.stdout)
    );
}

/// An Android export of `n` messages between two people.
fn write_large_export(path: &Path, n: u32) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let minutes = i / 3;
        let (day, hour, minute) = (1 + (minutes / 1440) % 28, (minutes / 60) % 24, minutes % 60);
        let month = 1 + (minutes / (1440 * 28)) % 12;
        let author = if i % 2 == 0 { "Anna" } else { "Marco" };
        writeln!(
            out,
            "{day:02}/{month:02}/2022, {hour:02}:{minute:02} - {author}: message {i} of the generated history"
        )
        .unwrap();
    }
    out.flush().unwrap();
}

#[test]
fn a_killed_import_leaves_no_chat_and_a_new_import_completes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&data, &["account", "create", "Marco"]);
    let file = tmp.path().join("WhatsApp Chat with Anna.txt");
    let total = 150_000u32;
    write_large_export(&file, total);
    let args = [
        "import",
        file.to_str().unwrap(),
        "--me",
        "Marco",
        "--into",
        "new",
        "--json",
        "--progress",
    ];

    let mut child = Command::new(env!("CARGO_BIN_EXE_missiva-cli"))
        .arg("--data-dir")
        .arg(&data)
        .args(["--keystore", "file"])
        .args(args)
        .env_remove("MISSIVA_PASSCODE")
        .env_remove("MISSIVA_ACCOUNT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the import ended without reporting progress"
        );
        if line.starts_with("progress:") {
            break;
        }
    }
    // SIGKILL: no chance to clean up.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(
        ok_json(&data, &["chats", "--json"]),
        serde_json::json!([]),
        "a killed import must leave no chat visible"
    );

    let summary = ok_json(&data, &args);
    assert_eq!(summary["resumed"], true);
    assert_eq!(summary["added"], total);
    assert_eq!(summary["already_there"], 0);
    assert_eq!(summary["report"]["messages"], total);
    let chats = ok_json(&data, &["chats", "--json"]);
    assert_eq!(chats.as_array().unwrap().len(), 1);
    assert_eq!(chats[0]["title"], "Anna");
    assert_eq!(
        chats[0]["lastMessage"]["text"],
        format!("message {} of the generated history", total - 1)
    );

    let again = ok_json(&data, &args);
    assert_eq!(again["added"], 0);
    assert_eq!(again["already_there"], total);
}
