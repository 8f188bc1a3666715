//! Unit tests of the header scanner, the author split and the body classification.

use time::macros::datetime;

use super::body::strip_marks;
use super::header::is_mark;
use super::header::{DateFields, Meridiem, Shape, header};
use super::{has_quote, normalize_author, split_author};
use crate::import::whatsapp::model::{DateOrder, EntryKind, Family, MediaKind};

fn stamp(line: &str, order: DateOrder) -> Option<time::PrimitiveDateTime> {
    header(line)?.timestamp(order, false, 2020)
}

#[test]
fn shapes_are_told_apart_by_what_follows_the_time() {
    let cases = [
        ("14/02/2021, 09:05 - Ana: hi", Shape::Android),
        ("[14/02/2021, 09:05:33] Ana: hi", Shape::Bracket),
        ("[1/5/25, 3:04:05 PM] - Nora added Ben", Shape::BracketDash),
        ("7/1/16, 4:56:55 PM: Sophie: hi", Shape::Legacy),
        ("2022/12/14, 13:34. - Kim: hi", Shape::Android),
    ];
    for (line, shape) in cases {
        assert_eq!(header(line).map(|h| h.shape), Some(shape), "{line}");
    }
}

#[test]
fn the_rest_offset_points_after_the_header() {
    let line = "\u{200E}[14/02/2021, 09:05:33] Ana: hi";
    let h = header(line).unwrap();
    assert!(h.leading_mark);
    assert_eq!(line.get(h.rest..), Some("Ana: hi"));
    let line = "14/02/2021, 09:05 - ";
    assert_eq!(line.get(header(line).unwrap().rest..), Some(""));
}

#[test]
fn lines_that_only_look_like_headers_are_refused() {
    for line in [
        "12/03/2021 10:00 meeting",
        "2016-04-29 10:30:00 kickoff",
        "16:45. wrap up",
        "14/02/2021, 25:05 - Ana: hi",
        "14/02/2021, 09:61 - Ana: hi",
        "14/02/20211, 09:05 - Ana: hi",
        "123/02/2021, 09:05 - Ana: hi",
        "14/02-2021, 09:05 - Ana: hi",
        "[14/02/2021, 09:05:33 Ana: hi",
        "14/02/2021,09:05-Ana: hi",
        "1 may be late",
        "",
        "[",
    ] {
        assert!(header(line).is_none(), "{line}");
    }
}

#[test]
fn twelve_hour_conversion_is_lenient() {
    let order = DateOrder::DayMonthYear;
    assert_eq!(
        stamp("14/02/2021, 00:04 AM - a: m", order),
        Some(datetime!(2021-02-14 00:04))
    );
    assert_eq!(
        stamp("14/02/2021, 12:04 AM - a: m", order),
        Some(datetime!(2021-02-14 00:04))
    );
    assert_eq!(
        stamp("14/02/2021, 23:59 PM - a: m", order),
        Some(datetime!(2021-02-14 23:59))
    );
    assert_eq!(
        stamp("14/02/2021, 12:15 PM - a: m", order),
        Some(datetime!(2021-02-14 12:15))
    );
    assert_eq!(
        stamp("14/02/2021, 9:05PM - a: m", order),
        Some(datetime!(2021-02-14 21:05))
    );
    assert_eq!(
        stamp("14/02/2021, 9:05\u{2009}p. m. - a: m", order),
        Some(datetime!(2021-02-14 21:05))
    );
}

#[test]
fn east_asian_markers_before_the_time_are_read() {
    let h = header("[2024/10/31 오후 9:41:35] 민수: 안녕").unwrap();
    assert_eq!(h.meridiem, Some(Meridiem::Pm));
    assert_eq!(
        h.timestamp(DateOrder::YearMonthDay, false, 2020),
        Some(datetime!(2024-10-31 21:41:35))
    );
    let h = header("[2024/10/31 午前 9:41:35] 太郎: こんにちは").unwrap();
    assert_eq!(
        h.timestamp(DateOrder::YearMonthDay, false, 2020),
        Some(datetime!(2024-10-31 09:41:35))
    );
}

