//! The app's state: the data folder's accounts, opened on first use so that a locked or busy
//! folder becomes an error the window can show rather than a crash.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use missiva_core::accounts::{Accounts, AccountsError, OpenOptions};
use missiva_core::events::EventBus;
use missiva_core::keystore::KeystoreKind;
use missiva_core::secret::Passcode;

use crate::error::{ErrorCode, IpcError};
use crate::options::AppOptions;

/// Shared by every command.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    dir: Result<PathBuf, IpcError>,
    keystore: KeystoreKind,
    events: EventBus,
    accounts: Mutex<Option<Accounts>>,
}

impl AppState {
    /// State for the data folder the options name; nothing is opened yet.
    pub fn new(options: AppOptions) -> Self {
        let dir = match options.data_dir {
            Some(d) => Ok(d),
            None => Accounts::default_dir().map_err(IpcError::from),
        };
        AppState {
            inner: Arc::new(Inner {
                dir,
                keystore: options.keystore,
                events: EventBus::default(),
                accounts: Mutex::new(None),
            }),
        }
    }

    /// The data folder, for display.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.inner.dir.as_ref().ok().map(PathBuf::as_path)
    }

    /// The keystore new accounts use.
    pub fn keystore(&self) -> KeystoreKind {
        self.inner.keystore
    }

    /// The bus all accounts emit on; it exists before the accounts are opened.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// Runs `f` on the accounts off the async runtime, opening them first if needed.
    pub async fn with_accounts<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Accounts) -> Result<T, AccountsError> + Send + 'static,
    ) -> Result<T, IpcError> {
        let inner = self.inner.clone();
        blocking(move || {
            let mut slot = inner.lock()?;
            if slot.is_none() {
                *slot = Some(inner.open(None)?);
            }
            match slot.as_mut() {
                Some(accounts) => Ok(f(accounts)?),
                None => Err(IpcError::new(ErrorCode::Internal, "accounts not open")),
            }
        })
        .await
    }

    /// Opens the accounts with the passcode the user typed.
    pub async fn unlock(&self, passcode: String) -> Result<(), IpcError> {
        let inner = self.inner.clone();
        blocking(move || {
            let mut slot = inner.lock()?;
            if slot.is_none() {
                *slot = Some(inner.open(Some(Passcode::new(passcode)))?);
            }
            Ok(())
        })
        .await
    }
}

impl AppState {
    /// Closes every account database and releases the data folder's lock (at exit).
    pub fn close(&self) {
        if let Ok(mut slot) = self.inner.accounts.lock() {
            *slot = None;
        }
    }
}

impl Inner {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Option<Accounts>>, IpcError> {
        self.accounts
            .lock()
            .map_err(|_| IpcError::new(ErrorCode::Internal, "the account state is unusable"))
    }

    fn open(&self, passcode: Option<Passcode>) -> Result<Accounts, IpcError> {
        let dir = self.dir.clone()?;
        let options = OpenOptions {
            keystore: self.keystore,
            passcode,
            events: self.events.clone(),
        };
        Ok(Accounts::open(&dir, options)?)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, IpcError> + Send + 'static,
) -> Result<T, IpcError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| IpcError::new(ErrorCode::Internal, format!("background task failed: {e}")))?
}
