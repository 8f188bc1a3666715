//! The accounts of one data directory: `accounts.toml`, the lock that keeps a second process
//! out, one folder and one encrypted database per account, and the shared event bus.

use std::collections::BTreeMap;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use rand::Rng as _;

use crate::account::{Account, AccountInfo};
use crate::atomic_file;
use crate::chats;
use crate::events::{EventBus, EventKind};
use crate::ids::AccountId;
use crate::keystore::{Keystore, KeystoreError, KeystoreKind};
use crate::passcode::{PasscodeConfig, PasscodeError, Wrapper};
use crate::secret::{DbKey, Passcode};
use crate::store::{Store, StoreError};
use crate::sync::{self, SyncError, SyncTask};

mod config;
mod setup;

use config::{Config, Entry, ReadError};
pub use setup::{AccountSetup, PreparedAccount};

/// The file listing the accounts.
pub const ACCOUNTS_FILE: &str = "accounts.toml";
/// The lock file held while a process uses the data directory.
pub const LOCK_FILE: &str = "missiva.lock";
/// Each account's database file inside its folder.
pub const DATABASE_FILE: &str = "missiva.db";
/// The longest account name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Errors of the account set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountsError {
    /// Another process holds the data directory.
    #[error("Missiva is already running with the data folder {dir}; close it first")]
    AlreadyRunning {
        /// The data directory.
        dir: PathBuf,
    },
    /// No platform data directory could be found (no home directory).
    #[error("cannot find a data folder: set --data-dir or MISSIVA_DATA_DIR")]
    NoDataDir,
    /// A file or folder could not be read or written.
    #[error("cannot use {path}: {source}")]
    Io {
        /// What was being accessed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// accounts.toml cannot be understood; it is left as it is.
    #[error("{path} is damaged and was left untouched: {reason}")]
    DamagedConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No account has this id.
    #[error("there is no account {id}")]
    NotFound {
        /// The id asked for.
        id: AccountId,
    },
    /// The name is empty, too long or has control characters.
    #[error("invalid account name: {reason}")]
    InvalidName {
        /// Why.
        reason: String,
    },
    /// The relay address is not a ws:// or wss:// URL.
    #[error("invalid relay address \"{url}\": it must start with ws:// or wss://")]
    InvalidRelay {
        /// What was given.
        url: String,
    },
    /// The keystore has no key for the account; the database is left as it is.
    #[error(
        "the key of account \"{account}\" is missing from the {keystore} keystore; its \
         database was left untouched"
    )]
    KeyMissing {
        /// The account's name.
        account: String,
        /// Where the key was looked for.
        keystore: KeystoreKind,
    },
    /// The stored key has the wrong length.
    #[error("the key of account \"{account}\" in the keystore is damaged")]
    KeyDamaged {
        /// The account's name.
        account: String,
    },
    /// The keystore failed.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The account's database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The passcode layer failed.
    #[error(transparent)]
    Passcode(#[from] PasscodeError),
    /// The handle is not one the relay accepts.
    #[error("\"{handle}\" is not a valid handle (3-32 of a-z, 0-9, _ and .)")]
    InvalidHandle {
        /// What was given.
        handle: String,
    },
    /// A handle needs a relay to be registered on.
    #[error("a handle needs a relay: give both")]
    HandleWithoutRelay,
    /// Someone else registered this handle on the relay; no account was created.
    #[error("the handle @{handle} is taken on this relay; choose another (no account was created)")]
    HandleTaken {
        /// The handle.
        handle: String,
    },
    /// Registering with the relay failed; no account was created.
    #[error("could not register with the relay (no account was created): {0}")]
    Registration(SyncError),
    /// Sync needs a tokio runtime.
    #[error("start_sync must be called inside a tokio runtime")]
    NoRuntime,
}

/// How to open a data directory.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The keystore for accounts created from now on.
    pub keystore: KeystoreKind,
    /// The app passcode, needed when the data directory has one.
    pub passcode: Option<Passcode>,
    /// The bus to emit events on (a new one by default); lets a UI subscribe before opening.
    pub events: EventBus,
}

