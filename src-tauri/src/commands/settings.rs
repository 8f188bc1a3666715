//! App-wide settings: the app passcode.

use missiva_core::secret::Passcode;
use tauri::State;

use crate::error::IpcError;
use crate::state::AppState;

/// Whether the data folder is protected by a passcode.
#[tauri::command]
pub async fn has_passcode(state: State<'_, AppState>) -> Result<bool, IpcError> {
    state.with_accounts(|a| Ok(a.has_passcode())).await
}

/// Sets or changes the passcode (`Some`) or removes it (`None`), re-wrapping every key.
#[tauri::command]
pub async fn set_passcode(
    state: State<'_, AppState>,
    passcode: Option<String>,
) -> Result<(), IpcError> {
    state
        .with_accounts(move |a| a.set_passcode(passcode.map(Passcode::new).as_ref()))
        .await
}
