//! What the end-to-end benchmarks share: a core account in a temporary data folder, and the
//! figures' formatting.

#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use std::time::Duration;

use missiva_core::account::Account;
use missiva_core::accounts::{AccountSetup, Accounts, OpenOptions};
use missiva_core::keystore::KeystoreKind;

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub async fn client(url: &str, handle: &str) -> (Accounts, Account, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions {
        keystore: KeystoreKind::File,
        ..OpenOptions::default()
    };
    let mut accounts = Accounts::open(dir.path(), options).unwrap();
    let info = accounts
        .create(AccountSetup {
            name: handle.to_owned(),
            relay: Some(url.to_owned()),
            handle: Some(handle.to_owned()),
        })
        .await
        .unwrap();
    accounts.start_sync().unwrap();
    let account = accounts.account(info.id).unwrap();
    (accounts, account, dir)
}
