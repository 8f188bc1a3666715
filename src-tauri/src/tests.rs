//! The commands through Tauri's IPC layer on the mock runtime, with the real capabilities.

use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

use crate::options::AppOptions;
use crate::state::AppState;

type TestApp = (App<MockRuntime>, WebviewWindow<MockRuntime>, AppState);

/// The app on the mock runtime with its main window, and its state (to close it like an exit).
fn app_with_state(dir: &std::path::Path) -> TestApp {
    let state = AppState::new(AppOptions {
        data_dir: Some(dir.to_owned()),
        keystore: "file".parse().unwrap(),
    });
    let context = tauri::generate_context!(test = true);
    let app = crate::build(mock_builder(), state.clone(), context).unwrap();
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
