//! The app's state: the data folder's accounts, opened on first use so that a locked or busy
//! folder becomes an error the window can show rather than a crash.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use missiva_core::account::Account;
use missiva_core::accounts::{Accounts, AccountsError, OpenOptions};
use missiva_core::events::EventBus;
use missiva_core::ids::{AccountId, ChatId};
use missiva_core::keystore::KeystoreKind;
use missiva_core::secret::Passcode;

use crate::error::{ErrorCode, IpcError};
use crate::notifications::Notifier;
use crate::options::AppOptions;

/// Shared by every command.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    dir: Result<PathBuf, IpcError>,
    keystore: KeystoreKind,
    default_relay: Option<String>,
    events: EventBus,
    accounts: Mutex<Option<Accounts>>,
    visible_chat: Mutex<Option<(AccountId, ChatId)>>,
    notifier: Arc<Notifier>,
    /// The cancel flag of the import running in each account (one at a time per account).
    imports: Mutex<HashMap<AccountId, Arc<AtomicBool>>>,
}

impl AppState {
    /// State for the data folder the options name; nothing is opened yet.
    pub fn new(options: AppOptions) -> Self {
        let notifier = if options.no_notifications {
            Notifier::off()
        } else {
            Notifier::desktop()
        };
        Self::with_notifier(options, notifier)
    }

    /// State whose notices go to `notifier` (tests pass a recording one).
    pub fn with_notifier(options: AppOptions, notifier: Notifier) -> Self {
        let default_relay = options.default_relay();
        let dir = match options.data_dir {
            Some(d) => Ok(d),
            None => Accounts::default_dir().map_err(IpcError::from),
        };
        AppState {
            inner: Arc::new(Inner {
                dir,
                keystore: options.keystore,
                default_relay,
                events: EventBus::default(),
                accounts: Mutex::new(None),
                visible_chat: Mutex::new(None),
                imports: Mutex::new(HashMap::new()),
                notifier: Arc::new(notifier),
            }),
        }
    }

    /// The relay the new-account dialog proposes (`--relay` / `MISSIVA_RELAY`).
    pub fn default_relay(&self) -> Option<&str> {
        self.inner.default_relay.as_deref()
    }

    /// The chat on screen, as the UI last said.
    pub fn visible_chat(&self) -> Option<(AccountId, ChatId)> {
        self.inner.visible_chat.lock().ok().and_then(|v| *v)
    }

    /// Records the chat on screen (`None`: no chat, or another view).
    pub fn set_visible_chat(&self, account: AccountId, chat: Option<ChatId>) {
        if let Ok(mut v) = self.inner.visible_chat.lock() {
            *v = chat.map(|c| (account, c));
        }
    }

    /// Registers the import starting in `account`; refused while another one runs there.
    pub fn begin_import(
        &self,
        account: AccountId,
        cancel: Arc<AtomicBool>,
    ) -> Result<(), IpcError> {
        let mut imports = self
            .inner
            .imports
            .lock()
            .map_err(|_| IpcError::new(ErrorCode::Internal, "the import state is unusable"))?;
        if imports.contains_key(&account) {
            return Err(IpcError::new(
                ErrorCode::InvalidInput,
                "an import is already running in this account; wait for it or cancel it",
            ));
        }
        imports.insert(account, cancel);
        Ok(())
    }

    /// Forgets the import of `account` (it finished, failed or was cancelled).
    pub fn end_import(&self, account: AccountId) {
        if let Ok(mut imports) = self.inner.imports.lock() {
            imports.remove(&account);
        }
    }

    /// Asks the import running in `account`, if any, to stop at its next batch.
    pub fn cancel_import(&self, account: AccountId) {
        if let Ok(imports) = self.inner.imports.lock()
            && let Some(cancel) = imports.get(&account)
        {
            cancel.store(true, Ordering::Relaxed);
        }
    }

    /// The notifications shown, one per chat.
    pub fn notifier(&self) -> &Arc<Notifier> {
        &self.inner.notifier
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

    /// The open account `id` (a cheap handle), opening the accounts first if needed.
    pub async fn account(&self, id: AccountId) -> Result<Account, IpcError> {
        self.with_accounts(move |a| a.account(id)).await
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
        let mut accounts = Accounts::open(&dir, options)?;
        // Every account connects to its relay now; accounts created later start on creation.
        accounts.start_sync()?;
        Ok(accounts)
    }
}

/// Runs `f` on a thread that may wait for the disk.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, IpcError> + Send + 'static,
) -> Result<T, IpcError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| IpcError::new(ErrorCode::Internal, format!("background task failed: {e}")))?
}
