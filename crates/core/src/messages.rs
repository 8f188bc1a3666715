//! Messages: sending (the message, pending, and its outbox row in one transaction), the
//! conversation's pages, and the states receipts move them through.

use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::account::Account;
use crate::attachments::{self, AttachmentView};
use crate::chats::{self, ChatError};
use crate::clock;
use crate::events::EventKind;
use crate::ids::{ChatId, ContactId, MessageId};
use crate::polls;
use crate::store::StoreError;
use crate::sync::outbox;

/// The longest message text, in bytes (well below the relay's frame limit).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// The most messages one page may hold.
pub const MAX_PAGE: u32 = 1000;

/// Where a message is: outgoing ones go pending, sent, delivered, read (or failed); incoming
/// ones are received, then read here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum MessageState {
    /// Waiting for the relay.
    Pending,
    /// The relay has it.
    Sent,
    /// The recipient's device has it.
    Delivered,
    /// The recipient read it (outgoing) or this account read it (incoming).
    Read,
    /// It could not be sent.
    Failed,
    /// An incoming message not read yet.
    Received,
}

impl MessageState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Sent => "sent",
            MessageState::Delivered => "delivered",
            MessageState::Read => "read",
            MessageState::Failed => "failed",
            MessageState::Received => "received",
        }
    }

    fn from_db(s: &str) -> Self {
        match s {
            "sent" => MessageState::Sent,
            "delivered" => MessageState::Delivered,
            "read" => MessageState::Read,
            "failed" => MessageState::Failed,
            "received" => MessageState::Received,
            _ => MessageState::Pending,
        }
    }
}

/// What a message is, as its `kind` string says: a text, a line written by Missiva itself, or
/// one of the kinds an imported history brings. Only the TypeScript type (the field is a string
/// in the database and in Rust).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum MessageKind {
    /// A text.
    Text,
    /// A line written by Missiva itself, or an imported system event.
    System,
    /// A photo, video, voice message, sticker or document.
    Media,
    /// A message its author deleted.
    Deleted,
    /// View-once media (never in an export).
    ViewOnce,
    /// A message that never arrived ("waiting for this message").
    Waiting,
    /// A location.
    Location,
    /// A live location.
    LiveLocation,
    /// A contact card.
    Contact,
    /// A poll.
    Poll,
    /// A call.
    Call,
}

/// A message as the conversation shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MessageView {
    /// 32 hex characters.
    #[ts(type = "string")]
    pub id: MessageId,
    /// Its chat.
    pub chat: ChatId,
    /// The sender's handle; null for messages from this account and system lines.
    pub sender: Option<String>,
    /// Sent by this account.
    pub outgoing: bool,
    /// A text, a line written by Missiva itself (such as a safety-number warning), or one of
    /// the kinds an imported history brings (its `text` is the caption or a description).
    #[ts(as = "MessageKind")]
    pub kind: String,
    /// The text.
    pub text: String,
    /// When the author sent it, by their clock (RFC 3339, UTC).
    pub sent_at: String,
    /// When it was stored here (RFC 3339, UTC).
    pub received_at: String,
    /// Where it is.
    pub state: MessageState,
    /// It came from an imported chat history.
    pub imported: bool,
    /// The author's name as an imported history writes it (not a contact); null otherwise.
    pub author: Option<String>,
    /// The files attached to it.
    pub attachments: Vec<AttachmentView>,
    /// The poll it is (kind `poll`): today only polls of an imported history, closed, with the
    /// counts the export wrote.
    pub poll: Option<PollView>,
    /// A file an imported message names that its export did not include.
    pub missing_file: Option<String>,
}

/// A poll as a message shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PollView {
    /// The question.
    pub question: String,
    /// The options, in order.
    pub options: Vec<PollOptionView>,
    /// No more votes (every imported poll is closed).
    #[serde(default = "closed")]
    pub closed: bool,
    /// A poll made in Missiva (not an imported one): its settings and this member's vote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub live: Option<crate::polls::LivePoll>,
}

