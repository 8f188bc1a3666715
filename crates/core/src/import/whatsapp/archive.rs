//! Opening an export safely: a `.txt` (with its media as separate files beside it, as Android
//! shares them) or a `.zip` (the chat text and its media inside; `whatsapp-format.md` §5).
//!
//! Nothing is ever extracted to disk. Zip entries are read into memory or streamed, and every
//! read is capped on the bytes it actually decompresses, whatever the archive declares:
//! [`MAX_ENTRIES`], [`MAX_TOTAL_BYTES`], [`MAX_RATIO`] (above [`RATIO_FLOOR_BYTES`]),
//! [`MAX_TEXT_BYTES`] and [`MAX_MEDIA_BYTES`]; a table of contents larger than
//! [`MAX_DIRECTORY_BYTES`] is refused before it is read. A hostile archive (path traversal, an absolute
//! name, a symbolic link, a bomb, a size that lies) is an [`ImportError::UnsafeArchive`].
//!
//! Nested archives: a `.zip` inside the export is never opened. It is left out of the media
//! (listed in [`Source::skipped`] so the report can say why), because WhatsApp never nests
//! archives and opening one would multiply every cap.

mod limits;
mod names;
mod stream;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use zip::ZipArchive;

use super::ImportError;
use limits::{Capped, Limit};
use names::{Entry, is_ignored, nfc, unsafe_name_reason};
use stream::{EntryReader, PosFile};

/// Most entries a zip may list. WhatsApp's own limits (about 10,000 media per mobile export,
/// 100,000 messages per WhatsApp Web export) stay far below; more is a crafted archive.
pub const MAX_ENTRIES: usize = 100_000;
/// Most bytes all entries of a zip may unpack to together, by their declared sizes; every read
/// also stops at its entry's declared size, so the actual bytes are bounded by this too.
pub const MAX_TOTAL_BYTES: u64 = 4 << 30;
/// Most bytes of chat text, in a zip or as a `.txt`: a 1,000,000-message export (25 times the
/// 40,000 a phone exports) has about 90 MB.
pub const MAX_TEXT_BYTES: u64 = 512 << 20;
/// Most bytes of one media file [`Source::read_media`] returns (it is held in memory). Larger
/// files are left out of the media and listed in [`Source::skipped`].
pub const MAX_MEDIA_BYTES: u64 = 256 << 20;
/// Highest compression ratio (uncompressed : compressed) accepted for an entry that unpacks to
/// more than [`RATIO_FLOOR_BYTES`]. Chat text compresses about 3–10:1, media about 1:1; a zip
/// bomb compresses 1000:1 and more.
pub const MAX_RATIO: u64 = 100;
/// Entries up to this size are not held to [`MAX_RATIO`] (a small file of blanks compresses
/// well and harms nobody).
pub const RATIO_FLOOR_BYTES: u64 = 1 << 20;
/// Largest central directory (the zip's table of contents) read: 100,000 entries with long
/// names take about 20 MiB.
pub const MAX_DIRECTORY_BYTES: u64 = 64 << 20;
/// How much of a `.txt` entry is read to decide whether it is the chat text.
const SNIFF_BYTES: u64 = 64 << 10;
/// At most this many `.txt` entries are sniffed when none is named `_chat.txt` / `chat.txt`.
const MAX_SNIFFED: usize = 16;
/// Read buffer of the chat text.
const TEXT_BUFFER: usize = 256 << 10;

/// An opened export: where its chat text is and which media it has.
#[derive(Debug)]
pub struct Source {
    text_name: String,
    title: Option<String>,
    kind: Kind,
    /// Media by the NFC form of their file name.
    media: BTreeMap<String, Media>,
    skipped: Vec<Skipped>,
}

#[derive(Debug)]
enum Kind {
    /// The `.txt` opened once: every reader reads this same file, even if the name is replaced.
    Text(PosFile),
    Zip {
        archive: ZipArchive<PosFile>,
        text: Entry,
    },
}

#[derive(Debug)]
struct Media {
    /// The file name as stored (a macOS zip stores NFD).
    name: String,
    at: MediaAt,
}

#[derive(Debug)]
enum MediaAt {
    File(PathBuf),
    Entry(Entry),
}

/// A file of the export that is not offered as media, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The entry's path in the zip, or the file name beside a `.txt`.
    pub name: String,
    pub reason: SkipReason,
}

/// Why a file was left out of the media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A `.zip` inside the export: never opened.
    NestedArchive,
    /// Larger than [`MAX_MEDIA_BYTES`].
    TooLarge { bytes: u64 },
    /// Another file of the same name, closer to the chat text, was taken.
    DuplicateName,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NestedArchive => write!(f, "an archive inside the export is never opened"),
            Self::TooLarge { bytes } => write!(
                f,
                "{} MiB is more than the {} MiB a media file may have",
                bytes.div_ceil(1 << 20),
                MAX_MEDIA_BYTES >> 20
            ),
            Self::DuplicateName => write!(f, "another file of the same name was taken"),
        }
    }
}

