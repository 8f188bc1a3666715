//! The OS keychain keystore against a real Secret Service (gnome-keyring on a private D-Bus
//! session): `make test-keychain` starts one and runs this with `--ignored`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use missiva_core::accounts::{Accounts, OpenOptions};
use missiva_core::keystore::KeystoreKind;

#[test]
#[ignore = "needs a Secret Service on the session bus; run by make test-keychain"]
fn accounts_keep_their_keys_in_the_os_keychain() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = || OpenOptions {
        keystore: KeystoreKind::Os,
        ..OpenOptions::default()
    };
    let mut accounts = Accounts::open(tmp.path(), opts()).unwrap();
    let info = accounts.create_local("Keychain", None).unwrap();
    assert_eq!(info.keystore, KeystoreKind::Os);
    assert!(
        !tmp.path().join("keys").exists(),
        "no key file next to the data"
    );
    drop(accounts);
    let toml: toml::Value =
        toml::from_str(&std::fs::read_to_string(tmp.path().join("accounts.toml")).unwrap())
            .unwrap();
    let folder = toml["accounts"][0]["folder"].as_str().unwrap().to_owned();
    let entry = keyring::Entry::new("missiva", &folder).unwrap();
    assert_eq!(
        entry.get_secret().unwrap().len(),
        32,
        "the key is in the keychain"
    );

    let mut accounts = Accounts::open(tmp.path(), opts()).unwrap();
    accounts.account(info.id).unwrap();
    accounts.remove(info.id).unwrap();
    drop(accounts);
    assert!(matches!(entry.get_secret(), Err(keyring::Error::NoEntry)));
}
