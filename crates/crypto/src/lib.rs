//! Missiva's end-to-end encryption. Pure Rust, no I/O, no async: keys and bytes in, keys and
//! bytes out, so every part can be tested exhaustively and fuzzed.

pub mod attachment;
mod chain;
pub mod identity;
pub mod prekeys;
pub mod ratchet;
pub mod safety;
pub mod sender_keys;
mod wire;
pub mod x3dh;
