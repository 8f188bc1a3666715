//! One streaming pass over the whole file that decides the family, the date field order, 12/24 h
//! and the record separator (`whatsapp-format.md` §1.8, §2.2, §3.1). Memory: counters only.
//!
//! The text is read in chunks of whole lines ([`chunks`]) counted on worker threads; the counts
//! of consecutive chunks are joined in the file's order ([`Stats::absorb`]), and give what one
//! pass over the lines would.

#[cfg(test)]
mod tests;

use std::io::BufRead;

use super::ImportError;
use super::model::{DateOrder, DateOrderBasis, Detection, Family, Parsed};
use super::parse::MAX_LINE_BYTES;
use super::parse::chunks::{self, Chunk, ChunkReader, Ending, Line, Ordered, Walk};
use super::parse::header::{self, DateFields, Era, Header, Meridiem, Shape};
use super::parse::timestamp::Reading;
use super::parse::{Parser, parses_alike};

/// Physical lines read without finding any header before the file is declared "not an export".
/// Preambles (WhatsApp Web) and hand edits are a few lines; this bounds the time spent on an
/// arbitrary file.
const MAX_LINES_BEFORE_FIRST_HEADER: u64 = 1000;

/// Backward steps smaller than this are ignored when comparing date readings (§2.2: messages
/// sent offline arrive a little out of order).
const JUMP_TOLERANCE_MINUTES: i64 = 10;

/// A date's day counts read day-first and month-first ([`Header::days_as`]).
type DayCounts = (Option<i64>, Option<i64>);

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
    first_fields: Option<(u32, u32)>,
    previous_fields: Option<(u32, u32)>,
    dmy: Ordering,
    mdy: Ordering,
    /// The last date read and its day counts under both readings.
    last_date: Option<(DateFields, DayCounts)>,
}

/// Backward jumps under one reading of the ambiguous day/month fields.
#[derive(Debug, Default)]
struct Ordering {
    /// The first valid reading: its header's number (in these counts) and its minutes.
    first: Option<(u64, i64)>,
    previous: Option<i64>,
    jumps: u64,
    /// Whether the second header, read after a valid first, is a backward jump (not counted
    /// when the second header is the file's: see [`Stats::add`]).
    jump_at_second: bool,
    invalid: u64,
}

fn is_jump(previous: i64, minutes: i64) -> bool {
    minutes < previous - JUMP_TOLERANCE_MINUTES
}

impl Ordering {
    /// `index`: the header's number among its shape's headers in these counts.
    /// `days`: the header's date under this reading ([`Header::days_as`]).
    fn add(&mut self, header: &Header, days: Option<i64>, index: u64) {
        let minutes = days
            .filter(|_| header.hour <= 24)
            .map(|days| days * 1440 + header.minute_of_day());
        match minutes {
            None => self.invalid += 1,
            Some(minutes) => {
                if let Some(previous) = self.previous
                    && is_jump(previous, minutes)
                {
                    // The first header is often the E2E notice with a later date (§3.2): no
                    // jump from it.
                    if index > 2 {
                        self.jumps += 1;
                    } else {
                        self.jump_at_second = true;
                    }
                }
                self.first.get_or_insert((index, minutes));
                self.previous = Some(minutes);
            }
        }
    }

