//! The archive stage of the WhatsApp import on real-looking exports of each platform and on
//! hostile files. Zips are built here with the `zip` writer from the small fixtures in
//! `tests/data/whatsapp-archive`, so that every hostile archive is visible in code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use missiva_core::import::whatsapp::ImportError;
use missiva_core::import::whatsapp::archive::{
    MAX_ENTRIES, MAX_MEDIA_BYTES, MAX_RATIO, MAX_TOTAL_BYTES, SkipReason, Skipped, Source,
};
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

/// Every hostile input must fail at least this fast (they fail in milliseconds; the margin is
/// for slow CI machines running debug builds).
const BOUNDED: Duration = Duration::from_secs(10);

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/whatsapp-archive")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

/// A zip of `(name, bytes)` entries, deflated.
fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        zip.start_file(*name, deflated()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Writes `bytes` as `name` in a fresh temporary folder.
fn write_temp(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn read_text(source: &Source) -> Vec<u8> {
    let mut text = Vec::new();
    source.text().unwrap().read_to_end(&mut text).unwrap();
    text
}

/// Opens `bytes` saved as `name`, expecting a refusal within [`BOUNDED`].
fn open_error(name: &str, bytes: &[u8]) -> ImportError {
    let (dir, path) = write_temp(name, bytes);
    let started = Instant::now();
    let error = match Source::open(&path) {
        Ok(source) => panic!(
            "{name} opened: text {:?}, media {:?}",
            source.text_name(),
            source.media_names()
        ),
        Err(error) => error,
    };
    assert!(
        started.elapsed() < BOUNDED,
        "{name} took {:?} to refuse",
        started.elapsed()
    );
    assert_only_file(dir.path(), name);
    error
}

/// Nothing was extracted: the folder holds only the export.
fn assert_only_file(dir: &Path, name: &str) {
    let listing: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        listing,
        vec![std::ffi::OsString::from(name)],
        "something was written next to the export"
    );
}

/// Rewrites the declared uncompressed size of `entry` in its central directory record and local
/// header: the zip writer always tells the truth, a hostile archive need not.
fn lie_about_size(zip: &mut [u8], entry: &str, declared: u32) {
    let eocd = zip.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    let mut at = u32::from_le_bytes(zip[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    while zip[at..at + 4] == *b"PK\x01\x02" {
        let name_len = u16::from_le_bytes(zip[at + 28..at + 30].try_into().unwrap()) as usize;
        let extra_len = u16::from_le_bytes(zip[at + 30..at + 32].try_into().unwrap()) as usize;
        let comment_len = u16::from_le_bytes(zip[at + 32..at + 34].try_into().unwrap()) as usize;
        if &zip[at + 46..at + 46 + name_len] == entry.as_bytes() {
            zip[at + 24..at + 28].copy_from_slice(&declared.to_le_bytes());
            let local = u32::from_le_bytes(zip[at + 42..at + 46].try_into().unwrap()) as usize;
            zip[local + 22..local + 26].copy_from_slice(&declared.to_le_bytes());
            return;
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    panic!("no entry {entry}");
}

// --- Exports of each platform -------------------------------------------------------------

#[test]
fn android_zip_finds_the_text_among_documents_and_its_media() {
    let text = fixture("android.txt");
    let zip = zip_of(&[
        // A shared document whose name looks more like the chat text than the text's own.
        ("chat notes.txt", fixture("document.txt")),
        ("WhatsApp Chat with Marta Ruiz.txt", text.clone()),
        ("IMG-20210214-WA0002.jpg", fixture("photo.jpg")),
        ("STK-20210214-WA0003.webp", fixture("sticker.webp")),
        ("Anna Rossi.vcf", fixture("contact.vcf")),
    ]);
    let (_dir, path) = write_temp("WhatsApp Chat with Marta Ruiz.zip", &zip);
    let source = Source::open(&path).unwrap();

    assert_eq!(source.text_name(), "WhatsApp Chat with Marta Ruiz.txt");
    assert_eq!(source.chat_title().as_deref(), Some("Marta Ruiz"));
    assert_eq!(read_text(&source), text);
    assert_eq!(
        source.media_names(),
        [
            "Anna Rossi.vcf",
            "IMG-20210214-WA0002.jpg",
            "STK-20210214-WA0003.webp",
            "chat notes.txt"
        ]
    );
    assert!(source.has_media("IMG-20210214-WA0002.jpg"));
    assert!(source.has_media("Anna Rossi.vcf"));
    // Referenced in the text but not exported (over the size limit on the phone).
    assert!(!source.has_media("IMG-20210214-WA0009.jpg"));
    assert_eq!(source.read_media("IMG-20210214-WA0009.jpg").unwrap(), None);
    assert_eq!(
        source.read_media("IMG-20210214-WA0002.jpg").unwrap(),
        Some(fixture("photo.jpg"))
    );
    assert_eq!(
        source.read_media("Anna Rossi.vcf").unwrap(),
        Some(fixture("contact.vcf"))
    );
    assert!(source.skipped().is_empty());
}

#[test]
fn android_txt_takes_media_beside_it_but_never_through_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Chat de WhatsApp con Lucía (1).txt");
    std::fs::write(&path, fixture("android.txt")).unwrap();
    std::fs::write(
        dir.path().join("IMG-20210214-WA0002.jpg"),
        fixture("photo.jpg"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("STK-20210214-WA0003.webp")).unwrap();
    // Over the media cap (sparse: no disk is used).
    let video = std::fs::File::create(dir.path().join("VID-20210214-WA0004.mp4")).unwrap();
    video.set_len(MAX_MEDIA_BYTES + 1).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("Anna Rossi.vcf")).unwrap();

    let source = Source::open(&path).unwrap();
    assert_eq!(source.text_name(), "Chat de WhatsApp con Lucía (1).txt");
    assert_eq!(source.chat_title().as_deref(), Some("Lucía"));
    assert_eq!(read_text(&source), fixture("android.txt"));
    assert_eq!(source.media_names(), ["IMG-20210214-WA0002.jpg"]);
    assert_eq!(
        source.read_media("IMG-20210214-WA0002.jpg").unwrap(),
        Some(fixture("photo.jpg"))
    );
    assert!(
        !source.has_media("STK-20210214-WA0003.webp"),
        "a folder is not a media file"
    );
    assert!(
        !source.has_media("Anna Rossi.vcf"),
        "a link is not a media file"
    );
    assert_eq!(source.read_media("Anna Rossi.vcf").unwrap(), None);
    assert!(!source.has_media("VID-20210214-WA0004.mp4"));
    assert_eq!(
        source.skipped(),
        [Skipped {
            name: "VID-20210214-WA0004.mp4".into(),
            reason: SkipReason::TooLarge {
                bytes: MAX_MEDIA_BYTES + 1
            }
        }]
    );
}

#[test]
fn ios_zip_takes_chat_txt_over_a_chat_like_document() {
    let text = fixture("ios_chat.txt");
    let zip = zip_of(&[
        // A document that is itself a pasted chat: the name `_chat.txt` still wins.
        ("00000046-Holiday plan.txt", fixture("web_chat.txt")),
        ("_chat.txt", text.clone()),
        (
            "00000012-PHOTO-2021-02-14-09-05-12.jpg",
            fixture("photo.jpg"),
        ),
        (
            "00000013-STICKER-2021-02-14-09-06-00.webp",
            fixture("sticker.webp"),
        ),
    ]);
    let (_dir, path) = write_temp("WhatsApp Chat - Anna.zip", &zip);
    let source = Source::open(&path).unwrap();

    assert_eq!(source.text_name(), "_chat.txt");
    assert_eq!(source.chat_title().as_deref(), Some("Anna"));
    assert_eq!(read_text(&source), text);
    // Each call is a fresh reader from the start (detect and parse each read the text once).
    assert_eq!(read_text(&source), text);
    assert!(source.has_media("00000012-PHOTO-2021-02-14-09-05-12.jpg"));
    assert!(source.has_media("00000046-Holiday plan.txt"));
    assert!(!source.has_media("00000048-PHOTO-2021-02-14-09-09-00.jpg"));
    assert!(
        !source.has_media("_chat.txt"),
        "the chat text is not a media file"
    );
    assert_eq!(
        source
            .read_media("00000013-STICKER-2021-02-14-09-06-00.webp")
            .unwrap(),
        Some(fixture("sticker.webp"))
    );
}

#[test]
fn ios_zip_repacked_on_a_mac_ignores_appledouble_and_matches_nfd_names() {
    let text = fixture("ios_chat.txt");
    // macOS stores names decomposed: "Menù Café" as "Menu\u{300} Cafe\u{301}".
    let nfd = "00000047-Menu\u{300} Cafe\u{301}.pdf";
    let zip = zip_of(&[
        ("WhatsApp Chat - Anna/_chat.txt", text.clone()),
        (
            "__MACOSX/WhatsApp Chat - Anna/._chat.txt",
            b"\x00\x05\x16\x07AppleDouble".to_vec(),
        ),
        (
            "WhatsApp Chat - Anna/00000012-PHOTO-2021-02-14-09-05-12.jpg",
            fixture("photo.jpg"),
        ),
        (
            "WhatsApp Chat - Anna/._00000012-PHOTO-2021-02-14-09-05-12.jpg",
            b"\x00\x05\x16\x07".to_vec(),
        ),
        (&format!("WhatsApp Chat - Anna/{nfd}"), fixture("menu.pdf")),
        ("WhatsApp Chat - Anna/.DS_Store", vec![0; 64]),
    ]);
    let (_dir, path) = write_temp("Archive.zip", &zip);
    let source = Source::open(&path).unwrap();

    assert_eq!(source.text_name(), "WhatsApp Chat - Anna/_chat.txt");
    // No title in the zip's name: the folder inside gives it.
    assert_eq!(source.chat_title().as_deref(), Some("Anna"));
    assert_eq!(read_text(&source), text);
    assert_eq!(
        source.media_names(),
        ["00000012-PHOTO-2021-02-14-09-05-12.jpg", nfd]
    );
    // The text names the file composed (NFC), as iOS writes it.
    let nfc = "00000047-Menù Café.pdf";
    assert_ne!(nfc, nfd);
    assert!(source.has_media(nfc));
    assert_eq!(source.read_media(nfc).unwrap(), Some(fixture("menu.pdf")));
}

#[test]
fn whatsapp_web_zip_keeps_media_under_media_folder() {
    let text = fixture("web_chat.txt");
    let zip = zip_of(&[
        ("chat.txt", text.clone()),
        ("chat.md", fixture("web_chat.md")),
        ("media/IMG_4021.jpg", fixture("photo.jpg")),
    ]);
    // WhatsApp Web names the zip after the chat, with `:` replaced by `_`.
    let (_dir, path) = write_temp("Trip_ Rome 2025.zip", &zip);
    let source = Source::open(&path).unwrap();

    assert_eq!(source.text_name(), "chat.txt");
    assert_eq!(source.chat_title().as_deref(), Some("Trip_ Rome 2025"));
    assert_eq!(read_text(&source), text);
    assert!(source.has_media("IMG_4021.jpg"));
    assert_eq!(
        source.read_media("IMG_4021.jpg").unwrap(),
        Some(fixture("photo.jpg"))
    );
    assert!(!source.has_media("media"));
}

#[test]
fn zip_is_recognised_by_content_whatever_its_name() {
    let zip = zip_of(&[("_chat.txt", fixture("ios_chat.txt"))]);
    let (_dir, path) = write_temp("export.txt", &zip);
    let source = Source::open(&path).unwrap();
    assert_eq!(source.text_name(), "_chat.txt");
    assert_eq!(source.chat_title(), None);
}

#[test]
fn zip_without_a_chat_text_says_so() {
    let zip = zip_of(&[
        ("notes.txt", fixture("document.txt")),
        ("IMG-20210214-WA0002.jpg", fixture("photo.jpg")),
    ]);
    let error = open_error("WhatsApp Chat with Marta.zip", &zip);
    assert!(matches!(error, ImportError::NoChatText), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the archive holds no WhatsApp chat text file"
    );
}

// --- Hostile inputs -------------------------------------------------------------------------

#[test]
fn zip_bomb_is_refused_by_its_compression_ratio() {
    // 64 MiB of zeros deflate to about 64 KiB: a ratio of about 1000:1.
    let zip = zip_of(&[
        ("_chat.txt", fixture("ios_chat.txt")),
        ("00000012-PHOTO.jpg", vec![0; 64 << 20]),
    ]);
    assert!(zip.len() < 1 << 20);
    let error = open_error("bomb.zip", &zip);
    assert!(matches!(error, ImportError::UnsafeArchive(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with("the archive was refused as unsafe: the entry \"00000012-PHOTO.jpg\""),
        "{message}"
    );
    assert!(
        message.contains(&format!("more than {MAX_RATIO} times")) && message.contains("zip bomb"),
        "{message}"
    );
}

#[test]
fn zip_declaring_more_than_the_total_cap_is_refused() {
    // Three stored 15 MiB videos each declaring 1.45 GiB: each within the ratio rule (about
    // 99:1), together over the 4 GiB cap.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("_chat.txt", deflated()).unwrap();
    zip.write_all(&fixture("ios_chat.txt")).unwrap();
    let names = [
        "00000012-VIDEO-1.mp4",
        "00000013-VIDEO-2.mp4",
        "00000014-VIDEO-3.mp4",
    ];
    for name in names {
        zip.start_file(name, stored).unwrap();
        zip.write_all(&vec![7; 15 << 20]).unwrap();
    }
    let mut zip = zip.finish().unwrap().into_inner();
    for name in names {
        lie_about_size(&mut zip, name, 1_450 << 20);
    }
    let error = open_error("WhatsApp Chat - Anna.zip", &zip);
    assert!(matches!(error, ImportError::UnsafeArchive(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the archive was refused as unsafe: it would unpack to more than {} GiB (the limit), reached at the \
             entry \"00000014-VIDEO-3.mp4\"",
            MAX_TOTAL_BYTES >> 30
        )
    );
}

#[test]
fn entry_whose_declared_size_lies_is_stopped_at_the_declared_size() {
    // The chat text declares 300 bytes and holds 32 MiB: the caps at open time all pass, and
    // the reader must stop on the bytes it actually gets.
    let mut body = fixture("ios_chat.txt");
    body.extend(std::iter::repeat_n(b'a', 32 << 20));
    let mut zip = zip_of(&[
        ("_chat.txt", body),
        ("00000012-PHOTO-1.jpg", vec![b'b'; 8 << 20]),
    ]);
    lie_about_size(&mut zip, "_chat.txt", 300);
    lie_about_size(&mut zip, "00000012-PHOTO-1.jpg", 100);
    let (_dir, path) = write_temp("WhatsApp Chat - Anna.zip", &zip);
    let started = Instant::now();
    let source = Source::open(&path).unwrap();

    let mut text = Vec::new();
    let error = source.text().unwrap().read_to_end(&mut text).unwrap_err();
    assert!(text.len() <= 300, "{} bytes got through", text.len());
    assert_eq!(
        error.to_string(),
        "the archive was refused as unsafe: the entry \"_chat.txt\" holds more than the 300 bytes its header declares"
    );

    let error = source.read_media("00000012-PHOTO-1.jpg").unwrap_err();
    assert!(matches!(error, ImportError::UnsafeArchive(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the archive was refused as unsafe: the entry \"00000012-PHOTO-1.jpg\" holds more than the 100 bytes its \
         header declares"
    );
    assert!(started.elapsed() < BOUNDED, "took {:?}", started.elapsed());
}

#[test]
fn path_traversal_is_refused() {
    for (name, reason) in [
        ("../evil.txt", "climbs out of the archive with \"..\""),
        (
            "media/../../evil.txt",
            "climbs out of the archive with \"..\"",
        ),
        ("..\\evil.txt", "climbs out of the archive with \"..\""),
        ("/etc/cron.d/evil", "has an absolute path"),
        (
            "C:\\Windows\\evil.dll",
            "has an absolute path (a drive letter)",
        ),
    ] {
        let zip = zip_of(&[
            ("_chat.txt", fixture("ios_chat.txt")),
            (name, b"x".to_vec()),
        ]);
        let error = open_error("WhatsApp Chat - Anna.zip", &zip);
        assert!(
            matches!(error, ImportError::UnsafeArchive(_)),
            "{name}: {error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("the archive was refused as unsafe: the entry \"{name}\" {reason}"),
            "{name}"
        );
    }
}

#[test]
fn symlink_entry_is_refused() {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("_chat.txt", deflated()).unwrap();
    zip.write_all(&fixture("ios_chat.txt")).unwrap();
    zip.add_symlink(
        "00000012-PHOTO-1.jpg",
        "/home/user/.ssh/id_ed25519",
        deflated(),
    )
    .unwrap();
    let zip = zip.finish().unwrap().into_inner();
    let error = open_error("WhatsApp Chat - Anna.zip", &zip);
    assert!(matches!(error, ImportError::UnsafeArchive(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the archive was refused as unsafe: the entry \"00000012-PHOTO-1.jpg\" is a symbolic link; exports never \
         contain links"
    );
}

#[test]
fn nested_zip_is_never_opened() {
    let inner = zip_of(&[
        ("_chat.txt", fixture("ios_chat.txt")),
        ("bomb.bin", vec![0; 8 << 20]),
    ]);
    let zip = zip_of(&[
        ("_chat.txt", fixture("android.txt")),
        ("backup.zip", inner.clone()),
    ]);
    let (_dir, path) = write_temp("WhatsApp Chat with Marta.zip", &zip);
    let source = Source::open(&path).unwrap();
    assert_eq!(read_text(&source), fixture("android.txt"));
    assert!(
        source.media_names().is_empty(),
        "{:?}",
        source.media_names()
    );
    assert!(!source.has_media("backup.zip"));
    assert_eq!(source.read_media("backup.zip").unwrap(), None);
    assert_eq!(source.skipped().len(), 1);
    assert_eq!(source.skipped()[0].name, "backup.zip");
    assert_eq!(source.skipped()[0].reason, SkipReason::NestedArchive);

    // A zip of a zip: the chat inside is not looked for.
    let error = open_error(
        "WhatsApp Chat with Marta.zip",
        &zip_of(&[("WhatsApp Chat with Marta.zip", inner)]),
    );
    assert!(matches!(error, ImportError::NoChatText), "{error:?}");
}

#[test]
fn binary_garbage_is_refused() {
    // A deterministic pseudo-random byte stream (xorshift), with NUL bytes in it.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let garbage: Vec<u8> = (0..256 << 10)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();

    let error = open_error("WhatsApp Chat with Marta.txt", &garbage);
    assert!(matches!(error, ImportError::NotAnExport), "{error:?}");

    let error = open_error("WhatsApp Chat - Anna.zip", &garbage);
    assert!(matches!(error, ImportError::BadArchive(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the archive cannot be read: WhatsApp Chat - Anna.zip is named .zip but is not a zip archive"
    );

    // Garbage behind a zip signature.
    let mut fake = b"PK\x03\x04".to_vec();
    fake.extend(&garbage);
    let error = open_error("WhatsApp Chat - Anna.zip", &fake);
    assert!(matches!(error, ImportError::BadArchive(_)), "{error:?}");
    assert!(error.to_string().starts_with(
        "the archive cannot be read: WhatsApp Chat - Anna.zip is damaged or incomplete"
    ));
}

#[test]
fn empty_file_is_refused() {
    for name in ["WhatsApp Chat with Marta.txt", "WhatsApp Chat - Anna.zip"] {
        let error = open_error(name, b"");
        assert!(matches!(error, ImportError::Empty), "{name}: {error:?}");
        assert_eq!(error.to_string(), "the file is empty");
    }
}

#[test]
fn truncated_zip_is_refused() {
    let zip = zip_of(&[
        ("_chat.txt", fixture("ios_chat.txt")),
        (
            "00000012-PHOTO-2021-02-14-09-05-12.jpg",
            fixture("photo.jpg"),
        ),
    ]);
    for keep in [zip.len() - 10, zip.len() / 2, 30] {
        let error = open_error("WhatsApp Chat - Anna.zip", &zip[..keep]);
        assert!(
            matches!(error, ImportError::BadArchive(_)),
            "{keep}: {error:?}"
        );
        assert!(
            error.to_string().starts_with(
                "the archive cannot be read: WhatsApp Chat - Anna.zip is damaged or incomplete"
            ),
            "{keep}: {error}"
        );
    }
}

#[test]
fn zip_with_too_many_entries_is_refused() {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for i in 0..=MAX_ENTRIES {
        zip.start_file(format!("{i}"), stored).unwrap();
    }
    let zip = zip.finish().unwrap().into_inner();
    let error = open_error("WhatsApp Chat - Anna.zip", &zip);
    assert!(matches!(error, ImportError::UnsafeArchive(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the archive was refused as unsafe: it lists {} files; an export may have at most {MAX_ENTRIES}",
            MAX_ENTRIES + 1
        )
    );
}

#[test]
fn utf16_text_is_refused_with_a_way_out() {
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(
        "14/02/2021, 09:05 - Marta: hi\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    let error = open_error("WhatsApp Chat with Marta.txt", &utf16);
    assert!(matches!(error, ImportError::Invalid(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "WhatsApp Chat with Marta.txt is saved as UTF-16 text, and WhatsApp exports are UTF-8: save it \
         as UTF-8 (or import the original export)"
    );
}

#[test]
fn txt_is_read_from_the_file_opened_even_if_its_name_is_replaced() {
    let (dir, path) = write_temp("WhatsApp Chat with Marta.txt", &fixture("android.txt"));
    let source = Source::open(&path).unwrap();
    let swap = dir.path().join("swap");
    std::fs::write(&swap, b"14/02/2021, 09:05 - Mallory: replaced\n").unwrap();
    std::fs::rename(&swap, &path).unwrap();
    assert_eq!(read_text(&source), fixture("android.txt"));
    assert_eq!(read_text(&source), fixture("android.txt"));
}

#[test]
fn damaged_entry_data_is_a_read_error_naming_the_entry() {
    let text = fixture("android.txt");
    // Stored, so the bytes are findable: one flipped byte fails the checksum at the end.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("_chat.txt", stored).unwrap();
    zip.write_all(&text).unwrap();
    zip.start_file("IMG-20210214-WA0002.jpg", stored).unwrap();
    zip.write_all(&fixture("photo.jpg")).unwrap();
    let mut zip = zip.finish().unwrap().into_inner();
    let at = zip.windows(10).position(|w| w == b"buongiorno").unwrap();
    zip[at] = b'B';
    let at = zip.windows(4).position(|w| w == b"JFIF").unwrap();
    zip[at + 20] ^= 0xff;
    let (_dir, path) = write_temp("WhatsApp Chat with Marta.zip", &zip);
    let source = Source::open(&path).unwrap();

    let error = source
        .text()
        .unwrap()
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the entry \"_chat.txt\" cannot be read (Invalid checksum)"
    );
    let error = source.read_media("IMG-20210214-WA0002.jpg").unwrap_err();
    assert!(matches!(error, ImportError::BadArchive(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the archive cannot be read: the entry \"IMG-20210214-WA0002.jpg\" cannot be read (Invalid \
         checksum)"
    );

    // A deflated entry with its compressed bytes overwritten.
    let mut zip = zip_of(&[("_chat.txt", text.repeat(50))]);
    let data = 30 + "_chat.txt".len();
    for byte in &mut zip[data + 20..data + 60] {
        *byte = 0xff;
    }
    let (_dir, path) = write_temp("WhatsApp Chat with Marta.zip", &zip);
    let source = Source::open(&path).unwrap();
    let error = source
        .text()
        .unwrap()
        .read_to_end(&mut Vec::new())
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the entry \"_chat.txt\" cannot be read ("),
        "{error}"
    );
}

/// The attachments the parser reads from the chat text, each with whether the export has it.
fn parsed_attachments(source: &Source) -> Vec<(String, bool)> {
    use missiva_core::import::whatsapp::detect::detect;
    use missiva_core::import::whatsapp::model::Parsed;
    use missiva_core::import::whatsapp::parse::Parser;
    let detection = detect(source.text().unwrap(), None).unwrap();
    Parser::new(source.text().unwrap(), &detection)
        .filter_map(|item| match item.unwrap() {
            Parsed::Entry(entry) => entry.attachment,
            Parsed::Unparsed(_) => None,
        })
        .map(|name| {
            let found = source.has_media(&name);
            (name, found)
        })
        .collect()
}

#[test]
fn parsed_attachments_are_matched_to_the_media_of_each_platforms_zip() {
    let android = zip_of(&[
        ("WhatsApp Chat with Marta Ruiz.txt", fixture("android.txt")),
        ("IMG-20210214-WA0002.jpg", fixture("photo.jpg")),
        ("STK-20210214-WA0003.webp", fixture("sticker.webp")),
        ("Anna Rossi.vcf", fixture("contact.vcf")),
    ]);
    let (_dir, path) = write_temp("WhatsApp Chat with Marta Ruiz.zip", &android);
    let found = parsed_attachments(&Source::open(&path).unwrap());
    assert_eq!(
        found,
        [
            ("IMG-20210214-WA0002.jpg".to_owned(), true),
            ("STK-20210214-WA0003.webp".to_owned(), true),
            ("IMG-20210214-WA0009.jpg".to_owned(), false),
            ("Anna Rossi.vcf".to_owned(), true),
        ]
    );

    // iOS repacked on a Mac: the PDF's name is stored NFD, the text says it NFC.
    let ios = zip_of(&[
        ("_chat.txt", fixture("ios_chat.txt")),
        (
            "00000012-PHOTO-2021-02-14-09-05-12.jpg",
            fixture("photo.jpg"),
        ),
        (
            "00000013-STICKER-2021-02-14-09-06-00.webp",
            fixture("sticker.webp"),
        ),
        ("00000046-Holiday plan.txt", fixture("document.txt")),
        ("00000047-Menu\u{300} Cafe\u{301}.pdf", fixture("menu.pdf")),
    ]);
    let (_dir, path) = write_temp("WhatsApp Chat - Anna.zip", &ios);
    let found = parsed_attachments(&Source::open(&path).unwrap());
    assert_eq!(
        found,
        [
            ("00000012-PHOTO-2021-02-14-09-05-12.jpg".to_owned(), true),
            ("00000013-STICKER-2021-02-14-09-06-00.webp".to_owned(), true),
            ("00000046-Holiday plan.txt".to_owned(), true),
            ("00000047-Menù Café.pdf".to_owned(), true),
            ("00000048-PHOTO-2021-02-14-09-09-00.jpg".to_owned(), false),
        ]
    );

    let web = zip_of(&[
        ("chat.txt", fixture("web_chat.txt")),
        ("chat.md", fixture("web_chat.md")),
        ("media/IMG_4021.jpg", fixture("photo.jpg")),
    ]);
    let (_dir, path) = write_temp("Trip_ Rome 2025.zip", &web);
    let found = parsed_attachments(&Source::open(&path).unwrap());
    assert_eq!(found, [("IMG_4021.jpg".to_owned(), true)]);
}

/// A zip whose end records (zip64) declare `entries` entries and a directory of `bytes`,
/// with nothing behind them: what a crafted archive can claim in a few hundred bytes.
fn zip64_claiming(entries: u64, bytes: u64) -> Vec<u8> {
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend([0; 26]);
    let record_at = zip.len() as u64;
    zip.extend(b"PK\x06\x06");
    zip.extend(44_u64.to_le_bytes());
    zip.extend([45, 0, 45, 0]);
    zip.extend([0; 8]);
    zip.extend(entries.to_le_bytes());
    zip.extend(entries.to_le_bytes());
    zip.extend(bytes.to_le_bytes());
    zip.extend(0_u64.to_le_bytes());
    zip.extend(b"PK\x06\x07");
    zip.extend(0_u32.to_le_bytes());
    zip.extend(record_at.to_le_bytes());
    zip.extend(1_u32.to_le_bytes());
    zip.extend(b"PK\x05\x06");
    zip.extend([0; 4]);
    zip.extend([0xff; 12]);
    zip.extend([0; 2]);
    zip
}

#[test]
fn directory_claiming_millions_of_entries_is_refused_before_it_is_read() {
    let error = open_error(
        "WhatsApp Chat - Anna.zip",
        &zip64_claiming(1 << 40, 1 << 20),
    );
    assert!(matches!(error, ImportError::UnsafeArchive(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the archive was refused as unsafe: it lists 1099511627776 files; an export may have at \
             most {MAX_ENTRIES}"
        )
    );

    let error = open_error("WhatsApp Chat - Anna.zip", &zip64_claiming(10, 1 << 40));
    assert!(matches!(error, ImportError::UnsafeArchive(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the archive was refused as unsafe: its table of contents has 1048576 MiB, more than the 64 \
         MiB an export may have"
    );
}

#[test]
fn oversized_media_in_a_zip_is_left_out_and_listed() {
    // 3 MiB stored, declaring just over the media cap: within the ratio rule (about 86:1), so
    // the archive opens, and the video is left out rather than read into memory.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("_chat.txt", deflated()).unwrap();
    zip.write_all(&fixture("ios_chat.txt")).unwrap();
    zip.start_file("00000012-VIDEO-1.mp4", stored).unwrap();
    zip.write_all(&vec![1; 3 << 20]).unwrap();
    let mut zip = zip.finish().unwrap().into_inner();
    let declared = MAX_MEDIA_BYTES + 1;
    lie_about_size(
        &mut zip,
        "00000012-VIDEO-1.mp4",
        u32::try_from(declared).unwrap(),
    );
    let (_dir, path) = write_temp("WhatsApp Chat - Anna.zip", &zip);
    let source = Source::open(&path).unwrap();
    assert!(!source.has_media("00000012-VIDEO-1.mp4"));
    assert_eq!(source.read_media("00000012-VIDEO-1.mp4").unwrap(), None);
    assert_eq!(
        source.skipped(),
        [Skipped {
            name: "00000012-VIDEO-1.mp4".into(),
            reason: SkipReason::TooLarge { bytes: declared }
        }]
    );
    assert_eq!(
        source.skipped()[0].reason.to_string(),
        "257 MiB is more than the 256 MiB a media file may have"
    );
}
