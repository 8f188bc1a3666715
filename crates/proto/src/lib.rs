//! Missiva's wire format, generated from `proto/*.proto` with prost: the frames between clients and
//! the relay ([`relay`]) and the end-to-end encrypted payload ([`payload`]). The `.proto` files are
//! the reference; read their comments for the protocol's rules.

/// The protocol version every frame carries.
pub const PROTOCOL_VERSION: u32 = 1;

/// The relay's default limit on one frame, in bytes.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 256 * 1024;

/// The bytes a client signs to authenticate: this label followed by the relay's 32-byte nonce.
pub const AUTH_LABEL: &[u8] = b"missiva relay auth v1";

/// Client <-> relay frames (`proto/relay.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod relay {
    include!(concat!(env!("OUT_DIR"), "/missiva.relay.v1.rs"));
}

/// The end-to-end encrypted payload (`proto/payload.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod payload {
    include!(concat!(env!("OUT_DIR"), "/missiva.payload.v1.rs"));
}

pub use prost::Message;

/// Why bytes could not be read as a frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Longer than the limit.
    #[error("frame of {len} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The frame's length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not valid protobuf for the expected message.
    #[error("malformed frame: {0}")]
    Malformed(#[from] prost::DecodeError),
    /// A version this build does not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u32),
}

/// Decodes a message of type `M` from at most `limit` bytes, checking nothing else.
pub fn decode_limited<M: Message + Default>(bytes: &[u8], limit: usize) -> Result<M, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    Ok(M::decode(bytes)?)
}

/// Decodes a client frame (as the relay does), checking size and version.
pub fn decode_client_frame(bytes: &[u8], limit: usize) -> Result<relay::ClientFrame, DecodeError> {
    let frame: relay::ClientFrame = decode_limited(bytes, limit)?;
    if frame.version != PROTOCOL_VERSION {
        return Err(DecodeError::UnsupportedVersion(frame.version));
    }
    Ok(frame)
}

/// Decodes a server frame (as a client does), checking size and version.
pub fn decode_server_frame(bytes: &[u8], limit: usize) -> Result<relay::ServerFrame, DecodeError> {
    let frame: relay::ServerFrame = decode_limited(bytes, limit)?;
    if frame.version != PROTOCOL_VERSION {
        return Err(DecodeError::UnsupportedVersion(frame.version));
    }
    Ok(frame)
}

/// A client frame of the current version.
pub fn client_frame(request_id: u64, body: relay::client_frame::Body) -> relay::ClientFrame {
    relay::ClientFrame {
        version: PROTOCOL_VERSION,
        request_id,
        body: Some(body),
    }
}

/// A server frame of the current version.
pub fn server_frame(request_id: u64, body: relay::server_frame::Body) -> relay::ServerFrame {
    relay::ServerFrame {
        version: PROTOCOL_VERSION,
        request_id,
        body: Some(body),
    }
}

/// An error reply.
pub fn error_frame(
    request_id: u64,
    code: relay::ErrorCode,
    message: impl Into<String>,
) -> relay::ServerFrame {
    server_frame(
        request_id,
        relay::server_frame::Body::Error(relay::Error {
            code: code as i32,
            message: message.into(),
        }),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use relay::{ClientFrame, client_frame::Body};

    #[test]
    fn frames_round_trip() {
        let frame = client_frame(7, Body::Ping(relay::Ping {}));
        let bytes = frame.encode_to_vec();
        assert_eq!(decode_client_frame(&bytes, 1024).unwrap(), frame);
    }

    #[test]
    fn other_versions_are_refused() {
        let mut frame = client_frame(7, Body::Ping(relay::Ping {}));
        frame.version = 2;
        let bytes = frame.encode_to_vec();
        assert!(matches!(
            decode_client_frame(&bytes, 1024),
            Err(DecodeError::UnsupportedVersion(2))
        ));
    }

    #[test]
    fn unknown_bodies_decode_to_none() {
        // Field 99 (length-delimited) is no body this version knows.
        let mut bytes = client_frame(1, Body::Ping(relay::Ping {}))
            .encode_to_vec()
            .into_iter()
            .take(4)
            .collect::<Vec<_>>();
        bytes.extend_from_slice(&[0x9a, 0x06, 0x00]);
        let frame: ClientFrame = decode_limited(&bytes, 1024).unwrap();
        assert_eq!(frame.body, None);
    }

    #[test]
    fn oversized_and_garbage_are_errors() {
        assert!(matches!(
            decode_client_frame(&[0u8; 2000], 1024),
            Err(DecodeError::TooLarge { .. })
        ));
        assert!(matches!(
            decode_client_frame(&[0xff, 0xff, 0xff], 1024),
            Err(DecodeError::Malformed(_))
        ));
    }
}
