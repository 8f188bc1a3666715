//! Writes a parsed export into one chat of an account: resumable, idempotent, invisible until
//! complete.
//!
//! # Design
//!
//! - **Import record.** Every import has one row in `imports` (schema 5) keyed by the export's
//!   *source digest* (its text, family and date order) and the target chat. Entries are written
//!   in file order, [`BATCH`] per transaction; the same transaction moves the record's
//!   `entries_done` forward, so the record always says exactly how far the file is committed.
//! - **Nothing partial is visible.** A chat created by an import carries its `import_id`, and
//!   so does every message an import writes. The chat list leaves out chats, and conversation
//!   pages and chat previews leave out messages, whose import is not `done`. The last
//!   transaction flips the record to `done`, so the whole history appears at once. Cancel (the
//!   flag is checked between batches) marks it `cancelled`; a crash leaves it `running`; both
//!   stay invisible.
//! - **Resume and idempotency.** Importing the same file into the same target finds the record
//!   again (for a new chat: the chat an earlier import of this file created) and continues after
//!   `entries_done`. Message ids (`uid`) are derived from the content — target chat, timestamp,
//!   author, kind, body, attachment and the ordinal of identical entries in the file — and
//!   inserted with `INSERT OR IGNORE`, so whatever was committed before is never written twice,
//!   and a finished import imported again adds nothing. Importing into another chat copies it.
//!   [`discard_cancelled`] deletes what cancelled imports left, for a user who will not resume.
//! - **Media** the export holds are encrypted with the attachment cipher under a fresh key per
//!   file and written (and synced) under the account's `media/` folder *before* the batch that
//!   references them commits: a crash may leave an orphan file, never a row without its file.
//! - **Authors.** Entries by `me` are stored as sent by this account; everybody else keeps the
//!   name the export gives (`messages.author_name`): an imported author is not a contact.
//!   Imported messages are `read` (no ticks to move, never unread, no notifications).
//! - **Timestamps.** Exports carry wall-clock time without a zone; it is stored as if it were
//!   UTC, so the time shown is the time written in the export.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::{OptionalExtension as _, Transaction, params};
use serde::Serialize;
use time::PrimitiveDateTime;
use ts_rs::TS;

use super::ImportError;
use super::model::{DateOrder, Detection, Entry, Parsed};
use super::report::{MediaFiles, Report, ReportBuilder, kind_tag};
use crate::account::Account;
use crate::clock;
use crate::events::EventKind;
use crate::ids::{ChatId, ContactId};
use media::{StoredMedia, media_dir, store_media};
use record::{Record, begin, cancelled, finish};

mod digest;
mod media;
mod meta;
mod record;
mod source;
#[cfg(test)]
mod tests;

pub use digest::Digest;
pub use record::discard_cancelled;
pub use source::{import, preview};

/// Entries written per transaction.
pub const BATCH: usize = 10_000;
pub use crate::attachments::MEDIA_FOLDER;

/// Where the imported messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A chat created for the import (or, importing the same file again, the one created then).
    NewChat {
        /// Its title.
        title: String,
    },
    /// The direct chat with a contact (created, hidden until done, if there is none yet).
    Contact(ContactId),
    /// An existing chat.
    Chat(ChatId),
}

/// What the user chose in the wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The author whose messages are this account's (as written in the export).
    pub me: Option<String>,
    /// Where the messages go.
    pub target: Target,
    /// Overrides the detected date order.
    pub date_order: Option<DateOrder>,
}

/// How far an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export, rename = "ImportProgress")]
pub struct Progress {
    /// Entries parsed (and, up to the last batch, committed).
    #[ts(type = "number")]
    pub entries_done: u64,
    /// Bytes of the export's text read.
    #[ts(type = "number")]
    pub bytes_done: u64,
    /// Bytes of the export's text in all.
    #[ts(type = "number")]
    pub bytes_total: u64,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, rename = "ImportSummary")]
pub struct Summary {
    /// The chat that holds the history.
    pub chat: ChatId,
    /// The import record.
    #[ts(type = "number")]
    pub import_id: i64,
    /// Messages this import added (including those a cancelled or interrupted run of the same
    /// import committed before).
    #[ts(type = "number")]
    pub added: u64,
    /// Entries already in the chat from an earlier import of the same file.
    #[ts(type = "number")]
    pub already_there: u64,
    /// Media files encrypted into the account's store.
    #[ts(type = "number")]
    pub media_stored: u64,
    /// An interrupted or cancelled import of this file was continued.
    pub resumed: bool,
    /// What the export holds.
    pub report: Report,
}

