//! Chat commands: the list, the direct chat of a contact, read state, drafts, typing, and
//! which chat is on screen (for notifications).

use missiva_core::chats::ChatSummary;
use missiva_core::ids::{AccountId, ChatId, ContactId};
use tauri::{Manager, Runtime, State};

use crate::error::IpcError;
use crate::state::AppState;

/// The account's chats, newest activity first.
#[tauri::command]
pub async fn list_chats(
    state: State<'_, AppState>,
    account: AccountId,
) -> Result<Vec<ChatSummary>, IpcError> {
    Ok(state.account(account).await?.chats().await?)
}

/// The direct chat with `contact`.
#[tauri::command]
pub async fn chat_for_contact(
    state: State<'_, AppState>,
    account: AccountId,
    contact: ContactId,
) -> Result<ChatId, IpcError> {
    Ok(state
        .account(account)
        .await?
        .chat_for_contact(contact)
        .await?)
}

/// Marks every message of `chat` read (read receipts go out) and closes its notification.
#[tauri::command]
pub async fn mark_read(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
) -> Result<(), IpcError> {
    state.account(account).await?.mark_read(chat).await?;
    state.notifier().dismiss(account, chat);
    Ok(())
}

/// Keeps the unsent text of `chat`.
#[tauri::command]
pub async fn set_draft(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
    text: String,
) -> Result<(), IpcError> {
    Ok(state.account(account).await?.set_draft(chat, &text).await?)
}

/// Tells the other person of `chat` that this account is (or stopped) typing.
#[tauri::command]
pub async fn set_typing(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
    typing: bool,
) -> Result<(), IpcError> {
    Ok(state
        .account(account)
        .await?
        .set_typing(chat, typing)
        .await?)
}

/// The chat on screen (`None`: none); no notification is raised for it while the window has
/// the focus, and its notification, if one is shown, is closed.
#[tauri::command]
pub fn set_visible_chat<R: Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    account: AccountId,
    chat: Option<ChatId>,
) -> Result<(), IpcError> {
    state.set_visible_chat(account, chat);
    if let Some(chat) = chat {
        let focused = app
            .get_webview_window("main")
            .and_then(|w| w.is_focused().ok())
            .unwrap_or(false);
        if focused {
            state.notifier().dismiss(account, chat);
        }
    }
    Ok(())
}
