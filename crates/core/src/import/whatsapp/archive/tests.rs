use std::io::Read;

use super::limits::{Capped, Limit, into_import_error};
use super::names::{
    Entry, attachment_like_name, is_ignored, looks_like_chat, shown, strip_copy_suffix,
    title_from_file_name, unsafe_name_reason,
};
use super::{ImportError, MAX_RATIO, RATIO_FLOOR_BYTES};

fn entry(path: &str, size: u64, compressed: u64) -> Entry {
    Entry {
        index: 0,
        path: path.into(),
        size,
        compressed,
    }
}

#[test]
fn titles_come_from_every_localised_file_name() {
    for (stem, title) in [
        ("WhatsApp Chat with Anna", "Anna"),
        ("WhatsApp Chat - Anna Rossi", "Anna Rossi"),
        ("WhatsApp Chat with Anna (1)", "Anna"),
        ("WhatsApp_Chat_with_Anna_Rossi", "Anna Rossi"),
        ("Chat de WhatsApp con Lucía", "Lucía"),
        ("Chat WhatsApp con Giulia 🍕", "Giulia 🍕"),
        ("WhatsApp Chat mit Jonas", "Jonas"),
        ("Discussion WhatsApp avec Luc", "Luc"),
        ("Conversa do WhatsApp com Ana", "Ana"),
        ("Conversa no WhatsApp com Ana", "Ana"),
        ("WhatsApp-chat met Bram", "Bram"),
        ("Chat WhatsApp s\u{a0}uživatelem Jana", "Jana"),
        ("Чат WhatsApp с\u{a0}контактом Олег", "Олег"),
        ("צ'אט WhatsApp עם דנה", "דנה"),
        ("whatsapp chat WITH anna", "anna"),
    ] {
        assert_eq!(title_from_file_name(stem).as_deref(), Some(title), "{stem}");
    }
    for stem in [
        "_chat",
        "export",
        "WhatsApp Chat with ",
        "WhatsApp Chat with (2)",
        "",
    ] {
        assert_eq!(title_from_file_name(stem), None, "{stem}");
    }
}

#[test]
fn copy_suffix_is_dropped_only_when_it_is_a_number() {
    assert_eq!(strip_copy_suffix("Anna (12)"), "Anna");
    assert_eq!(strip_copy_suffix("Anna (work)"), "Anna (work)");
    assert_eq!(strip_copy_suffix("Anna ()"), "Anna ()");
    assert_eq!(strip_copy_suffix("Anna"), "Anna");
}

#[test]
fn unsafe_names_are_told_apart_from_odd_but_safe_ones() {
    for name in [
        "../x",
        "a/../../x",
        "a\\..\\x",
        "/etc/passwd",
        "\\server\\x",
        "C:\\x",
        "c:x",
        "a\0b",
    ] {
        assert!(unsafe_name_reason(name).is_some(), "{name}");
    }
    for name in [
        "_chat.txt",
        "media/IMG.jpg",
        "..hidden",
        "a..b/c",
        "Anna: notes.txt",
        "x/./y",
    ] {
        assert_eq!(unsafe_name_reason(name), None, "{name}");
    }
}

#[test]
fn mac_metadata_is_ignored() {
    assert!(is_ignored("__MACOSX/._chat.txt"));
    assert!(is_ignored(
        "__MACOSX/WhatsApp Chat - Anna/00000012-PHOTO.jpg"
    ));
    assert!(is_ignored("WhatsApp Chat - Anna/._chat.txt"));
    assert!(is_ignored(".DS_Store"));
    assert!(!is_ignored("_chat.txt"));
    assert!(!is_ignored("media/__MACOSX.jpg"));
}

