//! The commands through Tauri's IPC layer on the mock runtime, with the real capabilities.

use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

use crate::notifications::Notifier;
use crate::options::AppOptions;
use crate::state::AppState;

type TestApp = (App<MockRuntime>, WebviewWindow<MockRuntime>, AppState);

/// The app on the mock runtime with its main window, and its state (to close it like an exit).
fn app_with_state(dir: &std::path::Path) -> TestApp {
    let options = AppOptions {
        data_dir: Some(dir.to_owned()),
        keystore: "file".parse().unwrap(),
        relay: Some("ws://127.0.0.1:7400".into()),
        no_notifications: false,
    };
    // Notices are recorded, never shown on the desktop of whoever runs the tests.
    let state = AppState::with_notifier(options, Notifier::recording());
    let context = tauri::generate_context!(test = true);
    let app = crate::build(mock_builder(), state.clone(), context).unwrap();
    // The setup hook runs when the event loop starts, which the mock app never does.
    crate::notifications::watch(app.handle());
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, window, state)
}

fn app(dir: &std::path::Path) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let (app, window, _) = app_with_state(dir);
    (app, window)
}

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // WebKitGTK serves the app from tauri://localhost on Linux.
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

#[test]
fn account_commands_round_trip_over_ipc() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, window) = app(tmp.path());

    assert_eq!(
        invoke(&window, "list_accounts", json!({})).unwrap(),
        json!([])
    );
    let work = invoke(
        &window,
        "create_account",
        json!({ "name": "Work", "relay": "wss://relay.example.org" }),
    )
    .unwrap();
    assert_eq!(work["name"], "Work");
    assert_eq!(work["selected"], true);
    assert_eq!(work["keystore"], "file");
    let home = invoke(
        &window,
        "create_account",
        json!({ "name": "Home", "relay": "" }),
    )
    .unwrap();
    assert_eq!(home["relay"], Value::Null, "an empty relay means none");

    invoke(&window, "select_account", json!({ "id": home["id"] })).unwrap();
    let renamed = invoke(
        &window,
        "rename_account",
        json!({ "id": home["id"], "name": "Family" }),
    )
    .unwrap();
    assert_eq!(renamed["selected"], true);
    invoke(&window, "remove_account", json!({ "id": work["id"] })).unwrap();
    let list = invoke(&window, "list_accounts", json!({})).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "Family");

    let info = invoke(&window, "app_info", json!({})).unwrap();
    assert_eq!(info["keystore"], "file");
    assert_eq!(info["defaultRelay"], "ws://127.0.0.1:7400");
    assert_eq!(info["dataDir"], tmp.path().display().to_string());
}

#[test]
fn errors_cross_as_code_and_message() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, window) = app(tmp.path());
    let err = invoke(
        &window,
        "create_account",
        json!({ "name": " ", "relay": null }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input");
    assert!(err["message"].as_str().unwrap().contains("empty"), "{err}");
    let err = invoke(&window, "select_account", json!({ "id": 99 })).unwrap_err();
    assert_eq!(
        err,
        json!({ "code": "not_found", "message": "there is no account 99" })
    );
}

#[test]
fn a_second_process_on_the_same_folder_gets_already_running() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, window) = app(tmp.path());
    invoke(&window, "list_accounts", json!({})).unwrap();
    let held = missiva_core::accounts::Accounts::open(tmp.path(), Default::default());
    assert!(held.is_err());
    drop(held);

    let tmp2 = tempfile::tempdir().unwrap();
    let _other = missiva_core::accounts::Accounts::open(tmp2.path(), Default::default()).unwrap();
    let (_app2, window2) = app(tmp2.path());
    let err = invoke(&window2, "list_accounts", json!({})).unwrap_err();
    assert_eq!(err["code"], "already_running");
}

