//! The send side: rows of the outbox are encrypted in order (ratchet step and ciphertext
//! committed together), sent with the same envelope id until the relay says `Ok`, then removed.
//! [`window`] decides which rows one connection sends next and how many wait for an answer.

use missiva_proto::Message as _;
use missiva_proto::payload::{self, Payload, payload::Body};
use missiva_proto::relay;
use rusqlite::{OptionalExtension as _, Transaction, params};

use super::SyncError;
use crate::clock;
use crate::identity;
use crate::ids::{ChatId, ContactId, MessageId};
use crate::sessions::{self, StoredSession};
use crate::store::Store;

/// The payload protocol version.
pub(crate) const PAYLOAD_VERSION: u32 = 1;

pub(crate) mod window;

/// What to do next with one row of the outbox.
#[derive(Debug)]
pub(crate) enum Next {
    /// The row is no longer in the outbox (sent, failed, or its contact deleted).
    Gone,
    /// The row could not be encrypted and was failed; its message is in `chat`.
    Failed { chat: Option<ChatId> },
    /// The row's contact has no session: fetch their bundle first.
    NeedsSession {
        contact: ContactId,
        identity: Vec<u8>,
    },
    /// Send this, now and on every retry.
    Ready {
        row: i64,
        recipient: Vec<u8>,
        envelope_id: Vec<u8>,
        content: Vec<u8>,
    },
}

/// A payload of `body`, identified by `id` and sent at `sent_at_ms`.
pub(crate) fn payload(id: MessageId, sent_at_ms: i64, body: Body) -> Payload {
    Payload {
        version: PAYLOAD_VERSION,
        message_id: id.0.to_vec(),
        sent_at_ms,
        sender_handle: String::new(),
        group_id: Vec::new(),
        body: Some(body),
    }
}

/// A payload of `body` that is no message of its own (receipts, group changes): a new id, now.
pub(crate) fn control(body: Body) -> Payload {
    payload(MessageId::random(), clock::now_ms(), body)
}

/// A text message's payload.
pub(crate) fn text_payload(id: MessageId, sent_at_ms: i64, text: &str) -> Payload {
    payload(
        id,
        sent_at_ms,
        Body::Text(payload::Text {
            body: text.to_owned(),
        }),
    )
}

/// A receipt's payload.
pub(crate) fn receipt_payload(kind: payload::ReceiptKind, ids: &[MessageId]) -> Payload {
    control(Body::Receipt(payload::Receipt {
        kind: kind as i32,
        message_ids: ids.iter().map(|id| id.0.to_vec()).collect(),
    }))
}

/// Queues `payload` for `contact`; `message` is the stored message it carries, if any.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    contact: ContactId,
    message: Option<MessageId>,
    payload: &Payload,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO outbox (envelope_id, contact_id, recipient, message_uid, payload, created_at)
         VALUES (?1, ?2, (SELECT coalesce(identity_key, x'') FROM contacts WHERE id = ?2), ?3,
                 ?4, ?5)",
        params![
            MessageId::random().0.as_slice(),
            contact.0,
            message.map(|m| m.0.to_vec()),
            payload.encode_to_vec(),
            clock::now_ms()
        ],
    )?;
    Ok(())
}

/// Encrypts `payload` with `session` as a `Sealed`, attaching our initial message while the
/// peer has not replied, and with it our handle, so that a recipient who never added us can
/// name us (once their relay confirms it is ours). `our_handle`: this account's handle, if any.
fn seal(
    session: &mut StoredSession,
    payload: &[u8],
    our_handle: Option<&str>,
) -> Result<Vec<u8>, SyncError> {
    let plaintext = match (&session.initial, our_handle) {
        (Some(_), Some(handle)) => with_sender_handle(payload, handle),
        _ => zeroize::Zeroizing::new(payload.to_vec()),
    };
    let ratchet_message = session
        .session
        .encrypt(&plaintext)
        .map_err(|e| SyncError::Relay {
            code: "ENCRYPT".to_owned(),
            message: e.to_string(),
        })?;
    Ok(payload::Sealed {
        version: PAYLOAD_VERSION,
        x3dh_initial: session.initial.clone().unwrap_or_default(),
        ratchet_message,
        group_message: Vec::new(),
    }
    .encode_to_vec())
}

