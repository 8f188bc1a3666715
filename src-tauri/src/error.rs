//! The one error type that crosses into the UI: `{ code, message }`.

use missiva_core::accounts::AccountsError;
use missiva_core::keystore::KeystoreError;
use missiva_core::passcode::PasscodeError;
use missiva_core::store::StoreError;
use serde::Serialize;
use ts_rs::TS;

/// What kind of failure, for the UI to react to; the message is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    /// Another process holds the data folder.
    AlreadyRunning,
    /// The data folder is locked by a passcode.
    PasscodeRequired,
    /// The passcode given is wrong.
    WrongPasscode,
    /// The account (or other object) does not exist.
    NotFound,
    /// Something the user typed is not acceptable; the message says why.
    InvalidInput,
    /// An account's key is missing from its keystore.
    KeyMissing,
    /// An account's key does not open its database.
    WrongKey,
    /// The OS keychain cannot be reached.
    KeystoreUnavailable,
    /// Stored data is damaged and was left untouched.
    DamagedData,
    /// A file could not be read or written.
    Io,
    /// A bug or an unexpected failure.
    Internal,
}

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct IpcError {
    /// The kind of failure.
    pub code: ErrorCode,
    /// A full sentence for the user.
    pub message: String,
}

impl IpcError {
    /// An error of `code` with `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        IpcError {
            code,
            message: message.into(),
        }
    }
}

impl From<AccountsError> for IpcError {
    fn from(e: AccountsError) -> Self {
        let code = match &e {
            AccountsError::AlreadyRunning { .. } => ErrorCode::AlreadyRunning,
            AccountsError::NoDataDir | AccountsError::Io { .. } => ErrorCode::Io,
            AccountsError::DamagedConfig { .. } | AccountsError::KeyDamaged { .. } => {
                ErrorCode::DamagedData
            }
            AccountsError::NotFound { .. } => ErrorCode::NotFound,
            AccountsError::InvalidName { .. } | AccountsError::InvalidRelay { .. } => {
                ErrorCode::InvalidInput
            }
            AccountsError::KeyMissing { .. } => ErrorCode::KeyMissing,
            AccountsError::Keystore(k) => match k {
                KeystoreError::Unavailable { .. } => ErrorCode::KeystoreUnavailable,
                KeystoreError::Io { .. } => ErrorCode::Io,
                KeystoreError::UnknownKind { .. } => ErrorCode::InvalidInput,
                _ => ErrorCode::Internal,
            },
            AccountsError::Store(s) => match s {
                StoreError::WrongKey { .. } => ErrorCode::WrongKey,
                StoreError::Missing { .. } | StoreError::Migration { .. } => ErrorCode::DamagedData,
                _ => ErrorCode::Internal,
            },
            AccountsError::Passcode(p) => match p {
                PasscodeError::Required => ErrorCode::PasscodeRequired,
                PasscodeError::Wrong => ErrorCode::WrongPasscode,
                PasscodeError::Empty => ErrorCode::InvalidInput,
                _ => ErrorCode::DamagedData,
            },
            _ => ErrorCode::Internal,
        };
        IpcError::new(code, e.to_string())
    }
}
