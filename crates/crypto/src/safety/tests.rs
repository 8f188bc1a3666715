use std::sync::LazyLock;

use proptest::prelude::*;

use super::*;

const ANNA: [u8; 64] = [1u8; 64];
const BRUNO: [u8; 64] = [2u8; 64];
const MALLORY: [u8; 64] = [3u8; 64];

fn anna_view() -> SafetyNumber {
    SafetyNumber::new(&ANNA, "@anna", &BRUNO, "@bruno")
}

fn bruno_view() -> SafetyNumber {
    SafetyNumber::new(&BRUNO, "@bruno", &ANNA, "@anna")
}

/// Each derivation runs 10 400 hashes; property tests share one pair instead of redoing it.
static VIEWS: LazyLock<(SafetyNumber, SafetyNumber)> =
    LazyLock::new(|| (anna_view(), bruno_view()));

fn payload(version: u16, local: u8, remote: u8) -> Vec<u8> {
    ScannableFingerprint {
        version,
        local: [local; FINGERPRINT_LEN],
        remote: [remote; FINGERPRINT_LEN],
    }
    .to_bytes()
}

#[test]
fn both_sides_see_the_same_number() {
    let anna = anna_view();
    let bruno = bruno_view();
    assert_eq!(anna.display(), bruno.display());
    assert_eq!(anna.formatted(), bruno.formatted());
    assert_eq!(anna.groups(), bruno.groups());
}

#[test]
fn scanning_each_others_code_matches_both_ways() {
    let anna = anna_view();
    let bruno = bruno_view();
    assert_eq!(anna.compare_qr(&bruno.qr_payload()), Ok(true));
    assert_eq!(bruno.compare_qr(&anna.qr_payload()), Ok(true));
}

#[test]
fn scanning_ones_own_code_does_not_match() {
    let anna = anna_view();
    assert_eq!(anna.compare_qr(&anna.qr_payload()), Ok(false));
}

#[test]
fn a_man_in_the_middle_is_visible_to_both_sides() {
    // Anna was handed Mallory's identity in place of Bruno's.
    let anna = SafetyNumber::new(&ANNA, "@anna", &MALLORY, "@bruno");
    let bruno = bruno_view();
    assert_ne!(anna.display(), bruno.display());
    assert_eq!(anna.compare_qr(&bruno.qr_payload()), Ok(false));
    assert_eq!(bruno.compare_qr(&anna.qr_payload()), Ok(false));
}

#[test]
fn flipping_a_bit_in_either_identity_changes_the_number() {
    let original = anna_view();
    for index in 0..ANNA.len() {
        // One bit per byte, walking through every bit position.
        let mask = 1u8 << (index % 8);

        let mut local = ANNA;
        local[index] ^= mask;
        let changed = SafetyNumber::new(&local, "@anna", &BRUNO, "@bruno");
        assert_ne!(changed.display(), original.display(), "local byte {index}");
        assert_eq!(changed.compare_qr(&bruno_view().qr_payload()), Ok(false));

        let mut remote = BRUNO;
        remote[index] ^= mask;
        let changed = SafetyNumber::new(&ANNA, "@anna", &remote, "@bruno");
        assert_ne!(changed.display(), original.display(), "remote byte {index}");
        assert_eq!(original.compare_qr(&changed.qr_payload()), Ok(false));
    }
}

#[test]
fn changing_either_identifier_changes_the_number() {
    let original = anna_view();
    for (local_id, remote_id) in [
        ("@anna2", "@bruno"),
        ("@Anna", "@bruno"),
        ("", "@bruno"),
        ("@anna", "@brunO"),
        ("@anna", "@bruno "),
        ("@anna", ""),
    ] {
        let changed = SafetyNumber::new(&ANNA, local_id, &BRUNO, remote_id);
        assert_ne!(
            changed.display(),
            original.display(),
            "{local_id} / {remote_id}"
        );
        assert_ne!(changed.qr_payload(), original.qr_payload());
    }
}