impl Source {
    /// Opens a `.txt` or `.zip` export, told apart by content (a zip starts with `PK`), and finds
    /// the chat text and the media.
    pub fn open(path: &Path) -> Result<Source, ImportError> {
        let io = |source| ImportError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(ImportError::Invalid(format!(
                "{} is a folder; choose the exported .txt or .zip file",
                path.display()
            )));
        }
        if meta.len() == 0 {
            return Err(ImportError::Empty);
        }
        let mut head = Vec::with_capacity(8 << 10);
        (&file).take(8 << 10).read_to_end(&mut head).map_err(io)?;
        let named_zip = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            return Self::open_zip(path, file, meta.len());
        }
        if named_zip {
            return Err(ImportError::BadArchive(format!(
                "{} is named .zip but is not a zip archive",
                file_name(path)
            )));
        }
        if head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff") {
            return Err(ImportError::Invalid(format!(
                "{} is saved as UTF-16 text, and WhatsApp exports are UTF-8: save it as UTF-8 \
                 (or import the original export)",
                file_name(path)
            )));
        }
        if head.contains(&0) {
            return Err(ImportError::NotAnExport);
        }
        if meta.len() > MAX_TEXT_BYTES {
            return Err(text_too_large(&file_name(path), meta.len()));
        }
        Ok(Self::open_text(path, PosFile::new(file, meta.len())))
    }

    fn open_text(path: &Path, file: PosFile) -> Source {
        let text_name = file_name(path);
        let title = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(names::title_from_file_name);
        let mut media = BTreeMap::new();
        let mut skipped = Vec::new();
        // Android shares the media as files next to the text; a folder that cannot be listed
        // just has no media (the report shows them missing).
        if let Some(dir) = path.parent().map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        }) && let Ok(listing) = std::fs::read_dir(dir)
        {
            for item in listing.flatten().take(MAX_ENTRIES) {
                // `file_type` does not follow links: a link is never taken for a media file.
                let is_file = item.file_type().is_ok_and(|t| t.is_file());
                let Ok(name) = item.file_name().into_string() else {
                    continue;
                };
                if !is_file || name == text_name {
                    continue;
                }
                let bytes = item.metadata().map_or(0, |m| m.len());
                if bytes > MAX_MEDIA_BYTES {
                    skipped.push(Skipped {
                        name,
                        reason: SkipReason::TooLarge { bytes },
                    });
                    continue;
                }
                media.insert(
                    nfc(&name),
                    Media {
                        name,
                        at: MediaAt::File(item.path()),
                    },
                );
            }
        }
        Source {
            text_name,
            title,
            kind: Kind::Text(file),
            media,
            skipped,
        }
    }

    fn open_zip(path: &Path, file: File, len: u64) -> Result<Source, ImportError> {
        let zip_name = file_name(path);
        let io = |source| ImportError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = PosFile::new(file, len);
        if let Some(directory) = limits::declared_directory(&mut file, len).map_err(io)? {
            if directory.entries > MAX_ENTRIES as u64 {
                return Err(too_many_entries(directory.entries));
            }
            if directory.bytes > MAX_DIRECTORY_BYTES {
                return Err(ImportError::UnsafeArchive(format!(
                    "its table of contents has {} MiB, more than the {} MiB an export may have",
                    directory.bytes.div_ceil(1 << 20),
                    MAX_DIRECTORY_BYTES >> 20
                )));
            }
        }
        let mut archive = ZipArchive::new(file.rewound()).map_err(|e| match e {
            zip::result::ZipError::Io(source) => io(source),
            other => {
                ImportError::BadArchive(format!("{zip_name} is damaged or incomplete ({other})"))
            }
        })?;
        if archive.len() > MAX_ENTRIES {
            return Err(too_many_entries(archive.len() as u64));
        }
        if archive.has_duplicate_names() {
            return Err(ImportError::UnsafeArchive(
                "it lists the same file name more than once".into(),
            ));
        }
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        for entry in Self::check_entries(&archive, len)? {
            if is_ignored(&entry.path) {
                continue;
            }
            if entry.extension_is("zip") {
                skipped.push(Skipped {
                    name: entry.path.clone(),
                    reason: SkipReason::NestedArchive,
                });
                continue;
            }
            files.push(entry);
        }
        let text = Self::find_text(&mut archive, &files)?;
        if text.size > MAX_TEXT_BYTES {
            return Err(text_too_large(&text.path, text.size));
        }
        let mut media: BTreeMap<String, Media> = BTreeMap::new();
        let text_dir = text.parent().to_owned();
        // Closer to the chat text wins: its own folder (or its `media/` subfolder), then depth.
        let rank = |e: &Entry| {
            let near = e.parent() == text_dir || e.parent() == names::join(&text_dir, "media");
            (!near, e.depth())
        };
        let mut ordered: Vec<Entry> = files
            .into_iter()
            .filter(|e| e.index != text.index)
            .collect();
        ordered.sort_by_key(|e| (rank(e), e.index));
        for entry in ordered {
            if entry.size > MAX_MEDIA_BYTES {
                skipped.push(Skipped {
                    name: entry.path.clone(),
                    reason: SkipReason::TooLarge { bytes: entry.size },
                });
                continue;
            }
            let key = nfc(entry.base_name());
            if media.contains_key(&key) {
                skipped.push(Skipped {
                    name: entry.path.clone(),
                    reason: SkipReason::DuplicateName,
                });
                continue;
            }
            media.insert(
                key,
                Media {
                    name: entry.base_name().to_owned(),
                    at: MediaAt::Entry(entry),
                },
            );
        }
        let web_layout = text.base_name() == "chat.txt" && media.contains_key("chat.md");
        let title = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(names::title_from_file_name)
            .or_else(|| {
                names::title_from_file_name(text_dir.rsplit('/').next().unwrap_or_default())
            })
            .or_else(|| {
                // WhatsApp Web names the zip after the chat (§5), with no prefix to recognise.
                let stem = path.file_stem()?.to_str()?.trim();
                (web_layout && !stem.is_empty()).then(|| names::strip_copy_suffix(stem).to_owned())
            });
        Ok(Source {
            text_name: text.path.clone(),
            title,
            kind: Kind::Zip { archive, text },
            media,
            skipped,
        })
    }

    /// Every entry's name, type and declared sizes, before anything is decompressed.
    fn check_entries(
        archive: &ZipArchive<PosFile>,
        zip_len: u64,
    ) -> Result<Vec<Entry>, ImportError> {
        let mut total: u64 = 0;
        let mut entries = Vec::with_capacity(archive.len());
        for index in 0..archive.len() {
            let data = archive.by_index_data(index).map_err(|e| {
                ImportError::BadArchive(format!("entry {} cannot be read ({e})", index + 1))
            })?;
            let name = data
                .name()
                .map_err(|e| {
                    ImportError::BadArchive(format!(
                        "entry {} has an unreadable name ({e})",
                        index + 1
                    ))
                })?
                .into_owned();
            if let Some(reason) = unsafe_name_reason(&name) {
                return Err(ImportError::UnsafeArchive(format!(
                    "the entry \"{}\" {reason}",
                    names::shown(&name)
                )));
            }
            let Some(enclosed) = data.enclosed_name() else {
                return Err(ImportError::UnsafeArchive(format!(
                    "the entry \"{}\" points outside the archive",
                    names::shown(&name)
                )));
            };
            if data.is_symlink() {
                return Err(ImportError::UnsafeArchive(format!(
                    "the entry \"{}\" is a symbolic link; exports never contain links",
                    names::shown(&name)
                )));
            }
            if data.is_dir() {
                continue;
            }
            if data.encrypted() {
                return Err(ImportError::BadArchive(format!(
                    "the entry \"{}\" is password-protected; WhatsApp exports never are",
                    names::shown(&name)
                )));
            }
            let size = data.size();
            // A compressed size larger than the file cannot be read: the file bounds it.
            let compressed = data.compressed_size().min(zip_len);
            total = total.saturating_add(size);
            if total > MAX_TOTAL_BYTES {
                return Err(ImportError::UnsafeArchive(format!(
                    "it would unpack to more than {} GiB (the limit), reached at the entry \"{}\"",
                    MAX_TOTAL_BYTES >> 30,
                    names::shown(&name)
                )));
            }
            if size > RATIO_FLOOR_BYTES && size > compressed.saturating_mul(MAX_RATIO) {
                return Err(ImportError::UnsafeArchive(format!(
                    "the entry \"{}\" would unpack {compressed} bytes into {size}, more than {MAX_RATIO} times \
                     its size (a zip bomb)",
                    names::shown(&name)
                )));
            }
            let path = enclosed.to_string_lossy().replace('\\', "/");
            entries.push(Entry {
                index,
                path,
                size,
                compressed,
            });
        }
        Ok(entries)
    }

    /// The chat text (§5): `_chat.txt` or `chat.txt` if present (closest to the root), else the
    /// `.txt` whose first lines look like WhatsApp headers, preferring names that look like a
    /// chat over names that look like a shared document.
    fn find_text(archive: &mut ZipArchive<PosFile>, files: &[Entry]) -> Result<Entry, ImportError> {
        let named = files
            .iter()
            .filter(|e| matches!(e.base_name(), "_chat.txt" | "chat.txt"))
            .min_by_key(|e| (e.depth(), e.base_name() != "_chat.txt", e.index));
        if let Some(entry) = named {
            return Ok(entry.clone());
        }
        let mut candidates: Vec<&Entry> = files.iter().filter(|e| e.extension_is("txt")).collect();
        candidates.sort_by_key(|e| {
            let base = e.base_name();
            (
                !names::chat_like_name(base),
                names::attachment_like_name(base),
                e.depth(),
                base.len(),
                e.index,
            )
        });
        for entry in candidates.into_iter().take(MAX_SNIFFED) {
            let limit = Limit::for_entry(entry, MAX_TEXT_BYTES);
            let file = archive
                .by_index(entry.index)
                .map_err(|e| entry_unreadable(entry, &e))?;
            let mut head = Vec::new();
            // The sniff stops at SNIFF_BYTES on purpose: a partial read is not an error here.
            let mut capped = Capped::new(file, limit).take(SNIFF_BYTES);
            capped
                .read_to_end(&mut head)
                .map_err(|e| limits::into_import_error(e, &entry.path))?;
            if names::looks_like_chat(&head) {
                return Ok(entry.clone());
            }
        }
        Err(ImportError::NoChatText)
    }

    /// A fresh streaming reader of the chat text, from its start.
    pub fn text(&self) -> Result<Box<dyn BufRead + Send + '_>, ImportError> {
        match &self.kind {
            Kind::Text(file) => {
                let file = file.clone().rewound();
                let limit = Limit::file(&self.text_name, MAX_TEXT_BYTES);
                Ok(Box::new(BufReader::with_capacity(
                    TEXT_BUFFER,
                    Capped::new(file, limit),
                )))
            }
            Kind::Zip { archive, text } => {
                let limit = Limit::for_entry(text, MAX_TEXT_BYTES);
                Ok(Box::new(EntryReader::spawn(
                    archive.clone(),
                    text.clone(),
                    limit,
                )?))
            }
        }
    }

    /// The chat text's name: the `.txt` file's, or the entry's path in the zip (`_chat.txt`).
    pub fn text_name(&self) -> &str {
        &self.text_name
    }

    /// The chat's name from the export's file name (`WhatsApp Chat with Anna.txt`,
    /// `WhatsApp Chat - Anna.zip` and the localised forms of §5), if it has one.
    pub fn chat_title(&self) -> Option<String> {
        self.title.clone()
    }

    /// The names of the media files the export has, as stored, sorted.
    pub fn media_names(&self) -> Vec<String> {
        self.media.values().map(|m| m.name.clone()).collect()
    }

    /// Whether the export has a media file of this name (compared in Unicode NFC: macOS zips
    /// store names in NFD).
    pub fn has_media(&self, name: &str) -> bool {
        self.media.contains_key(&nfc(name))
    }

    /// Files of the export left out of the media, and why.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// The bytes of a media file, `None` when the export does not have it. Reads at most
    /// [`MAX_MEDIA_BYTES`] (and, in a zip, at most the entry's declared size).
    pub fn read_media(&self, name: &str) -> Result<Option<Vec<u8>>, ImportError> {
        let Some(media) = self.media.get(&nfc(name)) else {
            return Ok(None);
        };
        match (&media.at, &self.kind) {
            (MediaAt::File(path), _) => stream::read_beside(path, MAX_MEDIA_BYTES).map(Some),
            (MediaAt::Entry(entry), Kind::Zip { archive, .. }) => {
                let mut archive = archive.clone();
                let file = archive
                    .by_index(entry.index)
                    .map_err(|e| entry_unreadable(entry, &e))?;
                let limit = Limit::for_entry(entry, MAX_MEDIA_BYTES);
                let mut bytes = Vec::with_capacity(
                    usize::try_from(entry.size.min(MAX_MEDIA_BYTES)).unwrap_or(0),
                );
                Capped::new(file, limit)
                    .read_to_end(&mut bytes)
                    .map_err(|e| limits::into_import_error(e, &entry.path))?;
                Ok(Some(bytes))
            }
            (MediaAt::Entry(_), Kind::Text(_)) => Ok(None),
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn too_many_entries(entries: u64) -> ImportError {
    ImportError::UnsafeArchive(format!(
        "it lists {entries} files; an export may have at most {MAX_ENTRIES}"
    ))
}

fn text_too_large(name: &str, bytes: u64) -> ImportError {
    ImportError::Invalid(format!(
        "the chat text {} has {} MiB, more than the {} MiB an import accepts",
        names::shown(name),
        bytes.div_ceil(1 << 20),
        MAX_TEXT_BYTES >> 20
    ))
}

fn entry_unreadable(entry: &Entry, error: &zip::result::ZipError) -> ImportError {
    ImportError::BadArchive(format!(
        "the entry \"{}\" cannot be read ({error})",
        names::shown(&entry.path)
    ))
}
