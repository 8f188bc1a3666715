//! The import record (`imports`): finding the one an earlier run of the same file left, or
//! creating it with its target chat; marking it cancelled; making the import visible.

use rusqlite::{OptionalExtension as _, Transaction, params};

use super::{Digest, ImportError, Target};
use crate::account::Account;
use crate::clock;
use crate::ids::{ChatId, ContactId};

/// The import record found or created by [`begin`].
pub(super) struct Record {
    pub(super) id: i64,
    pub(super) chat: ChatId,
    /// The chat was created by this import (its kind is decided at the end).
    pub(super) owns_chat: bool,
    pub(super) skip: u64,
    pub(super) was_done: bool,
    pub(super) resumed: bool,
    pub(super) prior_added: u64,
    pub(super) prior_media: u64,
}

/// Marks the record cancelled (unless an earlier run finished it) and says so.
pub(super) fn cancelled(account: &Account, record: &Record) -> ImportError {
    let marked = account.store().write(|tx| {
        tx.execute(
            "UPDATE imports SET state = 'cancelled' WHERE id = ?1 AND state = 'running'",
            [record.id],
        )
    });
    if let Err(e) = marked {
        // Still invisible: a 'running' record is hidden just the same.
        tracing::warn!(import = record.id, error = %e, "could not mark the import cancelled");
    }
    tracing::info!(import = record.id, "import cancelled");
    ImportError::Cancelled
}

/// Finds the record of an earlier import of this source into this target, or creates one (and
/// the target chat when it is new).
pub(super) fn begin(
    tx: &Transaction<'_>,
    digest: &Digest,
    target: &Target,
) -> Result<Record, ImportError> {
    let now = clock::now_ms();
    let (chat, target_kind) = match target {
        Target::Chat(chat) => (Some(existing_chat(tx, *chat)?), "existing"),
        Target::Contact(contact) => (contact_chat(tx, *contact)?, "existing"),
        Target::NewChat { .. } => {
            let earlier: Option<i64> = tx
                .query_row(
                    "SELECT chat_id FROM imports WHERE source_digest = ?1 AND target = 'new'
                     ORDER BY id DESC LIMIT 1",
                    [digest.as_bytes().as_slice()],
                    |r| r.get(0),
                )
                .optional()?;
            (earlier.map(ChatId), "new")
        }
    };
    if let Some(chat) = chat {
        let found: Option<(i64, String, i64, i64, i64)> = tx
            .query_row(
                "SELECT id, state, entries_done, messages_added, media_stored FROM imports
                 WHERE source_digest = ?1 AND chat_id = ?2 ORDER BY id DESC LIMIT 1",
                params![digest.as_bytes().as_slice(), chat.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        if let Some((id, state, done, prior_added, prior_media)) = found {
            let was_done = state == "done";
            if !was_done {
                tx.execute("UPDATE imports SET state = 'running' WHERE id = ?1", [id])?;
            }
            let owns_chat: bool = tx.query_row(
                "SELECT import_id = ?2 FROM chats WHERE id = ?1",
                params![chat.0, id],
                |r| r.get(0),
            )?;
            return Ok(Record {
                id,
                chat,
                owns_chat,
                skip: u64::try_from(done).unwrap_or(0),
                was_done,
                resumed: !was_done,
                prior_added: u64::try_from(prior_added).unwrap_or(0),
                prior_media: u64::try_from(prior_media).unwrap_or(0),
            });
        }
    }
    let (chat, owns_chat) = match (chat, target) {
        (Some(chat), _) => (chat, false),
        (None, Target::NewChat { title }) => {
            tx.execute(
                "INSERT INTO chats (kind, title, contact_id, created_at, last_activity_at)
                 VALUES ('direct', ?1, NULL, ?2, 0)",
                params![title, now],
            )?;
            (ChatId(tx.last_insert_rowid()), true)
        }
        (None, Target::Contact(contact)) => {
            tx.execute(
                "INSERT INTO chats (kind, title, contact_id, created_at, last_activity_at)
                 VALUES ('direct', (SELECT handle FROM contacts WHERE id = ?1), ?1, ?2, ?2)",
                params![contact.0, now],
            )?;
            (ChatId(tx.last_insert_rowid()), true)
        }
        (None, Target::Chat(chat)) => return Err(no_chat(*chat)),
    };
    tx.execute(
        "INSERT INTO imports (source_digest, chat_id, target, state, created_at)
         VALUES (?1, ?2, ?3, 'running', ?4)",
        params![digest.as_bytes().as_slice(), chat.0, target_kind, now],
    )?;
    let id = tx.last_insert_rowid();
    if owns_chat {
        tx.execute(
            "UPDATE chats SET import_id = ?2 WHERE id = ?1",
            params![chat.0, id],
        )?;
    }
    Ok(Record {
        id,
        chat,
        owns_chat,
        skip: 0,
        was_done: false,
        resumed: false,
        prior_added: 0,
        prior_media: 0,
    })
}

fn no_chat(chat: ChatId) -> ImportError {
    ImportError::Invalid(format!("there is no chat {chat} to import into"))
}

fn existing_chat(tx: &Transaction<'_>, chat: ChatId) -> Result<ChatId, ImportError> {
    tx.query_row("SELECT id FROM chats WHERE id = ?1", [chat.0], |r| {
        r.get(0).map(ChatId)
    })
    .optional()?
    .ok_or_else(|| no_chat(chat))
}

/// The contact's direct chat if it has one; an error if there is no such contact.
fn contact_chat(tx: &Transaction<'_>, contact: ContactId) -> Result<Option<ChatId>, ImportError> {
    let known: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM contacts WHERE id = ?1)",
        [contact.0],
        |r| r.get(0),
    )?;
    if !known {
        return Err(ImportError::Invalid(format!(
            "there is no contact {contact} to import into"
        )));
    }
    Ok(tx
        .query_row(
            "SELECT id FROM chats WHERE contact_id = ?1 AND kind = 'direct'",
            [contact.0],
            |r| r.get(0).map(ChatId),
        )
        .optional()?)
}

