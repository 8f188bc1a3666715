//! One authenticated connection, driven until it drops: the outbox is sent through a window of
//! envelopes awaiting the relay's answer (see [`outbox::window`]; per-recipient order kept),
//! envelopes are stored then acknowledged, requests of the account's API are routed to their
//! replies, prekeys are topped up and rotated. The handle a sender known only by key claims is
//! checked with the relay after the envelope is stored and acknowledged.

use std::collections::{BTreeMap, HashMap};

use futures_util::FutureExt as _;
use missiva_proto::relay::{self, client_frame, server_frame};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{
    Command, ConnectionError, DEAD_AFTER, FailPoint, KEEPALIVE, PREKEYS_LOW, ROTATION_CHECK,
    RelayConnection, SyncError, SyncSummary, inbox, outbox,
};
use crate::account::Account;
use crate::contacts::claims::{self, Claim};
use crate::events::EventKind;
use crate::identity;
use crate::ids::{ChatId, ContactId};
use crate::prekeys::{self, PendingUpload};
use outbox::window::{MAX_IN_FLIGHT, Window};

/// What a request in flight was for.
enum Pending {
    External(oneshot::Sender<Result<server_frame::Body, SyncError>>),
    Outbox { row: i64 },
    Bundle { contact: ContactId },
    Upload(PendingUpload),
    Claim(Claim),
    Ignore,
}

/// Drives one authenticated connection.
pub(crate) struct Driver<'a> {
    account: &'a Account,
    pub(crate) conn: RelayConnection,
    once: bool,
    pending: HashMap<u64, Pending>,
    /// The outbox rows this connection sends and awaits.
    window: Window,
    /// The outbox has rows this connection has not loaded yet.
    outbox_dirty: bool,
    /// The relay answered a send since the outbox was last loaded.
    answered: bool,
    /// Rows the relay stored, to remove and mark sent in one transaction.
    acked: Vec<i64>,
    drained: bool,
    fault: Option<FailPoint>,
    last_frame: Instant,
    /// Contacts whose claimed handle the relay is checking, with the events of their envelopes
    /// held back until it answers, so that a notification names the sender by that handle.
    held: BTreeMap<ContactId, Vec<EventKind>>,
    pub(crate) summary: SyncSummary,
}

impl<'a> Driver<'a> {
    pub(crate) fn new(account: &'a Account, conn: RelayConnection, once: bool) -> Self {
        Driver {
            account,
            conn,
            once,
            pending: HashMap::new(),
            window: Window::default(),
            outbox_dirty: true,
            answered: false,
            acked: Vec::new(),
            drained: false,
            fault: None,
            last_frame: Instant::now(),
            held: BTreeMap::new(),
            summary: SyncSummary::default(),
        }
    }

    fn idle(&self) -> bool {
        self.drained
            && !self.outbox_dirty
            && self.window.is_empty()
            && self.acked.is_empty()
            && self.pending.is_empty()
    }

    /// Drives the connection until it drops, the account's handle is dropped, or (`once`) it
    /// is idle. Rows the relay stored are marked sent and events still held back are emitted
    /// on the way out.
    pub(crate) async fn run(&mut self, rx: &mut mpsc::Receiver<Command>) -> Result<(), SyncError> {
        let result = self.drive(rx).await;
        let flushed = self.flush_sent().await;
        self.release_all();
        result.and(flushed)
    }

    async fn drive(&mut self, rx: &mut mpsc::Receiver<Command>) -> Result<(), SyncError> {
        let low = self.conn.auth.one_time_prekeys < PREKEYS_LOW;
        self.upload_prekeys(low).await?;
        // Claims the relay did not get to answer on an earlier connection.
        let unsettled = self
            .account
            .db(|s| Ok::<_, SyncError>(s.read(claims::unsettled)?))
            .await?;
        for claim in unsettled {
            self.check_claim(claim).await?;
        }
        let mut keepalive = tokio::time::interval_at(Instant::now() + KEEPALIVE, KEEPALIVE);
        let mut rotation =
            tokio::time::interval_at(Instant::now() + ROTATION_CHECK, ROTATION_CHECK);
        loop {
            self.pump_outbox().await?;
            if self.once && self.idle() {
                return Ok(());
            }
            let retry_at = self.window.next_wake();
            let retry = async move {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                frame = self.conn.recv() => {
                    let frame = frame?.ok_or(ConnectionError::Closed)?;
                    self.last_frame = Instant::now();
                    self.on_frame(frame).await?;
                    // The relay answers a group commit at once: take the replies already here,
                    // so that their rows are marked sent in one transaction.
                    for _ in 0..MAX_IN_FLIGHT {
                        let Some(frame) = self.conn.recv().now_or_never() else {
                            break;
                        };
                        let frame = frame?.ok_or(ConnectionError::Closed)?;
                        self.on_frame(frame).await?;
                    }
                }
                cmd = rx.recv() => match cmd {
                    None => return Ok(()),
                    Some(cmd) => self.on_command(cmd).await?,
                },
                _ = keepalive.tick() => {
                    if self.last_frame.elapsed() > DEAD_AFTER {
                        return Err(ConnectionError::Timeout.into());
                    }
                    let id = self.conn.send(client_frame::Body::Ping(relay::Ping {})).await?;
                    if !self.once {
                        self.pending.insert(id, Pending::Ignore);
                    }
                }
                // A contact's pause is over: the next pump lifts it.
                () = retry => {}
                _ = rotation.tick() => self.upload_prekeys(false).await?,
            }
        }
    }

