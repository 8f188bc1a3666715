//! The types the import stages pass to each other. Every field is plain data: the parser fills
//! them, the report counts them, `apply` stores them.

use std::sync::Arc;

use serde::Serialize;
use time::PrimitiveDateTime;
use ts_rs::TS;

#[cfg(test)]
mod tests;

/// Which app wrote the export (`whatsapp-format.md` §0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export, rename = "ImportFormat")]
pub enum Family {
    /// `DATE, TIME - Author: text`
    Android,
    /// `[DATE, TIME] Author: text`
    Ios,
    /// `DATE, TIME: Author: text` (iPhone exports of 2015–2017)
    IosLegacy,
    /// `[M/D/YY, h:mm:ss AM] Author: text` (WhatsApp Web/Desktop, 2025–26)
    Web,
}

impl Family {
    /// The name used in reports and the CLI's JSON (`android`, `ios`, `ios-legacy`, `web`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Android => "android",
            Self::Ios => "ios",
            Self::IosLegacy => "ios-legacy",
            Self::Web => "web",
        }
    }
}

/// The order of the three date fields, decided once per file (§2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, TS)]
#[ts(export)]
pub enum DateOrder {
    #[serde(rename = "dmy")]
    DayMonthYear,
    #[serde(rename = "mdy")]
    MonthDayYear,
    #[serde(rename = "ymd")]
    YearMonthDay,
}

impl DateOrder {
    /// `dmy`, `mdy` or `ymd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DayMonthYear => "dmy",
            Self::MonthDayYear => "mdy",
            Self::YearMonthDay => "ymd",
        }
    }
}

/// How the date order was decided, strongest first (§2.2). Anything from `Ordering` down is a
/// guess the UI shows with the override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export)]
pub enum DateOrderBasis {
    /// Given by the user.
    Override,
    /// Fixed by the family (WhatsApp Web is always M/D/YY) or a year-first date.
    Format,
    /// A field greater than 12 was seen.
    FieldAbove12,
    /// The reading with fewer backward jumps between consecutive messages.
    Ordering,
    /// The field that changes more often is the day.
    ChangeFrequency,
    /// Locale hints (US 12 h, dotted dates…).
    LocaleHint,
    /// Nothing decided it: day-first, as other parsers do.
    Default,
}

/// What [`super::detect`] decided about a file, before parsing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    pub family: Family,
    pub date_order: DateOrder,
    pub date_order_basis: DateOrderBasis,
    /// Days above 12 appear in both the first and the second field (two exports joined):
    /// the report warns about it.
    pub date_order_inconsistent: bool,
    /// 12-hour clock with AM/PM markers.
    pub hour12: bool,
    /// Records end with CRLF and bare LF is a line break inside a body (iOS, §3.1).
    pub crlf_records: bool,
    /// Header lines that matched the chosen family during detection.
    pub header_lines: u64,
}

/// One message or event of the export, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1-based number of the physical line the entry starts on.
    pub line: u64,
    /// The exporting device's wall-clock time; exports carry no time zone.
    #[serde(with = "local_rfc3339")]
    pub timestamp: PrimitiveDateTime,
    /// The author as written (invisible marks stripped, `~` push-name prefix removed, phone
    /// numbers with normal spaces). `None` for authorless system events. Shared: a chat has a
    /// few authors writing thousands of messages each.
    pub author: Option<std::sync::Arc<str>>,
    /// The text: the message body with its continuation lines (blank lines kept), a media
    /// caption, or the system event's text. Markers the kind already says (`<Media omitted>`,
    /// `(file attached)`, ` <This message was edited>`, `POLL:` lines…) are removed.
    pub body: Body,
    pub kind: EntryKind,
    /// The media file name the entry refers to (`IMG-20220323-WA0002.jpg`,
    /// `00000042-PHOTO-2021-02-14-09-05-12.jpg`), as written.
    pub attachment: Option<String>,
    /// The message carried WhatsApp's "this message was edited" marker.
    pub edited: bool,
}

/// An entry's text. Most bodies are a range of the chunk of the export they were read from,
/// shared with the other entries of that chunk (no allocation of their own: a million messages
/// cost a million allocations less, on the parser's threads, and as many frees on the
/// consumer's); the rest own their string (a body joined across a chunk's cut, rewritten by the
/// classification, read from invalid UTF-8, or built by hand). It reads as a `str`; two bodies
/// are equal when their texts are.
#[derive(Clone, Default)]
pub struct Body(BodyText);

#[derive(Clone)]
enum BodyText {
    /// `text[start..end]`, on character boundaries.
    Shared {
        text: Arc<String>,
        start: usize,
        end: usize,
    },
    Own(String),
}

impl Default for BodyText {
    fn default() -> Self {
        Self::Own(String::new())
    }
}

impl Body {
    /// `text[range]`, sharing `text`; an owned copy if the range is not on character
    /// boundaries (never the case for ranges the parser finds).
    pub(crate) fn shared(text: &Arc<String>, range: std::ops::Range<usize>) -> Self {
        if text.get(range.clone()).is_none() {
            return Self::default();
        }
        Self(BodyText::Shared {
            text: Arc::clone(text),
            start: range.start,
            end: range.end,
        })
    }