#[test]
fn passcode_can_be_set_changed_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let (_app, window, state) = app_with_state(tmp.path());
        invoke(
            &window,
            "create_account",
            json!({ "name": "Work", "relay": null }),
        )
        .unwrap();
        assert_eq!(
            invoke(&window, "has_passcode", json!({})).unwrap(),
            json!(false)
        );
        let err = invoke(&window, "set_passcode", json!({ "passcode": "" })).unwrap_err();
        assert_eq!(err["code"], "invalid_input");
        invoke(&window, "set_passcode", json!({ "passcode": "4321" })).unwrap();
        assert_eq!(
            invoke(&window, "has_passcode", json!({})).unwrap(),
            json!(true)
        );
        // What the app does at exit: the data folder is free for the next start.
        state.close();
    }
    // A restarted app is locked until the passcode is given.
    let (_app, window) = app(tmp.path());
    let err = invoke(&window, "list_accounts", json!({})).unwrap_err();
    assert_eq!(err["code"], "passcode_required");
    let err = invoke(&window, "unlock", json!({ "passcode": "1234" })).unwrap_err();
    assert_eq!(err["code"], "wrong_passcode");
    invoke(&window, "unlock", json!({ "passcode": "4321" })).unwrap();
    let list = invoke(&window, "list_accounts", json!({})).unwrap();
    invoke(&window, "select_account", json!({ "id": list[0]["id"] })).unwrap();
    invoke(&window, "set_passcode", json!({ "passcode": null })).unwrap();
    assert_eq!(
        invoke(&window, "has_passcode", json!({})).unwrap(),
        json!(false)
    );
}

#[test]
fn unknown_commands_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, window) = app(tmp.path());
    assert!(
        invoke(
            &window,
            "plugin:fs|read_file",
            json!({ "path": "/etc/passwd" })
        )
        .is_err()
    );
}

