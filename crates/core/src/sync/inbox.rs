//! The receive side. An envelope already processed is acknowledged and dropped before anything
//! is decrypted (the ratchet would refuse it as a replay). Otherwise it is decrypted and, in one
//! transaction, the message, the new session state and the processed-envelope row are stored;
//! only then is it acknowledged. A crash before the commit means the relay redelivers.

use missiva_crypto::identity::{IdentityKeyPair, PublicIdentity};
use missiva_crypto::ratchet::Session;
use missiva_crypto::x3dh::{self, InitialMessage};
use missiva_proto::Message as _;
use missiva_proto::payload::{self, Payload, Sealed, payload::Body};
use missiva_proto::relay::Envelope;
use rusqlite::{OptionalExtension as _, Transaction, params};
use zeroize::Zeroizing;

use super::SyncError;
use super::outbox;
use crate::chats;
use crate::clock;
use crate::contacts::{
    self,
    claims::{self, Claim},
};
use crate::events::EventKind;
use crate::groups;
use crate::identity;
use crate::ids::{ChatId, ContactId, MessageId};
use crate::messages;
use crate::polls;
use crate::prekeys;
use crate::sessions;
use crate::store::Store;

/// Processed-envelope rows older than this are pruned: the relay expires envelopes after 30
/// days, so none can come back later.
const PROCESSED_KEPT_MS: i64 = 31 * 24 * 3600 * 1000;

/// What storing an envelope did.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Events to emit now that it is committed.
    pub(crate) events: Vec<EventKind>,
    /// Something was queued in the outbox (a delivery receipt).
    pub(crate) queued: bool,
    /// The new message, if one was stored.
    pub(crate) stored_message: Option<MessageId>,
    /// The contact it came from, once it was opened.
    pub(crate) contact: Option<ContactId>,
    /// The handle a sender known only by key claims, recorded to check with the relay.
    pub(crate) claim: Option<Claim>,
    /// Handles of group members a snapshot named, recorded to check with the relay.
    pub(crate) member_claims: Vec<Claim>,
}

/// A decrypted envelope and how to save the session that opened it.
struct Opened {
    plaintext: Zeroizing<Vec<u8>>,
    session: Session,
    how: SessionSource,
}

enum SessionSource {
    Existing(i64),
    /// A new session answering the peer's initial message.
    New {
        initial: Vec<u8>,
        one_time_prekey: Option<u32>,
        guard: x3dh::ReplayGuard,
    },
}

/// Stores `envelope` (see the module docs). Envelopes that can never be read are recorded as
/// processed and dropped, so they are acknowledged and not delivered forever.
pub(crate) fn process(
    store: &Store,
    envelope: &Envelope,
    fail_before_commit: bool,
) -> Result<Outcome, SyncError> {
    store.write_with(|tx| {
        let already: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM processed_envelopes WHERE sender = ?1 AND envelope_id = ?2",
                params![envelope.sender, envelope.id],
                |r| r.get(0),
            )
            .optional()?;
        if already.is_some() {
            tracing::debug!("duplicate envelope dropped");
            return Ok(Outcome::default());
        }
        let outcome = store_envelope(tx, envelope)?;
        if fail_before_commit {
            return Err(SyncError::InjectedFault);
        }
        Ok(outcome)
    })
}

fn record_processed(tx: &Transaction<'_>, envelope: &Envelope) -> rusqlite::Result<()> {
    let now = clock::now_ms();
    tx.execute(
        "INSERT OR IGNORE INTO processed_envelopes (sender, envelope_id, processed_at)
         VALUES (?1, ?2, ?3)",
        params![envelope.sender, envelope.id, now],
    )?;
    tx.execute(
        "DELETE FROM processed_envelopes WHERE processed_at < ?1",
        [now.saturating_sub(PROCESSED_KEPT_MS)],
    )?;
    Ok(())
}

fn dropped(tx: &Transaction<'_>, envelope: &Envelope, reason: &str) -> Result<Outcome, SyncError> {
    tracing::warn!(reason, "undecryptable envelope dropped");
    record_processed(tx, envelope)?;
    Ok(Outcome::default())
}

