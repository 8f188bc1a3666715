//! Contact commands: the list, and adding one by handle.

use missiva_core::contacts::ContactInfo;
use missiva_core::ids::AccountId;
use tauri::State;

use crate::error::IpcError;
use crate::state::AppState;

/// The account's contacts.
#[tauri::command]
pub async fn list_contacts(
    state: State<'_, AppState>,
    account: AccountId,
) -> Result<Vec<ContactInfo>, IpcError> {
    Ok(state.account(account).await?.contacts().await?)
}

/// Looks `handle` up on the relay and adds the contact (and its direct chat).
#[tauri::command]
pub async fn add_contact(
    state: State<'_, AppState>,
    account: AccountId,
    handle: String,
) -> Result<ContactInfo, IpcError> {
    Ok(state.account(account).await?.add_contact(&handle).await?)
}
