//! `x3dh::InitialMessage::from_bytes` on untrusted bytes (the first message of a session): never
//! panics, and accepts only the canonical encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use missiva_crypto::x3dh::InitialMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = InitialMessage::from_bytes(data) {
        assert_eq!(
            message.to_bytes(),
            data,
            "a decoded initial message does not re-encode to its input"
        );
    }
});
