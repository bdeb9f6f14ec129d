//! User passwords: policy for new ones, argon2id hashing and verification.
//! Hashing and verification are CPU-heavy: callers run them on the blocking pool.

use argon2::password_hash::PasswordVerifier;
use argon2::{Argon2, PasswordHash, PasswordHasher};

pub const MIN_PASSWORD_CHARS: usize = 12;
/// Bounds the work one login attempt can cause.
pub const MAX_PASSWORD_BYTES: usize = 1024;

const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// A password that passed the policy. `Debug` never prints it.
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("the password must be at least 12 characters long (a passphrase of a few words is ideal)")]
    TooShort,
    #[error("the password must be at most 1024 bytes long")]
    TooLong,
    #[error("that password is too common; choose another (a passphrase of a few words is ideal)")]
    Common,
}

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, WeakPassword> {
        if raw.chars().count() < MIN_PASSWORD_CHARS {
            return Err(WeakPassword::TooShort);
        }
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(WeakPassword::TooLong);
        }
        let lowered = raw.trim().to_lowercase();
        let one_repeated_char = lowered.chars().all(|c| lowered.starts_with(c));
        if one_repeated_char || COMMON_PASSWORDS.lines().any(|common| common == lowered) {
            return Err(WeakPassword::Common);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashingFailed;

/// argon2id with the crate's defaults (m = 19 MiB, t = 2, p = 1: OWASP's recommendation),
/// as a PHC string.
pub fn hash(password: &NewPassword) -> Result<String, HashingFailed> {
    Argon2::default().hash_password(password.expose().as_bytes()).map(|h| h.to_string()).map_err(|_| HashingFailed)
}

/// Checks a login attempt against a stored PHC string.
pub fn verify(candidate: &str, phc: &str) -> bool {
    if candidate.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash of nothing anyone knows, so an unknown email costs as much as a wrong password
/// and response times do not reveal which emails have accounts.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut random = [0u8; 32];
    rand::fill(&mut random);
    hash(&NewPassword(hex::encode(random))).unwrap_or_default()
});

pub fn verify_against_dummy(candidate: &str) {
    let _ = verify(candidate, &DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert_eq!(NewPassword::parse("short").unwrap_err(), WeakPassword::TooShort);
        assert_eq!(NewPassword::parse("").unwrap_err(), WeakPassword::TooShort);
        assert_eq!(NewPassword::parse("Password1234").unwrap_err(), WeakPassword::Common);
        assert_eq!(NewPassword::parse("aaaaaaaaaaaaaaa").unwrap_err(), WeakPassword::Common);
        assert_eq!(NewPassword::parse(&"x".repeat(20)).unwrap_err(), WeakPassword::Common);
        assert_eq!(NewPassword::parse(&"xy".repeat(600)).unwrap_err(), WeakPassword::TooLong);
        assert!(NewPassword::parse("correct horse battery staple 9").is_ok());
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let pw = NewPassword::parse("correct horse battery staple 9").unwrap();
        let phc = hash(&pw).unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify("correct horse battery staple 9", &phc));
        assert!(!verify("correct horse battery staple 8", &phc));
        assert!(!verify("anything", "not a phc string"));
        assert!(!format!("{pw:?}").contains("horse"));
    }
}
