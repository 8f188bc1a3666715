//! The Missiva messenger engine: accounts, the encrypted per-account store, end-to-end
//! encrypted messaging over a relay, and the event bus. No Tauri here: the desktop shell and
//! the CLI are thin layers over this crate.

pub mod account;
pub mod accounts;
mod atomic_file;
pub mod attachments;
pub mod chats;
mod clock;
pub mod contacts;
pub mod events;
pub mod groups;
pub mod identity;
pub mod ids;
pub mod import;
pub mod keystore;
pub mod messages;
pub mod passcode;
pub mod polls;
pub mod prekeys;
pub mod search;
pub mod secret;
mod sessions;
pub mod store;
pub mod sync;