/// The set of accounts of one data directory, held exclusively by this process.
#[derive(Debug)]
pub struct Accounts {
    dir: PathBuf,
    config: Config,
    open: BTreeMap<AccountId, Account>,
    events: EventBus,
    new_keystore: KeystoreKind,
    wrapper: Option<Wrapper>,
    runtime: Option<tokio::runtime::Handle>,
    tasks: BTreeMap<AccountId, SyncTask>,
    _lock: File,
}

impl Accounts {
    /// The platform data directory (`~/.local/share/missiva` on Linux).
    pub fn default_dir() -> Result<PathBuf, AccountsError> {
        directories::ProjectDirs::from("app", "Missiva", "Missiva")
            .map(|d| d.data_dir().to_owned())
            .ok_or(AccountsError::NoDataDir)
    }

    /// Opens (creating if needed) the data directory `dir` and takes its lock.
    pub fn open(dir: &Path, options: OpenOptions) -> Result<Self, AccountsError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| AccountsError::Io { path, source }
        };
        atomic_file::create_private_dir(dir).map_err(io(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(AccountsError::AlreadyRunning {
                    dir: dir.to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }

        let path = dir.join(ACCOUNTS_FILE);
        // A temp file left by a crash mid-write is garbage: the rename never happened.
        let _ = std::fs::remove_file(atomic_file::temp_path(&path));
        let config = Config::read(&path).map_err(|e| match e {
            ReadError::Io(source) => AccountsError::Io {
                path: path.clone(),
                source,
            },
            ReadError::Damaged(reason) => AccountsError::DamagedConfig {
                path: path.clone(),
                reason,
            },
        })?;
        if options.keystore == KeystoreKind::File {
            tracing::warn!(
                dir = %dir.display(),
                "file keystore chosen: database keys are protected only by file permissions"
            );
        }
        let wrapper = match (&config.passcode, &options.passcode) {
            (None, _) => None,
            (Some(_), None) => return Err(PasscodeError::Required.into()),
            (Some(pc), Some(given)) => Some(pc.unlock(given)?),
        };
        Ok(Accounts {
            dir: dir.to_owned(),
            config,
            open: BTreeMap::new(),
            events: options.events,
            new_keystore: options.keystore,
            wrapper,
            runtime: None,
            tasks: BTreeMap::new(),
            _lock: lock,
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The event bus shared by all accounts.
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// Whether the data directory is protected by a passcode.
    pub fn has_passcode(&self) -> bool {
        self.config.passcode.is_some()
    }

    /// Every account, in creation order.
    pub fn list(&self) -> Vec<AccountInfo> {
        self.config.accounts.iter().map(|e| self.info(e)).collect()
    }

    /// The account shown, if any.
    pub fn selected(&self) -> Option<AccountId> {
        self.config.selected
    }

    /// The account `id`'s description.
    pub fn info_of(&self, id: AccountId) -> Result<AccountInfo, AccountsError> {
        Ok(self.info(self.entry(id)?))
    }

    fn info(&self, e: &Entry) -> AccountInfo {
        AccountInfo {
            id: e.id,
            name: e.name.clone(),
            relay: e.relay.clone(),
            handle: e.handle.clone(),
            keystore: e.keystore,
            created_at: e.created_at.clone(),
            selected: self.config.selected == Some(e.id),
            unread: self
                .open
                .get(&e.id)
                .and_then(|a| a.store().read(chats::total_unread).ok())
                .unwrap_or(0),
        }
    }

    fn entry(&self, id: AccountId) -> Result<&Entry, AccountsError> {
        self.config.entry(id).ok_or(AccountsError::NotFound { id })
    }

    /// The open account `id`, opening its database with its key on first use.
    pub fn account(&mut self, id: AccountId) -> Result<Account, AccountsError> {
        if let Some(a) = self.open.get(&id) {
            return Ok(a.clone());
        }
        let entry = self.entry(id)?.clone();
        let key = self.load_key(&entry)?;
        let store = Store::open(&self.database_path(&entry), &key, &entry.name)?;
        if crate::identity::ensure(&store)? {
            tracing::info!(account = %id, "identity keys generated for an older account");
        }
        let account = Account::new(id, store, self.events.clone(), entry.relay.clone());
        self.open.insert(id, account.clone());
        self.start_task(&account);
        Ok(account)
    }

    /// Starts the sync task of every account (each connects to its relay at once, whichever
    /// is selected) and of every account created from now on. Must be called inside a tokio
    /// runtime. An account whose database cannot be opened is skipped with a warning.
    pub fn start_sync(&mut self) -> Result<(), AccountsError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| AccountsError::NoRuntime)?;
        self.runtime = Some(runtime);
        let ids: Vec<AccountId> = self.config.accounts.iter().map(|e| e.id).collect();
        for id in ids {
            match self.account(id) {
                Ok(account) => self.start_task(&account),
                Err(e) => tracing::warn!(account = %id, error = %e, "cannot start sync"),
            }
        }
        Ok(())
    }

    fn start_task(&mut self, account: &Account) {
        if let Some(runtime) = &self.runtime
            && !self.tasks.contains_key(&account.id())
        {
            self.tasks
                .insert(account.id(), sync::spawn(account, runtime));
        }
    }

    fn database_path(&self, entry: &Entry) -> PathBuf {
        self.dir.join(&entry.folder).join(DATABASE_FILE)
    }

    fn keystore(&self, kind: KeystoreKind) -> Keystore {
        Keystore::new(kind, &self.dir)
    }

    fn load_key(&self, entry: &Entry) -> Result<DbKey, AccountsError> {
        let name = entry.key_name(self.config.key_generation);
        let stored = self.keystore(entry.keystore).load(&name)?.ok_or_else(|| {
            AccountsError::KeyMissing {
                account: entry.name.clone(),
                keystore: entry.keystore,
            }
        })?;
        let raw = match &self.wrapper {
            Some(w) => w.unwrap_secret(&name, &stored)?,
            None => stored,
        };
        DbKey::from_slice(&raw).ok_or_else(|| AccountsError::KeyDamaged {
            account: entry.name.clone(),
        })
    }

    fn store_key(
        &self,
        kind: KeystoreKind,
        name: &str,
        key: &DbKey,
        wrapper: Option<&Wrapper>,
    ) -> Result<(), AccountsError> {
        let ks = self.keystore(kind);
        match wrapper {
            Some(w) => ks.save(name, &w.wrap(name, key.as_bytes()))?,
            None => ks.save(name, key.as_bytes())?,
        }
        Ok(())
    }

    fn save_config(&self, config: &Config) -> Result<(), AccountsError> {
        let path = self.dir.join(ACCOUNTS_FILE);
        config
            .write(&path)
            .map_err(|source| AccountsError::Io { path, source })
    }

    /// Creates an account with its own key, identity and encrypted database, and selects it
    /// if it is the first. With a relay and a handle it registers them first (see
    /// [`AccountSetup::prepare`]); a taken handle is [`AccountsError::HandleTaken`] and leaves
    /// no account behind. The local half blocks briefly on disk.
    pub async fn create(&mut self, setup: AccountSetup) -> Result<AccountInfo, AccountsError> {
        // The key goes into the keystore before the handle is claimed: a keystore that cannot
        // take it must fail the creation while the handle is still free (a handle claimed by
        // keys that were then thrown away could never be used again).
        let reserved = self.reserve_key()?;
        match setup.prepare().await {
            Ok(prepared) => self.finish_create(reserved, prepared),
            Err(e) => {
                let _ = self.keystore(reserved.kind).delete(&reserved.key_name);
                Err(e)
            }
        }
    }

    /// A new account's folder name and database key, the key already in the keystore.
    fn reserve_key(&self) -> Result<ReservedKey, AccountsError> {
        let folder = new_folder_name();
        let kind = self.new_keystore;
        let key = DbKey::random();
        let key_name = config::key_name(&folder, self.config.key_generation);
        self.store_key(kind, &key_name, &key, self.wrapper.as_ref())?;
        Ok(ReservedKey {
            folder,
            kind,
            key,
            key_name,
        })
    }

    /// Creates an account without the network (no handle): for tests and local-only use.
    pub fn create_local(
        &mut self,
        name: &str,
        relay: Option<&str>,
    ) -> Result<AccountInfo, AccountsError> {
        let setup = AccountSetup {
            name: name.to_owned(),
            relay: relay.map(str::to_owned),
            handle: None,
        };
        self.create_prepared(setup.prepare_offline()?)
    }

    /// The local half of [`Accounts::create`]: writes the prepared account's key, database,
    /// identity and prekeys, then lists it. Blocking (disk and keystore).
    pub fn create_prepared(
        &mut self,
        prepared: PreparedAccount,
    ) -> Result<AccountInfo, AccountsError> {
        let reserved = self.reserve_key()?;
        self.finish_create(reserved, prepared)
    }

    /// Writes the database, identity and prekeys of a prepared account whose key is in the
    /// keystore, then lists it; on failure removes the key and the folder again.
    fn finish_create(
        &mut self,
        reserved: ReservedKey,
        prepared: PreparedAccount,
    ) -> Result<AccountInfo, AccountsError> {
        let ReservedKey {
            folder,
            kind,
            key,
            key_name,
        } = reserved;
        let PreparedAccount {
            name,
            relay,
            handle,
            keys,
            uploaded,
        } = prepared;
        let id = AccountId(self.config.next_id);
        let folder_path = self.dir.join(&folder);
        let entry = Entry {
            id,
            name: name.clone(),
            relay: relay.clone(),
            handle: handle.clone(),
            folder: folder.clone(),
            keystore: kind,
            created_at: now_rfc3339(),
        };
        let made = (|| {
            atomic_file::create_private_dir(&folder_path).map_err(|source| AccountsError::Io {
                path: folder_path.clone(),
                source,
            })?;
            let store = Store::create(&folder_path.join(DATABASE_FILE), &key, &name)?;
            store.write(|tx| keys.insert(tx, handle.as_deref(), uploaded))?;
            let mut config = self.config.clone();
            config.next_id = id.0.saturating_add(1);
            config.accounts.push(entry);
            if config.selected.is_none() {
                config.selected = Some(id);
            }
            self.save_config(&config)?;
            Ok::<_, AccountsError>((store, config))
        })();
        let (store, config) = match made {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&folder_path);
                let _ = self.keystore(kind).delete(&key_name);
                return Err(e);
            }
        };
        let selected_changed = config.selected == Some(id);
        self.config = config;
        let account = Account::new(id, store, self.events.clone(), relay);
        self.open.insert(id, account.clone());
        self.start_task(&account);
        tracing::info!(account = %id, "account created");
        self.events.emit(Some(id), EventKind::AccountCreated);
        if selected_changed {
            self.events.emit(Some(id), EventKind::AccountSelected);
        }
        self.info_of(id)
    }

    /// Renames account `id`.
    pub fn rename(&mut self, id: AccountId, name: &str) -> Result<AccountInfo, AccountsError> {
        let name = validate_name(name)?;
        let mut config = self.config.clone();
        config
            .entry_mut(id)
            .ok_or(AccountsError::NotFound { id })?
            .name = name;
        self.save_config(&config)?;
        self.config = config;
        self.events.emit(Some(id), EventKind::AccountRenamed);
        self.info_of(id)
    }

    /// Makes `id` the account shown, checking that its database opens.
    pub fn select(&mut self, id: AccountId) -> Result<(), AccountsError> {
        self.account(id)?;
        if self.config.selected == Some(id) {
            return Ok(());
        }
        let mut config = self.config.clone();
        config.selected = Some(id);
        self.save_config(&config)?;
        self.config = config;
        self.events.emit(Some(id), EventKind::AccountSelected);
        Ok(())
    }

    /// Removes account `id` with its database, media and key.
    pub fn remove(&mut self, id: AccountId) -> Result<(), AccountsError> {
        let entry = self.entry(id)?.clone();
        let mut config = self.config.clone();
        config.accounts.retain(|e| e.id != id);
        if config.selected == Some(id) {
            config.selected = config.accounts.first().map(|e| e.id);
        }
        // The list changes first: a crash after this leaves an orphan folder, never a listed
        // account without its data.
        self.save_config(&config)?;
        let selected_changed = config.selected != self.config.selected;
        self.config = config;
        self.tasks.remove(&id);
        self.open.remove(&id);
        let folder = self.dir.join(&entry.folder);
        if let Err(e) = std::fs::remove_dir_all(&folder) {
            tracing::warn!(account = %id, error = %e, "could not delete the account folder");
        }
        let key_name = entry.key_name(self.config.key_generation);
        if let Err(e) = self.keystore(entry.keystore).delete(&key_name) {
            tracing::warn!(account = %id, error = %e, "could not delete the account key");
        }
        tracing::info!(account = %id, "account removed");
        self.events.emit(Some(id), EventKind::AccountRemoved);
        if let (true, Some(sel)) = (selected_changed, self.config.selected) {
            self.events.emit(Some(sel), EventKind::AccountSelected);
        }
        Ok(())
    }

    /// Sets, changes or (with `None`) removes the app passcode, re-wrapping every key.
    ///
    /// The keys are written under the next generation's names first; accounts.toml naming the
    /// new generation is the commit point. A failure before it leaves the old passcode working.
    pub fn set_passcode(&mut self, passcode: Option<&Passcode>) -> Result<(), AccountsError> {
        let (pc_config, wrapper) = match passcode {
            Some(p) => {
                let (c, w) = PasscodeConfig::create(p)?;
                (Some(c), Some(w))
            }
            None => (None, None),
        };
        let old_generation = self.config.key_generation;
        let new_generation = old_generation.wrapping_add(1);
        let entries = self.config.accounts.clone();
        let keys = entries
            .iter()
            .map(|e| self.load_key(e))
            .collect::<Result<Vec<_>, _>>()?;
        let mut config = self.config.clone();
        config.passcode = pc_config;
        config.key_generation = new_generation;
        let written = (|| {
            for (entry, key) in entries.iter().zip(&keys) {
                let name = entry.key_name(new_generation);
                self.store_key(entry.keystore, &name, key, wrapper.as_ref())?;
            }
            self.save_config(&config)
        })();
        let retired = if written.is_ok() {
            old_generation
        } else {
            new_generation
        };
        for entry in &entries {
            let name = entry.key_name(retired);
            if let Err(e) = self.keystore(entry.keystore).delete(&name) {
                tracing::warn!(account = %entry.id, error = %e, "could not delete a retired key");
            }
        }
        written?;
        self.config = config;
        self.wrapper = wrapper;
        Ok(())
    }
}

fn validate_name(name: &str) -> Result<String, AccountsError> {
    let name = name.trim();
    let bad = |reason: &str| {
        Err(AccountsError::InvalidName {
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return bad("the name is longer than 64 characters");
    }
    if name.chars().any(char::is_control) {
        return bad("the name contains control characters");
    }
    Ok(name.to_owned())
}

fn validate_relay(url: &str) -> Result<String, AccountsError> {
    let url = url.trim();
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(url.to_owned()),
        _ => Err(AccountsError::InvalidRelay {
            url: url.to_owned(),
        }),
    }
}

/// See [`Accounts::reserve_key`].
struct ReservedKey {
    folder: String,
    kind: KeystoreKind,
    key: DbKey,
    key_name: String,
}

fn new_folder_name() -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    format!("acct-{}", hex::encode(bytes))
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
