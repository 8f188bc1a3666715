//! Group commands: create, show, add and remove members, rename, admins, leave.

use missiva_core::groups::GroupInfo;
use missiva_core::ids::{AccountId, ChatId, ContactId};
use tauri::State;

use crate::error::IpcError;
use crate::state::AppState;

/// Creates a group named `name` with `members` and this account as its admin.
#[tauri::command]
pub async fn create_group(
    state: State<'_, AppState>,
    account: AccountId,
    name: String,
    members: Vec<ContactId>,
) -> Result<GroupInfo, IpcError> {
    Ok(state
        .account(account)
        .await?
        .create_group(&name, members)
        .await?)
}

/// The group of `chat`, with its members.
#[tauri::command]
pub async fn group_info(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
) -> Result<GroupInfo, IpcError> {
    Ok(state.account(account).await?.group(chat).await?)
}

/// Adds `members` to the group of `chat` (admins only).
#[tauri::command]
pub async fn add_group_members(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
    members: Vec<ContactId>,
) -> Result<GroupInfo, IpcError> {
    Ok(state
        .account(account)
        .await?
        .add_group_members(chat, members)
        .await?)
}

/// Removes `member` from the group of `chat` (admins only).
#[tauri::command]
pub async fn remove_group_member(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
    member: ContactId,
) -> Result<GroupInfo, IpcError> {
    Ok(state
        .account(account)
        .await?
        .remove_group_member(chat, member)
        .await?)
}

/// Renames the group of `chat` (admins only).
#[tauri::command]
pub async fn rename_group(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
    name: String,
) -> Result<GroupInfo, IpcError> {
    Ok(state
        .account(account)
        .await?
        .rename_group(chat, &name)
        .await?)
}

/// Makes `member` an admin of the group of `chat`, or no longer one (admins only).
#[tauri::command]
pub async fn set_group_admin(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
    member: ContactId,
    admin: bool,
) -> Result<GroupInfo, IpcError> {
    Ok(state
        .account(account)
        .await?
        .set_group_admin(chat, member, admin)
        .await?)
}

/// Leaves the group of `chat`.
#[tauri::command]
pub async fn leave_group(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
) -> Result<GroupInfo, IpcError> {
    Ok(state.account(account).await?.leave_group(chat).await?)
}
