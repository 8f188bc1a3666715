//! The fast path says yes only where the full scanner says the same.

use super::super::general;
use super::{Layouts, header as fast};

/// Where the fast path answers, its answer is the full scanner's.
fn check(line: &str) -> bool {
    match fast(line.as_bytes()) {
        Some(found) => {
            assert_eq!(Some(found), general(line), "{line:?}");
            true
        }
        None => false,
    }
}

/// Every `.txt` fixture: its name and its text (invalid UTF-8 replaced).
fn fixture_texts() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/whatsapp");
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let bytes = std::fs::read(&path).unwrap();
            texts.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    texts
}

#[test]
fn agrees_with_the_full_scanner_on_every_fixture_line() {
    let (mut lines, mut fast_hits) = (0, 0);
    for (_, text) in fixture_texts() {
        for line in text.split(['\n', '\r']) {
            lines += 1;
            fast_hits += usize::from(check(line));
        }
    }
    // The fixtures are mostly plain headers: the fast path must take a good share of them.
    assert!(lines > 300, "{lines} fixture lines");
    assert!(
        fast_hits * 4 > lines,
        "{fast_hits} of {lines} lines on the fast path"
    );
}

/// Headers and near-headers: every combination of dates, date-time separators, times, 12-hour
/// markers and what follows the header.
fn variants() -> Vec<String> {
    let dates = [
        "12/03/2023",
        "3/12/23",
        "2023-03-12",
        "12.03.23",
        "12.03.2023",
        "1/2/3",
        "123/1/1",
        "12/3/20233",
        "31/12/99",
        "2023/13/45",
        "12-03-2023",
        "12/03/2023.",
        "12/ 03/2023",
        "12/03/٢٠٢٣",
        "2565/1/1",
    ];
    let separators = [", ", ",", " ", "  ", ",  ", "\t", "", ",\u{202F}", " klo "];
    let times = [
        "14:05",
        "2:05",
        "14:05:09",
        "14:5",
        "24:00",
        "23:60",
        "14:05:9",
        "14:05:",
        "114:05",
        "14.05",
        "14:05:٠٩",
        "14:05:60",
    ];
    let markers = [
        "",
        " PM",
        " am",
        " Pm",
        " pM",
        "PM",
        " P.M.",
        " AMx",
        "  AM",
        "\u{202F}PM",
        " a. m.",
        " noon",
        " 5",
        " 午後",
        " ص",
        " É",
        "\u{2009}AM",
    ];
    let tails = [
        " - Alice: hi",
        " -Alice",
        " - ",
        " -",
        ": Alice: hi",
        ":",
        "] Alice: hi",
        "]Alice",
        "] - Alice joined",
        "]",
        "]  Alice",
        " ] Alice",
        "] ",
        "\u{202F}- x",
        " - \u{200E}x",
        "]\u{A0}Alice",
        ". - Kim: hi",
        ":Alice",
        "] -",
        "]\tAlice",
        " - Émilie: hi",
        " - 李: hi",
        "] Émilie",
        " - \u{A0}x",
        ": 😀",
        "] 😀",
        "]É",
        " - \u{FEFF}x",
        " - \u{3000}x",
        " - \u{1680}x",
        " - \u{61C}x",
        " ] É",
        " - \u{2069}x",
        " - ص",
        // Phone numbers wrapped in marks, marks and odd spaces after the last separator.
        " - \u{202A}+39 333 123 4567\u{202C}: hi",
        "] \u{202A}+39 333 123 4567\u{202C}: hi",
        ": \u{202A}+39 333\u{202C}: hi",
        "] \u{200E}- x",
        "] \u{200E} - x",
        "] \u{A0}- x",
        "]  \u{200E}-",
        "] \u{200E}-x",
        " - \u{200E}\u{A0}x",
        " - \u{200E}",
        " -\u{200E}x",
        " -\u{200E} x",
        ":\u{200E} x",
        ": \u{200E}",
        "] \u{200E}",
        " - \u{2009}\u{2068}x",
    ];
    let mut lines = Vec::new();
    for open in ["", "["] {
        for date in dates {
            for separator in separators {
                for time in times {
                    for marker in markers {
                        for tail in tails {
                            lines.push(format!("{open}{date}{separator}{time}{marker}{tail}"));
                        }
                    }
                }
            }
        }
    }
    lines
}

#[test]
fn agrees_with_the_full_scanner_on_generated_variants() {
    let fast_hits = variants().iter().filter(|line| check(line)).count();
    assert!(
        fast_hits > 1000,
        "{fast_hits} generated lines on the fast path"
    );
}

/// A small deterministic generator for the mutations below.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap() % below
    }
}