    async fn upload_prekeys(&mut self, low: bool) -> Result<(), SyncError> {
        let upload = self
            .account
            .db(move |s| {
                s.write_with::<_, SyncError>(|tx| {
                    let identity = identity::load(tx)?;
                    Ok(prekeys::prepare_upload(tx, &identity, low)?)
                })
            })
            .await?;
        if let Some(upload) = upload {
            let id = self
                .conn
                .send(client_frame::Body::UploadPrekeys(upload.frame.clone()))
                .await?;
            self.pending.insert(id, Pending::Upload(upload));
        }
        Ok(())
    }

    async fn on_command(&mut self, cmd: Command) -> Result<(), SyncError> {
        match cmd {
            Command::Kick => self.outbox_dirty = true,
            Command::Request { body, reply } => {
                let id = self.conn.send(body).await?;
                self.pending.insert(id, Pending::External(reply));
            }
            Command::Typing { contact, typing } => {
                let sealed = self
                    .account
                    .db(move |s| outbox::seal_typing(s, contact, typing))
                    .await?;
                if let Some(sealed) = sealed {
                    let send = relay::Send {
                        recipient: sealed.recipient,
                        envelope_id: crate::ids::MessageId::random().0.to_vec(),
                        content: sealed.content,
                        ephemeral: true,
                    };
                    let id = self.conn.send(client_frame::Body::Send(send)).await?;
                    self.pending.insert(id, Pending::Ignore);
                }
            }
            Command::Fault(point) => self.fault = Some(point),
        }
        Ok(())
    }

    async fn on_frame(&mut self, frame: relay::ServerFrame) -> Result<(), SyncError> {
        let Some(body) = frame.body else {
            return Ok(());
        };
        if frame.request_id != 0 {
            let Some(pending) = self.pending.remove(&frame.request_id) else {
                return Ok(());
            };
            return self.on_reply(pending, body).await;
        }
        match body {
            server_frame::Body::Deliver(d) => {
                if let Some(envelope) = d.envelope {
                    self.on_envelope(envelope).await?;
                }
            }
            server_frame::Body::Drained(_) => self.drained = true,
            server_frame::Body::PrekeysLow(low) => {
                tracing::info!(
                    remaining = low.remaining,
                    "relay is low on one-time prekeys"
                );
                self.upload_prekeys(true).await?;
            }
            server_frame::Body::Error(e) => {
                tracing::warn!(code = e.code, message = %e.message, "relay error");
            }
            _ => {}
        }
        Ok(())
    }

    async fn on_envelope(&mut self, envelope: relay::Envelope) -> Result<(), SyncError> {
        let fault = match self.fault {
            Some(FailPoint::AfterSendOk) => None,
            other => {
                self.fault = None;
                other
            }
        };
        let ack = relay::AckedEnvelope {
            sender: envelope.sender.clone(),
            id: envelope.id.clone(),
        };
        let fail_before_commit = fault == Some(FailPoint::BeforeCommit);
        let mut outcome = self
            .account
            .db(move |s| inbox::process(s, &envelope, fail_before_commit))
            .await?;
        if fault == Some(FailPoint::BeforeAck) {
            return Err(SyncError::InjectedFault);
        }
        let id = self
            .conn
            .send(client_frame::Body::Ack(relay::Ack {
                envelopes: vec![ack],
            }))
            .await?;
        self.pending.insert(id, Pending::Ignore);
        if outcome.queued {
            self.outbox_dirty = true;
        }
        if outcome.stored_message.is_some() {
            self.summary.received = self.summary.received.saturating_add(1);
        }
        if let Some(claim) = outcome.claim {
            let asked = match fault {
                Some(FailPoint::BeforeLookup) => Err(SyncError::InjectedFault),
                _ => self.check_claim(claim).await,
            };
            // Stored and acknowledged: its events go out even if the lookup cannot (the claim
            // is recorded and checked on the next connection).
            if let Err(e) = asked {
                for event in outcome.events {
                    self.account.emit(event);
                }
                return Err(e);
            }
        }
        // Members a group snapshot named: their handles are checked the same way (nothing of
        // theirs is held: they sent nothing yet).
        for claim in std::mem::take(&mut outcome.member_claims) {
            if let Err(e) = self.check_claim(claim).await {
                for event in outcome.events {
                    self.account.emit(event);
                }
                return Err(e);
            }
        }
        match outcome.contact.and_then(|c| self.held.get_mut(&c)) {
            Some(held) => held.extend(outcome.events),
            None => {
                for event in outcome.events {
                    self.account.emit(event);
                }
            }
        }
        Ok(())
    }

