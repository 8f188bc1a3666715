//! What the relay does with one binary WebSocket message, before any I/O: decode, check every
//! field, and gate on authentication (`missiva_relay::frame::admit`). Never panics; a refusal
//! always encodes to a valid error frame echoing a request id; an accepted request satisfies the
//! protocol's rules (non-zero request id, nothing but Auth/Ping before auth, well-formed fields).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use missiva_proto::relay::server_frame::Body;
use missiva_proto::{decode_server_frame, Message};
use missiva_relay::frame::{admit, Request, MAX_ACKS_PER_FRAME};
use missiva_relay::Handle;

/// A small limit so that the oversize path is reached too.
const LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    for authenticated in [false, true] {
        match admit(&bytes, LIMIT, authenticated) {
            Err(rejection) => {
                let encoded = rejection.to_frame().encode_to_vec();
                let frame = decode_server_frame(&encoded, LIMIT).expect("error frames decode");
                assert_eq!(frame.request_id, rejection.request_id);
                assert!(matches!(frame.body, Some(Body::Error(_))));
            }
            Ok((request_id, request)) => {
                assert!(data.len() <= LIMIT);
                assert_ne!(request_id, 0);
                assert!(authenticated || !request.needs_auth());
                match request {
                    Request::RegisterHandle(h) | Request::LookupHandle(h) => {
                        assert_eq!(Handle::parse(h.as_str()).ok(), Some(h.clone()));
                    }
                    Request::Send { content, .. } => assert!(!content.is_empty()),
                    Request::Ack(keys) => assert!(!keys.is_empty() && keys.len() <= MAX_ACKS_PER_FRAME),
                    Request::UploadPrekeys { signed, one_time } => {
                        assert!(signed.is_some() || !one_time.is_empty());
                    }
                    Request::Auth { .. } | Request::FetchBundle(_) | Request::Ping => {}
                }
            }
        }
    }
});
