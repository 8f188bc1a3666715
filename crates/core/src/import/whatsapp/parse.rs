//! The streaming parser: physical lines in, [`Parsed`] items out, one entry behind (an entry is
//! complete when the next header or the end arrives). The lines are read in chunks parsed on
//! worker threads ([`Parser`]); memory is a few chunks, whatever the file's size.
//!
//! Per line: a byte check (a header starts with a digit, `[` or a mark), then the hand-written
//! header scanner of [`header`], family locking (§1.8: only the detected family's shape starts
//! an entry), date validation under the file's field order (an impossible date is a
//! continuation line), and in CRLF files (iOS, §3.1) only a line after a CRLF can be a header.

mod attachments;
mod body;
pub(crate) mod chunks;
pub(crate) mod header;
mod phrases;
mod polls;
#[cfg(test)]
mod tests;
pub(crate) mod timestamp;

use std::collections::{HashMap, VecDeque};
use std::io::BufRead;
use std::sync::Arc;

use time::PrimitiveDateTime;

use super::ImportError;
use super::detect::{self, ChunkStats, Tally};
use super::model::{Body, DateOrder, Detection, Entry, Family, Parsed, Unparsed};
use chunks::{Chunk, ChunkReader, Ending, Ordered, Walk};
use header::{DateFields, Shape, is_mark, is_space};

/// The longest physical line accepted (1 MiB). Real message lines are far shorter; a longer
/// line means the file is not an export, and the cap bounds memory on hostile input.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The longest entry (header line plus continuation lines) kept in memory: 16 MiB. A message
/// this long is not something WhatsApp exports; the cap keeps a hostile file with one header
/// and gigabytes of short lines from growing one body without bound.
pub const MAX_ENTRY_BYTES: usize = 16 << 20;

/// Streams the entries of an export. Build it with the [`Detection`] of the same bytes.
///
/// The text is read in chunks of whole lines ([`chunks`]) that worker threads parse, one per
/// core; the entries come out in the file's order, exactly as a single pass would give them. A
/// worker cannot know where an entry that began in the chunk before it ends, so it returns the
/// lines before its first header (`head`) and its last entry unfinished (`tail`); the caller's
/// thread joins them across the cut. Memory: a few chunks and their entries.
pub struct Parser<R> {
    chunks: ChunkReader<R>,
    pool: Option<Ordered<Job, Outcome, Worker>>,
    /// Re-parses, on the caller's thread, a chunk whose dates lack a year (see [`Outcome`]).
    inline: Worker,
    settings: Settings,
    workers: usize,
    reading: bool,
    read_error: Option<ImportError>,
    /// Physical lines in the chunks merged so far.
    lines: u64,
    /// For dates written without a year (Android 2013–14, A21): the last year seen.
    last_year: i32,
    /// The entry whose continuation lines may still come (line numbers of the file).
    pending: Option<Pending>,
    /// What comes out next: `front` (lines before the first entry, the entry finished across a
    /// cut), then the chunk's `entries` (their line numbers shifted by `offset`), then `error`.
    front: VecDeque<Result<Parsed, ImportError>>,
    entries: VecDeque<Entry>,
    /// Emptied entry lists, handed to the workers again (a chunk's list is megabytes: reusing
    /// it spares the allocator).
    spare_entries: Vec<Vec<Entry>>,
    /// The texts of chunks parsed, oldest first, while entries may still share them: one no
    /// entry holds any more is read into again ([`LENT`] at most; an older one is left to its
    /// entries).
    lent: VecDeque<Arc<String>>,
    /// Texts no entry shares any more, to copy chunks into.
    spare_texts: Vec<String>,
    offset: u64,
    error: Option<ImportError>,
    done: bool,
    /// When the parse counts what the detection counts ([`Parser::counting`]): the counts so
    /// far, or the error the detection would have stopped with, and the user's date order.
    tally: Option<Result<Tally, ImportError>>,
    date_order: Option<DateOrder>,
}

/// What every worker parses with.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Settings {
    family: Family,
    order: DateOrder,
    per_line: bool,
    crlf_records: bool,
    /// Count each chunk's headers as the detection does ([`Parser::counting`]).
    counting: bool,
}

impl Settings {
    fn new(detection: &Detection, counting: bool) -> Self {
        Settings {
            family: detection.family,
            order: detection.date_order,
            per_line: detection.date_order_inconsistent,
            crlf_records: detection.crlf_records,
            counting,
        }
    }
}