#[test]
fn the_field_order_applies_only_where_the_line_is_ambiguous() {
    let h = header("03/04/2021, 09:00 - a: m").unwrap();
    assert_eq!(
        h.timestamp(DateOrder::DayMonthYear, false, 2020),
        Some(datetime!(2021-04-03 09:00))
    );
    assert_eq!(
        h.timestamp(DateOrder::MonthDayYear, false, 2020),
        Some(datetime!(2021-03-04 09:00))
    );
    // A year-first line is year-first whatever the file says.
    let h = header("2021/04/03, 09:00 - a: m").unwrap();
    assert_eq!(
        h.timestamp(DateOrder::DayMonthYear, false, 2020),
        Some(datetime!(2021-04-03 09:00))
    );
    // An inconsistent file reads each line by its own field above 12.
    let h = header("01/15/2021, 10:00 - a: m").unwrap();
    assert_eq!(h.timestamp(DateOrder::DayMonthYear, false, 2020), None);
    assert_eq!(
        h.timestamp(DateOrder::DayMonthYear, true, 2020),
        Some(datetime!(2021-01-15 10:00))
    );
}

#[test]
fn impossible_dates_have_no_timestamp() {
    assert_eq!(
        stamp("31/02/2021, 10:00 - a: m", DateOrder::DayMonthYear),
        None
    );
    assert_eq!(
        stamp("29/02/2021, 10:00 - a: m", DateOrder::DayMonthYear),
        None
    );
    assert_eq!(
        stamp("29/02/2020, 10:00 - a: m", DateOrder::DayMonthYear),
        Some(datetime!(2020-02-29 10:00))
    );
    assert_eq!(
        stamp("00/02/2020, 10:00 - a: m", DateOrder::DayMonthYear),
        None
    );
}

#[test]
fn dates_without_a_year_take_the_given_year() {
    let h = header("18 Mar 12:14 - Sam: hi").unwrap();
    assert!(matches!(
        h.date,
        DateFields::Named {
            day: 18,
            month: 3,
            year: None
        }
    ));
    assert_eq!(
        h.timestamp(DateOrder::DayMonthYear, false, 2013),
        Some(datetime!(2013-03-18 12:14))
    );
}

#[test]
fn hr_style_dates_with_spaces_and_a_final_dot() {
    let h = header("13. 6. 2018. 21:25:15: a: m").unwrap();
    assert_eq!(h.shape, Shape::Legacy);
    assert_eq!(
        h.timestamp(DateOrder::DayMonthYear, false, 2020),
        Some(datetime!(2018-06-13 21:25:15))
    );
}

#[test]
fn authors_are_normalised() {
    assert_eq!(normalize_author("Marta Ruiz"), "Marta Ruiz");
    assert_eq!(normalize_author("~\u{202F}Carla"), "Carla");
    assert_eq!(normalize_author("~Carla"), "Carla");
    assert_eq!(
        normalize_author("\u{202A}+90\u{A0}531\u{A0}411\u{A0}38\u{A0}99\u{202C}"),
        "+90 531 411 38 99"
    );
    assert_eq!(normalize_author("+62\u{A0}812\u{2011}3457"), "+62 812-3457");
    // NBSP in a name that is not a phone number stays.
    assert_eq!(normalize_author("Ana\u{A0}Lu"), "Ana\u{A0}Lu");
    assert_eq!(normalize_author("Tom-\u{2011}x"), "Tom-\u{2011}x");
}

#[test]
fn the_author_ends_at_the_first_colon_space() {
    assert_eq!(
        split_author("Ana: a: b", Shape::Android),
        (Some("Ana"), "a: b")
    );
    assert_eq!(
        split_author(":Name:: hi", Shape::Android),
        (Some(":Name:"), "hi")
    );
    assert_eq!(split_author("Ana:", Shape::Android), (Some("Ana"), ""));
    assert_eq!(
        split_author("Ana joined", Shape::Android),
        (None, "Ana joined")
    );
    assert_eq!(split_author("Bob:Hi", Shape::Bracket), (Some("Bob"), "Hi"));
    assert_eq!(split_author("Tom left", Shape::Android), (None, "Tom left"));
    let number_change = "Tom changed to +44:1";
    assert_eq!(
        split_author(number_change, Shape::Android),
        (None, number_change)
    );
    assert_eq!(
        split_author("Nora added You: x", Shape::BracketDash),
        (None, "Nora added You: x")
    );
    let event = "Tom changed the subject to \"Plans: day 1\"";
    assert_eq!(split_author(event, Shape::Android), (None, event));
    // A quote in a real name does not make it an event.
    assert_eq!(
        split_author("\"Big\" Tom: hi", Shape::Android),
        (Some("\"Big\" Tom"), "hi")
    );
}

