//! The writer thread: it takes every queued operation, runs them in one transaction, commits
//! once (durable, synchronous=FULL) and only then answers each waiter and tells the listener
//! about the stored envelopes.
//!
//! It also schedules the WAL checkpoints (copying committed pages back into the database file).
//! SQLite's default runs one inside whichever commit takes the WAL past 1000 pages, which under
//! load cost the writer about a tenth of its time while senders waited. Here a checkpoint runs
//! when the writer has nothing queued and the WAL holds `CHECKPOINT_WHEN_IDLE` pages or more, or,
//! if the writer is never idle, once the WAL reaches `CHECKPOINT_AT_MOST` pages (16 MiB).

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, Transaction};
use tokio::sync::mpsc;

use super::queries::{
    IdCache, ack, expire, fetch_bundle, lookup_handle, mailbox_state, pending, register_handle,
    store, upload_prekeys,
};
use super::{Command, MAX_BATCH, Reply};
use crate::identity::Identity;
use crate::storage::{StorageError, StoredEnvelope, StoredListener};

/// WAL pages after which a checkpoint runs as soon as the writer is idle (SQLite's default
/// autocheckpoint size).
const CHECKPOINT_WHEN_IDLE: c_int = 1000;
/// WAL pages after which a checkpoint runs even though operations are waiting. Larger saves a
/// little more (pages changed again and again are copied once), but the checkpoint after a long
/// burst then holds up the next operations for tens of milliseconds (measured with 16384: p99 of
/// the paced load 46 ms instead of 1.5 ms).
const CHECKPOINT_AT_MOST: c_int = 4_096;

thread_local! {
    /// Pages in the WAL after the last commit on this thread, as SQLite's WAL hook reports it.
    /// Thread-local because the hook is a plain function and each storage commits on its own
    /// writer thread.
    static WAL_PAGES: Cell<c_int> = const { Cell::new(0) };
}

/// The WAL hook: SQLite calls it after each commit with the number of pages in the WAL.
pub(super) fn count_wal_pages(_: &rusqlite::hooks::Wal, pages: c_int) -> rusqlite::Result<()> {
    WAL_PAGES.set(pages);
    Ok(())
}

/// An answer computed inside the transaction, sent once the commit succeeded (or failed).
trait Completion: Send {
    fn complete(self: Box<Self>, commit: Result<(), &str>);
}

struct Answer<T> {
    reply: Reply<T>,
    result: Result<T, StorageError>,
}

impl<T: Send> Completion for Answer<T> {
    fn complete(self: Box<Self>, commit: Result<(), &str>) {
        let result = match commit {
            Ok(()) => self.result,
            Err(why) => Err(StorageError::Commit(why.to_owned())),
        };
        let _ = self.reply.send(result);
    }
}

fn answer<T: Send + 'static>(
    reply: Reply<T>,
    result: Result<T, StorageError>,
) -> Box<dyn Completion> {
    Box::new(Answer { reply, result })
}

pub(super) struct Writer {
    pub(super) conn: Connection,
    /// Envelopes per recipient, for the queue limit; only the writer changes the table, so this
    /// stays exact. Emptied mailboxes are forgotten.
    pub(super) counts: HashMap<Identity, u32>,
    pub(super) ids: IdCache,
    pub(super) queued: Arc<AtomicU64>,
    pub(super) listener: Arc<dyn StoredListener>,
}

