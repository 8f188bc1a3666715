//! Cutting the text into chunks changes nothing: every fixture, and texts made to put cuts in
//! awkward places, parse to the same items whatever the chunk size and the number of workers.

use std::io::Cursor;

use super::super::Parser;
use super::{ChunkReader, Ending, Ordered};
use crate::import::whatsapp::ImportError;
use crate::import::whatsapp::detect::{Visit, count, detect, detect_and_parse_in_chunks};
use crate::import::whatsapp::model::{DateOrder, Parsed};
use crate::import::whatsapp::parse::MAX_LINE_BYTES;

fn items(text: &[u8], chunk_bytes: usize, workers: usize) -> Vec<String> {
    let Ok(detection) = detect(Cursor::new(text), None) else {
        return Vec::new();
    };
    Parser::with_chunks(Cursor::new(text), &detection, chunk_bytes, workers)
        .map(|item| format!("{item:?}"))
        .collect()
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/whatsapp");
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "txt"))
        .map(|path| (path.display().to_string(), std::fs::read(&path).unwrap()))
        .collect();
    found.sort();
    assert!(found.len() >= 40, "fixtures in {}", dir.display());
    found
}

fn counts(text: &[u8], chunk_bytes: usize, workers: usize) -> String {
    format!("{:?}", count(Cursor::new(text), chunk_bytes, workers))
}

fn check(name: &str, text: &[u8]) {
    let whole = items(text, usize::MAX >> 1, 1);
    let counted = counts(text, usize::MAX >> 1, 1);
    for chunk_bytes in [1, 2, 3, 7, 64, 333] {
        for workers in [1, 3] {
            assert_eq!(
                counts(text, chunk_bytes, workers),
                counted,
                "{name}: detection in chunks of {chunk_bytes} bytes, {workers} workers"
            );
            assert_eq!(
                items(text, chunk_bytes, workers),
                whole,
                "{name}: chunks of {chunk_bytes} bytes, {workers} workers"
            );
        }
    }
}

/// The detection (or error) and the items the two passes give: [`detect`], then [`Parser`]
/// until its first error.
fn two_passes(text: &[u8], order: Option<DateOrder>) -> (String, Vec<String>) {
    let detection = match detect(Cursor::new(text), order) {
        Ok(detection) => detection,
        Err(error) => return (format!("{error:?}"), Vec::new()),
    };
    let mut items = Vec::new();
    for item in Parser::with_chunks(Cursor::new(text), &detection, usize::MAX >> 1, 1) {
        match item {
            Ok(item) => items.push(format!("{item:?}")),
            Err(error) => return (format!("{error:?}"), items),
        }
    }
    (format!("{detection:?}"), items)
}

/// The same from [`detect_and_parse_in_chunks`], and how often it started again.
fn one_pass(
    text: &[u8],
    order: Option<DateOrder>,
    (chunk_bytes, start_bytes): (usize, u64),
    workers: usize,
) -> (String, Vec<String>, usize) {
    let (mut items, mut restarts) = (Vec::new(), 0);
    let result = detect_and_parse_in_chunks(
        || Ok(Cursor::new(text)),
        order,
        (chunk_bytes, start_bytes),
        workers,
        |visit| match visit {
            Visit::Item(item) => items.push(format!("{item:?}")),
            Visit::Restart => {
                items.clear();
                restarts += 1;
            }
        },
    );
    let result = match result {
        Ok(detection) => format!("{detection:?}"),
        Err(error) => format!("{error:?}"),
    };
    (result, items, restarts)
}

/// Detecting the start alone and parsing while counting gives what the two passes give, for
/// every size of the start, chunk size and number of workers.
fn check_one_pass(name: &str, text: &[u8]) -> usize {
    check_one_pass_in(name, text, None, &[(3, 1), (64, 3), (usize::MAX >> 1, 1)])
}

/// [`check_one_pass`] under the user's date order `order`, with these chunk sizes and numbers
/// of workers.
fn check_one_pass_in(
    name: &str,
    text: &[u8],
    order: Option<DateOrder>,
    chunkings: &[(usize, usize)],
) -> usize {
    let (result, items) = two_passes(text, order);
    let mut restarts = 0;
    for start_bytes in [1, 7, 64, 333, 4096, u64::MAX] {
        for &(chunk_bytes, workers) in chunkings {
            let (one_result, one_items, again) =
                one_pass(text, order, (chunk_bytes, start_bytes), workers);
            let case = format!(
                "{name}: start of {start_bytes} bytes, chunks of {chunk_bytes}, {workers} workers"
            );
            assert_eq!(one_result, result, "{case}");
            assert_eq!(one_items, items, "{case}");
            assert!(again <= 1, "{case}: {again} restarts");
            if start_bytes == u64::MAX {
                assert_eq!(again, 0, "{case}: the whole text was detected first");
            }
            restarts += again;
        }
    }
    restarts
}