/// The parsed export, however it was read.
pub(crate) struct Input<'a, I> {
    pub detection: Detection,
    pub digest: Digest,
    pub entries: I,
    pub media: &'a dyn MediaFiles,
    pub bytes_total: u64,
    pub bytes_done: &'a dyn Fn() -> u64,
}

/// Writes `input` into the account as `options` say.
pub(crate) fn run<I>(
    account: &Account,
    input: Input<'_, I>,
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<Summary, ImportError>
where
    I: Iterator<Item = Result<Parsed, ImportError>>,
{
    let store = account.store();
    let media_dir = media_dir(store.path())?;
    let record = store.write_with(|tx| begin(tx, &input.digest, &options.target))?;
    tracing::info!(
        import = record.id,
        chat = %record.chat,
        resumed = record.resumed,
        skip = record.skip,
        "import started"
    );
    let family = input.detection.family;
    let mut report = ReportBuilder::new(input.media);
    let mut ordinals: HashMap<u64, u32> = HashMap::new();
    let mut others: BTreeSet<String> = BTreeSet::new();
    let mut batch: Vec<(Entry, [u8; 16])> = Vec::with_capacity(BATCH);
    let mut index: u64 = 0;
    let mut added = 0u64;
    let mut ignored = 0u64;
    let mut media_stored = 0u64;
    let mut latest: Option<PrimitiveDateTime> = None;
    let mut entries = input.entries;
    loop {
        let next = entries.next().transpose()?;
        let end = next.is_none();
        if let Some(parsed) = next {
            report.add(&parsed);
            if let Parsed::Entry(entry) = parsed {
                let content = digest::content_hash(family, &entry);
                let ordinal = {
                    let key = u64::from_le_bytes(*content.first_chunk::<8>().unwrap_or(&[0; 8]));
                    let n = ordinals.entry(key).or_insert(0);
                    let ordinal = *n;
                    *n = n.saturating_add(1);
                    ordinal
                };
                if let Some(author) = entry.author.as_deref()
                    && Some(author) != options.me.as_deref()
                    && !others.contains(author)
                {
                    others.insert(author.to_owned());
                }
                latest = Some(latest.map_or(entry.timestamp, |l| l.max(entry.timestamp)));
                index += 1;
                if index > record.skip {
                    let uid = digest::message_uid(record.chat, &content, &entry, ordinal);
                    batch.push((entry, uid));
                } else if index.is_multiple_of(BATCH as u64) {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(cancelled(account, &record));
                    }
                    progress(Progress {
                        entries_done: index,
                        bytes_done: (input.bytes_done)(),
                        bytes_total: input.bytes_total,
                    });
                }
            }
        }
        if batch.len() >= BATCH || (end && !batch.is_empty()) {
            if cancel.load(Ordering::Relaxed) {
                return Err(cancelled(account, &record));
            }
            let files = store_media(&media_dir, record.id, &batch, input.media)?;
            let (n, m, orphans) = store.write_with(|tx| {
                write_batch(tx, &record, options.me.as_deref(), &batch, files, index)
            })?;
            for orphan in orphans {
                // The entry was already there: its copy of the file is not needed.
                let _ = std::fs::remove_file(media_dir.join(orphan));
            }
            added += n;
            ignored += batch.len() as u64 - n;
            media_stored += m;
            batch.clear();
            progress(Progress {
                entries_done: index,
                bytes_done: (input.bytes_done)(),
                bytes_total: input.bytes_total,
            });
        }
        if end {
            break;
        }
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(cancelled(account, &record));
    }
    let latest_ms = latest.map(to_ms);
    store.write_with(|tx| finish(tx, &record, index, others.len(), latest_ms))?;
    tracing::info!(import = record.id, added, ignored, "import done");
    if added > 0 || !record.was_done {
        account.emit(EventKind::ChatsChanged);
        account.emit(EventKind::MessagesChanged { chat: record.chat });
    }
    let (added, already_there) = if record.was_done {
        (added, ignored + record.skip.min(index))
    } else {
        (record.prior_added + added, ignored)
    };
    Ok(Summary {
        chat: record.chat,
        import_id: record.id,
        added,
        already_there,
        media_stored: if record.was_done {
            media_stored
        } else {
            record.prior_media + media_stored
        },
        resumed: record.resumed,
        report: report.finish(&input.detection),
    })
}