#[test]
fn swapping_identities_between_identifiers_changes_the_number() {
    let swapped = SafetyNumber::new(&BRUNO, "@anna", &ANNA, "@bruno");
    assert_ne!(swapped.display(), anna_view().display());
}

#[test]
fn display_is_sixty_ascii_digits_in_twelve_groups_of_five() {
    let number = anna_view();
    let display = number.display();
    assert_eq!(display.len(), SAFETY_NUMBER_DIGITS);
    assert!(display.bytes().all(|b| b.is_ascii_digit()));

    let groups = number.groups();
    assert_eq!(groups.len(), SAFETY_NUMBER_GROUPS);
    assert!(groups.iter().all(|g| g.len() == 5));
    assert_eq!(groups.concat(), display);

    let formatted = number.formatted();
    assert_eq!(
        formatted.len(),
        SAFETY_NUMBER_DIGITS + SAFETY_NUMBER_GROUPS - 1
    );
    assert_eq!(formatted.split(' ').collect::<Vec<_>>(), groups);
}

#[test]
fn small_groups_keep_their_leading_zeros() {
    // 0x00_0000_0007 % 100 000 = 7, must read "00007".
    let mut hash = [0u8; 64];
    hash[4] = 7;
    assert_eq!(party_groups(&hash), [7, 0, 0, 0, 0, 0]);
    let number = SafetyNumber {
        groups: [7, 0, 0, 0, 0, 0, 99_999, 1, 2, 3, 4, 5],
        scannable: anna_view().scannable,
    };
    assert_eq!(
        number.formatted(),
        "00007 00000 00000 00000 00000 00000 99999 00001 00002 00003 00004 00005"
    );
}

/// libsignal's published v1 vector (33-byte Signal identity keys). Our QR layout differs from
/// Signal's protobuf, but the digits and the fingerprints inside must be the same.
#[test]
fn digits_and_fingerprints_match_signals_published_vector() {
    let alice =
        hex::decode("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868").unwrap();
    let bob =
        hex::decode("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b").unwrap();
    let number = SafetyNumber::new(&alice, "+14152222222", &bob, "+14153333333");
    assert_eq!(
        number.display(),
        "300354477692869396892869876765458257569162576843440918079131"
    );
    assert_eq!(
        hex::encode(number.scannable().local_fingerprint()),
        "1e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df"
    );
    assert_eq!(
        hex::encode(number.scannable().remote_fingerprint()),
        "d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d"
    );
}

#[test]
fn qr_payload_has_the_documented_layout() {
    let bytes = payload(SAFETY_NUMBER_VERSION, 0x12, 0xba);
    let expected = format!("4d53534e0001{}{}", "12".repeat(32), "ba".repeat(32));
    assert_eq!(hex::encode(&bytes), expected);
    assert_eq!(bytes.len(), QR_PAYLOAD_LEN);
}

#[test]
fn empty_and_short_payloads_are_wrong_length() {
    let anna = anna_view();
    for len in [0, 1, 5] {
        let short = anna.qr_payload()[..len].to_vec();
        assert_eq!(
            anna.compare_qr(&short),
            Err(SafetyError::WrongLength {
                expected: QR_HEADER_LEN,
                actual: len
            })
        );
    }
    for len in [6, 37, 38, 69] {
        let short = anna.qr_payload()[..len].to_vec();
        assert_eq!(
            anna.compare_qr(&short),
            Err(SafetyError::WrongLength {
                expected: QR_PAYLOAD_LEN,
                actual: len
            })
        );
    }
}

#[test]
fn trailing_bytes_are_wrong_length() {
    let anna = anna_view();
    let mut long = bruno_view().qr_payload();
    long.push(0);
    assert_eq!(
        anna.compare_qr(&long),
        Err(SafetyError::WrongLength {
            expected: QR_PAYLOAD_LEN,
            actual: QR_PAYLOAD_LEN + 1
        })
    );
}

