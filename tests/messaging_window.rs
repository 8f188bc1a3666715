//! Two real app windows (two data folders) and a real relay: each creates an account with a
//! handle, one adds the other and writes; the message arrives in the other window, the
//! sender's ticks go sent -> delivered -> read, the receiver gets a desktop notification (on a
//! fake notification server on the private session bus) and clicking it shows the chat. Then
//! a poll: made from the composer's "+" menu in one window, voted in the other, bars updating.
//! Then a group: made from the "New group" dialog, a message each way with the sender named,
//! the line saying who added whom, and the group's page with its members.
//! Run by `make test-app` (Xvfb + dbus-run-session); `--ignored` elsewhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use fantoccini::Client;
use missiva_tests::window::{WAIT, create_account, driver_on, poll_js, shoot, wait_css};
use missiva_tests::{NotificationServer, RelayProcess, launch};
use serde_json::Value;

/// The text and tick state of every message line on screen: `[[text, state|null, outgoing]]`.
const LINES: &str = "return [...document.querySelectorAll('[role=log] .line')].map(l => [
    l.querySelector('.text')?.textContent ?? '',
    l.querySelector('.ticks')?.dataset.state ?? null,
    l.classList.contains('outgoing'),
]);";

fn line_with<'a>(lines: &'a Value, text: &str) -> Option<&'a Value> {
    lines.as_array()?.iter().find(|l| l[0] == text)
}

async fn wait_tick(c: &Client, text: &str, state: &str) -> Result<()> {
    poll_js(c, &format!("the {state} tick"), LINES, |v| {
        line_with(v, text).is_some_and(|l| l[1] == state)
    })
    .await
    .map(|_| ())
}

/// Types `text` in the open chat's composer and sends it.
async fn send_text(c: &Client, text: &str) -> Result<()> {
    wait_css(c, "[aria-label='Message']")
        .await?
        .send_keys(text)
        .await?;
    wait_css(c, "button.send").await?.click().await?;
    Ok(())
}

