//! The WebSocket a connection talks over: axum's in the server, a bare tokio-tungstenite stream
//! over an in-memory pipe in unit tests.

use std::future::Future;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, error::CapacityError, protocol::CloseFrame};

/// What arrived.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A binary message: one frame.
    Binary(Bytes),
    /// A text message (refused).
    Text,
    /// A message over the transport's hard size limit (it is not readable any more).
    TooLarge,
    /// The peer closed.
    Close,
    /// Ping or pong (answered by the WebSocket layer).
    Control,
}

/// The WebSocket failed; the connection ends.
#[derive(Debug)]
pub(crate) struct TransportError;

/// A message-oriented, closable duplex channel.
pub(crate) trait Transport: Send + 'static {
    /// The next message; `None` once closed.
    fn recv(&mut self) -> impl Future<Output = Option<Result<Incoming, TransportError>>> + Send;
    /// Queues a binary message.
    fn feed(&mut self, frame: Bytes) -> impl Future<Output = Result<(), TransportError>> + Send;
    /// Writes everything queued.
    fn flush(&mut self) -> impl Future<Output = Result<(), TransportError>> + Send;
    /// Sends a close frame (best effort).
    fn close(&mut self, code: u16, reason: &'static str) -> impl Future<Output = ()> + Send;
}

fn classify_error(error: &tungstenite::Error) -> Option<Incoming> {
    match error {
        tungstenite::Error::Capacity(
            CapacityError::MessageTooLong { .. } | CapacityError::TooManyHeaders,
        ) => Some(Incoming::TooLarge),
        _ => None,
    }
}

impl Transport for axum::extract::ws::WebSocket {
    async fn recv(&mut self) -> Option<Result<Incoming, TransportError>> {
        use axum::extract::ws::Message;
        Some(match self.next().await? {
            Ok(Message::Binary(bytes)) => Ok(Incoming::Binary(bytes)),
            Ok(Message::Text(_)) => Ok(Incoming::Text),
            Ok(Message::Close(_)) => Ok(Incoming::Close),
            Ok(Message::Ping(_) | Message::Pong(_)) => Ok(Incoming::Control),
            Err(e) => e
                .into_inner()
                .downcast::<tungstenite::Error>()
                .ok()
                .and_then(|e| classify_error(&e))
                .ok_or(TransportError),
        })
    }

    async fn feed(&mut self, frame: Bytes) -> Result<(), TransportError> {
        SinkExt::feed(self, axum::extract::ws::Message::Binary(frame))
            .await
            .map_err(|_| TransportError)
    }

    async fn flush(&mut self) -> Result<(), TransportError> {
        SinkExt::flush(self).await.map_err(|_| TransportError)
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = axum::extract::ws::CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self
            .send(axum::extract::ws::Message::Close(Some(frame)))
            .await;
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Transport for WebSocketStream<S> {
    async fn recv(&mut self) -> Option<Result<Incoming, TransportError>> {
        use tungstenite::Message;
        Some(match self.next().await? {
            Ok(Message::Binary(bytes)) => Ok(Incoming::Binary(bytes)),
            Ok(Message::Text(_)) => Ok(Incoming::Text),
            Ok(Message::Close(_)) => Ok(Incoming::Close),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => Ok(Incoming::Control),
            Err(e) => classify_error(&e).ok_or(TransportError),
        })
    }

    async fn feed(&mut self, frame: Bytes) -> Result<(), TransportError> {
        SinkExt::feed(self, tungstenite::Message::Binary(frame))
            .await
            .map_err(|_| TransportError)
    }

    async fn flush(&mut self) -> Result<(), TransportError> {
        SinkExt::flush(self).await.map_err(|_| TransportError)
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.into(),
        };
        let _ = self.send(tungstenite::Message::Close(Some(frame))).await;
    }
}