#[test]
fn an_unrelated_qr_code_is_not_a_safety_number() {
    let anna = anna_view();
    assert_eq!(
        anna.compare_qr(b"https://example.invalid/some/page"),
        Err(SafetyError::NotASafetyNumber)
    );
    let mut wrong_magic = bruno_view().qr_payload();
    wrong_magic[0] ^= 0x01;
    assert_eq!(
        anna.compare_qr(&wrong_magic),
        Err(SafetyError::NotASafetyNumber)
    );
}

#[test]
fn another_version_is_a_version_mismatch_whatever_its_length() {
    let anna = anna_view();
    let mut newer = payload(2, 0x12, 0xba);
    assert_eq!(
        anna.compare_qr(&newer),
        Err(SafetyError::VersionMismatch { ours: 1, theirs: 2 })
    );
    // A future version may well have a different layout.
    newer.truncate(20);
    assert_eq!(
        anna.compare_qr(&newer),
        Err(SafetyError::VersionMismatch { ours: 1, theirs: 2 })
    );
    assert_eq!(
        anna.compare_qr(&payload(0, 0x12, 0xba)),
        Err(SafetyError::VersionMismatch { ours: 1, theirs: 0 })
    );
}

#[test]
fn errors_read_as_sentences() {
    assert_eq!(
        SafetyError::VersionMismatch { ours: 1, theirs: 2 }.to_string(),
        "safety number version 2 cannot be compared with version 1"
    );
    assert_eq!(
        SafetyError::WrongLength {
            expected: 70,
            actual: 3
        }
        .to_string(),
        "QR payload is 3 bytes, a safety number needs 70"
    );
}

proptest! {
    #[test]
    fn decoding_random_bytes_never_panics(
        marked in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..160),
    ) {
        // Half the inputs carry the marker, so the version and length checks are reached too.
        let bytes = if marked { [QR_MAGIC.as_slice(), &tail].concat() } else { tail };
        let result = ScannableFingerprint::from_bytes(&bytes);
        match result {
            Ok(fingerprint) => prop_assert_eq!(fingerprint.to_bytes(), bytes),
            Err(SafetyError::WrongLength { actual, .. }) => prop_assert_eq!(actual, bytes.len()),
            Err(SafetyError::NotASafetyNumber) => prop_assert!(!bytes.starts_with(&QR_MAGIC)),
            Err(SafetyError::VersionMismatch { ours, theirs }) => {
                prop_assert_eq!(ours, SAFETY_NUMBER_VERSION);
                prop_assert_ne!(theirs, SAFETY_NUMBER_VERSION);
            }
        }
    }

    #[test]
    fn well_framed_payloads_round_trip(
        local in any::<[u8; FINGERPRINT_LEN]>(),
        remote in any::<[u8; FINGERPRINT_LEN]>(),
    ) {
        let fingerprint = ScannableFingerprint { version: SAFETY_NUMBER_VERSION, local, remote };
        let bytes = fingerprint.to_bytes();
        prop_assert_eq!(ScannableFingerprint::from_bytes(&bytes), Ok(fingerprint.clone()));
        let mirrored = ScannableFingerprint { version: SAFETY_NUMBER_VERSION, local: remote, remote: local };
        prop_assert_eq!(mirrored.compare(&bytes), Ok(true));
        prop_assert_eq!(fingerprint.compare(&bytes), Ok(local == remote));
    }

    #[test]
    fn corrupting_any_payload_byte_is_caught(index in 0..QR_PAYLOAD_LEN, mask in 1u8..) {
        let (anna, bruno) = &*VIEWS;
        let mut scanned = bruno.qr_payload();
        scanned[index] ^= mask;
        let result = anna.compare_qr(&scanned);
        prop_assert!(result != Ok(true), "byte {} ^ {:#04x} still matched", index, mask);
    }
}
