//! App-wide commands: what the app is running on, and the event channel to the UI.

use missiva_core::events::Event;
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;
use ts_rs::TS;

use crate::state::AppState;

/// Facts about the running app, for the UI's notices and about box.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AppInfo {
    /// The app's version.
    pub version: String,
    /// The data folder in use.
    pub data_dir: String,
    /// The keystore new accounts use.
    #[ts(type = "\"os\" | \"file\"")]
    pub keystore: String,
    /// The relay new accounts are offered (`--relay` / `MISSIVA_RELAY`), if any.
    pub default_relay: Option<String>,
}

/// The version, data folder, keystore and default relay.
#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_dir: state
            .data_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        keystore: state.keystore().to_string(),
        default_relay: state.default_relay().map(str::to_owned),
    }
}

/// Forwards every event (the core's, and the shell's `openChat` on a notification click) to
/// the UI over `on_event` until the webview goes away.
#[tauri::command]
pub fn subscribe_events(state: State<'_, AppState>, on_event: Channel<Event>) {
    let mut rx = state.events().subscribe();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = rx.recv().await {
            if on_event.send(event).is_err() {
                break;
            }
        }
    });
}
