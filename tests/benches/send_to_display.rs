//! Send-to-display latency: two cores (file keystore, SQLCipher databases) talk through a real
//! `missiva-relay` process on loopback. For 1,000 messages sent one after the other, the time
//! from `send()` returning to the recipient's `incomingMessage` event, and to the message being
//! readable through `messages()`; then the messages per second that makes.
//!
//! `cargo bench -p missiva-tests --bench send_to_display`. The relay is `MISSIVA_RELAY_BIN`, else
//! the one beside this benchmark (built first with the same profile when missing or stale).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use missiva_core::account::Account;
use missiva_core::accounts::{AccountSetup, Accounts, OpenOptions};
use missiva_core::events::{EventKind, EventReceiver};
use missiva_core::ids::{ChatId, MessageId};
use missiva_core::keystore::KeystoreKind;

/// Messages measured.
const MESSAGES: usize = 1000;
/// Messages sent first and not measured (session setup, caches).
const WARM_UP: usize = 20;
/// Longest wait for one message before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(30);

fn main() {
    let relay_bin = relay_binary();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&relay_bin));
}

async fn run(relay_bin: &Path) {
    let relay = RelayProcess::start(relay_bin);
    let (anna_accounts, anna, _anna_dir) = client(&relay.url, "anna").await;
    let (bea_accounts, bea, _bea_dir) = client(&relay.url, "bea").await;
    let contact = anna.add_contact("bea").await.unwrap();
    let chat = anna.chat_for_contact(contact.id).await.unwrap();
    let mut events = bea_accounts.events().subscribe();

    let mut bea_chat = None;
    for i in 0..WARM_UP {
        let sent = anna.send(chat, &format!("warm-up {i}")).await.unwrap();
        bea_chat = Some(arrival(&mut events, &bea, sent.id).await);
    }
    let bea_chat = bea_chat.unwrap();

    let mut send_times = Vec::with_capacity(MESSAGES);
    let mut to_event = Vec::with_capacity(MESSAGES);
    let mut to_display = Vec::with_capacity(MESSAGES);
    let started = Instant::now();
    for i in 0..MESSAGES {
        let text = format!("message {i} of the send-to-display benchmark");
        let before_send = Instant::now();
        let sent = anna.send(chat, &text).await.unwrap();
        let returned = Instant::now();
        send_times.push(returned - before_send);
        arrival(&mut events, &bea, sent.id).await;
        to_event.push(returned.elapsed());
        // What the UI does on the event: re-query the conversation.
        let page = bea.messages(bea_chat, None, 50).await.unwrap();
        to_display.push(returned.elapsed());
        let last = page.last().unwrap();
        assert!(last.id == sent.id && last.text == text, "not displayable");
    }
    let total = started.elapsed();
    let rate = MESSAGES as f64 / total.as_secs_f64();

    println!();
    println!(
        "send-to-display: {MESSAGES} messages one after another, two cores through a \
         missiva-relay process on loopback ({WARM_UP} warm-up messages not counted)"
    );
    println!("{:<44} {:>9} {:>9} {:>9}", "", "p50", "p99", "max");
    for (name, samples) in [
        ("send() (local commit)", &mut send_times),
        ("send() returned -> incomingMessage event", &mut to_event),
        ("send() returned -> readable in messages()", &mut to_display),
    ] {
        samples.sort();
        println!(
            "{name:<44} {:>9} {:>9} {:>9}",
            ms(percentile(samples, 0.50)),
            ms(percentile(samples, 0.99)),
            ms(*samples.last().unwrap())
        );
    }
    println!(
        "{:<44} {:>9.0} messages/s ({:.2?} for {MESSAGES})",
        "throughput, one message in flight", rate, total
    );
    drop((anna_accounts, bea_accounts));
}

/// Waits for bea's `incomingMessage` for `id`; returns its chat.
async fn arrival(events: &mut EventReceiver, bea: &Account, id: MessageId) -> ChatId {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the message did not arrive in time")
            .expect("the event bus closed");
        match event.kind {
            EventKind::IncomingMessage { chat, message } if message == id => return chat,
            // Never expected here (the loop drains every event), but then the event may be gone.
            EventKind::EventsLost { .. } => {
                if let Ok(m) = bea.message(id).await {
                    return m.chat;
                }
            }
            _ => {}
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

async fn client(url: &str, handle: &str) -> (Accounts, Account, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions {
        keystore: KeystoreKind::File,
        ..OpenOptions::default()
    };
    let mut accounts = Accounts::open(dir.path(), options).unwrap();
    let info = accounts
        .create(AccountSetup {
            name: handle.to_owned(),
            relay: Some(url.to_owned()),
            handle: Some(handle.to_owned()),
        })
        .await
        .unwrap();
    accounts.start_sync().unwrap();
    let account = accounts.account(info.id).unwrap();
    (accounts, account, dir)
}

/// A `missiva-relay` process on a free loopback port, killed when dropped.
struct RelayProcess {
    url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl RelayProcess {
    fn start(bin: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("relay.db"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the relay: {line:?}"))
            .to_owned();
        RelayProcess {
            url,
            child,
            _dir: dir,
        }
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `MISSIVA_RELAY_BIN`, else `missiva-relay` beside this benchmark, built with its profile
/// when missing or older than the relay's sources.
fn relay_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("MISSIVA_RELAY_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_owned();
    let bin = profile_dir.join("missiva-relay");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    if newer_sources(&root, &bin) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_TARGET_DIR")
                || key == "OUT_DIR"
            {
                cmd.env_remove(&*key);
            }
        }
        cmd.current_dir(&root)
            .args(["build", "-p", "missiva-relay"])
            .arg("--target-dir")
            .arg(profile_dir.parent().unwrap());
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        assert!(cmd.status().unwrap().success(), "building the relay failed");
    }
    bin
}

fn newer_sources(root: &Path, bin: &Path) -> bool {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return true;
    };
    let mut dirs = vec![root.join("crates/relay/src"), root.join("crates/proto")];
    let mut newest = SystemTime::UNIX_EPOCH;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(t) = entry.metadata().and_then(|m| m.modified()) {
                newest = newest.max(t);
            }
        }
    }
    newest > built
}
