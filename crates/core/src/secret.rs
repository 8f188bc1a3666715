//! Key material that wipes itself on drop and never prints.

use rand::Rng as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A 256-bit database key. `Debug` prints `<redacted>`; the bytes are zeroed on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DbKey([u8; 32]);

impl DbKey {
    /// A fresh random key from the operating system's CSPRNG.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        DbKey(bytes)
    }

    /// Takes a key from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DbKey(arr))
    }

    /// The raw bytes, for wrapping and storing.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The SQLCipher statement that sets this key as a raw key (no PBKDF2 on open).
    pub(crate) fn pragma(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(80));
        s.push_str("PRAGMA key = \"x'");
        for b in self.0 {
            s.push(hex_digit(b >> 4));
            s.push(hex_digit(b & 0x0f));
        }
        s.push_str("'\";");
        s
    }
}

fn hex_digit(n: u8) -> char {
    char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(<redacted>)")
    }
}

/// The app passcode as typed by the user. `Debug` prints `<redacted>`; zeroed on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Passcode(String);

impl Passcode {
    /// Wraps what the user typed.
    pub fn new(s: impl Into<String>) -> Self {
        Passcode(s.into())
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// True when nothing was typed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Passcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passcode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_secrets_leaks_nothing() {
        let key = DbKey::from_slice(&[0xab; 32]).unwrap();
        let shown = format!("{key:?} {key:#?}");
        assert!(!shown.contains("ab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
        assert!(shown.contains("<redacted>"));
        let pass = Passcode::new("hunter2-correct-horse");
        let shown = format!("{pass:?} {pass:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn raw_key_pragma_is_a_hex_blob_literal() {
        let key = DbKey::from_slice(&[0x0f; 32]).unwrap();
        let p = key.pragma();
        assert_eq!(p.len(), "PRAGMA key = \"x''\";".len() + 64);
        assert!(p.starts_with("PRAGMA key = \"x'0f0f"));
    }
}