/// Writes one batch and moves the record forward; returns the messages and media added and
/// the media files no row refers to (entries that were already there).
///
/// The rows go through a temporary table and into `messages` with one `INSERT … SELECT`:
/// every statement on `messages` opens a savepoint, at which FTS5 flushes its pending terms, so
/// one statement per row would write (and then merge) one index segment per message.
fn write_batch(
    tx: &Transaction<'_>,
    record: &Record,
    me: Option<&str>,
    batch: &[(Entry, [u8; 16])],
    files: Vec<Option<StoredMedia>>,
    entries_done: u64,
) -> Result<(u64, u64, Vec<String>), ImportError> {
    let now = clock::now_ms();
    // The batch goes through a temporary table and into `messages` in one statement: FTS5
    // flushes its pending terms at every statement's savepoint, so a statement per message
    // made the search index write a segment per message (a million-message import took 27 s
    // instead of about 10 s).
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS import_batch (
             seq         INTEGER PRIMARY KEY,
             uid         BLOB NOT NULL,
             kind        TEXT NOT NULL,
             body        TEXT NOT NULL,
             sent_at     INTEGER NOT NULL,
             author_name TEXT NOT NULL,
             import_meta TEXT NOT NULL
         ) STRICT;
         DELETE FROM temp.import_batch;",
    )?;
    let mut stage = tx.prepare_cached(
        "INSERT INTO temp.import_batch (uid, kind, body, sent_at, author_name, import_meta)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (entry, uid) in batch {
        let author = match (entry.author.as_deref(), me) {
            (Some(a), Some(me)) if a == me => "",
            (Some(a), _) => a,
            (None, _) => "",
        };
        stage.execute(params![
            uid.as_slice(),
            kind_tag(&entry.kind),
            meta::body(entry),
            to_ms(entry.timestamp),
            author,
            meta::json(entry),
        ])?;
    }
    let added = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO messages
           (uid, chat_id, sender_id, kind, body, sent_at, received_at, state, imported,
            author_name, import_id, import_meta)
         SELECT uid, ?1, NULL, kind, body, sent_at, ?2, 'read', 1, author_name, ?3, import_meta
         FROM temp.import_batch ORDER BY seq",
        )?
        .execute(params![record.chat.0, now, record.id])?;
    tx.execute("DELETE FROM temp.import_batch", [])?;
    let mut find =
        tx.prepare_cached("SELECT id FROM messages WHERE uid = ?1 AND import_id = ?2")?;
    let mut attach = tx.prepare_cached(
        "INSERT INTO attachments (message_id, name, mime, size, path, file_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut media = 0u64;
    let mut orphans = Vec::new();
    for ((_, uid), file) in batch.iter().zip(files) {
        let Some(f) = file else { continue };
        // Written by this batch: entries before `entries_done` are never in a batch again.
        let message: Option<i64> = find
            .query_row(params![uid.as_slice(), record.id], |r| r.get(0))
            .optional()?;
        let Some(message) = message else {
            orphans.push(f.relative);
            continue;
        };
        attach.execute(params![
            message,
            f.name,
            f.mime,
            i64::try_from(f.size).unwrap_or(i64::MAX),
            f.relative,
            f.key.to_bytes().as_slice(),
        ])?;
        media += 1;
    }
    let added = added as u64;
    tx.execute(
        "UPDATE imports SET entries_done = ?2, messages_added = messages_added + ?3,
                media_stored = media_stored + ?4
         WHERE id = ?1",
        params![
            record.id,
            i64::try_from(entries_done).unwrap_or(i64::MAX),
            i64::try_from(added).unwrap_or(i64::MAX),
            i64::try_from(media).unwrap_or(i64::MAX),
        ],
    )?;
    Ok((added, media, orphans))
}

/// The export's wall-clock time as Unix milliseconds, read as UTC (see the module doc).
fn to_ms(t: PrimitiveDateTime) -> i64 {
    i64::try_from(t.assume_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}
