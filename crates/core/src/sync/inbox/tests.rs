use missiva_proto::relay;

use super::*;
use crate::account::Account;
use crate::events::EventBus;
use crate::identity::AccountKeys;
use crate::ids::{AccountId, ChatId};
use crate::secret::DbKey;

struct Side {
    _dir: tempfile::TempDir,
    account: Account,
    public: Vec<u8>,
    upload: relay::UploadPrekeys,
}

fn side(id: u32) -> Side {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("db"), &DbKey::random(), "t").unwrap();
    let keys = AccountKeys::generate();
    store.write(|tx| keys.insert(tx, None, true)).unwrap();
    Side {
        _dir: dir,
        account: Account::new(AccountId(id), store, EventBus::default(), None),
        public: keys.public().to_bytes().to_vec(),
        upload: keys.upload(),
    }
}

/// Anna's contact and session with Bea (from Bea's bundle), and their chat.
fn introduce(anna: &Side, bea: &Side) -> ChatId {
    let bundle = relay::Bundle {
        identity: bea.public.clone(),
        signed_prekey: bea.upload.signed_prekey.clone(),
        one_time_prekey: bea.upload.one_time_prekeys.first().cloned(),
    };
    anna.account
        .store()
        .write_with::<_, SyncError>(|tx| {
            tx.execute(
                "INSERT INTO contacts (handle, identity_key, created_at) VALUES ('bea', ?1, 0)",
                [&bea.public],
            )?;
            let contact = ContactId(tx.last_insert_rowid());
            let ours = identity::load(tx)?;
            sessions::initiate(tx, &ours, contact, &bea.public, &bundle).unwrap();
            Ok(chats::direct_chat(tx, contact)?)
        })
        .unwrap()
}

/// Everything in `from`'s outbox as the relay would deliver it.
fn drain(from: &Side) -> Vec<Envelope> {
    let mut out = Vec::new();
    loop {
        match outbox::next(from.account.store()).unwrap() {
            outbox::Next::Ready {
                row,
                envelope_id,
                content,
                ..
            } => {
                outbox::sent(from.account.store(), &[row]).unwrap();
                out.push(Envelope {
                    id: envelope_id,
                    sender: from.public.clone(),
                    content,
                    received_at_ms: 0,
                });
            }
            outbox::Next::Gone => return out,
            other => panic!("{other:?}"),
        }
    }
}

fn texts(side: &Side) -> Vec<String> {
    side.account
        .store()
        .read(|c| {
            let mut s = c.prepare("SELECT body FROM messages WHERE kind = 'text' ORDER BY id")?;
            s.query_map([], |r| r.get(0))?.collect()
        })
        .unwrap()
}

#[tokio::test]
async fn reordered_and_duplicated_envelopes_are_stored_once_each() {
    let (anna, bea) = (side(1), side(2));
    let chat = introduce(&anna, &bea);
    for i in 0..5 {
        anna.account.send(chat, &format!("m{i}")).await.unwrap();
    }
    let envelopes = drain(&anna);
    assert_eq!(envelopes.len(), 5);

    let mut stored = 0;
    for i in [2, 0, 0, 4, 1, 3, 2, 4] {
        let outcome = process(bea.account.store(), &envelopes[i], false).unwrap();
        stored += usize::from(outcome.stored_message.is_some());
    }
    assert_eq!(stored, 5);
    assert_eq!(
        texts(&bea),
        ["m2", "m0", "m4", "m1", "m3"],
        "arrival order, once each"
    );
    // One delivery receipt per message is waiting to go back, and the one-time prekey is gone.
    let (receipts, opk): (i64, i64) = bea
        .account
        .store()
        .read(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM outbox),
                        (SELECT count(*) FROM one_time_prekeys WHERE id = ?1)",
                [bea.upload.one_time_prekeys[0].id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    assert_eq!((receipts, opk), (5, 0));

    // The receipts reach Anna and move her messages forward, never back.
    for e in drain(&bea) {
        process(anna.account.store(), &e, false).unwrap();
    }
    let states: Vec<String> = anna
        .account
        .store()
        .read(|c| {
            let mut s = c.prepare("SELECT state FROM messages ORDER BY id")?;
            s.query_map([], |r| r.get(0))?.collect()
        })
        .unwrap();
    assert_eq!(states, ["delivered"; 5]);
}

#[tokio::test]
async fn a_failure_before_the_commit_leaves_nothing_behind() {
    let (anna, bea) = (side(1), side(2));
    let chat = introduce(&anna, &bea);
    anna.account.send(chat, "once").await.unwrap();
    let envelope = drain(&anna).remove(0);
    assert!(matches!(
        process(bea.account.store(), &envelope, true),
        Err(SyncError::InjectedFault)
    ));
    assert!(texts(&bea).is_empty());
    // Redelivered: the session, prekey and replay guard were rolled back with the message.
    let outcome = process(bea.account.store(), &envelope, false).unwrap();
    assert!(outcome.stored_message.is_some());
    assert_eq!(texts(&bea), ["once"]);
}

#[tokio::test]
async fn garbage_is_acknowledged_and_dropped_without_a_contact() {
    let bea = side(2);
    let anna = side(1);
    let junk = Envelope {
        id: vec![7; 16],
        sender: anna.public.clone(),
        content: vec![1, 2, 3],
        received_at_ms: 0,
    };
    let outcome = process(bea.account.store(), &junk, false).unwrap();
    assert!(outcome.stored_message.is_none() && outcome.events.is_empty());
    let (contacts, processed): (i64, i64) = bea
        .account
        .store()
        .read(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM processed_envelopes)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    assert_eq!((contacts, processed), (0, 1));
}

#[tokio::test]
async fn the_sender_names_itself_until_the_peer_replies_and_the_claim_is_kept_to_check() {
    let (anna, bea) = (side(1), side(2));
    anna.account
        .store()
        .write(|tx| tx.execute("UPDATE identity SET handle = 'anna'", []))
        .unwrap();
    let chat = introduce(&anna, &bea);
    anna.account.send(chat, "first").await.unwrap();
    anna.account.send(chat, "second").await.unwrap();
    let first = drain(&anna);

    let outcome = process(bea.account.store(), &first[0], false).unwrap();
    let claim = outcome.claim.expect("the first payload names its sender");
    assert_eq!(claim.handle, "anna");
    assert_eq!(claim.identity, anna.public);
    assert_eq!(outcome.contact, Some(claim.contact));
    let (handle, claimed): (String, String) = bea
        .account
        .store()
        .read(|c| {
            c.query_row("SELECT handle, claimed_handle FROM contacts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .unwrap();
    assert!(
        handle.starts_with('#'),
        "not shown before the relay confirms"
    );
    assert_eq!(claimed, "anna");
    // Sent before Bea replied: it names Anna too.
    let outcome = process(bea.account.store(), &first[1], false).unwrap();
    assert_eq!(outcome.claim.map(|c| c.handle).as_deref(), Some("anna"));

    // Bea's delivery receipts reach Anna: her session is answered, her handle stops travelling.
    for e in drain(&bea) {
        process(anna.account.store(), &e, false).unwrap();
    }
    anna.account.send(chat, "third").await.unwrap();
    let later = drain(&anna);
    let outcome = process(bea.account.store(), &later[0], false).unwrap();
    assert!(outcome.stored_message.is_some());
    assert_eq!(outcome.claim, None);
}
