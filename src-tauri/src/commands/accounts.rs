//! Account commands: list, unlock, create, rename, remove, select.

use missiva_core::account::AccountInfo;
use missiva_core::ids::AccountId;
use tauri::State;

use crate::error::IpcError;
use crate::state::AppState;

/// Every account, in creation order.
#[tauri::command]
pub async fn list_accounts(state: State<'_, AppState>) -> Result<Vec<AccountInfo>, IpcError> {
    state.with_accounts(|a| Ok(a.list())).await
}

/// Opens a passcode-protected data folder.
#[tauri::command]
pub async fn unlock(state: State<'_, AppState>, passcode: String) -> Result<(), IpcError> {
    state.unlock(passcode).await
}

/// Creates an account; the first one becomes selected.
#[tauri::command]
pub async fn create_account(
    state: State<'_, AppState>,
    name: String,
    relay: Option<String>,
) -> Result<AccountInfo, IpcError> {
    let relay = relay.filter(|r| !r.trim().is_empty());
    state
        .with_accounts(move |a| a.create(&name, relay.as_deref()))
        .await
}

/// Renames an account.
#[tauri::command]
pub async fn rename_account(
    state: State<'_, AppState>,
    id: AccountId,
    name: String,
) -> Result<AccountInfo, IpcError> {
    state.with_accounts(move |a| a.rename(id, &name)).await
}

/// Removes an account and its data from this computer.
#[tauri::command]
pub async fn remove_account(state: State<'_, AppState>, id: AccountId) -> Result<(), IpcError> {
    state.with_accounts(move |a| a.remove(id)).await
}

/// Shows another account.
#[tauri::command]
pub async fn select_account(state: State<'_, AppState>, id: AccountId) -> Result<(), IpcError> {
    state.with_accounts(move |a| a.select(id)).await
}
