//! Writes the seed corpus under `corpus/<target>/`, deterministically (run once, commit the
//! files): `cd crates/crypto/fuzz && cargo run --example gen_corpus`. Existing files of the same
//! name are overwritten; nothing else is touched.

use std::fs;
use std::path::{Path, PathBuf};

use missiva_crypto_fuzz::{
    attachment_blob, ratchet_fixture, sender_key_fixture, x3dh_fixture, ATTACHMENT_LENGTHS,
};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    fs::create_dir_all(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
    let p = d.join(name);
    fs::write(&p, bytes).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");

    let x = x3dh_fixture();
    for (name, bundle) in ["valid-no-opk", "valid-opk"].iter().zip(&x.bundles) {
        write(&dir, "bundle", name, bundle);
    }
    let b = &x.bundles[1];
    write(&dir, "bundle", "empty", b"");
    write(&dir, "bundle", "version-2", &[&[2u8][..], &b[1..]].concat());
    write(&dir, "bundle", "truncated", &b[..b.len() - 1]);
    write(&dir, "bundle", "trailing-byte", &[&b[..], &[0]].concat());
    let mut bad_flag = x.bundles[0].clone();
    if let Some(last) = bad_flag.last_mut() {
        *last = 2;
    }
    write(&dir, "bundle", "bad-opk-flag", &bad_flag);
    let mut bad_sig = x.bundles[0].clone();
    bad_sig[1 + 64 + 4 + 32] ^= 1;
    write(&dir, "bundle", "bad-signature", &bad_sig);

    for (name, msg) in ["valid-no-opk", "valid-opk"]
        .iter()
        .zip(&x.initial_messages)
    {
        write(&dir, "initial_message", name, msg);
    }
    let m = &x.initial_messages[1];
    write(&dir, "initial_message", "empty", b"");
    write(&dir, "initial_message", "truncated", &m[..m.len() - 2]);
    write(
        &dir,
        "initial_message",
        "trailing-byte",
        &[&m[..], &[1]].concat(),
    );
    write(
        &dir,
        "initial_message",
        "bad-identity",
        &[&m[..1], &[0xFF; 64][..], &m[65..]].concat(),
    );

    let r = ratchet_fixture();
    for (i, (msg, _)) in r.alice_to_bob.iter().enumerate() {
        write(&dir, "ratchet_message", &format!("alice-to-bob-{i}"), msg);
    }
    // The fixture is what its doc says: [0] and [2] are duplicates, the others decrypt.
    for (i, (msg, text)) in r.alice_to_bob.iter().enumerate() {
        let mut bob = missiva_crypto_fuzz::restore(&r.bob_state);
        let got = bob.decrypt(msg, &mut missiva_crypto_fuzz::seeded(0xb0b));
        match i {
            0 | 2 => assert!(got.is_err(), "message {i} should be a duplicate"),
            _ => assert_eq!(
                got.ok().as_deref().map(|p| p.as_slice()),
                Some(text.as_slice())
            ),
        }
    }
    let m3 = &r.alice_to_bob[3].0;
    write(&dir, "ratchet_message", "empty", b"");
    write(
        &dir,
        "ratchet_message",
        "header-and-tag-only",
        &m3[..41 + 16],
    );
    let mut far = m3.clone();
    far[37..41].copy_from_slice(&30_000u32.to_be_bytes());
    write(&dir, "ratchet_message", "number-too-far", &far);
    let mut flipped = m3.clone();
    if let Some(last) = flipped.last_mut() {
        *last ^= 1;
    }
    write(&dir, "ratchet_message", "tampered-tag", &flipped);
    let mut low_order = r.alice_to_bob[4].0.clone();
    low_order[1..33].fill(0);
    write(&dir, "ratchet_message", "low-order-ratchet-key", &low_order);

    write(&dir, "session_state", "bob-mid-conversation", &r.bob_state);
    write(
        &dir,
        "session_state",
        "alice-mid-conversation",
        &r.alice_state,
    );
    write(&dir, "session_state", "bob-fresh", &r.bob_fresh_state);
    write(&dir, "session_state", "alice-fresh", &r.alice_fresh_state);
    write(&dir, "session_state", "empty", b"");
    write(
        &dir,
        "session_state",
        "truncated",
        &r.bob_state[..r.bob_state.len() - 1],
    );

    // Attachment inputs: mode byte 0 = raw blob, 1 = edits of a prepared blob.
    for &len in ATTACHMENT_LENGTHS.iter().filter(|&&l| l <= 1024) {
        let (blob, _) = attachment_blob(len);
        write(
            &dir,
            "attachment",
            &format!("raw-{len}-bytes"),
            &[&[0u8][..], &blob].concat(),
        );
    }
    let (blob, _) = attachment_blob(1000);
    write(
        &dir,
        "attachment",
        "raw-1000-bytes",
        &[&[0u8][..], &blob].concat(),
    );
    write(&dir, "attachment", "raw-short", &[0, 1, 2, 3]);
    for pick in 0..ATTACHMENT_LENGTHS.len() as u8 {
        write(
            &dir,
            "attachment",
            &format!("prepared-{pick}-unchanged"),
            &[1, pick],
        );
        write(
            &dir,
            "attachment",
            &format!("prepared-{pick}-digest"),
            &[1, pick | 0x80],
        );
    }
    // A flip in the second chunk, a cut at the chunk boundary, an appended byte.
    write(
        &dir,
        "attachment",
        "prepared-3-flip",
        &[1, 3, 0, 0, 1, 0, 0x20, 0x01],
    );
    write(
        &dir,
        "attachment",
        "prepared-4-cut",
        &[1, 4, 1, 0, 1, 0, 0x10, 0],
    );
    write(
        &dir,
        "attachment",
        "prepared-2-append",
        &[1, 2, 2, 0, 0, 0, 0, 0x00],
    );

    let g = sender_key_fixture();
    for (i, (msg, _)) in g.messages.iter().enumerate() {
        write(&dir, "sender_key_message", &format!("message-{i}"), msg);
    }
    for (i, d) in g.distributions.iter().enumerate() {
        write(&dir, "sender_key_message", &format!("distribution-{i}"), d);
    }
    for (i, (msg, text)) in g.messages.iter().enumerate() {
        let mut record = missiva_crypto::sender_keys::SenderKeyRecord::from_bytes(&g.record_state)
            .unwrap_or_else(|e| panic!("fixture record: {e}"));
        let got = record.decrypt(msg);
        match i {
            0 | 2 => assert!(got.is_err(), "group message {i} should be a duplicate"),
            _ => assert_eq!(
                got.ok().as_deref().map(|p| p.as_slice()),
                Some(text.as_slice())
            ),
        }
    }
    let g3 = &g.messages[3].0;
    write(&dir, "sender_key_message", "empty", b"");
    let mut bad_sig = g3.clone();
    if let Some(last) = bad_sig.last_mut() {
        *last ^= 1;
    }
    write(
        &dir,
        "sender_key_message",
        "message-bad-signature",
        &bad_sig,
    );
    let mut max_iteration = g3.clone();
    max_iteration[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
    write(
        &dir,
        "sender_key_message",
        "message-max-iteration",
        &max_iteration,
    );
    let d = &g.distributions[0];
    write(
        &dir,
        "sender_key_message",
        "distribution-truncated",
        &d[..d.len() - 1],
    );
    let mut weak = d.clone();
    let n = weak.len();
    weak[n - 32..].fill(0);
    weak[n - 32] = 1; // the identity point: small order
    write(
        &dir,
        "sender_key_message",
        "distribution-weak-signing-key",
        &weak,
    );
    let mut max_it = d.clone();
    let glen = 1 + 1 + usize::from(d[1]) + 4;
    max_it[glen..glen + 4].copy_from_slice(&(u32::MAX - 1).to_be_bytes());
    write(
        &dir,
        "sender_key_message",
        "distribution-iteration-near-max",
        &max_it,
    );

    write(&dir, "sender_key_state", "record", &g.record_state);
    write(&dir, "sender_key_state", "sender", &g.sender_state);
    write(&dir, "sender_key_state", "receiver", &g.receiver_state);
    write(&dir, "sender_key_state", "empty", b"");
    let mut wrong_kind = g.receiver_state.clone();
    wrong_kind[1] = b'C';
    write(&dir, "sender_key_state", "receiver-as-record", &wrong_kind);
    write(
        &dir,
        "sender_key_state",
        "record-truncated",
        &g.record_state[..g.record_state.len() - 1],
    );

    println!("corpus written to {}", dir.display());
}