/// `payload` (an encoded `Payload`) with `sender_handle` set to `handle`. Protobuf merges
/// concatenated messages, a later field replacing an earlier one, so appending the one field
/// sets it without decoding (and copying out) the text.
fn with_sender_handle(payload: &[u8], handle: &str) -> zeroize::Zeroizing<Vec<u8>> {
    let field = Payload {
        sender_handle: handle.to_owned(),
        ..Payload::default()
    }
    .encode_to_vec();
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(payload.len() + field.len()));
    out.extend_from_slice(payload);
    out.extend_from_slice(&field);
    out
}

/// The rows queued after row `after`, oldest first, with their contact.
pub(crate) fn queued_after(store: &Store, after: i64) -> Result<Vec<(i64, ContactId)>, SyncError> {
    Ok(store.read(|c| {
        let mut stmt =
            c.prepare_cached("SELECT id, contact_id FROM outbox WHERE id > ?1 ORDER BY id")?;
        stmt.query_map([after], |r| Ok((r.get(0)?, ContactId(r.get(1)?))))?
            .collect::<rusqlite::Result<Vec<_>>>()
    })?)
}

/// Readies `rows` (oldest first) in one transaction: each is encrypted if it was not yet, its
/// ratchet step committed with its ciphertext. A contact found without a session has its later
/// rows in `rows` left unencrypted too, so that its rows keep their order.
pub(crate) fn prepare(store: &Store, rows: &[i64]) -> Result<Vec<Next>, SyncError> {
    store.write_with(|tx| {
        let our_handle = identity::handle(tx)?;
        let mut waiting: Vec<ContactId> = Vec::new();
        let mut out = Vec::with_capacity(rows.len());
        for &row in rows {
            let next = prepare_row(tx, row, our_handle.as_deref(), &waiting)?;
            if let Next::NeedsSession { contact, .. } = &next
                && !waiting.contains(contact)
            {
                waiting.push(*contact);
            }
            out.push(next);
        }
        Ok(out)
    })
}