/// Whether a [`Parser`] reads a text the same way under two detections (their other fields
/// are for the report).
pub(crate) fn parses_alike(a: &Detection, b: &Detection) -> bool {
    Settings::new(a, false) == Settings::new(b, false)
}

/// A worker's state: the settings, and authors as written and as normalised (a chat has a few
/// authors writing thousands of messages each, and a name with marks or a phone number costs a
/// pass over its characters; emptied when it reaches [`AUTHORS_CACHED`], bounded on hostile
/// input, and at each chunk: the shared names a worker hands out are then not the ones the
/// consumer is dropping for earlier chunks, and the two cores do not pass the names' reference
/// counts back and forth. In a profile that halved the time on the count's increment).
struct Worker {
    settings: Settings,
    authors: Authors,
    headers: header::Reader,
}

struct Job {
    chunk: Chunk,
    /// An emptied list to fill with the chunk's entries.
    entries: Vec<Entry>,
    /// The year for dates without one, when known (the first chunk); see [`Outcome`].
    last_year: Option<i32>,
    /// A string to copy the chunk's text into (one whose entries are gone, or a new one).
    text: String,
}

/// Chunk texts kept to be written again once no entry shares them.
const LENT: usize = 16;

/// A chunk's text as a worker holds it: a copy of its bytes, which the bodies read from it
/// share, or the bytes themselves when they are not valid UTF-8 (each line is then read
/// lossily, and its bodies own their text).
///
/// Why a copy: the bytes were checked as UTF-8 already (SIMD), and a `&str` copies into a
/// `String` with no second check, while making the buffer itself a `String`
/// (`String::from_utf8`) checks it again, byte by byte. In a profile of the 1M iOS export that
/// check took 12 % of the parse's CPU time; all copies together now take under 6 %.
enum Held {
    Text(Arc<String>),
    Bytes(Vec<u8>),
}

/// A chunk being parsed.
struct Loaded {
    held: Held,
    before: Option<Ending>,
    overlong: bool,
}

impl Loaded {
    /// The chunk, its text copied into `text` when it is valid UTF-8; the chunk's buffer
    /// comes back then, free to be filled again (empty otherwise).
    fn new(chunk: Chunk, mut text: String) -> (Self, Vec<u8>) {
        let Chunk {
            bytes,
            before,
            overlong,
        } = chunk;
        let (held, free) = match simdutf8::basic::from_utf8(&bytes) {
            Ok(valid) => {
                text.clear();
                text.push_str(valid);
                (Held::Text(Arc::new(text)), bytes)
            }
            Err(_) => (Held::Bytes(bytes), Vec::new()),
        };
        let loaded = Self {
            held,
            before,
            overlong,
        };
        (loaded, free)
    }

    fn len(&self) -> usize {
        match &self.held {
            Held::Text(text) => text.len(),
            Held::Bytes(bytes) => bytes.len(),
        }
    }

    fn walk(&self) -> Walk<'_> {
        match &self.held {
            Held::Text(text) => Walk::new(text.as_bytes(), Some(text), self.before),
            Held::Bytes(bytes) => Walk::new(bytes, None, self.before),
        }
    }

    fn text(&self) -> Option<&Arc<String>> {
        match &self.held {
            Held::Text(text) => Some(text),
            Held::Bytes(_) => None,
        }
    }
}

/// Where `part`, a slice at the end of `line`, starts in it; `None` if it is not one.
fn suffix_at(line: &str, part: &str) -> Option<usize> {
    let at = line.len().checked_sub(part.len())?;
    line.get(at..)
        .filter(|tail| std::ptr::eq(tail.as_ptr(), part.as_ptr()))
        .map(|_| at)
}

/// A parsed chunk, or the chunk back when one of its dates lacks a year and no earlier date in
/// it gave one (the year comes from the chunks before: the caller parses it again, in order).
enum Outcome {
    Parsed(ChunkResult),
    NeedsYear(Loaded),
}

