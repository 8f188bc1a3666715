//! Desktop notifications for incoming messages, through `notify-rust` (on Linux the
//! `org.freedesktop.Notifications` D-Bus service), and what a click on one does.
//!
//! Nothing here blocks the async runtime: a notification is sent with the async API and its
//! click is awaited in a task of its own. One notification per chat: a newer message replaces
//! the chat's notification (same id), and opening the chat closes it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use missiva_core::events::{Event, EventKind};
use missiva_core::ids::{AccountId, ChatId, MessageId};
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::oneshot;

use crate::state::AppState;

/// The app name notifications carry.
pub const APP_NAME: &str = "Missiva";
/// The action a click on the notification's body invokes (freedesktop spec).
pub const ACTION_OPEN: &str = "default";
/// The "Mark as read" button.
pub const ACTION_MARK_READ: &str = "mark-read";
/// Longest body shown, in characters; the rest is cut with an ellipsis.
const MAX_BODY_CHARS: usize = 240;

/// A message to tell the user about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The account that received it.
    pub account: AccountId,
    /// Its chat.
    pub chat: ChatId,
    /// Who sent it (a handle): the notification's summary.
    pub sender: String,
    /// What it says: the notification's body.
    pub text: String,
}

/// What the user did with a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Clicked it: show the chat.
    Open,
    /// Pressed "Mark as read".
    MarkRead,
}

impl Action {
    /// The action a notification server reports, if it is one of ours.
    pub fn from_key(key: &str) -> Option<Action> {
        match key {
            ACTION_OPEN => Some(Action::Open),
            ACTION_MARK_READ => Some(Action::MarkRead),
            _ => None,
        }
    }
}

/// The notification shown for each chat, so that the next one replaces it.
#[derive(Default)]
pub struct Notifier {
    shown: Mutex<HashMap<(AccountId, ChatId), Shown>>,
    /// Bumped by every `show`, so that a finished waiter removes only its own entry.
    serial: std::sync::atomic::AtomicU64,
    delivery: Delivery,
}

/// Where notices go.
#[derive(Default)]
enum Delivery {
    /// To the desktop's notification server.
    #[default]
    Desktop,
    /// Nowhere (`--no-notifications`).
    Off,
    /// Kept in memory, for tests that must not pop up notifications on a developer's desktop.
    Record(Mutex<Vec<Notice>>),
}

struct Shown {
    serial: u64,
    /// The server's id, once it answered (replacing needs it).
    id: Option<u32>,
    /// Sending `()` closes the notification; dropping it only stops waiting for a click.
    cancel: Option<oneshot::Sender<()>>,
}

impl Notifier {
    /// Notifications on the desktop.
    pub fn desktop() -> Self {
        Notifier::default()
    }

    /// No notifications at all.
    pub fn off() -> Self {
        Notifier {
            delivery: Delivery::Off,
            ..Notifier::default()
        }
    }

    /// Notices kept in memory instead of shown (see [`Notifier::recorded`]); for tests.
    pub fn recording() -> Self {
        Notifier {
            delivery: Delivery::Record(Mutex::default()),
            ..Notifier::default()
        }
    }

