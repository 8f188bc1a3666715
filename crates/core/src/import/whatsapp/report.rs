//! The counts shown before and after an import: format, date order, messages, system events,
//! media found and missing, participants, date range, lines not understood and warnings.
//!
//! Built streaming with [`ReportBuilder`]: one entry at a time, keeping only counts, the set of
//! authors and a capped list of unparsed lines, so a file of a million messages never sits in
//! memory.

use std::collections::BTreeSet;

use serde::{Serialize, Serializer};
use time::PrimitiveDateTime;
use time::macros::format_description;
use ts_rs::TS;

use crate::messages::MessageKind;

use super::model::{
    DateOrder, DateOrderBasis, Detection, Entry, EntryKind, Family, Parsed, SystemEvent, Unparsed,
};

#[cfg(test)]
mod tests;

/// How many unparsed lines a report lists (the total is always counted).
pub const MAX_UNPARSED_LISTED: usize = 100;
/// How many entries a [`Preview`] shows.
pub const PREVIEW_ENTRIES: usize = 20;

/// The media files an export carries, by the name its messages use.
pub trait MediaFiles {
    /// Whether the export holds the file `name`.
    fn has_media(&self, name: &str) -> bool;
    /// The bytes of `name`, `None` when the export does not hold it.
    fn read_media(&self, name: &str) -> Result<Option<Vec<u8>>, super::ImportError>;
}

/// Something the user should know before trusting the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "kebab-case")]
#[ts(export, rename = "ImportWarning")]
pub enum Warning {
    /// Days above 12 appear in both date fields: two exports with different orders joined.
    InconsistentDateOrder,
    /// The date order was guessed (not fixed by the format, a day above 12 or the user).
    DateOrderGuessed,
    /// Some messages are dated before the message above them.
    NotChronological,
    /// Some lines could not be placed in any message.
    UnparsedLines,
}

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, rename = "ImportReport")]
pub struct Report {
    /// The family of the export (`android`, `ios`, `ios-legacy`, `web`).
    pub format: Family,
    /// The date field order (`dmy`, `mdy`, `ymd`).
    pub date_order: DateOrder,
    /// How the date order was decided.
    pub date_order_basis: DateOrderBasis,
    /// Decided by a heuristic (every date fits more than one order): the user should check it.
    pub date_order_guessed: bool,
    /// 12-hour clock with AM/PM markers.
    pub hour12: bool,
    /// Authored messages: entries with an author that are not system events.
    #[ts(type = "number")]
    pub messages: u64,
    /// System events, with or without an author.
    #[ts(type = "number")]
    pub system: u64,
    /// Entries that are neither: no author and not a system event.
    #[ts(type = "number")]
    pub other: u64,
    /// Media entries (a media item, or any entry naming an attached file).
    #[ts(type = "number")]
    pub media: u64,
    /// Media entries whose file the export holds.
    #[ts(type = "number")]
    pub media_found: u64,
    /// Media entries whose file the export does not hold (omitted or missing).
    #[ts(type = "number")]
    pub media_missing: u64,
    /// Distinct authors, sorted (not a group's name that iOS writes as an event's author).
    pub participants: Vec<String>,
    /// The earliest timestamp (the export's wall-clock time, RFC 3339 without an offset).
    #[serde(serialize_with = "local_opt")]
    #[ts(type = "string | null")]
    pub first: Option<PrimitiveDateTime>,
    /// The latest timestamp.
    #[serde(serialize_with = "local_opt")]
    #[ts(type = "string | null")]
    pub last: Option<PrimitiveDateTime>,
    /// The first [`MAX_UNPARSED_LISTED`] lines not understood, with their line numbers.
    pub unparsed_lines: Vec<Unparsed>,
    /// How many lines were not understood in all.
    #[ts(type = "number")]
    pub unparsed_total: u64,
    /// What to check before trusting the counts.
    pub warnings: Vec<Warning>,
}

impl Report {
    /// Every entry, messages and events.
    pub fn entries(&self) -> u64 {
        self.messages + self.system + self.other
    }
}

/// Builds a [`Report`] one parsed item at a time.
pub struct ReportBuilder<'a> {
    media_files: &'a dyn MediaFiles,
    messages: u64,
    system: u64,
    other: u64,
    media: u64,
    media_found: u64,
    participants: BTreeSet<String>,
    first: Option<PrimitiveDateTime>,
    last: Option<PrimitiveDateTime>,
    previous: Option<PrimitiveDateTime>,
    backwards: bool,
    unparsed: Vec<Unparsed>,
    unparsed_total: u64,
}

impl<'a> ReportBuilder<'a> {
    /// A report of a file whose media are in `media_files`.
    pub fn new(media_files: &'a dyn MediaFiles) -> Self {
        ReportBuilder {
            media_files,
            messages: 0,
            system: 0,
            other: 0,
            media: 0,
            media_found: 0,
            participants: BTreeSet::new(),
            first: None,
            last: None,
            previous: None,
            backwards: false,
            unparsed: Vec::new(),
            unparsed_total: 0,
        }
    }

    /// Counts one item the parser yielded.
    pub fn add(&mut self, parsed: &Parsed) {
        match parsed {
            Parsed::Entry(entry) => self.add_entry(entry),
            Parsed::Unparsed(line) => {
                self.unparsed_total += 1;
                if self.unparsed.len() < MAX_UNPARSED_LISTED {
                    self.unparsed.push(line.clone());
                }
            }
        }
    }

