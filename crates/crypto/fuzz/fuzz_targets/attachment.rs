//! `attachment::decrypt` with a fixed key. The first input byte picks the mode:
//! - even: the rest is the ciphertext blob itself (decrypted into `std::io::sink()`); never
//!   panics.
//! - odd: a valid blob of a prepared file (up to three chunks, too big for a corpus file) is
//!   edited by the rest of the input (byte flips, truncation, appended and inserted bytes), then
//!   decrypted; never panics, and succeeds only if the blob came out unchanged, giving back
//!   exactly the file.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use missiva_crypto::attachment;
use missiva_crypto_fuzz::{
    attachment_blob, attachment_key, attachment_plaintext, ATTACHMENT_LENGTHS,
};

struct Prepared {
    plaintext: Vec<u8>,
    blob: Vec<u8>,
}

fn prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| {
        ATTACHMENT_LENGTHS
            .iter()
            .map(|&len| Prepared {
                plaintext: attachment_plaintext(len),
                blob: attachment_blob(len),
            })
            .collect()
    })
}

/// Applies edits of 6 bytes each: `op, offset (u32 BE), value`.
fn edit(blob: &mut Vec<u8>, mut edits: &[u8]) {
    while let Some((e, rest)) = edits.split_first_chunk::<6>() {
        edits = rest;
        let offset = u32::from_be_bytes([e[1], e[2], e[3], e[4]]) as usize;
        let value = e[5];
        match e[0] % 4 {
            0 => {
                if !blob.is_empty() {
                    let i = offset % blob.len();
                    blob[i] ^= value.max(1);
                }
            }
            1 => blob.truncate(offset % (blob.len() + 1)),
            2 => blob.push(value),
            _ => blob.insert(offset % (blob.len() + 1), value),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = attachment_key();
    if mode % 2 == 0 {
        let _ = attachment::decrypt(&key, rest, std::io::sink());
        return;
    }
    let Some((&pick, edits)) = rest.split_first() else {
        return;
    };
    let all = prepared();
    let file = &all[usize::from(pick) % all.len()];
    let mut blob = file.blob.clone();
    edit(&mut blob, edits);
    let mut out = Vec::new();
    if attachment::decrypt(&key, blob.as_slice(), &mut out).is_ok() {
        assert!(blob == file.blob, "an edited attachment blob decrypted");
        assert!(out == file.plaintext, "wrong attachment plaintext");
    }
});
