//! Typed settings read once from the environment. Bad configuration fails at start
//! with one line naming the variable.

use std::path::PathBuf;

use sha2::{Digest, Sha256, Sha512};

/// The local server. Over loopback, TLS is switched off (see `without_loopback_tls`).
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/cleanclicks";
pub const DEFAULT_INBOUND_URL_TEMPLATE: &str = "https://cleanclicks.{domain}/__cc/inbound";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn bad(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable, message: message.into() }
}

/// Key material derived from one server secret. `Debug` prints nothing secret.
#[derive(Clone)]
pub struct Secrets {
    /// 64 bytes for actix-session's private (encrypted + signed) cookies.
    pub cookie_key: [u8; 64],
    /// HMAC key for CSRF tokens derived from the session id.
    pub csrf_key: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// Separate keys per purpose, so a CSRF token never doubles as cookie key material.
    pub fn derive(master: &[u8]) -> Self {
        let mut cookie_key = [0u8; 64];
        cookie_key
            .copy_from_slice(&Sha512::new().chain_update(b"cleanclicks cookie key\0").chain_update(master).finalize());
        let mut csrf_key = [0u8; 32];
        csrf_key
            .copy_from_slice(&Sha256::new().chain_update(b"cleanclicks csrf key\0").chain_update(master).finalize());
        Self { cookie_key, csrf_key }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub environment: Environment,
    pub bind: String,
    pub inbound_bind: Option<String>,
    pub public_inbound_url: String,
    pub https: bool,
    /// Connections for the inbound endpoint. The admin app has a small pool of its own,
    /// so a flood of events (or a locked key row) never locks marketers out of the tab.
    pub db_pool_size: u32,
    pub admin_pool_size: u32,
    /// How long a request waits for a pooled connection before answering 503.
    pub db_checkout_timeout: std::time::Duration,
    pub workers: usize,
    pub session_idle: chrono::Duration,
    pub session_max: chrono::Duration,
    pub secrets: Secrets,
    pub rate_limit: crate::inbound::rate_limit::RateLimitConfig,
    /// Proxies whose `X-Forwarded-For` is believed (`CC_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<crate::net::Cidr>,
}

fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_number<T>(name: &'static str, default: T, min: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<T>() {
            Ok(v) if v >= min => Ok(v),
            _ => Err(bad(name, format!("expected a whole number of at least {min}, got {raw:?}"))),
        },
    }
}

fn parse_bool(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match var(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
        Some(v) => Err(bad(name, format!("expected true or false, got {v:?}"))),
    }
}

