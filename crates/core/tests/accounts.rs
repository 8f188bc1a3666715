//! The account set on a real data folder: isolation, encryption at rest, keys, the lock,
//! crash safety of accounts.toml.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use missiva_core::accounts::{ACCOUNTS_FILE, Accounts, AccountsError, DATABASE_FILE, OpenOptions};
use missiva_core::events::EventKind;
use missiva_core::ids::AccountId;
use missiva_core::keystore::KeystoreKind;
use missiva_core::secret::Passcode;
use missiva_core::store::StoreError;

fn file_opts() -> OpenOptions {
    OpenOptions {
        keystore: KeystoreKind::File,
        ..OpenOptions::default()
    }
}

fn open(dir: &Path) -> Accounts {
    Accounts::open(dir, file_opts()).unwrap()
}

fn database_of(dir: &Path, id: AccountId) -> PathBuf {
    let text = std::fs::read_to_string(dir.join(ACCOUNTS_FILE)).unwrap();
    let config: toml::Value = toml::from_str(&text).unwrap();
    let folder = config["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"].as_integer() == Some(i64::from(id.0)))
        .unwrap()["folder"]
        .as_str()
        .unwrap()
        .to_owned();
    dir.join(folder).join(DATABASE_FILE)
}

/// The key file of the account whose database is `db`, in the current key generation.
fn key_file(db: &Path) -> PathBuf {
    let folder = db.parent().unwrap();
    let name = folder.file_name().unwrap().to_str().unwrap();
    let data = folder.parent().unwrap();
    let config: toml::Value =
        toml::from_str(&std::fs::read_to_string(data.join(ACCOUNTS_FILE)).unwrap()).unwrap();
    let generation = config
        .get("key_generation")
        .and_then(toml::Value::as_integer)
        .unwrap_or(0);
    let file = match generation {
        0 => format!("{name}.key"),
        g => format!("{name}-g{g}.key"),
    };
    data.join("keys").join(file)
}

fn key_files(data: &Path) -> usize {
    std::fs::read_dir(data.join("keys")).unwrap().count()
}

#[test]
fn two_accounts_never_see_each_others_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let mut accounts = open(tmp.path());
    let a = accounts.create_local("Anna", None).unwrap().id;
    let b = accounts.create_local("Bruno", None).unwrap().id;
    let anna = accounts.account(a).unwrap();
    let bruno = accounts.account(b).unwrap();
    anna.store()
        .write(|tx| {
            tx.execute(
                "INSERT INTO contacts (handle, created_at) VALUES ('@luca', 1)",
                [],
            )
        })
        .unwrap();
    anna.store().set_setting("nickname", "anna-only").unwrap();

    let count = |acc: &missiva_core::account::Account| -> i64 {
        acc.store()
            .read(|c| c.query_row("SELECT count(*) FROM contacts", [], |r| r.get(0)))
            .unwrap()
    };
    assert_eq!(count(&anna), 1);
    assert_eq!(count(&bruno), 0);
    assert_eq!(bruno.store().setting("nickname").unwrap(), None);
    assert_ne!(database_of(tmp.path(), a), database_of(tmp.path(), b));

    // Each database has its own key: Bruno's key does not open Anna's file.
    let anna_db = database_of(tmp.path(), a);
    let bruno_db = database_of(tmp.path(), b);
    drop(accounts);
    std::fs::copy(key_file(&bruno_db), key_file(&anna_db)).unwrap();
    let mut accounts = open(tmp.path());
    assert!(matches!(
        accounts.account(a),
        Err(AccountsError::Store(StoreError::WrongKey { .. }))
    ));
}

#[test]
fn database_file_is_encrypted_at_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let mut accounts = open(tmp.path());
    let id = accounts.create_local("Work", None).unwrap().id;
    accounts
        .account(id)
        .unwrap()
        .store()
        .set_setting("marker", "visible-if-unencrypted")
        .unwrap();
    drop(accounts);
    let bytes = std::fs::read(database_of(tmp.path(), id)).unwrap();
    assert!(bytes.len() >= 4096);
    assert!(!bytes.starts_with(b"SQLite format 3"));
    assert!(!bytes.windows(22).any(|w| w == b"visible-if-unencrypted"));
}