#[test]
fn messaging_commands_without_a_relay() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, window) = app(tmp.path());
    let local = invoke(&window, "create_account", json!({ "name": "Local" })).unwrap();
    let account = &local["id"];
    assert_eq!(local["handle"], Value::Null);
    assert_eq!(
        invoke(&window, "connection_state", json!({ "account": account })).unwrap(),
        json!("notConfigured")
    );
    assert_eq!(
        invoke(&window, "list_contacts", json!({ "account": account })).unwrap(),
        json!([])
    );
    assert_eq!(
        invoke(&window, "list_chats", json!({ "account": account })).unwrap(),
        json!([])
    );
    let err = invoke(
        &window,
        "add_contact",
        json!({ "account": account, "handle": "bruno" }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "no_relay", "{err}");
    let err = invoke(
        &window,
        "list_messages",
        json!({ "account": account, "chat": 42, "before": null, "limit": 50 }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "not_found", "{err}");
    let err = invoke(
        &window,
        "list_messages",
        json!({ "account": account, "chat": 42, "before": "nope", "limit": 50 }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input", "{err}");
    let err = invoke(
        &window,
        "send_message",
        json!({ "account": account, "chat": 42, "text": "hi" }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "not_found", "{err}");
    let err = invoke(
        &window,
        "create_account",
        json!({ "name": "Handle", "relay": null, "handle": "ana" }),
    )
    .unwrap_err();
    assert_eq!(
        err["code"], "invalid_input",
        "a handle needs a relay: {err}"
    );
    invoke(
        &window,
        "set_visible_chat",
        json!({ "account": account, "chat": null }),
    )
    .unwrap();
    let err = invoke(&window, "connection_state", json!({ "account": 99 })).unwrap_err();
    assert_eq!(err["code"], "not_found");
}

/// Polls `f` until it returns `Some`, for at most 20 seconds.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A real relay on loopback, served on Tauri's async runtime.
fn relay(dir: &std::path::Path) -> String {
    let config = missiva_relay::Config::new(([127, 0, 0, 1], 0).into(), dir.join("relay.db"));
    let relay = tauri::async_runtime::block_on(missiva_relay::Relay::bind(config)).unwrap();
    let url = format!("ws://{}", relay.local_addr());
    tauri::async_runtime::spawn(relay.serve(std::future::pending()));
    url
}

#[test]
fn two_accounts_exchange_a_message_through_a_real_relay() {
    let tmp = tempfile::tempdir().unwrap();
    let url = relay(tmp.path());
    let data = tmp.path().join("data");
    let (_app, window, state) = app_with_state(&data);

    let ana = invoke(
        &window,
        "create_account",
        json!({ "name": "Ana", "relay": url, "handle": "ana" }),
    )
    .unwrap();
    assert_eq!(ana["handle"], "ana");
    let bruno = invoke(
        &window,
        "create_account",
        json!({ "name": "Bruno", "relay": url, "handle": "@Bruno" }),
    )
    .unwrap();
    assert_eq!(bruno["handle"], "bruno");
    let err = invoke(
        &window,
        "create_account",
        json!({ "name": "Other", "relay": url, "handle": "ana" }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "handle_taken", "{err}");
    assert_eq!(
        invoke(&window, "list_accounts", json!({}))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2,
        "a taken handle creates nothing"
    );
    let (a, b) = (&ana["id"], &bruno["id"]);
    eventually("both online", || {
        let online = |id: &Value| {
            invoke(&window, "connection_state", json!({ "account": id })).unwrap() == "online"
        };
        (online(a) && online(b)).then_some(())
    });

    let contact = invoke(
        &window,
        "add_contact",
        json!({ "account": a, "handle": "@bruno" }),
    )
    .unwrap();
    assert_eq!(contact["handle"], "bruno");
    let contacts = invoke(&window, "list_contacts", json!({ "account": a })).unwrap();
    assert_eq!(contacts[0]["id"], contact["id"]);
    let chat = invoke(
        &window,
        "chat_for_contact",
        json!({ "account": a, "contact": contact["id"] }),
    )
    .unwrap();
    invoke(
        &window,
        "set_draft",
        json!({ "account": a, "chat": chat, "text": "half a thought" }),
    )
    .unwrap();
    let chats = invoke(&window, "list_chats", json!({ "account": a })).unwrap();
    assert_eq!(chats[0]["draft"], "half a thought");
    invoke(
        &window,
        "set_typing",
        json!({ "account": a, "chat": chat, "typing": true }),
    )
    .unwrap();
    let sent = invoke(
        &window,
        "send_message",
        json!({ "account": a, "chat": chat, "text": "Hello Bruno" }),
    )
    .unwrap();
    assert_eq!(sent["outgoing"], true);
    assert_eq!(sent["text"], "Hello Bruno");

    // Bruno gets it: a chat with Ana, the message, and a notice for the notification.
    let b_chat = eventually("Bruno's chat", || {
        let chats = invoke(&window, "list_chats", json!({ "account": b })).unwrap();
        chats.as_array().unwrap().first().map(|c| c["id"].clone())
    });
    let got = eventually("the message at Bruno's", || {
        let page = invoke(
            &window,
            "list_messages",
            json!({ "account": b, "chat": b_chat, "before": null, "limit": 50 }),
        )
        .unwrap();
        page.as_array().unwrap().first().cloned()
    });
    assert_eq!(got["text"], "Hello Bruno");
    // The sender's handle, from the first message: core stores the message, then has the
    // relay confirm the handle it carries, and only then announces it (so the notice names
    // Ana too). A poll in between may still see the placeholder, hence the wait.
    let sender = eventually("Bruno's message to name ana", || {
        let page = invoke(
            &window,
            "list_messages",
            json!({ "account": b, "chat": b_chat, "before": null, "limit": 50 }),
        )
        .unwrap();
        let sender = page[0]["sender"].as_str()?.to_owned();
        (sender == "ana").then_some(sender)
    });
    assert_eq!(sender, "ana");
    assert_eq!(got["outgoing"], false);
    let notice = eventually("a notice", || {
        state.notifier().recorded().into_iter().next()
    });
    assert_eq!(notice.sender, sender);
    assert_eq!(notice.text, "Hello Bruno");
    assert_eq!(json!(notice.chat), b_chat);
    assert_eq!(json!(notice.account), *b);

    let state_of_sent = |want: &str| {
        eventually(want, || {
            let page = invoke(
                &window,
                "list_messages",
                json!({ "account": a, "chat": chat, "before": null, "limit": 50 }),
            )
            .unwrap();
            (page[0]["state"] == want).then_some(())
        })
    };
    state_of_sent("delivered");
    invoke(
        &window,
        "mark_read",
        json!({ "account": b, "chat": b_chat }),
    )
    .unwrap();
    state_of_sent("read");
    let b_chats = invoke(&window, "list_chats", json!({ "account": b })).unwrap();
    assert_eq!(b_chats[0]["unread"], 0);
    assert_eq!(
        state.notifier().recorded().len(),
        1,
        "our own message raises none"
    );
}

#[test]
fn a_notification_click_opens_the_chat_through_the_event_channel() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, _window, state) = app_with_state(tmp.path());
    let mut rx = state.events().subscribe();
    crate::notifications::open_chat(
        app.handle(),
        missiva_core::ids::AccountId(3),
        missiva_core::ids::ChatId(9),
    );
    let event = rx.try_recv().unwrap();
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({ "account": 3, "kind": { "type": "openChat", "chat": 9 } })
    );
}