    /// What a recording notifier was asked to show, oldest first.
    pub fn recorded(&self) -> Vec<Notice> {
        match &self.delivery {
            Delivery::Record(r) => r.lock().map(|r| r.clone()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Shows `notice` (replacing the chat's previous notification) and, from a background
    /// task, calls `on_action` when the user clicks it or presses one of its buttons.
    pub fn show<F>(self: &Arc<Self>, notice: Notice, on_action: F)
    where
        F: FnOnce(Action) + Send + 'static,
    {
        match &self.delivery {
            Delivery::Desktop => {}
            Delivery::Off => return,
            Delivery::Record(r) => {
                if let Ok(mut r) = r.lock() {
                    r.push(notice);
                }
                return;
            }
        }
        let key = (notice.account, notice.chat);
        let serial = self
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (cancel_tx, cancel_rx) = oneshot::channel();
        let replaces = {
            let Ok(mut shown) = self.shown.lock() else {
                return;
            };
            // Dropping the old entry's sender stops its waiter; its id is reused.
            let old = shown.insert(
                key,
                Shown {
                    serial,
                    id: None,
                    cancel: Some(cancel_tx),
                },
            );
            old.and_then(|o| o.id)
        };
        let this = self.clone();
        tauri::async_runtime::spawn(async move {
            let action = this.run(key, serial, notice, replaces, cancel_rx).await;
            this.forget(key, serial);
            if let Some(action) = action {
                on_action(action);
            }
        });
    }

    /// Closes the chat's notification, if one is shown (the chat is on screen now).
    pub fn dismiss(&self, account: AccountId, chat: ChatId) {
        let entry = self
            .shown
            .lock()
            .ok()
            .and_then(|mut s| s.remove(&(account, chat)));
        if let Some(Shown {
            cancel: Some(cancel),
            ..
        }) = entry
        {
            let _ = cancel.send(());
        }
    }

    fn forget(&self, key: (AccountId, ChatId), serial: u64) {
        if let Ok(mut shown) = self.shown.lock()
            && shown.get(&key).is_some_and(|s| s.serial == serial)
        {
            shown.remove(&key);
        }
    }

    fn remember_id(&self, key: (AccountId, ChatId), serial: u64, id: u32) {
        if let Ok(mut shown) = self.shown.lock()
            && let Some(s) = shown.get_mut(&key)
            && s.serial == serial
        {
            s.id = Some(id);
        }
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    async fn run(
        &self,
        key: (AccountId, ChatId),
        serial: u64,
        notice: Notice,
        replaces: Option<u32>,
        mut cancel: oneshot::Receiver<()>,
    ) -> Option<Action> {
        let markup = body_markup().await;
        let mut n = build(&notice, markup);
        if let Some(id) = replaces {
            n.id(id);
        }
        let handle = match n.show_async().await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "could not show a notification");
                return None;
            }
        };
        self.remember_id(key, serial, handle.id());
        let mut key_pressed = None;
        tokio::select! {
            () = handle.wait_for_action_async(|r| {
                if let notify_rust::NotificationResponse::Default = r {
                    key_pressed = Some(ACTION_OPEN.to_owned());
                } else if let notify_rust::NotificationResponse::Action(k) = r {
                    key_pressed = Some(k.clone());
                }
            }) => {}
            closed = &mut cancel => {
                if closed.is_ok() {
                    handle.close_async().await;
                }
                return None;
            }
        }
        key_pressed.as_deref().and_then(Action::from_key)
    }

    #[cfg(not(all(unix, not(target_os = "macos"))))]
    async fn run(
        &self,
        _key: (AccountId, ChatId),
        _serial: u64,
        notice: Notice,
        _replaces: Option<u32>,
        _cancel: oneshot::Receiver<()>,
    ) -> Option<Action> {
        // No click callbacks here yet: show it and leave it to the system.
        let n = build(&notice, false);
        let shown = tauri::async_runtime::spawn_blocking(move || n.show().map(|_| ())).await;
        if let Ok(Err(e)) = shown {
            tracing::warn!(error = %e, "could not show a notification");
        }
        None
    }
}

/// Watches the core's events for incoming messages and raises a notification for each one
/// whose chat is not on screen in the focused window.
pub fn watch<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    let Some(state) = app.try_state::<AppState>().map(|s| s.inner().clone()) else {
        return;
    };
    let mut rx = state.events().subscribe();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = rx.recv().await {
            if let Some((account, chat, message)) = incoming(&event) {
                on_incoming(&app, &state, account, chat, message).await;
            }
        }
    });
}

/// The account, chat and message id of an `incomingMessage` event.
fn incoming(event: &Event) -> Option<(AccountId, ChatId, MessageId)> {
    match (&event.account, &event.kind) {
        (Some(account), EventKind::IncomingMessage { chat, message }) => {
            Some((*account, *chat, *message))
        }
        _ => None,
    }
}

async fn on_incoming<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    account: AccountId,
    chat: ChatId,
    message: MessageId,
) {
    if state.visible_chat() == Some((account, chat)) && window_focused(app) {
        return;
    }
    let notice = match lookup(state, account, chat, message).await {
        Ok(Some(n)) => n,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "an incoming message could not be read for its notification");
            return;
        }
    };
    let app = app.clone();
    state.notifier().show(notice, move |action| match action {
        Action::Open => open_chat(&app, account, chat),
        Action::MarkRead => mark_read(&app, account, chat),
    });
}

