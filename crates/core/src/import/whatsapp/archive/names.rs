//! Names inside an export: which entries are safe, ignored, the chat text or media, and the
//! chat's title from the export's file name (`whatsapp-format.md` §5).

use unicode_normalization::UnicodeNormalization;

/// A file entry of a zip that passed the safety checks.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) index: usize,
    /// The enclosed path, `/`-separated.
    pub(super) path: String,
    /// Declared uncompressed size.
    pub(super) size: u64,
    /// Declared compressed size (at most the zip's length).
    pub(super) compressed: u64,
}

impl Entry {
    pub(super) fn base_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// The folder the entry is in, `""` at the root.
    pub(super) fn parent(&self) -> &str {
        self.path.rsplit_once('/').map_or("", |(dir, _)| dir)
    }

    pub(super) fn depth(&self) -> usize {
        self.path.matches('/').count()
    }

    pub(super) fn extension_is(&self, extension: &str) -> bool {
        self.base_name()
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && ext.eq_ignore_ascii_case(extension))
    }
}

/// `dir/name`, or `name` at the root.
pub(super) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The Unicode NFC form, the key media are compared by.
pub(super) fn nfc(name: &str) -> String {
    name.nfc().collect()
}

/// macOS metadata that zips repacked on a Mac carry: `__MACOSX/…`, `._name`, `.DS_Store`.
pub(super) fn is_ignored(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    path.split('/').next() == Some("__MACOSX") || base.starts_with("._") || base == ".DS_Store"
}

/// Why an entry name is refused before it is even normalised: an absolute path, a drive, a
/// climb out with `..`, a NUL. (`enclosed_name` would quietly make some of these relative.)
pub(super) fn unsafe_name_reason(name: &str) -> Option<&'static str> {
    if name.contains('\0') {
        return Some("has a NUL character in its name");
    }
    if name.starts_with(['/', '\\']) {
        return Some("has an absolute path");
    }
    let mut chars = name.chars();
    if let (Some(drive), Some(':')) = (chars.next(), chars.next())
        && drive.is_ascii_alphabetic()
    {
        return Some("has an absolute path (a drive letter)");
    }
    if name.split(['/', '\\']).any(|part| part == "..") {
        return Some("climbs out of the archive with \"..\"");
    }
    None
}

/// A name as shown in an error: control characters replaced, at most 120 characters.
pub(super) fn shown(name: &str) -> String {
    let mut out: String = name
        .chars()
        .take(120)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if name.chars().nth(120).is_some() {
        out.push('…');
    }
    out
}

/// `WhatsApp Chat with Anna.txt`, `chat-whatsapp.txt`…: a name that says it is a chat.
pub(super) fn chat_like_name(base: &str) -> bool {
    let lower = base.to_lowercase();
    lower.contains("chat") || lower.contains("whatsapp")
}

/// A shared document's name: iOS `00000046-Holiday plan.txt`, Android `DOC-20221118-WA0004.txt`.
pub(super) fn attachment_like_name(base: &str) -> bool {
    let bytes = base.as_bytes();
    let ios = bytes.len() > 9
        && bytes.iter().take(8).all(u8::is_ascii_digit)
        && bytes.get(8) == Some(&b'-');
    ios || base.starts_with("DOC-")
}

/// Whether one of the first non-blank lines looks like a WhatsApp message header: optional
/// direction marks and `[`, a date starting with a digit, and a time (`9:05`, `21.05`) followed
/// by one of the header separators (` - `, `] `, `: `).
pub(super) fn looks_like_chat(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.split(['\n', '\r'])
        .filter(|l| !l.trim().is_empty())
        .take(10)
        .any(looks_like_header)
}

fn looks_like_header(line: &str) -> bool {
    let marks = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{feff}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let line = line
        .trim_start_matches(marks)
        .trim_start_matches('[')
        .trim_start_matches(marks);
    if !line.chars().next().is_some_and(char::is_numeric) {
        return false;
    }
    let head: Vec<char> = line.chars().take(48).collect();
    let time = head.windows(4).position(
        |w| matches!(w, [a, ':' | '.', b, c] if a.is_numeric() && b.is_numeric() && c.is_numeric()),
    );
    let Some(time) = time else { return false };
    let rest: String = head.iter().skip(time).collect();
    rest.contains(" - ") || rest.contains("] ") || rest.contains(": ")
}

/// The localised prefixes of Android's `.txt`/`.zip` and iOS's `.zip` names (§5), with NBSP as a
/// plain space.
const TITLE_PREFIXES: &[&str] = &[
    "WhatsApp Chat with ",
    "WhatsApp Chat - ",
    "Chat de WhatsApp con ",
    "Chat WhatsApp con ",
    "WhatsApp Chat mit ",
    "Discussion WhatsApp avec ",
    "Conversa do WhatsApp com ",
    "Conversa no WhatsApp com ",
    "WhatsApp-chat met ",
    "Chat WhatsApp s uživatelem ",
    "Чат WhatsApp с контактом ",
    "צ'אט WhatsApp עם ",
];

/// The chat's name from an export's file name without its extension:
/// `WhatsApp Chat with Anna (1)` → `Anna`; `WhatsApp_Chat_with_Anna_Rossi` → `Anna Rossi`.
pub(super) fn title_from_file_name(stem: &str) -> Option<String> {
    let stem = nfc(stem);
    let underscored = stem.contains('_') && !stem.contains(' ');
    let plain: String = stem
        .chars()
        .map(|c| match c {
            '\u{a0}' | '\u{202f}' => ' ',
            '_' if underscored => ' ',
            c => c,
        })
        .collect();
    let rest = TITLE_PREFIXES
        .iter()
        .find_map(|prefix| strip_prefix_ignoring_case(&plain, prefix))?;
    let title = strip_copy_suffix(rest).trim();
    (!title.is_empty()).then(|| title.to_owned())
}

fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let mut rest = text.char_indices();
    for expected in prefix.chars() {
        let (_, c) = rest.next()?;
        if !c.to_lowercase().eq(expected.to_lowercase()) {
            return None;
        }
    }
    Some(
        rest.next()
            .map_or("", |(at, _)| text.get(at..).unwrap_or("")),
    )
}

/// Drops the ` (1)` a repeated download appends.
pub(super) fn strip_copy_suffix(name: &str) -> &str {
    let trimmed = name.trim_end();
    let Some(inner) = trimmed.strip_suffix(')') else {
        return trimmed;
    };
    let Some(open) = inner.rfind('(') else {
        return trimmed;
    };
    let digits = inner.get(open + 1..).unwrap_or_default();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return trimmed;
    }
    inner.get(..open).unwrap_or(trimmed).trim_end()
}
