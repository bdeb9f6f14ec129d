//! CSRF tokens derived from the session id with an HMAC under a server secret,
//! so no token is stored anywhere; plus the Origin/Referer check as a second layer.

use actix_web::HttpRequest;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8; 32], session_id: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(b"csrf\0");
    mac.update(session_id.as_bytes());
    mac
}

pub fn token(key: &[u8; 32], session_id: &str) -> String {
    hex::encode(mac(key, session_id).finalize().into_bytes())
}

/// Constant-time comparison of a submitted token with the one the session implies.
pub fn verify(key: &[u8; 32], session_id: &str, submitted: &str) -> bool {
    match hex::decode(submitted.trim()) {
        Ok(bytes) => mac(key, session_id).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// An `Origin` or `Referer` that is present must name this site. A request with
/// neither (some privacy tools strip both) still passes on its token alone.
pub fn same_origin(req: &HttpRequest) -> bool {
    let info = req.connection_info();
    let host = info.host();
    let matches_host = |url: &str| {
        let rest = url.split_once("://").map(|(_, rest)| rest).unwrap_or("");
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        authority.eq_ignore_ascii_case(host)
    };
    if let Some(origin) = req.headers().get("origin") {
        return origin.to_str().map(matches_host).unwrap_or(false);
    }
    if let Some(referer) = req.headers().get("referer") {
        return referer.to_str().map(matches_host).unwrap_or(false);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_bind_to_the_session() {
        let key = [7u8; 32];
        let t = token(&key, "session-a");
        assert!(verify(&key, "session-a", &t));
        assert!(!verify(&key, "session-b", &t));
        assert!(!verify(&[8u8; 32], "session-a", &t));
        assert!(!verify(&key, "session-a", ""));
        assert!(!verify(&key, "session-a", "zz"));
    }
}
