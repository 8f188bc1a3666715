//! One client connection: challenge, authentication, requests, and pushing the mailbox with a
//! bounded window of unacknowledged envelopes.

mod delivery;
pub(crate) mod transport;

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use missiva_proto::relay::{self, ErrorCode, server_frame::Body};
use missiva_proto::{Message, error_frame, server_frame};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Limits;
use crate::frame::{self, Request};
use crate::handle::Handle;
use crate::hub::{Hub, Inbox, Push};
use crate::identity::{self, EnvelopeId, Identity, NONCE_LEN};
use crate::metrics::{self, Metrics};
use crate::rate_limit::RateLimiter;
use crate::relay::unix_ms;
use crate::storage::{
    Bundle, MailboxState, NewEnvelope, RegisterOutcome, Storage, StorageError, StoreOutcome,
    StoredEnvelope, UploadOutcome,
};
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
        }
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

    fn on_request(&mut self, request_id: u64, request: Request) {
        if let Request::Ping = request {
            return self.reply(request_id, Body::Pong(relay::Pong {}));
        }
        if let Request::Auth {
            identity,
            signature,
        } = request
        {
            return self.on_auth(request_id, identity, &signature);
        }
        let Some(me) = self.identity() else {
            return self.error(request_id, ErrorCode::Unauthenticated, "authenticate first");
        };
        let shared = self.shared.clone();
        let storage = &shared.storage;
        match request {
            Request::Auth { .. } | Request::Ping => {}
            Request::Send {
                recipient,
                id,
                content,
                ephemeral,
            } => self.on_send(request_id, me, recipient, id, content, ephemeral),
            Request::Ack(keys) => {
                if let Auth::Yes(_, _, delivery) = &mut self.auth {
                    delivery.acked(&keys);
                }
                let metrics = shared.metrics.clone();
                let ack = storage.ack(me, keys);
                self.spawn(async move {
                    match ack.await {
                        Ok(n) => {
                            metrics
                                .envelopes_acked
                                .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                            Outcome::Reply(server_frame(request_id, Body::Ok(relay::Ok {})))
                        }
                        Err(e) => internal(request_id, &e),
                    }
                });
                self.refill();
            }
            Request::RegisterHandle(handle) => {
                if !shared.handles_per_identity.allow(me) || !shared.handles_per_ip.allow(self.ip) {
                    return self.error(
                        request_id,
                        ErrorCode::RateLimited,
                        "too many registrations",
                    );
                }
                let register = storage.register_handle(me, handle);
                self.spawn(async move {
                    match register.await {
                        Ok(RegisterOutcome::Registered) => {
                            Outcome::Reply(server_frame(request_id, Body::Ok(relay::Ok {})))
                        }
                        Ok(RegisterOutcome::Taken) => Outcome::Reply(error_frame(
                            request_id,
                            ErrorCode::HandleTaken,
                            "handle registered to another identity",
                        )),
                        Err(e) => internal(request_id, &e),
                    }
                });
            }
            Request::LookupHandle(handle) => {
                let lookup = storage.lookup_handle(handle.clone());
                self.spawn(async move { found(request_id, handle, lookup.await) });
            }
            Request::UploadPrekeys { signed, one_time } => {
                if one_time.len() > shared.limits.max_one_time_prekeys as usize {
                    return self.error(
                        request_id,
                        ErrorCode::BadRequest,
                        "too many one-time prekeys",
                    );
                }
                let upload = storage.upload_prekeys(
                    me,
                    signed,
                    one_time,
                    shared.limits.max_one_time_prekeys,
                );
                self.spawn(async move {
                    match upload.await {
                        Ok(UploadOutcome::Stored { .. }) => {
                            Outcome::Reply(server_frame(request_id, Body::Ok(relay::Ok {})))
                        }
                        Ok(UploadOutcome::TooMany) => Outcome::Reply(error_frame(
                            request_id,
                            ErrorCode::BadRequest,
                            "too many one-time prekeys",
                        )),
                        Err(e) => internal(request_id, &e),
                    }
                });
            }
            Request::FetchBundle(owner) => {
                if !shared.fetches_per_identity.allow(me) {
                    return self.error(
                        request_id,
                        ErrorCode::RateLimited,
                        "too many bundle fetches",
                    );
                }
                let fetch = storage.fetch_bundle(owner);
                self.spawn(async move {
                    Outcome::Fetched {
                        request_id,
                        owner,
                        bundle: fetch.await,
                    }
                });
            }
        }
    }

    fn spawn(&mut self, future: impl std::future::Future<Output = Outcome> + Send + 'static) {
        self.pending.push(Box::pin(future));
    }

    fn on_auth(&mut self, request_id: u64, identity: Identity, signature: &[u8; 64]) {
        if !matches!(self.auth, Auth::No) {
            return self.error(request_id, ErrorCode::BadRequest, "already authenticated");
        }
        if !identity::verify_auth(&identity, &self.nonce, signature) {
            tracing::debug!(identity = %identity.fingerprint(), "authentication failed");
            self.error(
                request_id,
                ErrorCode::AuthFailed,
                "bad identity or signature",
            );
            self.close = Some((CLOSE_POLICY, "authentication failed"));
            return;
        }
        let max = self.shared.limits.max_connections_per_identity;
        let Ok(inbox) = self.shared.hub.register(identity, max) else {
            self.error(
                request_id,
                ErrorCode::TooManyConnections,
                "too many connections",
            );
            self.close = Some((CLOSE_POLICY, "too many connections"));
            return;
        };
        // Registered before reading the mailbox: an envelope stored after the read is pushed
        // live, one stored before is in the backlog.
        self.auth = Auth::Pending(identity, inbox);
        let state = self
            .shared
            .storage
            .mailbox_state(identity, self.shared.not_before_ms());
        self.spawn(async move {
            Outcome::Authenticated {
                request_id,
                state: state.await,
            }
        });
    }

    fn on_send(
        &mut self,
        request_id: u64,
        sender: Identity,
        recipient: Identity,
        id: EnvelopeId,
        content: Bytes,
        ephemeral: bool,
    ) {
        let envelope = NewEnvelope {
            recipient,
            sender,
            id,
            content,
            received_at_ms: unix_ms(),
        };
        if ephemeral {
            let envelope = Arc::new(StoredEnvelope {
                seq: Default::default(),
                recipient,
                sender,
                id,
                content: envelope.content,
                received_at_ms: envelope.received_at_ms,
            });
            self.shared.hub.push(&recipient, &Push::Ephemeral(envelope));
            return self.reply(request_id, Body::Ok(relay::Ok {}));
        }
        let metrics = self.shared.metrics.clone();
        let store = self
            .shared
            .storage
            .store_envelope(envelope, self.shared.limits.max_queue_per_recipient);
        self.spawn(async move {
            Outcome::Reply(match store.await {
                Ok(StoreOutcome::Stored) => {
                    metrics::inc(&metrics.envelopes_stored);
                    server_frame(request_id, Body::Ok(relay::Ok {}))
                }
                Ok(StoreOutcome::Duplicate) => server_frame(request_id, Body::Ok(relay::Ok {})),
                Ok(StoreOutcome::QueueFull) => error_frame(
                    request_id,
                    ErrorCode::QueueFull,
                    "the recipient's mailbox is full",
                ),
                Err(e) => return internal(request_id, &e),
            })
        });
    }

    fn on_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Reply(frame) => self.send_frame(&frame),
            Outcome::Authenticated { request_id, state } => {
                self.on_authenticated(request_id, state)
            }
            Outcome::Refilled {
                requested,
                envelopes,
            } => match envelopes {
                Ok(envelopes) => {
                    let mut frames = Vec::with_capacity(envelopes.len());
                    let mut drained = false;
                    if let Auth::Yes(_, _, delivery) = &mut self.auth {
                        for envelope in delivery.refilled(requested, envelopes) {
                            frames.push(deliver(&envelope));
                        }
                        drained = delivery.take_drained();
                    }
                    self.push_deliveries(frames);
                    if drained {
                        self.reply(0, Body::Drained(relay::Drained {}));
                    }
                    self.refill();
                }
                Err(e) => {
                    tracing::error!(error = %e, "reading a mailbox failed");
                    self.close = Some((CLOSE_GOING_AWAY, "internal error"));
                }
            },
            Outcome::Fetched {
                request_id,
                owner,
                bundle,
            } => match bundle {
                Ok(Some(bundle)) => {
                    if bundle.one_time.is_some()
                        && bundle.remaining < self.shared.limits.prekeys_low_threshold
                    {
                        self.shared
                            .hub
                            .push(&owner, &Push::PrekeysLow(bundle.remaining));
                    }
                    self.reply(request_id, Body::Bundle(bundle_frame(owner, bundle)));
                }
                Ok(None) => self.error(
                    request_id,
                    ErrorCode::NotFound,
                    "no bundle for this identity",
                ),
                Err(e) => {
                    let frame = internal(request_id, &e);
                    self.on_outcome(frame);
                }
            },
        }
    }

    fn on_authenticated(&mut self, request_id: u64, state: Result<MailboxState, StorageError>) {
        let Auth::Pending(identity, inbox) = std::mem::replace(&mut self.auth, Auth::No) else {
            return;
        };
        let state = match state {
            Ok(state) => state,
            Err(e) => {
                self.shared.hub.unregister(&identity, &inbox);
                let frame = internal(request_id, &e);
                self.on_outcome(frame);
                self.close = Some((CLOSE_GOING_AWAY, "internal error"));
                return;
            }
        };
        metrics::inc(&self.shared.metrics.authenticated);
        tracing::debug!(identity = %identity.fingerprint(), queued = state.queued, "authenticated");
        self.reply(
            request_id,
            Body::AuthOk(relay::AuthOk {
                queued: state.queued,
                one_time_prekeys: state.one_time_prekeys,
            }),
        );
        if state.one_time_prekeys < self.shared.limits.prekeys_low_threshold {
            self.reply(
                0,
                Body::PrekeysLow(relay::PrekeysLow {
                    remaining: state.one_time_prekeys,
                }),
            );
        }
        let mut delivery = Delivery::new(&state, self.shared.limits.delivery_window);
        let drained = delivery.take_drained();
        self.auth = Auth::Yes(identity, inbox, delivery);
        if drained {
            self.reply(0, Body::Drained(relay::Drained {}));
        }
        self.refill();
    }

    /// Reads more of the mailbox if the window has room and pushes were missed.
    fn refill(&mut self) {
        let Auth::Yes(identity, _, delivery) = &mut self.auth else {
            return;
        };
        let Some((after, limit)) = delivery.start_refill() else {
            return;
        };
        let read =
            self.shared
                .storage
                .pending(*identity, after, limit, self.shared.not_before_ms());
        self.spawn(async move {
            Outcome::Refilled {
                requested: limit,
                envelopes: read.await,
            }
        });
    }

    fn take_inbox(&mut self) {
        let Auth::Yes(_, inbox, delivery) = &mut self.auth else {
            return;
        };
        let (pushes, overflowed) = inbox.take();
        if pushes.is_empty() && !overflowed {
            return;
        }
        if overflowed {
            delivery.missed();
        }
        let mut frames = Vec::new();
        let mut ephemeral = Vec::new();
        let mut low = None;
        for push in pushes {
            match push {
                Push::Stored(envelope) => {
                    if delivery.live(&envelope) {
                        frames.push(deliver(&envelope));
                    }
                }
                Push::Ephemeral(envelope) => ephemeral.push(deliver(&envelope)),
                Push::PrekeysLow(remaining) => low = Some(remaining),
            }
        }
        self.push_deliveries(frames);
        for frame in ephemeral {
            metrics::inc(&self.shared.metrics.ephemeral_delivered);
            self.send_frame(&frame);
        }
        if let Some(remaining) = low {
            self.reply(0, Body::PrekeysLow(relay::PrekeysLow { remaining }));
        }
        self.refill();
    }

    fn push_deliveries(&mut self, frames: Vec<relay::ServerFrame>) {
        self.shared
            .metrics
            .envelopes_delivered
            .fetch_add(frames.len() as u64, std::sync::atomic::Ordering::Relaxed);
        for frame in frames {
            self.send_frame(&frame);
        }
    }
}

