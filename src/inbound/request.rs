//! The edge of the inbound endpoint: key header, content type, encoding and body size,
//! all checked before any database work.

use std::io::Read;

use actix_web::http::header::{self, HeaderMap};
use actix_web::web;
use futures_util::StreamExt;

use super::error::InboundError;
use crate::keys::secret::PlainKey;

/// The key from `X-CC-Api-Key` (or `Authorization: Bearer`), checked for shape and
/// checksum only. Both headers may be sent, but then they must carry the same key.
/// Other `Authorization` schemes (some tools add Basic auth of their own) are ignored.
pub fn api_key(headers: &HeaderMap) -> Result<PlainKey, InboundError> {
    let mut candidates = Vec::new();
    for value in headers.get_all("x-cc-api-key") {
        candidates.push(value.to_str().map_err(|_| InboundError::InvalidKey)?.trim().to_owned());
    }
    let mut other_scheme = false;
    for value in headers.get_all(header::AUTHORIZATION) {
        let value = String::from_utf8_lossy(value.as_bytes());
        match value.trim().split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => candidates.push(token.trim().to_owned()),
            _ => other_scheme |= !value.trim().is_empty(),
        }
    }
    candidates.retain(|c| !c.is_empty());
    // Next to X-CC-Api-Key another scheme is ignored (a proxy may add its own); alone,
    // it is a key sent the wrong way, which deserves more than "no key".
    let missing = if other_scheme { InboundError::InvalidKey } else { InboundError::MissingKey };
    let first = candidates.first().ok_or(missing)?;
    if candidates.iter().any(|c| c != first) {
        return Err(InboundError::InvalidKey);
    }
    PlainKey::parse(first).map_err(|_| InboundError::InvalidKey)
}

/// `application/json`, any letter case, any parameters (charset).
pub fn check_content_type(headers: &HeaderMap) -> Result<(), InboundError> {
    let value = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or("").trim();
    // JSON is UTF-8; a body declared in another charset would be misread.
    let charset = parts.filter_map(|p| p.split_once('=')).find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"));
    if let Some((_, charset)) = charset {
        let charset = charset.trim().trim_matches('"');
        if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
            return Err(InboundError::UnsupportedMediaType(format!(
                "charset {charset:?} is not supported; send the JSON body as UTF-8."
            )));
        }
    }
    if media_type.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else if media_type.is_empty() {
        Err(InboundError::UnsupportedMediaType("Send the body with Content-Type: application/json.".into()))
    } else {
        Err(InboundError::UnsupportedMediaType(format!(
            "Content-Type {media_type:?} is not supported; send application/json."
        )))
    }
}

/// True for gzip; identity is plain. Anything else is refused.
pub fn is_gzip(headers: &HeaderMap) -> Result<bool, InboundError> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    let value = value.to_str().unwrap_or("").trim();
    if value.is_empty() || value.eq_ignore_ascii_case("identity") {
        Ok(false)
    } else if value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip") {
        Ok(true)
    } else {
        Err(InboundError::UnsupportedMediaType(format!(
            "Content-Encoding {value:?} is not supported; send the body uncompressed or gzip-compressed."
        )))
    }
}

/// Reads the body, stopping as soon as it is known to be too large, so neither a huge
/// body nor a gzip bomb costs more than the limit in memory.
/// The body as read: its bytes, or why it cannot be used. A body that cannot be read
/// or decompressed is a body error (400), answered only after the key's checks, as the
/// contract orders them; only its size (413) is known before.
pub type Body = Result<Vec<u8>, InboundError>;

fn unreadable(message: &str) -> InboundError {
    InboundError::InvalidJson { line: 1, column: 1, message: message.into() }
}

pub async fn read_body(
    headers: &HeaderMap,
    mut payload: web::Payload,
    gzip: bool,
    max_body: usize,
) -> Result<Body, InboundError> {
    // A compressed body this much larger than the limit cannot be valid: stop early.
    let wire_limit = if gzip { 2 * max_body } else { max_body };
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > wire_limit as u64) {
        return Err(InboundError::PayloadTooLarge);
    }
    let mut wire = Vec::with_capacity(declared.unwrap_or(1024).min(wire_limit as u64) as usize);
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else { return Ok(Err(unreadable("the request body could not be read"))) };
        if wire.len() + chunk.len() > wire_limit {
            return Err(InboundError::PayloadTooLarge);
        }
        wire.extend_from_slice(&chunk);
    }
    if !gzip {
        return Ok(Ok(wire));
    }
    let mut body = Vec::new();
    let decoded = flate2::read::GzDecoder::new(wire.as_slice()).take(max_body as u64 + 1).read_to_end(&mut body);
    if body.len() > max_body {
        return Err(InboundError::PayloadTooLarge);
    }
    Ok(decoded.map(|_| body).map_err(|_| unreadable("the body is not valid gzip")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn content_types() {
        assert!(check_content_type(&headers(&[("content-type", "application/json; charset=utf-8")])).is_ok());
        assert!(check_content_type(&headers(&[("content-type", "Application/JSON")])).is_ok());
        assert!(check_content_type(&headers(&[("content-type", "text/plain")])).is_err());
        assert!(check_content_type(&headers(&[("content-type", "application/json; Charset=\"UTF-8\"")])).is_ok());
        assert!(check_content_type(&headers(&[("content-type", "application/json; charset=latin1")])).is_err());
        assert!(check_content_type(&headers(&[])).is_err());
    }

    #[test]
    fn key_headers() {
        let key = PlainKey::generate().unwrap();
        let k = key.expose();
        assert!(matches!(api_key(&headers(&[])), Err(InboundError::MissingKey)));
        assert!(matches!(api_key(&headers(&[("x-cc-api-key", "  ")])), Err(InboundError::MissingKey)));
        assert!(api_key(&headers(&[("X-CC-API-KEY", &format!("  {k} "))])).is_ok());
        assert!(api_key(&headers(&[("authorization", &format!("Bearer {k}"))])).is_ok());
        assert!(api_key(&headers(&[("x-cc-api-key", k), ("authorization", &format!("bearer {k}"))])).is_ok());
        let other = PlainKey::generate().unwrap();
        assert!(matches!(
            api_key(&headers(&[("x-cc-api-key", k), ("authorization", &format!("Bearer {}", other.expose()))])),
            Err(InboundError::InvalidKey)
        ));
        assert!(matches!(api_key(&headers(&[("x-cc-api-key", "cc_x")])), Err(InboundError::InvalidKey)));
    }
}