fn prepare_row(
    tx: &Transaction<'_>,
    row: i64,
    our_handle: Option<&str>,
    waiting: &[ContactId],
) -> Result<Next, SyncError> {
    let found = tx
        .query_row(
            "SELECT o.envelope_id, o.contact_id, o.recipient, o.payload, o.content,
                    coalesce(c.identity_key, x'')
             FROM outbox o JOIN contacts c ON c.id = o.contact_id
             WHERE o.id = ?1",
            [row],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    ContactId(r.get(1)?),
                    r.get::<_, Vec<u8>>(2)?,
                    zeroize::Zeroizing::new(r.get::<_, Vec<u8>>(3)?),
                    r.get::<_, Option<Vec<u8>>>(4)?,
                    r.get::<_, Vec<u8>>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((envelope_id, contact, recipient, payload, content, identity)) = found else {
        return Ok(Next::Gone);
    };
    if let Some(content) = content {
        // A group message is encrypted when queued; it waits behind the contact's earlier rows
        // (our sender key among them) while those wait for a session.
        if waiting.contains(&contact) {
            return Ok(Next::NeedsSession { contact, identity });
        }
        return Ok(Next::Ready {
            row,
            recipient,
            envelope_id,
            content,
        });
    }
    if identity.is_empty() {
        let chat = fail_row_tx(tx, row, "the contact has no identity key")?;
        return Ok(Next::Failed { chat });
    }
    let session = match waiting.contains(&contact) {
        true => None,
        false => sessions::active(tx, contact)?,
    };
    let Some(mut session) = session else {
        return Ok(Next::NeedsSession { contact, identity });
    };
    match seal(&mut session, &payload, our_handle) {
        Ok(content) => {
            sessions::save(tx, session.id, &session.session)?;
            tx.execute(
                "UPDATE outbox SET content = ?2, payload = x'', recipient = ?3 WHERE id = ?1",
                params![row, content, identity],
            )?;
            Ok(Next::Ready {
                row,
                recipient: identity,
                envelope_id,
                content,
            })
        }
        Err(e) => {
            let chat = fail_row_tx(tx, row, &e.to_string())?;
            Ok(Next::Failed { chat })
        }
    }
}

/// The first row, readied as [`prepare`] does; [`Next::Gone`] when the outbox is empty.
#[cfg(test)]
pub(crate) fn next(store: &Store) -> Result<Next, SyncError> {
    let Some((row, _)) = queued_after(store, 0)?.into_iter().next() else {
        return Ok(Next::Gone);
    };
    prepare(store, &[row])?
        .into_iter()
        .next()
        .ok_or(SyncError::UnexpectedReply)
}

/// Starts a session with `contact` from the bundle the relay returned.
pub(crate) fn start_session(
    store: &Store,
    contact: ContactId,
    bundle: &relay::Bundle,
) -> Result<(), SyncError> {
    store.write_with(|tx| {
        let expected: Vec<u8> = tx.query_row(
            "SELECT coalesce(identity_key, x'') FROM contacts WHERE id = ?1",
            [contact.0],
            |r| r.get(0),
        )?;
        let ours = identity::load(tx)?;
        sessions::initiate(tx, &ours, contact, &expected, bundle).map_err(|e| match e {
            sessions::SetupError::Sqlite(e) => SyncError::from(e),
            other => SyncError::Relay {
                code: "BAD_BUNDLE".to_owned(),
                message: other.to_string(),
            },
        })
    })
}

/// The relay stored `rows`: remove them and mark their messages sent, in one transaction.
/// Returns the chats whose messages changed.
pub(crate) fn sent(store: &Store, rows: &[i64]) -> Result<Vec<ChatId>, SyncError> {
    store.write_with(|tx| {
        let mut chats = Vec::new();
        for &row in rows {
            let Some(uid) = take_row(tx, row)? else {
                continue;
            };
            // A group message is sent once the relay has it for every member.
            let others: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM outbox WHERE message_uid = ?1)",
                [&uid],
                |r| r.get(0),
            )?;
            if others {
                continue;
            }
            let changed = tx.execute(
                "UPDATE messages SET state = 'sent' WHERE uid = ?1 AND state = 'pending'",
                [&uid],
            )?;
            if changed > 0
                && let Some(chat) = chat_of(tx, &uid)?
                && !chats.contains(&chat)
            {
                chats.push(chat);
            }
        }
        Ok(chats)
    })
}

/// Counts a failed attempt at `row`.
pub(crate) fn attempted(store: &Store, row: i64) -> Result<(), SyncError> {
    store.write(|tx| {
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1 WHERE id = ?1",
            [row],
        )
        .map(|_| ())
    })?;
    Ok(())
}

/// Gives up on `row`: its message becomes `failed` with `reason`.
pub(crate) fn fail_row(store: &Store, row: i64, reason: &str) -> Result<Option<ChatId>, SyncError> {
    Ok(store.write(|tx| fail_row_tx(tx, row, reason))?)
}

