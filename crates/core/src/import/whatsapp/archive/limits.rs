//! The caps a read of the export enforces on the bytes it actually gets, whatever the archive
//! declares.

use std::io::{self, Read, Seek, SeekFrom};

use super::names::{Entry, shown};
use super::{ImportError, MAX_RATIO, RATIO_FLOOR_BYTES};

/// How many bytes one read may yield, and which rule set that number.
#[derive(Debug, Clone)]
pub(super) struct Limit {
    name: String,
    bytes: u64,
    rule: Rule,
}

#[derive(Debug, Clone, Copy)]
enum Rule {
    /// The entry's declared uncompressed size.
    Declared,
    /// [`MAX_RATIO`] times the entry's compressed size.
    Ratio { compressed: u64 },
    /// The cap for this kind of file ([`super::MAX_TEXT_BYTES`], [`super::MAX_MEDIA_BYTES`]).
    Cap,
}

impl Limit {
    /// The least of `cap`, the entry's declared size and the ratio rule.
    pub(super) fn for_entry(entry: &Entry, cap: u64) -> Limit {
        let ratio = RATIO_FLOOR_BYTES.max(entry.compressed.saturating_mul(MAX_RATIO));
        let mut limit = Limit {
            name: entry.path.clone(),
            bytes: entry.size,
            rule: Rule::Declared,
        };
        if ratio < limit.bytes {
            limit.bytes = ratio;
            limit.rule = Rule::Ratio {
                compressed: entry.compressed,
            };
        }
        if cap < limit.bytes {
            limit.bytes = cap;
            limit.rule = Rule::Cap;
        }
        limit
    }

    /// A plain file read up to `cap` bytes.
    pub(super) fn file(name: &str, cap: u64) -> Limit {
        Limit {
            name: name.to_owned(),
            bytes: cap,
            rule: Rule::Cap,
        }
    }

    fn exceeded(&self) -> Refused {
        let name = shown(&self.name);
        match self.rule {
            Rule::Declared => Refused::Unsafe(format!(
                "the entry \"{name}\" holds more than the {} bytes its header declares",
                self.bytes
            )),
            Rule::Ratio { compressed } => Refused::Unsafe(format!(
                "the entry \"{name}\" unpacks to more than {MAX_RATIO} times its compressed size of {compressed} \
                 bytes (a zip bomb)"
            )),
            Rule::Cap => Refused::TooLarge(format!(
                "\"{name}\" has more than the {} MiB an import reads from one file",
                self.bytes >> 20
            )),
        }
    }
}

/// A limit was passed: carried inside an [`io::Error`] so that streaming readers can report it.
#[derive(Debug)]
pub(super) enum Refused {
    Unsafe(String),
    TooLarge(String),
}

impl Refused {
    fn into_import_error(self) -> ImportError {
        match self {
            Self::Unsafe(message) => ImportError::UnsafeArchive(message),
            Self::TooLarge(message) => ImportError::Invalid(message),
        }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unsafe(message) => write!(f, "{}", ImportError::UnsafeArchive(message.clone())),
            Self::TooLarge(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Refused {}

/// The refusal a failed read carries, or the error back when it carries none.
pub(super) fn take_refusal(error: io::Error) -> Result<ImportError, io::Error> {
    if !error.get_ref().is_some_and(|inner| inner.is::<Refused>()) {
        return Err(error);
    }
    let kind = error.kind();
    match error.into_inner().map(|inner| inner.downcast::<Refused>()) {
        Some(Ok(refused)) => Ok(refused.into_import_error()),
        _ => Err(io::Error::from(kind)),
    }
}

/// The [`ImportError`] for a failed read of the zip entry `name`: the refusal it carries, or a
/// damaged archive.
pub(super) fn into_import_error(error: io::Error, name: &str) -> ImportError {
    take_refusal(error).unwrap_or_else(|error| {
        ImportError::BadArchive(format!(
            "the entry \"{}\" cannot be read ({error})",
            shown(name)
        ))
    })
}

/// A reader that fails once its source yields more than the limit allows. It checks the bytes
/// it actually gets: one byte past the limit is an error, not a silent truncation.
pub(super) struct Capped<R> {
    inner: R,
    read: u64,
    limit: Limit,
}

impl<R: Read> Capped<R> {
    pub(super) fn new(inner: R, limit: Limit) -> Self {
        Capped {
            inner,
            read: 0,
            limit,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let left = self.limit.bytes.saturating_sub(self.read);
        if left == 0 {
            let mut probe = [0_u8; 1];
            return loop {
                match self.inner.read(&mut probe) {
                    Ok(0) => break Ok(0),
                    Ok(_) => {
                        break Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            self.limit.exceeded(),
                        ));
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // The zip reader checks the declared size too ("File is larger than its
                    // declared uncompressed size"): the same finding, reported as ours. A bad
                    // checksum at the very end is a different one.
                    Err(e)
                        if matches!(self.limit.rule, Rule::Declared)
                            && e.kind() == io::ErrorKind::InvalidData
                            && !e.to_string().contains("checksum") =>
                    {
                        break Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            self.limit.exceeded(),
                        ));
                    }
                    Err(e) => break Err(e),
                }
            };
        }
        let want = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        let Some(window) = buf.get_mut(..want) else {
            return Ok(0);
        };
        let n = self.inner.read(window)?;
        self.read = self.read.saturating_add(n as u64);
        Ok(n)
    }
}

/// What the end of a zip declares about its central directory: the entry count and the
/// directory's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Directory {
    pub(super) entries: u64,
    pub(super) bytes: u64,
}

/// Reads the end-of-central-directory record (and the zip64 one it points to) from the last
/// bytes of `file`, before the zip reader parses the directory: a directory declaring millions
/// of entries is refused before it is held in memory. `None` when no record is found (the zip
/// reader then reports the damage).
pub(super) fn declared_directory<R: Read + Seek>(
    file: &mut R,
    len: u64,
) -> io::Result<Option<Directory>> {
    const EOCD: usize = 22;
    const LOCATOR: usize = 20;
    let tail_len = len.min((EOCD + LOCATOR + usize::from(u16::MAX)) as u64);
    let mut tail = vec![0_u8; usize::try_from(tail_len).unwrap_or(0)];
    file.seek(SeekFrom::Start(len - tail_len))?;
    file.read_exact(&mut tail)?;
    let Some(eocd) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else {
        return Ok(None);
    };
    let (Some(entries), Some(bytes)) = (le_u16(&tail, eocd + 10), le_u32(&tail, eocd + 12)) else {
        return Ok(None);
    };
    if entries != u16::MAX && bytes != u32::MAX {
        return Ok(Some(Directory {
            entries: entries.into(),
            bytes: bytes.into(),
        }));
    }
    // Zip64: the locator sits right before the record and gives the zip64 record's offset.
    let Some(locator) = eocd.checked_sub(LOCATOR) else {
        return Ok(None);
    };
    if tail.get(locator..locator + 4) != Some(b"PK\x06\x07") {
        return Ok(None);
    }
    let Some(record_at) = le_u64(&tail, locator + 8) else {
        return Ok(None);
    };
    let mut record = [0_u8; 56];
    if record_at.checked_add(56).is_none_or(|end| end > len) {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(record_at))?;
    file.read_exact(&mut record)?;
    if !record.starts_with(b"PK\x06\x06") {
        return Ok(None);
    }
    Ok(le_u64(&record, 32)
        .zip(le_u64(&record, 40))
        .map(|(entries, bytes)| Directory { entries, bytes }))
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}
