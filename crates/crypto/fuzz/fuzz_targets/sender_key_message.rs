//! Group (sender-key) messages and distribution messages from the network. For every input:
//! - `message_key_id` and `SenderKeyRecord::decrypt` never panic; against a fixed member's record
//!   (see `sender_key_fixture` in the fuzz crate's `src/lib.rs`) a message decrypts only if the
//!   sender really sent exactly those bytes, to exactly its plaintext, decrypts only once, and a
//!   failed decryption leaves the record byte-for-byte unchanged (as documented);
//! - `SenderKeyDistribution::from_bytes` never panics and accepts only the canonical encoding;
//!   a distribution it accepts can be processed and decrypted with without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use missiva_crypto::sender_keys::{
    message_key_id, SenderKeyDistribution, SenderKeyError, SenderKeyRecord,
};
use missiva_crypto_fuzz::sender_keys;

fn restore(state: &[u8]) -> SenderKeyRecord {
    SenderKeyRecord::from_bytes(state)
        .unwrap_or_else(|e| panic!("restoring the fixture record failed: {e}"))
}

fuzz_target!(|data: &[u8]| {
    let fixture = sender_keys();

    let _ = message_key_id(data);
    let mut record = restore(&fixture.record_state);
    match record.decrypt(data) {
        Ok(plaintext) => {
            let sent = fixture
                .messages
                .iter()
                .find(|(m, _)| m.as_slice() == data)
                .unwrap_or_else(|| panic!("bytes the sender never sent decrypted: {data:02x?}"));
            assert_eq!(plaintext.as_slice(), sent.1.as_slice(), "wrong plaintext");
            assert_eq!(
                record.decrypt(data).map(|p| p.to_vec()),
                Err(SenderKeyError::Duplicate),
                "a replayed group message was not refused as a duplicate"
            );
        }
        Err(_) => {
            assert!(
                record.to_bytes().as_slice() == fixture.record_state.as_slice(),
                "a failed group decryption changed the record"
            );
        }
    }

    if let Ok(distribution) = SenderKeyDistribution::from_bytes(data) {
        assert!(
            distribution.to_bytes().as_slice() == data,
            "a decoded distribution does not re-encode to its input"
        );
        let mut fresh = SenderKeyRecord::from_distribution(&distribution);
        let mut held = restore(&fixture.record_state);
        let _ = held.process(&distribution);
        for (message, _) in fixture.messages.iter().take(3) {
            let _ = fresh.decrypt(message);
            let _ = held.decrypt(message);
        }
        let _ = SenderKeyRecord::from_bytes(&fresh.to_bytes());
    }
});
