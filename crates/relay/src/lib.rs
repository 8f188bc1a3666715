//! Missiva's relay: it authenticates clients by a signed challenge, keeps handles, prekey bundles
//! and a mailbox of end-to-end encrypted envelopes per identity, and pushes envelopes to connected
//! recipients over WebSocket (`/v1`). The wire protocol is `missiva-proto`'s `relay.proto`.

mod config;
mod connection;
pub mod frame;
mod handle;
mod hub;
mod identity;
mod metrics;
mod rate_limit;
mod relay;
pub mod storage;

pub use config::{Config, ConfigError, Limits};
pub use handle::{Handle, HandleError};
pub use identity::{EnvelopeId, Identity};
pub use relay::{Relay, RelayError};
