//! The import and preview of an opened export ([`Source`]): detection, digest and parse wired
//! to [`super::run`] and the report.

use std::io::{BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::thread::Scope;

use super::digest::{Digest, HashingReader};
use super::{ImportOptions, Input, Progress, Summary, run};
use crate::account::Account;
use crate::import::whatsapp::ImportError;
use crate::import::whatsapp::archive::Source;
use crate::import::whatsapp::detect::{Visit, detect, detect_and_parse};
use crate::import::whatsapp::model::{DateOrder, Parsed};
use crate::import::whatsapp::parse::Parser;
use crate::import::whatsapp::report::{
    MediaFiles, PREVIEW_ENTRIES, Preview, PreviewEntry, ReportBuilder, guess_me,
};

impl MediaFiles for Source {
    fn has_media(&self, name: &str) -> bool {
        Source::has_media(self, name)
    }

    fn read_media(&self, name: &str) -> Result<Option<Vec<u8>>, ImportError> {
        Source::read_media(self, name)
    }
}

/// What the wizard shows before importing: the report, the first entries and a guess of which
/// participant is "me". Reads the whole export, mostly once ([`detect_and_parse`]), keeping
/// only counts.
pub fn preview(source: &Source, date_order: Option<DateOrder>) -> Result<Preview, ImportError> {
    let mut report = ReportBuilder::new(source);
    let mut entries = Vec::with_capacity(PREVIEW_ENTRIES);
    let detection = detect_and_parse(
        || source.text(),
        date_order,
        |visit| match visit {
            Visit::Item(item) => {
                report.add(&item);
                if let Parsed::Entry(entry) = &item
                    && entries.len() < PREVIEW_ENTRIES
                {
                    entries.push(PreviewEntry::from(entry));
                }
            }
            Visit::Restart => {
                report = ReportBuilder::new(source);
                entries.clear();
            }
        },
    )?;
    let report = report.finish(&detection);
    let chat_title = source.chat_title();
    let guessed_me = guess_me(&report.participants, chat_title.as_deref());
    Ok(Preview {
        report,
        entries,
        chat_title,
        guessed_me,
    })
}

/// Imports `source` into `account` as `options` say (see the module doc of [`super`]).
/// Blocking: call it on a thread that may wait for the disk. `progress` is called after every
/// batch; setting `cancel` stops at the next batch with [`ImportError::Cancelled`], leaving
/// nothing visible.
pub fn import(
    account: &Account,
    source: &Source,
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
    cancel: &AtomicBool,
) -> Result<Summary, ImportError> {
    let mut hashing = HashingReader::new(source.text()?);
    let detection = detect(&mut hashing, options.date_order)?;
    let (text_hash, bytes_total) = hashing.drain().map_err(|e| ImportError::Io {
        path: source.text_name().to_owned(),
        source: e,
    })?;
    let digest = Digest::of(text_hash, detection.family, detection.date_order);
    let read = Arc::new(AtomicU64::new(0));
    let reader = Counting {
        inner: source.text()?,
        read: Arc::clone(&read),
    };
    // One parsing thread: the database writer is the slower side, and a second worker would
    // take the core it writes on.
    let parser = Parser::with_workers(reader, &detection, 1);
    let bytes_done = move || read.load(Ordering::Relaxed);
    std::thread::scope(|scope| {
        run(
            account,
            Input {
                detection,
                digest,
                entries: ahead(scope, parser),
                media: source,
                bytes_total,
                bytes_done: &bytes_done,
            },
            options,
            progress,
            cancel,
        )
    })
}

/// Items per chunk handed from the parsing thread to the writer, and chunks parsed ahead.
const CHUNK: usize = 1024;
const CHUNKS_AHEAD: usize = 4;

/// Runs `items` on a second thread of `scope`, a few chunks ahead of the caller, so that
/// parsing the export overlaps with writing the database (the import's wall time is the
/// slower of the two, not their sum). Memory: at most `CHUNKS_AHEAD + 2` chunks. When the
/// returned iterator is dropped (the import failed or was cancelled), the thread stops at its
/// next chunk.
fn ahead<'scope, I>(
    scope: &'scope Scope<'scope, '_>,
    items: I,
) -> impl Iterator<Item = I::Item> + 'scope
where
    I: Iterator + Send + 'scope,
    I::Item: Send + 'scope,
{
    let (tx, rx) = sync_channel::<Vec<I::Item>>(CHUNKS_AHEAD);
    scope.spawn(move || {
        let mut chunk = Vec::with_capacity(CHUNK);
        for item in items {
            chunk.push(item);
            if chunk.len() == CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                if tx.send(full).is_err() {
                    return;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = tx.send(chunk);
        }
    });
    rx.into_iter().flatten()
}

/// Counts the bytes the parser consumed, for [`Progress::bytes_done`].
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.read.fetch_add(amount as u64, Ordering::Relaxed);
        self.inner.consume(amount);
    }
}