    /// Adds the counts of the lines after these (`later`), `headers` being the count of
    /// headers these hold.
    fn absorb(&mut self, later: Ordering, headers: u64) {
        if let (Some(previous), Some((index, minutes))) = (self.previous, later.first)
            && headers + index > 2
            && is_jump(previous, minutes)
        {
            self.jumps += 1;
        }
        if later.jump_at_second && headers >= 1 {
            self.jumps += 1;
        }
        self.jump_at_second = match headers {
            0 => later.jump_at_second,
            1 => matches!((self.previous, later.first),
                (Some(previous), Some((1, minutes))) if is_jump(previous, minutes)),
            _ => self.jump_at_second,
        };
        self.jumps += later.jumps;
        self.invalid += later.invalid;
        if self.first.is_none() {
            self.first = later
                .first
                .map(|(index, minutes)| (headers + index, minutes));
        }
        self.previous = later.previous.or(self.previous);
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
            self.first_fields.get_or_insert((a, b));
            self.previous_fields = Some((a, b));
            // Consecutive messages mostly share a date: its two readings are kept.
            let days = match self.last_date {
                Some((date, days)) if date == h.date => days,
                _ => {
                    let days = (h.days_as(Reading::Dmy), h.days_as(Reading::Mdy));
                    self.last_date = Some((h.date, days));
                    days
                }
            };
            self.dmy.add(h, days.0, self.headers);
            self.mdy.add(h, days.1, self.headers);
        }
    }

    /// Adds the counts of the lines after these (a later chunk's), as if one pass had counted
    /// both.
    fn absorb(&mut self, later: Stats) {
        if let (Some((pa, pb)), Some((a, b))) = (self.previous_fields, later.first_fields) {
            self.change_first += u64::from(a != pa);
            self.change_second += u64::from(b != pb);
        }
        self.first_fields = self.first_fields.or(later.first_fields);
        self.previous_fields = later.previous_fields.or(self.previous_fields);
        self.dmy.absorb(later.dmy, self.headers);
        self.mdy.absorb(later.mdy, self.headers);
        self.headers += later.headers;
        self.dash_lines += later.dash_lines;
        self.web_shape += later.web_shape;
        self.year_first += later.year_first;
        self.first_above_12 += later.first_above_12;
        self.second_above_12 += later.second_above_12;
        self.hour12 += later.hour12;
        self.upper_ampm += later.upper_ampm;
        self.slashed += later.slashed;
        self.dotted += later.dotted;
        self.after_crlf += later.after_crlf;
        self.after_lf += later.after_lf;
        self.change_first += later.change_first;
        self.change_second += later.change_second;
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

/// One chunk's counts, line numbers counted from the chunk's start.
#[derive(Debug, Default)]
pub(crate) struct ChunkStats {
    lines: u64,
    /// Android, bracket (iOS and Web), legacy iOS.
    shapes: [Stats; 3],
    /// The chunk's first header line.
    first_header: Option<u64>,
    /// The first line with text before the chunk's first header.
    first_text: Option<u64>,
    /// A line (this number) is longer than [`MAX_LINE_BYTES`]; the chunk stops before it.
    overlong_at: Option<u64>,
    overlong_after: bool,
    /// The chunk's buffer, to be filled again.
    buffer: Vec<u8>,
}

impl ChunkStats {
    /// Counts for a chunk; `overlong_after`: a line longer than [`MAX_LINE_BYTES`] follows it.
    pub(crate) fn new(overlong_after: bool) -> Self {
        Self {
            overlong_after,
            ..Self::default()
        }
    }

    /// Whether [`ChunkStats::line`] needs `line` even if it cannot start a header: until the
    /// chunk's first header.
    pub(crate) fn wants_every_line(&self) -> bool {
        self.first_header.is_none()
    }

    /// Counts one line of the chunk: `found` is its header, read if the line may start one
    /// ([`header::may_start_header`]).
    #[inline]
    pub(crate) fn line(&mut self, line: &Line<'_>, text: &str, found: Option<&Header>) {
        match found {
            Some(h) => {
                let slot = match h.shape {
                    Shape::Android => 0,
                    Shape::Bracket | Shape::BracketDash => 1,
                    Shape::Legacy => 2,
                };
                if let Some(stats) = self.shapes.get_mut(slot) {
                    stats.add(h, line.before);
                }
                self.first_header.get_or_insert(line.number);
            }
            // Only needed until the first header: whether the file has any text at all, and
            // a preamble (WhatsApp Web).
            None if self.first_header.is_none() && self.first_text.is_none() => {
                let blank = line.bytes.iter().all(u8::is_ascii_whitespace)
                    || text.trim_matches(['\u{FEFF}', ' ', '\t']).is_empty();
                if !blank {
                    self.first_text = Some(line.number);
                }
            }
            None => {}
        }
    }

    /// After the chunk's last line.
    pub(crate) fn end(&mut self, walk: &Walk<'_>) {
        self.lines = walk.number;
        self.overlong_at = walk.overlong_at;
    }
}

/// Counts the headers of one chunk (on a worker thread).
fn scan(headers: &mut header::Reader, chunk: Chunk) -> ChunkStats {
    let mut out = ChunkStats::new(chunk.overlong);
    let mut walk = chunk.walk();
    for line in walk.by_ref() {
        let may_start = header::may_start_header(line.bytes);
        if !may_start && !out.wants_every_line() {
            continue;
        }
        let text = line.text();
        let found = if may_start {
            headers.header(&text)
        } else {
            None
        };
        out.line(&line, &text, found.as_ref());
    }
    out.end(&walk);
    out.buffer = chunk.bytes;
    out
}

/// Decides how to read an export, in one pass over `reader`. `date_order` is the user's
/// override. Errors: [`ImportError::Empty`], [`ImportError::NotAnExport`],
/// [`ImportError::LineTooLong`], [`ImportError::Io`].
pub fn detect<R: BufRead>(
    reader: R,
    date_order: Option<DateOrder>,
) -> Result<Detection, ImportError> {
    detect_in_chunks(reader, date_order, chunks::CHUNK_BYTES, chunks::workers())
}

/// How much of a text's start [`detect_and_parse`] detects alone.
const START_BYTES: u64 = chunks::CHUNK_BYTES as u64;

/// What [`detect_and_parse`] hands its caller.
#[derive(Debug)]
pub enum Visit {
    /// The next item, in the file's order.
    Item(Parsed),
    /// Forget the items handed so far: they were read under the start's detection, which the
    /// whole text overruled (or the parse stopped on an error, which the two passes decide);
    /// the text is read again from its start.
    Restart,
}

/// [`detect`] then [`Parser`] over the text `open` opens, mostly in one read: each item goes
/// to `visit`, and the detection is returned. The same items and detection as the two passes,
/// or the same error.
///
/// The start of the text ([`START_BYTES`]) is detected alone, on this thread, and the text
/// parsed under that detection while the parse counts what the detection counts. When the
/// whole text's counts decide the same way (as they nearly always do: most exports show a day
/// above 12 in their first weeks), the items stand. Otherwise, or if the parse stops on an
/// error, `visit` gets [`Visit::Restart`] and the two passes run.
///
/// The wizard's preview reads a file this way: the detection pass was a quarter of its time.
pub fn detect_and_parse<R: BufRead>(
    open: impl FnMut() -> Result<R, ImportError>,
    date_order: Option<DateOrder>,
    visit: impl FnMut(Visit),
) -> Result<Detection, ImportError> {
    detect_and_parse_in_chunks(
        open,
        date_order,
        (chunks::CHUNK_BYTES, START_BYTES),
        chunks::workers(),
        visit,
    )
}

/// [`detect_and_parse`] with chunks of `chunk_bytes`, the start detected alone of
/// `start_bytes`, and `workers` threads.
pub(crate) fn detect_and_parse_in_chunks<R: BufRead>(
    mut open: impl FnMut() -> Result<R, ImportError>,
    date_order: Option<DateOrder>,
    (chunk_bytes, start_bytes): (usize, u64),
    workers: usize,
    mut visit: impl FnMut(Visit),
) -> Result<Detection, ImportError> {
    let mut start = open()?.take(start_bytes);
    let early = detect_in_chunks(&mut start, date_order, chunk_bytes, 1);
    // A text that ends before the limit was detected whole: that answer, or that error, is
    // the two passes'. (A detection that stopped on an error may not have read to the end of
    // the start: the rest of it is read to know.)
    let whole = (early.is_ok() || std::io::copy(&mut start, &mut std::io::sink()).is_ok())
        && start.limit() > 0;
    let early = match early {
        Ok(detection) if whole => {
            return parse_with(open()?, detection, chunk_bytes, workers, &mut visit);
        }
        Err(error) if whole => return Err(error),
        Ok(detection) => detection,
        Err(_) => return two_passes(open, date_order, chunk_bytes, workers, visit),
    };
    let mut parser = Parser::counting(open()?, &early, date_order, chunk_bytes, workers);
    for item in parser.by_ref() {
        match item {
            Ok(item) => visit(Visit::Item(item)),
            Err(_) => {
                visit(Visit::Restart);
                return two_passes(open, date_order, chunk_bytes, workers, visit);
            }
        }
    }
    match parser.detection() {
        Some(Ok(detection)) if parses_alike(&detection, &early) => Ok(detection),
        Some(Ok(detection)) => {
            visit(Visit::Restart);
            parse_with(open()?, detection, chunk_bytes, workers, &mut visit)
        }
        // The detection's own error (or none, which cannot be): the two passes decide.
        Some(Err(_)) | None => {
            visit(Visit::Restart);
            two_passes(open, date_order, chunk_bytes, workers, visit)
        }
    }
}

/// [`detect`], then [`parse_with`].
fn two_passes<R: BufRead>(
    mut open: impl FnMut() -> Result<R, ImportError>,
    date_order: Option<DateOrder>,
    chunk_bytes: usize,
    workers: usize,
    mut visit: impl FnMut(Visit),
) -> Result<Detection, ImportError> {
    let detection = detect_in_chunks(open()?, date_order, chunk_bytes, workers)?;
    parse_with(open()?, detection, chunk_bytes, workers, &mut visit)
}

/// Every item of `reader` parsed under `detection`, to `visit`, and the detection back; the
/// first error stops.
fn parse_with<R: BufRead>(
    reader: R,
    detection: Detection,
    chunk_bytes: usize,
    workers: usize,
    visit: &mut impl FnMut(Visit),
) -> Result<Detection, ImportError> {
    for item in Parser::with_chunks(reader, &detection, chunk_bytes, workers) {
        visit(Visit::Item(item?));
    }
    Ok(detection)
}

/// [`detect`] with chunks cut at `chunk_bytes` and `workers` threads (tests cut small chunks).
pub(crate) fn detect_in_chunks<R: BufRead>(
    reader: R,
    date_order: Option<DateOrder>,
    chunk_bytes: usize,
    workers: usize,
) -> Result<Detection, ImportError> {
    decide(count(reader, chunk_bytes, workers)?, date_order)
}

/// What the pass over the lines counted.
#[derive(Debug)]
pub(crate) struct Counted {
    /// Android, bracket (iOS and Web), legacy iOS.
    stats: [Stats; 3],
    /// A line with text before the first header (WhatsApp Web writes a preamble).
    preamble: bool,
}

/// The counts of consecutive chunks joined in the file's order, with the checks of the pass
/// over the lines.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    stats: [Stats; 3],
    lines: u64,
    any_text: bool,
    seen_header: bool,
    preamble: bool,
}

