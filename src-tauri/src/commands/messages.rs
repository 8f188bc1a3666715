//! Message commands: a page of a conversation, and sending.

use missiva_core::ids::{AccountId, ChatId, MessageId};
use missiva_core::messages::MessageView;
use tauri::State;

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
