//! The export's bytes in chunks that end at a line end, and an ordered pool of worker threads
//! that process them: the detect pass and the parser both split the text this way, so that two
//! cores read one export (each chunk is about [`CHUNK_BYTES`]; a few are in flight at a time,
//! whatever the file's size).
//!
//! A chunk never splits a line, nor a `\r\n` pair: a cut is made after an `\n`, or after an `\r`
//! whose next byte is already known not to be an `\n`.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, ErrorKind};
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use super::super::ImportError;
use super::MAX_LINE_BYTES;

#[cfg(test)]
mod tests;

/// The size a chunk is cut at (the next line end after it).
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// Worker threads for one pass: the machine's cores, at most four.
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// How a physical line ended. `\r\n`, `\n` and a bare `\r` all end a line (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Lf,
    CrLf,
    Cr,
    /// The last line of a file without a final newline.
    Eof,
}

/// Whole lines of the text.
pub(crate) struct Chunk {
    pub bytes: Vec<u8>,
    /// How the line before the chunk ended (`None` for the first chunk).
    pub before: Option<Ending>,
    /// After this chunk's lines comes a line longer than [`MAX_LINE_BYTES`] (not read to its
    /// end); the text is not read further.
    pub overlong: bool,
}

impl Chunk {
    /// The physical lines of the chunk, with how each ended.
    #[cfg(test)]
    pub(crate) fn lines(&self) -> Lines<'_> {
        Lines::new(&self.bytes)
    }

    /// The chunk's lines, numbered from 1, up to the first longer than [`MAX_LINE_BYTES`].
    pub(crate) fn walk(&self) -> Walk<'_> {
        // Valid UTF-8 is the usual case: one check for all the lines.
        let text = simdutf8::basic::from_utf8(&self.bytes).ok();
        Walk::new(&self.bytes, text, self.before)
    }
}

/// One line of a chunk.
pub(crate) struct Line<'a> {
    /// Counted from the chunk's start (1-based).
    pub number: u64,
    /// Where the line starts in the chunk.
    pub start: usize,
    /// Without its ending.
    pub bytes: &'a [u8],
    /// How the line before it ended (`None` for the file's first line).
    pub before: Option<Ending>,
    text: Option<&'a str>,
}

impl<'a> Line<'a> {
    /// The line as text; invalid UTF-8 is replaced (lossy fallback, §5).
    pub(crate) fn text(&self) -> Cow<'a, str> {
        match self.text {
            Some(text) => Cow::Borrowed(text),
            None => String::from_utf8_lossy(self.bytes),
        }
    }
}

/// The lines of a chunk ([`Chunk::walk`]). It stops before a line longer than
/// [`MAX_LINE_BYTES`], whose number is then `overlong_at`; `number` counts the lines seen,
/// that one included.
pub(crate) struct Walk<'a> {
    lines: Lines<'a>,
    bytes: &'a [u8],
    text: Option<&'a str>,
    previous: Option<Ending>,
    pub number: u64,
    pub overlong_at: Option<u64>,
}

impl<'a> Walk<'a> {
    /// The lines of a chunk's `bytes`; `text`: the same bytes as a `str` when they are valid
    /// UTF-8 (otherwise each line is read lossily); `before`: how the line before the chunk
    /// ended.
    pub(crate) fn new(bytes: &'a [u8], text: Option<&'a str>, before: Option<Ending>) -> Self {
        Walk {
            lines: Lines::new(bytes),
            bytes,
            text,
            previous: before,
            number: 0,
            overlong_at: None,
        }
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.overlong_at.is_some() {
            return None;
        }
        let (start, end, ending) = self.lines.next()?;
        self.number += 1;
        let bytes = self.bytes.get(start..end).unwrap_or_default();
        if bytes.len() > MAX_LINE_BYTES {
            self.overlong_at = Some(self.number);
            return None;
        }
        Some(Line {
            number: self.number,
            start,
            bytes,
            before: self.previous.replace(ending),
            text: self
                .text
                .map(|text| text.get(start..end).unwrap_or_default()),
        })
    }
}

/// Lines of a chunk: `(start, end)` byte offsets of the line without its ending, and the ending.
pub(crate) struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The bytes hold a `\r`.
    cr: bool,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Lines {
            bytes,
            pos: 0,
            // Android exports hold no `\r`: one byte to look for is a faster search.
            cr: memchr::memchr(b'\r', bytes).is_some(),
        }
    }
}

