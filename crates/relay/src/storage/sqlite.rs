//! The SQLite backend. One dedicated writer thread owns the connection and does every operation,
//! in group commits: it takes all queued operations, runs them in one transaction, commits once
//! (synchronous=FULL, so the commit is durable) and only then answers each waiter. One fsync is
//! shared by hundreds of sends instead of one fsync per send.

mod queries;
mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};
use tokio::sync::{mpsc, oneshot};

use super::{
    Bundle, MailboxState, NewEnvelope, OneTimePrekey, RegisterOutcome, Seq, SignedPrekey, Storage,
    StorageError, StorageFuture, StoreOutcome, StoredEnvelope, StoredListener, UploadOutcome,
};
use crate::handle::Handle;
use crate::identity::{EnvelopeId, Identity};
use writer::Writer;

/// Operations queued for the writer, at most (senders wait beyond: backpressure).
const QUEUE: usize = 16_384;
/// Operations in one transaction, at most.
const MAX_BATCH: usize = 4_096;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/001_initial.sql")),
        M::up(include_str!("migrations/002_identity_ids.sql")),
    ])
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
        // The writer thread is the database's only user: an exclusive lock taken once (before
        // WAL mode, so no shared-memory index either) saves the per-transaction file locking and
        // wal-index reads (about ten fcntl/pread system calls per commit). The WAL file is cut
        // back to 16 MiB when it restarts after a checkpoint.
        conn.execute_batch(
            "PRAGMA locking_mode = EXCLUSIVE;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA secure_delete = ON;
             PRAGMA cache_size = -32768;
             PRAGMA journal_size_limit = 16777216;
             PRAGMA busy_timeout = 5000;",
        )?;
        migrations().to_latest(&mut conn)?;
        // Checkpoints are the writer's to schedule (see `Writer::checkpoint_if_due`); this also
        // replaces SQLite's own every-1000-pages checkpoint inside the commit.
        conn.wal_hook(Some(writer::count_wal_pages));
        let total: i64 = conn.query_row("SELECT COUNT(*) FROM envelopes", [], |r| r.get(0))?;
        let queued = Arc::new(AtomicU64::new(u64::try_from(total).unwrap_or(0)));
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = Writer {
            conn,
            counts: HashMap::new(),
            ids: queries::IdCache::default(),
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

#[cfg(test)]
mod tests;
