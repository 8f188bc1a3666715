//! A bounds-checked cursor over untrusted bytes, shared by every decoder in this crate.

/// Reads fixed-size fields front to back; `None` means the input ended early.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader(bytes)
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(u8::from_be_bytes)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array::<4>().map(u32::from_be_bytes)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Copies `parts` one after another into `out` (the parts' total length must be `out.len()`).
pub(crate) fn fill(out: &mut [u8], parts: &[&[u8]]) {
    for (o, i) in out.iter_mut().zip(parts.iter().flat_map(|p| p.iter())) {
        *o = *i;
    }
}
