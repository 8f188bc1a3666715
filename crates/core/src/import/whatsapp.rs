//! WhatsApp "Export chat" files (`.txt`, or `.zip` with the text and its media) into Missiva
//! chats. The format reference is `shared/whatsapp-format.md`; one file per stage:
//!
//! - [`archive`]: open a `.txt` or `.zip` safely, find the chat text, index the media;
//! - [`detect`]: one streaming pass that decides the family, the date field order, 12/24 h and
//!   the record separator (with a user override for the date order);
//! - [`parse`]: a streaming parser that turns the text into [`model::Entry`]s;
//! - [`report`]: the counts shown before and after an import;
//! - [`apply`]: writes the entries into an account's chat, resumable and idempotent.
//!
//! [`model`] holds the types the stages pass to each other.

pub mod apply;
pub mod archive;
pub mod detect;
pub mod model;
pub mod parse;
pub mod report;

/// Everything that can stop an import. Each is a clear message for the user; none of them
/// leaves anything written (see [`apply`]).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the file is empty")]
    Empty,
    #[error("this is not a WhatsApp chat export: no line starts with a WhatsApp date and time")]
    NotAnExport,
    #[error("line {line} is longer than {limit} bytes; this is not a WhatsApp chat export")]
    LineTooLong { line: u64, limit: usize },
    #[error("the archive cannot be read: {0}")]
    BadArchive(String),
    #[error("the archive was refused as unsafe: {0}")]
    UnsafeArchive(String),
    #[error("the archive holds no WhatsApp chat text file")]
    NoChatText,
    #[error("the import was cancelled")]
    Cancelled,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
}
