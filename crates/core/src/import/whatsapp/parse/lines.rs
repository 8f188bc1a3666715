//! Physical lines from a `BufRead`, with a bounded buffer: a line longer than
//! [`MAX_LINE_BYTES`] is an error as soon as the cap is crossed, whatever the file's size.

use std::borrow::Cow;
use std::io::{BufRead, ErrorKind};

use super::super::ImportError;
use super::MAX_LINE_BYTES;

/// How a physical line ended. `\r\n`, `\n` and a bare `\r` all end a line (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Lf,
    CrLf,
    Cr,
    /// The last line of a file without a final newline.
    Eof,
}

/// Reads physical lines into one reused buffer.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    line: u64,
    done: bool,
}

fn io_error(source: std::io::Error) -> ImportError {
    ImportError::Io {
        path: "the chat text".to_owned(),
        source,
    }
}

fn fill<R: BufRead>(inner: &mut R) -> Result<&[u8], ImportError> {
    loop {
        match inner.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(e)),
        }
    }
    inner.fill_buf().map_err(io_error)
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(256),
            line: 0,
            done: false,
        }
    }

    /// The number of the line last returned (1-based).
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// The bytes of the line last returned, without its ending.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The line last returned as text; invalid UTF-8 is replaced (lossy fallback, §5).
    pub(crate) fn text(&self) -> Cow<'_, str> {
        match simdutf8::basic::from_utf8(&self.buf) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&self.buf),
        }
    }

    /// Reads the next physical line; `None` at the end of the input.
    pub(crate) fn next_line(&mut self) -> Result<Option<Ending>, ImportError> {
        self.buf.clear();
        if self.done {
            return Ok(None);
        }
        loop {
            let available = fill(&mut self.inner)?;
            if available.is_empty() {
                self.done = true;
                if self.buf.is_empty() {
                    return Ok(None);
                }
                self.line += 1;
                return Ok(Some(Ending::Eof));
            }
            match memchr::memchr2(b'\n', b'\r', available) {
                Some(at) => {
                    let terminator = available.get(at).copied();
                    let piece = available.get(..at).unwrap_or_default();
                    if self.buf.len() + piece.len() > MAX_LINE_BYTES {
                        return Err(ImportError::LineTooLong {
                            line: self.line + 1,
                            limit: MAX_LINE_BYTES,
                        });
                    }
                    self.buf.extend_from_slice(piece);
                    self.inner.consume(at + 1);
                    self.line += 1;
                    if terminator == Some(b'\n') {
                        return Ok(Some(Ending::Lf));
                    }
                    let next = fill(&mut self.inner)?;
                    if next.first() == Some(&b'\n') {
                        self.inner.consume(1);
                        return Ok(Some(Ending::CrLf));
                    }
                    return Ok(Some(Ending::Cr));
                }
                None => {
                    let n = available.len();
                    if self.buf.len() + n > MAX_LINE_BYTES {
                        return Err(ImportError::LineTooLong {
                            line: self.line + 1,
                            limit: MAX_LINE_BYTES,
                        });
                    }
                    self.buf.extend_from_slice(available);
                    self.inner.consume(n);
                }
            }
        }
    }
}
