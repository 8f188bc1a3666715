//! What a message body is (`whatsapp-format.md` §4): media placeholders and attachments,
//! deleted/edited/waiting/view-once notices, locations, contacts, calls, polls, attributed
//! system events. Runs once per entry on the assembled body; plain text leaves through a
//! first-byte gate without touching the phrase tables.

use std::borrow::Cow;

use super::super::model::{Body, EntryKind, Family, MediaKind, Place, SystemEvent};
use super::attachments::{angle_tail, file_attached, omitted_kind};
use super::header::is_mark;
use super::phrases::{self, ends_with_ci, eq_ci, starts_with_ci};
use super::polls::{mobile_poll, web_poll};

/// The body split into what the kind says and what is left of the text.
#[derive(Debug)]
pub(crate) struct Classified {
    pub kind: EntryKind,
    pub body: Body,
    pub attachment: Option<String>,
    pub edited: bool,
}

// Bits of [`LEAD_MASK`] and [`SECOND_MASK`]: the phrase lists.
const DELETED: u16 = 1;
const WAITING: u16 = 1 << 1;
const VIEW_ONCE: u16 = 1 << 2;
const LIVE: u16 = 1 << 3;
const LOCATION: u16 = 1 << 4;
const CALLS: u16 = 1 << 5;
const STRONG: u16 = 1 << 6;
pub(super) const OMITTED: u16 = 1 << 7;
const OTHER: u16 = 1 << 8;

/// The phrase lists the gates are built from, with their bits (`IOS_OMITTED`, a list of pairs
/// matched in either case, is added on its own).
pub(super) const LISTS: [(&[&str], u16); 10] = [
    (phrases::DELETED, DELETED),
    (phrases::DELETED_BY_ADMIN, DELETED),
    (phrases::WAITING, WAITING),
    (phrases::VIEW_ONCE, VIEW_ONCE),
    (phrases::LIVE_LOCATION, LIVE),
    (phrases::LOCATION_LABELS, LOCATION),
    (phrases::CALLS, CALLS),
    (phrases::STRONG_SYSTEM_PREFIXES, STRONG),
    (
        &[
            "POLL:",
            "Poll: ",
            "Contact: ",
            "[Call",
            "[System notification]",
            "GIF attached",
        ],
        OTHER,
    ),
    (&["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], OTHER),
];

/// For the byte at `place` (0 or 1) of a body, the phrase lists with an entry that has that
/// byte there. The first byte is compared as written (WhatsApp writes its texts with fixed
/// capitals), except for the iOS placeholders, compared in either ASCII case; the second in
/// either ASCII case, as the comparisons after the gate do. A non-ASCII second byte passes every
/// list (a mark there is dropped before the comparisons, so it may not be the compared text's),
/// and any second byte passes the lists with a one-byte phrase.
#[allow(clippy::indexing_slicing)] // evaluated at compile time: an out-of-range index is a build error
const fn gate_table(place: usize) -> [u16; 256] {
    let mut table = [0u16; 256];
    if place > 0 {
        let mut b = 0x80;
        while b < 256 {
            table[b] = u16::MAX;
            b += 1;
        }
    }
    // The lists, then the iOS placeholders (a list of pairs).
    let mut list = 0;
    while list <= LISTS.len() {
        let placeholders = list == LISTS.len();
        let (len, bit) = if placeholders {
            (phrases::IOS_OMITTED.len(), OMITTED)
        } else {
            (LISTS[list].0.len(), LISTS[list].1)
        };
        let mut i = 0;
        while i < len {
            let phrase = if placeholders {
                phrases::IOS_OMITTED[i].0.as_bytes()
            } else {
                LISTS[list].0[i].as_bytes()
            };
            if place >= phrase.len() {
                let mut b = 0;
                while b < 256 {
                    table[b] |= bit;
                    b += 1;
                }
            } else if place > 0 || placeholders {
                table[phrase[place].to_ascii_lowercase() as usize] |= bit;
                table[phrase[place].to_ascii_uppercase() as usize] |= bit;
            } else {
                table[phrase[place] as usize] |= bit;
            }
            i += 1;
        }
        list += 1;
    }
    table
}

/// For each first byte of a body, the phrase lists worth checking (WhatsApp writes its texts
/// with fixed capitals, so the gate is case-exact; the comparisons after it are not).
const LEAD_MASK: [u16; 256] = gate_table(0);

/// For each second byte of a body, the phrase lists worth checking ([`gate_table`]).
const SECOND_MASK: [u16; 256] = gate_table(1);

/// The length of the invisible mark ([`is_mark`]) whose UTF-8 bytes start at `at`, or 0:
/// U+061C is D8 9C, U+200B–U+200F E2 80 8B–8F, U+202A–U+202E E2 80 AA–AE, U+2066–U+2069
/// E2 81 A6–A9, U+FEFF EF BB BF.
fn mark_len(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at..) {
        Some(
            [0xE2, 0x80, 0x8B..=0x8F | 0xAA..=0xAE, ..]
            | [0xE2, 0x81, 0xA6..=0xA9, ..]
            | [0xEF, 0xBB, 0xBF, ..],
        ) => 3,
        Some([0xD8, 0x9C, ..]) => 2,
        _ => 0,
    }
}

/// Where marks may start: the lead bytes of their UTF-8 sequences.
fn mark_leads(bytes: &[u8]) -> memchr::Memchr3<'_> {
    memchr::memchr3_iter(0xE2, 0xEF, 0xD8, bytes)
}