/// The sender and text of an incoming message, as a notice (`None`: not one to show).
async fn lookup(
    state: &AppState,
    account: AccountId,
    chat: ChatId,
    message: MessageId,
) -> Result<Option<Notice>, crate::error::IpcError> {
    let core = state.account(account).await?;
    let m = core.message(message).await?;
    if m.outgoing || m.kind != "text" {
        return Ok(None);
    }
    let handle = m.sender.unwrap_or_default();
    // In a group: who wrote, and where ("ana · Weekend").
    let sender = match core.group(chat).await {
        Ok(group) => format!("{handle} · {}", group.name),
        Err(_) => handle,
    };
    Ok(Some(Notice {
        account,
        chat,
        sender,
        text: m.text,
    }))
}

fn window_focused<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false)
}

/// A click on a notification: bring the window forward and tell the UI to show the chat.
pub fn open_chat<R: Runtime>(app: &AppHandle<R>, account: AccountId, chat: ChatId) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    if let Some(state) = app.try_state::<AppState>() {
        state
            .events()
            .emit(Some(account), EventKind::OpenChat { chat });
    }
}

/// "Mark as read" on a notification: the chat's messages are read, receipts go out.
fn mark_read<R: Runtime>(app: &AppHandle<R>, account: AccountId, chat: ChatId) {
    let Some(state) = app.try_state::<AppState>().map(|s| s.inner().clone()) else {
        return;
    };
    tauri::async_runtime::spawn(async move {
        let read = async {
            Ok::<_, crate::error::IpcError>(state.account(account).await?.mark_read(chat).await?)
        };
        if let Err(e) = read.await {
            tracing::warn!(error = %e, "could not mark the chat read from its notification");
        }
    });
}

/// The notification for `notice`; `markup`: the server reads the body as markup.
pub fn build(notice: &Notice, markup: bool) -> notify_rust::Notification {
    let mut n = notify_rust::Notification::new();
    let body = shorten(&notice.text, MAX_BODY_CHARS);
    let body = if markup { escape_markup(&body) } else { body };
    n.appname(APP_NAME)
        .summary(&notice.sender)
        .body(&body)
        .action(ACTION_OPEN, "Open")
        .action(ACTION_MARK_READ, "Mark as read");
    #[cfg(all(unix, not(target_os = "macos")))]
    n.hint(notify_rust::Hint::Category("im.received".to_owned()));
    n
}

/// Whether the notification server interprets markup in bodies (then `<`, `&` must be
/// escaped so that a message cannot style or link its notification). Asked once.
#[cfg(all(unix, not(target_os = "macos")))]
async fn body_markup() -> bool {
    static MARKUP: tokio::sync::OnceCell<bool> = tokio::sync::OnceCell::const_new();
    *MARKUP
        .get_or_init(|| async {
            tauri::async_runtime::spawn_blocking(|| {
                notify_rust::get_capabilities()
                    .map(|caps| caps.iter().any(|c| c == "body-markup"))
                    // Unknown: escaping is the safe side.
                    .unwrap_or(true)
            })
            .await
            .unwrap_or(true)
        })
        .await
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or(text).trim_end()),
    }
}

