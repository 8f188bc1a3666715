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
) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let relay = missiva_relay::Relay::bind(missiva_relay::Config::new(addr, db))
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
        let dir = tempfile::tempdir().unwrap();
        let (addr, stop, task) =
            serve("127.0.0.1:0".parse().unwrap(), dir.path().join("relay.db")).await;
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
        let (addr, stop, task) = serve(addr, self.dir.path().join("relay.db")).await;
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

/// Polls `check` until it returns `Some`, or fails the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
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
