//! Account commands: list, unlock, create, rename, remove, select.

use missiva_core::account::AccountInfo;
use missiva_core::accounts::AccountSetup;
use missiva_core::ids::AccountId;
use missiva_core::sync::ConnectionState;
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

/// Creates an account; the first one becomes selected. With a relay and a handle, the handle
/// is registered there first (a taken one is `handle_taken` and creates nothing).
#[tauri::command]
pub async fn create_account(
    state: State<'_, AppState>,
    name: String,
    relay: Option<String>,
    handle: Option<String>,
) -> Result<AccountInfo, IpcError> {
    let blank_is_none = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let setup = AccountSetup {
        name,
        relay: blank_is_none(relay),
        handle: blank_is_none(handle),
    };
    // Open (or fail to open: locked, busy) before registering anything on the relay.
    state.with_accounts(|_| Ok(())).await?;
    let prepared = setup.prepare().await?;
    state
        .with_accounts(move |a| a.create_prepared(prepared))
        .await
}

/// Whether the account is connected to its relay.
#[tauri::command]
pub async fn connection_state(
    state: State<'_, AppState>,
    account: AccountId,
) -> Result<ConnectionState, IpcError> {
    Ok(state.account(account).await?.connection_state())
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
