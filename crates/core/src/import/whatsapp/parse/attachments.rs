//! Media placeholders and attachment markers (`whatsapp-format.md` §4.1, §4.2): iOS
//! `<attached: NAME>` in every language, legacy iOS `NAME <attached>`, Android/Web
//! `NAME (file attached)`, and the media kind a file name implies.

use super::super::model::{EntryKind, MediaKind};
use super::body::{Classified, join, strip_marks};
use super::phrases::{self, Omitted, eq_ci, starts_with_ci};

/// The media kind of an attached file, from WhatsApp's naming (§4.2) or the extension.
pub(super) fn kind_from_name(name: &str) -> EntryKind {
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if extension == "vcf" {
        let stem = name.get(..name.len() - 4).unwrap_or(name);
        // iOS prefixes an 8-digit sequence number: `00000042-Anna Rossi.vcf`.
        let stem = match stem.split_once('-') {
            Some((number, rest))
                if number.len() == 8 && number.bytes().all(|b| b.is_ascii_digit()) =>
            {
                rest
            }
            _ => stem,
        };
        return EntryKind::Contact {
            name: Some(stem.to_owned()),
        };
    }
    let media = if name.starts_with("IMG-") || name.contains("-PHOTO-") {
        MediaKind::Image
    } else if name.starts_with("VID-") || name.contains("-VIDEO-") {
        MediaKind::Video
    } else if name.starts_with("PTT-") {
        MediaKind::VoiceNote
    } else if name.starts_with("AUD-") {
        MediaKind::Audio
    } else if name.contains("-AUDIO-") {
        if extension == "opus" {
            MediaKind::VoiceNote
        } else {
            MediaKind::Audio
        }
    } else if name.starts_with("STK-") || name.contains("-STICKER-") {
        MediaKind::Sticker
    } else if name.contains("-GIF-") {
        MediaKind::Gif
    } else if name.starts_with("DOC-") {
        MediaKind::Document
    } else {
        match extension.as_str() {
            "jpg" | "jpeg" | "png" | "heic" | "heif" | "bmp" => MediaKind::Image,
            "webp" => MediaKind::Sticker,
            "gif" => MediaKind::Gif,
            "mp4" | "mov" | "3gp" | "mkv" | "webm" | "avi" => MediaKind::Video,
            "opus" => MediaKind::VoiceNote,
            "mp3" | "m4a" | "aac" | "ogg" | "wav" | "amr" | "flac" => MediaKind::Audio,
            _ => MediaKind::Document,
        }
    };
    EntryKind::Media {
        media,
        omitted: false,
    }
}

pub(super) fn omitted_kind(omitted: Omitted) -> EntryKind {
    match omitted {
        Omitted::Media(media) => EntryKind::Media {
            media,
            omitted: true,
        },
        Omitted::Contact => EntryKind::Contact { name: None },
    }
}

/// `<attached: NAME>` / `<NAME>`-less legacy `<attached>` / `<document omitted>` at the end of
/// the first line.
pub(super) fn angle_tail(first: &str, rest: Option<&str>) -> Option<Classified> {
    let trimmed = first.trim_end();
    if !trimmed.ends_with('>') {
        return None;
    }
    let open = trimmed.rfind('<')?;
    let before = trimmed.get(..open).unwrap_or_default();
    let inner = trimmed.get(open + 1..trimmed.len() - 1).unwrap_or_default();
    let inner = strip_marks(inner);
    let inner = inner.trim();
    for keyword in phrases::ATTACHED_KEYWORDS {
        if !starts_with_ci(inner, keyword) {
            continue;
        }
        let after = inner.get(keyword.len()..).unwrap_or_default().trim_start();
        let name = if let Some(name) = after.strip_prefix(':').or_else(|| after.strip_prefix('：'))
        {
            name.trim().to_owned()
        } else if after.is_empty() {
            // legacy iOS: `2015-08-04-PHOTO-00004762.jpg <attached>`
            let name = strip_marks(before).trim().to_owned();
            if name.is_empty() {
                return None;
            }
            return Some(Classified {
                kind: kind_from_name(&name),
                body: join("", rest),
                attachment: Some(name),
                edited: false,
            });
        } else {
            continue;
        };
        if name.is_empty() {
            return None;
        }
        let prefix = strip_marks(before);
        return Some(Classified {
            kind: kind_from_name(&name),
            body: join(&prefix, rest),
            attachment: Some(name),
            edited: false,
        });
    }
    // old iOS: `Name.pdf • {LRM}1 page <{LRM}document omitted>`, `<{LRM}image omitted>`
    let omitted = phrases::IOS_OMITTED
        .iter()
        .find(|(phrase, _)| eq_ci(inner, phrase))?;
    Some(Classified {
        kind: omitted_kind(omitted.1),
        body: join(&strip_marks(before), rest),
        attachment: None,
        edited: false,
    })
}

/// `NAME (file attached)` anywhere in the first line (Web puts a caption after it).
pub(super) fn file_attached(first: &str, rest: Option<&str>) -> Option<Classified> {
    let bytes = first.as_bytes();
    for open in memchr::memchr_iter(b'(', bytes) {
        let tail = first.get(open..).unwrap_or_default();
        let Some(marker) = phrases::FILE_ATTACHED
            .iter()
            .find(|m| starts_with_ci(tail, m))
        else {
            continue;
        };
        let name = strip_marks(first.get(..open).unwrap_or_default())
            .trim()
            .to_owned();
        if name.is_empty() {
            continue;
        }
        let caption = tail.get(marker.len()..).unwrap_or_default();
        return Some(Classified {
            kind: kind_from_name(&name),
            body: join(caption, rest),
            attachment: Some(name),
            edited: false,
        });
    }
    None
}