fn store_envelope(tx: &Transaction<'_>, envelope: &Envelope) -> Result<Outcome, SyncError> {
    let Ok(sender) = PublicIdentity::from_bytes(&envelope.sender) else {
        return dropped(tx, envelope, "bad sender identity");
    };
    let Ok(sealed) = Sealed::decode(envelope.content.as_slice()) else {
        return dropped(tx, envelope, "not a sealed payload");
    };
    if !sealed.group_message.is_empty() {
        return store_group_message(tx, envelope, &sealed.group_message);
    }
    let ours = identity::load(tx)?;
    let known = contacts::by_identity(tx, &envelope.sender)?;
    let Some(opened) = open(tx, &ours, known, &sender, &sealed)? else {
        return dropped(tx, envelope, "cannot decrypt");
    };
    let Ok(payload) = Payload::decode(opened.plaintext.as_slice()) else {
        return dropped(tx, envelope, "not a payload");
    };

    let mut outcome = Outcome::default();
    let contact = match known {
        Some(c) => c,
        None => {
            outcome.events.push(EventKind::ContactsChanged);
            contacts::insert_placeholder(tx, &envelope.sender)?
        }
    };
    save_session(tx, contact, opened)?;
    outcome.contact = Some(contact);
    outcome.claim = claims::record(tx, contact, &payload.sender_handle)?;

    match &payload.body {
        Some(Body::Text(text)) => {
            if MessageId::from_slice(&payload.message_id).is_none() {
                return dropped(tx, envelope, "bad message id");
            }
            let chat = chats::direct_chat(tx, contact)?;
            if let Some(uid) = store_text(tx, chat, contact, &payload, text, &mut outcome)? {
                let receipt = outbox::receipt_payload(payload::ReceiptKind::Delivered, &[uid]);
                outbox::enqueue(tx, contact, None, &receipt)?;
                outcome.queued = true;
            }
        }
        Some(Body::Receipt(receipt)) => {
            let read = receipt.kind == payload::ReceiptKind::Read as i32;
            let ids: Vec<MessageId> = receipt
                .message_ids
                .iter()
                .filter_map(|id| MessageId::from_slice(id))
                .collect();
            let chats = messages::apply_receipt(tx, contact, read, &ids)?;
            for chat in &chats {
                outcome
                    .events
                    .push(EventKind::MessagesChanged { chat: *chat });
            }
            if !chats.is_empty() {
                outcome.events.push(EventKind::ChatsChanged);
            }
        }
        Some(Body::Typing(t)) => {
            let chat = chats::direct_chat(tx, contact)?;
            outcome.events.push(EventKind::Typing {
                chat,
                typing: t.typing,
            });
            // Ephemeral: never stored, so there is nothing to dedupe later.
            return Ok(outcome);
        }
        Some(Body::PollCreate(_) | Body::PollVote(_) | Body::PollClose(_) | Body::PollTally(_)) => {
            // An anonymous poll's votes come to its creator over the pairwise session, also
            // in a group.
            let chat = match groups::member_chat_of_poll(tx, contact, &payload)? {
                Some(chat) => chat,
                None => chats::direct_chat(tx, contact)?,
            };
            let received = polls::receive(tx, contact, chat, &payload)?;
            outcome.queued |= received.queued;
            outcome.stored_message = received.message;
            outcome.events.extend(received.events);
        }
        Some(Body::GroupUpdate(_) | Body::GroupSenderKey(_) | Body::GroupLeave(_)) => {
            let control = groups::receive_control(tx, contact, &envelope.sender, &payload)?;
            outcome.events.extend(control.events);
            outcome.member_claims.extend(control.claims);
            let from = match control.retry {
                groups::Retry::No => None,
                groups::Retry::Sender => Some(Some(envelope.sender.as_slice())),
                groups::Retry::All => Some(None),
            };
            if let Some(from) = from {
                retry_pending(tx, from, &mut outcome)?;
            }
        }
        None => tracing::debug!("payload of an unknown kind ignored"),
    }
    record_processed(tx, envelope)?;
    Ok(outcome)
}

/// A group message: opened with its sender's key and stored in the group's chat, or kept until
/// what opens it arrives.
fn store_group_message(
    tx: &Transaction<'_>,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<Outcome, SyncError> {
    let mut outcome = Outcome::default();
    match groups::open(tx, &envelope.sender, bytes)? {
        groups::Opened::Message {
            chat,
            contact,
            payload,
        } => deliver_group(tx, chat, contact, &payload, &mut outcome)?,
        groups::Opened::Pending => {
            groups::keep_pending(tx, &envelope.sender, &envelope.id, &envelope.content)?;
        }
        groups::Opened::Dropped(reason) => return dropped(tx, envelope, &reason),
    }
    record_processed(tx, envelope)?;
    Ok(outcome)
}

/// Stores a text from `contact` in `chat` with its events; its id when it is new (not a
/// redelivery, and a well-formed id).
fn store_text(
    tx: &Transaction<'_>,
    chat: ChatId,
    contact: ContactId,
    payload: &Payload,
    text: &payload::Text,
    outcome: &mut Outcome,
) -> Result<Option<MessageId>, SyncError> {
    let Some(uid) = MessageId::from_slice(&payload.message_id) else {
        return Ok(None);
    };
    if !messages::insert_incoming(tx, chat, contact, uid, &text.body, payload.sent_at_ms)? {
        return Ok(None);
    }
    outcome.stored_message = Some(uid);
    outcome
        .events
        .push(EventKind::IncomingMessage { chat, message: uid });
    outcome.events.push(EventKind::MessagesChanged { chat });
    outcome.events.push(EventKind::ChatsChanged);
    Ok(Some(uid))
}