impl Tally {
    /// Adds the next chunk's counts. Errors: [`ImportError::NotAnExport`] (many lines before
    /// any header), [`ImportError::LineTooLong`].
    pub(crate) fn absorb(&mut self, chunk: ChunkStats) -> Result<(), ImportError> {
        let lines = self.lines;
        if !self.seen_header {
            // Lines before the file's first header: more than a few hundred of them means the
            // file is not an export.
            let read = chunk.overlong_at.map_or(chunk.lines, |line| line - 1);
            let last = lines + chunk.first_header.map_or(read, |line| line - 1);
            if let Some(first_text) = chunk.first_text {
                let first_text = lines + first_text;
                self.any_text = true;
                self.preamble = true;
                if first_text.max(MAX_LINES_BEFORE_FIRST_HEADER) <= last {
                    return Err(ImportError::NotAnExport);
                }
            } else if self.any_text && MAX_LINES_BEFORE_FIRST_HEADER <= last {
                return Err(ImportError::NotAnExport);
            }
            self.seen_header = chunk.first_header.is_some();
            self.any_text |= self.seen_header;
        }
        for (total, counted) in self.stats.iter_mut().zip(chunk.shapes) {
            total.absorb(counted);
        }
        if let Some(line) = chunk.overlong_at {
            return Err(ImportError::LineTooLong {
                line: lines + line,
                limit: MAX_LINE_BYTES,
            });
        }
        self.lines += chunk.lines;
        if chunk.overlong_after {
            return Err(ImportError::LineTooLong {
                line: self.lines + 1,
                limit: MAX_LINE_BYTES,
            });
        }
        Ok(())
    }

