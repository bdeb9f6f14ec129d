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
    #[error("The name cannot contain invisible characters, such as zero-width spaces.")]
    Invisible,
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
        if has_stray_invisible(name) {
            return Err(InvalidKeyName::Invisible);
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

/// Characters that render as nothing, so a name made of them looks blank and
/// "CRM\u{200B}" passes for "CRM". Joiners, variation selectors and tags are kept where
/// they belong, right after a non-ASCII character (emoji sequences such as 👩‍💻 or ❤️).
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}'
        | '\u{206A}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

fn is_sequence_glue(c: char) -> bool {
    matches!(c, '\u{200D}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0020}'..='\u{E007F}')
}

fn has_stray_invisible(name: &str) -> bool {
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if is_invisible(c) {
            let glued = is_sequence_glue(c) && previous.is_some_and(|p| !p.is_ascii() && !p.is_whitespace());
            if !glued {
                return true;
            }
        }
        previous = Some(c);
    }
    false
}

/// Whether what someone typed to confirm a deletion is the key's name. Dashes and
/// quotes of every kind count as the plain ones and runs of spaces as one, since
/// "Zapier – orders" (en dash) cannot be typed on most keyboards; letters and
/// capitals must match exactly.
pub fn confirms(name: &str, typed: &str) -> bool {
    fn canonical(text: &str) -> String {
        let mapped: String = text
            .chars()
            .map(|c| match c {
                '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => '-',
                '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' => '\'',
                '\u{201C}' | '\u{201D}' | '\u{201F}' | '\u{2033}' => '"',
                c => c,
            })
            .collect();
        mapped.split_whitespace().collect::<Vec<_>>().join(" ")
    }
    canonical(name) == canonical(typed)
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

    #[test]
    fn invisible_characters_are_refused_but_emoji_sequences_kept() {
        for raw in
            ["\u{200B}", "\u{3164}", "\u{2800}", "CRM\u{200B}", "\u{FEFF}CRM", "C\u{00AD}RM", "a\u{200D}b", "\u{FE0F}"]
        {
            assert_eq!(KeyName::parse(raw).unwrap_err(), InvalidKeyName::Invisible, "{raw:?}");
        }
        for raw in ["Dev 👩\u{200D}💻", "Love ❤\u{FE0F}", "Zapier – orders"] {
            assert_eq!(KeyName::parse(raw).unwrap().as_str(), raw);
        }
    }

    #[test]
    fn deletion_is_confirmed_by_the_name_typed_with_any_dash() {
        assert!(confirms("Zapier – orders", "Zapier - orders"));
        assert!(confirms("Zapier – orders", " Zapier  –  orders "));
        assert!(confirms("Bob’s CRM", "Bob's CRM"));
        assert!(!confirms("Zapier – orders", "zapier - orders"), "capitals still count");
        assert!(!confirms("Zapier – orders", "Zapier orders"));
        assert!(!confirms("Zapier", ""));
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
