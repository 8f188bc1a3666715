//! The commands the UI calls, by domain. Each is a few lines that call missiva-core.

pub mod accounts;
pub mod app;
pub mod settings;
