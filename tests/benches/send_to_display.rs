//! Send-to-display latency: two cores (file keystore, SQLCipher databases) talk through a real
//! `missiva-relay` process on loopback. For 1,000 messages sent one after the other, the time
//! from `send()` returning to the recipient's `incomingMessage` event, and to the message being
//! readable through `messages()`; then the messages per second that makes.
//!
//! `make bench` runs it with `MISSIVA_RELAY_BIN` set to a release relay; without it, the relay
//! beside this benchmark is used (`cargo build --release -p missiva-relay` first).

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
use missiva_tests::RelayProcess;

use common::{client, ms, percentile};

/// Messages measured.
const MESSAGES: usize = 1000;
/// Messages sent first and not measured (session setup, caches).
const WARM_UP: usize = 20;
/// Longest wait for one message before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(30);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let relay = RelayProcess::start().unwrap();
    let (anna_accounts, anna, _anna_dir) = client(&relay.url, "anna").await;
    let (bea_accounts, bea, _bea_dir) = client(&relay.url, "bea").await;
    let contact = anna.add_contact("bea").await.unwrap();
    let chat = anna.chat_for_contact(contact.id).await.unwrap();
    let mut events = bea_accounts.events().subscribe();

    let mut bea_chat = None;
    for i in 0..WARM_UP {
        let sent = anna.send(chat, &format!("warm-up {i}")).await.unwrap();
        bea_chat = Some(arrival(&mut events, &bea, sent.id).await);
    }
    let bea_chat = bea_chat.unwrap();

    let mut send_times = Vec::with_capacity(MESSAGES);
    let mut to_event = Vec::with_capacity(MESSAGES);
    let mut to_display = Vec::with_capacity(MESSAGES);
    let started = Instant::now();
    for i in 0..MESSAGES {
        let text = format!("message {i} of the send-to-display benchmark");
        let before_send = Instant::now();
        let sent = anna.send(chat, &text).await.unwrap();
        let returned = Instant::now();
        send_times.push(returned - before_send);
        arrival(&mut events, &bea, sent.id).await;
        to_event.push(returned.elapsed());
        // What the UI does on the event: re-query the conversation.
        let page = bea.messages(bea_chat, None, 50).await.unwrap();
        to_display.push(returned.elapsed());
        let last = page.last().unwrap();
        assert!(last.id == sent.id && last.text == text, "not displayable");
    }
    let total = started.elapsed();
    let rate = MESSAGES as f64 / total.as_secs_f64();

    println!();
    println!(
        "send-to-display: {MESSAGES} messages one after another, two cores through a \
         missiva-relay process on loopback ({WARM_UP} warm-up messages not counted)"
    );
    println!("{:<44} {:>9} {:>9} {:>9}", "", "p50", "p99", "max");
    for (name, samples) in [
        ("send() (local commit)", &mut send_times),
        ("send() returned -> incomingMessage event", &mut to_event),
        ("send() returned -> readable in messages()", &mut to_display),
    ] {
        samples.sort();
        println!(
            "{name:<44} {:>9} {:>9} {:>9}",
            ms(percentile(samples, 0.50)),
            ms(percentile(samples, 0.99)),
            ms(*samples.last().unwrap())
        );
    }
    println!(
        "{:<44} {:>9.0} messages/s ({:.2?} for {MESSAGES})",
        "throughput, one message in flight", rate, total
    );
    drop((anna_accounts, bea_accounts));
}

/// Waits for bea's `incomingMessage` for `id`; returns its chat.
async fn arrival(events: &mut EventReceiver, bea: &Account, id: MessageId) -> ChatId {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the message did not arrive in time")
            .expect("the event bus closed");
        match event.kind {
            EventKind::IncomingMessage { chat, message } if message == id => return chat,
            // Never expected here (the loop drains every event), but then the event may be gone.
            EventKind::EventsLost { .. } => {
                if let Ok(m) = bea.message(id).await {
                    return m.chat;
                }
            }
            _ => {}
        }
    }
}