#[test]
fn wrong_key_fails_with_a_clear_error_and_leaves_the_file_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let mut accounts = open(tmp.path());
    let id = accounts.create_local("Work", None).unwrap().id;
    drop(accounts);
    let db = database_of(tmp.path(), id);
    let before = std::fs::read(&db).unwrap();
    std::fs::write(key_file(&db), [7u8; 32]).unwrap();

    let mut accounts = open(tmp.path());
    let err = accounts.account(id).unwrap_err();
    assert!(
        matches!(err, AccountsError::Store(StoreError::WrongKey { ref account }) if account == "Work"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the database of account \"Work\" cannot be opened with its key (wrong key, or not a \
         Missiva database); the file was left untouched"
    );
    assert!(accounts.select(id).is_err());
    drop(accounts);
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn missing_key_names_the_account_and_leaves_the_file_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let mut accounts = open(tmp.path());
    let id = accounts.create_local("Home", None).unwrap().id;
    drop(accounts);
    let db = database_of(tmp.path(), id);
    let before = std::fs::read(&db).unwrap();
    std::fs::remove_file(key_file(&db)).unwrap();

    let mut accounts = open(tmp.path());
    let err = accounts.account(id).unwrap_err();
    assert!(matches!(err, AccountsError::KeyMissing { ref account, .. } if account == "Home"));
    assert!(err.to_string().contains("\"Home\""));
    drop(accounts);
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_second_accounts_on_the_same_dir_is_already_running() {
    let tmp = tempfile::tempdir().unwrap();
    let first = open(tmp.path());
    let err = Accounts::open(tmp.path(), file_opts()).unwrap_err();
    assert!(
        matches!(err, AccountsError::AlreadyRunning { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("already running"));
    drop(first);
    // Released with the first one.
    open(tmp.path());
}

#[test]
fn accounts_toml_survives_a_crash_mid_write() {
    let tmp = tempfile::tempdir().unwrap();
    let mut accounts = open(tmp.path());
    accounts.create_local("Work", None).unwrap();
    accounts.create_local("Home", None).unwrap();
    let before = accounts.list();
    drop(accounts);
    let path = tmp.path().join(ACCOUNTS_FILE);
    let good = std::fs::read(&path).unwrap();

    // A crash while writing the next version leaves a half-written temp file beside it.
    let tmp_file = tmp.path().join(format!("{ACCOUNTS_FILE}.tmp"));
    std::fs::write(&tmp_file, &good[..good.len() / 2]).unwrap();

    let mut accounts = open(tmp.path());
    assert_eq!(accounts.list(), before);
    assert!(!tmp_file.exists(), "the stale temp file is cleaned up");
    accounts.create_local("Third", None).unwrap();
    drop(accounts);
    assert_eq!(open(tmp.path()).list().len(), 3);
}

#[test]
fn a_damaged_accounts_toml_is_an_error_and_is_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(ACCOUNTS_FILE);
    std::fs::write(&path, b"version = 1\nnext_id = \"oops\n").unwrap();
    let err = Accounts::open(tmp.path(), file_opts()).unwrap_err();
    assert!(
        matches!(err, AccountsError::DamagedConfig { .. }),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"version = 1\nnext_id = \"oops\n"
    );
}

#[test]
fn create_rename_select_remove_and_their_events() {
    let tmp = tempfile::tempdir().unwrap();
    let mut accounts = open(tmp.path());
    let mut events = accounts.events().subscribe();
    let work = accounts
        .create_local("  Work ", Some("wss://relay.example.org"))
        .unwrap();
    assert_eq!(work.name, "Work");
    assert!(work.selected, "the first account is selected");
    assert_eq!(work.keystore, KeystoreKind::File);
    let home = accounts.create_local("Home", None).unwrap();
    assert!(!home.selected);
    accounts.rename(home.id, "Family").unwrap();
    accounts.select(home.id).unwrap();
    assert_eq!(accounts.selected(), Some(home.id));
    accounts.remove(home.id).unwrap();
    assert_eq!(accounts.selected(), Some(work.id));
    assert!(accounts.select(home.id).is_err());

    let kinds: Vec<_> = std::iter::from_fn(|| events.try_recv())
        .map(|e| (e.account, e.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Some(work.id), EventKind::AccountCreated),
            (Some(work.id), EventKind::AccountSelected),
            (Some(home.id), EventKind::AccountCreated),
            (Some(home.id), EventKind::AccountRenamed),
            (Some(home.id), EventKind::AccountSelected),
            (Some(home.id), EventKind::AccountRemoved),
            (Some(work.id), EventKind::AccountSelected),
        ]
    );

    // Ids are never reused, and everything survives a restart.
    drop(accounts);
    let mut accounts = open(tmp.path());
    let again = accounts.create_local("Again", None).unwrap();
    assert!(again.id > home.id);
    assert_eq!(accounts.list().len(), 2);
    assert_eq!(accounts.selected(), Some(work.id));
    let listed_dirs = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("acct-")
        })
        .count();
    assert_eq!(listed_dirs, 2, "the removed account's folder is gone");
}