#[test]
fn a_start_that_decides_otherwise_than_the_whole_text_is_read_again() {
    // The first weeks fit both date orders (read day first by default); a later date has a
    // second field above 12: the whole text is month-first.
    let mut text = String::new();
    for day in 1..=12 {
        for minute in 0..5 {
            text.push_str(&format!(
                "{day:02}/01/2021, 09:{minute:02} - Ana: hi {day} {minute}\n"
            ));
        }
    }
    text.push_str("01/25/2021, 10:00 - Bo: later\n");
    let restarts = check_one_pass("month-first after an ambiguous start", text.as_bytes());
    assert!(restarts > 0, "the early detection was not overruled");
    // The user's order wins over both: nothing to overrule.
    for order in [DateOrder::DayMonthYear, DateOrder::MonthDayYear] {
        let name = format!("{order:?} chosen by the user");
        let chunkings = [(64, 3), (usize::MAX >> 1, 1)];
        let restarts = check_one_pass_in(&name, text.as_bytes(), Some(order), &chunkings);
        assert_eq!(restarts, 0, "{name}");
    }
    // Overruled, and then a line too long: the two passes' error.
    let mut long = text.clone().into_bytes();
    long.extend_from_slice(b"01/26/2021, 10:00 - Bo: ");
    long.resize(long.len() + MAX_LINE_BYTES + 10, b'x');
    let (result, _) = two_passes(&long, None);
    assert!(result.starts_with("LineTooLong"), "{result}");
    check_one_pass_in("overruled, then too long", &long, None, &[(4096, 3)]);
    // A start that shows a day above 12 decides as the whole text: no restart.
    let text = "13/01/2021, 09:00 - Ana: hi\n14/01/2021, 09:05 - Bo: yes\n".repeat(200);
    let (_, _, again) = one_pass(text.as_bytes(), None, (64, 1024), 3);
    assert_eq!(again, 0);
}

#[test]
fn one_pass_stops_with_the_errors_of_the_two_passes() {
    let mut overlong = b"14/02/2021, 09:05 - Ana: hi\n14/02/2021, 09:06 - Bo: ok\n".repeat(40);
    overlong.extend_from_slice(b"14/02/2021, 09:07 - Cy: ");
    overlong.resize(overlong.len() + MAX_LINE_BYTES + 10, b'x');
    let mut preamble = "line of some document\n".repeat(1200);
    preamble.push_str("14/02/2021, 09:05 - Ana: hi\n");
    let texts: [(&str, &[u8]); 5] = [
        ("empty", b""),
        ("blank", b"\n \n\t\n"),
        ("not an export", b"just a note\nanother line\n"),
        ("many lines before the first header", preamble.as_bytes()),
        ("a line too long", &overlong),
    ];
    for (name, text) in texts {
        let (result, _) = two_passes(text, None);
        assert!(!result.starts_with("Detection"), "{name}: {result}");
        // Chunks of a few kilobytes: the long line is a megabyte.
        check_one_pass_in(name, text, None, &[(4096, 3), (usize::MAX >> 1, 1)]);
    }
}

#[test]
fn every_fixture_parses_the_same_in_chunks_and_in_one_pass() {
    for (name, text) in fixtures() {
        check(&name, &text);
        check_one_pass(&name, &text);
    }
}

#[test]
fn cuts_inside_crlf_pairs_bodies_and_year_less_dates_change_nothing() {
    let texts: [&[u8]; 5] = [
        // iOS: CRLF between records, LF inside bodies, a header pasted after an LF.
        b"[14/02/2021, 09:05:33] Ana: hi\r\n[14/02/2021, 09:06:00] Bo: one\ntwo\n[14/02/2021, 09:07:00] Ana: pasted\r\n[14/02/2021, 09:08:00] Bo: \xe2\x80\x8eimage omitted\r\n",
        // Android, year-less named dates after a dated one (A21), and blank lines kept.
        b"28 Aug 2013, 10:00 - Ana: hi\n\n29 Aug, 11:00 - Bo: there\n\nmore\n30 Aug, 12:00 - Ana: end",
        // A preamble and bare CR line ends.
        b"Chat history\r\r[1/5/25, 3:04:05 PM] - Nora added Ben\r[1/5/25, 3:04:06 PM] Nora: hi\r",
        // Invalid UTF-8 inside a body.
        b"14/02/2021, 09:05 - Ana: caf\xe9\n14/02/2021, 09:06 - Bo: ok\n",
        // A BOM and a dangling CR at the end.
        b"\xef\xbb\xbf14/02/2021, 09:05 - Ana: hi\n14/02/2021, 09:06 - Bo: ok\r",
    ];
    for (at, text) in texts.iter().enumerate() {
        check(&format!("text {at}"), text);
        check_one_pass(&format!("text {at}"), text);
    }
}