/// Makes the import visible: the record is done, the chat sorts by its newest message, and a
/// chat the import created is a group when more than one other person wrote in it.
pub(super) fn finish(
    tx: &Transaction<'_>,
    record: &Record,
    entries: u64,
    others: usize,
    latest_ms: Option<i64>,
) -> Result<(), ImportError> {
    if !record.was_done {
        tx.execute(
            "UPDATE imports SET state = 'done', entries_done = ?2, finished_at = ?3
             WHERE id = ?1",
            params![
                record.id,
                i64::try_from(entries).unwrap_or(i64::MAX),
                clock::now_ms()
            ],
        )?;
    }
    if let Some(latest) = latest_ms {
        tx.execute(
            "UPDATE chats SET last_activity_at = max(last_activity_at, ?2) WHERE id = ?1",
            params![record.chat.0, latest],
        )?;
    }
    if record.owns_chat && others > 1 {
        tx.execute(
            "UPDATE chats SET kind = 'group' WHERE id = ?1 AND contact_id IS NULL",
            [record.chat.0],
        )?;
    }
    Ok(())
}

/// Deletes what cancelled imports wrote (their hidden messages with their attachments and media
/// files, a chat one created that holds nothing else) and their records, so that a cancelled
/// import that will not be resumed leaves nothing behind. Interrupted imports (`running` after a
/// crash) are kept: one may be running now, and importing the file again completes it. Returns
/// how many imports were discarded.
pub fn discard_cancelled(account: &Account) -> Result<u64, ImportError> {
    let store = account.store();
    let discarded = store.write_with(|tx| {
        let ids: Vec<(i64, i64)> = {
            let mut stmt =
                tx.prepare("SELECT id, chat_id FROM imports WHERE state = 'cancelled'")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (id, chat) in &ids {
            tx.execute("DELETE FROM messages WHERE import_id = ?1", [id])?;
            // A chat the import created stays if something else was written in it meanwhile (a
            // contact's new chat receiving a message): it is then an ordinary, visible chat.
            tx.execute(
                "DELETE FROM chats WHERE id = ?1 AND import_id = ?2
                   AND NOT EXISTS (SELECT 1 FROM messages WHERE chat_id = ?1)",
                params![chat, id],
            )?;
            tx.execute(
                "UPDATE chats SET import_id = 0 WHERE id = ?1 AND import_id = ?2",
                params![chat, id],
            )?;
            tx.execute("DELETE FROM imports WHERE id = ?1", [id])?;
        }
        Ok::<_, ImportError>(ids)
    })?;
    // Only after the rows are gone: a crash before this leaves orphan files, never rows
    // without their files.
    let media = super::media::media_dir(store.path())?;
    for (id, _) in &discarded {
        let folder = media.join(super::media::import_folder(*id));
        if let Err(e) = std::fs::remove_dir_all(&folder)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(import = id, error = %e, "could not delete a cancelled import's media");
        }
    }
    Ok(discarded.len() as u64)
}
