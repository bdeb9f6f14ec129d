//! A key's name, parsed at the edge: trimmed, 1–100 characters, no control characters
//! and no bidirectional overrides (which could make one name read as another).

use std::fmt;

pub const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKeyName {
    #[error("Enter a name, such as the system that will use the key.")]
    Empty,
    #[error("Use at most 100 characters.")]
    TooLong,
    #[error("The name cannot contain control characters.")]
    ControlCharacters,
    #[error("The name cannot contain text-direction control characters.")]
    DirectionControls,
    /// U+FFFD: the form carried bytes that were not valid UTF-8.
    #[error("The name contains characters that could not be read; type it again.")]
    Unreadable,
}

impl KeyName {
    pub fn parse(raw: &str) -> Result<Self, InvalidKeyName> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(InvalidKeyName::Empty);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(InvalidKeyName::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidKeyName::ControlCharacters);
        }
        if name.chars().any(is_direction_control) {
            return Err(InvalidKeyName::DirectionControls);
        }
        if name.contains('\u{FFFD}') {
            return Err(InvalidKeyName::Unreadable);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the marks
/// U+200E/U+200F: invisible, yet they reorder what is displayed ("Trojan Source").
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(KeyName::parse("  Zapier  ").unwrap().as_str(), "Zapier");
        assert_eq!(KeyName::parse("   ").unwrap_err(), InvalidKeyName::Empty);
        assert_eq!(KeyName::parse(&"é".repeat(100)).unwrap().as_str().chars().count(), 100);
        assert_eq!(KeyName::parse(&"é".repeat(101)).unwrap_err(), InvalidKeyName::TooLong);
        assert_eq!(KeyName::parse("a\u{0}b").unwrap_err(), InvalidKeyName::ControlCharacters);
        assert_eq!(KeyName::parse("a\u{FFFD}b").unwrap_err(), InvalidKeyName::Unreadable);
        assert_eq!(KeyName::parse("<script>").unwrap().as_str(), "<script>");
        // "Zapier\u{202E}gnp.exe" would display as "Zapierexe.png".
        assert_eq!(KeyName::parse("Zapier\u{202E}gnp.exe").unwrap_err(), InvalidKeyName::DirectionControls);
        assert_eq!(KeyName::parse("a\u{2067}b").unwrap_err(), InvalidKeyName::DirectionControls);
        assert_eq!(KeyName::parse("שלום Zapier").unwrap().as_str(), "שלום Zapier", "right-to-left text itself is fine");
    }

    proptest! {
        #[test]
        fn accepted_names_are_trimmed_and_bounded(raw in "\\PC{0,120}") {
            if let Ok(name) = KeyName::parse(&raw) {
                prop_assert_eq!(name.as_str(), name.as_str().trim());
                let len = name.as_str().chars().count();
                prop_assert!((1..=100).contains(&len));
                prop_assert_eq!(KeyName::parse(name.as_str()).unwrap(), name);
            }
        }
    }
}
