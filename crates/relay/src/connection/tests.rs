//! The connection logic over an in-memory pipe (no sockets): a tungstenite client on one end of a
//! `tokio::io::duplex`, `serve` on the other.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{SinkExt, StreamExt};
use missiva_crypto::identity::IdentityKeyPair;
use missiva_proto::relay::client_frame::Body as C;
use missiva_proto::{AUTH_LABEL, client_frame, decode_server_frame};
use tokio::io::DuplexStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Message as Ws, protocol::Role};

use super::*;
use crate::storage::SqliteStorage;

/// The server's transport, counting its flushes (one flush = one write to the socket).
struct Counted {
    inner: WebSocketStream<DuplexStream>,
    flushes: Arc<AtomicUsize>,
}

impl Transport for Counted {
    async fn recv(&mut self) -> Option<Result<Incoming, transport::TransportError>> {
        self.inner.recv().await
    }

    async fn feed(&mut self, frame: Bytes) -> Result<(), transport::TransportError> {
        Transport::feed(&mut self.inner, frame).await
    }

    async fn flush(&mut self) -> Result<(), transport::TransportError> {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        Transport::flush(&mut self.inner).await
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        Transport::close(&mut self.inner, code, reason).await;
    }
}

struct Pipe {
    ws: WebSocketStream<DuplexStream>,
    flushes: Arc<AtomicUsize>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn pipe(limits: Limits) -> Pipe {
    let dir = tempfile::tempdir().unwrap();
    let hub = Arc::new(Hub::default());
    let storage = SqliteStorage::open(&dir.path().join("r.db"), hub.clone()).unwrap();
    let shared = Arc::new(Shared::new(Arc::new(storage), hub, limits));
    let (client, server) = tokio::io::duplex(64 * 1024);
    let flushes = Arc::new(AtomicUsize::new(0));
    let server = Counted {
        inner: WebSocketStream::from_raw_socket(server, Role::Server, None).await,
        flushes: flushes.clone(),
    };
    let ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(
        server,
        shared,
        Ipv4Addr::LOCALHOST.into(),
        shutdown.clone(),
    ));
    Pipe {
        ws,
        flushes,
        shutdown,
        task,
        _dir: dir,
    }
}