/// Gives up on every unencrypted row for `contact` (no session can be set up).
pub(crate) fn fail_contact(
    store: &Store,
    contact: ContactId,
    reason: &str,
) -> Result<Vec<ChatId>, SyncError> {
    Ok(store.write(|tx| {
        let mut stmt =
            tx.prepare("SELECT id FROM outbox WHERE contact_id = ?1 AND content IS NULL")?;
        let rows = stmt
            .query_map([contact.0], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut chats = Vec::new();
        for row in rows {
            if let Some(chat) = fail_row_tx(tx, row, reason)?
                && !chats.contains(&chat)
            {
                chats.push(chat);
            }
        }
        Ok(chats)
    })?)
}

fn take_row(tx: &Transaction<'_>, row: i64) -> rusqlite::Result<Option<Vec<u8>>> {
    let uid: Option<Option<Vec<u8>>> = tx
        .query_row("SELECT message_uid FROM outbox WHERE id = ?1", [row], |r| {
            r.get(0)
        })
        .optional()?;
    tx.execute("DELETE FROM outbox WHERE id = ?1", [row])?;
    Ok(uid.flatten())
}

fn chat_of(tx: &Transaction<'_>, uid: &[u8]) -> rusqlite::Result<Option<ChatId>> {
    tx.query_row("SELECT chat_id FROM messages WHERE uid = ?1", [uid], |r| {
        r.get(0).map(ChatId)
    })
    .optional()
}

fn fail_row_tx(tx: &Transaction<'_>, row: i64, reason: &str) -> rusqlite::Result<Option<ChatId>> {
    let Some(uid) = take_row(tx, row)? else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE messages SET state = 'failed', error = ?2 WHERE uid = ?1 AND sender_id IS NULL",
        params![uid, reason],
    )?;
    chat_of(tx, &uid)
}

/// An encrypted envelope for the relay: recipient identity and `Sealed` content.
pub(crate) struct SealedFor {
    pub(crate) recipient: Vec<u8>,
    pub(crate) content: Vec<u8>,
}

/// Encrypts a typing indicator for `contact` with the active session (the ratchet step is
/// saved, the indicator is not). `None` when there is no session.
pub(crate) fn seal_typing(
    store: &Store,
    contact: ContactId,
    typing: bool,
) -> Result<Option<SealedFor>, SyncError> {
    store.write_with(|tx| {
        let identity: Option<Vec<u8>> = tx
            .query_row(
                "SELECT identity_key FROM contacts WHERE id = ?1",
                [contact.0],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let (Some(identity), Some(mut session)) = (identity, sessions::active(tx, contact)?) else {
            return Ok(None);
        };
        let payload = Payload {
            version: PAYLOAD_VERSION,
            message_id: MessageId::random().0.to_vec(),
            sent_at_ms: clock::now_ms(),
            sender_handle: String::new(),
            group_id: Vec::new(),
            body: Some(Body::Typing(payload::Typing { typing })),
        };
        let our_handle = identity::handle(tx)?;
        let content = seal(
            &mut session,
            &payload.encode_to_vec(),
            our_handle.as_deref(),
        )?;
        sessions::save(tx, session.id, &session.session)?;
        Ok(Some(SealedFor {
            recipient: identity,
            content,
        }))
    })
}

/// Outgoing messages still in the outbox.
pub(crate) fn pending_messages(store: &Store) -> Result<u32, SyncError> {
    Ok(store.read(|c| {
        c.query_row(
            "SELECT count(*) FROM outbox WHERE message_uid IS NOT NULL",
            [],
            |r| r.get(0),
        )
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_appended_sender_handle_decodes_with_the_rest_of_the_payload() {
        let id = MessageId::random();
        let text = text_payload(id, 42, "ciao").encode_to_vec();
        let decoded = Payload::decode(with_sender_handle(&text, "anna").as_slice()).unwrap();
        assert_eq!(decoded.sender_handle, "anna");
        assert_eq!(decoded.message_id, id.0.to_vec());
        assert_eq!(decoded.sent_at_ms, 42);
        assert_eq!(
            decoded.body,
            Some(Body::Text(payload::Text {
                body: "ciao".to_owned()
            }))
        );
        assert_eq!(decoded.version, PAYLOAD_VERSION);
    }
}
