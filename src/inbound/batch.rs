//! The batch body: `{"events": [...]}` with at most 500 events. Each event is then
//! parsed on its own (`payload::parse_raw_event`), so one bad event never hides the rest.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::error::InboundError;
use super::payload::{BodyError, FieldCode, FieldError};

pub const MAX_BATCH_EVENTS: usize = 500;

pub struct BatchBody {
    pub events: Vec<Box<RawValue>>,
    /// Top-level members other than `events`, reported as warnings.
    pub unknown_fields: Vec<String>,
}

fn events_error(code: FieldCode, message: &str) -> InboundError {
    InboundError::Validation(vec![FieldError { field: "events".into(), code, message: message.into() }])
}

pub fn parse_batch_body(body: &[u8]) -> Result<BatchBody, InboundError> {
    let value: Box<RawValue> = serde_json::from_slice(body).map_err(|e| {
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        InboundError::from(BodyError::InvalidJson { line: e.line(), column: e.column(), message })
    })?;
    let text = value.get().trim_start();
    let found = match text.as_bytes().first() {
        Some(b'{') => None,
        Some(b'[') => Some("array"),
        Some(b'"') => Some("string"),
        Some(b't' | b'f') => Some("boolean"),
        Some(b'n') => Some("null"),
        _ => Some("number"),
    };
    if let Some(found) = found {
        return Err(InboundError::ExpectedBatchObject { found });
    }
    let mut members: BTreeMap<String, Box<RawValue>> = serde_json::from_str(value.get()).map_err(|e| {
        InboundError::from(BodyError::InvalidJson { line: e.line(), column: e.column(), message: e.to_string() })
    })?;
    // `null` means absent, as for every field of an event.
    let events = members
        .remove("events")
        .filter(|events| events.get().trim() != "null")
        .ok_or_else(|| events_error(FieldCode::Required, "events is required: {\"events\": [ ... ]}"))?;
    let unknown_fields = members.into_keys().collect();
    let events: Vec<Box<RawValue>> = match events.get().trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str(events.get()).map_err(|e| {
            InboundError::from(BodyError::InvalidJson { line: e.line(), column: e.column(), message: e.to_string() })
        })?,
        _ => {
            return Err(events_error(FieldCode::InvalidType, "events must be an array of event objects"));
        }
    };
    if events.is_empty() {
        return Err(events_error(FieldCode::Required, "events must hold at least one event"));
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(events_error(
            FieldCode::TooLong,
            "a batch holds at most 500 events; split it into several requests",
        ));
    }
    Ok(BatchBody { events, unknown_fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> String {
        match parse_batch_body(body.as_bytes()) {
            Ok(_) => "ok".into(),
            Err(InboundError::Validation(fields)) => format!("422 {}", fields[0].code.as_str()),
            Err(e) => e.code().to_owned(),
        }
    }

    #[test]
    fn shapes() {
        assert_eq!(code(r#"{"events":[{}]}"#), "ok");
        assert_eq!(code("[1]"), "expected_object");
        assert_eq!(code("nope"), "invalid_json");
        assert_eq!(code("{}"), "422 required");
        assert_eq!(code(r#"{"events":null}"#), "422 required");
        assert_eq!(code(r#"{"events":[]}"#), "422 required");
        assert_eq!(code(r#"{"events":{}}"#), "422 invalid_type");
        let many = format!("{{\"events\":[{}]}}", vec!["{}"; 501].join(","));
        assert_eq!(code(&many), "422 too_long");
        let ok = format!("{{\"events\":[{}],\"x\":1}}", vec!["{}"; 500].join(","));
        let parsed = parse_batch_body(ok.as_bytes()).unwrap();
        assert_eq!(parsed.events.len(), 500);
        assert_eq!(parsed.unknown_fields, vec!["x".to_owned()]);
    }
}
