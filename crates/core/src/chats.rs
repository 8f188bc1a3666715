//! Chats: the list sorted by last activity with unread counts, last message and draft; marking
//! a chat read (which sends read receipts); drafts; typing indicators.

use missiva_proto::payload::ReceiptKind;
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::account::Account;
use crate::clock;
use crate::events::EventKind;
use crate::ids::{ChatId, ContactId, MessageId};
use crate::messages::{self, MessagePreview};
use crate::store::StoreError;
use crate::sync::outbox;

/// The longest draft kept, in bytes.
pub const MAX_DRAFT_BYTES: usize = 64 * 1024;

/// A chat as the chat list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ChatSummary {
    /// The chat.
    pub id: ChatId,
    /// What kind of chat.
    #[ts(type = "\"direct\" | \"group\"")]
    pub kind: String,
    /// Its title (the contact's handle for a direct chat).
    pub title: String,
    /// The other person of a direct chat.
    pub contact: Option<ContactId>,
    /// Their handle, without '@'.
    pub handle: Option<String>,
    /// The newest message.
    pub last_message: Option<MessagePreview>,
    /// Incoming messages not read yet.
    pub unread: u32,
    /// When something last happened in it (RFC 3339, UTC).
    pub last_activity_at: String,
    /// The unsent text in its composer.
    pub draft: String,
    /// An encrypted group of this account (a `group` chat that is not an imported history).
    pub group: bool,
    /// A group with a picture: a key that changes whenever the group does (to cache the
    /// picture by); null: no picture.
    #[ts(type = "number | null")]
    pub picture: Option<i64>,
}

/// Errors of chats.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChatError {
    /// No chat with this id.
    #[error("there is no chat {chat}")]
    NotFound {
        /// The id asked for.
        chat: ChatId,
    },
    /// The chat holds an imported history and has no contact to send to.
    #[error("chat {chat} is an imported history with no one to send to")]
    NoRecipient {
        /// The chat.
        chat: ChatId,
    },
    /// No direct chat with this contact.
    #[error("there is no chat with contact {contact}")]
    NoChatWith {
        /// The contact.
        contact: ContactId,
    },
    /// This account is no longer in the group.
    #[error("you are no longer a member of this group")]
    NotMember {
        /// The group's chat.
        chat: ChatId,
    },
    /// The draft is too long.
    #[error("the draft is longer than {MAX_DRAFT_BYTES} bytes")]
    DraftTooLong,
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ChatError {
    fn from(e: rusqlite::Error) -> Self {
        ChatError::Store(e.into())
    }
}

/// The direct chat with `contact`, created on first use.
pub(crate) fn direct_chat(tx: &Transaction<'_>, contact: ContactId) -> rusqlite::Result<ChatId> {
    if let Some(id) = tx
        .query_row(
            "SELECT id FROM chats WHERE contact_id = ?1 AND kind = 'direct'",
            [contact.0],
            |r| r.get(0),
        )
        .optional()?
    {
        return Ok(ChatId(id));
    }
    let now = clock::now_ms();
    tx.execute(
        "INSERT INTO chats (kind, title, contact_id, created_at, last_activity_at)
         VALUES ('direct', (SELECT handle FROM contacts WHERE id = ?1), ?1, ?2, ?2)",
        params![contact.0, now],
    )?;
    Ok(ChatId(tx.last_insert_rowid()))
}

/// Something happened in `chat` now.
pub(crate) fn touch(tx: &Transaction<'_>, chat: ChatId, at_ms: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE chats SET last_activity_at = max(last_activity_at, ?2) WHERE id = ?1",
        params![chat.0, at_ms],
    )?;
    Ok(())
}

/// The contact of a direct chat.
pub(crate) fn contact_of(conn: &Connection, chat: ChatId) -> Result<ContactId, ChatError> {
    let contact: Option<Option<i64>> = conn
        .query_row(
            "SELECT contact_id FROM chats WHERE id = ?1",
            [chat.0],
            |r| r.get(0),
        )
        .optional()?;
    match contact {
        None => Err(ChatError::NotFound { chat }),
        Some(None) => Err(ChatError::NoRecipient { chat }),
        Some(Some(c)) => Ok(ContactId(c)),
    }
}

/// Whether `chat` exists (chats of an imported history have no contact).
pub(crate) fn exists(conn: &Connection, chat: ChatId) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM chats WHERE id = ?1)",
        [chat.0],
        |r| r.get(0),
    )
}

/// Unread incoming messages in every chat.
pub(crate) fn total_unread(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row(
        "SELECT count(*) FROM messages
         WHERE sender_id IS NOT NULL AND state = 'received' AND kind = 'text'",
        [],
        |r| r.get(0),
    )
}

fn summaries(conn: &Connection) -> rusqlite::Result<Vec<ChatSummary>> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.kind, c.title, c.contact_id, k.handle, c.last_activity_at, c.draft,
                (SELECT count(*) FROM messages m
                 WHERE m.chat_id = c.id AND m.sender_id IS NOT NULL AND m.state = 'received'
                   AND m.kind = 'text'),
                EXISTS (SELECT 1 FROM groups g WHERE g.chat_id = c.id),
                (SELECT g.revision FROM groups g WHERE g.chat_id = c.id AND g.avatar IS NOT NULL)
         FROM chats c LEFT JOIN contacts k ON k.id = c.contact_id
         WHERE c.import_id NOT IN (SELECT id FROM imports WHERE state != 'done')
         ORDER BY c.last_activity_at DESC, c.id DESC",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(ChatSummary {
                id: ChatId(r.get(0)?),
                kind: r.get(1)?,
                title: r.get(2)?,
                contact: r.get::<_, Option<i64>>(3)?.map(ContactId),
                handle: r.get(4)?,
                last_message: None,
                last_activity_at: clock::rfc3339(r.get(5)?),
                draft: r.get(6)?,
                unread: r.get(7)?,
                group: r.get(8)?,
                picture: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|mut s| {
            s.last_message = messages::preview(conn, s.id)?;
            Ok(s)
        })
        .collect()
}

