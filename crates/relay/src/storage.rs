//! What the relay keeps: handles, prekeys and mailboxes, behind the [`Storage`] trait. SQLite
//! ([`SqliteStorage`]) is the embedded default; a PostgreSQL backend can implement the same trait.

mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

use crate::handle::Handle;
use crate::identity::{EnvelopeId, Identity};

pub use sqlite::SqliteStorage;

/// A storage operation in progress; it owns everything it needs.
pub type StorageFuture<T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'static>>;

/// A mailbox's order: increasing with every stored envelope, never reused.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Seq(pub i64);

/// A signed prekey as uploaded (the relay does not check the signature: clients do).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedPrekey {
    /// The owner's id for it.
    pub id: u32,
    /// X25519 public key.
    pub public_key: [u8; 32],
    /// Ed25519 signature by the owner.
    pub signature: [u8; 64],
}

/// A one-time prekey as uploaded.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OneTimePrekey {
    /// The owner's id for it.
    pub id: u32,
    /// X25519 public key.
    pub public_key: [u8; 32],
}

/// A bundle handed out by a fetch.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Bundle {
    /// The signed prekey.
    pub signed: SignedPrekey,
    /// One one-time prekey, now deleted from the relay; `None` when none were left.
    pub one_time: Option<OneTimePrekey>,
    /// One-time prekeys left after this fetch.
    pub remaining: u32,
}

/// An envelope to store.
#[derive(Clone, Debug)]
pub struct NewEnvelope {
    /// Whose mailbox.
    pub recipient: Identity,
    /// The authenticated sender.
    pub sender: Identity,
    /// The sender's id.
    pub id: EnvelopeId,
    /// Opaque ciphertext.
    pub content: Bytes,
    /// When the relay received it (Unix ms).
    pub received_at_ms: i64,
}

/// An envelope in a mailbox.
#[derive(Clone, Debug)]
pub struct StoredEnvelope {
    /// Its place in the mailbox order.
    pub seq: Seq,
    /// Whose mailbox.
    pub recipient: Identity,
    /// The authenticated sender.
    pub sender: Identity,
    /// The sender's id.
    pub id: EnvelopeId,
    /// Opaque ciphertext.
    pub content: Bytes,
    /// When the relay stored it (Unix ms).
    pub received_at_ms: i64,
}

/// What happened to a stored envelope.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StoreOutcome {
    /// Stored durably for the first time.
    Stored,
    /// Already stored (a retry): nothing new.
    Duplicate,
    /// The recipient's mailbox is full.
    QueueFull,
}

/// A mailbox as seen at authentication.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MailboxState {
    /// Envelopes waiting.
    pub queued: u32,
    /// The newest waiting envelope's place (`Seq(0)` when empty).
    pub last: Seq,
    /// One-time prekeys the relay holds for the identity.
    pub one_time_prekeys: u32,
}

/// What happened to a handle registration.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RegisterOutcome {
    /// The handle is now (or already was) the identity's.
    Registered,
    /// Another identity owns it.
    Taken,
}

/// What happened to a prekey upload.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum UploadOutcome {
    /// Stored; the identity now holds this many one-time prekeys.
    Stored {
        /// One-time prekeys held.
        one_time_prekeys: u32,
    },
    /// It would hold more one-time prekeys than allowed; nothing was stored.
    TooMany,
}

/// Told about every envelope once it is durably stored, in storage order, so that connected
/// recipients get it pushed.
pub trait StoredListener: Send + Sync + 'static {
    /// Called after the commit that stored `envelope`.
    fn stored(&self, envelope: &Arc<StoredEnvelope>);
}

/// The relay's persistent state.
pub trait Storage: Send + Sync + 'static {
    /// Stores an envelope unless `(recipient, sender, id)` is already stored or the mailbox holds
    /// `max_queue` envelopes; durable (fsync'd) when the future completes.
    fn store_envelope(&self, envelope: NewEnvelope, max_queue: u32) -> StorageFuture<StoreOutcome>;
    /// Deletes the recipient's named envelopes; returns how many existed.
    fn ack(&self, recipient: Identity, keys: Vec<(Identity, EnvelopeId)>) -> StorageFuture<u64>;
    /// The recipient's envelopes after `after`, oldest first, at most `limit`, not expired.
    fn pending(
        &self,
        recipient: Identity,
        after: Seq,
        limit: u32,
        not_before_ms: i64,
    ) -> StorageFuture<Vec<Arc<StoredEnvelope>>>;
    /// The identity's mailbox and prekey counts, as of now.
    fn mailbox_state(&self, identity: Identity, not_before_ms: i64) -> StorageFuture<MailboxState>;
    /// Deletes envelopes received before `before_ms`; returns how many.
    fn expire(&self, before_ms: i64) -> StorageFuture<u64>;
    /// Binds `handle` to `identity` (replacing the identity's previous handle).
    fn register_handle(&self, identity: Identity, handle: Handle)
    -> StorageFuture<RegisterOutcome>;
    /// The identity owning `handle`.
    fn lookup_handle(&self, handle: Handle) -> StorageFuture<Option<Identity>>;
    /// Replaces the signed prekey (if given) and adds one-time prekeys (known ids are ignored).
    fn upload_prekeys(
        &self,
        identity: Identity,
        signed: Option<SignedPrekey>,
        one_time: Vec<OneTimePrekey>,
        max_one_time: u32,
    ) -> StorageFuture<UploadOutcome>;
    /// The identity's bundle, taking one one-time prekey (at most once, atomically).
    fn fetch_bundle(&self, identity: Identity) -> StorageFuture<Option<Bundle>>;
    /// Envelopes held in all mailboxes.
    fn queued_total(&self) -> u64;
    /// Finishes every queued operation and stops; later operations fail with `Closed`.
    fn close(&self) -> StorageFuture<()>;
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be migrated.
    #[error("database migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The storage was closed (the relay is shutting down).
    #[error("storage closed")]
    Closed,
    /// The transaction holding the operation failed to commit.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The writer thread could not be started.
    #[error("cannot start the database writer: {0}")]
    Thread(std::io::Error),
}
