//! Arbitrary bytes opened as a WhatsApp export (`.zip` or `.txt`, told apart by content): the
//! archive layer must never panic and must stay within its caps. Everything it offers is read:
//! the chat text (twice, as detect and parse do) and every media file.
#![no_main]

use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use missiva_core::import::whatsapp::archive::{MAX_MEDIA_BYTES, MAX_TEXT_BYTES, Source};

/// One folder per fuzzing process, holding the current input as the export.
fn export_path() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("missiva-fuzz-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary folder");
        // A `.txt` name: a zip is still recognised by its content, and text takes the text path.
        dir.join("WhatsApp Chat with Fuzz.txt")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = export_path();
    std::fs::write(path, data).expect("write the input");
    let Ok(source) = Source::open(path) else {
        return;
    };
    for _ in 0..2 {
        let Ok(mut text) = source.text() else {
            continue;
        };
        let mut read = 0_u64;
        let mut buf = [0_u8; 64 << 10];
        loop {
            match text.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n as u64,
            }
        }
        assert!(read <= MAX_TEXT_BYTES);
    }
    let _ = source.chat_title();
    for name in source.media_names() {
        assert!(source.has_media(&name), "{name:?} is listed but not found");
        if let Ok(Some(bytes)) = source.read_media(&name) {
            assert!(bytes.len() as u64 <= MAX_MEDIA_BYTES);
        }
    }
});