/// Stores the payload of a group message from `contact` in the group's `chat`.
fn deliver_group(
    tx: &Transaction<'_>,
    chat: ChatId,
    contact: ContactId,
    payload: &Payload,
    outcome: &mut Outcome,
) -> Result<(), SyncError> {
    match &payload.body {
        Some(Body::Text(text)) => {
            store_text(tx, chat, contact, payload, text, outcome)?;
        }
        Some(Body::PollCreate(_) | Body::PollVote(_) | Body::PollClose(_) | Body::PollTally(_)) => {
            let received = polls::receive(tx, contact, chat, payload)?;
            outcome.queued |= received.queued;
            outcome.stored_message = outcome.stored_message.or(received.message);
            outcome.events.extend(received.events);
        }
        _ => tracing::debug!("a group payload of a kind groups do not carry ignored"),
    }
    Ok(())
}

/// Tries the group messages that were waiting (from `sender` only, when given) again.
fn retry_pending(
    tx: &Transaction<'_>,
    sender: Option<&[u8]>,
    outcome: &mut Outcome,
) -> Result<(), SyncError> {
    for groups::Waiting {
        row,
        sender,
        content,
    } in groups::pending(tx, sender)?
    {
        let Ok(sealed) = Sealed::decode(content.as_slice()) else {
            groups::done_pending(tx, row)?;
            continue;
        };
        match groups::open(tx, &sender, &sealed.group_message)? {
            groups::Opened::Message {
                chat,
                contact,
                payload,
            } => {
                groups::done_pending(tx, row)?;
                deliver_group(tx, chat, contact, &payload, outcome)?;
            }
            groups::Opened::Pending => {}
            groups::Opened::Dropped(reason) => {
                tracing::warn!(reason, "waiting group message dropped");
                groups::done_pending(tx, row)?;
            }
        }
    }
    Ok(())
}

fn save_session(tx: &Transaction<'_>, contact: ContactId, opened: Opened) -> Result<(), SyncError> {
    match opened.how {
        SessionSource::Existing(id) => {
            sessions::save_received(tx, contact, id, &opened.session)?;
        }
        SessionSource::New {
            initial,
            one_time_prekey,
            guard,
        } => {
            sessions::insert(tx, contact, &opened.session, None, Some(&initial))?;
            if let Some(opk) = one_time_prekey {
                prekeys::consume_one_time(tx, opk)?;
            }
            prekeys::save_replay_guard(tx, &guard)?;
        }
    }
    Ok(())
}

/// Decrypts with the session the message names (its initial message) or with the stored ones,
/// the active first. `None`: no session opens it.
fn open(
    tx: &Transaction<'_>,
    ours: &IdentityKeyPair,
    contact: Option<ContactId>,
    sender: &PublicIdentity,
    sealed: &Sealed,
) -> Result<Option<Opened>, SyncError> {
    let stored = match contact {
        Some(c) => sessions::for_contact(tx, c)?,
        None => Vec::new(),
    };
    let mut rng = rand::rng();
    if !sealed.x3dh_initial.is_empty() {
        if let Some(mut s) = stored
            .into_iter()
            .find(|s| s.their_initial.as_deref() == Some(sealed.x3dh_initial.as_slice()))
        {
            return Ok(s
                .session
                .decrypt(&sealed.ratchet_message, &mut rng)
                .ok()
                .map(|plaintext| Opened {
                    plaintext,
                    session: s.session,
                    how: SessionSource::Existing(s.id),
                }));
        }
        let Ok(initial) = InitialMessage::from_bytes(&sealed.x3dh_initial) else {
            return Ok(None);
        };
        if initial.identity != *sender {
            tracing::warn!("initial message names another identity than its sender");
            return Ok(None);
        }
        let Some(spk) = prekeys::signed_prekey(tx, ours, initial.signed_prekey_id)? else {
            return Ok(None);
        };
        let opk = match initial.one_time_prekey_id {
            Some(id) => prekeys::one_time_prekey(tx, id)?,
            None => None,
        };
        let mut guard = prekeys::replay_guard(tx)?;
        let agreement = match x3dh::respond_once(&mut guard, ours, &spk, opk.as_ref(), &initial) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "session setup refused");
                return Ok(None);
            }
        };
        let mut session = Session::responder(&agreement, &spk);
        return Ok(session
            .decrypt(&sealed.ratchet_message, &mut rng)
            .ok()
            .map(|plaintext| Opened {
                plaintext,
                session,
                how: SessionSource::New {
                    initial: sealed.x3dh_initial.clone(),
                    one_time_prekey: initial.one_time_prekey_id,
                    guard,
                },
            }));
    }
    for mut s in stored {
        if let Ok(plaintext) = s.session.decrypt(&sealed.ratchet_message, &mut rng) {
            return Ok(Some(Opened {
                plaintext,
                session: s.session,
                how: SessionSource::Existing(s.id),
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
