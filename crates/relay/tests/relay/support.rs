//! A relay on 127.0.0.1:0 and a small protocol client for the tests.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use missiva_crypto::identity::IdentityKeyPair;
use missiva_proto::relay::{self, ServerFrame, client_frame::Body as C, server_frame::Body as S};
use missiva_proto::{AUTH_LABEL, Message, client_frame};
use missiva_relay::{Config, Limits, Relay, RelayError};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one frame.
pub const WAIT: Duration = Duration::from_secs(10);

/// A relay serving in the test's runtime.
pub struct TestRelay {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), RelayError>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestRelay {
    pub async fn start() -> Self {
        Self::with_limits(Limits::default()).await
    }

    pub async fn with_limits(limits: Limits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("relay.db");
        let mut relay = Self::at(&db, limits).await;
        relay._dir = Some(dir);
        relay
    }

    /// A relay on an existing database file (the caller keeps the directory).
    pub async fn at(db: &Path, limits: Limits) -> Self {
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            db: db.to_path_buf(),
            limits,
        };
        let relay = Relay::bind(config).await.unwrap();
        let addr = relay.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(relay.serve(async move {
            let _ = stopped.await;
        }));
        TestRelay {
            addr,
            stop: Some(stop),
            task,
            _dir: None,
        }
    }

    /// Shuts down gracefully; returns the temp dir (if any) so the file outlives the relay.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = std::mem::replace(&mut self.task, tokio::spawn(async { Ok(()) }));
        tokio::time::timeout(WAIT, task)
            .await
            .expect("relay shut down in time")
            .unwrap()
            .unwrap();
        self._dir.take()
    }

    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// A new identity, connected and authenticated.
    pub async fn login(&self) -> (Client, relay::AuthOk) {
        let key = IdentityKeyPair::generate(&mut rand::rng());
        self.login_as(key).await
    }

    pub async fn login_as(&self, key: IdentityKeyPair) -> (Client, relay::AuthOk) {
        let mut client = self.connect().await;
        let ok = client.auth(key).await;
        (client, ok)
    }

    pub async fn metrics(&self) -> String {
        http_get(self.addr, "/metrics").await
    }
}

