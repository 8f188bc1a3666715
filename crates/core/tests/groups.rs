//! Encrypted groups between cores through a real relay: three members talking, a removed member
//! who kept every key cannot decrypt what follows, a late joiner cannot decrypt what came
//! before, polls in a group, and a group of 200.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{BURST_PATIENCE, Client, TestRelay, eventually, eventually_within};
use missiva_core::chats::ChatError;
use missiva_core::groups::{self, GroupError, GroupInfo};
use missiva_core::ids::{ChatId, ContactId, MessageId};
use missiva_core::messages::MessageError;
use missiva_core::polls::PollSetup;
use missiva_crypto::sender_keys::SenderKeyError;

/// A 1x1 PNG.
const PNG: &str = "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c6378e0e000000364016134e983c30000000049454e44ae426082";

async fn contact(client: &Client, handle: &str) -> ContactId {
    match client.account.contact_by_handle(handle).await {
        Ok(c) => c.id,
        Err(_) => client.account.add_contact(handle).await.unwrap().id,
    }
}

/// Waits until `client` has the group `id` with `members` members, this account among them.
async fn joined(client: &Client, id: &str, members: usize) -> GroupInfo {
    eventually(&format!("group with {members} members"), || async {
        let g = client.account.group_by_id(id).await.ok()?;
        (g.member && g.members.len() == members).then_some(g)
    })
    .await
}

