//! The Missiva messenger engine: accounts, the encrypted per-account store and the event bus.
//! No Tauri here: the desktop shell and the CLI are thin layers over this crate.

pub mod account;
pub mod accounts;
mod atomic_file;
pub mod events;
pub mod ids;
pub mod keystore;
pub mod passcode;
pub mod secret;
pub mod store;
