//! Shared fixtures: an embedded relay on 127.0.0.1:0 and accounts in temporary data folders.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use missiva_core::account::Account;
use missiva_core::accounts::{AccountSetup, Accounts, OpenOptions};
use missiva_core::keystore::KeystoreKind;
use tempfile::TempDir;
use tokio::sync::oneshot;

/// How long `eventually` waits.
pub const PATIENCE: Duration = Duration::from_secs(20);
/// How long a burst of hundreds of messages may take to arrive (debug builds, loaded machine).
pub const BURST_PATIENCE: Duration = Duration::from_secs(120);

/// A relay serving in this process; dropping it (its stop sender) shuts it down.
pub struct TestRelay {
    pub url: String,
    addr: SocketAddr,
    dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

/// A relay that was stopped; its database is kept.
pub struct StoppedRelay {
    dir: TempDir,
}

async fn serve(
    addr: SocketAddr,
    db: PathBuf,
    limits: missiva_relay::Limits,
) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let mut config = missiva_relay::Config::new(addr, db);
    config.limits = limits;
    let relay = missiva_relay::Relay::bind(config)
        .await
        .expect("bind the relay");
    let addr = relay.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        relay
            .serve(async move {
                let _ = rx.await;
            })
            .await
            .expect("relay serves");
    });
    (addr, tx, task)
}

impl TestRelay {
    pub async fn start() -> Self {
        Self::start_with(missiva_relay::Limits::default()).await
    }

    /// A relay enforcing `limits`.
    pub async fn start_with(limits: missiva_relay::Limits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (addr, stop, task) = serve(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().join("relay.db"),
            limits,
        )
        .await;
        TestRelay {
            url: format!("ws://{addr}"),
            addr,
            dir,
            stop: Some(stop),
            task,
        }
    }

    /// Shuts the relay down (connections close); the mailbox stays on disk.
    pub async fn stop(mut self) -> StoppedRelay {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        StoppedRelay { dir: self.dir }
    }
}

impl StoppedRelay {
    /// Serves the same database again at `url`'s address.
    pub async fn restart_at(self, url: &str) -> TestRelay {
        let addr: SocketAddr = url.trim_start_matches("ws://").parse().unwrap();
        let (addr, stop, task) = serve(
            addr,
            self.dir.path().join("relay.db"),
            missiva_relay::Limits::default(),
        )
        .await;
        TestRelay {
            url: format!("ws://{addr}"),
            addr,
            dir: self.dir,
            stop: Some(stop),
            task,
        }
    }
}

pub fn file_keystore() -> OpenOptions {
    OpenOptions {
        keystore: KeystoreKind::File,
        ..OpenOptions::default()
    }
}

/// One data folder with one account registered on the relay, syncing.
pub struct Client {
    pub accounts: Accounts,
    pub account: Account,
    pub dir: TempDir,
}

impl Client {
    pub async fn new(relay: &TestRelay, handle: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut accounts = Accounts::open(dir.path(), file_keystore()).unwrap();
        let info = accounts
            .create(AccountSetup {
                name: handle.to_owned(),
                relay: Some(relay.url.clone()),
                handle: Some(handle.to_owned()),
            })
            .await
            .unwrap();
        accounts.start_sync().unwrap();
        let account = accounts.account(info.id).unwrap();
        Client {
            accounts,
            account,
            dir,
        }
    }
}

/// A client whose process is gone; its data folder is kept.
pub struct StoppedClient {
    id: missiva_core::ids::AccountId,
    dir: TempDir,
}

impl Client {
    /// Stops this client as a crash would, its sync task aborted wherever it was.
    pub fn stop(self) -> StoppedClient {
        let Client {
            accounts,
            account,
            dir,
        } = self;
        let id = account.id();
        drop(account);
        drop(accounts);
        StoppedClient { id, dir }
    }

    /// Stops this client as a crash would, then opens its data folder again and syncs.
    pub fn restart(self) -> Self {
        self.stop().start()
    }
}

impl StoppedClient {
    /// Opens the data folder again and syncs.
    pub fn start(self) -> Client {
        let mut accounts = Accounts::open(self.dir.path(), file_keystore()).unwrap();
        accounts.start_sync().unwrap();
        let account = accounts.account(self.id).unwrap();
        Client {
            accounts,
            account,
            dir: self.dir,
        }
    }
}

/// The texts of the only chat of `client` once it holds `count` messages (oldest first), after
/// a moment for anything late (a duplicate) to arrive too.
pub async fn conversation(client: &Client, count: usize) -> Vec<String> {
    let chat = eventually("the chat appears", || async {
        client.account.chats().await.unwrap().first().map(|c| c.id)
    })
    .await;
    eventually_within(BURST_PATIENCE, "every message arrives", || async {
        let page = client.account.messages(chat, None, 10_000).await.unwrap();
        (page.len() >= count).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let page = client.account.messages(chat, None, 10_000).await.unwrap();
    page.into_iter().map(|m| m.text).collect()
}

/// Polls `check` until it returns `Some`, or fails the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(PATIENCE, what, check).await
}

/// Polls `check` until it returns `Some`, or fails the test after `patience`.
pub async fn eventually_within<T, F, Fut>(patience: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Moves `account`'s registration to `new_handle` with a raw relay client (the relay frees the
/// old handle), as a user who changed handle would.
pub async fn move_handle(relay: &TestRelay, account: &Account, new_handle: &str) {
    use futures_util::{SinkExt as _, StreamExt as _};
    use missiva_proto::Message as _;
    use missiva_proto::relay::{self, client_frame::Body, server_frame};
    use tokio_tungstenite::tungstenite::Message;

    let secret: Vec<u8> = account
        .store()
        .read(|c| c.query_row("SELECT key_pair FROM identity", [], |r| r.get(0)))
        .unwrap();
    let identity = missiva_crypto::identity::IdentityKeyPair::from_bytes(&secret).unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/v1", relay.url))
        .await
        .unwrap();
    let challenge = loop {
        if let Message::Binary(b) = ws.next().await.unwrap().unwrap() {
            break missiva_proto::decode_server_frame(&b, 1 << 20).unwrap();
        }
    };
    let Some(server_frame::Body::Challenge(c)) = challenge.body else {
        panic!("no challenge")
    };
    let mut signed = missiva_proto::AUTH_LABEL.to_vec();
    signed.extend_from_slice(&c.nonce);
    let frames = [
        Body::Auth(relay::Auth {
            identity: identity.public().to_bytes().to_vec(),
            signature: identity.sign(&signed).to_vec(),
        }),
        Body::RegisterHandle(relay::RegisterHandle {
            handle: new_handle.to_owned(),
        }),
    ];
    for (i, body) in frames.into_iter().enumerate() {
        let id = u64::try_from(i).unwrap() + 1;
        let bytes = missiva_proto::client_frame(id, body).encode_to_vec();
        ws.send(Message::Binary(bytes.into())).await.unwrap();
        loop {
            let Message::Binary(b) = ws.next().await.unwrap().unwrap() else {
                continue;
            };
            let frame = missiva_proto::decode_server_frame(&b, 1 << 20).unwrap();
            if frame.request_id == id {
                assert!(
                    !matches!(frame.body, Some(server_frame::Body::Error(_))),
                    "{:?}",
                    frame.body
                );
                break;
            }
        }
    }
    let _ = ws.close(None).await;
}
