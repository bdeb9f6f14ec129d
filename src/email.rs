//! Normalised e-mail address.
//!
//! Used both for conversion events and for admin users, so it carries no
//! inbound-specific rules: it only decides whether a string looks like an
//! address and puts it in one canonical form (trimmed, lower-cased).

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Longest accepted address, in characters (RFC 5321's path limit is 254).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A trimmed, lower-cased address with exactly one `@`, a non-empty local
/// part and a domain that contains a dot. Unicode is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

/// Why a string is not an acceptable address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailError {
    /// Nothing left after trimming.
    Empty,
    /// More than [`MAX_EMAIL_CHARS`] characters after normalising.
    TooLong,
    /// Does not look like `local@domain.tld`.
    Invalid,
    /// Contains a control character (NUL included), which we never store.
    ControlCharacters,
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EmailError::Empty => "email is required",
            EmailError::TooLong => "email must be at most 254 characters",
            EmailError::Invalid => "email must look like name@example.com",
            EmailError::ControlCharacters => "email must not contain control characters",
        })
    }
}

impl std::error::Error for EmailError {}

impl Email {
    /// Trims, lower-cases and validates `input`.
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(EmailError::ControlCharacters);
        }
        // Lower-casing never shrinks the character count, so this early
        // check is sound and spares lower-casing a huge string.
        if trimmed.chars().count() > MAX_EMAIL_CHARS {
            return Err(EmailError::TooLong);
        }
        let normalised = trimmed.to_lowercase();
        // Checked again: some characters lower-case to two (e.g. 'İ').
        if normalised.chars().count() > MAX_EMAIL_CHARS {
            return Err(EmailError::TooLong);
        }
        if normalised.chars().any(char::is_whitespace) {
            return Err(EmailError::Invalid);
        }
        let Some((local, domain)) = normalised.split_once('@') else {
            return Err(EmailError::Invalid);
        };
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(EmailError::Invalid);
        }
        Ok(Email(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Hex SHA-256 of the normalised address, the form ad platforms match on.
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_and_accepts() {
        let cases = [
            ("a@b.co", "a@b.co"),
            ("  Alice@Example.COM \n", "alice@example.com"),
            ("first.last+tag@sub.example.org", "first.last+tag@sub.example.org"),
            ("JÖRG@Bücher.de", "jörg@bücher.de"),
            ("用户@例子.广告", "用户@例子.广告"),
        ];
        for (input, expected) in cases {
            let email = Email::parse(input).expect(input);
            assert_eq!(email.as_str(), expected);
            assert_eq!(email.to_string(), expected);
        }
    }

    #[test]
    fn rejects() {
        let long_local = "a".repeat(250);
        let too_long = format!("{long_local}@b.com"); // 256 chars
        let exactly_max = format!("{}@b.com", "a".repeat(248)); // 254 chars
        assert!(Email::parse(&exactly_max).is_ok());
        let cases: Vec<(&str, EmailError)> = vec![
            ("", EmailError::Empty),
            ("   \t ", EmailError::Empty),
            (&too_long, EmailError::TooLong),
            ("a\u{0}b@c.com", EmailError::ControlCharacters),
            ("a@c.com\u{7f}", EmailError::ControlCharacters),
            ("a\tb@c.com", EmailError::ControlCharacters),
            ("a b@c.com", EmailError::Invalid),
            ("a@b\u{3000}c.com", EmailError::Invalid),
            ("no-at-sign.com", EmailError::Invalid),
            ("two@@at.com", EmailError::Invalid),
            ("a@b@c.com", EmailError::Invalid),
            ("@example.com", EmailError::Invalid),
            ("user@", EmailError::Invalid),
            ("user@localhost", EmailError::Invalid),
            ("user@.example.com", EmailError::Invalid),
            ("user@example.com.", EmailError::Invalid),
        ];
        for (input, expected) in cases {
            assert_eq!(Email::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn too_long_after_lowercasing() {
        // 'İ' (U+0130) lower-cases to two characters.
        let input = format!("{}@b.com", "İ".repeat(200));
        assert_eq!(Email::parse(&input), Err(EmailError::TooLong));
    }

    #[test]
    fn sha256_of_normalised_form() {
        let a = Email::parse(" Test@Example.com ").expect("valid");
        let b = Email::parse("test@example.com").expect("valid");
        assert_eq!(a.sha256_hex(), b.sha256_hex());
        assert_eq!(a.sha256_hex(), "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b");
    }

    #[test]
    fn error_messages_are_human() {
        for e in [EmailError::Empty, EmailError::TooLong, EmailError::Invalid, EmailError::ControlCharacters] {
            assert!(e.to_string().starts_with("email "));
        }
    }

    #[test]
    fn serializes_as_plain_string() {
        let e = Email::parse("A@B.io").expect("valid");
        assert_eq!(serde_json::to_string(&e).expect("json"), "\"a@b.io\"");
    }

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(input in "\\PC{0,80}|[ \\t]*[A-Za-zİΣß0-9._+-]{0,10}@[A-Za-z0-9.-]{0,10}[ \\t]*") {
            if let Ok(email) = Email::parse(&input) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
                prop_assert_eq!(email.as_str(), email.as_str().trim());
                prop_assert!(email.as_str().chars().count() <= MAX_EMAIL_CHARS);
                prop_assert_eq!(email.as_str().matches('@').count(), 1);
            }
        }

        #[test]
        fn arbitrary_strings_never_panic(input in any::<String>()) {
            let _ = Email::parse(&input);
        }
    }
}