/// `text` without its invisible marks. By bytes: a mark is a whole UTF-8 sequence, so the
/// pieces between marks are whole characters.
pub(super) fn strip_marks(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut from = 0;
    for at in mark_leads(bytes) {
        let len = mark_len(bytes, at);
        if len > 0 {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(text.get(from..at).unwrap_or_default());
            from = at + len;
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(text.get(from..).unwrap_or_default());
            Cow::Owned(out)
        }
    }
}

/// `’` read as `'` for the phrase tables (no copy when there is none).
fn plain_apostrophes(text: &str) -> Cow<'_, str> {
    if text.contains('’') {
        Cow::Owned(text.replace('’', "'"))
    } else {
        Cow::Borrowed(text)
    }
}

/// The phrase lists (bits) whose phrases may start `core`, a body's first line without its
/// leading marks: by its first byte (case-exact), and by its second (either ASCII case). Most
/// texts start with a byte some phrase starts with; far fewer with two.
pub(super) fn gate_mask(core: &str) -> u16 {
    let bytes = core.as_bytes();
    let at = |table: &[u16; 256], i: usize| {
        bytes.get(i).map_or(u16::MAX, |b| {
            table.get(usize::from(*b)).copied().unwrap_or(0)
        })
    };
    if bytes.is_empty() {
        return 0;
    }
    at(&LEAD_MASK, 0) & at(&SECOND_MASK, 1)
}

/// `body` without its invisible marks (itself when it has none).
fn without_marks(body: Body) -> Body {
    match strip_marks(&body) {
        Cow::Owned(stripped) => Body::from(stripped),
        Cow::Borrowed(_) => body,
    }
}

/// `head` and the continuation lines as one body.
pub(super) fn join(head: &str, rest: Option<&str>) -> Body {
    let head = head.trim();
    let joined = match rest {
        Some(rest) if head.is_empty() => rest.to_owned(),
        Some(rest) => {
            let mut body = String::with_capacity(head.len() + 1 + rest.len());
            body.push_str(head);
            body.push('\n');
            body.push_str(rest);
            body
        }
        None => head.to_owned(),
    };
    joined.into()
}

