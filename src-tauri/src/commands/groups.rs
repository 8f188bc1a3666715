//! Group commands: create, show, add and remove members, rename, admins, leave.

use missiva_core::groups::{GroupError, GroupInfo, MAX_AVATAR_BYTES};
use missiva_core::ids::{AccountId, ChatId, ContactId};
use tauri::ipc::Response;
use tauri::{AppHandle, Runtime, State};

use super::file_dialog::{Ask, choose};
use crate::error::{ErrorCode, IpcError};
use crate::state::{AppState, blocking};

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

/// Asks for a picture (PNG, JPEG or WebP, at most 64 KiB) and makes it the picture of the group
/// of `chat` (admins only); `None` when the user cancels.
#[tauri::command]
pub async fn choose_group_avatar<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
) -> Result<Option<GroupInfo>, IpcError> {
    let picked = choose(&app, Ask::Open, |d| {
        d.set_title("Choose the group's picture").add_filter(
            "Pictures (PNG, JPEG, WebP)",
            &["png", "jpg", "jpeg", "webp"],
        )
    })
    .await?;
    let Some(path) = picked else {
        return Ok(None);
    };
    let bytes = blocking(move || {
        let too_big = std::fs::metadata(&path)
            .map(|m| m.len() > MAX_AVATAR_BYTES as u64)
            .map_err(|e| IpcError::new(ErrorCode::InvalidInput, e.to_string()))?;
        if too_big {
            return Err(GroupError::BadAvatar.into());
        }
        std::fs::read(&path).map_err(|e| IpcError::new(ErrorCode::InvalidInput, e.to_string()))
    })
    .await?;
    Ok(Some(
        state
            .account(account)
            .await?
            .set_group_avatar(chat, Some(bytes))
            .await?,
    ))
}

/// Removes the picture of the group of `chat` (admins only).
#[tauri::command]
pub async fn remove_group_avatar(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
) -> Result<GroupInfo, IpcError> {
    Ok(state
        .account(account)
        .await?
        .set_group_avatar(chat, None)
        .await?)
}

/// The picture of the group of `chat` as raw bytes (an `ArrayBuffer`; empty when it has none).
#[tauri::command]
pub async fn group_avatar(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
) -> Result<Response, IpcError> {
    let bytes = state.account(account).await?.group_avatar(chat).await?;
    Ok(Response::new(bytes.unwrap_or_default()))
}