impl Iterator for Lines<'_> {
    type Item = (usize, usize, Ending);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        let rest = self.bytes.get(start..)?;
        if rest.is_empty() {
            return None;
        }
        let found = if self.cr {
            memchr::memchr2(b'\n', b'\r', rest)
        } else {
            memchr::memchr(b'\n', rest)
        };
        match found {
            None => {
                self.pos = self.bytes.len();
                Some((start, self.bytes.len(), Ending::Eof))
            }
            Some(at) => {
                let end = start + at;
                if rest.get(at) == Some(&b'\n') {
                    self.pos = end + 1;
                    Some((start, end, Ending::Lf))
                } else if rest.get(at + 1) == Some(&b'\n') {
                    self.pos = end + 2;
                    Some((start, end, Ending::CrLf))
                } else {
                    self.pos = end + 1;
                    Some((start, end, Ending::Cr))
                }
            }
        }
    }
}

/// Reads a `BufRead` into [`Chunk`]s.
pub(crate) struct ChunkReader<R> {
    inner: R,
    carry: Vec<u8>,
    /// Buffers of chunks already processed, handed back to be filled again (fresh 1 MiB
    /// buffers cost page faults, and freeing them on a worker thread unmaps them).
    spare: Vec<Vec<u8>>,
    before: Option<Ending>,
    size: usize,
    done: bool,
}

fn io_error(source: std::io::Error) -> ImportError {
    ImportError::Io {
        path: "the chat text".to_owned(),
        source,
    }
}

/// Reads from `inner` into `buf` after its first `filled` bytes until `target` bytes are
/// filled: the bytes filled, and whether the input ended. Reads straight into `buf` (a large
/// read bypasses a `BufReader`'s own buffer: one copy, not two); `buf` only grows, and the bytes
/// past the filled ones are left as they were (a recycled buffer is not zeroed again).
fn read_to<R: BufRead>(
    inner: &mut R,
    buf: &mut Vec<u8>,
    mut filled: usize,
    target: usize,
) -> Result<(usize, bool), ImportError> {
    loop {
        if filled >= target {
            return Ok((filled, false));
        }
        // At most a chunk's size at a time (tests read "everything" with `usize::MAX`).
        let end = target.min(filled + CHUNK_BYTES);
        if buf.len() < end {
            buf.resize(end, 0);
        }
        match inner.read(buf.get_mut(filled..end).unwrap_or_default()) {
            Ok(0) => return Ok((filled, true)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e)),
        }
    }
}

/// Where to cut `buf` (the offset after the last line end whose kind is certain), if anywhere.
fn cut(buf: &[u8]) -> Option<(usize, Ending)> {
    let mut end = buf.len();
    loop {
        let at = memchr::memrchr2(b'\n', b'\r', buf.get(..end)?)?;
        match buf.get(at) {
            Some(b'\n') => {
                let ending = if at > 0 && buf.get(at - 1) == Some(&b'\r') {
                    Ending::CrLf
                } else {
                    Ending::Lf
                };
                return Some((at + 1, ending));
            }
            // An `\r` at the very end: an `\n` may follow in the next read.
            _ if at + 1 == buf.len() => end = at,
            _ => return Some((at + 1, Ending::Cr)),
        }
    }
}

impl<R: BufRead> ChunkReader<R> {
    /// Chunks cut at `size` bytes (tests cut them small to check that cuts change nothing).
    pub(crate) fn with_size(inner: R, size: usize) -> Self {
        Self {
            inner,
            carry: Vec::new(),
            spare: Vec::new(),
            before: None,
            size: size.max(1),
            done: false,
        }
    }

    /// Takes back the buffer of a processed chunk, to be filled again.
    pub(crate) fn recycle(&mut self, buffer: Vec<u8>) {
        if self.spare.len() < 8
            && buffer.capacity() > 0
            && buffer.capacity() <= 2 * CHUNK_BYTES + MAX_LINE_BYTES
        {
            self.spare.push(buffer);
        }
    }

    /// Whether the end of the text was reached (the chunk last returned was the last).
    pub(crate) fn finished(&self) -> bool {
        self.done
    }

    /// The next chunk; `None` after the last.
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Chunk>, ImportError> {
        if self.done {
            return Ok(None);
        }
        // A recycled buffer keeps its length: its bytes are overwritten, not zeroed again.
        let mut buf = self.spare.pop().unwrap_or_default();
        let mut filled = self.carry.len();
        if buf.len() < filled {
            buf.resize(filled, 0);
        }
        buf.get_mut(..filled)
            .unwrap_or_default()
            .copy_from_slice(&self.carry);
        self.carry.clear();
        let mut target = filled.max(self.size);
        loop {
            let ended;
            (filled, ended) = read_to(&mut self.inner, &mut buf, filled, target)?;
            if ended {
                buf.truncate(filled);
                self.done = true;
                if buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(Chunk {
                    bytes: buf,
                    before: self.before,
                    overlong: false,
                }));
            }
            if let Some((at, ending)) = cut(buf.get(..filled).unwrap_or_default()) {
                self.carry
                    .extend_from_slice(buf.get(at..filled).unwrap_or_default());
                buf.truncate(at);
                let before = self.before.replace(ending);
                return Ok(Some(Chunk {
                    bytes: buf,
                    before,
                    overlong: false,
                }));
            }
            // One unfinished line fills the buffer (a last `\r` may yet end it).
            let content = filled - usize::from(filled > 0 && buf.get(filled - 1) == Some(&b'\r'));
            if content > MAX_LINE_BYTES {
                self.done = true;
                return Ok(Some(Chunk {
                    bytes: Vec::new(),
                    before: self.before,
                    overlong: true,
                }));
            }
            target = filled + self.size;
        }
    }
}