#[test]
fn chunks_hold_whole_lines_whatever_the_cut() {
    let text: &[u8] = b"a\r\nb\nc\rd\r\r\n\ne";
    let whole: Vec<(Vec<u8>, Ending)> = [
        (&b"a"[..], Ending::CrLf),
        (b"b", Ending::Lf),
        (b"c", Ending::Cr),
        (b"d", Ending::Cr),
        (b"", Ending::CrLf),
        (b"", Ending::Lf),
        (b"e", Ending::Eof),
    ]
    .into_iter()
    .map(|(line, ending)| (line.to_vec(), ending))
    .collect();
    for size in 1..=text.len() + 1 {
        let mut reader = ChunkReader::with_size(Cursor::new(text), size);
        let mut chunked = Vec::new();
        while let Some(chunk) = reader.next_chunk().unwrap() {
            let lines = chunk.lines();
            for (start, end, ending) in lines {
                chunked.push((chunk.bytes[start..end].to_vec(), ending));
            }
        }
        assert_eq!(chunked, whole, "chunks of {size} bytes");
    }
}

#[test]
fn an_overlong_line_is_an_error_with_its_number_in_bounded_memory() {
    let mut text =
        b"14/02/2021, 09:05 - Ana: hi\n14/02/2021, 09:06 - Bo: ok\n14/02/2021, 09:07 - Cy: "
            .to_vec();
    text.resize(text.len() + MAX_LINE_BYTES + 10, b'x');
    let detection = detect(
        Cursor::new(b"14/02/2021, 09:05 - Ana: hi\n".as_slice()),
        None,
    )
    .unwrap();
    for (size, workers) in [(64, 2), (1 << 20, 1), (usize::MAX >> 1, 1)] {
        let items: Vec<_> =
            Parser::with_chunks(Cursor::new(&text), &detection, size, workers).collect();
        let last = items.last().unwrap();
        assert!(
            matches!(last, Err(ImportError::LineTooLong { line: 3, .. })),
            "chunks of {size}: {last:?}"
        );
        // The first entry came out; the second, which the long line might have continued, and
        // the long line's own did not.
        assert!(matches!(items.first(), Some(Ok(Parsed::Entry(e))) if e.line == 1));
        assert_eq!(items.len(), 2);
    }
}

/// A small generator (xorshift), so that the texts below are the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn date_order_counts_join_across_cuts() {
    // Ambiguous day/month dates going back and forth, invalid readings (13th month), a first
    // header dated later than the rest (the E2E notice), headers of other shapes and text
    // before the first header: the backward jumps and field changes counted in chunks are
    // those of one pass.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..40 {
        let mut text = String::new();
        for _ in 0..rng.below(3) {
            text.push_str("a line before the chat\n");
        }
        for _ in 0..rng.below(60) + 1 {
            let (a, b) = (rng.below(14) + 1, rng.below(12) + 1);
            match rng.below(8) {
                0 => text.push_str(&format!(
                    "[{a}/{b}/21, 10:0{}:00] Ana: hi\r\n",
                    rng.below(10)
                )),
                1 => text.push_str("continued\n"),
                2 => text.push_str(&format!("{a}.{b}.21, 0{}:00: Bo: x\n", rng.below(10))),
                _ => text.push_str(&format!(
                    "{a}/{b}/2021, {:02}:00 - Ana: hi\n",
                    rng.below(24)
                )),
            }
        }
        check(&format!("round {round}: {text}"), text.as_bytes());
    }
}

#[test]
fn many_lines_before_the_first_header_are_refused_whatever_the_cut() {
    for (blank, lines, expected) in [(false, 999, true), (false, 1000, false), (true, 1500, true)] {
        let mut text = String::new();
        for _ in 0..lines {
            text.push_str(if blank { " \n" } else { "some text\n" });
        }
        text.push_str("14/02/2021, 09:05 - Ana: hi\n");
        for chunk_bytes in [5, 64, 4096, usize::MAX >> 1] {
            let found = count(Cursor::new(text.as_bytes()), chunk_bytes, 2);
            assert_eq!(
                found.is_ok(),
                expected,
                "{lines} lines, blank {blank}, chunks of {chunk_bytes}: {found:?}"
            );
        }
    }
}