fn internal(request_id: u64, e: &StorageError) -> Outcome {
    tracing::error!(error = %e, "storage operation failed");
    Outcome::Reply(error_frame(
        request_id,
        ErrorCode::Internal,
        "internal error",
    ))
}

fn found(
    request_id: u64,
    handle: Handle,
    lookup: Result<Option<Identity>, StorageError>,
) -> Outcome {
    match lookup {
        Ok(Some(identity)) => Outcome::Reply(server_frame(
            request_id,
            Body::HandleFound(relay::HandleFound {
                handle: handle.as_str().to_owned(),
                identity: identity.as_bytes().to_vec(),
            }),
        )),
        Ok(None) => Outcome::Reply(error_frame(
            request_id,
            ErrorCode::NotFound,
            "no such handle",
        )),
        Err(e) => internal(request_id, &e),
    }
}

fn deliver(envelope: &StoredEnvelope) -> relay::ServerFrame {
    server_frame(
        0,
        Body::Deliver(relay::Deliver {
            envelope: Some(relay::Envelope {
                id: envelope.id.as_bytes().to_vec(),
                sender: envelope.sender.as_bytes().to_vec(),
                content: envelope.content.to_vec(),
                received_at_ms: envelope.received_at_ms,
            }),
        }),
    )
}

fn bundle_frame(owner: Identity, bundle: Bundle) -> relay::Bundle {
    relay::Bundle {
        identity: owner.as_bytes().to_vec(),
        signed_prekey: Some(relay::SignedPrekey {
            id: bundle.signed.id,
            public_key: bundle.signed.public_key.to_vec(),
            signature: bundle.signed.signature.to_vec(),
        }),
        one_time_prekey: bundle.one_time.map(|k| relay::OneTimePrekey {
            id: k.id,
            public_key: k.public_key.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests;