/// One chunk's lines, with line numbers counted from the chunk's start.
struct ChunkResult {
    lines: u64,
    /// The lines before the chunk's first header: continuation lines of the entry before the
    /// cut, or lines before the file's first entry.
    head: Vec<(u64, String)>,
    entries: Vec<Entry>,
    /// The chunk's last entry, which the next chunk's head may continue.
    tail: Option<Pending>,
    /// The year of the chunk's last dated header, if any.
    last_year: Option<i32>,
    /// A line (this number) is longer than [`MAX_LINE_BYTES`]; the chunk stops before it.
    overlong_at: Option<u64>,
    /// The line after the chunk is longer than [`MAX_LINE_BYTES`].
    overlong_after: bool,
    /// The chunk's buffer, to be filled again.
    buffer: Vec<u8>,
    /// The chunk's text, to be written again once its entries are gone.
    held: Option<Held>,
    /// What the detection counts in the chunk, when counting (a kilobyte: boxed).
    stats: Option<Box<ChunkStats>>,
}

/// Raw author names, their normalised form, and whether the raw name holds a quote (foldhash:
/// the names are short, and its seed is random per map).
type Authors = HashMap<Box<str>, (Arc<str>, bool), foldhash::fast::RandomState>;

/// Distinct raw author names kept by [`cached_author`].
const AUTHORS_CACHED: usize = 1024;

/// An entry whose continuation lines may still come.
struct Pending {
    line: u64,
    timestamp: PrimitiveDateTime,
    author: Option<Arc<str>>,
    body: Body,
    marked: bool,
    /// Continuation lines were added to `body` (a one-line body holds no `\n`).
    multiline: bool,
}

/// Whether a header shape may start an entry in a file of this family.
fn accepts(family: Family, shape: Shape) -> bool {
    match family {
        Family::Android => shape == Shape::Android,
        Family::Ios => shape == Shape::Bracket,
        Family::IosLegacy => shape == Shape::Legacy,
        Family::Web => matches!(shape, Shape::Bracket | Shape::BracketDash),
    }
}

/// Whether one of the eight bytes of `word` is `byte` (the classic zero-byte test on
/// `word ^ byte…`: exact as a yes/no for the whole word).
fn word_has(word: u64, byte: u8) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS != 0
}

fn has_quote(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Author names are short: eight bytes at a time costs less than setting up the vector
    // searches. A quote starts with `"`, `'`, or the lead byte of `“ ” „ ‘ ’ «` (E2, C2).
    if bytes.len() <= 64 {
        let words = bytes.chunks_exact(8);
        let tail = words.remainder();
        let lead_in_words = words.filter_map(|w| <[u8; 8]>::try_from(w).ok()).any(|w| {
            let word = u64::from_le_bytes(w);
            word_has(word, b'"')
                || word_has(word, b'\'')
                || word_has(word, 0xE2)
                || word_has(word, 0xC2)
        });
        let lead_in_tail = tail.iter().any(|b| matches!(b, b'"' | b'\'' | 0xE2 | 0xC2));
        if !lead_in_words && !lead_in_tail {
            return false;
        }
        return (0..bytes.len()).any(|at| quote_at(bytes, at));
    }
    memchr::memchr2(b'"', b'\'', bytes).is_some()
        || memchr::memchr2_iter(0xE2, 0xC2, bytes).any(|at| quote_at(bytes, at))
}

/// Whether a quote starts at `at`: `"`, `'`, `“ ” „ ‘ ’` (E2 80 9C, 9D, 9E, 98, 99) or `«`
/// (C2 AB).
fn quote_at(bytes: &[u8], at: usize) -> bool {
    matches!(
        bytes.get(at..),
        Some(
            [b'"' | b'\'', ..]
                | [0xE2, 0x80, 0x98 | 0x99 | 0x9C | 0x9D | 0x9E, ..]
                | [0xC2, 0xAB, ..]
        )
    )
}

/// The first `": "` (memchr on the colon: cheaper than a substring search on short lines).
fn find_colon_space(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b':', bytes).find(|at| bytes.get(at + 1) == Some(&b' '))
}

/// Splits `Author: body`. `None` author: a system event (§3.2), or a Web `] - ` line.
#[cfg(test)]
fn split_author(rest: &str, shape: Shape) -> (Option<&str>, &str) {
    split_author_with(rest, shape, has_quote)
}

