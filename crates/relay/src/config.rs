//! What a relay listens on, where it stores, and the limits it enforces.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Everything needed to start a relay.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// The SQLite database file (created when missing).
    pub db: PathBuf,
    /// The limits the relay enforces.
    pub limits: Limits,
}

impl Config {
    /// A config with the default limits.
    pub fn new(listen: SocketAddr, db: impl Into<PathBuf>) -> Self {
        Config {
            listen,
            db: db.into(),
            limits: Limits::default(),
        }
    }
}

/// The relay's limits; a TOML config file holds any of these keys (the rest keep their default).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The largest frame accepted, in bytes (announced in `Challenge.max_frame_bytes`).
    pub max_frame_bytes: usize,
    /// The most envelopes one recipient's mailbox holds (`QUEUE_FULL` beyond).
    pub max_queue_per_recipient: u32,
    /// The most simultaneous authenticated connections of one identity.
    pub max_connections_per_identity: u32,
    /// Handle registrations allowed per identity per minute (also the burst).
    pub handle_registrations_per_minute: u32,
    /// Handle registrations allowed per client IP address per minute (also the burst).
    pub handle_registrations_per_minute_per_ip: u32,
    /// Bundle fetches allowed per identity per minute (also the burst).
    pub bundle_fetches_per_minute: u32,
    /// `PrekeysLow` is pushed when the owner holds fewer one-time prekeys than this.
    pub prekeys_low_threshold: u32,
    /// The most one-time prekeys the relay holds for one identity.
    pub max_one_time_prekeys: u32,
    /// Envelopes pushed to one connection and not yet acknowledged, at most.
    pub delivery_window: u32,
    /// Requests of one connection being processed at once, at most (reading pauses beyond).
    pub max_requests_in_flight: u32,
    /// How long an envelope waits for its recipient, in seconds (30 days).
    pub envelope_ttl_secs: u64,
    /// How often expired envelopes are deleted, in seconds.
    pub expiry_sweep_secs: u64,
    /// Seconds an unauthenticated connection may take to authenticate.
    pub auth_timeout_secs: u64,
    /// WebSocket read buffer per connection, in bytes (tungstenite's default is 128 KiB).
    pub read_buffer_bytes: usize,
    /// WebSocket write buffer per connection, in bytes: frames queued between two flushes are
    /// written together once this fills (0 writes every frame on its own system call).
    pub write_buffer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: missiva_proto::DEFAULT_MAX_FRAME_BYTES,
            max_queue_per_recipient: 10_000,
            max_connections_per_identity: 8,
            handle_registrations_per_minute: 5,
            handle_registrations_per_minute_per_ip: 30,
            bundle_fetches_per_minute: 120,
            prekeys_low_threshold: 10,
            max_one_time_prekeys: 1_000,
            delivery_window: 256,
            max_requests_in_flight: 256,
            envelope_ttl_secs: 30 * 24 * 3600,
            expiry_sweep_secs: 3600,
            auth_timeout_secs: 30,
            read_buffer_bytes: 4096,
            write_buffer_bytes: 4 * 1024,
        }
    }
}

impl Limits {
    /// Reads limits from a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Parses limits from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let limits: Limits = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        limits.validate()?;
        Ok(limits)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("max_frame_bytes", self.max_frame_bytes as u64),
            ("delivery_window", u64::from(self.delivery_window)),
            (
                "max_requests_in_flight",
                u64::from(self.max_requests_in_flight),
            ),
            (
                "max_connections_per_identity",
                u64::from(self.max_connections_per_identity),
            ),
            ("expiry_sweep_secs", self.expiry_sweep_secs),
            ("envelope_ttl_secs", self.envelope_ttl_secs),
            ("auth_timeout_secs", self.auth_timeout_secs),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid(format!("{name} must be positive")));
            }
        }
        if self.max_frame_bytes > 16 * 1024 * 1024 {
            return Err(ConfigError::Invalid(
                "max_frame_bytes must be at most 16 MiB".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn envelope_ttl(&self) -> Duration {
        Duration::from_secs(self.envelope_ttl_secs)
    }

    pub(crate) fn expiry_sweep(&self) -> Duration {
        Duration::from_secs(self.expiry_sweep_secs)
    }

    pub(crate) fn auth_timeout(&self) -> Duration {
        Duration::from_secs(self.auth_timeout_secs)
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML, or an unknown key.
    #[error("invalid config: {0}")]
    Parse(String),
    /// A value out of range.
    #[error("invalid config: {0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_keep_their_defaults() {
        let limits = Limits::from_toml("max_queue_per_recipient = 5\n").unwrap();
        assert_eq!(limits.max_queue_per_recipient, 5);
        assert_eq!(limits.max_frame_bytes, 256 * 1024);
        assert_eq!(limits.envelope_ttl_secs, 30 * 24 * 3600);
    }

    #[test]
    fn unknown_keys_and_zero_windows_are_refused() {
        assert!(matches!(
            Limits::from_toml("max_queue = 5\n"),
            Err(ConfigError::Parse(_))
        ));
        assert!(matches!(
            Limits::from_toml("delivery_window = 0\n"),
            Err(ConfigError::Invalid(_))
        ));
    }
}
