//! Counters and gauges, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use missiva_proto::relay::ErrorCode;

/// Error codes, in the order of `relay.proto` (index = code).
const CODES: [ErrorCode; 15] = [
    ErrorCode::Unspecified,
    ErrorCode::BadFrame,
    ErrorCode::UnsupportedVersion,
    ErrorCode::UnknownFrame,
    ErrorCode::FrameTooLarge,
    ErrorCode::Unauthenticated,
    ErrorCode::AuthFailed,
    ErrorCode::HandleTaken,
    ErrorCode::HandleInvalid,
    ErrorCode::NotFound,
    ErrorCode::RateLimited,
    ErrorCode::QueueFull,
    ErrorCode::TooManyConnections,
    ErrorCode::Internal,
    ErrorCode::BadRequest,
];

/// The relay's counters.
#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) connections: AtomicU64,
    pub(crate) authenticated: AtomicU64,
    pub(crate) envelopes_stored: AtomicU64,
    pub(crate) envelopes_delivered: AtomicU64,
    pub(crate) envelopes_acked: AtomicU64,
    pub(crate) ephemeral_delivered: AtomicU64,
    errors: [AtomicU64; CODES.len()],
}

pub(crate) fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn dec(counter: &AtomicU64) {
    counter.fetch_sub(1, Ordering::Relaxed);
}

impl Metrics {
    /// Counts an error reply.
    pub(crate) fn error(&self, code: i32) {
        let index = usize::try_from(code).unwrap_or(0);
        if let Some(counter) = self.errors.get(index).or_else(|| self.errors.first()) {
            inc(counter);
        }
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self, queued: u64) -> String {
        let mut out = String::with_capacity(2048);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "missiva_relay_connections",
            "gauge",
            "Open WebSocket connections.",
            get(&self.connections),
        );
        metric(
            "missiva_relay_authenticated_connections",
            "gauge",
            "Authenticated WebSocket connections.",
            get(&self.authenticated),
        );
        metric(
            "missiva_relay_envelopes_stored_total",
            "counter",
            "Envelopes stored in a mailbox (retries not counted).",
            get(&self.envelopes_stored),
        );
        metric(
            "missiva_relay_envelopes_delivered_total",
            "counter",
            "Stored envelopes pushed to a connection.",
            get(&self.envelopes_delivered),
        );
        metric(
            "missiva_relay_envelopes_acked_total",
            "counter",
            "Envelopes deleted by an acknowledgement.",
            get(&self.envelopes_acked),
        );
        metric(
            "missiva_relay_ephemeral_delivered_total",
            "counter",
            "Ephemeral envelopes pushed to a connection.",
            get(&self.ephemeral_delivered),
        );
        metric(
            "missiva_relay_queued_envelopes",
            "gauge",
            "Envelopes waiting in mailboxes.",
            queued,
        );
        let name = "missiva_relay_frames_rejected_total";
        let _ = writeln!(
            out,
            "# HELP {name} Requests answered with an error, by code.\n# TYPE {name} counter"
        );
        for (code, counter) in CODES.iter().zip(&self.errors) {
            let _ = writeln!(
                out,
                "{name}{{reason=\"{}\"}} {}",
                code.as_str_name(),
                get(counter)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_table_matches_the_enum() {
        for (i, code) in CODES.iter().enumerate() {
            assert_eq!(*code as usize, i);
        }
    }

    #[test]
    fn errors_are_counted_by_reason() {
        let metrics = Metrics::default();
        metrics.error(ErrorCode::BadFrame as i32);
        metrics.error(ErrorCode::BadFrame as i32);
        metrics.error(999);
        let text = metrics.render(3);
        assert!(text.contains("missiva_relay_frames_rejected_total{reason=\"BAD_FRAME\"} 2\n"));
        assert!(text.contains(
            "missiva_relay_frames_rejected_total{reason=\"ERROR_CODE_UNSPECIFIED\"} 1\n"
        ));
        assert!(text.contains("missiva_relay_queued_envelopes 3\n"));
    }
}