/// [`split_author`], asking `quoted` whether a name holds a quote (the parser remembers it for
/// the authors it has seen).
fn split_author_with(
    rest: &str,
    shape: Shape,
    quoted: impl Fn(&str) -> bool,
) -> (Option<&str>, &str) {
    if shape == Shape::BracketDash {
        return (None, rest);
    }
    if let Some(at) = find_colon_space(rest) {
        let candidate = rest.get(..at).unwrap_or_default();
        // `Tom changed the subject to "Trip: day 1"` is an event, not `Tom changed…` writing.
        let suspicious = candidate.len() > 40 || quoted(candidate);
        let event_before = suspicious && phrases::system_phrase_before(rest, at);
        if !event_before
            && !candidate
                .trim_matches(|c: char| is_mark(c) || is_space(c))
                .is_empty()
        {
            return (Some(candidate), rest.get(at + 2..).unwrap_or_default());
        }
        return (None, rest);
    }
    // `Name:.`: a disappearing message (chat-miner#92).
    if let Some(name) = rest.strip_suffix(":.")
        && !name.trim().is_empty()
        && !name.contains(':')
    {
        return (Some(name), ".");
    }
    // `Name:` with nothing after the colon: an empty body (§4.3).
    if let Some(name) = rest.strip_suffix(':')
        && !name.trim().is_empty()
        && !name.ends_with(':')
        && phrases::system_event(name).is_none()
    {
        return (Some(name), "");
    }
    // `Bob:Hi` (ChatLab PR#281): the space is optional once the header has matched, unless
    // the line reads as a system event.
    if let Some(at) = memchr::memchr(b':', rest.as_bytes())
        && let (Some(name), Some(body)) = (rest.get(..at), rest.get(at + 1..))
        && !name.trim().is_empty()
        && !name.ends_with(is_space)
        && !body.is_empty()
        && !has_quote(rest)
        && phrases::system_event(rest).is_none()
    {
        return (Some(name), body);
    }
    (None, rest)
}

fn is_phone_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '+' | '-' | '(' | ')' | '.' | '\u{2011}') || is_space(c)
}

/// The author as the report shows it (§1.6, §1.7): marks stripped, `~ ` push-name prefix
/// removed, phone numbers with plain spaces and hyphens.
pub(crate) fn normalize_author(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let plain = raw.is_ascii()
        && bytes.first().is_some_and(|b| *b != b'~' && *b != b' ')
        && bytes.last().is_some_and(|b| *b != b' ');
    if plain {
        return raw.to_owned();
    }
    let stripped = body::strip_marks(raw);
    let mut name = stripped.trim_matches(is_space);
    if let Some(push_name) = name.strip_prefix('~') {
        name = push_name.trim_start_matches(is_space);
    }
    if name.starts_with('+') && name.chars().all(is_phone_char) {
        return name
            .chars()
            .map(|c| {
                if c == '\u{2011}' {
                    '-'
                } else if is_space(c) {
                    ' '
                } else {
                    c
                }
            })
            .collect();
    }
    name.to_owned()
}

/// [`normalize_author`], remembered in `authors` (see [`Parser::authors`]).
fn cached_author(authors: &mut Authors, raw: &str) -> Arc<str> {
    if let Some((name, _)) = authors.get(raw) {
        return Arc::clone(name);
    }
    let name: Arc<str> = normalize_author(raw).into();
    if authors.len() >= AUTHORS_CACHED {
        authors.clear();
    }
    authors.insert(raw.into(), (Arc::clone(&name), has_quote(raw)));
    name
}

fn finish(family: Family, pending: Pending, at_end: bool) -> Entry {
    let Pending {
        line,
        timestamp,
        author,
        mut body,
        marked,
        multiline,
    } = pending;
    if at_end {
        let keep = body.trim_end_matches(['\n', '\r']).len();
        body.truncate(keep);
    }
    let classified = match &author {
        None => body::classify_authorless(body),
        Some(_) => {
            let classified = body::classify_lines(family, body, marked, multiline);
            // Places span three lines; single-line bodies skip the check.
            if family == Family::Android && multiline {
                body::android_place(classified)
            } else {
                classified
            }
        }
    };
    Entry {
        line,
        timestamp,
        author,
        body: classified.body,
        kind: classified.kind,
        attachment: classified.attachment,
        edited: classified.edited,
    }
}

impl Worker {
    fn new(settings: Settings) -> Self {
        Self {
            settings,
            authors: Authors::default(),
            headers: header::Reader::default(),
        }
    }

    fn run(&mut self, job: Job) -> Outcome {
        let (chunk, buffer) = Loaded::new(job.chunk, job.text);
        match self.parse(&chunk, job.last_year, job.entries) {
            Some(mut parsed) => {
                parsed.buffer = buffer;
                parsed.held = Some(chunk.held);
                Outcome::Parsed(parsed)
            }
            None => Outcome::NeedsYear(chunk),
        }
    }

