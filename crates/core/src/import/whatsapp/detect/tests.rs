//! Unit tests of the detection pass.

use std::io::Cursor;

use super::detect;
use crate::import::whatsapp::ImportError;
use crate::import::whatsapp::model::{DateOrder, DateOrderBasis, Family};

#[test]
fn the_override_wins_over_every_clue() {
    let text = "14/02/2021, 09:05 - Ana: hi\n";
    let found = detect(Cursor::new(text), Some(DateOrder::MonthDayYear)).unwrap();
    assert_eq!(
        (found.date_order, found.date_order_basis),
        (DateOrder::MonthDayYear, DateOrderBasis::Override)
    );
    assert!(!found.date_order_inconsistent);
}

#[test]
fn the_family_is_the_majority_shape() {
    let text = "[14/02/2021, 09:05:33] Ana: a\n14/02/2021, 09:05 - pasted: x\n[14/02/2021, 09:06:33] Ana: b\n";
    let found = detect(Cursor::new(text), None).unwrap();
    assert_eq!(found.family, Family::Ios);
    assert_eq!(found.header_lines, 2);
}

#[test]
fn bracket_files_are_web_only_with_the_fixed_web_shape() {
    // A preamble, but a four-digit year: an iOS file with a hand-edited first line.
    let text = "junk line\n[14/02/2021, 9:05:33 PM] Ana: a\n";
    assert_eq!(detect(Cursor::new(text), None).unwrap().family, Family::Ios);
    let text = "junk line\n[2/14/21, 9:05:33 PM] Ana: a\n";
    let found = detect(Cursor::new(text), None).unwrap();
    assert_eq!(found.family, Family::Web);
    assert_eq!(
        (found.date_order, found.date_order_basis),
        (DateOrder::MonthDayYear, DateOrderBasis::Format)
    );
}

#[test]
fn many_lines_without_any_header_stop_early() {
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(&format!("line {i} of some document\n"));
    }
    text.push_str("14/02/2021, 09:05 - Ana: hi\n");
    assert!(matches!(
        detect(Cursor::new(text), None),
        Err(ImportError::NotAnExport)
    ));
}

#[test]
fn hour12_follows_the_majority_of_headers() {
    let text =
        "14/02/2021, 9:05 PM - Ana: a\n14/02/2021, 9:06 PM - Ana: b\n14/02/2021, 21:07 - Ana: c\n";
    assert!(detect(Cursor::new(text), None).unwrap().hour12);
}

#[test]
fn lf_files_do_not_use_crlf_records() {
    let text = "[14/02/2021, 09:05:33] Ana: a\r\nline\r\n[14/02/2021, 09:06:33] Ana: b\n[14/02/2021, 09:07:33] Ana: c\n";
    assert!(!detect(Cursor::new(text), None).unwrap().crlf_records);
}
