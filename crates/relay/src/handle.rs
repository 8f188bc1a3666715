//! Handles: `@name`, unique, normalised before use.

/// A normalised handle: `[a-z0-9_.]{3,32}`, without the leading '@'.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Handle(String);

/// Why a string is not a handle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a handle is 3 to 32 of a-z, 0-9, '_' and '.' (after an optional '@')")]
pub struct HandleError;

impl Handle {
    /// Removes one leading '@', lowercases (ASCII), and checks `[a-z0-9_.]{3,32}`.
    pub fn parse(raw: &str) -> Result<Self, HandleError> {
        let name = raw.strip_prefix('@').unwrap_or(raw).to_ascii_lowercase();
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.';
        if (3..=32).contains(&name.len()) && name.chars().all(valid_char) {
            Ok(Handle(name))
        } else {
            Err(HandleError)
        }
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_sign_and_case_are_normalised_away() {
        assert_eq!(Handle::parse("@Alice_01").unwrap().as_str(), "alice_01");
        assert_eq!(Handle::parse("bob.x").unwrap().as_str(), "bob.x");
    }

    #[test]
    fn wrong_lengths_and_characters_are_invalid() {
        for raw in [
            "ab",
            "@ab",
            "",
            "@",
            "a b c",
            "ali-ce",
            "@@alice",
            "ålice",
            "\u{212a}elvin",
            &"a".repeat(33),
        ] {
            assert_eq!(Handle::parse(raw), Err(HandleError), "{raw:?}");
        }
        assert!(Handle::parse(&"a".repeat(32)).is_ok());
    }
}