impl Pipe {
    async fn recv(&mut self) -> relay::ServerFrame {
        loop {
            let message = tokio::time::timeout(std::time::Duration::from_secs(5), self.ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let Ws::Binary(bytes) = message {
                return decode_server_frame(&bytes, 1 << 20).unwrap();
            }
        }
    }

    async fn send(&mut self, request_id: u64, body: C) {
        self.ws
            .send(Ws::Binary(
                client_frame(request_id, body).encode_to_vec().into(),
            ))
            .await
            .unwrap();
    }

    async fn challenge(&mut self) -> Vec<u8> {
        match self.recv().await.body {
            Some(Body::Challenge(c)) => c.nonce,
            other => panic!("{other:?}"),
        }
    }

    async fn login(&mut self) -> Vec<u8> {
        let nonce = self.challenge().await;
        let key = IdentityKeyPair::generate(&mut rand::rng());
        let mut message = AUTH_LABEL.to_vec();
        message.extend_from_slice(&nonce);
        let identity = key.public().to_bytes().to_vec();
        self.send(
            1,
            C::Auth(relay::Auth {
                identity: identity.clone(),
                signature: key.sign(&message).to_vec(),
            }),
        )
        .await;
        assert!(matches!(self.recv().await.body, Some(Body::AuthOk(_))));
        assert!(matches!(self.recv().await.body, Some(Body::PrekeysLow(_))));
        assert!(matches!(self.recv().await.body, Some(Body::Drained(_))));
        identity
    }
}

fn code(frame: &relay::ServerFrame) -> i32 {
    match &frame.body {
        Some(Body::Error(e)) => e.code,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_challenge_comes_first_and_carries_the_frame_limit() {
    let mut pipe = pipe(Limits {
        max_frame_bytes: 1234,
        ..Limits::default()
    })
    .await;
    let frame = pipe.recv().await;
    let Some(Body::Challenge(c)) = frame.body else {
        panic!("{frame:?}")
    };
    assert_eq!(c.max_frame_bytes, 1234);
    assert_eq!(c.nonce.len(), 32);
}

#[tokio::test]
async fn garbage_then_ping_before_auth() {
    let mut pipe = pipe(Limits::default()).await;
    pipe.challenge().await;
    pipe.ws
        .send(Ws::Binary(vec![0xde, 0xad, 0xbe, 0xef].into()))
        .await
        .unwrap();
    assert_eq!(code(&pipe.recv().await), ErrorCode::BadFrame as i32);
    pipe.send(
        2,
        C::LookupHandle(relay::LookupHandle {
            handle: "bob".into(),
        }),
    )
    .await;
    let reply = pipe.recv().await;
    assert_eq!(
        (reply.request_id, code(&reply)),
        (2, ErrorCode::Unauthenticated as i32)
    );
    pipe.send(3, C::Ping(relay::Ping {})).await;
    let pong = pipe.recv().await;
    assert_eq!(pong.request_id, 3);
    assert!(matches!(pong.body, Some(Body::Pong(_))));
}

#[tokio::test]
async fn requests_that_arrive_together_are_answered_in_one_write() {
    let mut pipe = pipe(Limits::default()).await;
    pipe.challenge().await;
    let before = pipe.flushes.load(Ordering::SeqCst);
    for request_id in 1..=32 {
        let ping = client_frame(request_id, C::Ping(relay::Ping {}));
        SinkExt::feed(&mut pipe.ws, Ws::Binary(ping.encode_to_vec().into()))
            .await
            .unwrap();
    }
    SinkExt::flush(&mut pipe.ws).await.unwrap();
    for request_id in 1..=32 {
        let pong = pipe.recv().await;
        assert_eq!(pong.request_id, request_id, "answered in order");
        assert!(matches!(pong.body, Some(Body::Pong(_))));
    }
    let writes = pipe.flushes.load(Ordering::SeqCst) - before;
    assert!(writes <= 2, "32 pongs took {writes} writes");
}

#[tokio::test]
async fn a_send_to_oneself_is_stored_pushed_and_acked() {
    let mut pipe = pipe(Limits::default()).await;
    let me = pipe.login().await;
    pipe.send(
        5,
        C::Send(relay::Send {
            recipient: me.clone(),
            envelope_id: vec![9; 16],
            content: b"c".to_vec(),
            ephemeral: false,
        }),
    )
    .await;
    // The Ok and the push may come in either order.
    let mut got_ok = false;
    let mut got_deliver = false;
    for _ in 0..2 {
        let frame = pipe.recv().await;
        match frame.body {
            Some(Body::Ok(_)) => got_ok = frame.request_id == 5,
            Some(Body::Deliver(d)) => got_deliver = d.envelope.unwrap().sender == me,
            other => panic!("{other:?}"),
        }
    }
    assert!(got_ok && got_deliver);
    pipe.send(
        6,
        C::Ack(relay::Ack {
            envelopes: vec![relay::AckedEnvelope {
                sender: me,
                id: vec![9; 16],
            }],
        }),
    )
    .await;
    let ok = pipe.recv().await;
    assert_eq!(ok.request_id, 6);
    assert!(matches!(ok.body, Some(Body::Ok(_))));
}

#[tokio::test]
async fn a_second_auth_is_a_bad_request() {
    let mut pipe = pipe(Limits::default()).await;
    pipe.login().await;
    pipe.send(
        7,
        C::Auth(relay::Auth {
            identity: vec![1; 64],
            signature: vec![1; 64],
        }),
    )
    .await;
    assert_eq!(code(&pipe.recv().await), ErrorCode::BadRequest as i32);
}

#[tokio::test]
async fn shutdown_ends_the_connection_with_a_close_frame() {
    let mut pipe = pipe(Limits::default()).await;
    pipe.login().await;
    pipe.shutdown.cancel();
    let message = pipe.ws.next().await.unwrap().unwrap();
    let Ws::Close(Some(frame)) = message else {
        panic!("{message:?}")
    };
    assert_eq!(u16::from(frame.code), 1001);
    tokio::time::timeout(std::time::Duration::from_secs(5), pipe.task)
        .await
        .unwrap()
        .unwrap();
}