    /// The counts of the whole text. Errors: [`ImportError::Empty`].
    pub(crate) fn finish(self) -> Result<Counted, ImportError> {
        if !self.any_text {
            return Err(ImportError::Empty);
        }
        Ok(Counted {
            stats: self.stats,
            preamble: self.preamble,
        })
    }
}

/// The pass over the lines. Errors: [`ImportError::Empty`], [`ImportError::NotAnExport`] (many
/// lines before any header), [`ImportError::LineTooLong`], [`ImportError::Io`].
pub(crate) fn count<R: BufRead>(
    reader: R,
    chunk_bytes: usize,
    workers: usize,
) -> Result<Counted, ImportError> {
    let mut chunks = ChunkReader::with_size(reader, chunk_bytes);
    let mut pool: Option<Ordered<Chunk, ChunkStats, header::Reader>> = None;
    let mut tally = Tally::default();
    let mut reading = true;
    let mut read_error = None;
    loop {
        while reading && pool.as_ref().is_none_or(|p| p.in_flight() < p.depth()) {
            match chunks.next_chunk() {
                Ok(Some(chunk)) => {
                    // A text of one chunk is counted on this thread: no worker to start.
                    let workers = if chunks.finished() { 1 } else { workers };
                    pool.get_or_insert_with(|| {
                        Ordered::new(workers, header::Reader::default, scan)
                    })
                    .give(chunk);
                }
                Ok(None) => reading = false,
                Err(error) => {
                    reading = false;
                    read_error = Some(error);
                }
            }
        }
        let Some(pool) = pool.as_mut().filter(|p| p.in_flight() > 0) else {
            break;
        };
        let mut chunk = pool.take().ok_or_else(|| {
            ImportError::Invalid(
                "the detection stopped unexpectedly; please report this file".to_owned(),
            )
        })?;
        chunks.recycle(std::mem::take(&mut chunk.buffer));
        tally.absorb(chunk)?;
    }
    if let Some(error) = read_error {
        return Err(error);
    }
    tally.finish()
}

/// The detection from the counts, under the user's override of the date order.
pub(crate) fn decide(
    counted: Counted,
    date_order: Option<DateOrder>,
) -> Result<Detection, ImportError> {
    let Counted { stats, preamble } = counted;
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
