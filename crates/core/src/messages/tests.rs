use missiva_proto::Message as _;
use missiva_proto::payload::{Payload, ReceiptKind, payload::Body};

use super::*;
use crate::contacts;
use crate::events::EventBus;
use crate::identity::AccountKeys;
use crate::ids::AccountId;
use crate::secret::DbKey;
use crate::store::Store;

struct Fixture {
    _dir: tempfile::TempDir,
    account: Account,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("db"), &DbKey::random(), "t").unwrap();
    let keys = AccountKeys::generate();
    store.write(|tx| keys.insert(tx, Some("me"), true)).unwrap();
    Fixture {
        _dir: dir,
        account: Account::new(AccountId(1), store, EventBus::default(), None),
    }
}

/// A contact (known by key only) and its chat.
fn contact(f: &Fixture, key: u8) -> (ContactId, ChatId) {
    f.account
        .store()
        .write(|tx| {
            let contact = contacts::insert_placeholder(tx, &[key; 64])?;
            Ok((contact, chats::direct_chat(tx, contact)?))
        })
        .unwrap()
}

fn incoming(f: &Fixture, contact: ContactId, chat: ChatId, text: &str) -> MessageId {
    let id = MessageId::random();
    f.account
        .store()
        .write(|tx| insert_incoming(tx, chat, contact, id, text, 1_000))
        .unwrap();
    id
}

fn outbox_payloads(f: &Fixture) -> Vec<Payload> {
    f.account
        .store()
        .read(|c| {
            let mut s = c.prepare("SELECT payload FROM outbox ORDER BY id")?;
            s.query_map([], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
        .iter()
        .map(|b| Payload::decode(b.as_slice()).unwrap())
        .collect()
}

#[tokio::test]
async fn sending_stores_the_message_and_its_outbox_row_together() {
    let f = fixture();
    let (_, chat) = contact(&f, 1);
    assert!(matches!(
        f.account.send(chat, "  \n").await,
        Err(MessageError::Empty)
    ));
    let long = "x".repeat(MAX_TEXT_BYTES + 1);
    assert!(matches!(
        f.account.send(chat, &long).await,
        Err(MessageError::TooLong)
    ));
    assert!(outbox_payloads(&f).is_empty());

    let m = f.account.send(chat, "ciao").await.unwrap();
    assert_eq!(
        (m.state, m.outgoing, m.kind.as_str()),
        (MessageState::Pending, true, "text")
    );
    let queued = outbox_payloads(&f);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].message_id, m.id.0.to_vec());
    assert!(matches!(&queued[0].body, Some(Body::Text(t)) if t.body == "ciao"));
    assert!(matches!(
        f.account.send(ChatId(999), "nobody").await,
        Err(MessageError::Chat(ChatError::NotFound { .. }))
    ));
}

#[tokio::test]
async fn pages_go_back_from_a_message_oldest_first() {
    let f = fixture();
    let (_, chat) = contact(&f, 1);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(f.account.send(chat, &format!("m{i}")).await.unwrap().id);
    }
    let text = |page: &[MessageView]| page.iter().map(|m| m.text.clone()).collect::<Vec<_>>();
    let newest = f.account.messages(chat, None, 2).await.unwrap();
    assert_eq!(text(&newest), ["m3", "m4"]);
    let older = f
        .account
        .messages(chat, Some(newest[0].id), 2)
        .await
        .unwrap();
    assert_eq!(text(&older), ["m1", "m2"]);
    let oldest = f.account.messages(chat, Some(ids[1]), 10).await.unwrap();
    assert_eq!(text(&oldest), ["m0"]);
    assert!(
        f.account
            .messages(chat, Some(ids[0]), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        f.account
            .messages(chat, Some(MessageId::random()), 10)
            .await,
        Err(MessageError::NotFound { .. })
    ));
}

#[tokio::test]
async fn reading_a_chat_clears_its_unread_count_and_queues_one_read_receipt() {
    let f = fixture();
    let (contact, chat) = contact(&f, 1);
    let a = incoming(&f, contact, chat, "one");
    let b = incoming(&f, contact, chat, "two");
    let summary = &f.account.chats().await.unwrap()[0];
    assert_eq!(summary.unread, 2);
    assert_eq!(summary.last_message.as_ref().unwrap().text, "two");
    assert!(!summary.last_message.as_ref().unwrap().outgoing);
    assert_eq!(f.account.unread().await.unwrap(), 2);

    f.account.mark_read(chat).await.unwrap();
    assert_eq!(f.account.unread().await.unwrap(), 0);
    assert_eq!(
        f.account.message(a).await.unwrap().state,
        MessageState::Read
    );
    let receipts = outbox_payloads(&f);
    assert_eq!(receipts.len(), 1);
    let Some(Body::Receipt(r)) = &receipts[0].body else {
        panic!("{receipts:?}")
    };
    assert_eq!(r.kind, ReceiptKind::Read as i32);
    assert_eq!(r.message_ids, [a.0.to_vec(), b.0.to_vec()]);
    // Nothing new to read: no second receipt.
    f.account.mark_read(chat).await.unwrap();
    assert_eq!(outbox_payloads(&f).len(), 1);
}

#[tokio::test]
async fn receipts_only_move_states_forward_and_only_from_the_chat_s_contact() {
    let f = fixture();
    let (contact, chat) = contact(&f, 1);
    let (stranger, _) = self::contact(&f, 2);
    let m = f.account.send(chat, "hi").await.unwrap();
    let apply = |who: ContactId, read: bool| {
        f.account
            .store()
            .write(|tx| apply_receipt(tx, who, read, &[m.id]))
            .unwrap()
    };
    assert!(apply(stranger, false).is_empty(), "not their message");
    assert_eq!(apply(contact, true), [chat]);
    assert!(apply(contact, false).is_empty());
    assert_eq!(
        f.account.message(m.id).await.unwrap().state,
        MessageState::Read
    );
}

#[tokio::test]
async fn drafts_are_kept_until_sent_and_chats_sort_by_activity() {
    let f = fixture();
    let (_, first) = contact(&f, 1);
    let (other, second) = contact(&f, 2);
    f.account.set_draft(first, "half a thought").await.unwrap();
    let chats = f.account.chats().await.unwrap();
    let draft = chats.iter().find(|c| c.id == first).unwrap();
    assert_eq!(draft.draft, "half a thought");
    assert!(matches!(
        f.account.set_draft(ChatId(999), "x").await,
        Err(ChatError::NotFound { .. })
    ));

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    incoming(&f, other, second, "news");
    assert_eq!(f.account.chats().await.unwrap()[0].id, second);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    f.account.send(first, "the whole thought").await.unwrap();
    let chats = f.account.chats().await.unwrap();
    assert_eq!(chats[0].id, first);
    assert_eq!(chats[0].draft, "", "sending clears the draft");
    assert_eq!(f.account.chat_for_contact(other).await.unwrap(), second);
}