#[test]
fn headers_of_every_family_look_like_a_chat_and_documents_do_not() {
    for text in [
        "14/02/2021, 09:05 - Marta Ruiz: buongiorno\n",
        "\u{feff}[14/02/21, 09:05:33] Marta: hola\r\n",
        "\u{200e}[\u{200f}27\u{200f}/3\u{200f}/2022، 21:41:55] Omar: hi\r\n",
        "7/1/16, 4:56:55 PM: Sophie H.: hallo\n",
        "31.5.2019 klo 16.58 - Aino: moi\n",
        "[١٨/٣/٢٠٢٢، ٢:٥٦:٠٠ م] Omar: مرحبا\n",
        "19:23, 28 Aug 2013 - Ravi: hi\n",
        "Messages and calls are end-to-end encrypted.\nSome earlier messages may not be available.\n[1/5/25, 3:04:05 PM] You: hi\n",
    ] {
        assert!(looks_like_chat(text.as_bytes()), "{text:?}");
    }
    for text in [
        "Shopping list\n- milk\n",
        "2021-02-14 budget: 300\n",
        "Meeting at 09:05\n",
        "",
        "\0\0\u{1}binary",
    ] {
        assert!(!looks_like_chat(text.as_bytes()), "{text:?}");
    }
}

#[test]
fn shared_documents_are_recognised_by_name() {
    assert!(attachment_like_name("00000046-Holiday plan.txt"));
    assert!(attachment_like_name("DOC-20221118-WA0004.txt"));
    assert!(!attachment_like_name("_chat.txt"));
    assert!(!attachment_like_name("WhatsApp Chat with Anna.txt"));
    assert!(!attachment_like_name("12345678-"));
}

#[test]
fn names_in_errors_are_shortened_and_printable() {
    assert_eq!(shown("a\nb\u{7}"), "a?b?");
    let long = "x".repeat(500);
    assert_eq!(shown(&long).chars().count(), 121);
}

#[test]
fn capped_reader_passes_exactly_the_limit_and_fails_one_byte_past() {
    let data = vec![b'a'; 1000];
    let mut out = Vec::new();
    let read = Capped::new(
        &data[..],
        Limit::for_entry(&entry("x.txt", 1000, 1000), 5000),
    )
    .read_to_end(&mut out);
    assert_eq!(read.unwrap(), 1000);

    let mut out = Vec::new();
    let error = Capped::new(&data[..], Limit::for_entry(&entry("x.txt", 999, 999), 5000))
        .read_to_end(&mut out)
        .unwrap_err();
    assert_eq!(out.len(), 999);
    let error = into_import_error(error, "x.txt");
    assert!(matches!(error, ImportError::UnsafeArchive(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("holds more than the 999 bytes its header declares"),
        "{error}"
    );
}

#[test]
fn capped_reader_applies_the_ratio_and_the_cap() {
    let big = 4 * RATIO_FLOOR_BYTES;
    // Declared honestly but compressed 1000:1: the ratio rule stops it at 100 × compressed.
    let compressed = big / 1000;
    let limit = Limit::for_entry(&entry("bomb.bin", big, compressed), u64::MAX);
    let mut reader = Capped::new(std::io::repeat(0).take(big), limit);
    let error = std::io::copy(&mut reader, &mut std::io::sink()).unwrap_err();
    let error = into_import_error(error, "bomb.bin");
    assert!(matches!(error, ImportError::UnsafeArchive(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains(&format!("more than {MAX_RATIO} times")),
        "{error}"
    );

    // A file cap below both.
    let mut reader = Capped::new(std::io::repeat(1), Limit::file("_chat.txt", 2 << 20));
    let error = into_import_error(
        std::io::copy(&mut reader, &mut std::io::sink()).unwrap_err(),
        "_chat.txt",
    );
    assert!(matches!(error, ImportError::Invalid(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "\"_chat.txt\" has more than the 2 MiB an import reads from one file"
    );
}

#[test]
fn other_read_errors_say_the_archive_is_damaged() {
    let error = into_import_error(std::io::Error::other("corrupt deflate stream"), "_chat.txt");
    assert!(matches!(error, ImportError::BadArchive(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the archive cannot be read: the entry \"_chat.txt\" cannot be read (corrupt deflate stream)"
    );
}

#[test]
fn source_can_move_to_a_blocking_thread_and_be_shared() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<super::Source>();
}