    /// The chunk's lines: per line a byte check (a header starts with a digit, `[` or a mark),
    /// the header scanner, family locking (§1.8: only the detected family's shape starts an
    /// entry), the date under the file's field order (an impossible date is a continuation
    /// line), and in CRLF files (iOS, §3.1) only a line after a CRLF can be a header. `None`
    /// when a date without a year comes before any year and `year` is unknown.
    fn parse(
        &mut self,
        chunk: &Loaded,
        mut year: Option<i32>,
        mut entries: Vec<Entry>,
    ) -> Option<ChunkResult> {
        let s = self.settings;
        // New shared names per chunk (see [`Worker`]).
        self.authors.clear();
        entries.clear();
        // About one entry per 90 bytes in real exports.
        entries.reserve(chunk.len() / 64);
        let mut out = ChunkResult {
            lines: 0,
            head: Vec::new(),
            entries,
            tail: None,
            last_year: None,
            overlong_at: None,
            overlong_after: chunk.overlong,
            buffer: Vec::new(),
            held: None,
            stats: s
                .counting
                .then(|| Box::new(ChunkStats::new(chunk.overlong))),
        };
        let shared = chunk.text();
        let mut walk = chunk.walk();
        for walked in walk.by_ref() {
            let (bytes, before) = (walked.bytes, walked.before);
            let line = walked.text();
            let may_start = header::may_start_header(bytes);
            let after_record =
                !s.crlf_records || matches!(before, None | Some(Ending::CrLf | Ending::Cr));
            // The detection's counts take every header; the parse, only a record's.
            let found = (may_start && (after_record || s.counting))
                .then(|| self.headers.header(&line))
                .flatten();
            if let Some(stats) = &mut out.stats {
                stats.line(&walked, &line, found.as_ref());
            }
            let mut started = None;
            if let Some(h) = found.filter(|h| after_record && accepts(s.family, h.shape)) {
                let yearless = matches!(h.date, DateFields::Named { year: None, .. });
                if yearless && year.is_none() {
                    return None;
                }
                if let Some(timestamp) = h.timestamp(s.order, s.per_line, year.unwrap_or_default())
                {
                    if !yearless {
                        year = Some(timestamp.year());
                        out.last_year = year;
                    }
                    started = Some((h, timestamp));
                }
            }
            if let Some((h, timestamp)) = started {
                let rest = line.get(h.rest..).unwrap_or_default();
                let authors = &self.authors;
                let (author, body) = split_author_with(rest, h.shape, |candidate| {
                    authors
                        .get(candidate)
                        .map_or_else(|| has_quote(candidate), |(_, quoted)| *quoted)
                });
                // The body is the end of the line: a range of the chunk's text, when the line
                // is that text's.
                let end = walked.start + line.len();
                // (A chunk with a text gives its lines borrowed from it.)
                let body = match (shared, suffix_at(&line, body)) {
                    (Some(text), Some(at)) => Body::shared(text, walked.start + at..end),
                    _ => Body::from(body),
                };
                let pending = Pending {
                    line: walked.number,
                    timestamp,
                    author: author.map(|raw| cached_author(&mut self.authors, raw)),
                    body,
                    marked: h.leading_mark,
                    multiline: false,
                };
                if let Some(previous) = out.tail.replace(pending) {
                    out.entries.push(finish(s.family, previous, false));
                }
                continue;
            }
            match &mut out.tail {
                Some(pending) => {
                    pending.multiline = true;
                    // A line after a bare `\n` continues a shared body in place.
                    let grown = shared.is_some_and(|text| {
                        pending
                            .body
                            .extend_over(text, walked.start, walked.start + line.len())
                    });
                    if !grown {
                        pending.body.push_line(&line);
                    }
                }
                None => out.head.push((walked.number, line.into_owned())),
            }
        }
        out.lines = walk.number;
        out.overlong_at = walk.overlong_at;
        if let Some(stats) = &mut out.stats {
            stats.end(&walk);
        }
        Some(out)
    }
}

impl<R: BufRead> Parser<R> {
    /// A parser for `reader`, which must yield the same bytes [`super::detect`] saw.
    pub fn new(reader: R, detection: &Detection) -> Self {
        Self::with_chunks(reader, detection, chunks::CHUNK_BYTES, chunks::workers())
    }