impl Writer {
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut batch = Vec::with_capacity(64);
        let mut closing = None;
        while closing.is_none() {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            closing = self.execute(&mut batch);
            if closing.is_none() {
                self.checkpoint_if_due(rx.is_empty());
            }
        }
        rx.close();
        // Operations that raced with Close still get an answer.
        while let Ok(command) = rx.try_recv() {
            batch.push(command);
        }
        if !batch.is_empty() {
            let _ = self.execute(&mut batch);
        }
        if let Err(e) = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
            tracing::warn!(error = %e, "final checkpoint failed");
        }
        let result = self.conn.close().map_err(|(_, e)| StorageError::Sqlite(e));
        if let Some(reply) = closing {
            let _ = reply.send(result);
        }
        tracing::debug!("database writer stopped");
    }

    /// Checkpoints the WAL when it is due (see the module's documentation). A failed checkpoint
    /// loses nothing (the pages stay in the WAL) and is tried again after the next commit.
    fn checkpoint_if_due(&mut self, idle: bool) {
        let pages = WAL_PAGES.get();
        if pages < CHECKPOINT_AT_MOST && !(idle && pages >= CHECKPOINT_WHEN_IDLE) {
            return;
        }
        match self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0))
        {
            Ok(_) => WAL_PAGES.set(0),
            Err(e) => tracing::warn!(error = %e, pages, "WAL checkpoint failed"),
        }
    }

    /// Runs one batch in one transaction; returns the Close waiter if the batch held one.
    fn execute(&mut self, batch: &mut Vec<Command>) -> Option<Reply<()>> {
        let mut completions: Vec<Box<dyn Completion>> = Vec::with_capacity(batch.len());
        let mut stored: Vec<Arc<StoredEnvelope>> = Vec::new();
        let mut closing = None;
        let mut queued_delta: i64 = 0;
        let outcome = (|| -> Result<(), rusqlite::Error> {
            let mut tx = self.conn.transaction()?;
            for command in batch.drain(..) {
                match command {
                    Command::Close(reply) => closing = Some(reply),
                    command => completions.push(apply(
                        &mut tx,
                        &mut self.counts,
                        &mut self.ids,
                        &mut stored,
                        &mut queued_delta,
                        command,
                    )),
                }
            }
            tx.commit()
        })();
        match outcome {
            Ok(()) => {
                apply_delta(&self.queued, queued_delta);
                for envelope in &stored {
                    self.listener.stored(envelope);
                }
                for c in completions {
                    c.complete(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "database commit failed");
                batch.clear();
                self.counts.clear();
                self.ids.clear();
                if let Ok(total) = self
                    .conn
                    .query_row("SELECT COUNT(*) FROM envelopes", [], |r| r.get::<_, i64>(0))
                {
                    self.queued
                        .store(u64::try_from(total).unwrap_or(0), Ordering::Relaxed);
                }
                let why = e.to_string();
                for c in completions {
                    c.complete(Err(&why));
                }
            }
        }
        closing
    }
}

fn apply_delta(gauge: &AtomicU64, delta: i64) {
    if delta >= 0 {
        gauge.fetch_add(delta.unsigned_abs(), Ordering::Relaxed);
    } else {
        let _ = gauge.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
            Some(v.saturating_sub(delta.unsigned_abs()))
        });
    }
}

fn apply(
    tx: &mut Transaction<'_>,
    counts: &mut HashMap<Identity, u32>,
    ids: &mut IdCache,
    stored: &mut Vec<Arc<StoredEnvelope>>,
    queued_delta: &mut i64,
    command: Command,
) -> Box<dyn Completion> {
    match command {
        Command::Store(envelope, max_queue, reply) => {
            let result = store(tx, counts, ids, envelope, max_queue).map(|(outcome, new)| {
                if let Some(new) = new {
                    *queued_delta += 1;
                    stored.push(new);
                }
                outcome
            });
            answer(reply, result)
        }
        Command::Ack(recipient, keys, reply) => {
            let result = ack(tx, counts, ids, recipient, &keys).inspect(|&n| {
                *queued_delta -= i64::try_from(n).unwrap_or(0);
            });
            answer(reply, result)
        }
        Command::Pending(recipient, after, limit, not_before, reply) => {
            answer(reply, pending(tx, ids, recipient, after, limit, not_before))
        }
        Command::MailboxState(identity, not_before, reply) => {
            answer(reply, mailbox_state(tx, ids, identity, not_before))
        }
        Command::Expire(before, reply) => {
            let result = expire(tx, counts, ids, before).inspect(|&n| {
                *queued_delta -= i64::try_from(n).unwrap_or(0);
            });
            answer(reply, result)
        }
        Command::RegisterHandle(identity, handle, reply) => {
            answer(reply, register_handle(tx, identity, &handle))
        }
        Command::LookupHandle(handle, reply) => answer(reply, lookup_handle(tx, &handle)),
        Command::UploadPrekeys(identity, signed, one_time, max, reply) => {
            answer(reply, upload_prekeys(tx, identity, signed, &one_time, max))
        }
        Command::FetchBundle(identity, reply) => answer(reply, fetch_bundle(tx, identity)),
        Command::Close(reply) => answer(reply, Ok(())),
    }
}
