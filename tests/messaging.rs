//! Messaging end to end: a real `missiva-relay` process on 127.0.0.1, cores in data folders of
//! their own (file keystore, real SQLCipher databases) and `missiva-cli` processes. The relay and
//! a client are killed mid-flight; nothing committed is lost, nothing is shown twice, and the relay
//! is left holding neither plaintext nor delivered envelopes.
//!
//! The binaries come from `MISSIVA_RELAY_BIN` / `MISSIVA_CLI_BIN`, else from this test's target
//! folder, built first (`cargo build -p missiva-relay -p missiva-cli`) when missing or older than
//! the sources. `cargo test --workspace` builds both before running any test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use futures_util::{SinkExt as _, StreamExt as _};
use missiva_core::account::Account;
use missiva_core::accounts::{AccountSetup, Accounts, OpenOptions};
use missiva_core::ids::{ChatId, MessageId};
use missiva_core::keystore::KeystoreKind;
use missiva_core::messages::{MessageState, MessageView};
use missiva_core::sync::ConnectionState;
use missiva_crypto::identity::IdentityKeyPair;
use missiva_proto::Message as _;
use missiva_proto::relay::server_frame::Body as S;
use missiva_proto::relay::{self, ErrorCode, ServerFrame, client_frame::Body as C};
use missiva_tests::{RelayProcess, cli_binary};
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message as Ws;

/// Every text sent contains this, so one search of the relay's files covers them all.
const CANARY: &str = "PLAINTEXT-CANARY-";

// ---------------------------------------------------------------------------------------------
// The relay's files

/// What the tests read from the relay's folder.
trait RelayFiles {
    fn envelopes(&self) -> Vec<StoredEnvelope>;
    async fn wait_until_empty(&self);
    fn files_containing(&self, needle: &[u8]) -> Vec<String>;
}