#[test]
fn plain_text_stays_text_and_keeps_its_marks() {
    let out = super::body::classify(Family::Android, "hello \u{200F}world".to_owned(), false);
    assert_eq!(out.kind, EntryKind::Text);
    assert_eq!(out.body, "hello \u{200F}world");
    let out = super::body::classify(Family::Android, "Voice call tomorrow?".to_owned(), false);
    assert_eq!(out.kind, EntryKind::Text);
    // "Contact: x" is only a contact card in WhatsApp Web exports.
    let out = super::body::classify(Family::Android, "Contact: Anna".to_owned(), false);
    assert_eq!(out.kind, EntryKind::Text);
    let out = super::body::classify(Family::Web, "Contact: Anna".to_owned(), false);
    assert_eq!(
        out.kind,
        EntryKind::Contact {
            name: Some("Anna".to_owned())
        }
    );
}

#[test]
fn a_file_name_without_the_marker_is_not_an_attachment() {
    let out = super::body::classify(
        Family::Android,
        "see IMG-20220323-WA0002.jpg (the one I sent)".to_owned(),
        false,
    );
    assert_eq!(out.kind, EntryKind::Text);
    assert_eq!(out.attachment, None);
    let out = super::body::classify(Family::Android, "(file attached)".to_owned(), false);
    assert_eq!(out.kind, EntryKind::Text, "no file name before the marker");
    let out = super::body::classify(Family::Web, "GIF attached".to_owned(), false);
    assert_eq!(
        out.kind,
        EntryKind::Media {
            media: MediaKind::Gif,
            omitted: false
        }
    );
}

/// Whether [`strip_marks`] finds a mark in `text`.
fn has_mark(text: &str) -> bool {
    matches!(strip_marks(text), std::borrow::Cow::Owned(_))
}

#[test]
fn byte_level_mark_and_quote_checks_agree_with_the_characters() {
    for code in 0..=0x10FFFF_u32 {
        let Some(c) = char::from_u32(code) else {
            continue;
        };
        let text = format!("a{c}b");
        assert_eq!(has_mark(&text), is_mark(c), "{code:#x}");
        // Stripped by bytes as by characters, next to other marks and at the ends too.
        for text in [text.clone(), format!("{c}\u{200E}{c}é{c}"), format!("{c}")] {
            let by_chars: String = text.chars().filter(|c| !is_mark(*c)).collect();
            assert_eq!(strip_marks(&text), by_chars, "{code:#x} in {text:?}");
        }
        let quote = matches!(c, '"' | '\'' | '“' | '”' | '«' | '„' | '‘' | '’');
        assert_eq!(has_quote(&text), quote, "{code:#x}");
        // In the eight-byte words of a longer name, and across a word's end.
        for text in [format!("abc{c}defghijklmn"), format!("abcdefg{c}hij")] {
            assert_eq!(has_quote(&text), quote, "{code:#x} in {text:?}");
        }
    }
    assert!(!has_mark("\u{E2}\u{80}") && !has_mark("…’") && has_mark("x\u{200E}"));
}