/// Jobs of uneven length come back in the order given, whichever worker took them; a job whose
/// worker panics comes back as `None` instead of leaving the caller waiting.
#[test]
#[allow(clippy::panic)] // the panic is the case under test
fn the_pool_gives_results_in_order_and_reports_a_stopped_worker() {
    fn work(done: &mut usize, job: u64) -> u64 {
        *done += 1;
        if job == 1_000 {
            panic!("job {job} fails (expected in this test)");
        }
        // Uneven work: some jobs take far longer than the ones after them.
        std::thread::sleep(std::time::Duration::from_millis((job * 7) % 5));
        job * 2
    }
    for workers in [1, 2, 3] {
        let mut pool = Ordered::new(workers, || 0usize, work);
        let mut taken = Vec::new();
        for job in 0..40u64 {
            if pool.in_flight() >= pool.depth() {
                taken.push(pool.take());
            }
            pool.give(job);
        }
        while pool.in_flight() > 0 {
            taken.push(pool.take());
        }
        let expected: Vec<Option<u64>> = (0..40).map(|job| Some(job * 2)).collect();
        assert_eq!(taken, expected, "{workers} workers");
    }
    let mut pool = Ordered::new(3, || 0usize, work);
    for job in [1, 2, 1_000, 3] {
        pool.give(job);
    }
    assert_eq!(pool.take(), Some(2));
    assert_eq!(pool.take(), Some(4));
    assert_eq!(pool.take(), None, "the job whose worker panicked");
    assert_eq!(pool.take(), Some(6), "the other workers go on");
}

/// The entries of `text` parsed whole, with one worker.
fn entries(text: &[u8]) -> Vec<crate::import::whatsapp::model::Entry> {
    let detection = detect(Cursor::new(text), None).unwrap();
    Parser::with_chunks(Cursor::new(text), &detection, usize::MAX >> 1, 1)
        .filter_map(|item| match item.unwrap() {
            Parsed::Entry(entry) => Some(entry),
            Parsed::Unparsed(_) => None,
        })
        .collect()
}

#[test]
fn bodies_share_the_chunk_text_where_it_holds_them_as_they_are() {
    let text = "12/03/2021, 10:00 - Anna: first line\nsecond line\n\
                12/03/2021, 10:01 - Bob: one\r\ntwo\n\
                12/03/2021, 10:02 - Anna: caffè <This message was edited>\n\
                12/03/2021, 10:03 - Bob: bye\n\n";
    let read = entries(text.as_bytes());
    let bodies: Vec<(&str, bool)> = read
        .iter()
        .map(|e| (e.body.as_str(), e.body.is_shared()))
        .collect();
    assert_eq!(
        bodies,
        [
            // Lines after a bare `\n`: one range of the text.
            ("first line\nsecond line", true),
            // Lines joined across `\r\n` lose the `\r`: a string of their own.
            ("one\ntwo", false),
            // The edited marker and the blank lines at the end are cut off the range.
            ("caffè", true),
            ("bye", true),
        ]
    );
    assert!(read.get(2).unwrap().edited);

    // Bytes that are not UTF-8: the chunk is read lossily, its bodies own their text.
    let mut invalid = text.as_bytes().to_vec();
    invalid.extend_from_slice(b"12/03/2021, 10:04 - Anna: \xFFok\n");
    let read = entries(&invalid);
    assert_eq!(read.len(), 5);
    assert!(read.iter().all(|e| !e.body.is_shared()));
    assert_eq!(read.get(4).unwrap().body, "\u{FFFD}ok");
    assert_eq!(read.first().unwrap().body, "first line\nsecond line");
}

#[test]
fn a_chunk_text_is_taken_back_once_its_entries_are_gone() {
    // Four chunks, their entries dropped one at a time: the parser takes the texts back, to
    // copy later chunks into.
    let line = "12/03/2021, 10:00 - Anna: a message of some length, to fill the chunks\n";
    let text = line.repeat(200);
    let detection = detect(Cursor::new(text.as_bytes()), None).unwrap();
    let mut parser = Parser::with_chunks(Cursor::new(text.as_bytes()), &detection, 4000, 2);
    let mut count = 0;
    for item in parser.by_ref() {
        assert!(matches!(item.unwrap(), Parsed::Entry(e) if e.body.is_shared()));
        count += 1;
    }
    assert_eq!(count, 200);
    assert!(
        !parser.spare_texts.is_empty(),
        "no chunk text was taken back"
    );
}