async fn conversation_title(c: &Client) -> Result<String> {
    let main = wait_css(c, "main.conversation").await?;
    Ok(main.attr("aria-label").await?.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a display, a session bus, tauri-driver, the built app and relay: make test-app"]
async fn two_windows_exchange_a_message_with_ticks_and_a_notification() -> Result<()> {
    let relay = RelayProcess::start()?;
    let notifications = NotificationServer::start()?;
    let (data_a, data_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let driver_a = driver_on(data_a.path(), &relay.url)?;
    let driver_b = driver_on(data_b.path(), &relay.url)?;
    let a = launch(&driver_a).await?;
    let b = launch(&driver_b).await?;

    let outcome = scenario(&a, &b, &relay.url, &notifications).await;
    if outcome.is_err() {
        let _ = shoot(&a, "messaging-a-failure.png").await;
        let _ = shoot(&b, "messaging-b-failure.png").await;
        eprintln!("notification server calls: {:?}", notifications.calls());
    }
    let _ = a.close().await;
    let _ = b.close().await;
    outcome
}

async fn scenario(a: &Client, b: &Client, relay: &str, notes: &NotificationServer) -> Result<()> {
    create_account(a, "Ana", "ana", relay).await?;
    create_account(b, "Bruno", "bruno", relay).await?;

    // Ana adds @bruno: the chat with him opens.
    wait_css(a, ".chat-list button[aria-label='Add contact']")
        .await?
        .click()
        .await?;
    wait_css(a, "[role=dialog] input")
        .await?
        .send_keys("@bruno")
        .await?;
    wait_css(a, "[role=dialog] button[type=submit]")
        .await?
        .click()
        .await?;
    let start = Instant::now();
    while conversation_title(a).await? != "bruno" {
        ensure!(start.elapsed() < WAIT, "Ana's chat with bruno did not open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(
        conversation_title(b).await? == "Conversation",
        "Bruno has no chat open yet"
    );

    let text = "Hello Bruno, it is Ana";
    send_text(a, text).await?;
    // Pending at once, then the relay has it, then Bruno's app.
    poll_js(a, "the message in Ana's window", LINES, |v| {
        line_with(v, text).is_some_and(|l| l[2] == true)
    })
    .await?;
    wait_tick(a, text, "delivered").await?;

    // Bruno's desktop shows a notification: the sender, the text, from Missiva.
    let note = notes.wait_for(WAIT, |n| n["body"] == text)?;
    ensure!(note["app_name"] == "Missiva", "{note}");
    let summary = note["summary"].as_str().unwrap_or_default().to_owned();
    // The contract: the sender's handle, from the first message (confirmed with the relay).
    ensure!(summary == "ana", "{note}");
    let actions = note["actions"].as_array().context("actions")?;
    ensure!(actions.iter().any(|x| x == "default"), "{note}");
    // Not read yet: Ana's message stays "delivered" while Bruno has not opened it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    wait_tick(a, text, "delivered").await?;
    shoot(b, "messaging-b-before-click.png").await?;

    // Clicking the notification brings Bruno's window to the chat with Ana.
    notes.invoke(note["id"].as_u64().context("id")?, "default")?;
    let start = Instant::now();
    while conversation_title(b).await? != summary {
        ensure!(
            start.elapsed() < WAIT,
            "the notification click did not open the chat with {summary}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    poll_js(b, "the message in Bruno's window", LINES, |v| {
        line_with(v, text).is_some_and(|l| l[2] == false)
    })
    .await?;
    // Shown means read: Ana's ticks turn to "read".
    wait_tick(a, text, "read").await?;

    // And back: Bruno answers in the open chat, Ana sees it in hers.
    let reply = "Hi Ana!";
    send_text(b, reply).await?;
    poll_js(a, "the reply in Ana's window", LINES, |v| {
        line_with(v, reply).is_some_and(|l| l[2] == false)
    })
    .await?;
    wait_tick(b, reply, "read").await?;

    shoot(a, "messaging-a.png").await?;
    shoot(b, "messaging-b.png").await?;
    poll_scenario(a, b).await
}

/// The text of the poll card asking `question`, or "" while there is none.
fn card_text(question: &str) -> String {
    format!(
        "return document.querySelector(\"[role=group][aria-label='Poll: {question}']\")
            ?.textContent.replace(/\\s+/g, ' ') ?? ''"
    )
}

/// Ana makes a poll from the composer's "+" menu; Bruno votes with a click; the bars update in
/// both windows.
async fn poll_scenario(a: &Client, b: &Client) -> Result<()> {
    let question = "Pizza or sushi?";
    wait_css(a, "button[aria-label='Send something else']")
        .await?
        .click()
        .await?;
    wait_css(a, "[role=menu] [role=menuitem]")
        .await?
        .click()
        .await?;
    wait_css(a, "[role=dialog] input[placeholder='Ask something…']")
        .await?
        .send_keys(question)
        .await?;
    wait_css(a, "[role=dialog] input[aria-label='Option 1']")
        .await?
        .send_keys("Pizza")
        .await?;
    wait_css(a, "[role=dialog] input[aria-label='Option 2']")
        .await?
        .send_keys("Sushi")
        .await?;
    wait_css(a, "[role=dialog] button[type=submit]")
        .await?
        .click()
        .await?;
    // Ana made it: she sees its (empty) results at once.
    poll_js(a, "the poll in Ana's window", &card_text(question), |v| {
        v.as_str().is_some_and(|t| t.contains("0 voted so far"))
    })
    .await?;

    // Bruno sees options to click, and no results until he votes.
    let click_sushi = format!(
        "const card = document.querySelector(\"[role=group][aria-label='Poll: {question}']\");
         const b = card && [...card.querySelectorAll('button.choice')]
             .find(b => b.textContent.trim() === 'Sushi');
         if (b) {{ b.click(); return true; }} return false;"
    );
    poll_js(b, "Sushi in Bruno's poll card", &click_sushi, |v| v == true).await?;
    poll_js(
        b,
        "the results in Bruno's window",
        &card_text(question),
        |v| {
            v.as_str()
                .is_some_and(|t| t.contains("1 vote · 100%") && t.contains("1 voted so far"))
        },
    )
    .await?;
    poll_js(
        a,
        "Bruno's vote in Ana's window",
        &card_text(question),
        |v| {
            v.as_str()
                .is_some_and(|t| t.contains("1 vote · 100%") && t.contains("@bruno"))
        },
    )
    .await?;
    shoot(a, "poll-a.png").await?;
    shoot(b, "poll-b.png").await?;
    group_scenario(a, b).await
}

/// Incoming lines of the open chat with their author: `[[text, author]]`, system lines
/// `[[text, "event"]]`.
const AUTHORED: &str = "return [...document.querySelectorAll('[role=log] .line, [role=log] .event')]
    .map(l => l.classList.contains('event')
        ? [l.querySelector('span')?.textContent ?? '', 'event']
        : [l.querySelector('.text')?.textContent ?? '', l.querySelector('.author')?.textContent ?? '']);";

fn has_line(v: &Value, text: &str, author: &str) -> bool {
    v.as_array()
        .is_some_and(|lines| lines.iter().any(|l| l[0] == text && l[1] == author))
}

/// Ana makes a group with Bruno from the "New group" dialog and writes in it; Bruno opens it
/// from his chat list, sees who added him and who wrote, and answers.
async fn group_scenario(a: &Client, b: &Client) -> Result<()> {
    wait_css(a, ".chat-list button[aria-label='New group']")
        .await?
        .click()
        .await?;
    wait_css(a, "[role=dialog] input[placeholder='Book club']")
        .await?
        .send_keys("Weekend")
        .await?;
    wait_css(a, "[role=dialog] input[type=checkbox]")
        .await?
        .click()
        .await?;
    wait_css(a, "[role=dialog] button[type=submit]")
        .await?
        .click()
        .await?;
    let start = Instant::now();
    while conversation_title(a).await? != "Weekend" {
        ensure!(start.elapsed() < WAIT, "Ana's new group did not open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hello = "Plans for Saturday?";
    send_text(a, hello).await?;

    // Bruno's chat list gets the group, its last message naming who wrote it; he opens it.
    let row = "return [...document.querySelectorAll('.chat-list .chats button')]
         .find(b => b.textContent.includes('Weekend'))?.textContent.replace(/\\s+/g, ' ') ?? ''";
    poll_js(b, "the group's row in Bruno's list", row, |v| {
        v.as_str()
            .is_some_and(|t| t.contains("@ana: Plans for Saturday?"))
    })
    .await?;
    let open_group = "const row = [...document.querySelectorAll('.chat-list .chats button')]
         .find(b => b.textContent.includes('Weekend'));
         if (row) { row.click(); return true; } return false;";
    poll_js(b, "the group in Bruno's chat list", open_group, |v| {
        v == true
    })
    .await?;
    poll_js(b, "Ana's message and the join line", AUTHORED, |v| {
        has_line(v, hello, "@ana") && has_line(v, "@ana added you to “Weekend”", "event")
    })
    .await?;
    let reply = "Hiking!";
    send_text(b, reply).await?;
    poll_js(a, "Bruno's answer in the group", AUTHORED, |v| {
        has_line(v, reply, "@bruno")
    })
    .await?;

    // The group's page lists both, Ana as its admin.
    wait_css(a, "main.conversation header button.who")
        .await?
        .click()
        .await?;
    let members = "return document.querySelector('aside.side-panel .members')?.textContent
         .replace(/\\s+/g, ' ') ?? ''";
    poll_js(a, "the group's members", members, |v| {
        v.as_str()
            .is_some_and(|t| t.contains("You") && t.contains("admin") && t.contains("@bruno"))
    })
    .await?;
    shoot(a, "group-a.png").await?;
    shoot(b, "group-b.png").await?;
    Ok(())
}
