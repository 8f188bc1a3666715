//! One account: an identity with its own encrypted database. A cheap clonable handle; the
//! messaging API (contacts, chats, messages, sync) is implemented on it in those modules.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::events::{EventBus, EventKind};
use crate::ids::AccountId;
use crate::keystore::KeystoreKind;
use crate::store::{Store, StoreError};
use crate::sync::SyncLink;

/// What the UI and the CLI show about an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AccountInfo {
    /// Stable id within the data directory.
    pub id: AccountId,
    /// The name the user chose.
    pub name: String,
    /// The relay this account talks to, if configured.
    pub relay: Option<String>,
    /// Its handle on the relay (without '@'), if registered.
    pub handle: Option<String>,
    /// Where its database key is kept.
    #[ts(type = "\"os\" | \"file\"")]
    pub keystore: KeystoreKind,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// Whether it is the account shown.
    pub selected: bool,
    /// Unread messages in all its chats (0 for an account whose database is not open yet).
    pub unread: u32,
}

/// An open account. Cloning shares the same database connection.
#[derive(Debug, Clone)]
pub struct Account {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: AccountId,
    store: Store,
    events: EventBus,
    relay: Option<String>,
    sync: Mutex<Option<SyncLink>>,
}

impl Account {
    pub(crate) fn new(
        id: AccountId,
        store: Store,
        events: EventBus,
        relay: Option<String>,
    ) -> Self {
        Account {
            inner: Arc::new(Inner {
                id,
                store,
                events,
                relay,
                sync: Mutex::new(None),
            }),
        }
    }

    /// The account's id.
    pub fn id(&self) -> AccountId {
        self.inner.id
    }

    /// The account's encrypted database.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The relay this account talks to, if configured.
    pub fn relay(&self) -> Option<&str> {
        self.inner.relay.as_deref()
    }

    /// Emits `kind` about this account.
    pub(crate) fn emit(&self, kind: EventKind) {
        self.inner.events.emit(Some(self.inner.id), kind);
    }

    /// The running sync task's link, if any.
    pub(crate) fn sync_link(&self) -> Option<SyncLink> {
        self.inner
            .sync
            .lock()
            .ok()
            .and_then(|l| l.as_ref().filter(|l| l.is_alive()).cloned())
    }

    pub(crate) fn set_sync_link(&self, link: Option<SyncLink>) {
        if let Ok(mut slot) = self.inner.sync.lock() {
            *slot = link;
        }
    }

    /// Runs `f` on the database on a blocking thread, never on the async runtime.
    pub(crate) async fn db<T, E>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let account = self.clone();
        tokio::task::spawn_blocking(move || f(account.store()))
            .await
            .map_err(|_| E::from(StoreError::TaskFailed))?
    }
}
