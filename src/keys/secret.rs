//! The inbound integration key itself: generation, checksum, hashing and masking.
//!
//! Format: `cc_` + 32 base62 characters from the OS CSPRNG + a 6-character base62
//! CRC-32 checksum of the first 35 characters (41 characters in all), like GitHub's
//! tokens. The checksum lets the endpoint reject typos and truncated pastes without
//! touching the database, and lets secret scanners recognise our keys.

use rand::TryRng;
use sha2::{Digest, Sha256};

/// Never change this once keys exist: integrations and secret scanners rely on it.
pub const PREFIX: &str = "cc_";
pub const RANDOM_LEN: usize = 32;
pub const CHECKSUM_LEN: usize = 6;
pub const KEY_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
/// How much of the key is kept for display: the prefix and the next 8 characters.
pub const DISPLAY_PREFIX_LEN: usize = PREFIX.len() + 8;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A full plaintext key. It exists only while the creating request runs (to reveal it)
/// or while an inbound request is authenticated; `Debug` never prints it.
pub struct PlainKey(String);

impl std::fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlainKey({}…)", self.display_prefix())
    }
}

/// SHA-256 of a full key: what the database stores and looks up by.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHash(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("the key does not have the shape of a CleanClicks key")]
    Malformed,
    #[error("the key's checksum does not match (a typo or a truncated paste)")]
    BadChecksum,
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomnessUnavailable;

fn checksum(body: &str) -> String {
    let mut n = crc32fast::hash(body.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    // 62^6 > 2^32, so every CRC fits in six digits.
    out.iter().map(|&b| b as char).collect()
}

impl PlainKey {
    /// A new key drawn from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, RandomnessUnavailable> {
        let mut body = String::with_capacity(KEY_LEN);
        body.push_str(PREFIX);
        let mut rng = rand::rngs::SysRng;
        let mut buf = [0u8; 64];
        while body.len() < PREFIX.len() + RANDOM_LEN {
            rng.try_fill_bytes(&mut buf).map_err(|_| RandomnessUnavailable)?;
            // Rejection sampling: 248 = 4 * 62, so every character is equally likely.
            for &b in buf.iter().filter(|&&b| b < 248) {
                if body.len() == PREFIX.len() + RANDOM_LEN {
                    break;
                }
                body.push(BASE62[(b % 62) as usize] as char);
            }
        }
        let sum = checksum(&body);
        body.push_str(&sum);
        Ok(Self(body))
    }

    /// Checks shape and checksum only: no database work.
    pub fn parse(candidate: &str) -> Result<Self, KeyFormatError> {
        let candidate = candidate.trim();
        if candidate.len() != KEY_LEN
            || !candidate.starts_with(PREFIX)
            || !candidate[PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(KeyFormatError::Malformed);
        }
        let (body, sum) = candidate.split_at(PREFIX.len() + RANDOM_LEN);
        if checksum(body) != sum {
            return Err(KeyFormatError::BadChecksum);
        }
        Ok(Self(candidate.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash(Sha256::digest(self.0.as_bytes()).into())
    }

    pub fn display_prefix(&self) -> &str {
        &self.0[..DISPLAY_PREFIX_LEN]
    }
}

/// `cc_a1b2c3d4••••••••`: how a key is shown after its one reveal.
pub fn masked(display_prefix: &str) -> String {
    format!("{display_prefix}••••••••")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = PlainKey::generate().unwrap();
        let s = key.expose();
        assert_eq!(s.len(), 41);
        assert!(s.starts_with("cc_"));
        assert!(s[3..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(PlainKey::parse(s).unwrap().expose(), s);
        assert_eq!(key.display_prefix(), &s[..11]);
    }

    #[test]
    fn checksum_is_zlib_crc32_in_base62() {
        // Computed independently: Python's zlib.crc32(b"cc_" + b"0" * 32) in base62.
        assert_eq!(checksum(&format!("cc_{}", "0".repeat(32))), "0NUYJU");
    }

    #[test]
    fn rejects_malformed_and_typoed_keys() {
        let key = PlainKey::generate().unwrap();
        let s = key.expose().to_owned();
        for bad in ["", "cc_", "cc_x", "sk_live_abc", &s[..40], &format!("{s}x"), &"a".repeat(10_000)] {
            assert_eq!(PlainKey::parse(bad).unwrap_err(), KeyFormatError::Malformed, "{bad:?}");
        }
        let mut typo = s.clone().into_bytes();
        typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
        assert_eq!(PlainKey::parse(std::str::from_utf8(&typo).unwrap()).unwrap_err(), KeyFormatError::BadChecksum);
        assert!(PlainKey::parse(&format!("  {s}\t")).is_ok(), "surrounding whitespace is tolerated");
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let key = PlainKey::generate().unwrap();
        let shown = format!("{key:?} {:?}", key.hash());
        assert!(!shown.contains(key.expose()));
        assert!(!shown.contains(&key.expose()[11..]));
    }

    #[test]
    fn keys_are_distinct() {
        let a = PlainKey::generate().unwrap();
        let b = PlainKey::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.hash(), b.hash());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = PlainKey::parse(&s);
        }

        #[test]
        fn any_single_character_change_is_caught(pos in 3usize..41, replacement in "[A-Za-z0-9]") {
            let key = PlainKey::generate().unwrap();
            let mut chars: Vec<char> = key.expose().chars().collect();
            let new = replacement.chars().next().unwrap();
            prop_assume!(chars[pos] != new);
            chars[pos] = new;
            let changed: String = chars.into_iter().collect();
            prop_assert!(PlainKey::parse(&changed).is_err());
        }
    }
}
