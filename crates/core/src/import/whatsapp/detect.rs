//! One streaming pass over the whole file that decides the family, the date field order, 12/24 h
//! and the record separator (`whatsapp-format.md` §1.8, §2.2, §3.1). Memory: counters only.

#[cfg(test)]
mod tests;

use std::io::BufRead;

use super::ImportError;
use super::model::{DateOrder, DateOrderBasis, Detection, Family};
use super::parse::header::{self, DateFields, Era, Header, Meridiem, Shape};
use super::parse::lines::{Ending, LineReader};
use super::parse::timestamp::Reading;

/// Physical lines read without finding any header before the file is declared "not an export".
/// Preambles (WhatsApp Web) and hand edits are a few lines; this bounds the time spent on an
/// arbitrary file.
const MAX_LINES_BEFORE_FIRST_HEADER: u64 = 1000;

/// Backward steps smaller than this are ignored when comparing date readings (§2.2: messages
/// sent offline arrive a little out of order).
const JUMP_TOLERANCE_MINUTES: i64 = 10;

/// Counters for one header shape.
#[derive(Debug, Default)]
struct Stats {
    headers: u64,
    dash_lines: u64,
    web_shape: u64,
    year_first: u64,
    first_above_12: u64,
    second_above_12: u64,
    hour12: u64,
    upper_ampm: u64,
    slashed: u64,
    dotted: u64,
    after_crlf: u64,
    after_lf: u64,
    change_first: u64,
    change_second: u64,
    previous_fields: Option<(u32, u32)>,
    dmy: Ordering,
    mdy: Ordering,
}

/// Backward jumps under one reading of the ambiguous day/month fields.
#[derive(Debug, Default)]
struct Ordering {
    previous: Option<i64>,
    jumps: u64,
    invalid: u64,
}

impl Ordering {
    fn add(&mut self, header: &Header, reading: Reading, count_jump: bool) {
        match header.minutes_as(reading) {
            None => self.invalid += 1,
            Some(minutes) => {
                if let (true, Some(previous)) = (count_jump, self.previous)
                    && minutes < previous - JUMP_TOLERANCE_MINUTES
                {
                    self.jumps += 1;
                }
                self.previous = Some(minutes);
            }
        }
    }

    fn score(&self) -> u64 {
        self.jumps + self.invalid
    }
}

impl Stats {
    fn add(&mut self, h: &Header, previous: Option<Ending>) {
        self.headers += 1;
        match previous {
            Some(Ending::CrLf) => self.after_crlf += 1,
            Some(Ending::Lf | Ending::Cr) => self.after_lf += 1,
            _ => {}
        }
        if h.shape == Shape::BracketDash {
            self.dash_lines += 1;
        }
        if h.meridiem.is_some() {
            self.hour12 += 1;
        }
        if h.upper_ampm {
            self.upper_ampm += 1;
        }
        match h.separator {
            b'/' => self.slashed += 1,
            b'.' => self.dotted += 1,
            _ => {}
        }
        // WhatsApp Web writes one fixed shape: `[M/D/YY, h:mm:ss AM]`.
        if let DateFields::Numeric {
            widths: [_, _, 2],
            year_at: None,
            era: Era::Gregorian,
            ..
        } = h.date
            && h.separator == b'/'
            && h.comma
            && !h.time_first
            && matches!(h.meridiem, Some(Meridiem::Am | Meridiem::Pm))
        {
            self.web_shape += 1;
        }
        if h.year_first() {
            self.year_first += 1;
        }
        if let Some((a, b)) = h.day_month_candidates() {
            if a > 12 {
                self.first_above_12 += 1;
            }
            if b > 12 {
                self.second_above_12 += 1;
            }
            if let Some((pa, pb)) = self.previous_fields {
                self.change_first += u64::from(a != pa);
                self.change_second += u64::from(b != pb);
            }
            self.previous_fields = Some((a, b));
            // The first header is often the E2E notice with a later date (§3.2): no jump from it.
            let count_jump = self.headers > 2;
            self.dmy.add(h, Reading::Dmy, count_jump);
            self.mdy.add(h, Reading::Mdy, count_jump);
        }
    }

