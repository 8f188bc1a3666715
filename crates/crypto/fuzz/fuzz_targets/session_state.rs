//! `Session::from_bytes` on damaged or hostile state bytes: never panics, accepts only the
//! canonical encoding, and a session it returns can encrypt and decrypt without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use missiva_crypto::ratchet::Session;
use missiva_crypto_fuzz::{ratchet, seeded};

fuzz_target!(|data: &[u8]| {
    let Ok(mut session) = Session::from_bytes(data) else {
        return;
    };
    assert!(
        session.to_bytes().as_slice() == data,
        "decoded session state does not re-encode to its input"
    );
    let mut rng = seeded(0x5e55);
    // Its own message, then every message of the fixed conversation, in both directions.
    if let Ok(own) = session.encrypt(b"fuzz") {
        let _ = session.decrypt(&own, &mut rng);
    }
    let fixture = ratchet();
    for (message, _) in fixture.alice_to_bob.iter().chain(&fixture.bob_to_alice) {
        let _ = session.decrypt(message, &mut rng);
    }
    let _ = session.encrypt(b"after");
    let _ = session.to_bytes();
});
