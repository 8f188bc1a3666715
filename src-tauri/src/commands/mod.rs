//! The commands the UI calls, by domain. Each is a few lines that call missiva-core.

pub mod accounts;
pub mod app;
pub mod chats;
pub mod contacts;
mod file_dialog;
pub mod groups;
pub mod import;
pub mod messages;
pub mod polls;
pub mod settings;
