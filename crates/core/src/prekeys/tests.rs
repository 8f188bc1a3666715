use super::*;
use crate::identity::AccountKeys;
use crate::secret::DbKey;
use crate::store::Store;

fn store_with_keys(uploaded: bool) -> (tempfile::TempDir, Store, AccountKeys) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("db"), &DbKey::random(), "a").unwrap();
    let keys = AccountKeys::generate();
    store
        .write(|tx| keys.insert(tx, Some("anna"), uploaded))
        .unwrap();
    (dir, store, keys)
}

fn count(store: &Store, sql: &str) -> i64 {
    store.read(|c| c.query_row(sql, [], |r| r.get(0))).unwrap()
}

#[test]
fn a_seed_gives_back_the_same_prekeys() {
    let identity = IdentityKeyPair::generate(&mut rand::rng());
    let seed = PrekeySeed::random(7, 1_000);
    assert_eq!(
        seed.signed(&identity).public(),
        seed.signed(&identity).public()
    );
    seed.signed(&identity)
        .public()
        .verify(&identity.public())
        .unwrap();
    let a = seed.one_time().unwrap();
    let b = seed.one_time().unwrap();
    assert_eq!((a.id(), a.public()), (b.id(), b.public()));
    let other = PrekeySeed::random(7, 1_000);
    assert_ne!(other.one_time().unwrap().public(), a.public());
}

#[test]
fn stored_prekeys_match_what_was_published() {
    let (_dir, store, keys) = store_with_keys(true);
    let upload = keys.upload();
    assert_eq!(upload.one_time_prekeys.len(), 100);
    let published = upload.signed_prekey.unwrap();
    let identity = store.read_with(crate::identity::load).unwrap();
    let spk = store
        .read(|c| signed_prekey(c, &identity, published.id))
        .unwrap()
        .unwrap();
    assert_eq!(spk.public().key.as_bytes().as_slice(), published.public_key);
    let first = &upload.one_time_prekeys[0];
    let opk = store
        .read(|c| one_time_prekey(c, first.id))
        .unwrap()
        .unwrap();
    assert_eq!(opk.public().as_bytes().as_slice(), first.public_key);
}

#[test]
fn uploaded_keys_are_not_uploaded_again_until_the_relay_runs_low() {
    let (_dir, store, keys) = store_with_keys(true);
    let none = store
        .write(|tx| prepare_upload(tx, &keys.identity, false))
        .unwrap();
    assert!(none.is_none());

    let more = store
        .write(|tx| prepare_upload(tx, &keys.identity, true))
        .unwrap()
        .unwrap();
    assert!(more.frame.signed_prekey.is_none());
    assert_eq!(more.one_time_ids.len(), 100);
    assert_eq!(more.one_time_ids[0], 101, "ids are never reused");
    store.write(|tx| mark_uploaded(tx, &more)).unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM one_time_prekeys WHERE uploaded = 0"
        ),
        0
    );

    // Used keys are deleted; new ids still continue after the highest ever handed out.
    store
        .write(|tx| tx.execute("DELETE FROM one_time_prekeys WHERE id > 150", []))
        .unwrap();
    let next = store
        .write(|tx| prepare_upload(tx, &keys.identity, true))
        .unwrap()
        .unwrap();
    assert_eq!(next.one_time_ids[0], 201);
}

#[test]
fn an_old_signed_prekey_is_rotated_and_the_previous_one_kept() {
    let (_dir, store, keys) = store_with_keys(true);
    let later = clock::now_secs() + missiva_crypto::prekeys::SIGNED_PREKEY_MAX_AGE_SECS + 10;
    assert!(
        store
            .write(|tx| rotate_if_needed(tx, &keys.identity, later))
            .unwrap()
    );
    assert!(
        !store
            .write(|tx| rotate_if_needed(tx, &keys.identity, later))
            .unwrap()
    );
    assert_eq!(
        count(&store, "SELECT id FROM signed_prekeys WHERE current = 1"),
        2
    );
    assert_eq!(count(&store, "SELECT count(*) FROM signed_prekeys"), 2);
    let much_later = later + missiva_crypto::prekeys::SIGNED_PREKEY_MAX_AGE_SECS + 10;
    store
        .write(|tx| rotate_if_needed(tx, &keys.identity, much_later))
        .unwrap();
    let ids: Vec<u32> = store
        .read(|c| {
            let mut s = c.prepare("SELECT id FROM signed_prekeys ORDER BY id")?;
            s.query_map([], |r| r.get(0))?.collect()
        })
        .unwrap();
    assert_eq!(ids, [2, 3], "the oldest is dropped, the previous kept");
    // The rotated key is the one offered next.
    let upload = store
        .write(|tx| prepare_upload(tx, &keys.identity, false))
        .unwrap()
        .unwrap();
    assert_eq!(upload.signed_id, Some(3));
}

#[test]
fn debug_of_a_seed_shows_no_secret() {
    let seed = PrekeySeed::random(3, 0);
    let shown = format!("{seed:?} {seed:#?}");
    assert!(shown.contains("<redacted>"));
    assert!(!shown.contains(&hex::encode(seed.seed_bytes())[..12]));
    assert!(!shown.contains(&format!("{:?}", seed.seed_bytes()[0..4].to_vec())));
}