fn number_prefix(text: &str) -> Option<String> {
    let text = text.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(text.len());
    let number = text.get(..end)?;
    (!number.is_empty() && number.bytes().any(|b| b.is_ascii_digit())).then(|| number.to_owned())
}

/// A location from the text after its label (a maps URL with `q=LAT,LONG`).
fn location(text: &str) -> EntryKind {
    let url = text.find("http").map(|at| {
        let tail = text.get(at..).unwrap_or_default();
        tail.split(char::is_whitespace)
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let (mut latitude, mut longitude) = (None, None);
    if let Some(url) = &url
        && let Some(at) = url.find("q=").or_else(|| url.find("ll=").map(|a| a + 1))
        && let Some((lat, long)) = url.get(at + 2..).unwrap_or_default().split_once(',')
    {
        latitude = number_prefix(lat);
        longitude = number_prefix(long);
    }
    EntryKind::Location(Box::new(Place {
        latitude,
        longitude,
        url,
    }))
}

/// Removes the FSI/PDI pair WhatsApp puts around `@mentions` (`@{FSI}Savi{PDI}`).
fn strip_mention_isolates(body: Body) -> Body {
    // `@` then U+2068 (E2 81 A8): `@` is rare in message text, cheaper to look for than the
    // E2 lead byte that curly quotes and dashes share.
    let bytes = body.as_bytes();
    if !memchr::memchr_iter(b'@', bytes)
        .any(|at| bytes.get(at + 1..at + 4) == Some(&[0xE2, 0x81, 0xA8]))
    {
        return body;
    }
    let mut out = String::with_capacity(body.len());
    let mut open = 0usize;
    let mut previous = '\0';
    for c in body.chars() {
        match c {
            '\u{2068}' if previous == '@' => open += 1,
            '\u{2069}' if open > 0 => open -= 1,
            _ => out.push(c),
        }
        previous = c;
    }
    out.into()
}

/// The edited marker at the end of the body: the body without it, and whether it was there.
fn strip_edited(body: &mut Body) -> bool {
    let trimmed = body.trim_end();
    if !trimmed.ends_with('>') {
        return false;
    }
    let Some(marker) = phrases::EDITED.iter().find(|m| ends_with_ci(trimmed, m)) else {
        return false;
    };
    let keep = trimmed.len() - marker.len();
    let keep = body
        .get(..keep)
        .unwrap_or_default()
        .trim_end_matches(|c: char| c == ' ' || is_mark(c))
        .len();
    body.truncate(keep);
    true
}

/// Classifies an authorless line (Android/legacy/iOS system events, Web `] - ` lines).
pub(crate) fn classify_authorless(body: Body) -> Classified {
    let text = without_marks(body);
    let matching = plain_apostrophes(&text);
    let first = matching
        .split('\n')
        .next()
        .unwrap_or_default()
        .trim_end_matches(['.', ' ']);
    let kind = if phrases::CALL_SUFFIXES
        .iter()
        .any(|s| ends_with_ci(first, s))
    {
        EntryKind::Call
    } else {
        EntryKind::System {
            event: phrases::system_event(&matching).unwrap_or(SystemEvent::Other),
        }
    };
    Classified {
        kind,
        body: text,
        attachment: None,
        edited: false,
    }
}

/// [`classify_lines`], finding out whether the body has more than one line (for tests).
#[cfg(test)]
pub(crate) fn classify(family: Family, body: String, marked: bool) -> Classified {
    let multiline = memchr::memchr(b'\n', body.as_bytes()).is_some();
    classify_lines(family, body.into(), marked, multiline)
}

/// Classifies an authored body. `marked`: the header line started with a mark (iOS puts LRM
/// before generated texts). `multiline`: the body may hold a `\n` (`false`: it holds none, and
/// is not searched for one).
pub(crate) fn classify_lines(
    family: Family,
    body: Body,
    marked: bool,
    multiline: bool,
) -> Classified {
    let mut body = body;
    let edited = strip_edited(&mut body);
    let mut out = classify_inner(family, body, marked, multiline);
    out.edited = edited;
    out
}

fn classify_inner(family: Family, body: Body, marked: bool, multiline: bool) -> Classified {
    let text = |body: Body| Classified {
        kind: EntryKind::Text,
        body: strip_mention_isolates(body),
        attachment: None,
        edited: false,
    };
    if body == "null" {
        return Classified {
            kind: EntryKind::ViewOnce,
            body: Body::default(),
            attachment: None,
            edited: false,
        };
    }
    // memchr: cheaper than a char search on the short bodies most messages are.
    let newline = if multiline {
        memchr::memchr(b'\n', body.as_bytes())
    } else {
        None
    };
    let (first, rest) = match newline {
        Some(at) => (
            body.get(..at).unwrap_or_default(),
            Some(body.get(at + 1..).unwrap_or_default()),
        ),
        None => (body.as_str(), None),
    };
    let core = first.trim_start_matches(is_mark);
    let marked = marked || core.len() != first.len();
    let Some(&lead) = core.as_bytes().first() else {
        return text(body);
    };

    if lead == b'<'
        && let Some((marker, media)) = phrases::ANGLE_OMITTED
            .iter()
            .find(|(m, _)| starts_with_ci(core, m))
    {
        let caption = core.get(marker.len()..).unwrap_or_default();
        return Classified {
            kind: EntryKind::Media {
                media: *media,
                omitted: true,
            },
            body: join(caption, rest),
            attachment: None,
            edited: false,
        };
    }
    if first.trim_end().ends_with('>')
        && let Some(found) = angle_tail(first, rest)
    {
        return found;
    }
    if memchr::memchr(b'(', first.as_bytes()).is_some() {
        if let Some(found) = file_attached(first, rest) {
            return found;
        }
        // iOS places: `Name (City): https://foursquare.com/v/…`
        let line = first.trim_matches(|c: char| c == ' ' || is_mark(c));
        if let Some(url_at) = line.find("https://foursquare.com/")
            && let Some(place) = line.get(..url_at).and_then(|p| p.strip_suffix(": "))
        {
            let url = line.get(url_at..).unwrap_or_default().to_owned();
            let kind = EntryKind::Location(Box::new(Place {
                latitude: None,
                longitude: None,
                url: Some(url),
            }));
            return Classified {
                kind,
                body: join(place, rest),
                attachment: None,
                edited: false,
            };
        }
    }
    let mask = if marked { u16::MAX } else { gate_mask(core) };
    if mask == 0 {
        return text(body);
    }
    let gate = |bit: u16| mask & bit != 0;

    let stripped = strip_marks(core);
    let line = stripped.trim();
    let plain = line.trim_end_matches('.');
    // iOS typed placeholders
    if gate(OMITTED)
        && line.len() <= phrases::IOS_OMITTED_MAX
        && let Some((_, omitted)) = phrases::IOS_OMITTED.iter().find(|(p, _)| eq_ci(line, p))
    {
        return Classified {
            kind: omitted_kind(*omitted),
            body: join("", rest),
            attachment: None,
            edited: false,
        };
    }
    if marked {
        // `Report.pdf • {LRM}2 pages {LRM}document omitted`
        for (phrase, omitted) in phrases::IOS_OMITTED {
            if line.len() > phrase.len() && ends_with_ci(line, phrase) {
                let prefix = line.get(..line.len() - phrase.len()).unwrap_or_default();
                if prefix.ends_with(' ') {
                    return Classified {
                        kind: omitted_kind(*omitted),
                        body: join(prefix, rest),
                        attachment: None,
                        edited: false,
                    };
                }
            }
        }
    }
    let generated = |kind: EntryKind, body: Body| Classified {
        kind,
        body,
        attachment: None,
        edited: false,
    };
    if gate(DELETED)
        && (phrases::DELETED.iter().any(|p| eq_ci(plain, p))
            || phrases::DELETED_BY_ADMIN
                .iter()
                .any(|p| starts_with_ci(line, p)))
    {
        return generated(EntryKind::Deleted, join("", rest));
    }
    if gate(WAITING) && phrases::WAITING.iter().any(|p| starts_with_ci(line, p)) {
        return generated(EntryKind::Waiting, join("", rest));
    }
    if gate(VIEW_ONCE) && phrases::VIEW_ONCE.iter().any(|p| starts_with_ci(line, p)) {
        return generated(EntryKind::ViewOnce, join("", rest));
    }
    if gate(LIVE) && phrases::LIVE_LOCATION.iter().any(|p| eq_ci(plain, p)) {
        return generated(EntryKind::LiveLocation, join("", rest));
    }
    if let Some(label) = phrases::LOCATION_LABELS
        .iter()
        .find(|p| gate(LOCATION) && starts_with_ci(line, p))
    {
        let value = line.get(label.len()..).unwrap_or_default();
        if value.contains("http") || number_prefix(value).is_some() {
            return generated(location(value), join("", rest));
        }
    }
    if (gate(CALLS)
        && phrases::CALLS.iter().any(|p| {
            eq_ci(plain, p)
                || (starts_with_ci(line, p) && line.as_bytes().get(p.len()) == Some(&b'.'))
        }))
        || line.starts_with("[Call:")
        || line == "[Call]"
    {
        return generated(EntryKind::Call, join(line, rest));
    }
    if line == "POLL:" {
        return mobile_poll(rest);
    }
    if family == Family::Web {
        if let Some(question) = line.strip_prefix("Poll: ") {
            return web_poll(question, rest);
        }
        if let Some(name) = line.strip_prefix("Contact: ") {
            return generated(
                EntryKind::Contact {
                    name: Some(name.trim().to_owned()),
                },
                join("", rest),
            );
        }
        if line.ends_with(" contacts shared") && number_prefix(line).is_some() {
            return generated(EntryKind::Contact { name: None }, join(line, rest));
        }
        if line == "[System notification]" {
            return generated(
                EntryKind::System {
                    event: SystemEvent::Other,
                },
                join("", rest),
            );
        }
        if line == "GIF attached" {
            return generated(
                EntryKind::Media {
                    media: MediaKind::Gif,
                    omitted: false,
                },
                join("", rest),
            );
        }
    }
    if marked
        || (gate(STRONG)
            && phrases::STRONG_SYSTEM_PREFIXES
                .iter()
                .any(|p| starts_with_ci(line, p)))
    {
        let stripped = strip_marks(&body);
        if let Some(event) = phrases::system_event(&plain_apostrophes(&stripped)) {
            let text = match stripped {
                Cow::Owned(stripped) => Body::from(stripped),
                Cow::Borrowed(_) => body,
            };
            return generated(EntryKind::System { event }, text);
        }
    }
    text(body)
}

/// Android three-line places: checked on the whole body, since the URL is on the last line.
pub(crate) fn android_place(out: Classified) -> Classified {
    // Cheap test first: the last line is a Foursquare link.
    let last_line = out.body.rsplit('\n').next().unwrap_or_default();
    if out.kind != EntryKind::Text || !last_line.starts_with("https://foursquare.com/") {
        return out;
    }
    let lines: Vec<&str> = out.body.split('\n').collect();
    match lines.as_slice() {
        [name, address, url]
            if url.starts_with("https://foursquare.com/")
                && !name.is_empty()
                && !address.is_empty() =>
        {
            let url = (*url).to_owned();
            let body = format!("{name}\n{address}");
            Classified {
                kind: EntryKind::Location(Box::new(Place {
                    latitude: None,
                    longitude: None,
                    url: Some(url),
                })),
                body: body.into(),
                ..out
            }
        }
        _ => out,
    }
}