    /// Whether the body is a range of a chunk's text (for tests).
    #[cfg(test)]
    pub(crate) fn is_shared(&self) -> bool {
        matches!(self.0, BodyText::Shared { .. })
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            BodyText::Shared { text, start, end } => text.get(*start..*end).unwrap_or_default(),
            BodyText::Own(own) => own,
        }
    }

    /// Keeps the first `len` bytes (a character boundary, as [`String::truncate`] wants).
    pub(crate) fn truncate(&mut self, len: usize) {
        match &mut self.0 {
            BodyText::Shared { start, end, .. } => *end = (*start + len).min(*end),
            BodyText::Own(own) => own.truncate(len),
        }
    }

    /// Makes a shared body reach to `line_end` when it ends in `text` right before a single
    /// `\n` and its next line starts at `line_start`: the body, the `\n` and that line, as
    /// [`Self::push_line`] would join them. Whether it did.
    pub(crate) fn extend_over(
        &mut self,
        text: &Arc<String>,
        line_start: usize,
        line_end: usize,
    ) -> bool {
        match &mut self.0 {
            BodyText::Shared { text: own, end, .. }
                if Arc::ptr_eq(own, text)
                    && *end + 1 == line_start
                    && text.as_bytes().get(*end) == Some(&b'\n')
                    && text.is_char_boundary(line_end) =>
            {
                *end = line_end;
                true
            }
            _ => false,
        }
    }

    /// Adds `\n` and `line` (the body becomes a string of its own).
    pub(crate) fn push_line(&mut self, line: &str) {
        let mut own = match std::mem::take(self).0 {
            BodyText::Own(own) => own,
            shared @ BodyText::Shared { .. } => {
                let text = Body(shared);
                let mut own = String::with_capacity(text.len() + 1 + line.len());
                own.push_str(&text);
                own
            }
        };
        own.push('\n');
        own.push_str(line);
        self.0 = BodyText::Own(own);
    }

    pub fn into_string(self) -> String {
        match self.0 {
            BodyText::Own(own) => own,
            BodyText::Shared { .. } => self.as_str().to_owned(),
        }
    }
}

impl std::ops::Deref for Body {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Body {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Self(BodyText::Own(text))
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Self {
        Self(BodyText::Own(text.to_owned()))
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Body {}

impl PartialEq<str> for Body {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Body {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Body {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What an entry is. `Text` with an empty body is a message that had no content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EntryKind {
    Text,
    /// A system event (joined, left, added, subject changed, security code changed, end-to-end
    /// encryption notice…), with or without an author (iOS attributes some, §3.3).
    System {
        event: SystemEvent,
    },
    /// A media item: with `attachment` when the file is (said to be) in the export, without when
    /// the export left it out (`<Media omitted>`, `image omitted`).
    Media {
        media: MediaKind,
        omitted: bool,
    },
    /// "This message was deleted" and its variants.
    Deleted,
    /// A body that is literally `null` (view-once media on Android) or a view-once notice.
    ViewOnce,
    /// "Waiting for this message" (could not be decrypted on the exporting phone).
    Waiting,
    /// Boxed, as the poll: the rare kinds with the most fields would otherwise make every
    /// entry larger (an entry is moved between threads a million times in a big import).
    Location(Box<Place>),
    LiveLocation,
    /// A contact card (`Name.vcf (file attached)`, `Contact card omitted`, `Contact: NAME`).
    Contact {
        name: Option<String>,
    },
    Poll(Box<Poll>),
    /// A missed or finished call line.
    Call,
}

/// The system events the report distinguishes; everything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SystemEvent {
    Encryption,
    Created,
    Added,
    Removed,
    Joined,
    Left,
    SubjectChanged,
    IconChanged,
    DescriptionChanged,
    SecurityCodeChanged,
    NumberChanged,
    Admin,
    SettingsChanged,
    DisappearingMessages,
    Business,
    Other,
}

/// The kind of a media item, from its placeholder or its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    VoiceNote,
    VideoNote,
    Sticker,
    Gif,
    Document,
    /// `<Media omitted>` says nothing more.
    Unknown,
}

/// Where a location message points: the coordinates when the export gives them, and the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub url: Option<String>,
}

/// A poll as exported: the question and each option with its vote count when the export gives
/// one (mobile exports do, WhatsApp Web's do not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Poll {
    pub question: String,
    pub options: Vec<PollOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PollOption {
    pub text: String,
    pub votes: Option<u32>,
}

/// A physical line the parser could not place: text before the first header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, rename = "UnparsedLine")]
pub struct Unparsed {
    #[ts(type = "number")]
    pub line: u64,
    pub text: String,
}

/// What the parser yields, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Entry(Entry),
    Unparsed(Unparsed),
}

/// Local timestamps as RFC 3339 without an offset (`2021-02-14T09:05:00`).
mod local_rfc3339 {
    use serde::Serializer;
    use time::PrimitiveDateTime;
    use time::macros::format_description;

    pub fn serialize<S: Serializer>(
        value: &PrimitiveDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let text = value.format(format).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}