/// The phrase lookups ([`phrases::system_event`], [`phrases::system_phrase_start`]) answer as a
/// plain walk down the table does: first row in table order wins, an anywhere phrase at its
/// first occurrence; [`phrases::system_phrase_before`] as the start compared with each `:`.
/// Texts: every phrase alone, in other case, inside other text, two phrases together, after
/// and before a colon, and every fixture line.
#[test]
fn phrase_lookups_agree_with_a_walk_down_the_table() {
    use super::phrases::{self, At, SYSTEM, ends_with_ci, starts_with_ci};
    let walk = |text: &str| {
        let text = text.trim_end_matches(['.', ' ']);
        SYSTEM.iter().find_map(|(at, phrase, event)| {
            let start = match at {
                At::Start => starts_with_ci(text, phrase).then_some(0),
                At::End => ends_with_ci(text, phrase).then(|| text.len() - phrase.len()),
                At::Anywhere => text.find(phrase),
            };
            start.map(|start| (start, *event))
        })
    };
    let mut texts: Vec<String> = Vec::new();
    for (n, (_, phrase, _)) in SYSTEM.iter().enumerate() {
        let (_, other, _) = SYSTEM[(n * 7 + 3) % SYSTEM.len()];
        texts.extend([
            (*phrase).to_owned(),
            phrase.to_uppercase(),
            phrase.to_lowercase(),
            format!("Tom {phrase}"),
            format!("{phrase} Anna."),
            format!("Tom {phrase} \"Trip: day 1\""),
            format!("Zoë O'Neil: {phrase}"),
            format!("{phrase}: hi"),
            format!("A: {phrase}: {other}"),
            format!("{other} and {phrase}"),
            format!("{phrase}{other}"),
            format!("x{phrase}x"),
            phrase.chars().skip(1).collect(),
            phrase
                .chars()
                .take(phrase.chars().count().saturating_sub(1))
                .collect(),
        ]);
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/whatsapp");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            texts.extend(text.lines().map(str::to_owned));
        }
    }
    texts.extend(["", " ", ".", "a", "É", "😀"].map(str::to_owned));
    let mut hits = 0;
    for text in &texts {
        let expected = walk(text);
        hits += usize::from(expected.is_some());
        assert_eq!(
            phrases::system_event(text),
            expected.map(|(_, e)| e),
            "{text:?}"
        );
        assert_eq!(
            phrases::system_phrase_start(text),
            expected.map(|(start, _)| start),
            "{text:?}"
        );
        for (at, _) in text.match_indices(':') {
            assert_eq!(
                phrases::system_phrase_before(text, at),
                phrases::system_phrase_start(text).is_some_and(|start| start < at),
                "{text:?} at {at}"
            );
        }
    }
    assert!(
        hits > SYSTEM.len() * 3,
        "{hits} of {} texts hold a phrase",
        texts.len()
    );
}

/// The body gates let every phrase through to its list's comparisons, whatever the ASCII case
/// after its first byte (the comparisons ignore it; the first byte is compared as written,
/// except for the iOS placeholders, compared in either case).
#[test]
fn every_phrase_passes_the_body_gates() {
    use super::body::{LISTS, OMITTED, gate_mask};
    use super::phrases::IOS_OMITTED;
    let cased = |text: &str| {
        [
            text.to_owned(),
            text.to_ascii_lowercase(),
            text.to_ascii_uppercase(),
        ]
    };
    let variants = |phrase: &str, any_first_case: bool| {
        let split = phrase.chars().next().map_or(0, char::len_utf8);
        let (first, rest) = phrase.split_at(split);
        let firsts = if any_first_case {
            cased(first).to_vec()
        } else {
            vec![first.to_owned()]
        };
        let mut all = Vec::new();
        for first in firsts {
            all.extend(cased(rest).map(|rest| format!("{first}{rest}")));
        }
        all
    };
    let mut checked = 0;
    for (list, bit) in LISTS {
        for phrase in list {
            for text in variants(phrase, false) {
                assert_ne!(gate_mask(&text) & bit, 0, "{text:?}");
                checked += 1;
            }
        }
    }
    for (phrase, _) in IOS_OMITTED {
        for text in variants(phrase, true) {
            assert_ne!(gate_mask(&text) & OMITTED, 0, "{text:?}");
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked} phrases checked");
    // Ordinary text is stopped at the gate.
    for text in ["hello", "the plan", "ok", "perché", "😀", ""] {
        assert_eq!(gate_mask(text), 0, "{text:?}");
    }
}