    /// Asks the relay whose `claim`'s handle is, unless that contact's claim is being checked
    /// already; the contact's events are held back until the answer.
    async fn check_claim(&mut self, claim: Claim) -> Result<(), SyncError> {
        if self.held.contains_key(&claim.contact) {
            return Ok(());
        }
        let id = self
            .conn
            .send(client_frame::Body::LookupHandle(claims::lookup(&claim)))
            .await?;
        self.held.insert(claim.contact, Vec::new());
        self.pending.insert(id, Pending::Claim(claim));
        Ok(())
    }

    /// The relay answered the lookup of `claim`: settle it, then emit the contact's events.
    async fn on_claim_checked(
        &mut self,
        claim: Claim,
        body: &server_frame::Body,
    ) -> Result<(), SyncError> {
        let verdict = claims::judge(&claim, body);
        let contact = claim.contact;
        let settled = self
            .account
            .db(move |s| Ok::<_, SyncError>(s.write(|tx| claims::settle(tx, &claim, verdict))?))
            .await;
        let chat = match settled {
            Ok(chat) => chat,
            Err(e) => {
                self.release(contact);
                return Err(e);
            }
        };
        if let Some(chat) = chat {
            self.account.emit(EventKind::ContactsChanged);
            self.account.emit(EventKind::ChatsChanged);
            self.account.emit(EventKind::MessagesChanged { chat });
        }
        self.release(contact);
        Ok(())
    }

    /// Emits the events held back for `contact`.
    fn release(&mut self, contact: ContactId) {
        for event in self.held.remove(&contact).unwrap_or_default() {
            self.account.emit(event);
        }
    }

    /// Emits every event held back (the connection is going away; the claims stay recorded
    /// and are checked on the next one).
    pub(crate) fn release_all(&mut self) {
        for (_, events) in std::mem::take(&mut self.held) {
            for event in events {
                self.account.emit(event);
            }
        }
    }

