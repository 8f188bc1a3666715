//! Reading the bytes of an export: a zip file shared between readers, the chat text streamed
//! from a zip entry, and media files beside a `.txt`.

use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use zip::ZipArchive;

use super::ImportError;
use super::limits::{Capped, Limit, Refused, take_refusal};
use super::names::{Entry, shown};

/// Bytes per chunk the entry reader hands over.
const CHUNK: usize = 256 << 10;
/// Chunks in flight between the decompressing thread and the reader (memory: CHUNK × this).
const CHUNKS_IN_FLIGHT: usize = 4;

/// The zip file read by position, so that clones of one [`ZipArchive`] (which share its parsed
/// central directory) read independently, each with its own offset.
#[derive(Debug, Clone)]
pub(super) struct PosFile {
    file: Arc<File>,
    pos: u64,
    len: u64,
}

impl PosFile {
    pub(super) fn new(file: File, len: u64) -> Self {
        PosFile {
            file: Arc::new(file),
            pos: 0,
            len,
        }
    }

    /// This reader moved back to the start of the file.
    pub(super) fn rewound(mut self) -> Self {
        self.pos = 0;
        self
    }
}

impl Read for PosFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(&*self.file, buf, self.pos)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(&*self.file, buf, self.pos)?;
        self.pos = self.pos.saturating_add(n as u64);
        Ok(n)
    }
}

impl Seek for PosFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let (base, offset) = match to {
            SeekFrom::Start(at) => {
                self.pos = at;
                return Ok(at);
            }
            SeekFrom::End(offset) => (self.len, offset),
            SeekFrom::Current(offset) => (self.pos, offset),
        };
        self.pos = base.checked_add_signed(offset).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        Ok(self.pos)
    }
}

enum Chunk {
    Data(Vec<u8>),
    Done,
    Failed(io::Error),
}

/// The chat text of a zip entry as a [`BufRead`]: a thread decompresses it (through the caps)
/// into a few chunks ahead of the reader, so memory stays bounded and the reader need not
/// borrow the archive. Dropping the reader stops the thread.
pub(super) struct EntryReader {
    chunks: Receiver<Chunk>,
    buf: Vec<u8>,
    pos: usize,
    end: End,
}

enum End {
    Open,
    Done,
    /// The error already reported, repeated if the caller reads again.
    Failed(io::ErrorKind, String),
}

impl EntryReader {
    pub(super) fn spawn(
        archive: ZipArchive<PosFile>,
        entry: Entry,
        limit: Limit,
    ) -> Result<Self, ImportError> {
        let (tx, rx) = sync_channel(CHUNKS_IN_FLIGHT);
        let name = entry.path.clone();
        std::thread::Builder::new()
            .name("whatsapp-unzip".into())
            .spawn(move || decompress(archive, &entry, limit, &tx))
            .map_err(|source| ImportError::Io { path: name, source })?;
        Ok(EntryReader {
            chunks: rx,
            buf: Vec::new(),
            pos: 0,
            end: End::Open,
        })
    }
}

fn decompress(
    mut archive: ZipArchive<PosFile>,
    entry: &Entry,
    limit: Limit,
    tx: &SyncSender<Chunk>,
) {
    let file = match archive.by_index(entry.index) {
        Ok(file) => file,
        Err(e) => {
            let message = format!("the entry \"{}\" cannot be read ({e})", shown(&entry.path));
            let _ = tx.send(Chunk::Failed(io::Error::new(
                io::ErrorKind::InvalidData,
                message,
            )));
            return;
        }
    };
    let mut capped = Capped::new(file, limit);
    loop {
        let mut chunk = vec![0_u8; CHUNK];
        let mut filled = 0;
        while let Some(window) = chunk.get_mut(filled..).filter(|w| !w.is_empty()) {
            match capped.read(window) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Chunk::Failed(name_the_entry(e, entry)));
                    return;
                }
            }
        }
        if filled == 0 {
            let _ = tx.send(Chunk::Done);
            return;
        }
        chunk.truncate(filled);
        if tx.send(Chunk::Data(chunk)).is_err() {
            return; // the reader was dropped
        }
    }
}

/// A read error that says which entry failed; a refusal (a cap) already does, and keeps its
/// payload so that it can be turned back into its [`ImportError`].
fn name_the_entry(error: io::Error, entry: &Entry) -> io::Error {
    if error.get_ref().is_some_and(|inner| inner.is::<Refused>()) {
        return error;
    }
    let message = format!(
        "the entry \"{}\" cannot be read ({error})",
        shown(&entry.path)
    );
    io::Error::new(error.kind(), message)
}

impl Read for EntryReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        if let (Some(to), Some(from)) = (out.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for EntryReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.buf.len() {
            match &self.end {
                End::Done => return Ok(&[]),
                End::Failed(kind, message) => return Err(io::Error::new(*kind, message.clone())),
                End::Open => {}
            }
            match self.chunks.recv() {
                Ok(Chunk::Data(chunk)) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Ok(Chunk::Done) => self.end = End::Done,
                Ok(Chunk::Failed(error)) => {
                    self.end = End::Failed(error.kind(), error.to_string());
                    return Err(error);
                }
                Err(_) => {
                    let message = "the chat text reader stopped before the end of the text";
                    self.end = End::Failed(io::ErrorKind::BrokenPipe, message.into());
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, message));
                }
            }
        }
        Ok(self.buf.get(self.pos..).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.pos = self.pos.saturating_add(amount).min(self.buf.len());
    }
}

/// A media file beside a `.txt`, read only if it is still a regular file (never through a link)
/// and at most `cap` bytes.
pub(super) fn read_beside(path: &Path, cap: u64) -> Result<Vec<u8>, ImportError> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let io = |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let before = std::fs::symlink_metadata(path).map_err(io)?;
    if !before.file_type().is_file() {
        return Err(ImportError::Invalid(format!(
            "the media file {} is no longer a regular file",
            shown(&name)
        )));
    }
    let file = File::open(path).map_err(io)?;
    #[cfg(unix)]
    {
        // The name may have been swapped for a link between the check and the open.
        use std::os::unix::fs::MetadataExt;
        let opened = file.metadata().map_err(io)?;
        if (opened.dev(), opened.ino()) != (before.dev(), before.ino()) {
            return Err(ImportError::Invalid(format!(
                "the media file {} changed while it was read",
                shown(&name)
            )));
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(before.len().min(cap)).unwrap_or(0));
    Capped::new(file, Limit::file(&name, cap))
        .read_to_end(&mut bytes)
        .map_err(|e| take_refusal(e).unwrap_or_else(io))?;
    Ok(bytes)
}
