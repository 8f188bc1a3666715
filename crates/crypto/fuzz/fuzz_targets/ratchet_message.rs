//! A Double Ratchet message from the network, against Bob's session in a fixed conversation (see
//! `ratchet_fixture` in the fuzz crate's `src/lib.rs`). Checks, for every input:
//! - `Header::parse` and `Session::decrypt` never panic;
//! - a message decrypts only if Alice really sent exactly those bytes, to exactly her plaintext;
//! - a decrypted message does not decrypt a second time (no replay);
//! - a failed decryption leaves the session byte-for-byte unchanged (as documented).
#![no_main]

use libfuzzer_sys::fuzz_target;
use missiva_crypto::ratchet::{Header, RatchetError, HEADER_LEN};
use missiva_crypto_fuzz::{ratchet, restore, seeded};

fuzz_target!(|data: &[u8]| {
    if let Ok((_, body)) = Header::parse(data) {
        assert!(
            data.len() >= HEADER_LEN + 16,
            "parse accepted a short message"
        );
        assert_eq!(body, &data[HEADER_LEN..], "parse returned the wrong body");
    }

    let fixture = ratchet();
    // Decryption may change the session: start from the same state for every input.
    let mut bob = restore(&fixture.bob_state);
    let mut rng = seeded(0xb0b);
    match bob.decrypt(data, &mut rng) {
        Ok(plaintext) => {
            let sent = fixture
                .alice_to_bob
                .iter()
                .find(|(m, _)| m.as_slice() == data)
                .unwrap_or_else(|| panic!("bytes Alice never sent decrypted: {data:02x?}"));
            assert_eq!(plaintext.as_slice(), sent.1.as_slice(), "wrong plaintext");
            assert_eq!(
                bob.decrypt(data, &mut rng).map(|p| p.to_vec()),
                Err(RatchetError::Duplicate),
                "a replayed message was not refused as a duplicate"
            );
        }
        Err(_) => {
            assert!(
                bob.to_bytes().as_slice() == fixture.bob_state.as_slice(),
                "a failed decryption changed the session"
            );
        }
    }
});
