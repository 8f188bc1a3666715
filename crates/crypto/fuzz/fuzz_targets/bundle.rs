//! `PreKeyBundle::from_bytes` on untrusted bytes (what a relay hands out): never panics, accepts
//! only the canonical encoding (re-encoding reproduces the input exactly), and `verify` on
//! anything it accepts never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use missiva_crypto::prekeys::PreKeyBundle;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = PreKeyBundle::from_bytes(data) {
        assert_eq!(
            bundle.to_bytes(),
            data,
            "a decoded bundle does not re-encode to its input"
        );
        let _ = bundle.verify();
    }
});
