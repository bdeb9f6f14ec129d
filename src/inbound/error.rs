//! The inbound endpoint's error type, turned into the JSON error envelope in one place:
//! `{"error": {"code", "message", "request_id", "fields"?}}`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

use super::payload::{BodyError, FieldError};
use crate::db::DbError;

#[derive(Debug)]
pub enum InboundError {
    /// A path under /__cc/ that is no endpoint (a typo, a trailing slash).
    NotFound,
    MethodNotAllowed,
    MissingKey,
    InvalidKey,
    RevokedKey,
    UnsupportedMediaType(String),
    PayloadTooLarge,
    BrowserOrigin,
    RateLimited,
    /// A query parameter with a value it cannot take (`?validate=maybe`).
    InvalidParameter(String),
    InvalidJson {
        line: usize,
        column: usize,
        message: String,
    },
    ExpectedObject {
        found: &'static str,
    },
    /// The batch endpoint wants `{"events": [...]}`.
    ExpectedBatchObject {
        found: &'static str,
    },
    Validation(Vec<FieldError>),
    Unavailable,
    Internal(String),
}

impl From<DbError> for InboundError {
    fn from(e: DbError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "inbound request answered 503: database unavailable");
            InboundError::Unavailable
        } else {
            InboundError::Internal(e.to_string())
        }
    }
}

impl From<BodyError> for InboundError {
    fn from(e: BodyError) -> Self {
        match e {
            // serde_json says column 0 when nothing was read (an empty body); the
            // contract's positions are 1-based.
            BodyError::InvalidJson { line, column, message } => {
                InboundError::InvalidJson { line: line.max(1), column: column.max(1), message }
            }
            BodyError::ExpectedObject { found } => InboundError::ExpectedObject { found },
        }
    }
}

/// "an array", "a string", …
fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {noun}")
}

impl InboundError {
    pub fn status(&self) -> StatusCode {
        match self {
            InboundError::NotFound => StatusCode::NOT_FOUND,
            InboundError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            InboundError::MissingKey | InboundError::InvalidKey | InboundError::RevokedKey => StatusCode::UNAUTHORIZED,
            InboundError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            InboundError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            InboundError::BrowserOrigin => StatusCode::FORBIDDEN,
            InboundError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            InboundError::InvalidJson { .. }
            | InboundError::InvalidParameter(_)
            | InboundError::ExpectedObject { .. }
            | InboundError::ExpectedBatchObject { .. } => StatusCode::BAD_REQUEST,
            InboundError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            InboundError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            InboundError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            InboundError::NotFound => "not_found",
            InboundError::MethodNotAllowed => "method_not_allowed",
            InboundError::MissingKey => "missing_api_key",
            InboundError::InvalidKey => "invalid_api_key",
            InboundError::RevokedKey => "revoked_api_key",
            InboundError::UnsupportedMediaType(_) => "unsupported_media_type",
            InboundError::PayloadTooLarge => "payload_too_large",
            InboundError::BrowserOrigin => "browser_origin_forbidden",
            InboundError::RateLimited => "rate_limited",
            InboundError::InvalidJson { .. } => "invalid_json",
            InboundError::InvalidParameter(_) => "invalid_parameter",
            InboundError::ExpectedObject { .. } | InboundError::ExpectedBatchObject { .. } => "expected_object",
            InboundError::Validation(_) => "validation_failed",
            InboundError::Unavailable => "unavailable",
            InboundError::Internal(_) => "internal_error",
        }
    }

    pub fn message(&self) -> String {
        match self {
            InboundError::NotFound => "No endpoint at this path. Send events to POST /__cc/inbound and batches to POST /__cc/inbound/batch (no trailing slash).".into(),
            InboundError::MethodNotAllowed => "Use POST to send events to this endpoint.".into(),
            InboundError::MissingKey => "Send your inbound integration key in the X-CC-Api-Key header.".into(),
            InboundError::InvalidKey => "The API key is not valid. Check that it was copied completely and was not deleted.".into(),
            InboundError::RevokedKey => "This API key has been revoked. Ask the account's admin to restore it or create a new one.".into(),
            InboundError::UnsupportedMediaType(why) => why.clone(),
            InboundError::PayloadTooLarge => "The request body is too large (64 KiB for one event, 1 MiB for a batch, after decompression).".into(),
            InboundError::BrowserOrigin => {
                "Inbound integration keys are for server-to-server calls only; requests from a browser are refused so the key is not exposed.".into()
            }
            InboundError::RateLimited => "Too many requests with this key. Retry after the number of seconds in Retry-After.".into(),
            InboundError::InvalidParameter(why) => why.clone(),
            InboundError::InvalidJson { line, column, message } => format!("The body is not valid JSON (line {line}, column {column}): {message}."),
            InboundError::ExpectedObject { found } if *found == "array" => {
                "The body must be one event object, not an array. To send several events, POST {\"events\": [...]} to /__cc/inbound/batch.".into()
            }
            InboundError::ExpectedObject { found } => format!("The body must be a JSON object (one event), not {}.", with_article(found)),
            InboundError::ExpectedBatchObject { found } => format!("The batch body must be a JSON object {{\"events\": [...]}}, not {}.", with_article(found)),
            InboundError::Validation(fields) => match fields.as_slice() {
                [one] => one.message.clone(),
                _ => format!("{} fields failed validation; see `fields`.", fields.len()),
            },
            InboundError::Unavailable => "The service is temporarily unavailable. Retry with backoff and the same event_id.".into(),
            InboundError::Internal(_) => "An unexpected error occurred. Retry with backoff and the same event_id.".into(),
        }
    }

    /// The `error` object of the envelope (also used per event in batch results).
    pub fn to_json(&self, request_id: &str) -> serde_json::Value {
        let mut error = serde_json::json!({
            "code": self.code(),
            "message": self.message(),
            "request_id": request_id,
        });
        if let InboundError::InvalidJson { line, column, .. } = self {
            error["line"] = (*line).into();
            error["column"] = (*column).into();
        }
        if let InboundError::Validation(fields) = self {
            error["fields"] = serde_json::to_value(fields).unwrap_or_default();
        }
        error
    }

    /// The one place an inbound error becomes a response.
    pub fn to_response(&self, request_id: &str) -> HttpResponse {
        if let InboundError::Internal(detail) = self {
            tracing::error!(error = %detail, "inbound request failed");
        }
        let mut response = HttpResponse::build(self.status());
        response.insert_header(("Cache-Control", "no-store"));
        match self {
            InboundError::MethodNotAllowed => {
                response.insert_header(("Allow", "POST"));
            }
            InboundError::Unavailable => {
                response.insert_header(("Retry-After", "2"));
            }
            _ => {}
        }
        response.json(serde_json::json!({ "error": self.to_json(request_id) }))
    }
}
