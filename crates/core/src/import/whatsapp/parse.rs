//! The streaming parser: physical lines in, [`Parsed`] items out, one entry behind (an entry is
//! complete when the next header or the end arrives). Memory is one line buffer plus the entry
//! being built, whatever the file's size.
//!
//! Per line: a byte check (a header starts with a digit, `[` or a mark), then the hand-written
//! header scanner of [`header`], family locking (§1.8: only the detected family's shape starts
//! an entry), date validation under the file's field order (an impossible date is a
//! continuation line), and in CRLF files (iOS, §3.1) only a line after a CRLF can be a header.

mod attachments;
mod body;
pub(crate) mod header;
pub(crate) mod lines;
mod phrases;
mod polls;
#[cfg(test)]
mod tests;
pub(crate) mod timestamp;

use std::collections::HashMap;
use std::io::BufRead;

use time::PrimitiveDateTime;

use super::ImportError;
use super::model::{DateOrder, Detection, Entry, Family, Parsed, Unparsed};
use header::{Shape, is_mark, is_space};
use lines::{Ending, LineReader};

/// The longest physical line accepted (1 MiB). Real message lines are far shorter; a longer
/// line means the file is not an export, and the cap bounds memory on hostile input.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The longest entry (header line plus continuation lines) kept in memory: 16 MiB. A message
/// this long is not something WhatsApp exports; the cap keeps a hostile file with one header
/// and gigabytes of short lines from growing one body without bound.
pub const MAX_ENTRY_BYTES: usize = 16 << 20;

/// Streams the entries of an export. Build it with the [`Detection`] of the same bytes.
pub struct Parser<R> {
    lines: LineReader<R>,
    family: Family,
    order: DateOrder,
    per_line: bool,
    crlf_records: bool,
    previous: Option<Ending>,
    pending: Option<Pending>,
    /// For dates written without a year (Android 2013–14, A21): the last year seen.
    last_year: i32,
    /// Authors as written and as normalised: a chat has a few authors writing thousands of
    /// messages each, and a name with marks or a phone number costs a pass over its
    /// characters. Emptied when it reaches [`AUTHORS_CACHED`] (bounded on hostile input).
    authors: HashMap<Box<str>, String>,
    done: bool,
}

/// Distinct raw author names kept by [`cached_author`].
const AUTHORS_CACHED: usize = 1024;

/// An entry whose continuation lines may still come.
struct Pending {
    line: u64,
    timestamp: PrimitiveDateTime,
    author: Option<String>,
    body: String,
    marked: bool,
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

fn has_quote(text: &str) -> bool {
    memchr::memchr2(b'"', b'\'', text.as_bytes()).is_some()
        || (!text.is_ascii() && text.contains(['“', '”', '«', '„', '‘', '’']))
}

/// The first `": "` (memchr on the colon: cheaper than a substring search on short lines).
fn find_colon_space(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b':', bytes).find(|at| bytes.get(at + 1) == Some(&b' '))
}