impl RelayFiles for RelayProcess {
    /// The envelopes in the relay's mailboxes. The running relay holds its database in SQLite's
    /// exclusive locking mode, so they are read from a copy of its files (the database and its
    /// write-ahead log, which SQLite recovers on opening, ignoring a frame cut by the copy).
    fn envelopes(&self) -> Vec<StoredEnvelope> {
        let mut last_error = None;
        for _ in 0..20 {
            match read_envelopes_from_copy(&self.db()) {
                Ok(envelopes) => return envelopes,
                Err(e) => last_error = Some(e),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("cannot read a copy of the relay's database: {last_error:?}")
    }

    /// Waits until every mailbox is empty: everything pushed was acknowledged.
    async fn wait_until_empty(&self) {
        wait_for("the relay's mailboxes to empty", LONG, || async {
            let left = self.envelopes().len();
            (left == 0).then_some(())
        })
        .await;
    }

    /// Files of the relay's folder holding `needle`.
    fn files_containing(&self, needle: &[u8]) -> Vec<String> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(self.dir()).unwrap().flatten() {
            let bytes = std::fs::read(entry.path()).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        found
    }
}

#[derive(Debug, Clone)]
struct StoredEnvelope {
    recipient: Vec<u8>,
    sender: Vec<u8>,
    id: Vec<u8>,
    content: Vec<u8>,
}

// ---------------------------------------------------------------------------------------------
// Clients

/// How long the tests wait for a state they expect.
const LONG: Duration = Duration::from_secs(90);

/// An account in a data folder of its own, driven in this process.
struct Peer {
    accounts: Accounts,
    account: Account,
    dir: TempDir,
}

/// The envelopes of the relay database `db`, from a copy of its files in a temporary folder.
fn read_envelopes_from_copy(db: &Path) -> rusqlite::Result<Vec<StoredEnvelope>> {
    let copy = tempfile::tempdir().expect("a temporary folder");
    let target = copy.path().join("relay.db");
    for suffix in ["", "-wal"] {
        let from = PathBuf::from(format!("{}{suffix}", db.display()));
        let to = PathBuf::from(format!("{}{suffix}", target.display()));
        if let Err(e) = std::fs::copy(&from, &to)
            && (suffix.is_empty() || e.kind() != std::io::ErrorKind::NotFound)
        {
            return Err(rusqlite::Error::InvalidPath(from.join(e.to_string())));
        }
    }
    let conn = rusqlite::Connection::open(&target)?;
    let mut stmt = conn.prepare(
        "SELECT r.key, s.key, e.id, e.content FROM envelopes e
             JOIN identities r ON r.id = e.recipient JOIN identities s ON s.id = e.sender
             ORDER BY e.seq",
    )?;
    let envelopes = stmt
        .query_map([], |r| {
            Ok(StoredEnvelope {
                recipient: r.get(0)?,
                sender: r.get(1)?,
                id: r.get(2)?,
                content: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(envelopes)
}

fn file_keystore() -> OpenOptions {
    OpenOptions {
        keystore: KeystoreKind::File,
        ..OpenOptions::default()
    }
}

impl Peer {
    /// Creates and registers `handle`; syncing only with `sync`.
    async fn create(url: &str, handle: &str, sync: bool) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let mut accounts = Accounts::open(dir.path(), file_keystore()).unwrap();
        let info = accounts
            .create(AccountSetup {
                name: handle.to_owned(),
                relay: Some(url.to_owned()),
                handle: Some(handle.to_owned()),
            })
            .await
            .unwrap();
        let account = accounts.account(info.id).unwrap();
        let mut peer = Peer {
            accounts,
            account,
            dir,
        };
        if sync {
            peer.start_sync();
        }
        peer
    }

    /// Opens the data folder again, as a restarted app would, and syncs.
    fn reopen(dir: TempDir) -> Peer {
        let mut accounts = Accounts::open(dir.path(), file_keystore()).unwrap();
        let id = accounts.list()[0].id;
        let account = accounts.account(id).unwrap();
        let mut peer = Peer {
            accounts,
            account,
            dir,
        };
        peer.start_sync();
        peer
    }

    fn start_sync(&mut self) {
        self.accounts.start_sync().unwrap();
    }

    fn identity(&self) -> IdentityKeyPair {
        let secret: Vec<u8> = self
            .account
            .store()
            .read(|c| c.query_row("SELECT key_pair FROM identity", [], |r| r.get(0)))
            .unwrap();
        IdentityKeyPair::from_bytes(&secret).unwrap()
    }

    fn public(&self) -> Vec<u8> {
        self.identity().public().to_bytes().to_vec()
    }

    async fn chat_with(&self, handle: &str) -> ChatId {
        let contact = self.account.add_contact(handle).await.unwrap();
        self.account.chat_for_contact(contact.id).await.unwrap()
    }
}

/// Every message of `chat`, oldest first.
async fn all_messages(account: &Account, chat: ChatId) -> Vec<MessageView> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = account.messages(chat, before, 1000).await.unwrap();
        let Some(first) = page.first() else { break };
        before = Some(first.id);
        let full = page.len() == 1000;
        all.splice(0..0, page);
        if !full {
            break;
        }
    }
    all
}

fn texts<'a>(messages: impl IntoIterator<Item = &'a MessageView>) -> Vec<&'a str> {
    messages.into_iter().map(|m| m.text.as_str()).collect()
}

/// `missiva-cli` on a data folder of its own (file keystore).
#[derive(Clone)]
struct CliPeer {
    dir: PathBuf,
}

impl CliPeer {
    fn command(&self) -> Command {
        let mut cmd = Command::new(cli_binary().unwrap());
        cmd.arg("--data-dir")
            .arg(&self.dir)
            .args(["--keystore", "file"])
            .env(
                "MISSIVA_LOG",
                std::env::var("MISSIVA_LOG").unwrap_or("warn".into()),
            )
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the CLI to completion (at most 60 s), failing the test unless it succeeds.
    fn run(&self, args: &[&str]) -> String {
        let child = self
            .command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = wait_output(child, Duration::from_secs(60));
        assert!(
            output.status.success(),
            "missiva-cli {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// `messages @handle --json`, as JSON objects, oldest first.
    fn messages(&self, handle: &str) -> Vec<serde_json::Value> {
        let out = self.run(&["messages", handle, "--json", "--limit", "1000"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

/// Waits for `child`, killing it and failing after `timeout`. Its output is read meanwhile, so
/// that it never blocks on a full pipe.
fn wait_output(mut child: Child, timeout: Duration) -> std::process::Output {
    fn reader(
        pipe: Option<impl std::io::Read + Send + 'static>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "a missiva-cli process ran longer than {timeout:?}; its stderr: {}",
                String::from_utf8_lossy(&stderr.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    std::process::Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `timeout`.
async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A run's texts: unique across runs, numbered, and all holding [`CANARY`].
fn text(run: u64, from: &str, i: usize) -> String {
    format!("{CANARY}{run:016x} from {from} #{i:04}")
}

fn run_tag() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    u64::try_from(nanos % u128::from(u64::MAX)).unwrap() ^ u64::from(std::process::id())
}

// ---------------------------------------------------------------------------------------------
// A raw protocol client, to do what a well-behaved client never does

struct RawClient {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    nonce: Vec<u8>,
    next_id: u64,
    pushes: Vec<ServerFrame>,
}

impl RawClient {
    async fn connect(url: &str) -> RawClient {
        let (ws, _) = tokio_tungstenite::connect_async(format!("{url}/v1"))
            .await
            .unwrap();
        let mut client = RawClient {
            ws,
            nonce: Vec::new(),
            next_id: 1,
            pushes: Vec::new(),
        };
        let frame = client
            .recv(Duration::from_secs(10))
            .await
            .expect("a challenge");
        let Some(S::Challenge(c)) = frame.body else {
            panic!("expected a challenge, got {frame:?}");
        };
        client.nonce = c.nonce;
        client
    }

    /// The next frame, `None` on timeout or when the relay closed the connection.
    async fn recv(&mut self, timeout: Duration) -> Option<ServerFrame> {
        loop {
            let message = tokio::time::timeout(timeout, self.ws.next()).await.ok()??;
            match message {
                Ok(Ws::Binary(bytes)) => {
                    return Some(missiva_proto::decode_server_frame(&bytes, 1 << 20).unwrap());
                }
                Ok(Ws::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Sends `body` and returns the relay's reply (pushes meanwhile are kept in `pushes`);
    /// `None` if the connection closed first.
    async fn request(&mut self, body: C) -> Option<ServerFrame> {
        let id = self.next_id;
        self.next_id += 1;
        let bytes = missiva_proto::client_frame(id, body).encode_to_vec();
        self.ws.send(Ws::Binary(bytes.into())).await.ok()?;
        loop {
            let frame = self.recv(Duration::from_secs(10)).await?;
            if frame.request_id == id {
                return Some(frame);
            }
            self.pushes.push(frame);
        }
    }

    fn auth_frame(key: &IdentityKeyPair, identity: Vec<u8>, nonce: &[u8]) -> C {
        let mut signed = missiva_proto::AUTH_LABEL.to_vec();
        signed.extend_from_slice(nonce);
        C::Auth(relay::Auth {
            identity,
            signature: key.sign(&signed).to_vec(),
        })
    }

    async fn auth(&mut self, key: &IdentityKeyPair) {
        let frame = Self::auth_frame(key, key.public().to_bytes().to_vec(), &self.nonce.clone());
        let reply = self.request(frame).await.expect("a reply to Auth");
        assert!(
            matches!(reply.body, Some(S::AuthOk(_))),
            "authentication refused: {reply:?}"
        );
    }

    /// Frames pushed within `window`, beside those already kept.
    async fn drain_pushes(&mut self, window: Duration) -> Vec<ServerFrame> {
        while let Some(frame) = self.recv(window).await {
            self.pushes.push(frame);
        }
        std::mem::take(&mut self.pushes)
    }
}

fn error_code(frame: &Option<ServerFrame>) -> Option<ErrorCode> {
    match frame.as_ref().and_then(|f| f.body.as_ref()) {
        Some(S::Error(e)) => ErrorCode::try_from(e.code).ok(),
        _ => None,
    }
}

fn is_delivery(frame: &ServerFrame) -> bool {
    matches!(frame.body, Some(S::Deliver(_)))
}

// ---------------------------------------------------------------------------------------------
// 1a. Volume

/// Two cores exchange 1,000 messages each way at once through the relay process: each arrives
/// once, in order, and comes back delivered; the relay is left with no envelope and its files
/// (database, WAL, log) never held a text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_each_way_arrive_once_in_order_and_leave_nothing_on_the_relay() {
    const N: usize = 1000;
    let mut relay = RelayProcess::start().unwrap();
    let anna = Peer::create(&relay.url.clone(), "anna", true).await;
    let bea = Peer::create(&relay.url.clone(), "bea", true).await;
    // Both add the other before anything is sent: two sessions are set up at the same time.
    let (anna_chat, bea_chat) = tokio::join!(anna.chat_with("bea"), bea.chat_with("anna"));
    let run = run_tag();

    let started = Instant::now();
    let send_all = |account: Account, chat: ChatId, from: &'static str| async move {
        let mut ids = Vec::with_capacity(N);
        for i in 0..N {
            ids.push(account.send(chat, &text(run, from, i)).await.unwrap().id);
        }
        ids
    };
    let (anna_ids, bea_ids) = tokio::join!(
        tokio::spawn(send_all(anna.account.clone(), anna_chat, "anna")),
        tokio::spawn(send_all(bea.account.clone(), bea_chat, "bea")),
    );
    let (anna_ids, bea_ids) = (anna_ids.unwrap(), bea_ids.unwrap());

    for (peer, chat) in [(&anna, anna_chat), (&bea, bea_chat)] {
        wait_for(
            "every message received and every receipt back",
            LONG,
            || async {
                let all = all_messages(&peer.account, chat).await;
                let incoming = all.iter().filter(|m| !m.outgoing).count();
                let delivered = all
                    .iter()
                    .filter(|m| m.outgoing && m.state == MessageState::Delivered)
                    .count();
                (incoming >= N && delivered >= N).then_some(())
            },
        )
        .await;
    }
    let elapsed = started.elapsed();
    eprintln!("{N} messages each way, received and delivered, in {elapsed:.2?}");

    for (me, chat, my_ids, their_ids, them) in [
        (&anna, anna_chat, &anna_ids, &bea_ids, "bea"),
        (&bea, bea_chat, &bea_ids, &anna_ids, "anna"),
    ] {
        let me_name = if them == "bea" { "anna" } else { "bea" };
        let all = all_messages(&me.account, chat).await;
        let (outgoing, incoming): (Vec<_>, Vec<_>) = all.iter().partition(|m| m.outgoing);
        let expected_out: Vec<String> = (0..N).map(|i| text(run, me_name, i)).collect();
        let expected_in: Vec<String> = (0..N).map(|i| text(run, them, i)).collect();
        assert_eq!(
            texts(outgoing.iter().copied()),
            expected_out,
            "{me_name}'s sent"
        );
        assert_eq!(
            outgoing.iter().map(|m| m.id).collect::<Vec<_>>(),
            *my_ids,
            "{me_name}'s sent ids"
        );
        let not_delivered: Vec<_> = outgoing
            .iter()
            .filter(|m| m.state != MessageState::Delivered)
            .map(|m| (&m.text, m.state))
            .collect();
        assert!(not_delivered.is_empty(), "{me_name}: {not_delivered:?}");
        assert_eq!(
            texts(incoming.iter().copied()),
            expected_in,
            "{me_name} received each of {them}'s messages once, in order"
        );
        assert_eq!(
            incoming.iter().map(|m| m.id).collect::<Vec<_>>(),
            *their_ids
        );
        assert!(
            incoming
                .iter()
                .all(|m| m.sender.as_deref() == Some(them) && m.state == MessageState::Received)
        );
    }

    // Every envelope, receipts included, was acknowledged and deleted.
    relay.wait_until_empty().await;
    relay.kill();
    assert!(relay.envelopes().is_empty());
    let leaked = relay.files_containing(CANARY.as_bytes());
    assert!(
        leaked.is_empty(),
        "plaintext found in the relay's {leaked:?}"
    );
    for probe in [text(run, "anna", 0), text(run, "bea", N - 1)] {
        assert!(relay.files_containing(probe.as_bytes()).is_empty());
    }
    // The scan does see what the relay stores in clear: the handles.
    assert!(!relay.files_containing(b"anna").is_empty());
}

// ---------------------------------------------------------------------------------------------
// 1b. Chaos

/// What happened to one `missiva-cli send`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CliSend {
    /// It exited successfully: the message is committed.
    Done,
    /// It exited successfully, the relay being unreachable: committed, pending.
    Queued,
    /// SIGKILLed while running: committed or not, but never half.
    Killed,
}

/// While a core sends 300 messages and a `missiva-cli` process per message sends 40 the other
/// way, the relay is SIGKILLed and restarted twice on the same port and database, and CLI sends
/// are SIGKILLed at points spread over their run (before and after their commit). After both sides sync, every message the sender shows arrived
/// exactly once and in order, every receipt came back, and no completed send was lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_relay_and_a_cli_mid_send_loses_nothing_and_shows_nothing_twice() {
    const CORE_N: usize = 300;
    const CLI_N: usize = 60;
    // CLI send number -> when it is killed, as a fraction of a whole send's duration (start-up to
    // exit, measured on the sends before), so that some die before their commit, some after.
    let kills: BTreeMap<usize, f64> = [(5, 0.1), (12, 0.25), (19, 0.4), (26, 0.55), (33, 0.7)]
        .into_iter()
        .chain([(40, 0.85), (47, 0.95)])
        .collect();
    let mut relay = RelayProcess::start().unwrap();
    let url = relay.url.clone();
    let anna = Peer::create(&url, "anna", true).await;
    let bea_dir = tempfile::tempdir().unwrap();
    let bea = CliPeer {
        dir: bea_dir.path().to_owned(),
    };
    let setup = {
        let (url, bea) = (url.clone(), bea.clone());
        tokio::task::spawn_blocking(move || {
            bea.run(&[
                "account", "create", "bea", "--relay", &url, "--handle", "bea",
            ]);
            bea.run(&["contact", "add", "@anna"]);
        })
    };
    setup.await.unwrap();
    let anna_chat = anna.chat_with("bea").await;
    let run = run_tag();

    // Bea: one CLI process per message, some killed mid-send.
    let cli_loop = {
        let (bea, kills) = (bea.clone(), kills.clone());
        tokio::task::spawn_blocking(move || {
            let mut outcomes = Vec::with_capacity(CLI_N);
            let mut durations: Vec<Duration> = Vec::new();
            for i in 0..CLI_N {
                let text = text(run, "bea", i);
                let started = Instant::now();
                let child = bea
                    .command()
                    .args(["send", "@anna", &text, "--json"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                let outcome = match kills.get(&i) {
                    Some(fraction) => {
                        let mut child = child;
                        durations.sort();
                        let typical = durations[durations.len() / 2];
                        std::thread::sleep(typical.mul_f64(*fraction));
                        let _ = child.kill();
                        let status = child.wait().unwrap();
                        if status.success() {
                            CliSend::Done
                        } else {
                            CliSend::Killed
                        }
                    }
                    None => {
                        let out = wait_output(child, Duration::from_secs(60));
                        durations.push(started.elapsed());
                        let stderr = String::from_utf8_lossy(&out.stderr);
                        assert!(out.status.success(), "send #{i} failed: {stderr}");
                        if stderr.contains("pending") {
                            CliSend::Queued
                        } else {
                            CliSend::Done
                        }
                    }
                };
                outcomes.push((text, outcome));
                // Spread the sends over the relay's outages.
                std::thread::sleep(Duration::from_millis(40));
            }
            outcomes
        })
    };
    // Anna: a steady stream.
    let anna_loop = {
        let account = anna.account.clone();
        tokio::spawn(async move {
            for i in 0..CORE_N {
                account
                    .send(anna_chat, &text(run, "anna", i))
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    // The relay dies twice, without warning, while both are sending.
    for (up, down) in [(800, 300), (1500, 800)] {
        tokio::time::sleep(Duration::from_millis(up)).await;
        tokio::task::block_in_place(|| relay.kill());
        wait_for("anna to notice the relay is gone", LONG, || async {
            (anna.account.connection_state() != ConnectionState::Online).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(down)).await;
        tokio::task::block_in_place(|| relay.restart()).unwrap();
        assert_eq!(relay.url.clone(), url);
    }
    anna_loop.await.unwrap();
    let outcomes = cli_loop.await.unwrap();

    // Both sides sync until everything is across.
    let started = Instant::now();
    let (bea_view, anna_view) = loop {
        let bea = bea.clone();
        let bea_view = tokio::task::spawn_blocking(move || {
            bea.run(&["sync", "--timeout", "10"]);
            bea.messages("@anna")
        })
        .await
        .unwrap();
        let anna_view = all_messages(&anna.account, anna_chat).await;
        let bea_out: Vec<_> = bea_view.iter().filter(|m| m["outgoing"] == true).collect();
        let done = bea_view.len() - bea_out.len() >= CORE_N
            && bea_out.iter().all(|m| m["state"] == "delivered")
            && anna_view.iter().filter(|m| !m.outgoing).count() >= bea_out.len()
            && anna_view
                .iter()
                .filter(|m| m.outgoing)
                .all(|m| m.state == MessageState::Delivered);
        if done || started.elapsed() > LONG {
            break (bea_view, anna_view);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("caught up {:.2?} after the last send", started.elapsed());

    let json_texts = |v: &[&serde_json::Value]| -> Vec<String> {
        v.iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect()
    };
    let (bea_out, bea_in): (Vec<_>, Vec<_>) = bea_view.iter().partition(|m| m["outgoing"] == true);
    let (anna_out, anna_in): (Vec<_>, Vec<_>) = anna_view.iter().partition(|m| m.outgoing);

    // Anna -> Bea: all of them, once, in order, delivered.
    let expected: Vec<String> = (0..CORE_N).map(|i| text(run, "anna", i)).collect();
    assert_eq!(texts(anna_out.iter().copied()), expected);
    assert_eq!(
        json_texts(&bea_in),
        expected,
        "bea got anna's messages once, in order"
    );
    let bea_in_ids: Vec<String> = bea_in
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    let anna_out_ids: Vec<String> = anna_out.iter().map(|m| m.id.to_string()).collect();
    assert_eq!(bea_in_ids, anna_out_ids);
    let stuck: Vec<_> = anna_out
        .iter()
        .filter(|m| m.state != MessageState::Delivered)
        .map(|m| (&m.text, m.state))
        .collect();
    assert!(
        stuck.is_empty(),
        "receipts missing on anna's side: {stuck:?}"
    );

    // Bea -> Anna: what Bea shows is what Anna got, once, in order; no completed send lost.
    let shown = json_texts(&bea_out);
    let attempted: Vec<&String> = outcomes.iter().map(|(t, _)| t).collect();
    let positions = shown
        .iter()
        .map(|t| attempted.iter().position(|a| *a == t))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_else(|| panic!("bea shows a message never sent: {shown:?}"));
    let in_order = positions.windows(2).all(|w| w[0] < w[1]);
    assert!(
        in_order,
        "bea's sent messages out of order or twice: {shown:?}"
    );
    for (text, outcome) in &outcomes {
        if *outcome != CliSend::Killed {
            assert!(shown.contains(text), "a completed send was lost: {text}");
        }
    }
    assert_eq!(
        texts(anna_in.iter().copied()),
        shown,
        "anna got exactly what bea shows as sent, once, in order"
    );
    let bea_out_ids: Vec<String> = bea_out
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    let anna_in_ids: Vec<String> = anna_in.iter().map(|m| m.id.to_string()).collect();
    assert_eq!(anna_in_ids, bea_out_ids);
    let not_delivered: Vec<_> = bea_out
        .iter()
        .filter(|m| m["state"] != "delivered")
        .map(|m| (m["text"].clone(), m["state"].clone()))
        .collect();
    assert!(
        not_delivered.is_empty(),
        "receipts missing on bea's side: {not_delivered:?}"
    );
    let killed_kept = outcomes
        .iter()
        .filter(|(t, o)| *o == CliSend::Killed && shown.contains(t))
        .count();
    let killed = outcomes
        .iter()
        .filter(|(_, o)| *o == CliSend::Killed)
        .count();
    let queued = outcomes
        .iter()
        .filter(|(_, o)| *o == CliSend::Queued)
        .count();
    eprintln!(
        "{killed} CLI sends killed mid-run, {killed_kept} of them had committed; \
         {queued} sent while the relay was down"
    );

    relay.wait_until_empty().await;
}

// ---------------------------------------------------------------------------------------------
// 1c. Negative

/// An envelope replayed to the relay after the recipient acknowledged it (same sender, same
/// envelope id, same bytes, by a client authenticated as the sender), and the same ciphertext
/// under a new envelope id, are each acknowledged and dropped: the message is shown once, the
/// mailbox empties, and the session still carries the next message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_envelopes_are_not_shown_twice() {
    let relay = RelayProcess::start().unwrap();
    let anna = Peer::create(&relay.url.clone(), "anna", true).await;
    let bea = Peer::create(&relay.url.clone(), "bea", false).await;
    let bea_public = bea.public();
    let anna_chat = anna.chat_with("bea").await;
    let run = run_tag();
    let first_text = text(run, "anna", 0);
    let first = anna.account.send(anna_chat, &first_text).await.unwrap();

    // Bea is offline: the envelope waits on the relay, where we copy it.
    let original = wait_for("the envelope on the relay", LONG, || async {
        relay
            .envelopes()
            .into_iter()
            .find(|e| e.recipient == bea_public)
    })
    .await;
    assert_eq!(original.sender, anna.public());

    // Bea comes online, stores it and acknowledges it; Anna sees it delivered.
    let mut bea = bea;
    bea.start_sync();
    let bea_chat = wait_for("bea receives", LONG, || async {
        let chats = bea.account.chats().await.unwrap();
        chats.first().map(|c| c.id)
    })
    .await;
    wait_for("anna sees delivered", LONG, || async {
        let m = anna.account.message(first.id).await.unwrap();
        (m.state == MessageState::Delivered).then_some(())
    })
    .await;
    relay.wait_until_empty().await;

    // Bea goes offline; the exact envelope is sent again, authenticated as Anna.
    let Peer {
        accounts,
        account,
        dir: bea_dir,
    } = bea;
    drop((account, accounts));
    let mut raw = RawClient::connect(&relay.url.clone()).await;
    raw.auth(&anna.identity()).await;
    let replay = |envelope_id: Vec<u8>| {
        C::Send(relay::Send {
            recipient: original.recipient.clone(),
            envelope_id,
            content: original.content.clone(),
            ephemeral: false,
        })
    };
    let reply = raw.request(replay(original.id.clone())).await;
    assert!(
        matches!(reply.as_ref().and_then(|f| f.body.as_ref()), Some(S::Ok(_))),
        "{reply:?}"
    );
    // The relay cannot tell it from a new envelope once the first was deleted: it holds it, so
    // only Bea's device stands between the replay and a second copy on screen.
    let held = relay
        .envelopes()
        .into_iter()
        .filter(|e| e.recipient == bea_public && e.id == original.id)
        .count();
    assert_eq!(
        held, 1,
        "the replay must reach bea for this test to mean anything"
    );

    // Bea restarts: the replay is acknowledged and dropped, not shown.
    let bea = Peer::reopen(bea_dir);
    relay.wait_until_empty().await;
    let shown = |page: &[MessageView]| page.iter().filter(|m| m.text == first_text).count();
    assert_eq!(shown(&all_messages(&bea.account, bea_chat).await), 1);

    // The same ciphertext under a new envelope id, while Bea is online: the ratchet refuses it.
    let reply = raw.request(replay(MessageId::random().0.to_vec())).await;
    assert!(
        matches!(reply.as_ref().and_then(|f| f.body.as_ref()), Some(S::Ok(_))),
        "{reply:?}"
    );
    relay.wait_until_empty().await;
    let page = all_messages(&bea.account, bea_chat).await;
    assert_eq!(shown(&page), 1, "{:?}", texts(&page));
    assert_eq!(page.len(), 1, "nothing else appeared: {:?}", texts(&page));

    // The session survived both: the next message arrives and is delivered.
    let second_text = text(run, "anna", 1);
    let second = anna.account.send(anna_chat, &second_text).await.unwrap();
    wait_for("the next message is delivered", LONG, || async {
        let m = anna.account.message(second.id).await.unwrap();
        (m.state == MessageState::Delivered).then_some(())
    })
    .await;
    let page = all_messages(&bea.account, bea_chat).await;
    assert_eq!(texts(&page), [first_text.as_str(), second_text.as_str()]);
}

/// The relay process gives nothing to a client that has not proved its identity: mailbox
/// requests before authentication are refused, a signature by another key or over another
/// connection's challenge is refused and the connection closed, another identity's ack does not
/// reach it, nothing is pushed, and the mailbox is intact for its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_refuses_mailbox_access_without_authentication() {
    let relay = RelayProcess::start().unwrap();
    let anna = Peer::create(&relay.url.clone(), "anna", true).await;
    let mut bea = Peer::create(&relay.url.clone(), "bea", false).await;
    let bea_key = bea.identity();
    let bea_public = bea.public();
    let anna_chat = anna.chat_with("bea").await;
    let waiting = text(run_tag(), "anna", 0);
    anna.account.send(anna_chat, &waiting).await.unwrap();
    let envelope = wait_for("the envelope on the relay", LONG, || async {
        relay
            .envelopes()
            .into_iter()
            .find(|e| e.recipient == bea_public)
    })
    .await;

    // No Auth at all: every mailbox request is refused, and nothing is pushed.
    let mut raw = RawClient::connect(&relay.url.clone()).await;
    let ack = C::Ack(relay::Ack {
        envelopes: vec![relay::AckedEnvelope {
            sender: envelope.sender.clone(),
            id: envelope.id.clone(),
        }],
    });
    let send = C::Send(relay::Send {
        recipient: bea_public.clone(),
        envelope_id: MessageId::random().0.to_vec(),
        content: b"forged".to_vec(),
        ephemeral: false,
    });
    let fetch = C::FetchBundle(relay::FetchBundle {
        identity: bea_public.clone(),
    });
    for body in [ack.clone(), send, fetch] {
        let reply = raw.request(body).await;
        assert_eq!(
            error_code(&reply),
            Some(ErrorCode::Unauthenticated),
            "{reply:?}"
        );
    }
    let pushed = raw.drain_pushes(Duration::from_millis(500)).await;
    assert!(!pushed.iter().any(is_delivery), "{pushed:?}");

    // Bea's identity, signed by another key: refused, closed, nothing pushed.
    let mut raw = RawClient::connect(&relay.url.clone()).await;
    let mallory = IdentityKeyPair::generate(&mut rand::rng());
    let forged = RawClient::auth_frame(&mallory, bea_public.clone(), &raw.nonce.clone());
    let reply = raw.request(forged).await;
    assert_eq!(error_code(&reply), Some(ErrorCode::AuthFailed), "{reply:?}");
    let after = raw.request(ack.clone()).await;
    assert!(
        after.is_none() || error_code(&after).is_some(),
        "still served after a failed Auth: {after:?}"
    );
    let pushed = raw.drain_pushes(Duration::from_millis(500)).await;
    assert!(!pushed.iter().any(is_delivery), "{pushed:?}");

    // Bea's real signature, but over another connection's challenge: refused.
    let first = RawClient::connect(&relay.url.clone()).await;
    let mut second = RawClient::connect(&relay.url.clone()).await;
    let replayed = RawClient::auth_frame(&bea_key, bea_public.clone(), &first.nonce);
    let reply = second.request(replayed).await;
    assert_eq!(error_code(&reply), Some(ErrorCode::AuthFailed), "{reply:?}");
    let pushed = second.drain_pushes(Duration::from_millis(500)).await;
    assert!(!pushed.iter().any(is_delivery), "{pushed:?}");

    // Authenticated as someone else: acking Bea's envelope touches only one's own mailbox, and
    // nothing of Bea's is pushed.
    let mut other = RawClient::connect(&relay.url.clone()).await;
    other.auth(&mallory).await;
    let reply = other.request(ack.clone()).await;
    assert!(reply.is_some(), "the relay answers an authenticated Ack");
    let pushed = other.drain_pushes(Duration::from_millis(500)).await;
    assert!(!pushed.iter().any(is_delivery), "{pushed:?}");

    // None of it touched the mailbox: Bea gets the message, once.
    assert!(
        relay.envelopes().iter().any(|e| e.id == envelope.id),
        "an ack by someone other than bea deleted the envelope"
    );
    bea.start_sync();
    let chat = wait_for("bea receives", LONG, || async {
        bea.account.chats().await.unwrap().first().map(|c| c.id)
    })
    .await;
    relay.wait_until_empty().await;
    let page = all_messages(&bea.account, chat).await;
    assert_eq!(texts(&page), [waiting.as_str()]);
}
