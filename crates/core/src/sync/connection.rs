//! One authenticated WebSocket connection to the account's relay: connect to `{relay}/v1`,
//! answer the challenge with the identity key, then frames in and out.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use missiva_crypto::identity::IdentityKeyPair;
use missiva_proto::relay::{self, client_frame, server_frame};
use missiva_proto::{AUTH_LABEL, DEFAULT_MAX_FRAME_BYTES, Message as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long connecting and authenticating may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Small per-connection buffers: frames are at most a few hundred KiB.
const BUFFER_BYTES: usize = 32 * 1024;

/// What went wrong talking to the relay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The relay could not be reached or the WebSocket failed.
    #[error("cannot reach the relay: {0}")]
    Unreachable(String),
    /// Connecting or authenticating took too long.
    #[error("the relay did not answer in time")]
    Timeout,
    /// The relay refused our signature.
    #[error("the relay refused this account's authentication: {0}")]
    AuthFailed(String),
    /// The relay closed the connection.
    #[error("the relay closed the connection")]
    Closed,
    /// The relay sent something that is not a frame of this protocol.
    #[error("the relay sent a malformed frame: {0}")]
    BadFrame(String),
}

/// An authenticated connection.
pub(crate) struct RelayConnection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_request: u64,
    max_frame: usize,
    /// What the relay said when we authenticated.
    pub(crate) auth: relay::AuthOk,
}

impl std::fmt::Debug for RelayConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConnection")
            .field("next_request", &self.next_request)
            .finish_non_exhaustive()
    }
}

/// `ws://host:port` -> `ws://host:port/v1`.
pub(crate) fn endpoint(relay: &str) -> String {
    format!("{}/v1", relay.trim_end_matches('/'))
}

impl RelayConnection {
    /// Connects to `relay` and authenticates as `identity`, within [`CONNECT_TIMEOUT`].
    pub(crate) async fn connect(
        relay: &str,
        identity: &IdentityKeyPair,
    ) -> Result<Self, ConnectionError> {
        tokio::time::timeout(CONNECT_TIMEOUT, Self::connect_inner(relay, identity))
            .await
            .map_err(|_| ConnectionError::Timeout)?
    }

    async fn connect_inner(
        relay: &str,
        identity: &IdentityKeyPair,
    ) -> Result<Self, ConnectionError> {
        if relay.starts_with("wss://") {
            // Fails harmlessly when a provider is already installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let config = WebSocketConfig::default()
            .read_buffer_size(BUFFER_BYTES)
            .write_buffer_size(0)
            .max_write_buffer_size(DEFAULT_MAX_FRAME_BYTES.saturating_mul(2))
            .max_message_size(Some(DEFAULT_MAX_FRAME_BYTES))
            .max_frame_size(Some(DEFAULT_MAX_FRAME_BYTES));
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(endpoint(relay), Some(config), true)
                .await
                .map_err(|e| ConnectionError::Unreachable(e.to_string()))?;
        let mut conn = RelayConnection {
            ws,
            next_request: 1,
            max_frame: DEFAULT_MAX_FRAME_BYTES,
            auth: relay::AuthOk::default(),
        };
        let challenge = loop {
            let frame = conn.recv().await?.ok_or(ConnectionError::Closed)?;
            if let Some(server_frame::Body::Challenge(c)) = frame.body {
                break c;
            }
        };
        if challenge.max_frame_bytes > 0 {
            conn.max_frame = usize::try_from(challenge.max_frame_bytes)
                .unwrap_or(DEFAULT_MAX_FRAME_BYTES)
                .min(DEFAULT_MAX_FRAME_BYTES);
        }
        let mut signed = Vec::with_capacity(AUTH_LABEL.len() + challenge.nonce.len());
        signed.extend_from_slice(AUTH_LABEL);
        signed.extend_from_slice(&challenge.nonce);
        let auth = relay::Auth {
            identity: identity.public().to_bytes().to_vec(),
            signature: identity.sign(&signed).to_vec(),
        };
        let id = conn.send(client_frame::Body::Auth(auth)).await?;
        loop {
            let frame = conn.recv().await?.ok_or(ConnectionError::Closed)?;
            if frame.request_id != id {
                continue;
            }
            match frame.body {
                Some(server_frame::Body::AuthOk(ok)) => {
                    conn.auth = ok;
                    return Ok(conn);
                }
                Some(server_frame::Body::Error(e)) => {
                    return Err(ConnectionError::AuthFailed(e.message));
                }
                _ => {
                    return Err(ConnectionError::BadFrame(
                        "unexpected reply to Auth".to_owned(),
                    ));
                }
            }
        }
    }

    /// Sends a request; returns its request id.
    pub(crate) async fn send(&mut self, body: client_frame::Body) -> Result<u64, ConnectionError> {
        let id = self.next_request;
        self.next_request = self.next_request.wrapping_add(1).max(1);
        let bytes = missiva_proto::client_frame(id, body).encode_to_vec();
        self.ws
            .send(Message::Binary(bytes.into()))
            .await
            .map_err(|e| ConnectionError::Unreachable(e.to_string()))?;
        Ok(id)
    }

    /// The next frame from the relay; `None` once it closed the connection. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Result<Option<relay::ServerFrame>, ConnectionError> {
        loop {
            let Some(message) = self.ws.next().await else {
                return Ok(None);
            };
            match message.map_err(|e| ConnectionError::Unreachable(e.to_string()))? {
                Message::Binary(bytes) => {
                    return missiva_proto::decode_server_frame(&bytes, self.max_frame)
                        .map(Some)
                        .map_err(|e| ConnectionError::BadFrame(e.to_string()));
                }
                Message::Close(_) => return Ok(None),
                // Pings are answered by tungstenite; text is not part of the protocol.
                _ => {}
            }
        }
    }

    /// Sends one request and waits for its reply, ignoring pushes (which are not acked, so
    /// the relay keeps them for the sync connection).
    pub(crate) async fn request(
        &mut self,
        body: client_frame::Body,
    ) -> Result<server_frame::Body, ConnectionError> {
        let id = self.send(body).await?;
        loop {
            let frame = self.recv().await?.ok_or(ConnectionError::Closed)?;
            if frame.request_id == id {
                return frame
                    .body
                    .ok_or_else(|| ConnectionError::BadFrame("empty reply".to_owned()));
            }
        }
    }

    /// Closes the connection politely.
    pub(crate) async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
