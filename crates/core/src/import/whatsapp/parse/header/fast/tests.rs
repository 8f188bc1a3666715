//! The fast path says yes only where the full scanner says the same.

use super::super::general;
use super::header as fast;

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

#[test]
fn agrees_with_the_full_scanner_on_every_fixture_line() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/whatsapp");
    let (mut lines, mut fast_hits) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
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

#[test]
fn agrees_with_the_full_scanner_on_generated_variants() {
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
    ];
    let mut fast_hits = 0;
    for open in ["", "["] {
        for date in dates {
            for separator in separators {
                for time in times {
                    for marker in markers {
                        for tail in tails {
                            let line = format!("{open}{date}{separator}{time}{marker}{tail}");
                            fast_hits += usize::from(check(&line));
                        }
                    }
                }
            }
        }
    }
    assert!(
        fast_hits > 1000,
        "{fast_hits} generated lines on the fast path"
    );
}

#[test]
fn takes_the_common_shapes_and_leaves_the_rest() {
    assert!(fast(b"12/03/2023, 14:05 - Alice: hi").is_some());
    assert!(fast(b"[3/12/23, 2:05:09 PM] Alice: hi").is_some());
    assert!(fast(b"2023-03-12, 14:05: Alice: hi").is_some());
    // Marks, non-ASCII spaces, month names, Web system lines: the full scanner's.
    assert!(fast("\u{200E}[3/12/23, 2:05:09 PM] Alice: hi".as_bytes()).is_none());
    assert!(fast("12/03/2023, 2:05\u{202F}PM - Alice: hi".as_bytes()).is_none());
    assert!(fast(b"28 Aug 2013, 14:05 - Alice: hi").is_none());
    assert!(fast(b"[3/12/23, 2:05:09 PM] - Alice joined").is_none());
}