    async fn on_reply(
        &mut self,
        pending: Pending,
        body: server_frame::Body,
    ) -> Result<(), SyncError> {
        match pending {
            Pending::External(reply) => {
                let result = match body {
                    server_frame::Body::Error(e) => Err(SyncError::relay(&e)),
                    other => Ok(other),
                };
                let _ = reply.send(result);
            }
            Pending::Ignore => {}
            Pending::Claim(claim) => self.on_claim_checked(claim, &body).await?,
            Pending::Upload(upload) => match body {
                server_frame::Body::Ok(_) => {
                    self.account
                        .db(move |s| s.write(|tx| prekeys::mark_uploaded(tx, &upload)))
                        .await?;
                }
                server_frame::Body::Error(e) => {
                    tracing::warn!(code = e.code, message = %e.message, "prekey upload refused");
                }
                _ => {}
            },
            Pending::Outbox { row } => {
                self.answered = true;
                match body {
                    server_frame::Body::Ok(_) => {
                        self.window.done(row);
                        if self.fault == Some(FailPoint::AfterSendOk) && self.window.in_flight() > 0
                        {
                            // As a crash before the commit: stored rows not marked sent either.
                            self.fault = None;
                            self.acked.clear();
                            return Err(SyncError::InjectedFault);
                        }
                        self.acked.push(row);
                        self.summary.sent = self.summary.sent.saturating_add(1);
                    }
                    server_frame::Body::Error(e) => self.send_refused(row, &e).await?,
                    _ => self.send_refused(row, &relay::Error::default()).await?,
                }
            }
            Pending::Bundle { contact } => {
                let result = match body {
                    server_frame::Body::Bundle(b) => {
                        self.account
                            .db(move |s| outbox::start_session(s, contact, &b))
                            .await
                    }
                    server_frame::Body::Error(e) => Err(SyncError::relay(&e)),
                    _ => Err(SyncError::UnexpectedReply),
                };
                match result {
                    Ok(()) => self.window.release(contact),
                    Err(e @ SyncError::Store(_)) => return Err(e),
                    Err(e) if transient(&e) => self.window.retry_later(contact, Instant::now()),
                    Err(e) => {
                        tracing::warn!(contact = %contact, error = %e, "cannot start a session");
                        let reason = e.to_string();
                        let chats = self
                            .account
                            .db(move |s| outbox::fail_contact(s, contact, &reason))
                            .await?;
                        // Its rows that were encrypted may still go; the others are gone.
                        self.window.release(contact);
                        for chat in chats {
                            self.changed(Some(chat));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The relay refused a `Send`: retry later when it may pass, fail the message when not.
    async fn send_refused(&mut self, row: i64, e: &relay::Error) -> Result<(), SyncError> {
        use relay::ErrorCode as C;
        let code = C::try_from(e.code).unwrap_or(C::Internal);
        let transient = matches!(
            code,
            C::RateLimited
                | C::QueueFull
                | C::Internal
                | C::TooManyConnections
                | C::Unauthenticated
        );
        if transient {
            // This contact's rows wait (in order); the others go on.
            self.window.refused(row, Instant::now());
            self.account.db(move |s| outbox::attempted(s, row)).await?;
            return Ok(());
        }
        self.window.done(row);
        let reason = format!("the relay refused the message: {}", code.as_str_name());
        let chat = self
            .account
            .db(move |s| outbox::fail_row(s, row, &reason))
            .await?;
        self.changed(chat);
        Ok(())
    }

    fn changed(&self, chat: Option<ChatId>) {
        if let Some(chat) = chat {
            self.account.emit(EventKind::MessagesChanged { chat });
            self.account.emit(EventKind::ChatsChanged);
        }
    }

    /// Marks the rows the relay stored sent, loads new outbox rows, and sends what the window
    /// has room for.
    async fn pump_outbox(&mut self) -> Result<(), SyncError> {
        // While sends await their answer, rows queued meanwhile are loaded with the next answer
        // (one trip to the database with marking the answered rows sent) rather than once per
        // queued message.
        let load = self.outbox_dirty && (self.answered || self.window.in_flight() == 0);
        self.settle(load).await?;
        loop {
            let taken = self.window.take(Instant::now());
            if taken.is_empty() {
                return Ok(());
            }
            let rows: Vec<i64> = taken.iter().map(|(row, _)| *row).collect();
            let prepared = self.account.db(move |s| outbox::prepare(s, &rows)).await?;
            let mut fetching = Vec::new();
            for (next, (row, _)) in prepared.into_iter().zip(taken) {
                match next {
                    outbox::Next::Gone => {
                        self.window.done(row);
                    }
                    outbox::Next::Failed { chat } => {
                        self.window.done(row);
                        self.changed(chat);
                    }
                    outbox::Next::NeedsSession { contact, identity } => {
                        self.window.needs_session(row);
                        if fetching.contains(&contact) {
                            continue;
                        }
                        fetching.push(contact);
                        let id = self
                            .conn
                            .send(client_frame::Body::FetchBundle(relay::FetchBundle {
                                identity,
                            }))
                            .await?;
                        self.pending.insert(id, Pending::Bundle { contact });
                    }
                    outbox::Next::Ready {
                        row,
                        recipient,
                        envelope_id,
                        content,
                    } => {
                        let send = relay::Send {
                            recipient,
                            envelope_id,
                            content,
                            ephemeral: false,
                        };
                        let id = self.conn.send(client_frame::Body::Send(send)).await?;
                        self.pending.insert(id, Pending::Outbox { row });
                    }
                }
            }
        }
    }

    /// Removes the rows the relay stored and marks their messages sent, in one transaction.
    pub(crate) async fn flush_sent(&mut self) -> Result<(), SyncError> {
        self.settle(false).await
    }

    /// Removes the rows the relay stored and marks their messages sent, and with `load` reads
    /// the rows queued since the last load, in one trip to the database.
    async fn settle(&mut self, load: bool) -> Result<(), SyncError> {
        if self.acked.is_empty() && !load {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.acked);
        let after = self.window.loaded();
        let (chats, queued) = self
            .account
            .db(move |s| {
                let chats = outbox::sent(s, &rows)?;
                let queued = match load {
                    true => outbox::queued_after(s, after)?,
                    false => Vec::new(),
                };
                Ok::<_, SyncError>((chats, queued))
            })
            .await?;
        if load {
            self.outbox_dirty = false;
            self.answered = false;
            self.window.add(queued);
        }
        for chat in &chats {
            self.account
                .emit(EventKind::MessagesChanged { chat: *chat });
        }
        if !chats.is_empty() {
            self.account.emit(EventKind::ChatsChanged);
        }
        Ok(())
    }
}

/// Whether a relay refusal may pass when tried again later.
fn transient(e: &SyncError) -> bool {
    use relay::ErrorCode as C;
    [
        C::RateLimited,
        C::Internal,
        C::TooManyConnections,
        C::Unauthenticated,
    ]
    .into_iter()
    .any(|code| e.is_relay_code(code))
}