/// `line` with its digits, `A`/`P` letters and text after the header changed at random.
fn mutate(line: &str, rest: usize, rng: &mut Lcg) -> String {
    let tails = [
        "",
        " ",
        "Alice: hi",
        " - x",
        "- x",
        "\u{200E}x",
        " \u{200E}- x",
        "\u{A0}x",
        "x",
        "  x",
        "\u{202A}+39 333\u{202C}: hi",
        "É",
        "😀",
        "9",
        ":",
        "\t- x",
    ];
    let head = line.get(..rest).unwrap_or(line);
    let mut out: String = head
        .chars()
        .map(|c| match c {
            '0'..='9' if rng.next(3) == 0 => char::from(b'0' + u8::try_from(rng.next(10)).unwrap()),
            'A' | 'P' if rng.next(2) == 0 => {
                if c == 'A' {
                    'P'
                } else {
                    'A'
                }
            }
            'a' | 'p' if rng.next(2) == 0 => {
                if c == 'a' {
                    'p'
                } else {
                    'a'
                }
            }
            c => c,
        })
        .collect();
    // Now and then cut the header short or drop a byte of it.
    match rng.next(8) {
        0 => {
            let at = rng.next(out.len().max(1));
            if out.is_char_boundary(at) {
                out.truncate(at);
            }
        }
        1 if !out.is_empty() => {
            let at = rng.next(out.len());
            if out.is_char_boundary(at) && out.is_char_boundary(at + 1) {
                out.remove(at);
            }
        }
        _ => {}
    }
    if rng.next(2) == 0 {
        out.push_str(line.get(rest..).unwrap_or_default());
    } else {
        out.push_str(tails[rng.next(tails.len())]);
    }
    out
}

/// A line read through a learnt layout gives what the fast path gives, whatever its digits,
/// markers and what follows; the layouts are used (most probes hit one).
#[test]
fn layouts_agree_with_the_fast_path() {
    let mut rng = Lcg(7);
    let (mut probes, mut layout_hits) = (0, 0);
    for (n, template) in variants().iter().enumerate() {
        let Some(found) = fast(template.as_bytes()) else {
            continue;
        };
        if n % 5 != 0 {
            continue;
        }
        let mut layouts = Layouts::default();
        assert_eq!(layouts.header(template.as_bytes()), Some(found));
        for _ in 0..30 {
            let probe = mutate(template, found.rest, &mut rng);
            let by_layout = layouts.known.iter().find_map(|l| l.read(probe.as_bytes()));
            layout_hits += usize::from(by_layout.is_some());
            if by_layout.is_some() {
                assert_eq!(
                    by_layout,
                    fast(probe.as_bytes()),
                    "{template:?} then {probe:?}"
                );
            }
            probes += 1;
        }
        // And through one reader that keeps learning.
        let probe = mutate(template, found.rest, &mut rng);
        assert_eq!(
            layouts.header(probe.as_bytes()),
            fast(probe.as_bytes()),
            "{probe:?}"
        );
    }
    assert!(probes > 10_000, "{probes} probes");
    assert!(
        layout_hits * 4 > probes,
        "{layout_hits} of {probes} probes read by layout"
    );
}

/// Over a whole file, the reader with layouts answers as the fast path does on every line, and
/// no line is read by two layouts.
#[test]
fn layouts_agree_with_the_fast_path_on_every_fixture_line() {
    for (name, text) in fixture_texts() {
        let mut layouts = Layouts::default();
        for line in text.split(['\n', '\r']) {
            let readers = layouts
                .known
                .iter()
                .filter(|layout| layout.read(line.as_bytes()).is_some())
                .count();
            assert!(readers <= 1, "{name}: {readers} layouts read {line:?}");
            assert_eq!(
                layouts.header(line.as_bytes()),
                fast(line.as_bytes()),
                "{name}: {line:?}"
            );
        }
    }
}

#[test]
fn takes_the_common_shapes_and_leaves_the_rest() {
    assert!(fast(b"12/03/2023, 14:05 - Alice: hi").is_some());
    assert!(fast(b"[3/12/23, 2:05:09 PM] Alice: hi").is_some());
    assert!(fast(b"2023-03-12, 14:05: Alice: hi").is_some());
    // A name wrapped in marks: the marks after the separator are skipped, as the full scanner
    // does.
    let wrapped = "12/03/2023, 14:05 - \u{202A}+39 333\u{202C}: hi";
    assert_eq!(fast(wrapped.as_bytes()).map(|h| h.rest), Some(23));
    // Marks, non-ASCII spaces, month names, Web system lines: the full scanner's.
    assert!(fast("\u{200E}[3/12/23, 2:05:09 PM] Alice: hi".as_bytes()).is_none());
    assert!(fast("12/03/2023, 2:05\u{202F}PM - Alice: hi".as_bytes()).is_none());
    assert!(fast(b"28 Aug 2013, 14:05 - Alice: hi").is_none());
    assert!(fast(b"[3/12/23, 2:05:09 PM] - Alice joined").is_none());
}
