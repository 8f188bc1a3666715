//! What an imported message stores beyond its kind: the searchable text and a small JSON
//! object with the structure its kind carries (poll question, options and counts; media kind;
//! location; contact name; event; edited), so that later features (real polls) can convert it.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::import::whatsapp::model::{Entry, EntryKind};

/// The text stored (and indexed for search): the body, or for a poll without one its question
/// and options.
pub(crate) fn body(entry: &Entry) -> Cow<'_, str> {
    match &entry.kind {
        EntryKind::Poll(poll) if entry.body.trim().is_empty() => {
            let mut text = poll.question.clone();
            for option in &poll.options {
                text.push('\n');
                text.push_str(&option.text);
            }
            Cow::Owned(text)
        }
        _ => Cow::Borrowed(entry.body.as_str()),
    }
}

/// The JSON object for `import_meta`, `""` when the kind and flags say everything.
pub(crate) fn json(entry: &Entry) -> String {
    let mut o = Object::default();
    match &entry.kind {
        EntryKind::Text
        | EntryKind::Deleted
        | EntryKind::ViewOnce
        | EntryKind::Waiting
        | EntryKind::LiveLocation
        | EntryKind::Call => {}
        EntryKind::System { event } => o.raw("event", &quoted(&serde_name(event))),
        EntryKind::Media { media, omitted } => {
            o.raw("media", &quoted(&serde_name(media)));
            o.raw("omitted", if *omitted { "true" } else { "false" });
        }
        EntryKind::Location(place) => {
            o.opt("latitude", place.latitude.as_deref());
            o.opt("longitude", place.longitude.as_deref());
            o.opt("url", place.url.as_deref());
        }
        EntryKind::Contact { name } => o.opt("name", name.as_deref()),
        EntryKind::Poll(poll) => {
            o.raw("question", &quoted(&poll.question));
            let mut options = String::from("[");
            for (i, option) in poll.options.iter().enumerate() {
                if i > 0 {
                    options.push(',');
                }
                let votes = option
                    .votes
                    .map_or_else(|| "null".to_owned(), |v| v.to_string());
                let _ = write!(
                    options,
                    "{{\"text\":{},\"votes\":{votes}}}",
                    quoted(&option.text)
                );
            }
            options.push(']');
            o.raw("options", &options);
        }
    }
    if let Some(name) = &entry.attachment {
        o.raw("attachment", &quoted(name));
    }
    if entry.edited {
        o.raw("edited", "true");
    }
    o.finish()
}

/// The kebab-case name serde gives a unit variant (`SubjectChanged` -> `subject-changed`).
fn serde_name<T: std::fmt::Debug>(value: &T) -> String {
    let debug = format!("{value:?}");
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Default)]
struct Object(String);

impl Object {
    fn raw(&mut self, key: &str, value: &str) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        self.0.push_str(&quoted(key));
        self.0.push(':');
        self.0.push_str(value);
    }

    fn opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.raw(key, &quoted(v));
        }
    }

    fn finish(mut self) -> String {
        if !self.0.is_empty() {
            self.0.push('}');
        }
        self.0
    }
}

/// `s` as a JSON string.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
