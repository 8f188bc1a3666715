//! The committed safety-number vector in `tests/data/safety_golden.txt` still holds.

mod common;

use std::collections::BTreeMap;

use missiva_crypto::safety::{SAFETY_NUMBER_VERSION, SafetyNumber, ScannableFingerprint};

const GOLDEN: &str = include_str!("data/safety_golden.txt");

fn golden() -> BTreeMap<&'static str, &'static str> {
    common::parse_golden(GOLDEN)
}

/// Reads an identity written as `"01 x 64"`.
fn identity(spec: &str) -> Option<Vec<u8>> {
    let (byte, count) = spec.split_once(" x ")?;
    let byte = u8::from_str_radix(byte, 16).ok()?;
    Some(vec![byte; count.parse().ok()?])
}

#[test]
fn safety_golden_vector_still_holds() {
    let golden = golden();
    let anna_identity = identity(golden["anna_identity"]).unwrap();
    let bruno_identity = identity(golden["bruno_identity"]).unwrap();
    let (anna_id, bruno_id) = (golden["anna_id"], golden["bruno_id"]);
    assert_eq!(anna_identity, [1u8; 64]);
    assert_eq!(bruno_identity, [2u8; 64]);

    let anna = SafetyNumber::new(&anna_identity, anna_id, &bruno_identity, bruno_id);
    let bruno = SafetyNumber::new(&bruno_identity, bruno_id, &anna_identity, anna_id);

    for view in [&anna, &bruno] {
        assert_eq!(
            view.display(),
            golden["display"],
            "the safety number changed: if on purpose, update tests/data/safety_golden.txt"
        );
        assert_eq!(view.formatted(), golden["formatted"]);
    }
    assert_eq!(
        hex::encode(anna.qr_payload()),
        golden["anna_qr"],
        "the QR payload changed: if on purpose, update tests/data/safety_golden.txt"
    );
    assert_eq!(hex::encode(bruno.qr_payload()), golden["bruno_qr"]);
}

#[test]
fn safety_golden_payloads_scan_as_matching() {
    let golden = golden();
    let anna_qr = hex::decode(golden["anna_qr"]).unwrap();
    let bruno_qr = hex::decode(golden["bruno_qr"]).unwrap();

    let anna = ScannableFingerprint::from_bytes(&anna_qr).unwrap();
    let bruno = ScannableFingerprint::from_bytes(&bruno_qr).unwrap();
    assert_eq!(anna.version(), SAFETY_NUMBER_VERSION);
    assert_eq!(anna.compare(&bruno_qr), Ok(true));
    assert_eq!(bruno.compare(&anna_qr), Ok(true));
}
