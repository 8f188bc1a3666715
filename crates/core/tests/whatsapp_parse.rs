#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! WhatsApp export detection and parsing against the fixtures in `tests/data/whatsapp/`.
//!
//! Each fixture `NAME.txt` (an invented export written for one variant or quirk of
//! `shared/whatsapp-format.md`) has a `NAME.json` with the expected detection and every expected
//! entry, compared field by field. `kind`, `attachment` and `edited` may be left out of an
//! expected entry when they are `{"type": "text"}`, `null` and `false`.

use std::fs;
use std::io::{BufReader, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use missiva_core::import::whatsapp::ImportError;
use missiva_core::import::whatsapp::detect::detect;
use missiva_core::import::whatsapp::model::{DateOrder, Detection, Parsed};
use missiva_core::import::whatsapp::parse::{MAX_ENTRY_BYTES, MAX_LINE_BYTES, Parser};
use serde_json::{Value, json};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/whatsapp")
}

fn order_from(text: &str) -> DateOrder {
    match text {
        "dmy" => DateOrder::DayMonthYear,
        "mdy" => DateOrder::MonthDayYear,
        "ymd" => DateOrder::YearMonthDay,
        other => panic!("unknown date order {other}"),
    }
}

fn error_code(error: &ImportError) -> &'static str {
    match error {
        ImportError::Empty => "empty",
        ImportError::NotAnExport => "not-an-export",
        ImportError::LineTooLong { .. } => "line-too-long",
        _ => "other",
    }
}

/// Detection and parse of `bytes` read through a `BufReader` of `capacity` bytes.
fn run(
    bytes: &[u8],
    capacity: usize,
    date_order: Option<DateOrder>,
) -> Result<(Detection, Vec<Parsed>), ImportError> {
    let detection = detect(
        BufReader::with_capacity(capacity, Cursor::new(bytes)),
        date_order,
    )?;
    let parsed = Parser::new(
        BufReader::with_capacity(capacity, Cursor::new(bytes)),
        &detection,
    )
    .collect::<Result<Vec<_>, _>>()?;
    Ok((detection, parsed))
}

fn compare(name: &str, what: &str, expected: &Value, actual: &Value, failures: &mut Vec<String>) {
    if expected != actual {
        failures.push(format!("{name}: {what}: expected {expected}, got {actual}"));
    }
}

fn check_fixture(path: &Path, failures: &mut Vec<String>) {
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let bytes = fs::read(path).unwrap();
    let expected: Value = serde_json::from_slice(&fs::read(path.with_extension("json")).unwrap())
        .unwrap_or_else(|e| panic!("{name}.json: {e}"));
    let date_order = expected
        .get("override")
        .and_then(Value::as_str)
        .map(order_from);
    let result = run(&bytes, 64 * 1024, date_order);
    if let Some(code) = expected.get("error") {
        match result {
            Err(error) => compare(&name, "error", code, &json!(error_code(&error)), failures),
            Ok((detection, _)) => {
                failures.push(format!("{name}: expected error {code}, got {detection:?}"))
            }
        }
        return;
    }
    let (detection, parsed) = match result {
        Ok(ok) => ok,
        Err(error) => return failures.push(format!("{name}: unexpected error {error}")),
    };
    let want = &expected["detection"];
    compare(
        &name,
        "family",
        &want["family"],
        &json!(detection.family.as_str()),
        failures,
    );
    compare(
        &name,
        "date_order",
        &want["date_order"],
        &json!(detection.date_order.as_str()),
        failures,
    );
    compare(
        &name,
        "basis",
        &want["basis"],
        &serde_json::to_value(detection.date_order_basis).unwrap(),
        failures,
    );
    compare(
        &name,
        "hour12",
        &want["hour12"],
        &json!(detection.hour12),
        failures,
    );
    let inconsistent = want.get("inconsistent").cloned().unwrap_or(json!(false));
    compare(
        &name,
        "inconsistent",
        &inconsistent,
        &json!(detection.date_order_inconsistent),
        failures,
    );
    let crlf = want.get("crlf").cloned().unwrap_or(json!(false));
    compare(
        &name,
        "crlf_records",
        &crlf,
        &json!(detection.crlf_records),
        failures,
    );

    let mut entries = Vec::new();
    let mut unparsed = Vec::new();
    for item in &parsed {
        match item {
            Parsed::Entry(entry) => entries.push(serde_json::to_value(entry).unwrap()),
            Parsed::Unparsed(line) => unparsed.push(json!([line.line, line.text])),
        }
    }
    let want_unparsed = expected.get("unparsed").cloned().unwrap_or(json!([]));
    compare(
        &name,
        "unparsed lines",
        &want_unparsed,
        &json!(unparsed),
        failures,
    );
    let want_entries = expected["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no entries"));
    if want_entries.len() != entries.len() {
        failures.push(format!(
            "{name}: expected {} entries, got {}: {entries:#?}",
            want_entries.len(),
            entries.len()
        ));
    }
    for (index, (want, got)) in want_entries.iter().zip(&entries).enumerate() {
        for field in [
            "line",
            "timestamp",
            "author",
            "body",
            "kind",
            "attachment",
            "edited",
        ] {
            let want_field = want.get(field).cloned().unwrap_or_else(|| match field {
                "kind" => json!({"type": "text"}),
                "attachment" => Value::Null,
                "edited" => json!(false),
                _ => panic!("{name}: entry {index} lacks `{field}`"),
            });
            compare(
                &name,
                &format!("entry {index} {field}"),
                &want_field,
                &got[field],
                failures,
            );
        }
    }

    // The same bytes through tiny buffers: line endings split across reads change nothing.
    for capacity in [1, 2, 3, 7] {
        match run(&bytes, capacity, date_order) {
            Ok((small_detection, small_parsed)) => {
                if small_detection != detection || small_parsed != parsed {
                    failures.push(format!(
                        "{name}: different result with a {capacity}-byte buffer"
                    ));
                }
            }
            Err(error) => failures.push(format!("{name}: {error} with a {capacity}-byte buffer")),
        }
    }
}