fn closed() -> bool {
    true
}

/// One option of a poll and its votes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PollOptionView {
    /// Its text.
    pub text: String,
    /// Its votes; null when the export did not say, or while the results are hidden.
    pub votes: Option<u32>,
    /// Who voted for it (handles), in a public poll made in Missiva.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub voters: Option<Vec<String>>,
}

/// The last message of a chat, for the chat list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MessagePreview {
    /// The text.
    pub text: String,
    /// What it is (as [`MessageView::kind`]), to name a message without text.
    #[ts(as = "MessageKind")]
    pub kind: String,
    /// When it was sent (RFC 3339, UTC).
    pub sent_at: String,
    /// Sent by this account.
    pub outgoing: bool,
    /// Where it is.
    pub state: MessageState,
    /// It came from an imported chat history (its state says nothing about delivery).
    pub imported: bool,
    /// Who sent it (a handle), for an incoming message: a group's list entry names them.
    pub sender: Option<String>,
}

/// Errors of messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// Nothing to send.
    #[error("the message is empty")]
    Empty,
    /// Too long to send.
    #[error("the message is longer than {MAX_TEXT_BYTES} bytes")]
    TooLong,
    /// The chat.
    #[error(transparent)]
    Chat(#[from] ChatError),
    /// No message with this id in the chat (as a page cursor).
    #[error("there is no message {id} in this chat")]
    NotFound {
        /// The id.
        id: MessageId,
    },
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for MessageError {
    fn from(e: rusqlite::Error) -> Self {
        MessageError::Store(e.into())
    }
}

/// The last column is the message's attachments as a JSON array ([`attachments::parse_column`]).
const VIEW_COLUMNS: &str = "m.uid, m.chat_id, k.handle,
     m.sender_id IS NULL AND m.kind != 'system' AND m.author_name = '',
     m.kind, m.body, m.sent_at, m.received_at, m.state, m.imported, NULLIF(m.author_name, ''),
     (SELECT json_group_array(json_object('id', a.id, 'name', a.name, 'mime', a.mime,
        'size', a.size)) FROM attachments a WHERE a.message_id = m.id),
     NULLIF(m.import_meta, '')";

/// Leaves out messages of an import that is not done yet (see `import::whatsapp::apply`).
pub(crate) const VISIBLE: &str =
    "m.import_id NOT IN (SELECT id FROM imports WHERE state != 'done')";

fn view(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageView> {
    let uid: Vec<u8> = r.get(0)?;
    let kind: String = r.get(4)?;
    let attachments = attachments::parse_column(r.get(11)?);
    // What an imported message carries beyond its text (`import_meta`): a poll, a file name.
    let meta: Option<serde_json::Value> = r
        .get::<_, Option<String>>(12)?
        .and_then(|meta| serde_json::from_str(&meta).ok());
    let poll = meta
        .as_ref()
        .filter(|_| kind == "poll")
        .and_then(|m| PollView::deserialize(m).ok());
    let missing_file = meta
        .as_ref()
        .and_then(|m| m.get("attachment")?.as_str())
        .filter(|name| !attachments.iter().any(|a| a.name == *name))
        .map(str::to_owned);
    Ok(MessageView {
        id: MessageId::from_slice(&uid).unwrap_or(MessageId([0; 16])),
        chat: ChatId(r.get(1)?),
        sender: r.get(2)?,
        outgoing: r.get(3)?,
        kind,
        text: r.get(5)?,
        sent_at: clock::rfc3339(r.get(6)?),
        received_at: clock::rfc3339(r.get(7)?),
        state: MessageState::from_db(&r.get::<_, String>(8)?),
        imported: r.get(9)?,
        author: r.get(10)?,
        attachments,
        poll,
        missing_file,
    })
}

/// Stores an incoming text; false if a message with this id is already here.
pub(crate) fn insert_incoming(
    tx: &Transaction<'_>,
    chat: ChatId,
    contact: ContactId,
    uid: MessageId,
    text: &str,
    sent_at_ms: i64,
) -> rusqlite::Result<bool> {
    let now = clock::now_ms();
    let n = tx.execute(
        "INSERT OR IGNORE INTO messages
           (uid, chat_id, sender_id, kind, body, sent_at, received_at, state)
         VALUES (?1, ?2, ?3, 'text', ?4, ?5, ?6, 'received')",
        params![uid.0.as_slice(), chat.0, contact.0, text, sent_at_ms, now],
    )?;
    if n > 0 {
        chats::touch(tx, chat, now)?;
    }
    Ok(n > 0)
}

/// Writes a line from Missiva itself into `chat`.
pub(crate) fn insert_system(
    tx: &Transaction<'_>,
    chat: ChatId,
    text: &str,
) -> rusqlite::Result<()> {
    insert_system_at(tx, chat, text, clock::now_ms())
}

/// Writes a line from Missiva itself into `chat`, about something that happened at `at_ms` (by
/// the clock of whoever did it, as messages are placed by their sender's clock).
pub(crate) fn insert_system_at(
    tx: &Transaction<'_>,
    chat: ChatId,
    text: &str,
    at_ms: i64,
) -> rusqlite::Result<()> {
    let now = clock::now_ms();
    tx.execute(
        "INSERT INTO messages (uid, chat_id, sender_id, kind, body, sent_at, received_at, state)
         VALUES (?1, ?2, NULL, 'system', ?3, ?4, ?5, 'received')",
        params![MessageId::random().0.as_slice(), chat.0, text, at_ms, now],
    )?;
    chats::touch(tx, chat, now)
}

/// Applies a receipt from `contact` to our messages (states only move forward); returns the
/// chats that changed.
pub(crate) fn apply_receipt(
    tx: &Transaction<'_>,
    contact: ContactId,
    read: bool,
    ids: &[MessageId],
) -> rusqlite::Result<Vec<ChatId>> {
    let sql = if read {
        "UPDATE messages SET state = 'read'
         WHERE uid = ?1 AND sender_id IS NULL AND kind IN ('text', 'poll')
           AND state IN ('pending', 'sent', 'delivered')
           AND chat_id IN (SELECT id FROM chats WHERE contact_id = ?2)
         RETURNING chat_id"
    } else {
        "UPDATE messages SET state = 'delivered'
         WHERE uid = ?1 AND sender_id IS NULL AND kind IN ('text', 'poll')
           AND state IN ('pending', 'sent')
           AND chat_id IN (SELECT id FROM chats WHERE contact_id = ?2)
         RETURNING chat_id"
    };
    let mut stmt = tx.prepare_cached(sql)?;
    let mut chats = Vec::new();
    for id in ids {
        let changed: Option<i64> = stmt
            .query_row(params![id.0.as_slice(), contact.0], |r| r.get(0))
            .optional()?;
        if let Some(chat) = changed.map(ChatId)
            && !chats.contains(&chat)
        {
            chats.push(chat);
        }
    }
    Ok(chats)
}

/// The newest message of `chat`.
pub(crate) fn preview(conn: &Connection, chat: ChatId) -> rusqlite::Result<Option<MessagePreview>> {
    conn.query_row(
        &format!(
            "SELECT {VIEW_COLUMNS} FROM messages m LEFT JOIN contacts k ON k.id = m.sender_id
             WHERE m.chat_id = ?1 AND {VISIBLE} ORDER BY m.sent_at DESC, m.id DESC LIMIT 1"
        ),
        [chat.0],
        view,
    )
    .optional()
    .map(|v| {
        v.map(|v| MessagePreview {
            text: v.text,
            kind: v.kind,
            sent_at: v.sent_at,
            outgoing: v.outgoing,
            state: v.state,
            imported: v.imported,
            sender: v.sender,
        })
    })
}

pub(crate) fn one(conn: &Connection, id: MessageId) -> rusqlite::Result<Option<MessageView>> {
    conn.query_row(
        &format!(
            "SELECT {VIEW_COLUMNS} FROM messages m LEFT JOIN contacts k ON k.id = m.sender_id
             WHERE m.uid = ?1"
        ),
        [id.0.as_slice()],
        view,
    )
    .optional()
}

impl Account {
    /// Sends `text` to `chat`: stores it as pending with its outbox row in one transaction and
    /// returns; the sync task encrypts and delivers it.
    pub async fn send(&self, chat: ChatId, text: &str) -> Result<MessageView, MessageError> {
        if text.trim().is_empty() {
            return Err(MessageError::Empty);
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(MessageError::TooLong);
        }
        let text = text.to_owned();
        let view = self
            .db(move |s| {
                s.write_with::<_, MessageError>(|tx| {
                    let contact = match crate::groups::is_group(tx, chat)? {
                        true => None,
                        false => Some(chats::contact_of(tx, chat)?),
                    };
                    let id = MessageId::random();
                    let now = clock::now_ms();
                    tx.execute(
                        "INSERT INTO messages
                           (uid, chat_id, sender_id, kind, body, sent_at, received_at, state)
                         VALUES (?1, ?2, NULL, 'text', ?3, ?4, ?4, 'pending')",
                        params![id.0.as_slice(), chat.0, text, now],
                    )?;
                    let payload = outbox::text_payload(id, now, &text);
                    match contact {
                        Some(contact) => outbox::enqueue(tx, contact, Some(id), &payload)?,
                        None => {
                            if !crate::groups::enqueue(tx, chat, Some(id), &payload)? {
                                return Err(ChatError::NotMember { chat }.into());
                            }
                        }
                    }
                    tx.execute("UPDATE chats SET draft = '' WHERE id = ?1", [chat.0])?;
                    chats::touch(tx, chat, now)?;
                    one(tx, id)?.ok_or(MessageError::NotFound { id })
                })
            })
            .await?;
        self.kick();
        self.emit(EventKind::MessagesChanged { chat });
        self.emit(EventKind::ChatsChanged);
        Ok(view)
    }

    /// Up to `limit` messages of `chat` before the message `before` (the newest when `None`),
    /// oldest first.
    pub async fn messages(
        &self,
        chat: ChatId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<MessageView>, MessageError> {
        let limit = limit.min(MAX_PAGE);
        self.db(move |s| {
            s.read_with::<_, MessageError>(|c| {
                if !chats::exists(c, chat)? {
                    return Err(ChatError::NotFound { chat }.into());
                }
                // In the order they were written (an imported history goes above what was
                // said here after it), then in the order they were stored.
                let (cursor_at, cursor_id): (i64, i64) = match before {
                    None => (i64::MAX, i64::MAX),
                    Some(id) => c
                        .query_row(
                            "SELECT sent_at, id FROM messages WHERE uid = ?1 AND chat_id = ?2",
                            params![id.0.as_slice(), chat.0],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()?
                        .ok_or(MessageError::NotFound { id })?,
                };
                let mut stmt = c.prepare(&format!(
                    "SELECT {VIEW_COLUMNS} FROM messages m
                     LEFT JOIN contacts k ON k.id = m.sender_id
                     WHERE m.chat_id = ?1 AND (m.sent_at, m.id) < (?2, ?3) AND {VISIBLE}
                     ORDER BY m.sent_at DESC, m.id DESC LIMIT ?4"
                ))?;
                let mut page = stmt
                    .query_map(params![chat.0, cursor_at, cursor_id, limit], view)?
                    .map(|v| v.and_then(|v| polls::with_poll(c, v)))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                page.reverse();
                Ok(page)
            })
        })
        .await
    }

    /// One message.
    pub async fn message(&self, id: MessageId) -> Result<MessageView, MessageError> {
        self.db(move |s| {
            s.read_with::<_, MessageError>(|c| {
                let view = one(c, id)?.ok_or(MessageError::NotFound { id })?;
                Ok(polls::with_poll(c, view)?)
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests;
