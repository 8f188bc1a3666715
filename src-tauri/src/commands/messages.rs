//! Message commands: a page of a conversation, sending, and the files attached to messages.

use missiva_core::ids::{AccountId, ChatId, MessageId};
use missiva_core::messages::MessageView;
use missiva_core::search::SearchHit;
use tauri::ipc::Response;
use tauri::{AppHandle, Runtime, State};

use super::file_dialog::{Ask, choose};
use crate::error::{ErrorCode, IpcError};
use crate::state::AppState;

/// The `limit` newest messages of `chat` before the message `before` (the newest when null),
/// oldest first.
#[tauri::command]
pub async fn list_messages(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
    before: Option<String>,
    limit: u32,
) -> Result<Vec<MessageView>, IpcError> {
    let before = before
        .map(|b| b.parse::<MessageId>())
        .transpose()
        .map_err(|e| IpcError::new(ErrorCode::InvalidInput, e.to_string()))?;
    Ok(state
        .account(account)
        .await?
        .messages(chat, before, limit)
        .await?)
}

/// Sends `text` to `chat`: returns the message, pending; events follow as it moves on.
#[tauri::command]
pub async fn send_message(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
    text: String,
) -> Result<MessageView, IpcError> {
    Ok(state.account(account).await?.send(chat, &text).await?)
}

/// The newest messages of `account` (at most `limit`) holding every word of `query`.
#[tauri::command]
pub async fn search_messages(
    state: State<'_, AppState>,
    account: AccountId,
    query: String,
    limit: u32,
) -> Result<Vec<SearchHit>, IpcError> {
    Ok(state.account(account).await?.search(&query, limit).await?)
}

/// The bytes of the attachment `attachment`, decrypted, to show it (an image in the
/// conversation); raw bytes, an `ArrayBuffer` in JavaScript.
#[tauri::command]
pub async fn attachment_data(
    state: State<'_, AppState>,
    account: AccountId,
    attachment: i64,
) -> Result<Response, IpcError> {
    let (_, bytes) = state
        .account(account)
        .await?
        .attachment_bytes(attachment)
        .await?;
    Ok(Response::new(bytes))
}

/// Asks where to save the attachment `attachment` (suggesting `name`) and writes it there,
/// decrypted; false when the user cancels the dialog.
#[tauri::command]
pub async fn save_attachment<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    account: AccountId,
    attachment: i64,
    name: String,
) -> Result<bool, IpcError> {
    let handle = state.account(account).await?;
    let Some(dest) = choose(&app, Ask::Save, |d| {
        d.set_title("Save attachment").set_file_name(&name)
    })
    .await?
    else {
        return Ok(false);
    };
    handle.save_attachment(attachment, dest).await?;
    Ok(true)
}