#[test]
fn every_fixture_detects_and_parses_as_expected() {
    let mut paths: Vec<PathBuf> = fs::read_dir(data_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 40, "only {} fixtures", paths.len());
    let mut failures = Vec::new();
    for path in &paths {
        check_fixture(path, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_2_gb_line_without_newline_fails_fast_with_line_too_long() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.txt");
    let file = fs::File::create(&path).unwrap();
    file.set_len(2 * 1024 * 1024 * 1024).unwrap();
    drop(file);
    let started = Instant::now();
    let error = detect(BufReader::new(fs::File::open(&path).unwrap()), None).unwrap_err();
    assert!(
        matches!(
            error,
            ImportError::LineTooLong {
                line: 1,
                limit: MAX_LINE_BYTES
            }
        ),
        "{error:?}"
    );

    // The parser on its own (a caller that skips detection) fails the same way.
    let detection = Detection {
        family: missiva_core::import::whatsapp::model::Family::Android,
        date_order: DateOrder::DayMonthYear,
        date_order_basis: missiva_core::import::whatsapp::model::DateOrderBasis::Default,
        date_order_inconsistent: false,
        hour12: false,
        crlf_records: false,
        header_lines: 0,
    };
    let mut parser = Parser::new(BufReader::new(fs::File::open(&path).unwrap()), &detection);
    assert!(matches!(
        parser.next(),
        Some(Err(ImportError::LineTooLong { line: 1, .. }))
    ));
    assert!(parser.next().is_none(), "the parser stops after an error");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_long_line_after_valid_messages_reports_its_line_number() {
    let mut text = b"14/02/2021, 09:05 - Ana: hi\n14/02/2021, 09:06 - Ana: ".to_vec();
    text.extend(std::iter::repeat_n(b'a', MAX_LINE_BYTES + 1));
    let error = detect(Cursor::new(&text), None).unwrap_err();
    assert!(
        matches!(error, ImportError::LineTooLong { line: 2, .. }),
        "{error:?}"
    );
}

#[test]
fn an_endless_message_is_refused_instead_of_growing_without_bound() {
    let mut text = b"14/02/2021, 09:05 - Ana: start\n".to_vec();
    let line = [b'x'; 1023];
    while text.len() <= MAX_ENTRY_BYTES + 4096 {
        text.extend_from_slice(&line);
        text.push(b'\n');
    }
    text.extend_from_slice(b"14/02/2021, 09:06 - Ana: after\n");
    let detection = detect(Cursor::new(&text), None).unwrap();
    let mut parser = Parser::new(Cursor::new(&text), &detection);
    match parser.next() {
        Some(Err(ImportError::Invalid(message))) => {
            assert!(message.contains("line 1"), "{message}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(parser.next().is_none());
}

#[test]
fn empty_and_blank_files_are_empty() {
    for bytes in [&b""[..], b"\n\n", b"\xEF\xBB\xBF", b"  \r\n\t\n"] {
        let error = detect(Cursor::new(bytes), None).unwrap_err();
        assert!(matches!(error, ImportError::Empty), "{bytes:?}: {error:?}");
    }
}

/// A small deterministic generator (xorshift) for the garbage tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn binary_garbage_is_not_an_export() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut bytes: Vec<u8> = (0..200_000).map(|_| rng.next() as u8).collect();
    // Make sure there are lines, so the error is about content rather than length.
    for chunk in bytes.chunks_mut(100) {
        chunk[99] = b'\n';
    }
    let error = detect(Cursor::new(&bytes), None).unwrap_err();
    assert!(matches!(error, ImportError::NotAnExport), "{error:?}");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10";
    assert!(matches!(
        detect(Cursor::new(png), None),
        Err(ImportError::NotAnExport)
    ));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Rng(42);
    // Pieces that reach deep into the header scanner and the body classifier.
    let pieces: [&[u8]; 24] = [
        b"[",
        b"]",
        b"1",
        b"12",
        b"2021",
        b"/",
        b".",
        b"-",
        b", ",
        b" ",
        b":",
        b"\n",
        b"\r\n",
        b" - ",
        b"PM",
        "\u{202F}".as_bytes(),
        "\u{200E}".as_bytes(),
        "\u{0661}".as_bytes(),
        b"<attached: ",
        b"(file attached)",
        b"POLL:\n",
        b"OPTION: x (2 votes)\n",
        b"\xFF\xFE",
        b"null",
    ];
    for round in 0..3000 {
        let mut input = Vec::new();
        let length = (rng.next() % 60) as usize;
        for _ in 0..length {
            if rng.next().is_multiple_of(4) {
                input.push(rng.next() as u8);
            } else {
                input.extend_from_slice(pieces[(rng.next() % pieces.len() as u64) as usize]);
            }
        }
        // Detection may refuse the input; the parser must cope with any detection.
        let _ = detect(Cursor::new(&input), None);
        for family in ["android", "ios", "ios-legacy", "web"] {
            let detection = Detection {
                family: match family {
                    "android" => missiva_core::import::whatsapp::model::Family::Android,
                    "ios" => missiva_core::import::whatsapp::model::Family::Ios,
                    "ios-legacy" => missiva_core::import::whatsapp::model::Family::IosLegacy,
                    _ => missiva_core::import::whatsapp::model::Family::Web,
                },
                date_order: [
                    DateOrder::DayMonthYear,
                    DateOrder::MonthDayYear,
                    DateOrder::YearMonthDay,
                ][round % 3],
                date_order_basis: missiva_core::import::whatsapp::model::DateOrderBasis::Default,
                date_order_inconsistent: round % 2 == 0,
                hour12: false,
                crlf_records: round % 5 == 0,
                header_lines: 0,
            };
            for item in Parser::new(Cursor::new(&input), &detection) {
                item.unwrap();
            }
        }
    }
}

/// A synthetic Android export of `messages` messages, some multi-line, some media.
fn generated_export(messages: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(messages * 48);
    let names = ["Marta Ruiz", "Tom Ake", "~ Carla", "+44 7123 456789"];
    for i in 0..messages {
        let day = 1 + (i / 3000) % 28;
        let month = 1 + (i / 84_000) % 12;
        let minute = (i / 2) % 60;
        let hour = (i / 120) % 24;
        let name = names[i % names.len()];
        write!(
            out,
            "{day:02}/{month:02}/2021, {hour:02}:{minute:02} - {name}: "
        )
        .unwrap();
        match i % 50 {
            0 => out.extend_from_slice(b"<Media omitted>\n"),
            1 => out.extend_from_slice(b"first line\nsecond line\n"),
            2 => out.extend_from_slice(b"IMG-20210101-WA0001.jpg (file attached)\n"),
            _ => writeln!(out, "message number {i} with some ordinary words").unwrap(),
        }
    }
    out
}

#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn parse_one_million_messages_timing() {
    let bytes = generated_export(1_000_000);
    let (mut detect_best, mut parse_best) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        let started = Instant::now();
        let detection = detect(Cursor::new(&bytes), None).unwrap();
        detect_best = detect_best.min(started.elapsed());
        let started = Instant::now();
        let mut count = 0usize;
        for item in Parser::new(Cursor::new(&bytes), &detection) {
            if let Parsed::Entry(entry) = item.unwrap() {
                count += 1;
                std::hint::black_box(&entry);
            }
        }
        parse_best = parse_best.min(started.elapsed());
        assert_eq!(count, 1_000_000);
    }
    println!(
        "{} MB, 1,000,000 messages: detect {detect_best:?}, parse {parse_best:?} ({:.0} ns/message), best of 3",
        bytes.len() / 1_000_000,
        parse_best.as_nanos() as f64 / 1e6
    );
}

#[test]
fn generated_export_parses_every_message() {
    let bytes = generated_export(5000);
    let detection = detect(Cursor::new(&bytes), None).unwrap();
    assert_eq!(detection.header_lines, 5000);
    let entries: Vec<_> = Parser::new(Cursor::new(&bytes), &detection)
        .map(|item| item.unwrap())
        .collect();
    assert_eq!(entries.len(), 5000);
    let Parsed::Entry(second) = &entries[1] else {
        panic!("not an entry")
    };
    assert_eq!(second.body, "first line\nsecond line");
    let Parsed::Entry(third) = &entries[2] else {
        panic!("not an entry")
    };
    assert_eq!(third.author.as_deref(), Some("Carla"));
    assert_eq!(third.attachment.as_deref(), Some("IMG-20210101-WA0001.jpg"));
}

#[test]
fn reading_stops_at_the_first_io_error() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk gone"))
        }
    }
    let error = detect(BufReader::new(Failing), None).unwrap_err();
    assert!(matches!(error, ImportError::Io { .. }), "{error:?}");
}
