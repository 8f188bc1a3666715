use missiva_proto::relay::{self, ErrorCode, server_frame::Body};

use super::*;
use crate::secret::DbKey;
use crate::store::Store;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("db"), &DbKey::random(), "t").unwrap();
    (dir, store)
}

/// A sender known only by `key`, with its chat, as the receive path creates it.
fn stranger(store: &Store, key: u8) -> (ContactId, ChatId) {
    store
        .write(|tx| {
            let contact = super::super::insert_placeholder(tx, &[key; 64])?;
            Ok((contact, crate::chats::direct_chat(tx, contact)?))
        })
        .unwrap()
}

fn names(store: &Store, contact: ContactId) -> (String, String, String, String) {
    store
        .read(|c| {
            c.query_row(
                "SELECT k.handle, k.display_name, k.claimed_handle, h.title
                 FROM contacts k JOIN chats h ON h.contact_id = k.id WHERE k.id = ?1",
                [contact.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
        })
        .unwrap()
}

fn found(handle: &str, identity: &[u8]) -> Body {
    Body::HandleFound(relay::HandleFound {
        handle: handle.to_owned(),
        identity: identity.to_vec(),
    })
}

fn error(code: ErrorCode) -> Body {
    Body::Error(relay::Error {
        code: code as i32,
        message: String::new(),
    })
}

#[test]
fn only_the_senders_own_identity_under_the_claimed_handle_confirms_a_claim() {
    let claim = Claim {
        contact: ContactId(1),
        handle: "ana".to_owned(),
        identity: vec![1; 64],
    };
    assert_eq!(judge(&claim, &found("ana", &[1; 64])), Verdict::Confirmed);
    assert_eq!(judge(&claim, &found("ana", &[2; 64])), Verdict::Refused);
    assert_eq!(judge(&claim, &found("bea", &[1; 64])), Verdict::Refused);
    assert_eq!(judge(&claim, &found("ana", &[])), Verdict::Refused);
    assert_eq!(judge(&claim, &error(ErrorCode::NotFound)), Verdict::Refused);
    assert_eq!(
        judge(&claim, &error(ErrorCode::HandleInvalid)),
        Verdict::Refused
    );
    assert_eq!(
        judge(&claim, &error(ErrorCode::RateLimited)),
        Verdict::Unanswered
    );
    assert_eq!(
        judge(&claim, &error(ErrorCode::Internal)),
        Verdict::Unanswered
    );
    assert_eq!(judge(&claim, &Body::Ok(relay::Ok {})), Verdict::Unanswered);
}

#[test]
fn a_confirmed_claim_names_the_contact_and_its_chat() {
    let (_dir, store) = store();
    let (contact, chat) = stranger(&store, 7);
    let claim = store
        .write(|tx| record(tx, contact, "@Ana"))
        .unwrap()
        .unwrap();
    assert_eq!(claim.handle, "ana");
    let (handle, _, claimed, _) = names(&store, contact);
    assert!(handle.starts_with('#'), "shown only once confirmed");
    assert_eq!(claimed, "ana");

    let named = store
        .write(|tx| settle(tx, &claim, Verdict::Confirmed))
        .unwrap();
    assert_eq!(named, Some(chat));
    assert_eq!(
        names(&store, contact),
        (
            "ana".to_owned(),
            "ana".to_owned(),
            String::new(),
            "ana".to_owned()
        )
    );
    assert!(store.read(unsettled).unwrap().is_empty());
    // A contact with a real handle claims nothing any more.
    assert_eq!(
        store.write(|tx| record(tx, contact, "other")).unwrap(),
        None
    );
}

#[test]
fn a_refused_claim_is_forgotten_and_an_unanswered_one_is_kept() {
    let (_dir, store) = store();
    let (contact, _) = stranger(&store, 7);
    let claim = store
        .write(|tx| record(tx, contact, "bea"))
        .unwrap()
        .unwrap();

    assert_eq!(
        store
            .write(|tx| settle(tx, &claim, Verdict::Unanswered))
            .unwrap(),
        None
    );
    assert_eq!(store.read(unsettled).unwrap(), std::slice::from_ref(&claim));

    assert_eq!(
        store
            .write(|tx| settle(tx, &claim, Verdict::Refused))
            .unwrap(),
        None
    );
    let (handle, display, claimed, title) = names(&store, contact);
    assert!(handle.starts_with('#') && display == handle && title == handle);
    assert_eq!(claimed, "");
    assert!(store.read(unsettled).unwrap().is_empty());
}

#[test]
fn invalid_claims_are_not_recorded() {
    let (_dir, store) = store();
    let (contact, _) = stranger(&store, 7);
    for bad in [
        "",
        "ab",
        "#0123456789abcdef",
        "not a handle",
        &"x".repeat(33),
    ] {
        assert_eq!(store.write(|tx| record(tx, contact, bad)).unwrap(), None);
    }
    assert_eq!(names(&store, contact).2, "");
}

#[test]
fn a_handle_another_contact_has_here_is_not_taken_over() {
    let (_dir, store) = store();
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO contacts (handle, identity_key, created_at) VALUES ('ana', ?1, 0)",
                [[1u8; 64].as_slice()],
            )
        })
        .unwrap();
    let (contact, _) = stranger(&store, 7);
    let claim = store
        .write(|tx| record(tx, contact, "ana"))
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .write(|tx| settle(tx, &claim, Verdict::Confirmed))
            .unwrap(),
        None
    );
    let (handle, _, claimed, _) = names(&store, contact);
    assert!(handle.starts_with('#'), "{handle}");
    assert_eq!(claimed, "");
}