/// Splits `Author: body`. `None` author: a system event (§3.2), or a Web `] - ` line.
fn split_author(rest: &str, shape: Shape) -> (Option<&str>, &str) {
    if shape == Shape::BracketDash {
        return (None, rest);
    }
    if let Some(at) = find_colon_space(rest) {
        let candidate = rest.get(..at).unwrap_or_default();
        // `Tom changed the subject to "Trip: day 1"` is an event, not `Tom changed…` writing.
        let suspicious = has_quote(candidate) || candidate.len() > 40;
        let event_before =
            suspicious && phrases::system_phrase_start(rest).is_some_and(|start| start < at);
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
    // Marks are never ASCII: an ASCII name needs no copy to strip them.
    let stripped: std::borrow::Cow<'_, str> = if raw.is_ascii() {
        std::borrow::Cow::Borrowed(raw)
    } else {
        std::borrow::Cow::Owned(raw.chars().filter(|c| !is_mark(*c)).collect())
    };
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
fn cached_author(authors: &mut HashMap<Box<str>, String>, raw: &str) -> String {
    if let Some(name) = authors.get(raw) {
        return name.clone();
    }
    let name = normalize_author(raw);
    if authors.len() >= AUTHORS_CACHED {
        authors.clear();
    }
    authors.insert(raw.into(), name.clone());
    name
}

impl<R: BufRead> Parser<R> {
    /// A parser for `reader`, which must yield the same bytes [`super::detect`] saw.
    pub fn new(reader: R, detection: &Detection) -> Self {
        Self {
            lines: LineReader::new(reader),
            family: detection.family,
            order: detection.date_order,
            per_line: detection.date_order_inconsistent,
            crlf_records: detection.crlf_records,
            previous: None,
            pending: None,
            last_year: time::OffsetDateTime::now_utc().year(),
            authors: HashMap::new(),
            done: false,
        }
    }

    fn finish(&self, pending: Pending, at_end: bool) -> Entry {
        let Pending {
            line,
            timestamp,
            author,
            mut body,
            marked,
        } = pending;
        if at_end {
            let keep = body.trim_end_matches(['\n', '\r']).len();
            body.truncate(keep);
        }
        let classified = match &author {
            None => body::classify_authorless(body),
            Some(_) => {
                let classified = body::classify(self.family, body, marked);
                if self.family == Family::Android {
                    // Places span three lines; single-line bodies skip the check.
                    if memchr::memchr(b'\n', classified.body.as_bytes()).is_some() {
                        body::android_place(classified)
                    } else {
                        classified
                    }
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
}

impl<R: BufRead> Iterator for Parser<R> {
    type Item = Result<Parsed, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let ending = match self.lines.next_line() {
                Ok(Some(ending)) => ending,
                Ok(None) => {
                    self.done = true;
                    let pending = self.pending.take()?;
                    return Some(Ok(Parsed::Entry(self.finish(pending, true))));
                }
                Err(error) => {
                    self.done = true;
                    self.pending = None;
                    return Some(Err(error));
                }
            };
            let previous = self.previous.replace(ending);
            let may_be_header = header::may_start_header(self.lines.bytes())
                && (!self.crlf_records
                    || matches!(previous, None | Some(Ending::CrLf | Ending::Cr)));
            let text = self.lines.text();
            let line_number = self.lines.line();
            let found = if may_be_header {
                header::header(&text)
            } else {
                None
            };
            let started = found
                .filter(|h| accepts(self.family, h.shape))
                .and_then(|h| {
                    let timestamp = h.timestamp(self.order, self.per_line, self.last_year)?;
                    Some((h, timestamp))
                });
            if let Some((h, timestamp)) = started {
                if !matches!(h.date, header::DateFields::Named { year: None, .. }) {
                    self.last_year = timestamp.year();
                }
                let rest = text.get(h.rest..).unwrap_or_default();
                let (author, body) = split_author(rest, h.shape);
                let pending = Pending {
                    line: line_number,
                    timestamp,
                    author: author.map(|raw| cached_author(&mut self.authors, raw)),
                    body: body.to_owned(),
                    marked: h.leading_mark,
                };
                if let Some(previous) = self.pending.replace(pending) {
                    return Some(Ok(Parsed::Entry(self.finish(previous, false))));
                }
                continue;
            }
            match &mut self.pending {
                Some(pending) => {
                    if pending.body.len() + text.len() + 1 > MAX_ENTRY_BYTES {
                        let line = pending.line;
                        self.done = true;
                        self.pending = None;
                        return Some(Err(ImportError::Invalid(format!(
                            "the message starting on line {line} is longer than {} MiB; this is not a WhatsApp chat export",
                            MAX_ENTRY_BYTES >> 20
                        ))));
                    }
                    pending.body.push('\n');
                    pending.body.push_str(&text);
                }
                None => {
                    let line = text.trim_start_matches('\u{FEFF}');
                    if !line.trim().is_empty() {
                        return Some(Ok(Parsed::Unparsed(Unparsed {
                            line: line_number,
                            text: line.to_owned(),
                        })));
                    }
                }
            }
        }
    }
}