/// Jobs run on worker threads, results taken back in the order the jobs were given. Each worker
/// keeps a state of its own (`S`) and takes the next job when it is free (one queue for all: a
/// worker that got the heavier chunks does not hold the others up). With one worker, jobs run on
/// the caller's thread.
pub(crate) struct Ordered<J, T, S> {
    jobs: Option<SyncSender<(usize, J)>>,
    /// Results with their job's number; `None`: the worker stopped on that job (a panic).
    results: Option<Receiver<(usize, Option<T>)>>,
    /// Results that came back before the ones given earlier.
    early: BTreeMap<usize, Option<T>>,
    workers: usize,
    /// One worker: the state and the results of jobs run inline.
    inline: Option<(S, VecDeque<T>)>,
    work: fn(&mut S, J) -> T,
    given: usize,
    taken: usize,
}

impl<J: Send + 'static, T: Send + 'static, S: Send + 'static> Ordered<J, T, S> {
    pub(crate) fn new(workers: usize, state: impl Fn() -> S, work: fn(&mut S, J) -> T) -> Self {
        let mut pool = Self {
            jobs: None,
            results: None,
            early: BTreeMap::new(),
            workers: 0,
            inline: None,
            work,
            given: 0,
            taken: 0,
        };
        if workers > 1 {
            let (job_tx, job_rx) = sync_channel::<(usize, J)>(workers * 2);
            let (result_tx, result_rx) = sync_channel::<(usize, Option<T>)>(workers * 2);
            let job_rx = Arc::new(Mutex::new(job_rx));
            for index in 0..workers {
                let (jobs, results) = (Arc::clone(&job_rx), result_tx.clone());
                let mut own = state();
                let spawned = std::thread::Builder::new()
                    .name(format!("import-parse-{index}"))
                    .spawn(move || {
                        loop {
                            let next = match jobs.lock() {
                                Ok(queue) => queue.recv(),
                                Err(_) => return,
                            };
                            let Ok((number, job)) = next else { return };
                            // A panic (a bug) is reported to the caller instead of leaving it
                            // waiting for this result.
                            let done =
                                std::panic::catch_unwind(AssertUnwindSafe(|| work(&mut own, job)))
                                    .ok();
                            let stopped = done.is_none();
                            if results.send((number, done)).is_err() || stopped {
                                return;
                            }
                        }
                    });
                if spawned.is_err() {
                    // No thread to be had: the ones started do the work.
                    break;
                }
                pool.workers += 1;
            }
            if pool.workers > 0 {
                pool.jobs = Some(job_tx);
                pool.results = Some(result_rx);
            }
        }
        if pool.workers == 0 {
            pool.inline = Some((state(), VecDeque::new()));
        }
        pool
    }

    /// Jobs given whose results were not taken yet.
    pub(crate) fn in_flight(&self) -> usize {
        self.given - self.taken
    }

    /// How many jobs to keep in flight: enough that a worker finds the next chunk ready while
    /// the caller's thread is busy with the results.
    pub(crate) fn depth(&self) -> usize {
        (self.workers * 3).max(1)
    }

    pub(crate) fn give(&mut self, job: J) {
        let number = self.given;
        self.given += 1;
        if let Some((state, done)) = &mut self.inline {
            done.push_back((self.work)(state, job));
            return;
        }
        if let Some(jobs) = &self.jobs {
            // With every worker gone the result stays missing; `take` reports that.
            let _ = jobs.send((number, job));
        }
    }

    /// The result of the oldest job not yet taken; `None` when no job is in flight, or when a
    /// worker stopped (it panicked: a bug, reported by the caller as an error).
    pub(crate) fn take(&mut self) -> Option<T> {
        if self.taken == self.given {
            return None;
        }
        let wanted = self.taken;
        self.taken += 1;
        if let Some((_, done)) = &mut self.inline {
            return done.pop_front();
        }
        loop {
            if let Some(result) = self.early.remove(&wanted) {
                return result;
            }
            let (number, result) = self.results.as_ref()?.recv().ok()?;
            if number == wanted {
                return result;
            }
            self.early.insert(number, result);
        }
    }
}
