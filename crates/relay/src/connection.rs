//! One client connection: challenge, authentication, requests, and pushing the mailbox with a
//! bounded window of unacknowledged envelopes.

mod delivery;
mod outcomes;
mod requests;
pub(crate) mod transport;

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use missiva_proto::relay::{self, ErrorCode, server_frame::Body};
use missiva_proto::{Message, error_frame, server_frame};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Limits;
use crate::frame;
use crate::hub::{Hub, Inbox};
use crate::identity::{self, Identity, NONCE_LEN};
use crate::metrics::{self, Metrics};
use crate::rate_limit::RateLimiter;
use crate::relay::unix_ms;
use crate::storage::{Bundle, MailboxState, Storage, StorageError, StoredEnvelope};
use delivery::Delivery;
use transport::{Incoming, Transport};

/// WebSocket close codes.
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;

/// State shared by every connection of a relay.
pub(crate) struct Shared {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) hub: Arc<Hub>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limits: Limits,
    pub(crate) handles_per_identity: RateLimiter<Identity>,
    pub(crate) handles_per_ip: RateLimiter<IpAddr>,
    pub(crate) fetches_per_identity: RateLimiter<Identity>,
}

impl Shared {
    pub(crate) fn new(storage: Arc<dyn Storage>, hub: Arc<Hub>, limits: Limits) -> Self {
        Shared {
            storage,
            hub,
            metrics: Arc::new(Metrics::default()),
            handles_per_identity: RateLimiter::new(limits.handle_registrations_per_minute),
            handles_per_ip: RateLimiter::new(limits.handle_registrations_per_minute_per_ip),
            fetches_per_identity: RateLimiter::new(limits.bundle_fetches_per_minute),
            limits,
        }
    }

    /// Envelopes received before this are expired.
    fn not_before_ms(&self) -> i64 {
        let ttl = i64::try_from(self.limits.envelope_ttl().as_millis()).unwrap_or(i64::MAX);
        unix_ms().saturating_sub(ttl)
    }
}

type OutcomeFuture = Pin<Box<dyn std::future::Future<Output = Outcome> + Send>>;

/// What a finished storage operation means for the connection.
enum Outcome {
    Reply(relay::ServerFrame),
    Authenticated {
        request_id: u64,
        state: Result<MailboxState, StorageError>,
    },
    Refilled {
        requested: u32,
        envelopes: Result<Vec<Arc<StoredEnvelope>>, StorageError>,
    },
    Fetched {
        request_id: u64,
        owner: Identity,
        bundle: Result<Option<Bundle>, StorageError>,
    },
}

enum Auth {
    No,
    /// Signature checked, mailbox state being read.
    Pending(Identity, Arc<Inbox>),
    Yes(Identity, Arc<Inbox>, Delivery),
}

/// Serves one connection until it closes or `shutdown` fires.
pub(crate) async fn serve<T: Transport>(
    transport: T,
    shared: Arc<Shared>,
    ip: IpAddr,
    shutdown: CancellationToken,
) {
    metrics::inc(&shared.metrics.connections);
    let mut conn = Connection {
        transport,
        nonce: identity::new_nonce(),
        auth: Auth::No,
        pending: FuturesUnordered::new(),
        out: Vec::new(),
        close: None,
        ip,
        shared,
    };
    conn.run(shutdown).await;
    if let Auth::Yes(identity, inbox, _) | Auth::Pending(identity, inbox) = &conn.auth {
        conn.shared.hub.unregister(identity, inbox);
    }
    if let Auth::Yes(..) = conn.auth {
        metrics::dec(&conn.shared.metrics.authenticated);
    }
    metrics::dec(&conn.shared.metrics.connections);
}

struct Connection<T> {
    transport: T,
    shared: Arc<Shared>,
    ip: IpAddr,
    nonce: [u8; NONCE_LEN],
    auth: Auth,
    pending: FuturesUnordered<OutcomeFuture>,
    out: Vec<Bytes>,
    close: Option<(u16, &'static str)>,
}

/// Rounds of [`Connection::drain_ready`] before the connection writes what it has.
const DRAIN_ROUNDS: usize = 64;

/// Whether the peer went away while ready frames were drained.
#[derive(PartialEq, Eq)]
enum Drained {
    Open,
    Closed,
}

/// How long a closing connection waits for the client's close frame.
const CLOSE_LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// Sends a close frame, then reads (dropping everything) until the client's close frame, the end
/// of the stream, or `CLOSE_LINGER`, so the client reads our close frame before the socket goes.
async fn close<T: Transport>(transport: &mut T, code: u16, reason: &'static str) {
    transport.close(code, reason).await;
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        while let Some(Ok(incoming)) = transport.recv().await {
            if let Incoming::Close = incoming {
                return;
            }
        }
    })
    .await;
}

async fn inbox_notified(inbox: Option<Arc<Inbox>>) {
    match inbox {
        Some(inbox) => inbox.notified().await,
        None => std::future::pending().await,
    }
}

