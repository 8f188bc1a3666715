//! Group send to 200 members: 200 cores (file keystore, SQLCipher databases) in one process and
//! a real `missiva-relay` process on loopback. After a warm-up message (sessions and sender keys
//! in place), the admin sends messages one after the other; for each: the time `send()` takes
//! (encrypt once with the sender key, one outbox row per member, one transaction), the relay
//! fan-out (until the relay has stored an envelope for every one of the 199 others: the message
//! turns `sent`), and until the last member's core has it.
//!
//! `make bench` runs it with `MISSIVA_RELAY_BIN` set to a release relay.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, Instant};

use missiva_core::account::Account;
use missiva_core::events::{EventKind, EventReceiver};
use missiva_core::ids::{ChatId, MessageId};
use missiva_core::messages::MessageState;
use missiva_tests::RelayProcess;

use common::{client, ms, percentile};
use tokio::sync::mpsc;

/// Members, the admin included.
const MEMBERS: usize = 200;
/// Messages measured.
const MESSAGES: usize = 30;
/// Longest wait for one message before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(120);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    // 200 accounts register from one address and the admin fetches 199 bundles: above the
    // default per-minute limits, which guard a public relay against abuse.
    let relay = RelayProcess::start_with_config(
        "handle_registrations_per_minute_per_ip = 1000\nbundle_fetches_per_minute = 1000\n",
    )
    .unwrap();
    let setup = Instant::now();
    let (admin_accounts, admin, _admin_dir) = client(&relay.url, "admin").await;
    let mut members = Vec::new();
    for i in 1..MEMBERS {
        members.push(client(&relay.url, &format!("member{i:03}")).await);
    }
    let mut ids = Vec::new();
    for i in 1..MEMBERS {
        ids.push(
            admin
                .add_contact(&format!("member{i:03}"))
                .await
                .unwrap()
                .id,
        );
    }
    // Every member reports each message it receives: (member, message, when).
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, MessageId, Instant)>();
    for (n, (accounts, _, _)) in members.iter().enumerate() {
        let mut events = accounts.events().subscribe();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let EventKind::IncomingMessage { message, .. } = event.kind {
                    let _ = tx.send((n, message, Instant::now()));
                }
            }
        });
    }
    let group = admin.create_group("Benchmark", ids).await.unwrap();
    let warm = admin.send(group.chat, "warm-up").await.unwrap().id;
    wait_all(&mut rx, warm).await;
    println!(
        "\ngroup send: {MEMBERS} members (199 cores receiving), a missiva-relay process on \
         loopback; set-up and warm-up {:.1?}",
        setup.elapsed()
    );

    let mut admin_events = admin_accounts.events().subscribe();
    let mut enqueue = Vec::with_capacity(MESSAGES);
    let mut fan_out = Vec::with_capacity(MESSAGES);
    let mut last_member = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        while admin_events.try_recv().is_some() {}
        let before = Instant::now();
        let sent = admin
            .send(group.chat, &format!("message {i} to 199 members"))
            .await
            .unwrap();
        let returned = Instant::now();
        enqueue.push(returned - before);
        until_sent(&mut admin_events, &admin, group.chat, sent.id).await;
        fan_out.push(returned.elapsed());
        let last = wait_all(&mut rx, sent.id).await;
        last_member.push(last - returned);
    }

    // The same with the 199 members offline: the sender and the relay alone (above, the
    // members' 199 decryptions and commits share the machine's two cores with them).
    drop(members);
    // Let the relay see the 199 connections close before measuring.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut offline_fan_out = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        while admin_events.try_recv().is_some() {}
        let sent = admin
            .send(
                group.chat,
                &format!("message {i} while the members are offline"),
            )
            .await
            .unwrap();
        let returned = Instant::now();
        until_sent(&mut admin_events, &admin, group.chat, sent.id).await;
        offline_fan_out.push(returned.elapsed());
    }

    println!("{:<60} {:>9} {:>9} {:>9}", "", "p50", "p99", "max");
    for (name, samples) in [
        (
            "send(): encrypt once + 199 outbox rows, committed",
            &mut enqueue,
        ),
        (
            "send() returned -> relay stored all 199 (fan-out)",
            &mut fan_out,
        ),
        (
            "send() returned -> the last member has it",
            &mut last_member,
        ),
        (
            "fan-out with the members offline (sender + relay only)",
            &mut offline_fan_out,
        ),
    ] {
        samples.sort();
        println!(
            "{name:<60} {:>9} {:>9} {:>9}",
            ms(percentile(samples, 0.50)),
            ms(percentile(samples, 0.99)),
            ms(*samples.last().unwrap())
        );
    }
    drop(admin_accounts);
}

/// Waits until `id`, in `chat`, is `sent`: the relay acknowledged the envelope of every member.
async fn until_sent(events: &mut EventReceiver, account: &Account, chat: ChatId, id: MessageId) {
    loop {
        let event = tokio::time::timeout(PATIENCE, events.recv())
            .await
            .expect("the relay did not take every envelope in time")
            .expect("the event bus closed");
        if matches!(event.kind, EventKind::MessagesChanged { chat: c } if c == chat)
            && account.message(id).await.unwrap().state == MessageState::Sent
        {
            return;
        }
    }
}

/// Waits until all 199 members reported `id`; returns when the last one did.
async fn wait_all(
    rx: &mut mpsc::UnboundedReceiver<(usize, MessageId, Instant)>,
    id: MessageId,
) -> Instant {
    let mut seen = [false; MEMBERS - 1];
    let mut count = 0;
    let mut last = Instant::now();
    while count < MEMBERS - 1 {
        let (n, message, at) = tokio::time::timeout(PATIENCE, rx.recv())
            .await
            .expect("a member did not get the message in time")
            .expect("the channel closed");
        if message == id && !seen[n] {
            seen[n] = true;
            count += 1;
            last = at;
        }
    }
    last
}