    /// Counts one entry.
    pub fn add_entry(&mut self, entry: &Entry) {
        match (&entry.kind, &entry.author) {
            (EntryKind::System { .. }, _) => self.system += 1,
            (_, Some(_)) => self.messages += 1,
            (_, None) => self.other += 1,
        }
        // iOS attributes the encryption notice and the group's creation to the group's name,
        // which is not a person; other attributed events name who did them.
        if let Some(author) = entry.author.as_deref()
            && !matches!(
                entry.kind,
                EntryKind::System {
                    event: SystemEvent::Encryption | SystemEvent::Created
                }
            )
            && !self.participants.contains(author)
        {
            self.participants.insert(author.to_owned());
        }
        if is_media(entry) {
            self.media += 1;
            if let Some(name) = &entry.attachment
                && self.media_files.has_media(name)
            {
                self.media_found += 1;
            }
        }
        let t = entry.timestamp;
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
        if self.previous.is_some_and(|p| t < p) {
            self.backwards = true;
        }
        self.previous = Some(t);
    }

    /// The report of the file `detection` describes.
    pub fn finish(self, detection: &Detection) -> Report {
        let d = detection;
        let mut warnings = Vec::new();
        if d.date_order_inconsistent {
            warnings.push(Warning::InconsistentDateOrder);
        }
        let guessed = matches!(
            d.date_order_basis,
            DateOrderBasis::Ordering
                | DateOrderBasis::ChangeFrequency
                | DateOrderBasis::LocaleHint
                | DateOrderBasis::Default
        );
        if guessed {
            warnings.push(Warning::DateOrderGuessed);
        }
        if self.backwards {
            warnings.push(Warning::NotChronological);
        }
        if self.unparsed_total > 0 {
            warnings.push(Warning::UnparsedLines);
        }
        Report {
            format: d.family,
            date_order: d.date_order,
            date_order_basis: d.date_order_basis,
            date_order_guessed: guessed,
            hour12: d.hour12,
            messages: self.messages,
            system: self.system,
            media: self.media,
            media_found: self.media_found,
            media_missing: self.media - self.media_found,
            participants: self.participants.into_iter().collect(),
            first: self.first,
            last: self.last,
            unparsed_lines: self.unparsed,
            unparsed_total: self.unparsed_total,
            other: self.other,
            warnings,
        }
    }
}

/// An entry that is (or carries) a media file.
pub(crate) fn is_media(entry: &Entry) -> bool {
    matches!(entry.kind, EntryKind::Media { .. }) || entry.attachment.is_some()
}

/// What the import wizard shows before importing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "ImportPreviewCounts")]
pub struct Preview {
    /// The counts.
    pub report: Report,
    /// The first [`PREVIEW_ENTRIES`] entries, in file order.
    pub entries: Vec<PreviewEntry>,
    /// The chat's title from the export's file name (`WhatsApp Chat with NAME`), if it has one.
    pub chat_title: Option<String>,
    /// The participant who is probably this account's user, if the file tells.
    pub guessed_me: Option<String>,
}

/// One of the first entries of the file, as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct PreviewEntry {
    /// The line it starts on.
    #[ts(type = "number")]
    pub line: u64,
    /// The export's wall-clock time, RFC 3339 without an offset.
    pub timestamp: String,
    /// The author as written; `None` for authorless events.
    pub author: Option<String>,
    /// The text.
    pub body: String,
    /// What it is ([`kind_tag`]).
    #[ts(as = "MessageKind")]
    pub kind: &'static str,
    /// The media file it names.
    pub attachment: Option<String>,
}

impl From<&Entry> for PreviewEntry {
    fn from(e: &Entry) -> Self {
        PreviewEntry {
            line: e.line,
            timestamp: local_rfc3339(e.timestamp),
            author: e.author.as_deref().map(str::to_owned),
            body: e.body.to_string(),
            kind: kind_tag(&e.kind),
            attachment: e.attachment.clone(),
        }
    }
}

/// The name of an entry's kind, as stored in `messages.kind` and shown in previews: `text`,
/// `system`, `media`, `deleted`, `view-once`, `waiting`, `location`, `live-location`,
/// `contact`, `poll` or `call`.
pub fn kind_tag(kind: &EntryKind) -> &'static str {
    match kind {
        EntryKind::Text => "text",
        EntryKind::System { .. } => "system",
        EntryKind::Media { .. } => "media",
        EntryKind::Deleted => "deleted",
        EntryKind::ViewOnce => "view-once",
        EntryKind::Waiting => "waiting",
        EntryKind::Location(_) => "location",
        EntryKind::LiveLocation => "live-location",
        EntryKind::Contact { .. } => "contact",
        EntryKind::Poll(_) => "poll",
        EntryKind::Call => "call",
    }
}

/// Which participant is probably "me": WhatsApp Web writes `You`; in a chat of two whose title
/// (the export's file name) names one of them, the other one.
pub fn guess_me(participants: &[String], chat_title: Option<&str>) -> Option<String> {
    if let Some(you) = participants.iter().find(|p| p.as_str() == "You") {
        return Some(you.clone());
    }
    let title = chat_title?.trim();
    match participants {
        [a, b] if a.trim() == title && b.trim() != title => Some(b.clone()),
        [a, b] if b.trim() == title && a.trim() != title => Some(a.clone()),
        _ => None,
    }
}

/// A wall-clock time as RFC 3339 without an offset (`2021-02-14T09:05:00`).
pub fn local_rfc3339(t: PrimitiveDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    t.format(format).unwrap_or_default()
}

fn local_opt<S: Serializer>(t: &Option<PrimitiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&local_rfc3339(*t)),
        None => s.serialize_none(),
    }
}