    /// A parser with `workers` threads (1: parse on the caller's thread).
    pub fn with_workers(reader: R, detection: &Detection, workers: usize) -> Self {
        Self::with_chunks(reader, detection, chunks::CHUNK_BYTES, workers)
    }

    /// A parser cutting chunks at `chunk_bytes` with `workers` threads (tests cut small chunks
    /// to check that the cuts change nothing).
    pub(crate) fn with_chunks(
        reader: R,
        detection: &Detection,
        chunk_bytes: usize,
        workers: usize,
    ) -> Self {
        Self::with_settings(
            reader,
            Settings::new(detection, false),
            chunk_bytes,
            workers,
        )
    }

    /// A parser that also counts what [`detect::detect`] counts, so that after its last item
    /// [`Parser::detection`] tells how the whole text is to be read (`date_order`: the user's
    /// override). See [`detect::detect_and_parse`].
    pub(crate) fn counting(
        reader: R,
        detection: &Detection,
        date_order: Option<DateOrder>,
        chunk_bytes: usize,
        workers: usize,
    ) -> Self {
        let mut parser =
            Self::with_settings(reader, Settings::new(detection, true), chunk_bytes, workers);
        parser.tally = Some(Ok(Tally::default()));
        parser.date_order = date_order;
        parser
    }

    fn with_settings(reader: R, settings: Settings, chunk_bytes: usize, workers: usize) -> Self {
        Self {
            chunks: ChunkReader::with_size(reader, chunk_bytes),
            pool: None,
            inline: Worker::new(settings),
            settings,
            workers,
            reading: true,
            read_error: None,
            lines: 0,
            last_year: time::OffsetDateTime::now_utc().year(),
            pending: None,
            front: VecDeque::new(),
            entries: VecDeque::new(),
            spare_entries: Vec::new(),
            lent: VecDeque::new(),
            spare_texts: Vec::new(),
            offset: 0,
            error: None,
            done: false,
            tally: None,
            date_order: None,
        }
    }

    /// After the last item of a [`Parser::counting`]: the detection of the whole text, or the
    /// error [`detect::detect`] gives for it. `None` for other parsers, before the end, or after
    /// an error.
    pub(crate) fn detection(&mut self) -> Option<Result<Detection, ImportError>> {
        if !self.done {
            return None;
        }
        let tally = self.tally.take()?;
        Some(
            tally
                .and_then(Tally::finish)
                .and_then(|counted| detect::decide(counted, self.date_order)),
        )
    }

    /// Takes back the chunk texts no entry shares any more.
    fn reclaim(&mut self) {
        for _ in 0..self.lent.len() {
            let Some(text) = self.lent.pop_front() else {
                break;
            };
            match Arc::try_unwrap(text) {
                Ok(text) if self.spare_texts.len() < LENT => self.spare_texts.push(text),
                Ok(_) => {}
                Err(text) => self.lent.push_back(text),
            }
        }
    }

    /// Reads chunks until enough are in flight (or the text ends).
    fn feed(&mut self) {
        self.reclaim();
        while self.reading {
            if let Some(pool) = &self.pool
                && pool.in_flight() >= pool.depth()
            {
                return;
            }
            let chunk = match self.chunks.next_chunk() {
                Ok(Some(chunk)) => chunk,
                Ok(None) => {
                    self.reading = false;
                    return;
                }
                Err(error) => {
                    self.reading = false;
                    self.read_error = Some(error);
                    return;
                }
            };
            let first = self.pool.is_none();
            let settings = self.settings;
            // A text of one chunk is parsed on this thread: no worker to start.
            let workers = if self.chunks.finished() {
                1
            } else {
                self.workers
            };
            let pool = self.pool.get_or_insert_with(|| {
                Ordered::new(workers, move || Worker::new(settings), Worker::run)
            });
            pool.give(Job {
                chunk,
                entries: self.spare_entries.pop().unwrap_or_default(),
                last_year: first.then_some(self.last_year),
                text: self.spare_texts.pop().unwrap_or_default(),
            });
        }
    }

    /// Keeps an emptied entry list for a later chunk (as many as chunks in flight).
    fn recycle_entries(&mut self, mut entries: Vec<Entry>) {
        let wanted = self.pool.as_ref().map_or(1, |pool| pool.depth() + 1);
        if entries.capacity() > 0 && self.spare_entries.len() < wanted {
            entries.clear();
            self.spare_entries.push(entries);
        }
    }

