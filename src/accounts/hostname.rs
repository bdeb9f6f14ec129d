//! A domain's hostname, parsed at the edge.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname(String);

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a hostname such as shop.example (letters, digits, '-' and dots)")]
pub struct InvalidHostname(pub String);

impl Hostname {
    pub fn parse(raw: &str) -> Result<Self, InvalidHostname> {
        let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let valid_label = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if host.len() > 253 || !host.contains('.') || !host.split('.').all(valid_label) {
            return Err(InvalidHostname(raw.to_owned()));
        }
        Ok(Self(host))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects() {
        assert_eq!(Hostname::parse(" Shop.Example. ").unwrap().as_str(), "shop.example");
        for bad in ["", "localhost", "-a.example", "a..example", "a b.example", "<x>.example", "a/b.example"] {
            assert!(Hostname::parse(bad).is_err(), "{bad:?}");
        }
    }
}
