//! End-to-end encrypted messaging between real accounts through a real relay on 127.0.0.1:0.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{BURST_PATIENCE, Client, TestRelay, conversation, eventually, eventually_within};
use missiva_core::accounts::{AccountSetup, Accounts};
use missiva_core::events::EventKind;
use missiva_core::ids::{ChatId, MessageId};
use missiva_core::messages::MessageState;
use missiva_core::sync::{ConnectionState, FailPoint};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accounts_exchange_messages_both_ways_with_receipts() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let mut anna_events = anna.accounts.events().subscribe();

    let contact = anna.account.add_contact("@bea").await.unwrap();
    assert_eq!(contact.handle, "bea");
    assert_eq!(contact.safety_number.split(' ').count(), 12);
    let chat = anna.account.chat_for_contact(contact.id).await.unwrap();

    let sent = anna.account.send(chat, "ciao Bea").await.unwrap();
    assert!(sent.outgoing);
    assert_eq!(sent.sender, None);
    assert!(matches!(
        sent.state,
        MessageState::Pending | MessageState::Sent
    ));

    // Bea gets it, sees one unread chat, and her device confirms delivery.
    let bea_chat = eventually("bea receives", || async {
        let chats = bea.account.chats().await.unwrap();
        chats.into_iter().find(|c| c.unread == 1)
    })
    .await;
    let got = bea.account.messages(bea_chat.id, None, 50).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, sent.id);
    assert_eq!(got[0].text, "ciao Bea");
    assert_eq!(got[0].state, MessageState::Received);
    assert!(!got[0].outgoing);
    assert_eq!(bea.accounts.list()[0].unread, 1);
    eventually("anna sees delivered", || async {
        let m = anna.account.message(sent.id).await.unwrap();
        (m.state == MessageState::Delivered).then_some(())
    })
    .await;

    // Reading sends a read receipt.
    bea.account.mark_read(bea_chat.id).await.unwrap();
    assert_eq!(bea.account.chats().await.unwrap()[0].unread, 0);
    eventually("anna sees read", || async {
        let m = anna.account.message(sent.id).await.unwrap();
        (m.state == MessageState::Read).then_some(())
    })
    .await;

    // Bea answers in the same session; Anna's notification event names the message.
    let reply = bea.account.send(bea_chat.id, "ciao Anna!").await.unwrap();
    let seen = eventually("anna receives the reply", || async {
        let page = anna.account.messages(chat, None, 50).await.unwrap();
        (page.len() == 2).then_some(page)
    })
    .await;
    assert_eq!(seen[1].id, reply.id);
    assert_eq!(seen[1].sender.as_deref(), Some("bea"));
    let mut incoming = None;
    while let Some(e) = anna_events.try_recv() {
        if let EventKind::IncomingMessage { chat: c, message } = e.kind {
            incoming = Some((c, message));
        }
    }
    assert_eq!(incoming, Some((chat, reply.id)));
    let summary = &anna.account.chats().await.unwrap()[0];
    assert_eq!(summary.last_message.as_ref().unwrap().text, "ciao Anna!");
    assert_eq!(summary.handle.as_deref(), Some("bea"));
    assert_eq!(anna.account.connection_state(), ConnectionState::Online);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_never_added_is_named_by_their_handle_from_the_first_message() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let mut bea_events = bea.accounts.events().subscribe();
    let contact = anna.account.add_contact("bea").await.unwrap();
    let chat = anna.account.chat_for_contact(contact.id).await.unwrap();
    let sent = anna.account.send(chat, "first").await.unwrap();

    // The notification event comes once the relay confirmed the handle, so whatever shows the
    // notification reads the real handle.
    let (bea_chat, message) = tokio::time::timeout(common::PATIENCE, async {
        loop {
            let e = bea_events.recv().await.unwrap();
            if let EventKind::IncomingMessage { chat, message } = e.kind {
                return (chat, message);
            }
        }
    })
    .await
    .expect("bea receives");
    assert_eq!(message, sent.id);
    let got = bea.account.message(message).await.unwrap();
    assert_eq!(got.sender.as_deref(), Some("anna"));
    assert_eq!(got.text, "first");
    let chats = bea.account.chats().await.unwrap();
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].id, bea_chat);
    assert_eq!(chats[0].title, "anna");
    assert_eq!(chats[0].handle.as_deref(), Some("anna"));
    let contacts = bea.account.contacts().await.unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].handle, "anna");
    assert_eq!(contacts[0].display_name, "anna");
    assert_eq!(
        bea.account.contact_by_handle("@anna").await.unwrap().id,
        contacts[0].id
    );
    // Both computed the same safety number from the two identities.
    assert_eq!(contacts[0].safety_number, contact.safety_number);

    // Adding her now changes nothing but confirms her; messages flow both ways.
    let added = bea.account.add_contact("anna").await.unwrap();
    assert_eq!(added.id, contacts[0].id);
    assert!(!added.identity_changed);
    assert_eq!(bea.account.contacts().await.unwrap().len(), 1);
    bea.account.send(bea_chat, "hi back").await.unwrap();
    anna.account.send(chat, "second").await.unwrap();
    eventually("anna has the answer", || async {
        let p = anna.account.messages(chat, None, 10).await.unwrap();
        p.iter().any(|m| m.text == "hi back").then_some(())
    })
    .await;
    eventually("bea has the second", || async {
        let p = bea.account.messages(bea_chat, None, 10).await.unwrap();
        (p.iter().filter(|m| m.text == "second").count() == 1).then_some(())
    })
    .await;
    let page = bea.account.messages(bea_chat, None, 10).await.unwrap();
    assert!(
        page.iter()
            .filter(|m| !m.outgoing)
            .all(|m| m.sender.as_deref() == Some("anna"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_claiming_another_users_handle_keeps_a_placeholder() {
    let relay = TestRelay::start().await;
    let _bea = Client::new(&relay, "bea").await;
    let mallory = Client::new(&relay, "mallory").await;
    let carol = Client::new(&relay, "carol").await;
    // Mallory's app names her "bea" in what she sends; the relay knows better.
    mallory
        .account
        .store()
        .write(|tx| tx.execute("UPDATE identity SET handle = 'bea'", []))
        .unwrap();
    let mut carol_events = carol.accounts.events().subscribe();
    let c = mallory.account.add_contact("carol").await.unwrap();
    let chat = mallory.account.chat_for_contact(c.id).await.unwrap();
    mallory.account.send(chat, "it is me, bea").await.unwrap();

    // Held back until the relay answered the lookup: after it, the claim is settled.
    let message = tokio::time::timeout(common::PATIENCE, async {
        loop {
            let e = carol_events.recv().await.unwrap();
            if let EventKind::IncomingMessage { message, .. } = e.kind {
                return message;
            }
        }
    })
    .await
    .expect("carol receives");
    let got = carol.account.message(message).await.unwrap();
    let shown = got.sender.unwrap();
    assert!(shown.starts_with('#') && shown.len() == 17, "{shown}");
    let chats = carol.account.chats().await.unwrap();
    assert_eq!(chats[0].title, shown);
    let contacts = carol.account.contacts().await.unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].handle, shown);
    assert!(carol.account.contact_by_handle("bea").await.is_err());
    let claimed: String = carol
        .account
        .store()
        .read(|c| c.query_row("SELECT claimed_handle FROM contacts", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(claimed, "", "the refused claim is not checked again");

    // Carol can still name her by the handle the relay has for her.
    let added = carol.account.add_contact("mallory").await.unwrap();
    assert_eq!(added.id, contacts[0].id);
    let got = carol.account.message(message).await.unwrap();
    assert_eq!(got.sender.as_deref(), Some("mallory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_the_relay_could_not_confirm_is_confirmed_on_the_next_connection() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let contact = anna.account.add_contact("bea").await.unwrap();
    let chat = anna.account.chat_for_contact(contact.id).await.unwrap();

    // The connection drops after the message is stored and acknowledged, before the lookup.
    let mut events = bea.accounts.events().subscribe();
    bea.account
        .inject_fault(FailPoint::BeforeLookup)
        .await
        .unwrap();
    let sent = anna.account.send(chat, "are you there?").await.unwrap();
    let bea_chat = eventually("bea names anna after reconnecting", || async {
        let chats = bea.account.chats().await.unwrap();
        let c = chats.first()?;
        (c.title == "anna").then_some(c.id)
    })
    .await;
    let page = bea.account.messages(bea_chat, None, 10).await.unwrap();
    assert_eq!(page.len(), 1, "stored once");
    assert_eq!(page[0].id, sent.id);
    assert_eq!(page[0].sender.as_deref(), Some("anna"));
    assert_eq!(bea.account.contacts().await.unwrap()[0].handle, "anna");
    // The rename after the reconnection is announced (the placeholder's own contactsChanged
    // came before the drop).
    let (mut dropped, mut incoming) = (false, 0);
    tokio::time::timeout(common::PATIENCE, async {
        loop {
            match events.recv().await.unwrap().kind {
                EventKind::ConnectionChanged {
                    state: ConnectionState::Offline,
                } => dropped = true,
                EventKind::IncomingMessage { message, .. } if message == sent.id => incoming += 1,
                EventKind::ContactsChanged if dropped => return,
                _ => {}
            }
        }
    })
    .await
    .expect("contactsChanged after the reconnection");
    assert_eq!(incoming, 1, "announced once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_commit_or_the_ack_redelivers_and_shows_once() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let contact = anna.account.add_contact("bea").await.unwrap();
    let chat = anna.account.chat_for_contact(contact.id).await.unwrap();

    let bea_id = bea.account.id();
    for (point, text) in [
        (FailPoint::BeforeCommit, "lost before commit?"),
        (FailPoint::BeforeAck, "lost before ack?"),
    ] {
        let mut events = bea.accounts.events().subscribe();
        bea.account.inject_fault(point).await.unwrap();
        let sent = anna.account.send(chat, text).await.unwrap();
        eventually("delivered after the redelivery", || async {
            let m = anna.account.message(sent.id).await.unwrap();
            (m.state == MessageState::Delivered).then_some(())
        })
        .await;
        let bea_chat = bea.account.chats().await.unwrap()[0].id;
        let page = bea.account.messages(bea_chat, None, 50).await.unwrap();
        assert_eq!(
            page.iter().filter(|m| m.text == text).count(),
            1,
            "{point:?}: shown exactly once"
        );
        // The failure really dropped Bea's connection (and she came back).
        let mut dropped = false;
        while let Some(e) = events.try_recv() {
            dropped |= e.account == Some(bea_id)
                && e.kind
                    == (EventKind::ConnectionChanged {
                        state: ConnectionState::Offline,
                    });
        }
        assert!(dropped, "{point:?}: the connection was dropped");
    }
    // Let a late redelivery arrive, if the relay had any left.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bea_chat = bea.account.chats().await.unwrap()[0].id;
    assert_eq!(
        bea.account
            .messages(bea_chat, None, 50)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_offline_stays_pending_then_delivers() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let contact = anna.account.add_contact("bea").await.unwrap();
    let chat = anna.account.chat_for_contact(contact.id).await.unwrap();
    let url = relay.url.clone();
    let relay = relay.stop().await;
    eventually("anna notices", || async {
        (anna.account.connection_state() != ConnectionState::Online).then_some(())
    })
    .await;

    let sent = anna.account.send(chat, "while offline").await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        anna.account.message(sent.id).await.unwrap().state,
        MessageState::Pending
    );

    let _relay = relay.restart_at(&url).await;
    eventually("delivered after reconnecting", || async {
        let m = anna.account.message(sent.id).await.unwrap();
        (m.state == MessageState::Delivered).then_some(())
    })
    .await;
    let bea_chat = bea.account.chats().await.unwrap()[0].id;
    let page = bea.account.messages(bea_chat, None, 10).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].text, "while offline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_accounts_in_one_folder_all_receive_while_another_is_selected() {
    let relay = TestRelay::start().await;
    let sender = Client::new(&relay, "sender").await;
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = Accounts::open(dir.path(), common::file_keystore()).unwrap();
    let mut events = accounts.events().subscribe();
    let setup = |i: usize| AccountSetup {
        name: format!("R{i}"),
        relay: Some(relay.url.clone()),
        handle: Some(format!("rcpt{i}")),
    };
    let mut ids = Vec::new();
    for i in 0..2 {
        ids.push(accounts.create(setup(i)).await.unwrap().id);
    }
    accounts.start_sync().unwrap();
    // Accounts created after start_sync sync too.
    for i in 2..5 {
        ids.push(accounts.create(setup(i)).await.unwrap().id);
    }
    accounts.select(ids[4]).unwrap();

    for i in 0..5 {
        let c = sender
            .account
            .add_contact(&format!("rcpt{i}"))
            .await
            .unwrap();
        let chat = sender.account.chat_for_contact(c.id).await.unwrap();
        sender
            .account
            .send(chat, &format!("for r{i}"))
            .await
            .unwrap();
    }
    for (i, id) in ids.iter().enumerate() {
        let account = accounts.account(*id).unwrap();
        let page = eventually("every account receives", || async {
            let chats = account.chats().await.unwrap();
            let chat = chats.first()?;
            let page = account.messages(chat.id, None, 10).await.unwrap();
            (!page.is_empty()).then_some(page)
        })
        .await;
        let texts: Vec<_> = page.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, [format!("for r{i}")], "account r{i}");
        assert_eq!(account.chats().await.unwrap().len(), 1);
    }
    // The event follows the stored message once the relay has confirmed the sender's handle.
    let mut incoming = std::collections::BTreeMap::new();
    let count = |e: missiva_core::events::Event,
                 incoming: &mut std::collections::BTreeMap<_, _>| {
        if let EventKind::IncomingMessage { .. } = e.kind {
            *incoming.entry(e.account.unwrap()).or_insert(0) += 1;
        }
    };
    tokio::time::timeout(common::PATIENCE, async {
        while incoming.len() < 5 {
            count(events.recv().await.unwrap(), &mut incoming);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("an incomingMessage for every account: {incoming:?}"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    while let Some(e) = events.try_recv() {
        count(e, &mut incoming);
    }
    assert_eq!(incoming.len(), 5, "{incoming:?}");
    assert!(incoming.values().all(|n| *n == 1), "{incoming:?}");
    assert_eq!(accounts.selected(), Some(ids[4]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_identity_is_shown_as_a_warning_in_the_chat() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let old_carol = Client::new(&relay, "carol").await;
    let before = anna.account.add_contact("carol").await.unwrap();
    assert!(!before.identity_changed);
    let chat = anna.account.chat_for_contact(before.id).await.unwrap();
    anna.account.send(chat, "to the first carol").await.unwrap();

    // Carol's handle now belongs to someone else (a reinstall, or a takeover).
    common::move_handle(&relay, &old_carol.account, "carol_old").await;
    let new_carol = Client::new(&relay, "carol").await;
    let mut events = anna.accounts.events().subscribe();
    let after = anna.account.add_contact("carol").await.unwrap();
    assert_eq!(after.id, before.id);
    assert!(after.identity_changed);
    assert_ne!(after.safety_number, before.safety_number);
    let mut warned = false;
    while let Some(e) = events.try_recv() {
        warned |= e.kind == EventKind::IdentityChanged { contact: after.id };
    }
    assert!(warned, "identityChanged event");
    let page = anna.account.messages(chat, None, 10).await.unwrap();
    let system = page.last().unwrap();
    assert_eq!(system.kind, "system");
    assert!(system.text.contains("safety number"), "{}", system.text);
    assert!(!system.outgoing);

    // New messages go to the new identity only.
    anna.account.send(chat, "to the new carol").await.unwrap();
    eventually("the new carol receives", || async {
        let chats = new_carol.account.chats().await.unwrap();
        let c = chats.first()?;
        let p = new_carol.account.messages(c.id, None, 10).await.unwrap();
        (p.len() == 1 && p[0].text == "to the new carol").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_handle_or_a_failed_tls_handshake_leaves_no_account() {
    let relay = TestRelay::start().await;
    let _bea = Client::new(&relay, "bea").await;
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = Accounts::open(dir.path(), common::file_keystore()).unwrap();
    let taken = accounts
        .create(AccountSetup {
            name: "Impostor".to_owned(),
            relay: Some(relay.url.clone()),
            handle: Some("@BEA".to_owned()),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(taken, missiva_core::accounts::AccountsError::HandleTaken { ref handle } if handle == "bea"),
        "{taken}"
    );
    // The relay speaks no TLS: the handshake fails with an error, not a panic.
    let tls = accounts
        .create(AccountSetup {
            name: "Tls".to_owned(),
            relay: Some(relay.url.replace("ws://", "wss://")),
            handle: Some("tls_user".to_owned()),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(tls, missiva_core::accounts::AccountsError::Registration(_)),
        "{tls}"
    );
    assert!(accounts.list().is_empty());
    let folders = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir() && e.file_name() != "keys")
        .count();
    assert_eq!(folders, 0, "no account folder left behind");
    let keys = std::fs::read_dir(dir.path().join("keys")).map_or(0, |d| d.count());
    assert_eq!(keys, 0, "no key left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keystore_that_cannot_take_the_key_leaves_the_handle_free() {
    let relay = TestRelay::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = Accounts::open(dir.path(), common::file_keystore()).unwrap();
    let setup = || AccountSetup {
        name: "Dora".to_owned(),
        relay: Some(relay.url.clone()),
        handle: Some("dora".to_owned()),
    };
    // A file where the file keystore keeps its folder: no key can be saved.
    std::fs::write(dir.path().join("keys"), b"in the way").unwrap();
    let failed = accounts.create(setup()).await.unwrap_err();
    assert!(
        matches!(failed, missiva_core::accounts::AccountsError::Keystore(_)),
        "{failed}"
    );
    assert!(accounts.list().is_empty());
    // Once the keystore works, the same handle can still be had: it was never claimed.
    std::fs::remove_file(dir.path().join("keys")).unwrap();
    let info = accounts.create(setup()).await.unwrap();
    assert_eq!(info.handle.as_deref(), Some("dora"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_arrives_in_order_and_typing_is_never_stored() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let contact = anna.account.add_contact("bea").await.unwrap();
    let chat = anna.account.chat_for_contact(contact.id).await.unwrap();
    let sent: Vec<_> = {
        let mut ids = Vec::new();
        for i in 0..30 {
            ids.push(
                anna.account
                    .send(chat, &format!("n{i:02}"))
                    .await
                    .unwrap()
                    .id,
            );
        }
        ids
    };
    let page = eventually("all thirty arrive", || async {
        let chats = bea.account.chats().await.unwrap();
        let c = chats.first()?;
        let page = bea.account.messages(c.id, None, 100).await.unwrap();
        (page.len() >= 30).then_some(page)
    })
    .await;
    let got: Vec<_> = page.iter().map(|m| m.id).collect();
    assert_eq!(got, sent, "per-sender order kept, nothing twice");

    let bea_chat = page[0].chat;
    let mut events = anna.accounts.events().subscribe();
    bea.account.set_typing(bea_chat, true).await.unwrap();
    let typing = tokio::time::timeout(common::PATIENCE, async {
        loop {
            if let EventKind::Typing { chat: c, typing } = events.recv().await.unwrap().kind {
                return (c, typing);
            }
        }
    })
    .await
    .expect("anna sees bea typing");
    assert_eq!(typing, (chat, true));
    let page = anna.account.messages(chat, None, 100).await.unwrap();
    assert_eq!(page.len(), 30, "typing is not a message");
    // The session survives the ephemeral step on both sides.
    bea.account.send(bea_chat, "done typing").await.unwrap();
    eventually("anna gets the text after the typing", || async {
        let p = anna.account.messages(chat, None, 100).await.unwrap();
        p.iter().any(|m| m.text == "done typing").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_setting_up_a_session_at_once_still_talk() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let (a, b) = tokio::join!(
        anna.account.add_contact("bea"),
        bea.account.add_contact("anna")
    );
    let a_chat = anna.account.chat_for_contact(a.unwrap().id).await.unwrap();
    let b_chat = bea.account.chat_for_contact(b.unwrap().id).await.unwrap();
    for round in 0..3 {
        let (ta, tb) = (format!("a{round}"), format!("b{round}"));
        let (x, y) = tokio::join!(
            anna.account.send(a_chat, &ta),
            bea.account.send(b_chat, &tb)
        );
        x.unwrap();
        y.unwrap();
    }
    let texts = |page: Vec<missiva_core::messages::MessageView>| {
        page.into_iter()
            .filter(|m| !m.outgoing)
            .map(|m| m.text)
            .collect::<Vec<_>>()
    };
    let at_anna = eventually("anna has bea's three", || async {
        let t = texts(anna.account.messages(a_chat, None, 50).await.unwrap());
        (t.len() >= 3).then_some(t)
    })
    .await;
    let at_bea = eventually("bea has anna's three", || async {
        let t = texts(bea.account.messages(b_chat, None, 50).await.unwrap());
        (t.len() >= 3).then_some(t)
    })
    .await;
    assert_eq!(at_anna, ["b0", "b1", "b2"]);
    assert_eq!(at_bea, ["a0", "a1", "a2"]);
    assert_eq!(anna.account.chats().await.unwrap().len(), 1);
    assert_eq!(bea.account.chats().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_to_someone_without_keys_on_the_relay_fails_visibly() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    // A contact whose identity never published a bundle (their account is gone).
    let stranger = missiva_crypto::identity::IdentityKeyPair::generate(&mut rand::rng());
    let public = stranger.public().to_bytes().to_vec();
    let chat = anna
        .account
        .store()
        .write(|tx| {
            tx.execute(
                "INSERT INTO contacts (handle, identity_key, created_at) VALUES ('gone', ?1, 0)",
                [&public],
            )?;
            tx.execute(
                "INSERT INTO chats (kind, title, contact_id, created_at, last_activity_at)
                 VALUES ('direct', 'gone', last_insert_rowid(), 0, 0)",
                [],
            )?;
            Ok(missiva_core::ids::ChatId(tx.last_insert_rowid()))
        })
        .unwrap();
    let sent = anna.account.send(chat, "anyone there?").await.unwrap();
    eventually("the message fails", || async {
        let m = anna.account.message(sent.id).await.unwrap();
        (m.state == MessageState::Failed).then_some(())
    })
    .await;
    // The outbox moves on: a message to a real contact still goes out.
    let bea = Client::new(&relay, "bea").await;
    let c = anna.account.add_contact("bea").await.unwrap();
    let bea_chat = anna.account.chat_for_contact(c.id).await.unwrap();
    anna.account.send(bea_chat, "hi").await.unwrap();
    eventually("bea receives", || async {
        let chats = bea.account.chats().await.unwrap();
        (!chats.is_empty()).then_some(())
    })
    .await;
}

/// Waits until every message in `sent` is at least `delivered` on the sender's side (which
/// it reaches only through `sent`, after the relay's Ok).
async fn all_delivered(client: &Client, sent: &[MessageId]) {
    eventually_within(BURST_PATIENCE, "every message is delivered", || async {
        for id in sent {
            let state = client.account.message(*id).await.unwrap().state;
            if !matches!(state, MessageState::Delivered | MessageState::Read) {
                return None;
            }
        }
        Some(())
    })
    .await;
}

/// Anna's chats with each of `handles`, each registered on `relay`.
async fn contacts_of(relay: &TestRelay, anna: &Client, handles: &[&str]) -> Vec<(Client, ChatId)> {
    let mut out = Vec::new();
    for handle in handles {
        let peer = Client::new(relay, handle).await;
        let contact = anna.account.add_contact(handle).await.unwrap();
        let chat = anna.account.chat_for_contact(contact.id).await.unwrap();
        out.push((peer, chat));
    }
    out
}

/// Sends `per_peer` messages to each chat of `peers`, interleaved; returns the ids and texts.
async fn interleaved_burst(
    anna: &Client,
    peers: &[(Client, ChatId)],
    per_peer: usize,
) -> (Vec<MessageId>, Vec<Vec<String>>) {
    let mut ids = Vec::new();
    let mut texts = vec![Vec::new(); peers.len()];
    for i in 0..per_peer {
        for (p, (_, chat)) in peers.iter().enumerate() {
            let text = format!("to {p} #{i:03}");
            ids.push(anna.account.send(*chat, &text).await.unwrap().id);
            texts[p].push(text);
        }
    }
    (ids, texts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_five_hundred_arrives_once_in_order_and_every_message_is_delivered() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let contact = anna.account.add_contact("bea").await.unwrap();
    let chat = anna.account.chat_for_contact(contact.id).await.unwrap();

    let mut sent = Vec::new();
    let mut texts = Vec::new();
    for i in 0..500 {
        let text = format!("burst #{i:03}");
        sent.push(anna.account.send(chat, &text).await.unwrap().id);
        texts.push(text);
    }
    assert_eq!(conversation(&bea, 500).await, texts, "once each, in order");
    all_delivered(&anna, &sent).await;
    let page = anna.account.messages(chat, None, 1000).await.unwrap();
    let ids: Vec<_> = page.iter().map(|m| m.id).collect();
    assert_eq!(ids, sent, "the sender's side is unchanged too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_to_several_contacts_keeps_each_conversation_in_order_across_a_dropped_connection()
{
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let peers = contacts_of(&relay, &anna, &["bea", "carl", "dora", "eva"]).await;
    let mut events = anna.accounts.events().subscribe();
    let anna_id = anna.account.id();
    let offline = EventKind::ConnectionChanged {
        state: ConnectionState::Offline,
    };
    // Drained as they come: the burst's own events would overflow a receiver left alone.
    let dropped = tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            if e.account == Some(anna_id) && e.kind == offline {
                return;
            }
        }
    });
    // The connection drops once the relay stored one envelope while others await its answer:
    // those are sent again, with the same ids, on the next connection.
    anna.account
        .inject_fault(FailPoint::AfterSendOk)
        .await
        .unwrap();

    let (sent, texts) = interleaved_burst(&anna, &peers, 60).await;
    for ((peer, _), expected) in peers.iter().zip(&texts) {
        assert_eq!(
            &conversation(peer, 60).await,
            expected,
            "once each, in order"
        );
    }
    all_delivered(&anna, &sent).await;
    tokio::time::timeout(common::PATIENCE, dropped)
        .await
        .expect("the fault dropped anna's connection mid-burst")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_task_aborted_mid_burst_resends_after_a_restart_without_loss_or_duplicates() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let peers = contacts_of(&relay, &anna, &["bea", "carl", "dora", "eva"]).await;

    let (sent, texts) = interleaved_burst(&anna, &peers, 75).await;
    // Abort once part of the burst went out, the rest still queued or in flight.
    let went = eventually("part of the burst is sent", || async {
        let mut went = 0;
        for id in &sent {
            if anna.account.message(*id).await.unwrap().state != MessageState::Pending {
                went += 1;
            }
        }
        (went >= 8).then_some(went)
    })
    .await;
    assert!(went < sent.len(), "aborted mid-burst ({went} already out)");
    let anna = anna.restart();

    for ((peer, _), expected) in peers.iter().zip(&texts) {
        assert_eq!(
            &conversation(peer, 75).await,
            expected,
            "once each, in order"
        );
    }
    all_delivered(&anna, &sent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_written_offline_goes_out_in_order_once_online() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let peers = contacts_of(&relay, &anna, &["bea", "carl"]).await;
    // Sessions first, so that the whole backlog is ready to go the moment anna reconnects.
    for (_, chat) in &peers {
        anna.account.send(*chat, "hello").await.unwrap();
    }
    for (peer, _) in &peers {
        conversation(peer, 1).await;
    }
    let url = relay.url.clone();
    let relay = relay.stop().await;
    eventually("anna notices", || async {
        (anna.account.connection_state() != ConnectionState::Online).then_some(())
    })
    .await;

    let (mut sent, mut texts) = interleaved_burst(&anna, &peers, 200).await;
    let _relay = relay.restart_at(&url).await;
    // A new message makes anna retry at once rather than at the end of her backoff.
    let (_, first_chat) = &peers[0];
    sent.push(anna.account.send(*first_chat, "back").await.unwrap().id);
    texts[0].push("back".to_owned());
    for ((peer, _), expected) in peers.iter().zip(&texts) {
        let got = conversation(peer, expected.len() + 1).await;
        assert_eq!(got.first().map(String::as_str), Some("hello"));
        assert_eq!(&got[1..], expected, "once each, in order");
    }
    all_delivered(&anna, &sent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailbox_holds_back_only_its_recipient_and_is_retried_in_order() {
    let limits = missiva_relay::Limits {
        max_queue_per_recipient: 5,
        ..missiva_relay::Limits::default()
    };
    let relay = TestRelay::start_with(limits).await;
    let anna = Client::new(&relay, "anna").await;
    let mut peers = contacts_of(&relay, &anna, &["bea", "carl"]).await;
    let (carl, carl_chat) = peers.pop().unwrap();
    let (bea, bea_chat) = peers.pop().unwrap();
    // Bea is away: her mailbox fills after five envelopes.
    let bea = bea.stop();

    let mut to_bea = Vec::new();
    for i in 0..8 {
        to_bea.push(
            anna.account
                .send(bea_chat, &format!("bea {i}"))
                .await
                .unwrap()
                .id,
        );
    }
    let mut to_carl = Vec::new();
    for i in 0..3 {
        to_carl.push(
            anna.account
                .send(carl_chat, &format!("carl {i}"))
                .await
                .unwrap()
                .id,
        );
    }
    // Carl's messages are not held up behind Bea's refused ones.
    assert_eq!(conversation(&carl, 3).await, ["carl 0", "carl 1", "carl 2"]);
    all_delivered(&anna, &to_carl).await;
    eventually("bea's mailbox is full", || async {
        let mut sent = 0;
        for id in &to_bea {
            sent +=
                usize::from(anna.account.message(*id).await.unwrap().state == MessageState::Sent);
        }
        (sent == 5).then_some(())
    })
    .await;
    for id in &to_bea[5..] {
        let state = anna.account.message(*id).await.unwrap().state;
        assert_eq!(state, MessageState::Pending, "refused for now, not failed");
    }

    // Bea comes back and empties her mailbox: the rest follow, in order.
    let bea = bea.start();
    let expected: Vec<_> = (0..8).map(|i| format!("bea {i}")).collect();
    assert_eq!(conversation(&bea, 8).await, expected);
    all_delivered(&anna, &to_bea).await;
}
