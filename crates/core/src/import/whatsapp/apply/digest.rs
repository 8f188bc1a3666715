//! Content-derived identities: the digest of an export (which import record it belongs to) and
//! the id of each imported message.
//!
//! XXH3-128 (`xxhash-rust`): a fixed specification, so the same bytes give the same id on every
//! platform and release (which `std::hash` does not promise), at memory speed, and wide enough
//! that two different entries of real exports do not collide. It identifies content, it does
//! not authenticate it: a file crafted to collide can only make one of its own messages look
//! like another of its own.

use std::io::{BufRead, Read};

use xxhash_rust::xxh3::Xxh3;

use crate::ids::ChatId;
use crate::import::whatsapp::model::{DateOrder, Entry, EntryKind, Family};

/// A running XXH3-128 hash over length-prefixed fields.
#[derive(Clone)]
pub(crate) struct Hasher(Xxh3);

impl Hasher {
    pub(crate) fn new() -> Self {
        Hasher(Xxh3::new())
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(bytes);
        self
    }

    /// A length-prefixed field, so that ("ab", "c") and ("a", "bc") differ.
    pub(crate) fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes(&(bytes.len() as u64).to_le_bytes()).bytes(bytes)
    }

    pub(crate) fn finish(&self) -> [u8; 16] {
        self.0.digest128().to_le_bytes()
    }
}

/// What identifies one export for its import record: its text, family and date order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest([u8; 16]);

impl Digest {
    /// The digest of a text whose hash is `text` (see [`HashingReader`]), read as `family` with
    /// `date_order`.
    pub(crate) fn of(text: [u8; 16], family: Family, date_order: DateOrder) -> Self {
        let mut h = Hasher::new();
        h.field(b"missiva whatsapp export v2")
            .field(&text)
            .field(family.as_str().as_bytes())
            .field(date_order.as_str().as_bytes());
        Digest(h.finish())
    }

    /// The 16 bytes stored in `imports.source_digest`.
    pub fn as_bytes(&self) -> [u8; 16] {
        self.0
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({})", hex::encode(self.0))
    }
}

/// Hashes and counts every byte read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hash: Hasher,
    count: u64,
}

impl<R: BufRead> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hash: Hasher::new(),
            count: 0,
        }
    }

    /// Reads what is left, then returns the hash and the number of bytes of the whole input.
    pub(crate) fn drain(mut self) -> std::io::Result<([u8; 16], u64)> {
        loop {
            let n = {
                let buf = self.fill_buf()?;
                buf.len()
            };
            if n == 0 {
                return Ok((self.hash.finish(), self.count));
            }
            self.consume(n);
        }
    }
}

impl<R: BufRead> Read for HashingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.inner.fill_buf()?;
            let n = buf.len().min(out.len());
            if let (Some(dst), Some(src)) = (out.get_mut(..n), buf.get(..n)) {
                dst.copy_from_slice(src);
            }
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for HashingReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let seen = buf.get(..amount.min(buf.len())).unwrap_or_default();
            self.hash.bytes(seen);
        }
        self.count += amount as u64;
        self.inner.consume(amount);
    }
}

/// What makes an entry the entry it is, whatever chat it goes to.
pub(crate) fn content_hash(family: Family, entry: &Entry) -> [u8; 16] {
    let mut h = Hasher::new();
    h.field(family.as_str().as_bytes())
        .field(&entry.timestamp.assume_utc().unix_timestamp().to_le_bytes())
        .field(entry.author.as_deref().unwrap_or("\u{0}").as_bytes())
        .field(super::kind_tag(&entry.kind).as_bytes())
        .field(entry.body.as_bytes())
        .field(entry.attachment.as_deref().unwrap_or("").as_bytes());
    if let EntryKind::Poll(poll) = &entry.kind {
        h.field(poll.question.as_bytes());
        for option in &poll.options {
            h.field(option.text.as_bytes());
        }
    }
    h.finish()
}

/// The id of an imported message: its content (`content`, its [`content_hash`]), the
/// `ordinal`-th identical entry of the file, in `chat`.
///
/// The first 6 bytes are the timestamp (big-endian Unix seconds), the other 10 a hash: a
/// history goes into the `uid` index near its end, batch after batch, instead of touching
/// every page of the index in every batch (which made a million-message import write the index
/// a hundred times over).
pub(crate) fn message_uid(
    chat: ChatId,
    content: &[u8; 16],
    entry: &Entry,
    ordinal: u32,
) -> [u8; 16] {
    let mut h = Hasher::new();
    h.field(b"missiva imported message v2")
        .field(&chat.0.to_le_bytes())
        .field(content)
        .field(&ordinal.to_le_bytes());
    let hash = h.finish();
    let seconds = entry
        .timestamp
        .assume_utc()
        .unix_timestamp()
        .clamp(0, (1 << 48) - 1);
    let mut uid = [0u8; 16];
    for (dst, src) in uid
        .iter_mut()
        .zip(seconds.to_be_bytes().iter().skip(2).chain(hash.iter()))
    {
        *dst = *src;
    }
    uid
}
