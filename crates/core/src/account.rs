//! One account: an identity with its own encrypted database. A cheap clonable handle.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::AccountId;
use crate::keystore::KeystoreKind;
use crate::store::Store;

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
    /// Where its database key is kept.
    #[ts(type = "\"os\" | \"file\"")]
    pub keystore: KeystoreKind,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// Whether it is the account shown.
    pub selected: bool,
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
}

impl Account {
    pub(crate) fn new(id: AccountId, store: Store) -> Self {
        Account {
            inner: Arc::new(Inner { id, store }),
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
}
