//! The SQLite backend. One dedicated writer thread owns the connection and does every operation,
//! in group commits: it takes all queued operations, runs them in one transaction, commits once
//! (synchronous=FULL, so the commit is durable) and only then answers each waiter. One fsync is
//! shared by hundreds of sends instead of one fsync per send.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rusqlite_migration::{M, Migrations};
use tokio::sync::{mpsc, oneshot};

use super::{
    Bundle, MailboxState, NewEnvelope, OneTimePrekey, RegisterOutcome, Seq, SignedPrekey, Storage,
    StorageError, StorageFuture, StoreOutcome, StoredEnvelope, StoredListener, UploadOutcome,
};
use crate::handle::Handle;
use crate::identity::{EnvelopeId, Identity};

/// Operations queued for the writer, at most (senders wait beyond: backpressure).
const QUEUE: usize = 16_384;
/// Operations in one transaction, at most.
const MAX_BATCH: usize = 4_096;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(include_str!("migrations/001_initial.sql"))])
}

/// The SQLite store (plain SQLite file; the relay only ever holds ciphertext and public keys).
pub struct SqliteStorage {
    tx: mpsc::Sender<Command>,
    queued: Arc<AtomicU64>,
    writer: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage").finish_non_exhaustive()
    }
}

impl SqliteStorage {
    /// Opens (creating and migrating) the database at `path` and starts its writer thread.
    /// `listener` hears of every stored envelope after its commit, in storage order.
    pub fn open(path: &Path, listener: Arc<dyn StoredListener>) -> Result<Self, StorageError> {
        let mut conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA secure_delete = ON;
             PRAGMA cache_size = -32768;
             PRAGMA busy_timeout = 5000;",
        )?;
        migrations().to_latest(&mut conn)?;
        let total: i64 = conn.query_row("SELECT COUNT(*) FROM envelopes", [], |r| r.get(0))?;
        let queued = Arc::new(AtomicU64::new(u64::try_from(total).unwrap_or(0)));
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = Writer {
            conn,
            counts: HashMap::new(),
            queued: queued.clone(),
            listener,
        };
        let handle = std::thread::Builder::new()
            .name("relay-db-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(StorageError::Thread)?;
        Ok(SqliteStorage {
            tx,
            queued,
            writer: std::sync::Mutex::new(Some(handle)),
        })
    }

    fn submit<T: Send + 'static>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StorageError>>) -> Command,
    ) -> StorageFuture<T> {
        let (reply, rx) = oneshot::channel();
        let command = make(reply);
        let tx = self.tx.clone();
        Box::pin(async move {
            tx.send(command).await.map_err(|_| StorageError::Closed)?;
            rx.await.map_err(|_| StorageError::Closed)?
        })
    }
}

type Reply<T> = oneshot::Sender<Result<T, StorageError>>;

enum Command {
    Store(NewEnvelope, u32, Reply<StoreOutcome>),
    Ack(Identity, Vec<(Identity, EnvelopeId)>, Reply<u64>),
    Pending(Identity, Seq, u32, i64, Reply<Vec<Arc<StoredEnvelope>>>),
    MailboxState(Identity, i64, Reply<MailboxState>),
    Expire(i64, Reply<u64>),
    RegisterHandle(Identity, Handle, Reply<RegisterOutcome>),
    LookupHandle(Handle, Reply<Option<Identity>>),
    UploadPrekeys(
        Identity,
        Option<SignedPrekey>,
        Vec<OneTimePrekey>,
        u32,
        Reply<UploadOutcome>,
    ),
    FetchBundle(Identity, Reply<Option<Bundle>>),
    Close(Reply<()>),
}

impl Storage for SqliteStorage {
    fn store_envelope(&self, envelope: NewEnvelope, max_queue: u32) -> StorageFuture<StoreOutcome> {
        self.submit(|r| Command::Store(envelope, max_queue, r))
    }

    fn ack(&self, recipient: Identity, keys: Vec<(Identity, EnvelopeId)>) -> StorageFuture<u64> {
        self.submit(|r| Command::Ack(recipient, keys, r))
    }

    fn pending(
        &self,
        recipient: Identity,
        after: Seq,
        limit: u32,
        not_before_ms: i64,
    ) -> StorageFuture<Vec<Arc<StoredEnvelope>>> {
        self.submit(|r| Command::Pending(recipient, after, limit, not_before_ms, r))
    }