/// The texts of `chat` (system lines included), oldest first.
async fn texts(client: &Client, chat: ChatId) -> Vec<String> {
    client
        .account
        .messages(chat, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect()
}

async fn has_text(client: &Client, chat: ChatId, text: &str) -> bool {
    texts(client, chat).await.iter().any(|t| t == text)
}

async fn until_text(client: &Client, chat: ChatId, text: &str) {
    eventually(&format!("{text:?} arrives"), || async {
        has_text(client, chat, text).await.then_some(())
    })
    .await;
}

fn identity(client: &Client) -> Vec<u8> {
    client
        .account
        .store()
        .read(|c| c.query_row("SELECT public FROM identity", [], |r| r.get(0)))
        .unwrap()
}

/// The encrypted group message queued for `message` (still in the outbox: the relay is down).
fn ciphertext(client: &Client, message: MessageId) -> Vec<u8> {
    client
        .account
        .store()
        .read(|c| {
            c.query_row(
                "SELECT content FROM outbox WHERE message_uid = ?1 LIMIT 1",
                [message.0.as_slice()],
                |r| r.get(0),
            )
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_talk_and_see_who_changed_what() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let cleo = Client::new(&relay, "cleo").await;
    let members = vec![contact(&anna, "bea").await, contact(&anna, "cleo").await];
    let created = anna
        .account
        .create_group("Book club", members)
        .await
        .unwrap();
    assert!(created.admin && created.member);
    assert_eq!(created.members.len(), 3);

    let b = joined(&bea, &created.id, 3).await;
    let c = joined(&cleo, &created.id, 3).await;
    assert_eq!(b.name, "Book club");
    assert!(!b.admin);
    until_text(&bea, b.chat, "@anna added you to “Book club”").await;

    // Everyone writes; everyone else reads it, in each sender's order.
    anna.account
        .send(created.chat, "hello from anna")
        .await
        .unwrap();
    bea.account.send(b.chat, "bea here").await.unwrap();
    bea.account.send(b.chat, "bea again").await.unwrap();
    cleo.account.send(c.chat, "and cleo").await.unwrap();
    for (client, chat) in [(&anna, created.chat), (&bea, b.chat), (&cleo, c.chat)] {
        for text in ["hello from anna", "bea here", "bea again", "and cleo"] {
            until_text(client, chat, text).await;
        }
        let all = texts(client, chat).await;
        let first = all.iter().position(|t| t == "bea here").unwrap();
        let second = all.iter().position(|t| t == "bea again").unwrap();
        assert!(first < second, "per-sender order: {all:?}");
    }
    // The group's messages show their sender; ours go sent once the relay has every copy.
    let page = anna
        .account
        .messages(created.chat, None, 100)
        .await
        .unwrap();
    let from_bea = page.iter().find(|m| m.text == "bea here").unwrap();
    assert_eq!(from_bea.sender.as_deref(), Some("bea"));
    eventually("anna's message sent", || async {
        let page = anna.account.messages(created.chat, None, 100).await.ok()?;
        let m = page.into_iter().find(|m| m.text == "hello from anna")?;
        (m.state == missiva_core::messages::MessageState::Sent).then_some(())
    })
    .await;

    // Rename and a new admin: every member sees the lines and the new state.
    anna.account
        .rename_group(created.chat, "Book club 2027")
        .await
        .unwrap();
    let bea_on_anna = contact(&anna, "bea").await;
    anna.account
        .set_group_admin(created.chat, bea_on_anna, true)
        .await
        .unwrap();
    until_text(&cleo, c.chat, "@anna renamed the group to “Book club 2027”").await;
    until_text(&cleo, c.chat, "@anna made @bea an admin").await;
    let b = eventually("bea is an admin", || async {
        let g = bea.account.group(b.chat).await.ok()?;
        g.admin.then_some(g)
    })
    .await;
    assert_eq!(b.name, "Book club 2027");

    // A picture: Anna sets it, everyone gets it; something else is refused.
    let picture = hex::decode(PNG).unwrap();
    anna.account
        .set_group_avatar(created.chat, Some(picture.clone()))
        .await
        .unwrap();
    until_text(&cleo, c.chat, "@anna changed the group's picture").await;
    assert_eq!(
        cleo.account.group_avatar(c.chat).await.unwrap(),
        Some(picture.clone())
    );
    assert!(cleo.account.group(c.chat).await.unwrap().avatar);
    assert!(matches!(
        anna.account
            .set_group_avatar(created.chat, Some(b"GIF89a not allowed".to_vec()))
            .await,
        Err(GroupError::BadAvatar)
    ));
    assert!(matches!(
        cleo.account.set_group_avatar(c.chat, None).await,
        Err(GroupError::NotAdmin)
    ));

    // Cleo is not an admin: she cannot remove anyone.
    let anna_on_cleo = contact(&cleo, "anna").await;
    assert!(matches!(
        cleo.account.remove_group_member(c.chat, anna_on_cleo).await,
        Err(GroupError::NotAdmin)
    ));

    // Cleo leaves: the others see it, and she can no longer send there.
    cleo.account.leave_group(c.chat).await.unwrap();
    until_text(&anna, created.chat, "@cleo left the group").await;
    until_text(&bea, b.chat, "@cleo left the group").await;
    assert!(matches!(
        cleo.account.send(c.chat, "still here?").await,
        Err(MessageError::Chat(ChatError::NotMember { .. }))
    ));
    bea.account.send(b.chat, "just us now").await.unwrap();
    until_text(&anna, created.chat, "just us now").await;
    assert_eq!(
        anna.account
            .group(created.chat)
            .await
            .unwrap()
            .members
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_members_and_late_joiners_cannot_decrypt() {
    let relay = TestRelay::start().await;
    let url = relay.url.clone();
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let dan = Client::new(&relay, "dan").await;
    let eve = Client::new(&relay, "eve").await;
    let members = vec![contact(&anna, "bea").await, contact(&anna, "dan").await];
    let eve_on_anna = contact(&anna, "eve").await;
    let dan_on_anna = contact(&anna, "dan").await;
    let g = anna.account.create_group("Secrets", members).await.unwrap();
    let b = joined(&bea, &g.id, 3).await;
    let d = joined(&dan, &g.id, 3).await;
    anna.account.send(g.chat, "everyone").await.unwrap();
    until_text(&dan, d.chat, "everyone").await;
    until_text(&bea, b.chat, "everyone").await;

    // With the relay down, what Anna queues stays in her outbox, encrypted: keep the bytes.
    let stopped = relay.stop().await;
    let before = anna.account.send(g.chat, "before eve").await.unwrap().id;
    let before_bytes = ciphertext(&anna, before);
    anna.account
        .add_group_members(g.chat, vec![eve_on_anna])
        .await
        .unwrap();
    let with_eve = anna.account.send(g.chat, "eve is here").await.unwrap().id;
    let with_eve_bytes = ciphertext(&anna, with_eve);
    anna.account
        .remove_group_member(g.chat, dan_on_anna)
        .await
        .unwrap();
    let after = anna.account.send(g.chat, "without dan").await.unwrap().id;
    let after_bytes = ciphertext(&anna, after);
    let relay = stopped.restart_at(&url).await;

    // Bea reads everything; Dan everything up to his removal; Eve everything from her arrival.
    let e = joined(&eve, &g.id, 3).await;
    for text in ["before eve", "eve is here", "without dan"] {
        until_text(&bea, b.chat, text).await;
    }
    until_text(&dan, d.chat, "eve is here").await;
    until_text(&dan, d.chat, "@anna removed you").await;
    until_text(&bea, b.chat, "@anna removed @dan").await;
    until_text(&bea, b.chat, "@anna added @eve").await;
    until_text(&eve, e.chat, "without dan").await;
    until_text(&eve, e.chat, "eve is here").await;
    assert!(!has_text(&eve, e.chat, "before eve").await);
    assert!(!has_text(&eve, e.chat, "everyone").await);
    assert!(!has_text(&dan, d.chat, "without dan").await);
    assert!(!dan.account.group(d.chat).await.unwrap().member);

    // Even holding every key he was given, Dan cannot decrypt what came after his removal:
    // Anna's chain was replaced and he never got the new one.
    let anna_id = identity(&anna);
    assert!(matches!(
        groups::try_decrypt(dan.account.store(), &anna_id, &after_bytes),
        Err(SenderKeyError::UnknownKeyId(_))
    ));
    // Eve was given Anna's chain as it stood when she joined: the earlier message's key is
    // behind it and cannot be derived.
    assert_eq!(
        groups::try_decrypt(eve.account.store(), &anna_id, &before_bytes),
        Err(SenderKeyError::Duplicate)
    );
    // (The message sent while both were members was readable by both, and was read.)
    assert!(has_text(&dan, d.chat, "eve is here").await);
    assert!(!with_eve_bytes.is_empty());
    drop(relay);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_in_a_group_converges_for_every_member() {
    let relay = TestRelay::start().await;
    let anna = Client::new(&relay, "anna").await;
    let bea = Client::new(&relay, "bea").await;
    let cleo = Client::new(&relay, "cleo").await;
    let members = vec![contact(&anna, "bea").await, contact(&anna, "cleo").await];
    let g = anna.account.create_group("Lunch", members).await.unwrap();
    joined(&bea, &g.id, 3).await;
    joined(&cleo, &g.id, 3).await;

    // A public poll: everyone's votes reach everyone.
    let public = anna
        .account
        .create_poll(
            g.chat,
            PollSetup {
                question: "Where?".into(),
                options: vec!["Pizza".into(), "Sushi".into()],
                ..PollSetup::default()
            },
        )
        .await
        .unwrap()
        .id;
    // An anonymous quiz: votes go to Anna only, who publishes the counts.
    let quiz = anna
        .account
        .create_poll(
            g.chat,
            PollSetup {
                question: "Capital of Italy?".into(),
                options: vec!["Milan".into(), "Rome".into(), "Turin".into()],
                anonymous: true,
                quiz_correct: Some(1),
                explanation: "Since 1871".into(),
                ..PollSetup::default()
            },
        )
        .await
        .unwrap()
        .id;
    for client in [&bea, &cleo] {
        eventually("the polls arrive", || async {
            client.account.poll(public).await.ok()?;
            client.account.poll(quiz).await.ok()
        })
        .await;
    }
    anna.account.vote(public, vec![0]).await.unwrap();
    bea.account.vote(public, vec![1]).await.unwrap();
    cleo.account.vote(public, vec![1]).await.unwrap();
    bea.account.vote(quiz, vec![1]).await.unwrap();
    cleo.account.vote(quiz, vec![0]).await.unwrap();
    anna.account.vote(quiz, vec![1]).await.unwrap();
    for client in [&anna, &bea, &cleo] {
        let p = eventually("public votes everywhere", || async {
            let p = client.account.poll(public).await.ok()?.poll?;
            let votes: Vec<Option<u32>> = p.options.iter().map(|o| o.votes).collect();
            (votes == [Some(1), Some(2)]).then_some(p)
        })
        .await;
        let mut voters = p.options[1].voters.clone().unwrap();
        voters.sort();
        assert_eq!(voters, ["bea", "cleo"]);
        let q = eventually("quiz counts everywhere", || async {
            let p = client.account.poll(quiz).await.ok()?.poll?;
            let votes: Vec<Option<u32>> = p.options.iter().map(|o| o.votes).collect();
            (votes == [Some(1), Some(2), Some(0)]).then_some(p)
        })
        .await;
        assert!(q.options.iter().all(|o| o.voters.is_none()));
    }
    // Anonymous: Bea's store holds no vote of Cleo's or Anna's in the quiz, only her own.
    let foreign: i64 = bea
        .account
        .store()
        .read(|c| {
            c.query_row(
                "SELECT count(*) FROM poll_events e JOIN polls p ON p.message_id = e.poll_id
                 JOIN messages m ON m.id = p.message_id
                 WHERE m.uid = ?1 AND e.kind = 'vote' AND e.voter_id != 0",
                [quiz.0.as_slice()],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(foreign, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_two_hundred_members_reads_each_message_once() {
    let limits = missiva_relay::Limits {
        handle_registrations_per_minute_per_ip: 1000,
        bundle_fetches_per_minute: 1000,
        ..missiva_relay::Limits::default()
    };
    let relay = TestRelay::start_with(limits).await;
    let admin = Client::new(&relay, "admin").await;
    let mut others = Vec::new();
    for i in 1..200 {
        others.push(Client::new(&relay, &format!("member{i:03}")).await);
    }
    let mut ids = Vec::new();
    for i in 1..200 {
        ids.push(contact(&admin, &format!("member{i:03}")).await);
    }
    let g = admin
        .account
        .create_group("Two hundred", ids)
        .await
        .unwrap();
    assert_eq!(g.members.len(), 200);
    admin
        .account
        .send(g.chat, "hello, 199 of you")
        .await
        .unwrap();
    let last = &others[198];
    let on_last = eventually_within(BURST_PATIENCE, "the last member joins", || async {
        last.account.group_by_id(&g.id).await.ok()
    })
    .await;
    last.account
        .send(on_last.chat, "the last one answers")
        .await
        .unwrap();
    for client in &others {
        let chat = eventually_within(BURST_PATIENCE, "a member joins", || async {
            client.account.group_by_id(&g.id).await.ok().map(|g| g.chat)
        })
        .await;
        eventually_within(BURST_PATIENCE, "both messages arrive", || async {
            let t = texts(client, chat).await;
            let once = |s: &str| t.iter().filter(|x| *x == s).count() == 1;
            (once("hello, 199 of you")
                && (std::ptr::eq(client, last) || once("the last one answers")))
            .then_some(())
        })
        .await;
    }
    until_text(&admin, g.chat, "the last one answers").await;
}