#[test]
fn invalid_names_and_relays_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut accounts = open(tmp.path());
    for bad in ["", "   ", "a\u{7}b", &"x".repeat(65)] {
        assert!(matches!(
            accounts.create_local(bad, None),
            Err(AccountsError::InvalidName { .. })
        ));
    }
    for bad in ["http://relay", "relay.example.org", "wss://", "ws://a b"] {
        assert!(matches!(
            accounts.create_local("ok", Some(bad)),
            Err(AccountsError::InvalidRelay { .. })
        ));
    }
    assert!(accounts.list().is_empty());
    assert!(accounts.create_local(&"é".repeat(64), None).is_ok());
}

#[test]
fn passcode_wraps_the_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let mut accounts = open(tmp.path());
    let id = accounts.create_local("Work", None).unwrap().id;
    let db = database_of(tmp.path(), id);
    let raw_before = std::fs::read(key_file(&db)).unwrap();
    accounts
        .set_passcode(Some(&Passcode::new("1234-abcd")))
        .unwrap();
    drop(accounts);
    let wrapped = std::fs::read(key_file(&db)).unwrap();
    assert_ne!(
        wrapped, raw_before,
        "the stored key is no longer the raw key"
    );
    assert!(!wrapped.windows(32).any(|w| w == raw_before.as_slice()));

    let err = Accounts::open(tmp.path(), file_opts()).unwrap_err();
    assert!(err.to_string().contains("passcode"), "{err}");
    let wrong = OpenOptions {
        passcode: Some(Passcode::new("1234-abce")),
        ..file_opts()
    };
    assert!(
        Accounts::open(tmp.path(), wrong)
            .unwrap_err()
            .to_string()
            .contains("wrong passcode")
    );

    let right = OpenOptions {
        passcode: Some(Passcode::new("1234-abcd")),
        ..file_opts()
    };
    let mut accounts = Accounts::open(tmp.path(), right).unwrap();
    accounts.account(id).unwrap();
    let second = accounts.create_local("Home", None).unwrap().id;
    accounts.set_passcode(None).unwrap();
    drop(accounts);
    assert_eq!(std::fs::read(key_file(&db)).unwrap(), raw_before);
    assert_eq!(key_files(tmp.path()), 2, "retired keys are deleted");
    let mut accounts = open(tmp.path());
    accounts.account(id).unwrap();
    accounts.account(second).unwrap();
}

#[test]
fn a_passcode_change_that_fails_midway_leaves_the_old_passcode_working() {
    let tmp = tempfile::tempdir().unwrap();
    let mut accounts = open(tmp.path());
    let a = accounts.create_local("Work", None).unwrap().id;
    let b = accounts.create_local("Home", None).unwrap().id;
    accounts
        .set_passcode(Some(&Passcode::new("old-one")))
        .unwrap();
    let config_before = std::fs::read(tmp.path().join(ACCOUNTS_FILE)).unwrap();

    // accounts.toml cannot be replaced: the new keys get written, the commit point fails.
    let blocker = tmp.path().join(format!("{ACCOUNTS_FILE}.tmp"));
    std::fs::create_dir(&blocker).unwrap();
    assert!(
        accounts
            .set_passcode(Some(&Passcode::new("new-one")))
            .is_err()
    );
    std::fs::remove_dir(&blocker).unwrap();
    drop(accounts);

    assert_eq!(
        std::fs::read(tmp.path().join(ACCOUNTS_FILE)).unwrap(),
        config_before
    );
    assert_eq!(
        key_files(tmp.path()),
        2,
        "the half-written generation is cleaned up"
    );
    let old = OpenOptions {
        passcode: Some(Passcode::new("old-one")),
        ..file_opts()
    };
    let mut accounts = Accounts::open(tmp.path(), old).unwrap();
    accounts.account(a).unwrap();
    accounts.account(b).unwrap();
}

#[test]
fn an_account_from_before_messaging_gets_identity_keys_when_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let id = open(tmp.path()).create_local("Old", None).unwrap().id;
    // Make it look like an account created by the previous version: no keys.
    {
        let mut accounts = open(tmp.path());
        let account = accounts.account(id).unwrap();
        account
            .store()
            .write(|tx| {
                tx.execute_batch(
                    "DELETE FROM identity; DELETE FROM signed_prekeys; DELETE FROM one_time_prekeys;",
                )
            })
            .unwrap();
    }
    let mut accounts = open(tmp.path());
    let account = accounts.account(id).unwrap();
    let (identities, signed, one_time): (i64, i64, i64) = account
        .store()
        .read(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM identity), (SELECT count(*) FROM signed_prekeys),
                        (SELECT count(*) FROM one_time_prekeys WHERE uploaded = 0)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
        .unwrap();
    assert_eq!((identities, signed, one_time), (1, 1, 100));
}
