//! What finished storage operations and hub pushes mean for a connection: replies, the
//! authentication result, and envelopes to push within the delivery window.

use missiva_proto::relay::{self, ErrorCode, server_frame::Body};
use missiva_proto::server_frame;

use super::delivery::Delivery;
use super::requests::internal;
use super::transport::Transport;
use super::{Auth, CLOSE_GOING_AWAY, Connection, Outcome};
use crate::hub::Push;
use crate::identity::Identity;
use crate::metrics;
use crate::storage::{Bundle, MailboxState, StorageError, StoredEnvelope};

impl<T: Transport> Connection<T> {
    pub(super) fn on_outcome(&mut self, outcome: Outcome) {
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
    pub(super) fn refill(&mut self) {
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

    pub(super) fn take_inbox(&mut self) {
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
