//! Arbitrary bytes through the WhatsApp import's `detect` and `Parser`: they must never panic,
//! must finish, and must yield entries in file order. When detection succeeds the text is also
//! parsed with each other date order, as a user override would.
#![no_main]

use libfuzzer_sys::fuzz_target;
use missiva_core::import::whatsapp::detect::detect;
use missiva_core::import::whatsapp::model::{DateOrder, Parsed};
use missiva_core::import::whatsapp::parse::Parser;

fuzz_target!(|data: &[u8]| {
    let Ok(detection) = detect(data, None) else {
        return;
    };
    for order in [
        None,
        Some(DateOrder::DayMonthYear),
        Some(DateOrder::MonthDayYear),
        Some(DateOrder::YearMonthDay),
    ] {
        let mut detection = detection.clone();
        if let Some(order) = order {
            if order == detection.date_order {
                continue;
            }
            detection.date_order = order;
        }
        parse_all(data, &detection);
    }
});

fn parse_all(data: &[u8], detection: &missiva_core::import::whatsapp::model::Detection) {
    // Every item starts on its own physical line, so there are at most lines + 1 of them.
    let lines = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64 + 1;
    let mut last_line = 0_u64;
    let mut items = 0_u64;
    for item in Parser::new(data, detection) {
        let line = match item {
            Ok(Parsed::Entry(entry)) => entry.line,
            Ok(Parsed::Unparsed(unparsed)) => unparsed.line,
            Err(_) => break,
        };
        assert!(
            line > last_line,
            "line {line} after line {last_line}: not in file order"
        );
        assert!(line <= lines, "line {line} of a text with {lines} lines");
        last_line = line;
        items += 1;
        assert!(items <= lines, "more items than lines");
    }
}
