//! One account's SQLCipher database: opened only with its key, migrated by numbered `.sql`
//! files, never recreated or opened unencrypted.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags, Transaction};
use rusqlite_migration::{M, Migrations};

use crate::secret::DbKey;

#[cfg(test)]
mod tests;

/// Errors of the encrypted store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The key does not decrypt the database.
    #[error(
        "the database of account \"{account}\" cannot be opened with its key (wrong key, or \
         not a Missiva database); the file was left untouched"
    )]
    WrongKey {
        /// The account's name.
        account: String,
    },
    /// The database file is gone.
    #[error("the database of account \"{account}\" is missing ({path}); nothing was recreated")]
    Missing {
        /// The account's name.
        account: String,
        /// Where it should be.
        path: PathBuf,
    },
    /// A new database was asked for where a file already exists.
    #[error("refusing to create a database over the existing file {path}")]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// The schema could not be brought up to date.
    #[error("the database of account \"{account}\" could not be migrated: {reason}")]
    Migration {
        /// The account's name.
        account: String,
        /// What failed.
        reason: String,
    },
    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A thread panicked while holding the connection.
    #[error("the database connection is unusable after an internal failure")]
    Poisoned,
    /// The background task running a database call did not finish.
    #[error("a background database task failed")]
    TaskFailed,
}

/// The numbered migrations, oldest first. Never edit one that has shipped: add the next.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("store/migrations/001_initial.sql")),
        M::up(include_str!("store/migrations/002_search_attachments.sql")),
        M::up(include_str!("store/migrations/003_messaging.sql")),
        M::up(include_str!("store/migrations/004_handle_claims.sql")),
        M::up(include_str!("store/migrations/005_import.sql")),
        M::up(include_str!(
            "store/migrations/006_search_without_sizes.sql"
        )),
        M::up(include_str!("store/migrations/007_polls.sql")),
        M::up(include_str!("store/migrations/008_groups.sql")),
    ])
}

/// An open, keyed and migrated account database with its one writer connection.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Creates a new encrypted database at `path` (which must not exist) and migrates it.
    pub fn create(path: &Path, key: &DbKey, account: &str) -> Result<Self, StoreError> {
        Self::create_to(path, key, account, None)
    }

    /// Like [`Store::create`] but migrates only up to schema `version` (for migration tests).
    #[doc(hidden)]
    pub fn create_to(
        path: &Path,
        key: &DbKey,
        account: &str,
        version: Option<usize>,
    ) -> Result<Self, StoreError> {
        if path.exists() {
            return Err(StoreError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        Self::prepare(conn, path, key, account, version)
    }

    /// Opens the existing database at `path` with `key`; a wrong key leaves the file untouched.
    pub fn open(path: &Path, key: &DbKey, account: &str) -> Result<Self, StoreError> {
        Self::open_to(path, key, account, None)
    }

    /// Like [`Store::open`] but migrates only up to schema `version` (for migration tests).
    #[doc(hidden)]
    pub fn open_to(
        path: &Path,
        key: &DbKey,
        account: &str,
        version: Option<usize>,
    ) -> Result<Self, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing {
                account: account.to_owned(),
                path: path.to_owned(),
            });
        }
        // No CREATE flag: a vanished file must be an error, never a fresh empty database.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        Self::prepare(conn, path, key, account, version)
    }

    fn prepare(
        mut conn: Connection,
        path: &Path,
        key: &DbKey,
        account: &str,
        version: Option<usize>,
    ) -> Result<Self, StoreError> {
        // SQLCipher would print its own "hmac check failed" lines for a wrong key; the error
        // returned below says it better.
        conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
        conn.execute_batch(&key.pragma())?;
        // The first read is where SQLCipher checks the key; nothing has been written yet.
        let check = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        });
        match check {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                return Err(StoreError::WrongKey {
                    account: account.to_owned(),
                });
            }
            Err(e) => return Err(e.into()),
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -65536;
             PRAGMA temp_store = MEMORY;",
        )?;
        let migrations = migrations();
        let migrated = match version {
            Some(v) => migrations.to_version(&mut conn, v),
            None => migrations.to_latest(&mut conn),
        };
        migrated.map_err(|e| StoreError::Migration {
            account: account.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Runs `f` inside one transaction, committed only if `f` succeeds.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Like [`Store::write`] for a closure with its own error type.
    pub fn write_with<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(StoreError::from)?;
        let value = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    /// Like [`Store::read`] for a closure with its own error type.
    pub fn read_with<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let conn = self.lock()?;
        f(&conn)
    }

    /// Runs a read-only `f` on the connection.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.lock()?;
        Ok(f(&conn)?)
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(|c| c.query_row("PRAGMA user_version", [], |r| r.get(0)))
    }

    /// A per-account setting, if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT value FROM settings WHERE key = ?1")?;
            let mut rows = stmt.query([key])?;
            rows.next()?.map(|r| r.get(0)).transpose()
        })
    }

    /// Sets a per-account setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(|_| ())
        })
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
