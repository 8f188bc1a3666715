//! The one error type that crosses into the UI: `{ code, message }`.

use missiva_core::accounts::AccountsError;
use missiva_core::attachments::AttachmentError;
use missiva_core::chats::ChatError;
use missiva_core::contacts::ContactError;
use missiva_core::groups::GroupError;
use missiva_core::import::whatsapp::ImportError;
use missiva_core::keystore::KeystoreError;
use missiva_core::messages::MessageError;
use missiva_core::passcode::PasscodeError;
use missiva_core::polls::PollError;
use missiva_core::search::SearchError;
use missiva_core::store::StoreError;
use missiva_core::sync::SyncError;
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
    /// The handle is someone else's on this relay.
    HandleTaken,
    /// The account has no relay, so it cannot do this.
    NoRelay,
    /// The relay cannot be reached right now (or did not answer in time).
    Offline,
    /// The relay refused or answered something unexpected.
    Relay,
    /// The user cancelled it (an import); nothing of it was kept.
    Cancelled,
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
            AccountsError::InvalidName { .. }
            | AccountsError::InvalidRelay { .. }
            | AccountsError::InvalidHandle { .. }
            | AccountsError::HandleWithoutRelay => ErrorCode::InvalidInput,
            AccountsError::HandleTaken { .. } => ErrorCode::HandleTaken,
            AccountsError::Registration(s) => sync_code(s),
            AccountsError::KeyMissing { .. } => ErrorCode::KeyMissing,
            AccountsError::Keystore(k) => match k {
                KeystoreError::Unavailable { .. } => ErrorCode::KeystoreUnavailable,
                KeystoreError::Io { .. } => ErrorCode::Io,
                KeystoreError::UnknownKind { .. } => ErrorCode::InvalidInput,
                _ => ErrorCode::Internal,
            },
            AccountsError::Store(s) => store_code(s),
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

fn store_code(e: &StoreError) -> ErrorCode {
    match e {
        StoreError::WrongKey { .. } => ErrorCode::WrongKey,
        StoreError::Missing { .. } | StoreError::Migration { .. } => ErrorCode::DamagedData,
        _ => ErrorCode::Internal,
    }
}

fn sync_code(e: &SyncError) -> ErrorCode {
    match e {
        SyncError::NotConfigured => ErrorCode::NoRelay,
        SyncError::Connection(_) | SyncError::Offline | SyncError::Timeout => ErrorCode::Offline,
        SyncError::Relay { .. } | SyncError::UnexpectedReply => ErrorCode::Relay,
        SyncError::Store(s) => store_code(s),
        _ => ErrorCode::Internal,
    }
}

fn chat_code(e: &ChatError) -> ErrorCode {
    match e {
        ChatError::NotFound { .. } | ChatError::NoChatWith { .. } => ErrorCode::NotFound,
        ChatError::DraftTooLong | ChatError::NoRecipient { .. } | ChatError::NotMember { .. } => {
            ErrorCode::InvalidInput
        }
        ChatError::Store(s) => store_code(s),
        _ => ErrorCode::Internal,
    }
}

impl From<ContactError> for IpcError {
    fn from(e: ContactError) -> Self {
        let code = match &e {
            ContactError::InvalidHandle { .. } | ContactError::Yourself { .. } => {
                ErrorCode::InvalidInput
            }
            ContactError::UnknownHandle { .. } | ContactError::NotFound { .. } => {
                ErrorCode::NotFound
            }
            ContactError::Sync(s) => sync_code(s),
            ContactError::Store(s) => store_code(s),
            _ => ErrorCode::Internal,
        };
        IpcError::new(code, e.to_string())
    }
}

impl From<ChatError> for IpcError {
    fn from(e: ChatError) -> Self {
        IpcError::new(chat_code(&e), e.to_string())
    }
}

impl From<MessageError> for IpcError {
    fn from(e: MessageError) -> Self {
        let code = match &e {
            MessageError::Empty | MessageError::TooLong => ErrorCode::InvalidInput,
            MessageError::NotFound { .. } => ErrorCode::NotFound,
            MessageError::Chat(c) => chat_code(c),
            MessageError::Store(s) => store_code(s),
            _ => ErrorCode::Internal,
        };
        IpcError::new(code, e.to_string())
    }
}

impl From<PollError> for IpcError {
    fn from(e: PollError) -> Self {
        let code = match &e {
            PollError::NotFound { .. } => ErrorCode::NotFound,
            PollError::Chat(c) => chat_code(c),
            PollError::Store(s) => store_code(s),
            _ => ErrorCode::InvalidInput,
        };
        IpcError::new(code, e.to_string())
    }
}

impl From<GroupError> for IpcError {
    fn from(e: GroupError) -> Self {
        let code = match &e {
            GroupError::NotFound { .. } | GroupError::NoContact { .. } => ErrorCode::NotFound,
            GroupError::Chat(c) => chat_code(c),
            GroupError::Store(s) => store_code(s),
            _ => ErrorCode::InvalidInput,
        };
        IpcError::new(code, e.to_string())
    }
}

impl From<SearchError> for IpcError {
    fn from(e: SearchError) -> Self {
        let code = match &e {
            SearchError::TooLong => ErrorCode::InvalidInput,
            SearchError::Store(s) => store_code(s),
            _ => ErrorCode::Internal,
        };
        IpcError::new(code, e.to_string())
    }
}

impl From<AttachmentError> for IpcError {
    fn from(e: AttachmentError) -> Self {
        let code = match &e {
            AttachmentError::NotFound { .. } => ErrorCode::NotFound,
            AttachmentError::TooLarge { .. } => ErrorCode::InvalidInput,
            AttachmentError::Damaged { .. } => ErrorCode::DamagedData,
            AttachmentError::Write { .. } => ErrorCode::Io,
            AttachmentError::Store(s) => store_code(s),
            _ => ErrorCode::Internal,
        };
        IpcError::new(code, e.to_string())
    }
}

impl From<ImportError> for IpcError {
    fn from(e: ImportError) -> Self {
        let code = match &e {
            ImportError::Io { .. } => ErrorCode::Io,
            ImportError::Empty
            | ImportError::NotAnExport
            | ImportError::LineTooLong { .. }
            | ImportError::BadArchive(_)
            | ImportError::UnsafeArchive(_)
            | ImportError::NoChatText
            | ImportError::Invalid(_) => ErrorCode::InvalidInput,
            ImportError::Cancelled => ErrorCode::Cancelled,
            ImportError::Store(s) => store_code(s),
            _ => ErrorCode::Internal,
        };
        IpcError::new(code, e.to_string())
    }
}
