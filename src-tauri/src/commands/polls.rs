//! Poll commands: create a poll, vote, take a vote back, close.

use missiva_core::ids::{AccountId, ChatId, MessageId};
use missiva_core::messages::MessageView;
use missiva_core::polls::PollSetup;
use tauri::State;

use crate::error::{ErrorCode, IpcError};
use crate::state::AppState;

fn poll_id(poll: &str) -> Result<MessageId, IpcError> {
    poll.parse::<MessageId>()
        .map_err(|e| IpcError::new(ErrorCode::InvalidInput, e.to_string()))
}

/// Creates a poll in `chat` and sends it: returns the poll message, pending.
#[tauri::command]
pub async fn create_poll(
    state: State<'_, AppState>,
    account: AccountId,
    chat: ChatId,
    setup: PollSetup,
) -> Result<MessageView, IpcError> {
    Ok(state
        .account(account)
        .await?
        .create_poll(chat, setup)
        .await?)
}

/// Votes for `options` in `poll` (or changes the vote).
#[tauri::command]
pub async fn vote_poll(
    state: State<'_, AppState>,
    account: AccountId,
    poll: String,
    options: Vec<u32>,
) -> Result<(), IpcError> {
    let poll = poll_id(&poll)?;
    Ok(state.account(account).await?.vote(poll, options).await?)
}

/// Takes back this account's vote in `poll`.
#[tauri::command]
pub async fn retract_vote(
    state: State<'_, AppState>,
    account: AccountId,
    poll: String,
) -> Result<(), IpcError> {
    let poll = poll_id(&poll)?;
    Ok(state.account(account).await?.retract_vote(poll).await?)
}

/// Closes a poll this account created.
#[tauri::command]
pub async fn close_poll(
    state: State<'_, AppState>,
    account: AccountId,
    poll: String,
) -> Result<(), IpcError> {
    let poll = poll_id(&poll)?;
    Ok(state.account(account).await?.close_poll(poll).await?)
}