fn check_bind(name: &'static str, value: &str) -> Result<(), ConfigError> {
    value
        .parse::<std::net::SocketAddr>()
        .map(|_| ())
        .map_err(|_| bad(name, format!("expected HOST:PORT such as 127.0.0.1:8080, got {value:?}")))
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        let environment = match var("CC_ENV").as_deref().map(str::trim) {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(bad("CC_ENV", format!("expected development or production, got {other:?}")));
            }
        };
        let production = environment == Environment::Production;
        let database_url = without_loopback_tls(var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()));
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(bad("DATABASE_URL", "expected a postgres:// URL"));
        }
        let bind = var("CC_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        check_bind("CC_BIND", &bind)?;
        let inbound_bind = var("CC_INBOUND_BIND");
        if let Some(b) = &inbound_bind {
            check_bind("CC_INBOUND_BIND", b)?;
        }
        let public_inbound_url =
            var("CC_PUBLIC_INBOUND_URL").unwrap_or_else(|| DEFAULT_INBOUND_URL_TEMPLATE.to_owned());
        if !public_inbound_url.starts_with("http://") && !public_inbound_url.starts_with("https://") {
            return Err(bad("CC_PUBLIC_INBOUND_URL", "expected an http(s):// URL, optionally with {domain}"));
        }
        let https = parse_bool("CC_HTTPS", production)?;
        let secrets = match var("CC_SESSION_KEY") {
            Some(key) if key.len() >= 32 => Secrets::derive(key.as_bytes()),
            Some(_) => {
                return Err(bad("CC_SESSION_KEY", "must be at least 32 characters of random text"));
            }
            None if production => {
                return Err(bad("CC_SESSION_KEY", "is required when CC_ENV=production"));
            }
            None => Secrets::derive(&development_secret().map_err(|e| bad("CC_SESSION_KEY", e))?),
        };
        if production && !https {
            return Err(bad("CC_HTTPS", "must be true when CC_ENV=production (cookies need the Secure flag)"));
        }
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Ok(Self {
            database_url,
            environment,
            bind,
            inbound_bind,
            public_inbound_url,
            https,
            db_pool_size: parse_number("CC_DB_POOL_SIZE", 10u32, 1)?,
            admin_pool_size: 4,
            db_checkout_timeout: std::time::Duration::from_secs(2),
            workers: parse_number("CC_WORKERS", cpus, 1)?,
            session_idle: chrono::Duration::minutes(parse_number("CC_SESSION_IDLE_MINUTES", 30i64, 1)?),
            session_max: chrono::Duration::hours(parse_number("CC_SESSION_MAX_HOURS", 12i64, 1)?),
            secrets,
            trusted_proxies: match var("CC_TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(raw) => crate::net::parse_list(&raw).map_err(|e| bad("CC_TRUSTED_PROXIES", e))?,
            },
            rate_limit: match var("CC_RATE_LIMIT") {
                None => Default::default(),
                Some(raw) => {
                    crate::inbound::rate_limit::RateLimitConfig::parse(&raw).map_err(|e| bad("CC_RATE_LIMIT", e))?
                }
            },
        })
    }

    /// The inbound URL shown for a domain, from the `CC_PUBLIC_INBOUND_URL` template.
    pub fn inbound_url_for(&self, hostname: &str) -> String {
        self.public_inbound_url.replace("{domain}", hostname)
    }
}

/// TLS to a database on this machine protects nothing and costs CPU on both sides (libpq
/// tries it by default). For a loopback host without an explicit `sslmode`, turn it off.
pub fn without_loopback_tls(url: String) -> String {
    let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    let authority = after_scheme.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    if !loopback || url.contains("sslmode=") {
        return url;
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

/// Development keeps a generated secret in the user's data directory (never in the
/// checkout), so sessions survive restarts without any configuration.
fn development_secret() -> Result<Vec<u8>, String> {
    let dir = data_dir().ok_or("no data directory (set HOME or XDG_DATA_HOME, or set CC_SESSION_KEY)")?;
    let path = dir.join("session.key");
    if let Ok(existing) = std::fs::read(&path)
        && existing.len() >= 32
    {
        return Ok(existing);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut secret = [0u8; 64];
    rand::fill(&mut secret);
    let text = hex::encode(secret);
    write_private(&path, text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(text.into_bytes())
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

fn data_dir() -> Option<PathBuf> {
    if let Some(xdg) = var("XDG_DATA_HOME") {
        return Some(PathBuf::from(xdg).join("cleanclicks"));
    }
    var("HOME").map(|home| PathBuf::from(home).join(".local/share/cleanclicks"))
}

#[cfg(test)]
mod tests {
    use super::without_loopback_tls as f;

    #[test]
    fn loopback_urls_skip_tls_unless_told_otherwise() {
        assert_eq!(f("postgres://u@127.0.0.1:5432/db".into()), "postgres://u@127.0.0.1:5432/db?sslmode=disable");
        assert_eq!(f("postgres://u@localhost/db?x=1".into()), "postgres://u@localhost/db?x=1&sslmode=disable");
        assert_eq!(f("postgres://u@127.0.0.1/db?sslmode=require".into()), "postgres://u@127.0.0.1/db?sslmode=require");
        assert_eq!(f("postgres://u:p@db.example.com/db".into()), "postgres://u:p@db.example.com/db");
    }
}