/// A plain HTTP/1.1 GET, returning the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").unwrap().1.to_owned()
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    pub nonce: Vec<u8>,
    pub max_frame_bytes: u32,
    pub identity: Vec<u8>,
    key: Option<IdentityKeyPair>,
    pushes: VecDeque<ServerFrame>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1"))
            .await
            .unwrap();
        let mut client = Client {
            ws,
            next_id: 1,
            nonce: Vec::new(),
            max_frame_bytes: 0,
            identity: Vec::new(),
            key: None,
            pushes: VecDeque::new(),
        };
        let challenge = client.recv().await.expect("a challenge");
        assert_eq!(challenge.request_id, 0);
        let Some(S::Challenge(c)) = challenge.body else {
            panic!("expected a challenge, got {challenge:?}");
        };
        assert_eq!(c.nonce.len(), 32);
        client.nonce = c.nonce;
        client.max_frame_bytes = c.max_frame_bytes;
        client
    }

    pub fn key(&self) -> &IdentityKeyPair {
        self.key.as_ref().unwrap()
    }

    pub fn signature(key: &IdentityKeyPair, nonce: &[u8]) -> Vec<u8> {
        let mut message = AUTH_LABEL.to_vec();
        message.extend_from_slice(nonce);
        key.sign(&message).to_vec()
    }

    /// Authenticates; panics unless AuthOk.
    pub async fn auth(&mut self, key: IdentityKeyPair) -> relay::AuthOk {
        let identity = key.public().to_bytes().to_vec();
        let signature = Self::signature(&key, &self.nonce);
        let reply = self
            .request(C::Auth(relay::Auth {
                identity: identity.clone(),
                signature,
            }))
            .await;
        let Some(S::AuthOk(ok)) = reply.body else {
            panic!("expected AuthOk, got {reply:?}");
        };
        self.identity = identity;
        self.key = Some(key);
        ok
    }

    pub async fn send_bytes(&mut self, bytes: Vec<u8>) {
        self.ws.send(Ws::Binary(bytes.into())).await.unwrap();
    }

    /// Sends bytes; false if the relay closed the socket meanwhile.
    pub async fn try_send_bytes(&mut self, bytes: Vec<u8>) -> bool {
        self.ws.send(Ws::Binary(bytes.into())).await.is_ok()
    }

    pub async fn send_ws(&mut self, message: Ws) {
        self.ws.send(message).await.unwrap();
    }

    /// Sends a request and returns its id without waiting.
    pub async fn start(&mut self, body: C) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send_bytes(client_frame(id, body).encode_to_vec())
            .await;
        id
    }

    /// Sends a request and waits for its reply (pushes in between are kept for `push`).
    pub async fn request(&mut self, body: C) -> ServerFrame {
        let id = self.start(body).await;
        self.reply_to(id).await
    }

    pub async fn reply_to(&mut self, id: u64) -> ServerFrame {
        loop {
            let frame = self.recv().await.expect("a reply");
            if frame.request_id == id {
                return frame;
            }
            assert_eq!(frame.request_id, 0, "a reply to another request: {frame:?}");
            self.pushes.push_back(frame);
        }
    }

    /// The next frame (buffered pushes first); None when the socket closed.
    pub async fn next(&mut self) -> Option<ServerFrame> {
        if let Some(frame) = self.pushes.pop_front() {
            return Some(frame);
        }
        self.recv().await
    }

    /// Reads the pushes after AuthOk up to Drained.
    pub async fn drain(&mut self) {
        loop {
            match self.push().await {
                S::Drained(_) => return,
                S::PrekeysLow(_) | S::Deliver(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// The next push (request_id 0).
    pub async fn push(&mut self) -> S {
        let frame = self.next().await.expect("a push");
        assert_eq!(frame.request_id, 0, "{frame:?}");
        frame.body.unwrap()
    }

    /// Reads from the socket; None when it closed.
    pub async fn recv(&mut self) -> Option<ServerFrame> {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time");
            match message {
                None | Some(Err(_)) | Some(Ok(Ws::Close(_))) => return None,
                Some(Ok(Ws::Binary(bytes))) => {
                    return Some(missiva_proto::decode_server_frame(&bytes, 1 << 20).unwrap());
                }
                Some(Ok(Ws::Text(_))) => panic!("the relay sent text"),
                Some(Ok(_)) => {}
            }
        }
    }

    /// The close code, reading (and dropping) frames until the socket closes.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("closed in time");
            match message {
                Some(Ok(Ws::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Asserts nothing arrives for a moment.
    pub async fn assert_quiet(&mut self, how_long: Duration) {
        assert!(self.pushes.is_empty(), "unexpected {:?}", self.pushes);
        if let Ok(message) = tokio::time::timeout(how_long, self.ws.next()).await {
            panic!("unexpected {message:?}");
        }
    }

    pub async fn send_to(&mut self, recipient: &[u8], id: [u8; 16], content: &[u8]) -> ServerFrame {
        self.request(send(recipient, id, content, false)).await
    }

    pub async fn ack(&mut self, sender: &[u8], id: &[u8]) {
        let reply = self
            .request(C::Ack(relay::Ack {
                envelopes: vec![relay::AckedEnvelope {
                    sender: sender.to_vec(),
                    id: id.to_vec(),
                }],
            }))
            .await;
        assert_ok(&reply);
    }

    /// The next Deliver push's envelope.
    pub async fn delivered(&mut self) -> relay::Envelope {
        match self.push().await {
            S::Deliver(d) => d.envelope.unwrap(),
            other => panic!("expected Deliver, got {other:?}"),
        }
    }
}

pub fn send(recipient: &[u8], id: [u8; 16], content: &[u8], ephemeral: bool) -> C {
    C::Send(relay::Send {
        recipient: recipient.to_vec(),
        envelope_id: id.to_vec(),
        content: content.to_vec(),
        ephemeral,
    })
}

pub fn assert_ok(frame: &ServerFrame) {
    assert!(
        matches!(frame.body, Some(S::Ok(_))),
        "expected Ok, got {frame:?}"
    );
}

pub fn error_code(frame: &ServerFrame) -> relay::ErrorCode {
    match &frame.body {
        Some(S::Error(e)) => relay::ErrorCode::try_from(e.code).unwrap(),
        other => panic!("expected an error, got {other:?}"),
    }
}

pub fn id(n: u8) -> [u8; 16] {
    [n; 16]
}

/// A limits set for tests: no rate limits unless a test sets them.
pub fn limits() -> Limits {
    Limits {
        handle_registrations_per_minute: 0,
        handle_registrations_per_minute_per_ip: 0,
        bundle_fetches_per_minute: 0,
        ..Limits::default()
    }
}