impl Account {
    /// Every chat, the most recently active first.
    pub async fn chats(&self) -> Result<Vec<ChatSummary>, ChatError> {
        self.db(|s| s.read_with::<_, ChatError>(|c| Ok(summaries(c)?)))
            .await
    }

    /// The direct chat with `contact` (made now for a contact known only from a group).
    pub async fn chat_for_contact(&self, contact: ContactId) -> Result<ChatId, ChatError> {
        let (chat, made) = self
            .db(move |s| {
                s.write_with::<_, ChatError>(|tx| {
                    if let Some(chat) = tx
                        .query_row(
                            "SELECT id FROM chats WHERE contact_id = ?1 AND kind = 'direct'",
                            [contact.0],
                            |r| r.get(0).map(ChatId),
                        )
                        .optional()?
                    {
                        return Ok((chat, false));
                    }
                    let known: bool = tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM contacts WHERE id = ?1)",
                        [contact.0],
                        |r| r.get(0),
                    )?;
                    if !known {
                        return Err(ChatError::NoChatWith { contact });
                    }
                    Ok((direct_chat(tx, contact)?, true))
                })
            })
            .await?;
        if made {
            self.emit(EventKind::ChatsChanged);
        }
        Ok(chat)
    }

    /// Incoming messages not read yet, in every chat.
    pub async fn unread(&self) -> Result<u32, ChatError> {
        self.db(|s| s.read_with::<_, ChatError>(|c| Ok(total_unread(c)?)))
            .await
    }

    /// Marks every incoming message of `chat` read and queues a read receipt for them.
    pub async fn mark_read(&self, chat: ChatId) -> Result<(), ChatError> {
        let changed = self
            .db(move |s| {
                s.write_with::<_, ChatError>(|tx| {
                    if !exists(tx, chat)? {
                        return Err(ChatError::NotFound { chat });
                    }
                    // An imported history's chat has nobody to send receipts to, and its
                    // messages are never unread.
                    // A group's messages are marked read here only (no receipts in groups).
                    let group = crate::groups::is_group(tx, chat)?;
                    let contact = match contact_of(tx, chat) {
                        Ok(contact) => Some(contact),
                        Err(ChatError::NoRecipient { .. }) if group => None,
                        Err(ChatError::NoRecipient { .. }) => return Ok(false),
                        Err(e) => return Err(e),
                    };
                    let mut stmt = tx.prepare(
                        "SELECT uid FROM messages
                         WHERE chat_id = ?1 AND sender_id IS NOT NULL AND state = 'received'
                         ORDER BY id",
                    )?;
                    let ids = stmt
                        .query_map([chat.0], |r| r.get::<_, Vec<u8>>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    let ids: Vec<MessageId> = ids
                        .iter()
                        .filter_map(|b| MessageId::from_slice(b))
                        .collect();
                    if ids.is_empty() {
                        return Ok(false);
                    }
                    tx.execute(
                        "UPDATE messages SET state = 'read'
                         WHERE chat_id = ?1 AND sender_id IS NOT NULL AND state = 'received'",
                        [chat.0],
                    )?;
                    if let Some(contact) = contact {
                        outbox::enqueue(
                            tx,
                            contact,
                            None,
                            &outbox::receipt_payload(ReceiptKind::Read, &ids),
                        )?;
                    }
                    Ok(true)
                })
            })
            .await?;
        if changed {
            self.kick();
            self.emit(EventKind::MessagesChanged { chat });
            self.emit(EventKind::ChatsChanged);
        }
        Ok(())
    }

    /// Keeps `text` as the unsent text of `chat`.
    pub async fn set_draft(&self, chat: ChatId, text: &str) -> Result<(), ChatError> {
        if text.len() > MAX_DRAFT_BYTES {
            return Err(ChatError::DraftTooLong);
        }
        let text = text.to_owned();
        let changed = self
            .db(move |s| {
                s.write_with::<_, ChatError>(|tx| {
                    let n = tx.execute(
                        "UPDATE chats SET draft = ?2 WHERE id = ?1 AND draft != ?2",
                        params![chat.0, text],
                    )?;
                    if n == 0 && !exists(tx, chat)? {
                        return Err(ChatError::NotFound { chat });
                    }
                    Ok(n > 0)
                })
            })
            .await?;
        if changed {
            self.emit(EventKind::ChatsChanged);
        }
        Ok(())
    }

    /// Tells the other person of `chat` that we are (not) typing; sent only while connected,
    /// never stored.
    /// Not sent in groups.
    pub async fn set_typing(&self, chat: ChatId, typing: bool) -> Result<(), ChatError> {
        let contact = self
            .db(move |s| {
                s.read_with::<_, ChatError>(|c| {
                    if crate::groups::is_group(c, chat)? {
                        return Ok(None);
                    }
                    contact_of(c, chat).map(Some)
                })
            })
            .await?;
        if let Some(contact) = contact {
            self.send_typing(contact, typing);
        }
        Ok(())
    }
}
