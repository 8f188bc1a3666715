//! What each request does: checks it, starts its storage operation, and says what the
//! outcome will mean.

use std::sync::Arc;

use bytes::Bytes;
use missiva_proto::relay::{self, ErrorCode, server_frame::Body};
use missiva_proto::{error_frame, server_frame};

use super::transport::Transport;
use super::{Auth, CLOSE_POLICY, Connection, Outcome};
use crate::frame::Request;
use crate::handle::Handle;
use crate::hub::Push;
use crate::identity::{self, EnvelopeId, Identity};
use crate::metrics;
use crate::relay::unix_ms;
use crate::storage::{
    NewEnvelope, RegisterOutcome, StorageError, StoreOutcome, StoredEnvelope, UploadOutcome,
};

impl<T: Transport> Connection<T> {
    pub(super) fn on_request(&mut self, request_id: u64, request: Request) {
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

    pub(super) fn spawn(
        &mut self,
        future: impl std::future::Future<Output = Outcome> + Send + 'static,
    ) {
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
}

pub(super) fn internal(request_id: u64, e: &StorageError) -> Outcome {
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
