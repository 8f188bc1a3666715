//! Integration tests: a real relay bound on 127.0.0.1:0, driven by a small WebSocket client.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod auth;
mod handles;
mod mailbox;
mod prekeys;
mod process;
mod robustness;
mod support;
