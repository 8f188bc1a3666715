//! What a user waits for when the app starts or an account is added: opening an account's
//! encrypted database with its raw key, creating an account, unlocking a passcode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::Bencher;
use missiva_core::accounts::{Accounts, OpenOptions};
use missiva_core::keystore::KeystoreKind;
use missiva_core::secret::{DbKey, Passcode};
use missiva_core::store::Store;

fn main() {
    divan::main();
}

fn file_opts() -> OpenOptions {
    OpenOptions {
        keystore: KeystoreKind::File,
        ..OpenOptions::default()
    }
}

/// Open + key check + migrations check of an existing SQLCipher database (raw key, no KDF).
#[divan::bench(sample_count = 50)]
fn open_account_database(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let key = DbKey::random();
    drop(Store::create(&path, &key, "bench").unwrap());
    bencher.bench(|| Store::open(&path, &key, "bench").unwrap());
}

/// A new account: key in the file keystore, folder, database, migrations, accounts.toml.
#[divan::bench(sample_count = 30)]
fn create_account(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = Accounts::open(dir.path(), file_opts()).unwrap();
    bencher.bench_local(|| accounts.create_local("bench", None).unwrap());
}

/// Opening a passcode-protected data folder: one Argon2id (64 MiB, t=3) derivation.
#[divan::bench(sample_count = 5)]
fn unlock_with_passcode(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = Accounts::open(dir.path(), file_opts()).unwrap();
    accounts
        .set_passcode(Some(&Passcode::new("bench")))
        .unwrap();
    drop(accounts);
    bencher.bench(|| {
        let opts = OpenOptions {
            passcode: Some(Passcode::new("bench")),
            ..file_opts()
        };
        drop(Accounts::open(dir.path(), opts).unwrap());
    });
}