impl<T: Transport> Connection<T> {
    async fn run(&mut self, shutdown: CancellationToken) {
        let limits = &self.shared.limits;
        let deadline = tokio::time::sleep_until(Instant::now() + limits.auth_timeout());
        tokio::pin!(deadline);
        let max_in_flight = limits.max_requests_in_flight as usize;
        self.reply(
            0,
            Body::Challenge(relay::Challenge {
                nonce: self.nonce.to_vec(),
                max_frame_bytes: u32::try_from(limits.max_frame_bytes).unwrap_or(u32::MAX),
            }),
        );
        loop {
            self.take_inbox();
            if !self.out.is_empty() && self.write_out().await.is_err() {
                return;
            }
            if let Some((code, reason)) = self.close.take() {
                close(&mut self.transport, code, reason).await;
                return;
            }
            let inbox = match &self.auth {
                Auth::Yes(_, inbox, _) => Some(inbox.clone()),
                _ => None,
            };
            let authenticated = inbox.is_some();
            let can_read = self.pending.len() < max_in_flight;
            tokio::select! {
                biased;
                () = shutdown.cancelled() => {
                    close(&mut self.transport, CLOSE_GOING_AWAY, "relay shutting down").await;
                    return;
                }
                Some(outcome) = self.pending.next(), if !self.pending.is_empty() => {
                    self.on_outcome(outcome);
                }
                () = inbox_notified(inbox) => {}
                () = &mut deadline, if !authenticated => {
                    close(&mut self.transport, CLOSE_POLICY, "authentication timeout").await;
                    return;
                }
                incoming = self.transport.recv(), if can_read => match incoming {
                    None | Some(Err(_)) | Some(Ok(Incoming::Close)) => return,
                    Some(Ok(incoming)) => self.on_incoming(incoming),
                },
            }
            if self.drain_ready(max_in_flight) == Drained::Closed {
                return;
            }
        }
    }

    /// Handles every storage outcome and incoming frame that is ready now, without waiting, so
    /// that the replies of one group commit and the frames of one read go out in one write
    /// instead of one system call (and one wake-up) each. Bounded, to stay fair to the pushes.
    fn drain_ready(&mut self, max_in_flight: usize) -> Drained {
        for _ in 0..DRAIN_ROUNDS {
            let mut progressed = false;
            while !self.pending.is_empty() {
                match self.pending.next().now_or_never() {
                    Some(Some(outcome)) => {
                        self.on_outcome(outcome);
                        progressed = true;
                    }
                    Some(None) | None => break,
                }
            }
            if self.close.is_none() && self.pending.len() < max_in_flight {
                match self.transport.recv().now_or_never() {
                    Some(None | Some(Err(_)) | Some(Ok(Incoming::Close))) => {
                        return Drained::Closed;
                    }
                    Some(Some(Ok(incoming))) => {
                        self.on_incoming(incoming);
                        progressed = true;
                    }
                    None => {}
                }
            }
            if !progressed {
                break;
            }
        }
        Drained::Open
    }

    async fn write_out(&mut self) -> Result<(), transport::TransportError> {
        for frame in self.out.drain(..) {
            self.transport.feed(frame).await?;
        }
        if self.out.capacity() > 64 {
            self.out = Vec::new();
        }
        self.transport.flush().await
    }

    fn send_frame(&mut self, frame: &relay::ServerFrame) {
        match &frame.body {
            Some(Body::Error(e)) => self.shared.metrics.error(e.code),
            Some(Body::Deliver(_)) => {}
            _ => {}
        }
        self.out.push(Bytes::from(frame.encode_to_vec()));
    }

    fn reply(&mut self, request_id: u64, body: Body) {
        self.send_frame(&server_frame(request_id, body));
    }

    fn error(&mut self, request_id: u64, code: ErrorCode, message: &'static str) {
        self.send_frame(&error_frame(request_id, code, message));
    }

    fn on_incoming(&mut self, incoming: Incoming) {
        match incoming {
            Incoming::Binary(bytes) => {
                let authenticated = self.identity().is_some();
                match frame::admit(&bytes, self.shared.limits.max_frame_bytes, authenticated) {
                    Ok((request_id, request)) => self.on_request(request_id, request),
                    Err(rejection) => {
                        tracing::debug!(code = ?rejection.code, "frame rejected");
                        self.send_frame(&rejection.to_frame());
                        if rejection.code == ErrorCode::AuthFailed {
                            self.close = Some((CLOSE_POLICY, "authentication failed"));
                        }
                    }
                }
            }
            Incoming::Text => self.error(0, ErrorCode::BadFrame, "text messages are refused"),
            Incoming::TooLarge => {
                self.error(0, ErrorCode::FrameTooLarge, "frame too large");
                self.close = Some((CLOSE_TOO_BIG, "frame too large"));
            }
            Incoming::Control | Incoming::Close => {}
        }
    }

    fn identity(&self) -> Option<Identity> {
        match &self.auth {
            Auth::Yes(identity, _, _) => Some(*identity),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
