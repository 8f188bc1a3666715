//! The import and preview of an opened export ([`Source`]): detection, digest and parse wired
//! to [`super::run`] and the report.

use std::cell::Cell;
use std::io::{BufRead, Read};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;

use super::digest::{Digest, HashingReader};
use super::{ImportOptions, Input, Progress, Summary, run};
use crate::account::Account;
use crate::import::whatsapp::ImportError;
use crate::import::whatsapp::archive::Source;
use crate::import::whatsapp::detect::detect;
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
/// participant is "me". Reads the whole export once, keeping only counts.
pub fn preview(source: &Source, date_order: Option<DateOrder>) -> Result<Preview, ImportError> {
    let detection = detect(source.text()?, date_order)?;
    let mut report = ReportBuilder::new(&detection, source);
    let mut entries = Vec::with_capacity(PREVIEW_ENTRIES);
    for item in Parser::new(source.text()?, &detection) {
        let item = item?;
        report.add(&item);
        if let Parsed::Entry(entry) = &item
            && entries.len() < PREVIEW_ENTRIES
        {
            entries.push(PreviewEntry::from(entry));
        }
    }
    let report = report.finish();
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
    let read = Rc::new(Cell::new(0u64));
    let reader = Counting {
        inner: source.text()?,
        read: Rc::clone(&read),
    };
    let entries = Parser::new(reader, &detection);
    let bytes_done = move || read.get();
    run(
        account,
        Input {
            detection,
            digest,
            entries,
            media: source,
            bytes_total,
            bytes_done: &bytes_done,
        },
        options,
        progress,
        cancel,
    )
}

/// Counts the bytes the parser consumed, for [`Progress::bytes_done`].
struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.read.set(self.read.get() + amount as u64);
        self.inner.consume(amount);
    }
}