    fn mailbox_state(&self, identity: Identity, not_before_ms: i64) -> StorageFuture<MailboxState> {
        self.submit(|r| Command::MailboxState(identity, not_before_ms, r))
    }

    fn expire(&self, before_ms: i64) -> StorageFuture<u64> {
        self.submit(|r| Command::Expire(before_ms, r))
    }

    fn register_handle(
        &self,
        identity: Identity,
        handle: Handle,
    ) -> StorageFuture<RegisterOutcome> {
        self.submit(|r| Command::RegisterHandle(identity, handle, r))
    }

    fn lookup_handle(&self, handle: Handle) -> StorageFuture<Option<Identity>> {
        self.submit(|r| Command::LookupHandle(handle, r))
    }

    fn upload_prekeys(
        &self,
        identity: Identity,
        signed: Option<SignedPrekey>,
        one_time: Vec<OneTimePrekey>,
        max_one_time: u32,
    ) -> StorageFuture<UploadOutcome> {
        self.submit(|r| Command::UploadPrekeys(identity, signed, one_time, max_one_time, r))
    }

    fn fetch_bundle(&self, identity: Identity) -> StorageFuture<Option<Bundle>> {
        self.submit(|r| Command::FetchBundle(identity, r))
    }

    fn queued_total(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    fn close(&self) -> StorageFuture<()> {
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        let done = self.submit(Command::Close);
        Box::pin(async move {
            let result = done.await;
            if let Some(handle) = handle {
                // The thread ends right after answering Close; joining waits for the connection
                // to be closed (which checkpoints the WAL).
                let _ = tokio::task::spawn_blocking(move || handle.join()).await;
            }
            match result {
                Err(StorageError::Closed) | Ok(()) => Ok(()),
                Err(e) => Err(e),
            }
        })
    }
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

struct Writer {
    conn: Connection,
    /// Envelopes per recipient, for the queue limit; only the writer changes the table, so this
    /// stays exact. Emptied mailboxes are forgotten.
    counts: HashMap<Identity, u32>,
    queued: Arc<AtomicU64>,
    listener: Arc<dyn StoredListener>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
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

fn now_ms() -> i64 {
    crate::relay::unix_ms()
}

fn apply(
    tx: &mut Transaction<'_>,
    counts: &mut HashMap<Identity, u32>,
    stored: &mut Vec<Arc<StoredEnvelope>>,
    queued_delta: &mut i64,
    command: Command,
) -> Box<dyn Completion> {
    match command {
        Command::Store(envelope, max_queue, reply) => {
            let result = store(tx, counts, envelope, max_queue).map(|(outcome, new)| {
                if let Some(new) = new {
                    *queued_delta += 1;
                    stored.push(new);
                }
                outcome
            });
            answer(reply, result)
        }
        Command::Ack(recipient, keys, reply) => {
            let result = ack(tx, counts, recipient, &keys).inspect(|&n| {
                *queued_delta -= i64::try_from(n).unwrap_or(0);
            });
            answer(reply, result)
        }
        Command::Pending(recipient, after, limit, not_before, reply) => {
            answer(reply, pending(tx, recipient, after, limit, not_before))
        }
        Command::MailboxState(identity, not_before, reply) => {
            answer(reply, mailbox_state(tx, identity, not_before))
        }
        Command::Expire(before, reply) => {
            let result = tx
                .execute("DELETE FROM envelopes WHERE received_at_ms < ?1", [before])
                .map(|n| n as u64)
                .map_err(StorageError::from)
                .inspect(|&n| {
                    if n > 0 {
                        counts.clear();
                        *queued_delta -= i64::try_from(n).unwrap_or(0);
                    }
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

fn count_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn store(
    tx: &Transaction<'_>,
    counts: &mut HashMap<Identity, u32>,
    e: NewEnvelope,
    max_queue: u32,
) -> Result<(StoreOutcome, Option<Arc<StoredEnvelope>>), StorageError> {
    let recipient = e.recipient.as_bytes().as_slice();
    let count = match counts.get(&e.recipient) {
        Some(&n) => n,
        None => {
            let n: i64 = tx
                .prepare_cached("SELECT COUNT(*) FROM envelopes WHERE recipient = ?1")?
                .query_row([recipient], |r| r.get(0))?;
            count_u32(n)
        }
    };
    if count >= max_queue {
        let exists = tx
            .prepare_cached(
                "SELECT 1 FROM envelopes WHERE recipient = ?1 AND sender = ?2 AND id = ?3",
            )?
            .query_row(
                params![
                    recipient,
                    e.sender.as_bytes().as_slice(),
                    e.id.as_bytes().as_slice()
                ],
                |_| Ok(()),
            )
            .optional()?;
        counts.insert(e.recipient, count);
        let outcome = if exists.is_some() {
            StoreOutcome::Duplicate
        } else {
            StoreOutcome::QueueFull
        };
        return Ok((outcome, None));
    }
    let seq: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO envelopes (recipient, sender, id, content, received_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING RETURNING seq",
        )?
        .query_row(
            params![
                recipient,
                e.sender.as_bytes().as_slice(),
                e.id.as_bytes().as_slice(),
                e.content.as_ref(),
                e.received_at_ms
            ],
            |r| r.get(0),
        )
        .optional()?;
    let Some(seq) = seq else {
        counts.insert(e.recipient, count);
        return Ok((StoreOutcome::Duplicate, None));
    };
    counts.insert(e.recipient, count.saturating_add(1));
    let stored = StoredEnvelope {
        seq: Seq(seq),
        recipient: e.recipient,
        sender: e.sender,
        id: e.id,
        content: e.content,
        received_at_ms: e.received_at_ms,
    };
    Ok((StoreOutcome::Stored, Some(Arc::new(stored))))
}

fn ack(
    tx: &Transaction<'_>,
    counts: &mut HashMap<Identity, u32>,
    recipient: Identity,
    keys: &[(Identity, EnvelopeId)],
) -> Result<u64, StorageError> {
    let mut stmt = tx
        .prepare_cached("DELETE FROM envelopes WHERE recipient = ?1 AND sender = ?2 AND id = ?3")?;
    let mut deleted = 0u64;
    for (sender, id) in keys {
        deleted += stmt.execute(params![
            recipient.as_bytes().as_slice(),
            sender.as_bytes().as_slice(),
            id.as_bytes().as_slice()
        ])? as u64;
    }
    if deleted > 0
        && let Some(n) = counts.get_mut(&recipient)
    {
        *n = n.saturating_sub(u32::try_from(deleted).unwrap_or(u32::MAX));
        if *n == 0 {
            counts.remove(&recipient);
        }
    }
    Ok(deleted)
}

fn identity_column(bytes: Vec<u8>) -> Result<Identity, rusqlite::Error> {
    Identity::from_slice(&bytes).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "identity is not 64 bytes".into(),
        )
    })
}

fn pending(
    tx: &Transaction<'_>,
    recipient: Identity,
    after: Seq,
    limit: u32,
    not_before: i64,
) -> Result<Vec<Arc<StoredEnvelope>>, StorageError> {
    let mut stmt = tx.prepare_cached(
        "SELECT seq, sender, id, content, received_at_ms FROM envelopes
         WHERE recipient = ?1 AND seq > ?2 AND received_at_ms >= ?3 ORDER BY seq LIMIT ?4",
    )?;
    let rows = stmt.query_map(
        params![recipient.as_bytes().as_slice(), after.0, not_before, limit],
        |r| {
            let id: Vec<u8> = r.get(2)?;
            let id = EnvelopeId::from_slice(&id).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Blob,
                    "envelope id is not 16 bytes".into(),
                )
            })?;
            Ok(Arc::new(StoredEnvelope {
                seq: Seq(r.get(0)?),
                recipient,
                sender: identity_column(r.get(1)?)?,
                id,
                content: Bytes::from(r.get::<_, Vec<u8>>(3)?),
                received_at_ms: r.get(4)?,
            }))
        },
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn one_time_count(tx: &Transaction<'_>, identity: Identity) -> Result<u32, StorageError> {
    let n: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM one_time_prekeys WHERE identity = ?1")?
        .query_row([identity.as_bytes().as_slice()], |r| r.get(0))?;
    Ok(count_u32(n))
}

fn mailbox_state(
    tx: &Transaction<'_>,
    identity: Identity,
    not_before: i64,
) -> Result<MailboxState, StorageError> {
    let (queued, last): (i64, i64) = tx
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM envelopes
             WHERE recipient = ?1 AND received_at_ms >= ?2",
        )?
        .query_row(params![identity.as_bytes().as_slice(), not_before], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok(MailboxState {
        queued: count_u32(queued),
        last: Seq(last),
        one_time_prekeys: one_time_count(tx, identity)?,
    })
}

fn register_handle(
    tx: &mut Transaction<'_>,
    identity: Identity,
    handle: &Handle,
) -> Result<RegisterOutcome, StorageError> {
    let owner: Option<Vec<u8>> = tx
        .prepare_cached("SELECT identity FROM handles WHERE handle = ?1")?
        .query_row([handle.as_str()], |r| r.get(0))
        .optional()?;
    match owner {
        Some(owner) if owner.as_slice() == identity.as_bytes().as_slice() => {
            return Ok(RegisterOutcome::Registered);
        }
        Some(_) => return Ok(RegisterOutcome::Taken),
        None => {}
    }
    let sp = tx.savepoint()?;
    sp.execute(
        "DELETE FROM handles WHERE identity = ?1",
        [identity.as_bytes().as_slice()],
    )?;
    sp.execute(
        "INSERT INTO handles (handle, identity, registered_at_ms) VALUES (?1, ?2, ?3)",
        params![handle.as_str(), identity.as_bytes().as_slice(), now_ms()],
    )?;
    sp.commit()?;
    Ok(RegisterOutcome::Registered)
}

fn lookup_handle(tx: &Transaction<'_>, handle: &Handle) -> Result<Option<Identity>, StorageError> {
    let owner: Option<Vec<u8>> = tx
        .prepare_cached("SELECT identity FROM handles WHERE handle = ?1")?
        .query_row([handle.as_str()], |r| r.get(0))
        .optional()?;
    Ok(owner.map(identity_column).transpose()?)
}

fn upload_prekeys(
    tx: &mut Transaction<'_>,
    identity: Identity,
    signed: Option<SignedPrekey>,
    one_time: &[OneTimePrekey],
    max_one_time: u32,
) -> Result<UploadOutcome, StorageError> {
    let owner = identity.as_bytes().as_slice();
    let mut sp = tx.savepoint()?;
    {
        if let Some(s) = signed {
            sp.execute(
                "INSERT INTO signed_prekeys (identity, id, public_key, signature, uploaded_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (identity) DO UPDATE SET id = excluded.id,
                   public_key = excluded.public_key, signature = excluded.signature,
                   uploaded_at_ms = excluded.uploaded_at_ms",
                params![
                    owner,
                    s.id,
                    s.public_key.as_slice(),
                    s.signature.as_slice(),
                    now_ms()
                ],
            )?;
        }
        let mut insert = sp.prepare_cached(
            "INSERT INTO one_time_prekeys (identity, id, public_key) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?;
        for k in one_time {
            insert.execute(params![owner, k.id, k.public_key.as_slice()])?;
        }
    }
    let n: i64 = sp.query_row(
        "SELECT COUNT(*) FROM one_time_prekeys WHERE identity = ?1",
        [owner],
        |r| r.get(0),
    )?;
    let held = count_u32(n);
    if held > max_one_time {
        sp.rollback()?;
        return Ok(UploadOutcome::TooMany);
    }
    sp.commit()?;
    Ok(UploadOutcome::Stored {
        one_time_prekeys: held,
    })
}

fn fetch_bundle(tx: &Transaction<'_>, identity: Identity) -> Result<Option<Bundle>, StorageError> {
    let owner = identity.as_bytes().as_slice();
    let signed = tx
        .prepare_cached("SELECT id, public_key, signature FROM signed_prekeys WHERE identity = ?1")?
        .query_row([owner], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .optional()?;
    let Some((id, public_key, signature)) = signed else {
        return Ok(None);
    };
    let (Ok(public_key), Ok(signature)) = (public_key.try_into(), signature.try_into()) else {
        return Ok(None);
    };
    let signed = SignedPrekey {
        id,
        public_key,
        signature,
    };
    let one_time = tx
        .prepare_cached(
            "DELETE FROM one_time_prekeys WHERE identity = ?1 AND id =
               (SELECT id FROM one_time_prekeys WHERE identity = ?1 ORDER BY id LIMIT 1)
             RETURNING id, public_key",
        )?
        .query_row([owner], |r| {
            Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .optional()?
        .and_then(|(id, key)| {
            Some(OneTimePrekey {
                id,
                public_key: key.try_into().ok()?,
            })
        });
    Ok(Some(Bundle {
        signed,
        one_time,
        remaining: one_time_count(tx, identity)?,
    }))
}

#[cfg(test)]
mod tests;
