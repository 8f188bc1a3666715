//! Sender-key state from the store (`SenderKey`, `SenderKeyReceiver`, `SenderKeyRecord`
//! `from_bytes`): never panics, accepts only the canonical encoding, and state it accepts can
//! encrypt or decrypt without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use missiva_crypto::sender_keys::{SenderKey, SenderKeyReceiver, SenderKeyRecord};
use missiva_crypto_fuzz::sender_keys;

fuzz_target!(|data: &[u8]| {
    let messages = &sender_keys().messages;
    if let Ok(mut sender) = SenderKey::from_bytes(data) {
        assert!(
            sender.to_bytes().as_slice() == data,
            "decoded sender key state does not re-encode to its input"
        );
        let _ = sender.encrypt(b"fuzz");
        let _ = sender.distribution_message().to_bytes();
    }
    if let Ok(mut receiver) = SenderKeyReceiver::from_bytes(data) {
        assert!(
            receiver.to_bytes().as_slice() == data,
            "decoded sender key receiver state does not re-encode to its input"
        );
        for (message, _) in messages.iter().take(4) {
            let _ = receiver.decrypt(message);
        }
    }
    if let Ok(mut record) = SenderKeyRecord::from_bytes(data) {
        assert!(
            record.to_bytes().as_slice() == data,
            "decoded sender key record does not re-encode to its input"
        );
        for (message, _) in messages {
            let _ = record.decrypt(message);
        }
    }
});