    /// The date order by the procedure of §2.2, after the override and the format.
    fn date_order(&self) -> (DateOrder, DateOrderBasis) {
        use DateOrder::{DayMonthYear as Dmy, MonthDayYear as Mdy};
        if self.year_first * 2 > self.headers {
            return (DateOrder::YearMonthDay, DateOrderBasis::Format);
        }
        match (self.first_above_12, self.second_above_12) {
            (0, 0) => {}
            (_, 0) => return (Dmy, DateOrderBasis::FieldAbove12),
            (0, _) => return (Mdy, DateOrderBasis::FieldAbove12),
            (first, second) => {
                return (
                    if second > first { Mdy } else { Dmy },
                    DateOrderBasis::FieldAbove12,
                );
            }
        }
        let (dmy, mdy) = (self.dmy.score(), self.mdy.score());
        if dmy != mdy {
            return (if dmy < mdy { Dmy } else { Mdy }, DateOrderBasis::Ordering);
        }
        if self.change_first != self.change_second {
            let order = if self.change_first > self.change_second {
                Dmy
            } else {
                Mdy
            };
            return (order, DateOrderBasis::ChangeFrequency);
        }
        if self.upper_ampm * 2 > self.headers && self.slashed * 2 > self.headers {
            return (Mdy, DateOrderBasis::LocaleHint);
        }
        if self.dotted * 2 > self.headers {
            return (Dmy, DateOrderBasis::LocaleHint);
        }
        (Dmy, DateOrderBasis::Default)
    }
}

/// Decides how to read an export, in one pass over `reader`. `date_order` is the user's
/// override. Errors: [`ImportError::Empty`], [`ImportError::NotAnExport`],
/// [`ImportError::LineTooLong`], [`ImportError::Io`].
pub fn detect<R: BufRead>(
    reader: R,
    date_order: Option<DateOrder>,
) -> Result<Detection, ImportError> {
    let mut lines = LineReader::new(reader);
    // Android, bracket (iOS and Web), legacy iOS.
    let mut stats: [Stats; 3] = Default::default();
    let mut any_text = false;
    let mut seen_header = false;
    let mut preamble = false;
    let mut previous: Option<Ending> = None;
    while let Some(ending) = lines.next_line()? {
        let before = previous.replace(ending);
        let bytes = lines.bytes();
        // Only needed until the first header: whether the file has any text at all, and a
        // preamble (WhatsApp Web).
        let blank = !seen_header
            && (bytes.iter().all(u8::is_ascii_whitespace)
                || lines
                    .text()
                    .trim_matches(['\u{FEFF}', ' ', '\t'])
                    .is_empty());
        any_text |= seen_header || !blank;
        let found = if header::may_start_header(bytes) {
            header::header(&lines.text())
        } else {
            None
        };
        match found {
            Some(h) => {
                let slot = match h.shape {
                    Shape::Android => 0,
                    Shape::Bracket | Shape::BracketDash => 1,
                    Shape::Legacy => 2,
                };
                if let Some(stats) = stats.get_mut(slot) {
                    stats.add(&h, before);
                }
                seen_header = true;
            }
            None if !seen_header => {
                preamble |= !blank;
                if any_text && lines.line() >= MAX_LINES_BEFORE_FIRST_HEADER {
                    return Err(ImportError::NotAnExport);
                }
            }
            None => {}
        }
    }
    if !any_text {
        return Err(ImportError::Empty);
    }
    let [android, bracket, legacy] = &stats;
    // Majority vote over the shapes; ties prefer the bracket, then Android.
    let (family, chosen) =
        if bracket.headers >= android.headers && bracket.headers >= legacy.headers {
            let web = (bracket.dash_lines > 0 || preamble) && bracket.web_shape == bracket.headers;
            (if web { Family::Web } else { Family::Ios }, bracket)
        } else if android.headers >= legacy.headers {
            (Family::Android, android)
        } else {
            (Family::IosLegacy, legacy)
        };
    if chosen.headers == 0 {
        return Err(ImportError::NotAnExport);
    }
    let (order, basis) = match (date_order, family) {
        (Some(order), _) => (order, DateOrderBasis::Override),
        (None, Family::Web) => (DateOrder::MonthDayYear, DateOrderBasis::Format),
        (None, _) => chosen.date_order(),
    };
    let records = chosen.after_crlf + chosen.after_lf;
    Ok(Detection {
        family,
        date_order: order,
        date_order_basis: basis,
        date_order_inconsistent: chosen.first_above_12 > 0 && chosen.second_above_12 > 0,
        hour12: chosen.hour12 * 2 > chosen.headers,
        // iOS ends records with CRLF and breaks lines inside bodies with LF (§3.1). Headers
        // after a bare LF are pasted text in such files; require 80 % after CRLF before
        // relying on it.
        crlf_records: chosen.after_crlf > 0 && chosen.after_crlf * 5 >= records * 4,
        header_lines: chosen.headers,
    })
}