/// Escapes the characters the notification markup subset gives meaning to.
fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(text: &str) -> Notice {
        Notice {
            account: AccountId(1),
            chat: ChatId(2),
            sender: "@bob".into(),
            text: text.into(),
        }
    }

    #[test]
    fn summary_is_the_sender_and_body_the_text() {
        let n = build(&notice("hi <b>there</b> & you"), true);
        assert_eq!(n.appname, APP_NAME);
        assert_eq!(n.summary, "@bob");
        assert_eq!(n.body, "hi &lt;b&gt;there&lt;/b&gt; &amp; you");
        assert_eq!(
            n.actions,
            ["default", "Open", "mark-read", "Mark as read"].map(String::from)
        );
        let plain = build(&notice("a < b"), false);
        assert_eq!(plain.body, "a < b");
    }

    #[test]
    fn long_bodies_are_cut() {
        let long = "é".repeat(500);
        let n = build(&notice(&long), false);
        assert_eq!(n.body.chars().count(), MAX_BODY_CHARS + 1);
        assert!(n.body.ends_with('…'));
        assert_eq!(shorten("  short  ", 10), "short");
    }

    /// The real thing on a private session bus: the fake server records the notification,
    /// replacing and closing work, and a click comes back as `Action::Open`.
    #[test]
    #[ignore = "needs a private session bus and python3-dbus: \
                dbus-run-session -- cargo test -p missiva -- --ignored"]
    fn notifications_reach_the_server_and_clicks_come_back() {
        use std::io::BufRead;
        use std::time::{Duration, Instant};

        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("notify.jsonl");
        let invoke = tmp.path().join("invoke");
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/fake-notification-server.py"
        );
        let mut server = std::process::Command::new(script)
            .arg("--log")
            .arg(&log)
            .arg("--invoke-file")
            .arg(&invoke)
            .arg("--markup")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        std::io::BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready");

        let notifies = |n: usize| {
            let start = Instant::now();
            loop {
                let calls: Vec<serde_json::Value> = std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect();
                if calls.iter().filter(|c| c["call"] == "Notify").count() >= n {
                    return calls;
                }
                assert!(start.elapsed() < Duration::from_secs(10), "{calls:?}");
                std::thread::sleep(Duration::from_millis(50));
            }
        };

        let notifier = Arc::new(Notifier::desktop());
        let (tx, rx) = std::sync::mpsc::channel();
        let tx2 = tx.clone();
        notifier.show(notice("first <i>one</i>"), move |a| tx2.send(a).unwrap());
        let calls = notifies(1);
        let first = calls.iter().find(|c| c["call"] == "Notify").unwrap();
        assert_eq!(first["app_name"], "Missiva");
        assert_eq!(first["summary"], "@bob");
        assert_eq!(first["body"], "first &lt;i&gt;one&lt;/i&gt;");
        assert_eq!(first["hints"]["category"], "im.received");
        let first_id = first["id"].as_u64().unwrap();

        // The chat's next message replaces its notification.
        notifier.show(notice("second"), move |a| tx.send(a).unwrap());
        let calls = notifies(2);
        let second = calls.iter().rfind(|c| c["call"] == "Notify").unwrap();
        assert_eq!(second["replaces_id"].as_u64(), Some(first_id));
        assert_eq!(second["id"].as_u64(), Some(first_id));

        // Give the waiter a moment to subscribe to the signal, then click.
        std::thread::sleep(Duration::from_millis(500));
        std::fs::write(&invoke, "default").unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(Action::Open));

        // "Mark as read" comes back as such.
        let (tx, rx) = std::sync::mpsc::channel();
        let read = Notice {
            chat: ChatId(4),
            ..notice("fourth")
        };
        notifier.show(read, move |a| tx.send(a).unwrap());
        let calls = notifies(3);
        let fourth_id = calls.iter().rfind(|c| c["call"] == "Notify").unwrap()["id"].clone();
        std::thread::sleep(Duration::from_millis(500));
        std::fs::write(&invoke, format!("mark-read {fourth_id}")).unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)),
            Ok(Action::MarkRead)
        );

        // Another chat's notification, closed when that chat comes on screen.
        let other = Notice {
            chat: ChatId(3),
            ..notice("third")
        };
        notifier.show(other, |_| {});
        let calls = notifies(4);
        let third_id = calls.iter().rfind(|c| c["call"] == "Notify").unwrap()["id"].clone();
        std::thread::sleep(Duration::from_millis(300));
        notifier.dismiss(AccountId(1), ChatId(3));
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap();
            if text.lines().any(|l| {
                let c: serde_json::Value = serde_json::from_str(l).unwrap();
                c["call"] == "CloseNotification" && c["id"] == third_id
            }) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = server.kill();
        let _ = server.wait();
    }

    #[test]
    fn action_keys() {
        assert_eq!(Action::from_key("default"), Some(Action::Open));
        assert_eq!(Action::from_key("mark-read"), Some(Action::MarkRead));
        assert_eq!(Action::from_key("__closed"), None);
    }
}