    fn fail(&mut self, error: ImportError) {
        self.tally = None;
        self.pending = None;
        self.error = Some(error);
        self.done = true;
        self.pool = None;
    }

    /// Joins a parsed chunk to what came before it.
    fn merge(&mut self, mut parsed: ChunkResult) {
        self.chunks.recycle(std::mem::take(&mut parsed.buffer));
        if let (Some(Ok(tally)), Some(stats)) = (&mut self.tally, parsed.stats.take())
            && let Err(error) = tally.absorb(*stats)
        {
            self.tally = Some(Err(error));
        }
        match parsed.held.take() {
            Some(Held::Text(text)) => {
                self.lent.push_back(text);
                if self.lent.len() > LENT {
                    self.lent.pop_front();
                }
            }
            Some(Held::Bytes(bytes)) => self.chunks.recycle(bytes),
            None => {}
        }
        let offset = self.lines;
        let family = self.settings.family;
        for (line, text) in parsed.head {
            match &mut self.pending {
                Some(pending) => {
                    if pending.body.len() + text.len() + 1 > MAX_ENTRY_BYTES {
                        let line = pending.line;
                        return self.fail(ImportError::Invalid(format!(
                            "the message starting on line {line} is longer than {} MiB; this is not a WhatsApp chat export",
                            MAX_ENTRY_BYTES >> 20
                        )));
                    }
                    pending.multiline = true;
                    pending.body.push_line(&text);
                }
                None => {
                    let text = text.trim_start_matches('\u{FEFF}');
                    if !text.trim().is_empty() {
                        self.front.push_back(Ok(Parsed::Unparsed(Unparsed {
                            line: offset + line,
                            text: text.to_owned(),
                        })));
                    }
                }
            }
        }
        if let Some(mut tail) = parsed.tail {
            if let Some(previous) = self.pending.take() {
                self.front
                    .push_back(Ok(Parsed::Entry(finish(family, previous, false))));
            }
            let done = std::mem::replace(&mut self.entries, parsed.entries.into());
            self.recycle_entries(done.into());
            self.offset = offset;
            tail.line += offset;
            self.pending = Some(tail);
        } else {
            self.recycle_entries(parsed.entries);
        }
        if let Some(year) = parsed.last_year {
            self.last_year = year;
        }
        self.lines += parsed.lines;
        if let Some(line) = parsed.overlong_at {
            return self.fail(ImportError::LineTooLong {
                line: offset + line,
                limit: MAX_LINE_BYTES,
            });
        }
        if parsed.overlong_after {
            self.fail(ImportError::LineTooLong {
                line: self.lines + 1,
                limit: MAX_LINE_BYTES,
            });
        }
    }

    /// Takes the next chunk's result (or ends the text), filling `out`.
    fn step(&mut self) {
        self.feed();
        let outcome = match self.pool.as_mut() {
            Some(pool) if pool.in_flight() > 0 => pool.take(),
            _ => {
                self.done = true;
                if let Some(error) = self.read_error.take() {
                    return self.fail(error);
                }
                if let Some(pending) = self.pending.take() {
                    self.front.push_back(Ok(Parsed::Entry(finish(
                        self.settings.family,
                        pending,
                        true,
                    ))));
                }
                return;
            }
        };
        match outcome {
            Some(Outcome::Parsed(parsed)) => self.merge(parsed),
            Some(Outcome::NeedsYear(chunk)) => {
                let entries = self.spare_entries.pop().unwrap_or_default();
                match self.inline.parse(&chunk, Some(self.last_year), entries) {
                    Some(mut parsed) => {
                        parsed.held = Some(chunk.held);
                        self.merge(parsed);
                    }
                    None => self.fail(ImportError::Invalid(
                        "a date without a year could not be read".to_owned(),
                    )),
                }
            }
            None => self.fail(ImportError::Invalid(
                "the parser stopped unexpectedly; please report this file".to_owned(),
            )),
        }
    }
}

impl<R: BufRead> Iterator for Parser<R> {
    type Item = Result<Parsed, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.front.pop_front() {
                return Some(item);
            }
            if let Some(mut entry) = self.entries.pop_front() {
                entry.line += self.offset;
                return Some(Ok(Parsed::Entry(entry)));
            }
            if let Some(error) = self.error.take() {
                return Some(Err(error));
            }
            if self.done {
                return None;
            }
            self.step();
        }
    }
}
