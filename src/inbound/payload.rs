//! Parsing and validating one inbound conversion event (SPEC §5).
//!
//! The body is never turned into `serde_json::Value`: without serde_json's
//! `arbitrary_precision` feature a number such as `1e400` would be a parse
//! error, and `value` must never pass through `f64`. Instead the object is
//! split into raw members ([`RawObject`]) and each field is read from its raw
//! JSON text.
//!
//! Decisions worth knowing (the rest follows the SPEC table):
//! - Duplicate keys: the last occurrence wins, as in `serde_json::Value` and
//!   JavaScript's `JSON.parse`. [`RawObject`] is a `BTreeMap`, whose serde
//!   deserialisation keeps the last value per key.
//! - `unknown_fields` holds the bare key names (no `path` prefix), sorted and
//!   deduplicated (the map's order).
//! - For every optional field, `null`, `""` and a whitespace-only string mean
//!   absent. Text fields are trimmed before length checks and storage.
//! - `value` as a JSON number: any JSON number, exponents included. As a
//!   string: only a plain decimal `-?\d+(\.\d+)?` after trimming (leading
//!   zeros allowed); `"1e3"`, `"12,50"`, `"+5"`, `".5"` are `invalid_number`;
//!   `NaN`/`Infinity`/`inf` in any case and sign are `not_finite`.
//! - Decimal places are counted after dropping trailing zeros, so
//!   `99.990000000` is 99.99 and accepted. The stored value keeps the scale
//!   the sender wrote, capped at 6 (`99.990` stays `99.990`, `99.990000000`
//!   becomes `99.990000`, `1e3` becomes `1000`, `9.5E-1` becomes `0.95`).
//!   Zero keeps its written scale too, and `-0` is `0`. Use
//!   `BigDecimal::to_plain_string()` for the text form: `Display` prints a
//!   zero with a scale as plain `0`.
//! - A present but invalid `value` still makes `currency` required, so both
//!   problems are reported at once.
//! - `event_id` also accepts a JSON integer (order numbers are often sent as
//!   numbers) and uses its text as written; other numbers are
//!   `invalid_type`, since `1e3` and `1000` would be ambiguous ids.
//! - `event_id` and `click_id` are trimmed like the other text fields.
//! - `properties`: the size limit is on the raw text as sent (whitespace
//!   included). Depth counts objects and arrays; the properties object itself
//!   is depth 1. Besides NUL, a number PostgreSQL's `numeric` cannot hold
//!   (more than 131072 integer digits, more than 16383 decimal places) is a
//!   `too_large` error instead of a failed insert; `1e400` itself is fine.
//! - An unpaired surrogate escape (`"\ud800"`) passes serde_json's raw-value
//!   parse but cannot be decoded and is rejected by PostgreSQL, like NUL: in a
//!   known field or in `properties` it is `control_characters`; in a key of
//!   the event object it makes the body `invalid_json` (keys are decoded), or
//!   in [`parse_raw_event`] a `control_characters` error on the element.
//! - A field has at most one error; the first failing rule is reported.

use std::collections::BTreeMap;
use std::fmt;

use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::BigInt;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::value::RawValue;

use crate::email::{Email, EmailError};
use crate::inbound::currency::Currency;

pub const MAX_PROPERTIES_BYTES: usize = 16 * 1024;
pub const MAX_PROPERTIES_DEPTH: usize = 10;

pub const MAX_EVENT_CHARS: usize = 100;
pub const MAX_EVENT_ID_CHARS: usize = 128;
pub const MAX_CLICK_ID_CHARS: usize = 255;
/// `value` must be below 10^12, i.e. have at most this many integer digits.
pub const MAX_VALUE_INTEGER_DIGITS: i128 = 12;
pub const MAX_VALUE_DECIMALS: i128 = 6;
pub const MAX_OCCURRED_AGE_DAYS: i64 = 7;
pub const MAX_OCCURRED_FUTURE_MINUTES: i64 = 5;

/// PostgreSQL `numeric` limits (checked against PostgreSQL 15): a larger
/// number inside `properties` would make the `jsonb` cast fail.
const PG_NUMERIC_MAX_INTEGER_DIGITS: i128 = 131_072;
const PG_NUMERIC_MAX_SCALE: i128 = 16_383;
const PG_NUMERIC_MAX_EXPONENT: i128 = (i32::MAX / 2) as i128;

/// Top-level fields of an event; anything else is reported as unknown.
const KNOWN_FIELDS: &[&str] =
    &["click_id", "currency", "email", "event", "event_id", "occurred_at", "properties", "value"];

/// The closed list of field error codes (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldCode {
    Required,
    InvalidType,
    TooLong,
    ControlCharacters,
    InvalidEmail,
    InvalidNumber,
    NotFinite,
    Negative,
    TooLarge,
    TooManyDecimals,
    UnknownCurrency,
    RequiredWithValue,
    InvalidTimestamp,
    TooOld,
    InFuture,
    PropertiesTooLarge,
    PropertiesTooDeep,
}

impl FieldCode {
    pub const ALL: &'static [FieldCode] = &[
        FieldCode::Required,
        FieldCode::InvalidType,
        FieldCode::TooLong,
        FieldCode::ControlCharacters,
        FieldCode::InvalidEmail,
        FieldCode::InvalidNumber,
        FieldCode::NotFinite,
        FieldCode::Negative,
        FieldCode::TooLarge,
        FieldCode::TooManyDecimals,
        FieldCode::UnknownCurrency,
        FieldCode::RequiredWithValue,
        FieldCode::InvalidTimestamp,
        FieldCode::TooOld,
        FieldCode::InFuture,
        FieldCode::PropertiesTooLarge,
        FieldCode::PropertiesTooDeep,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldCode::Required => "required",
            FieldCode::InvalidType => "invalid_type",
            FieldCode::TooLong => "too_long",
            FieldCode::ControlCharacters => "control_characters",
            FieldCode::InvalidEmail => "invalid_email",
            FieldCode::InvalidNumber => "invalid_number",
            FieldCode::NotFinite => "not_finite",
            FieldCode::Negative => "negative",
            FieldCode::TooLarge => "too_large",
            FieldCode::TooManyDecimals => "too_many_decimals",
            FieldCode::UnknownCurrency => "unknown_currency",
            FieldCode::RequiredWithValue => "required_with_value",
            FieldCode::InvalidTimestamp => "invalid_timestamp",
            FieldCode::TooOld => "too_old",
            FieldCode::InFuture => "in_future",
            FieldCode::PropertiesTooLarge => "properties_too_large",
            FieldCode::PropertiesTooDeep => "properties_too_deep",
        }
    }
}

impl fmt::Display for FieldCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: FieldCode,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BodyError {
    /// Not JSON at all. line/column as serde_json reports them (1-based).
    InvalidJson { line: usize, column: usize, message: String },
    /// Valid JSON but not an object (e.g. an array on the single endpoint).
    ExpectedObject { found: &'static str }, // "array", "string", "number", "boolean", "null"
}

impl BodyError {
    /// The SPEC's error code for this case.
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::InvalidJson { .. } => "invalid_json",
            BodyError::ExpectedObject { .. } => "expected_object",
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::InvalidJson { line, column, message } => {
                write!(f, "invalid JSON at line {line} column {column}: {message}")
            }
            BodyError::ExpectedObject { found: "array" } => {
                f.write_str("expected a JSON object, found an array (send several events to the batch endpoint)")
            }
            BodyError::ExpectedObject { found } => {
                write!(f, "expected a JSON object, found {found}")
            }
        }
    }
}

impl std::error::Error for BodyError {}

#[derive(Debug, Clone, PartialEq)]
pub struct ConversionEvent {
    pub email: Email,
    pub event: String,
    pub value: Option<BigDecimal>,
    pub currency: Option<Currency>,
    pub event_id: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>, // None = receive time
    pub click_id: Option<String>,
    /// The `properties` object exactly as sent (raw JSON text), to be cast to jsonb.
    pub properties: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEvent {
    pub event: ConversionEvent,
    pub unknown_fields: Vec<String>,
}

/// One event object split into raw members. A map, not a list: duplicate keys
/// are resolved while deserialising (the last one wins) and lookups are cheap.
pub type RawObject = BTreeMap<String, Box<RawValue>>;

/// Parse a whole request body holding one event.
pub fn parse_event_body(body: &[u8], now: DateTime<Utc>) -> Result<Result<ParsedEvent, Vec<FieldError>>, BodyError> {
    // The common case (an object) takes a single pass; anything else is
    // parsed again as a raw value to tell "not JSON" from "not an object".
    match serde_json::from_slice::<RawObject>(body) {
        Ok(obj) => Ok(parse_event_object(&obj, "", now)),
        Err(object_error) => match serde_json::from_slice::<Box<RawValue>>(body) {
            Ok(raw) => match json_kind(&raw) {
                // An object the map parse refused: a key holding an unpaired
                // surrogate escape, which cannot be decoded.
                JsonKind::Object => Err(invalid_json(&object_error)),
                kind => Err(BodyError::ExpectedObject { found: kind.name() }),
            },
            Err(e) => Err(invalid_json(&e)),
        },
    }
}

/// For the batch endpoint: validate one element of `events`. A non-object
/// gives one `invalid_type` error on `path` itself.
pub fn parse_raw_event(raw: &RawValue, path: &str, now: DateTime<Utc>) -> Result<ParsedEvent, Vec<FieldError>> {
    let not_object = || {
        vec![FieldError {
            field: path.to_string(),
            code: FieldCode::InvalidType,
            message: "event must be a JSON object".to_string(),
        }]
    };
    if json_kind(raw) != JsonKind::Object {
        return Err(not_object());
    }
    // On valid JSON this only fails for a key holding an unpaired surrogate
    // escape (keys are decoded, values are not); report it on the element.
    match serde_json::from_str::<RawObject>(raw.get()) {
        Ok(obj) => parse_event_object(&obj, path, now),
        Err(_) => Err(vec![FieldError {
            field: path.to_string(),
            code: FieldCode::ControlCharacters,
            message: "event has a key with an unpaired surrogate escape".to_string(),
        }]),
    }
}

/// Validate one event object already split into raw members; `path`
/// prefixes field names in errors ("" gives "currency", "events[3]" gives
/// "events[3].currency"). Every broken field is reported.
pub fn parse_event_object(obj: &RawObject, path: &str, now: DateTime<Utc>) -> Result<ParsedEvent, Vec<FieldError>> {
    let mut errs = Errors { path, list: Vec::new() };
    let field = |name: &str| obj.get(name).map(|raw| read_field(raw));

    let email = check_email(field("email"), &mut errs);
    let event = check_event(field("event"), &mut errs);
    let value = check_value(field("value"), &mut errs);
    let currency = check_currency(field("currency"), value.is_present(), &mut errs);
    let event_id = check_event_id(field("event_id"), &mut errs);
    let occurred_at = check_occurred_at(field("occurred_at"), now, &mut errs);
    let click_id = check_click_id(field("click_id"), &mut errs);
    let properties = check_properties(obj.get("properties").map(|raw| &**raw), &mut errs);

    match (email, event) {
        (Some(email), Some(event)) if errs.list.is_empty() => Ok(ParsedEvent {
            event: ConversionEvent {
                email,
                event,
                value: value.into_option(),
                currency,
                event_id,
                occurred_at,
                click_id,
                properties,
            },
            unknown_fields: obj.keys().filter(|k| !KNOWN_FIELDS.contains(&k.as_str())).cloned().collect(),
        }),
        // A missing required field always pushed an error, so `list` is
        // never empty here.
        _ => Err(errs.list),
    }
}

// ---------------------------------------------------------------------------
// Error collection

struct Errors<'p> {
    path: &'p str,
    list: Vec<FieldError>,
}

impl Errors<'_> {
    fn push(&mut self, field: &str, code: FieldCode, message: impl Into<String>) {
        let field = if self.path.is_empty() { field.to_string() } else { format!("{}.{}", self.path, field) };
        self.list.push(FieldError { field, code, message: message.into() });
    }
}

fn invalid_json(e: &serde_json::Error) -> BodyError {
    // serde_json's Display appends " at line L column C"; the position is
    // reported separately, so keep the message short.
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    BodyError::InvalidJson { line: e.line(), column: e.column(), message }
}

// ---------------------------------------------------------------------------
// Raw field reading

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonKind {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

impl JsonKind {
    fn name(self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Boolean => "boolean",
            JsonKind::Number => "number",
            JsonKind::String => "string",
            JsonKind::Array => "array",
            JsonKind::Object => "object",
        }
    }
}

/// The kind of a raw JSON value, from its first byte (the text is valid JSON).
fn json_kind(raw: &RawValue) -> JsonKind {
    match raw.get().trim_start_matches([' ', '\t', '\n', '\r']).as_bytes().first() {
        Some(b'{') => JsonKind::Object,
        Some(b'[') => JsonKind::Array,
        Some(b'"') => JsonKind::String,
        Some(b't' | b'f') => JsonKind::Boolean,
        Some(b'n') | None => JsonKind::Null,
        Some(_) => JsonKind::Number,
    }
}

/// A top-level member as the scalar checks see it.
enum Field<'a> {
    /// Missing, `null`, or a string that is empty after trimming.
    Absent,
    /// A string, trimmed.
    Text(String),
    /// A number's raw JSON text.
    Number(&'a str),
    /// Boolean, array or object.
    Other,
    /// A string with an unpaired UTF-16 surrogate escape such as `"\ud800"`:
    /// serde_json lets it through a raw value but will not decode it, and
    /// PostgreSQL would reject it too.
    LoneSurrogate,
}

fn read_field(raw: &RawValue) -> Field<'_> {
    let text = raw.get().trim_matches([' ', '\t', '\n', '\r']);
    match json_kind(raw) {
        JsonKind::Null => Field::Absent,
        JsonKind::Number => Field::Number(text),
        JsonKind::String => match serde_json::from_str::<String>(text) {
            Ok(s) => {
                let trimmed = s.trim();
                if trimmed.is_empty() {
                    Field::Absent
                } else if trimmed.len() == s.len() {
                    Field::Text(s)
                } else {
                    Field::Text(trimmed.to_string())
                }
            }
            Err(_) => Field::LoneSurrogate,
        },
        JsonKind::Boolean | JsonKind::Array | JsonKind::Object => Field::Other,
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn lone_surrogate(name: &str) -> String {
    format!("{name} must not contain an unpaired surrogate escape (\\ud800-\\udfff)")
}

// ---------------------------------------------------------------------------
// Field checks. Each returns the accepted value or pushes one error.

fn check_email(field: Option<Field<'_>>, errs: &mut Errors<'_>) -> Option<Email> {
    let text = match field.unwrap_or(Field::Absent) {
        Field::Absent => {
            errs.push("email", FieldCode::Required, "email is required");
            return None;
        }
        Field::Text(s) => s,
        Field::Number(_) | Field::Other => {
            errs.push("email", FieldCode::InvalidType, "email must be a string");
            return None;
        }
        Field::LoneSurrogate => {
            errs.push("email", FieldCode::ControlCharacters, lone_surrogate("email"));
            return None;
        }
    };
    match Email::parse(&text) {
        Ok(email) => Some(email),
        Err(e) => {
            let code = match e {
                EmailError::Empty => FieldCode::Required,
                EmailError::TooLong => FieldCode::TooLong,
                EmailError::Invalid => FieldCode::InvalidEmail,
                EmailError::ControlCharacters => FieldCode::ControlCharacters,
            };
            errs.push("email", code, e.to_string());
            None
        }
    }
}

/// Shared rules for trimmed text fields: string only (or, when
/// `integer_ok`, a JSON integer), no control characters, at most `max` chars.
fn check_text(
    name: &str,
    field: Option<Field<'_>>,
    max: usize,
    integer_ok: bool,
    errs: &mut Errors<'_>,
) -> Option<String> {
    let text = match field.unwrap_or(Field::Absent) {
        Field::Absent => return None,
        Field::Text(s) => s,
        Field::Number(n) if integer_ok && is_json_integer(n) => n.to_string(),
        Field::Number(_) | Field::Other => {
            let wanted = if integer_ok { "a string or an integer" } else { "a string" };
            errs.push(name, FieldCode::InvalidType, format!("{name} must be {wanted}"));
            return None;
        }
        Field::LoneSurrogate => {
            errs.push(name, FieldCode::ControlCharacters, lone_surrogate(name));
            return None;
        }
    };
    if has_control(&text) {
        errs.push(name, FieldCode::ControlCharacters, format!("{name} must not contain control characters"));
        return None;
    }
    if text.chars().count() > max {
        errs.push(name, FieldCode::TooLong, format!("{name} must be at most {max} characters"));
        return None;
    }
    Some(text)
}

fn is_json_integer(n: &str) -> bool {
    let digits = n.strip_prefix('-').unwrap_or(n);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn check_event(field: Option<Field<'_>>, errs: &mut Errors<'_>) -> Option<String> {
    if matches!(field, None | Some(Field::Absent)) {
        errs.push("event", FieldCode::Required, "event is required");
        return None;
    }
    check_text("event", field, MAX_EVENT_CHARS, false, errs)
}

fn check_event_id(field: Option<Field<'_>>, errs: &mut Errors<'_>) -> Option<String> {
    check_text("event_id", field, MAX_EVENT_ID_CHARS, true, errs)
}

fn check_click_id(field: Option<Field<'_>>, errs: &mut Errors<'_>) -> Option<String> {
    check_text("click_id", field, MAX_CLICK_ID_CHARS, false, errs)
}

fn check_currency(field: Option<Field<'_>>, value_present: bool, errs: &mut Errors<'_>) -> Option<Currency> {
    let text = match field.unwrap_or(Field::Absent) {
        Field::Absent => {
            if value_present {
                errs.push("currency", FieldCode::RequiredWithValue, "currency is required when value is present");
            }
            return None;
        }
        Field::Text(s) => s,
        Field::Number(_) | Field::Other => {
            errs.push("currency", FieldCode::InvalidType, "currency must be a string such as \"USD\"");
            return None;
        }
        Field::LoneSurrogate => {
            errs.push("currency", FieldCode::ControlCharacters, lone_surrogate("currency"));
            return None;
        }
    };
    if has_control(&text) {
        errs.push("currency", FieldCode::ControlCharacters, "currency must not contain control characters");
        return None;
    }
    match Currency::parse(&text) {
        Ok(c) => Some(c),
        Err(e) => {
            errs.push("currency", FieldCode::UnknownCurrency, e.to_string());
            None
        }
    }
}

fn check_occurred_at(field: Option<Field<'_>>, now: DateTime<Utc>, errs: &mut Errors<'_>) -> Option<DateTime<Utc>> {
    const NAME: &str = "occurred_at";
    let text = match field.unwrap_or(Field::Absent) {
        Field::Absent => return None,
        Field::Text(s) => s,
        Field::Number(_) | Field::Other => {
            errs.push(
                NAME,
                FieldCode::InvalidType,
                "occurred_at must be an RFC 3339 string such as \"2024-05-01T12:00:00Z\"",
            );
            return None;
        }
        Field::LoneSurrogate => {
            errs.push(NAME, FieldCode::ControlCharacters, lone_surrogate(NAME));
            return None;
        }
    };
    if has_control(&text) {
        errs.push(NAME, FieldCode::ControlCharacters, "occurred_at must not contain control characters");
        return None;
    }
    let at = match DateTime::parse_from_rfc3339(&text) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            errs.push(
                NAME,
                FieldCode::InvalidTimestamp,
                "occurred_at must be an RFC 3339 time such as \"2024-05-01T12:00:00Z\"",
            );
            return None;
        }
    };
    let oldest = now.checked_sub_signed(TimeDelta::days(MAX_OCCURRED_AGE_DAYS));
    let latest = now.checked_add_signed(TimeDelta::minutes(MAX_OCCURRED_FUTURE_MINUTES));
    if oldest.is_some_and(|oldest| at < oldest) {
        errs.push(NAME, FieldCode::TooOld, "occurred_at must not be more than 7 days in the past");
        return None;
    }
    if latest.is_some_and(|latest| at > latest) {
        errs.push(NAME, FieldCode::InFuture, "occurred_at must not be more than 5 minutes in the future");
        return None;
    }
    Some(at)
}

// ---------------------------------------------------------------------------
// value

enum ValueOutcome {
    Absent,
    Valid(BigDecimal),
    Invalid,
}

impl ValueOutcome {
    /// Whether the sender gave a value at all (it makes `currency` required).
    fn is_present(&self) -> bool {
        !matches!(self, ValueOutcome::Absent)
    }

    fn into_option(self) -> Option<BigDecimal> {
        match self {
            ValueOutcome::Valid(v) => Some(v),
            ValueOutcome::Absent | ValueOutcome::Invalid => None,
        }
    }
}

fn check_value(field: Option<Field<'_>>, errs: &mut Errors<'_>) -> ValueOutcome {
    let parsed = match field.unwrap_or(Field::Absent) {
        Field::Absent => return ValueOutcome::Absent,
        Field::Number(n) => match split_json_number(n) {
            Some(parts) => to_value(&parts),
            // serde_json validated the number, so this is defensive only.
            None => Err((FieldCode::InvalidNumber, "value must be a number".to_string())),
        },
        Field::Text(s) => parse_value_string(&s),
        Field::Other => Err((FieldCode::InvalidType, "value must be a number or a numeric string".to_string())),
        Field::LoneSurrogate => Err((FieldCode::ControlCharacters, lone_surrogate("value"))),
    };
    match parsed {
        Ok(v) => ValueOutcome::Valid(v),
        Err((code, message)) => {
            errs.push("value", code, message);
            ValueOutcome::Invalid
        }
    }
}

/// A decimal number split into its written parts, without allocating.
#[derive(Debug)]
struct NumberParts<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
    /// The exponent, saturated: `1e999999999999999999999` gives `i64::MAX`,
    /// far beyond any limit checked here.
    exp: i64,
}

fn take_digits(s: &str) -> (&str, &str) {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    s.split_at(end)
}

/// Splits the JSON number grammar `-?\d+(\.\d+)?([eE][+-]?\d+)?`.
fn split_json_number(s: &str) -> Option<NumberParts<'_>> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, rest) = take_digits(rest);
    if int.is_empty() {
        return None;
    }
    let (frac, rest) = match rest.strip_prefix('.') {
        Some(after) => {
            let (frac, rest) = take_digits(after);
            if frac.is_empty() {
                return None;
            }
            (frac, rest)
        }
        None => ("", rest),
    };
    let exp = match rest.strip_prefix(['e', 'E']) {
        Some(after) => {
            let (exp_negative, after) = match after.as_bytes().first() {
                Some(b'-') => (true, &after[1..]),
                Some(b'+') => (false, &after[1..]),
                _ => (false, after),
            };
            let (digits, rest) = take_digits(after);
            if digits.is_empty() || !rest.is_empty() {
                return None;
            }
            let magnitude =
                digits.bytes().fold(0i64, |acc, b| acc.saturating_mul(10).saturating_add(i64::from(b - b'0')));
            if exp_negative { -magnitude } else { magnitude }
        }
        None if rest.is_empty() => 0,
        None => return None,
    };
    Some(NumberParts { negative, int, frac, exp })
}

/// A value string: only a plain decimal, after trimming.
fn parse_value_string(s: &str) -> Result<BigDecimal, (FieldCode, String)> {
    if has_control(s) {
        return Err((FieldCode::ControlCharacters, "value must not contain control characters".to_string()));
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if ["nan", "inf", "infinity"].iter().any(|w| unsigned.eq_ignore_ascii_case(w)) {
        return Err((FieldCode::NotFinite, "value must be a finite number".to_string()));
    }
    // The plain form is the JSON grammar without an exponent.
    match split_json_number(s) {
        Some(parts) if !s.contains(['e', 'E']) => to_value(&parts),
        _ => Err((FieldCode::InvalidNumber, "value must be a plain decimal number such as \"99.99\"".to_string())),
    }
}

/// Significant digits of a number and the power of ten they are scaled by.
struct Significand<'a> {
    parts: &'a NumberParts<'a>,
    leading_zeros: usize,
    digit_count: usize,
    /// value = digits × 10^power
    power: i128,
}

fn significand<'a>(parts: &'a NumberParts<'a>) -> Option<Significand<'a>> {
    let total = parts.int.len() + parts.frac.len();
    let leading_zeros = parts.int.bytes().chain(parts.frac.bytes()).take_while(|b| *b == b'0').count();
    if leading_zeros == total {
        return None; // zero
    }
    let trailing_zeros = parts.frac.bytes().rev().chain(parts.int.bytes().rev()).take_while(|b| *b == b'0').count();
    let digit_count = total - leading_zeros - trailing_zeros;
    let power = i128::from(parts.exp) - parts.frac.len() as i128 + trailing_zeros as i128;
    Some(Significand { parts, leading_zeros, digit_count, power })
}

/// Range-checks a number and builds it exactly. The limits are checked on the
/// written digits and exponent first, so `1e999999999` costs nothing.
fn to_value(parts: &NumberParts<'_>) -> Result<BigDecimal, (FieldCode, String)> {
    // The scale the sender wrote, kept (capped at 6) when storing.
    let written_scale = parts.frac.len() as i128 - i128::from(parts.exp);
    let scale = written_scale.clamp(0, MAX_VALUE_DECIMALS);
    let Some(sig) = significand(parts) else {
        // Zero, including "-0": never negative.
        return Ok(BigDecimal::new(BigInt::from(0), scale as i64));
    };
    if parts.negative {
        return Err((FieldCode::Negative, "value must not be negative".to_string()));
    }
    if sig.digit_count as i128 + sig.power > MAX_VALUE_INTEGER_DIGITS {
        return Err((FieldCode::TooLarge, "value must be less than 1000000000000".to_string()));
    }
    if -sig.power > MAX_VALUE_DECIMALS {
        return Err((FieldCode::TooManyDecimals, "value must have at most 6 decimal places".to_string()));
    }
    // Now value < 10^12 with at most 6 decimals, so value × 10^6 < 10^18
    // fits an i64. `scale >= -power` here, so the shift is never negative.
    let too_large = || (FieldCode::TooLarge, "value must be less than 1000000000000".to_string());
    let mut units: i64 = 0;
    for b in sig.parts.int.bytes().chain(sig.parts.frac.bytes()).skip(sig.leading_zeros).take(sig.digit_count) {
        units = units.checked_mul(10).and_then(|u| u.checked_add(i64::from(b - b'0'))).ok_or_else(too_large)?;
    }
    for _ in 0..(sig.power + scale) {
        units = units.checked_mul(10).ok_or_else(too_large)?;
    }
    Ok(BigDecimal::new(BigInt::from(units), scale as i64))
}

// ---------------------------------------------------------------------------
// properties

fn check_properties(raw: Option<&RawValue>, errs: &mut Errors<'_>) -> Option<String> {
    const NAME: &str = "properties";
    let raw = raw?;
    match json_kind(raw) {
        JsonKind::Object => {}
        JsonKind::Null => return None,
        JsonKind::String => {
            if matches!(read_field(raw), Field::Absent) {
                return None;
            }
            errs.push(NAME, FieldCode::InvalidType, "properties must be a JSON object");
            return None;
        }
        JsonKind::Boolean | JsonKind::Number | JsonKind::Array => {
            errs.push(NAME, FieldCode::InvalidType, "properties must be a JSON object");
            return None;
        }
    }
    let text = raw.get().trim_matches([' ', '\t', '\n', '\r']);
    if text.len() > MAX_PROPERTIES_BYTES {
        errs.push(
            NAME,
            FieldCode::PropertiesTooLarge,
            format!("properties must be at most {MAX_PROPERTIES_BYTES} bytes"),
        );
        return None;
    }
    let scan = scan_properties(text);
    if scan.max_depth > MAX_PROPERTIES_DEPTH {
        errs.push(
            NAME,
            FieldCode::PropertiesTooDeep,
            format!("properties must be nested at most {MAX_PROPERTIES_DEPTH} levels deep"),
        );
        return None;
    }
    if scan.has_nul {
        errs.push(NAME, FieldCode::ControlCharacters, "properties must not contain NUL (\\u0000) characters");
        return None;
    }
    if scan.has_lone_surrogate {
        errs.push(NAME, FieldCode::ControlCharacters, lone_surrogate(NAME));
        return None;
    }
    if scan.number_out_of_range {
        errs.push(NAME, FieldCode::TooLarge, "properties contains a number too large or too precise to store");
        return None;
    }
    Some(text.to_string())
}

#[derive(Debug, Default, PartialEq)]
struct PropertiesScan {
    max_depth: usize,
    has_nul: bool,
    has_lone_surrogate: bool,
    number_out_of_range: bool,
}

/// One pass over JSON text that serde_json has already validated: nesting
/// depth (strings and escapes skipped), and what PostgreSQL's `jsonb` input
/// rejects: `\u0000` and unpaired surrogate escapes in strings and keys, and
/// numbers its `numeric` cannot hold.
fn scan_properties(text: &str) -> PropertiesScan {
    let bytes = text.as_bytes();
    let mut scan = PropertiesScan::default();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'{' | b'[' => {
                depth += 1;
                scan.max_depth = scan.max_depth.max(depth);
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'"' => break,
                        b'\\' if bytes.get(i + 1) == Some(&b'u') => {
                            match hex4(bytes.get(i + 2..i + 6)) {
                                Some(0) => scan.has_nul = true,
                                Some(0xD800..=0xDBFF) => {
                                    // A high surrogate must be followed by a low one.
                                    let low = match bytes.get(i + 6..i + 8) {
                                        Some(b"\\u") => hex4(bytes.get(i + 8..i + 12)),
                                        _ => None,
                                    };
                                    if matches!(low, Some(0xDC00..=0xDFFF)) {
                                        i += 12;
                                        continue;
                                    }
                                    scan.has_lone_surrogate = true;
                                }
                                Some(0xDC00..=0xDFFF) => scan.has_lone_surrogate = true,
                                _ => {}
                            }
                            i += 6;
                        }
                        // Any other escape is two bytes.
                        b'\\' => i += 2,
                        _ => i += 1,
                    }
                }
                i += 1; // closing quote
            }
            b'-' | b'0'..=b'9' => {
                let len = bytes[i..]
                    .iter()
                    .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .count();
                let token = text.get(i..i + len).unwrap_or("");
                if !fits_pg_numeric(token) {
                    scan.number_out_of_range = true;
                }
                i += len.max(1);
            }
            _ => i += 1,
        }
    }
    scan
}

/// The code unit of the four hex digits of a `\uXXXX` escape.
fn hex4(digits: Option<&[u8]>) -> Option<u32> {
    let digits = digits?;
    if digits.len() != 4 {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, d| Some(acc * 16 + char::from(*d).to_digit(16)?))
}

/// Whether PostgreSQL 15's `numeric` input accepts this JSON number.
fn fits_pg_numeric(token: &str) -> bool {
    let Some(parts) = split_json_number(token) else {
        return true; // not a number we understand: leave it to PostgreSQL
    };
    let exp = i128::from(parts.exp);
    if exp >= PG_NUMERIC_MAX_EXPONENT || exp <= -PG_NUMERIC_MAX_EXPONENT {
        return false;
    }
    // The scale PostgreSQL keeps is the written one, zeros included.
    if parts.frac.len() as i128 - exp > PG_NUMERIC_MAX_SCALE {
        return false;
    }
    match significand(&parts) {
        None => true,
        Some(sig) => {
            // Position of the first significant digit = integer digits.
            let integer_digits = sig.digit_count as i128 + sig.power;
            integer_digits <= PG_NUMERIC_MAX_INTEGER_DIGITS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).single().expect("valid time")
    }

    /// A body built from a valid base (`email`, `event`) with members
    /// replaced, added, or removed (`None`).
    fn body_with(changes: &[(&str, Option<String>)]) -> String {
        let mut members: Vec<(String, String)> =
            vec![("email".into(), r#""a@b.co""#.into()), ("event".into(), r#""purchase""#.into())];
        for (name, raw) in changes {
            members.retain(|(k, _)| k != name);
            if let Some(raw) = raw {
                members.push((name.to_string(), raw.clone()));
            }
        }
        let inner: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", inner.join(","))
    }

    fn parse(body: &str) -> Result<ParsedEvent, Vec<FieldError>> {
        parse_event_body(body.as_bytes(), now()).expect("body is a JSON object")
    }

    fn json_str(s: &str) -> String {
        serde_json::to_string(s).expect("string serialises")
    }

    /// `depth` levels of objects: `{"a":{"a":{}}}` is depth 3.
    fn nested(depth: usize) -> String {
        let mut s = String::from("{}");
        for _ in 1..depth {
            s = format!("{{\"a\":{s}}}");
        }
        s
    }

    fn s(raw: &str) -> Option<String> {
        Some(raw.to_string())
    }

    type Row = (&'static str, Vec<(&'static str, Option<String>)>, Option<(&'static str, FieldCode)>);

    /// One row per rule: (label, changes to the valid base, expected error).
    #[rustfmt::skip]
    fn rows() -> Vec<Row> {
        use FieldCode::*;
        let usd = ("currency", s(r#""USD""#));
        // {"a":"…"} is the string plus 8 bytes.
        let props_max = format!(r#"{{"a":{}}}"#, json_str(&"x".repeat(MAX_PROPERTIES_BYTES - 8)));
        let props_over = format!(r#"{{"a":{}}}"#, json_str(&"x".repeat(MAX_PROPERTIES_BYTES - 7)));
        assert_eq!((props_max.len(), props_over.len()), (MAX_PROPERTIES_BYTES, MAX_PROPERTIES_BYTES + 1));
        vec![
            ("base is valid", vec![], None),
            // email
            ("email missing", vec![("email", None)], Some(("email", Required))),
            ("email null", vec![("email", s("null"))], Some(("email", Required))),
            ("email empty", vec![("email", s(r#""""#))], Some(("email", Required))),
            ("email blank", vec![("email", s(r#""  ""#))], Some(("email", Required))),
            ("email number", vec![("email", s("42"))], Some(("email", InvalidType))),
            ("email array", vec![("email", s(r#"["a@b.co"]"#))], Some(("email", InvalidType))),
            ("email bool", vec![("email", s("true"))], Some(("email", InvalidType))),
            ("email no at", vec![("email", s(r#""nope""#))], Some(("email", InvalidEmail))),
            ("email two ats", vec![("email", s(r#""a@b@c.com""#))], Some(("email", InvalidEmail))),
            ("email no dot", vec![("email", s(r#""a@localhost""#))], Some(("email", InvalidEmail))),
            ("email too long", vec![("email", Some(json_str(&format!("{}@b.com", "a".repeat(249)))))], Some(("email", TooLong))),
            ("email NUL", vec![("email", s(r#""a\u0000@b.co""#))], Some(("email", ControlCharacters))),
            ("email lone surrogate", vec![("email", s(r#""a\ud800@b.co""#))], Some(("email", ControlCharacters))),
            ("email normalised", vec![("email", s(r#"" A@B.CO ""#))], None),
            ("email unicode", vec![("email", s(r#""jörg@bücher.de""#))], None),
            // event
            ("event missing", vec![("event", None)], Some(("event", Required))),
            ("event null", vec![("event", s("null"))], Some(("event", Required))),
            ("event empty", vec![("event", s(r#""""#))], Some(("event", Required))),
            ("event blank", vec![("event", s(r#"" \t ""#))], Some(("event", Required))),
            ("event bool", vec![("event", s("false"))], Some(("event", InvalidType))),
            ("event number", vec![("event", s("1"))], Some(("event", InvalidType))),
            ("event object", vec![("event", s("{}"))], Some(("event", InvalidType))),
            ("event 101 chars", vec![("event", Some(json_str(&"e".repeat(101))))], Some(("event", TooLong))),
            ("event 100 chars", vec![("event", Some(json_str(&"é".repeat(100))))], None),
            ("event trimmed to 100", vec![("event", Some(json_str(&format!("  {}  ", "e".repeat(100)))))], None),
            ("event NUL", vec![("event", s(r#""buy\u0000""#))], Some(("event", ControlCharacters))),
            ("event newline inside", vec![("event", s(r#""a\nb""#))], Some(("event", ControlCharacters))),
            ("event DEL", vec![("event", s(r#""a\u007fb""#))], Some(("event", ControlCharacters))),
            ("event lone surrogate", vec![("event", s(r#""a\udc00""#))], Some(("event", ControlCharacters))),
            ("event surrogate pair", vec![("event", s(r#""buy \ud83d\ude00""#))], None),
            // value
            ("value string", vec![("value", s(r#""99.99""#)), usd.clone()], None),
            ("value number", vec![("value", s("99.99")), usd.clone()], None),
            ("value padded string", vec![("value", s(r#"" 99.99 ""#)), usd.clone()], None),
            ("value null", vec![("value", s("null"))], None),
            ("value empty string", vec![("value", s(r#""""#))], None),
            ("value exponent string", vec![("value", s(r#""1e3""#)), usd.clone()], Some(("value", InvalidNumber))),
            ("value comma", vec![("value", s(r#""12,50""#)), usd.clone()], Some(("value", InvalidNumber))),
            ("value words", vec![("value", s(r#""ten""#)), usd.clone()], Some(("value", InvalidNumber))),
            ("value plus sign", vec![("value", s(r#""+5""#)), usd.clone()], Some(("value", InvalidNumber))),
            ("value bare point", vec![("value", s(r#"".5""#)), usd.clone()], Some(("value", InvalidNumber))),
            ("value trailing point", vec![("value", s(r#""5.""#)), usd.clone()], Some(("value", InvalidNumber))),
            ("value NaN", vec![("value", s(r#""NaN""#)), usd.clone()], Some(("value", NotFinite))),
            ("value Infinity", vec![("value", s(r#""Infinity""#)), usd.clone()], Some(("value", NotFinite))),
            ("value -inf", vec![("value", s(r#""-inf""#)), usd.clone()], Some(("value", NotFinite))),
            ("value negative", vec![("value", s("-1")), usd.clone()], Some(("value", Negative))),
            ("value negative string", vec![("value", s(r#""-0.01""#)), usd.clone()], Some(("value", Negative))),
            ("value negative huge", vec![("value", s("-1e400")), usd.clone()], Some(("value", Negative))),
            ("value minus zero", vec![("value", s("-0")), usd.clone()], None),
            ("value minus zero string", vec![("value", s(r#""-0.00""#)), usd.clone()], None),
            ("value 10^12", vec![("value", s("1e12")), usd.clone()], Some(("value", TooLarge))),
            ("value 10^12 written", vec![("value", s("1000000000000")), usd.clone()], Some(("value", TooLarge))),
            ("value 10^12 string", vec![("value", s(r#""1000000000000.0""#)), usd.clone()], Some(("value", TooLarge))),
            ("value just below 10^12", vec![("value", s("999999999999.999999")), usd.clone()], None),
            ("value 1e400", vec![("value", s("1e400")), usd.clone()], Some(("value", TooLarge))),
            ("value giant exponent", vec![("value", s("1e999999999")), usd.clone()], Some(("value", TooLarge))),
            ("value absurd exponent", vec![("value", s("1e99999999999999999999999999")), usd.clone()], Some(("value", TooLarge))),
            ("value 7 decimals", vec![("value", s("1.1234567")), usd.clone()], Some(("value", TooManyDecimals))),
            ("value 7 decimals string", vec![("value", s(r#""0.0000001""#)), usd.clone()], Some(("value", TooManyDecimals))),
            ("value tiny exponent", vec![("value", s("1e-7")), usd.clone()], Some(("value", TooManyDecimals))),
            ("value giant negative exponent", vec![("value", s("1e-999999999")), usd.clone()], Some(("value", TooManyDecimals))),
            ("value trailing zeros", vec![("value", s("99.990000000")), usd.clone()], None),
            ("value bool", vec![("value", s("true")), usd.clone()], Some(("value", InvalidType))),
            ("value object", vec![("value", s("{}")), usd.clone()], Some(("value", InvalidType))),
            ("value array", vec![("value", s("[1]")), usd.clone()], Some(("value", InvalidType))),
            ("value NUL", vec![("value", s(r#""9\u00009""#)), usd.clone()], Some(("value", ControlCharacters))),
            // currency
            ("currency missing with value", vec![("value", s("1"))], Some(("currency", RequiredWithValue))),
            ("currency null with value", vec![("value", s("1")), ("currency", s("null"))], Some(("currency", RequiredWithValue))),
            ("currency empty with value", vec![("value", s(r#""1""#)), ("currency", s(r#""""#))], Some(("currency", RequiredWithValue))),
            ("currency lower case", vec![("value", s("1")), ("currency", s(r#""eur""#))], None),
            ("currency without value", vec![("currency", s(r#""GBP""#))], None),
            ("currency unknown", vec![("currency", s(r#""ZZZ""#))], Some(("currency", UnknownCurrency))),
            ("currency test code", vec![("currency", s(r#""XTS""#))], Some(("currency", UnknownCurrency))),
            ("currency number", vec![("currency", s("840"))], Some(("currency", InvalidType))),
            ("currency NUL", vec![("currency", s(r#""U\u0000S""#))], Some(("currency", ControlCharacters))),
            // event_id
            ("event_id ok", vec![("event_id", s(r#""order-1""#))], None),
            ("event_id integer", vec![("event_id", s("12345"))], None),
            ("event_id 128", vec![("event_id", Some(json_str(&"i".repeat(128))))], None),
            ("event_id 129", vec![("event_id", Some(json_str(&"i".repeat(129))))], Some(("event_id", TooLong))),
            ("event_id long integer", vec![("event_id", Some("9".repeat(129)))], Some(("event_id", TooLong))),
            ("event_id fraction", vec![("event_id", s("1.5"))], Some(("event_id", InvalidType))),
            ("event_id exponent", vec![("event_id", s("1e3"))], Some(("event_id", InvalidType))),
            ("event_id bool", vec![("event_id", s("true"))], Some(("event_id", InvalidType))),
            ("event_id NUL", vec![("event_id", s(r#""a\u0000""#))], Some(("event_id", ControlCharacters))),
            ("event_id empty", vec![("event_id", s(r#""""#))], None),
            // occurred_at
            ("occurred_at ok", vec![("occurred_at", s(r#""2024-05-01T11:00:00Z""#))], None),
            ("occurred_at offset", vec![("occurred_at", s(r#""2024-05-01T13:00:00+02:00""#))], None),
            ("occurred_at garbage", vec![("occurred_at", s(r#""yesterday""#))], Some(("occurred_at", InvalidTimestamp))),
            ("occurred_at no zone", vec![("occurred_at", s(r#""2024-05-01T11:00:00""#))], Some(("occurred_at", InvalidTimestamp))),
            ("occurred_at epoch", vec![("occurred_at", s("1714564800"))], Some(("occurred_at", InvalidType))),
            ("occurred_at exactly 7 days", vec![("occurred_at", s(r#""2024-04-24T12:00:00Z""#))], None),
            ("occurred_at 7 days + 1s", vec![("occurred_at", s(r#""2024-04-24T11:59:59Z""#))], Some(("occurred_at", TooOld))),
            ("occurred_at exactly +5 min", vec![("occurred_at", s(r#""2024-05-01T12:05:00Z""#))], None),
            ("occurred_at +5 min + 1s", vec![("occurred_at", s(r#""2024-05-01T12:05:01Z""#))], Some(("occurred_at", InFuture))),
            ("occurred_at NUL", vec![("occurred_at", s(r#""2024\u0000""#))], Some(("occurred_at", ControlCharacters))),
            ("occurred_at null", vec![("occurred_at", s("null"))], None),
            // click_id
            ("click_id ok", vec![("click_id", s(r#""gclid-abc""#))], None),
            ("click_id 255", vec![("click_id", Some(json_str(&"c".repeat(255))))], None),
            ("click_id 256", vec![("click_id", Some(json_str(&"c".repeat(256))))], Some(("click_id", TooLong))),
            ("click_id number", vec![("click_id", s("5"))], Some(("click_id", InvalidType))),
            ("click_id NUL", vec![("click_id", s(r#""\u0000""#))], Some(("click_id", ControlCharacters))),
            // properties
            ("properties ok", vec![("properties", s(r#"{"plan":"pro","n":[1,2]}"#))], None),
            ("properties null", vec![("properties", s("null"))], None),
            ("properties empty string", vec![("properties", s(r#""""#))], None),
            ("properties string", vec![("properties", s(r#""x""#))], Some(("properties", InvalidType))),
            ("properties array", vec![("properties", s("[]"))], Some(("properties", InvalidType))),
            ("properties number", vec![("properties", s("5"))], Some(("properties", InvalidType))),
            ("properties depth 10", vec![("properties", Some(nested(10)))], None),
            ("properties depth 11", vec![("properties", Some(nested(11)))], Some(("properties", PropertiesTooDeep))),
            ("properties deep arrays", vec![("properties", Some(format!(r#"{{"a":{}1{}}}"#, "[".repeat(10), "]".repeat(10))))], Some(("properties", PropertiesTooDeep))),
            ("properties brackets in strings", vec![("properties", Some(format!(r#"{{"a":"{}"}}"#, "[{".repeat(20))))], None),
            ("properties 16 KiB", vec![("properties", Some(props_max))], None),
            ("properties 16 KiB + 1", vec![("properties", Some(props_over))], Some(("properties", PropertiesTooLarge))),
            ("properties NUL value", vec![("properties", s(r#"{"a":"x\u0000"}"#))], Some(("properties", ControlCharacters))),
            ("properties NUL key", vec![("properties", s(r#"{"\u0000":1}"#))], Some(("properties", ControlCharacters))),
            ("properties escaped backslash", vec![("properties", s(r#"{"a":"\\u0000"}"#))], None),
            ("properties other controls", vec![("properties", s(r#"{"a":"\u0001\t"}"#))], None),
            ("properties surrogate pair", vec![("properties", s(r#"{"a":"\ud83d\ude00","\uD83D\uDE00":1}"#))], None),
            ("properties lone high", vec![("properties", s(r#"{"a":"\ud83dx"}"#))], Some(("properties", ControlCharacters))),
            ("properties high high", vec![("properties", s(r#"{"a":"\ud83d\ud83d"}"#))], Some(("properties", ControlCharacters))),
            ("properties lone low", vec![("properties", s(r#"{"a":"\ude00"}"#))], Some(("properties", ControlCharacters))),
            ("properties lone in key", vec![("properties", s(r#"{"\ud800":1}"#))], Some(("properties", ControlCharacters))),
            ("properties 1e400", vec![("properties", s(r#"{"a":1e400}"#))], None),
            ("properties numeric overflow", vec![("properties", s(r#"{"a":1e131072}"#))], Some(("properties", TooLarge))),
            ("properties numeric scale", vec![("properties", s(r#"{"a":[1.5e-16383]}"#))], Some(("properties", TooLarge))),
        ]
    }

    #[test]
    fn table_one_row_per_rule() {
        let rows = rows();
        for (label, changes, expected) in &rows {
            let body = body_with(changes);
            match (expected, parse(&body)) {
                (None, Ok(_)) => {}
                (Some((field, code)), Err(errors)) => {
                    assert_eq!(errors.len(), 1, "{label}: {errors:?}");
                    assert_eq!(errors[0].field, *field, "{label}");
                    assert_eq!(errors[0].code, *code, "{label}");
                    assert!(!errors[0].message.is_empty(), "{label}");
                }
                (expected, got) => panic!("{label}: expected {expected:?}, got {got:?}"),
            }
        }
        for code in FieldCode::ALL {
            assert!(rows.iter().any(|(_, _, e)| e.is_some_and(|(_, c)| c == *code)), "no row for {code}");
        }
    }

    #[test]
    fn values_are_stored_exactly() {
        let cases = [
            (r#""99.99""#, "99.99"),
            ("99.99", "99.99"),
            ("0.1", "0.1"),
            (r#""0.1""#, "0.1"),
            ("100", "100"),
            (r#""007.50""#, "7.50"),
            ("99.990", "99.990"),
            ("99.990000000", "99.990000"),
            (r#""99.990000000""#, "99.990000"),
            ("1e3", "1000"),
            ("1E+3", "1000"),
            ("9.5E-1", "0.95"),
            ("1.50e1", "15.0"),
            ("123456e-6", "0.123456"),
            ("0.000001", "0.000001"),
            ("999999999999.999999", "999999999999.999999"),
            ("-0", "0"),
            (r#""-0.00""#, "0.00"),
            ("0e999999999", "0"),
            ("0.0000000000", "0.000000"),
        ];
        for (raw, expected) in cases {
            let body = body_with(&[("value", s(raw)), ("currency", s(r#""usd""#))]);
            let parsed = parse(&body).unwrap_or_else(|e| panic!("{raw}: {e:?}"));
            let value = parsed.event.value.expect("value present");
            assert_eq!(value.to_plain_string(), expected, "{raw}");
            assert_eq!(parsed.event.currency.map(|c| c.as_str()), Some("USD"));
        }
    }

    #[test]
    fn giant_exponents_are_cheap() {
        let started = std::time::Instant::now();
        for raw in ["1e999999999", "1e-999999999", "9e9223372036854775807", "1e-99999999999999999999"] {
            let body = body_with(&[("value", s(raw)), ("currency", s(r#""USD""#))]);
            assert!(parse(&body).is_err(), "{raw}");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn every_broken_field_is_listed() {
        let body = r#"{"email":"x","event":"","value":-5,"event_id":true,
            "occurred_at":"soon","click_id":7,"properties":[1]}"#;
        let errors = parse(body).expect_err("invalid");
        let got: Vec<(&str, FieldCode)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            vec![
                ("email", FieldCode::InvalidEmail),
                ("event", FieldCode::Required),
                ("value", FieldCode::Negative),
                ("currency", FieldCode::RequiredWithValue),
                ("event_id", FieldCode::InvalidType),
                ("occurred_at", FieldCode::InvalidTimestamp),
                ("click_id", FieldCode::InvalidType),
                ("properties", FieldCode::InvalidType),
            ]
        );
        assert_eq!(errors[3].message, "currency is required when value is present");
        let empty = parse("{}").expect_err("invalid");
        assert_eq!(empty.len(), 2);
    }

    #[test]
    fn accepted_event_is_normalised() {
        let body = r#"{"email":"  Jane.Doe@Example.COM ","event":"  Purchase ","value":"19.90",
            "currency":"eur","event_id":"  ord-7 ","occurred_at":"2024-05-01T13:30:00+02:00",
            "click_id":"gclid123","properties":{ "plan" : "pro", "big": 1e400 },
            "zeta":1,"colour":"red"}"#;
        let parsed = parse(body).expect("valid");
        let ev = &parsed.event;
        assert_eq!(ev.email.as_str(), "jane.doe@example.com");
        assert_eq!(ev.event, "Purchase");
        assert_eq!(ev.value.as_ref().map(|v| v.to_plain_string()), Some("19.90".into()));
        assert_eq!(ev.currency.map(|c| c.as_str()), Some("EUR"));
        assert_eq!(ev.event_id.as_deref(), Some("ord-7"));
        assert_eq!(ev.occurred_at, Utc.with_ymd_and_hms(2024, 5, 1, 11, 30, 0).single());
        assert_eq!(ev.click_id.as_deref(), Some("gclid123"));
        assert_eq!(ev.properties.as_deref(), Some(r#"{ "plan" : "pro", "big": 1e400 }"#));
        assert_eq!(parsed.unknown_fields, vec!["colour".to_string(), "zeta".to_string()]);
    }

    #[test]
    fn optional_fields_absent() {
        let parsed = parse(
            r#"{"email":"a@b.co","event":"signup","value":null,"currency":"",
            "event_id":"","occurred_at":null,"click_id":"  ","properties":""}"#,
        )
        .expect("valid");
        let ev = parsed.event;
        assert_eq!(
            (ev.value, ev.currency, ev.event_id, ev.occurred_at, ev.click_id, ev.properties),
            (None, None, None, None, None, None)
        );
        assert!(parsed.unknown_fields.is_empty());
    }

    #[test]
    fn event_id_integer_keeps_its_text() {
        for raw in ["1234567890123456789012", "-7", "0"] {
            let parsed = parse(&body_with(&[("event_id", s(raw))])).expect("valid");
            assert_eq!(parsed.event.event_id.as_deref(), Some(raw));
        }
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let parsed = parse(r#"{"email":"a@b.co","event":"first","event":"second"}"#).expect("valid");
        assert_eq!(parsed.event.event, "second");
        let errors = parse(r#"{"email":"a@b.co","event":"ok","event":""}"#).expect_err("invalid");
        assert_eq!(errors[0].code, FieldCode::Required);
    }

    #[test]
    fn unknown_fields_are_case_sensitive() {
        let errors = parse(r#"{"Email":"a@b.co","event":"x"}"#).expect_err("invalid");
        assert_eq!(errors[0].field, "email");
        let parsed = parse(r#"{"email":"a@b.co","event":"x","Email":"y"}"#).expect("valid");
        assert_eq!(parsed.unknown_fields, vec!["Email".to_string()]);
        // Unknown fields are not stored, so their content is not checked.
        let parsed = parse(r#"{"email":"a@b.co","event":"x","extra":"\ud800\u0000"}"#).expect("valid");
        assert_eq!(parsed.unknown_fields, vec!["extra".to_string()]);
    }

    #[test]
    fn body_errors() {
        let cases: [(&[u8], &str); 5] = [
            (br#"[{"email":"a@b.co"}]"#, "array"),
            (br#""text""#, "string"),
            (b" 12.5 ", "number"),
            (b"true", "boolean"),
            (b"null", "null"),
        ];
        for (body, found) in cases {
            assert_eq!(parse_event_body(body, now()), Err(BodyError::ExpectedObject { found }));
        }
        let err = parse_event_body(b"{\n  \"email\": }", now()).expect_err("invalid");
        match &err {
            BodyError::InvalidJson { line, column, message } => {
                assert_eq!((*line, *column), (2, 12));
                assert_eq!(message, "expected value");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.code(), "invalid_json");
        assert!(err.to_string().contains("line 2 column 12"));
        for body in [
            &b""[..],
            b"   ",
            b"{",
            b"{\"email\":\"a@b.co\"} trailing",
            b"{\"email\":\"\xff\"}",
            b"\xff\xfe",
            br#"{"\ud800":1}"#,
            br#"{"a":NaN}"#,
            br#"{"a":01}"#,
            b"{'a':1}",
        ] {
            assert!(
                matches!(parse_event_body(body, now()), Err(BodyError::InvalidJson { .. })),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let array = BodyError::ExpectedObject { found: "array" };
        assert_eq!(array.code(), "expected_object");
        assert!(array.to_string().contains("batch"));
    }

    #[test]
    fn deeply_nested_bodies_do_not_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_event_body(deep.as_bytes(), now()).is_err());
        let deep_props = format!(
            r#"{{"email":"a@b.co","event":"e","properties":{{"a":{}{}}}}}"#,
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        let errors = parse(&deep_props).expect_err("too deep");
        assert_eq!(errors[0].code, FieldCode::PropertiesTooDeep);
    }

    #[test]
    fn batch_paths() {
        let raw = RawValue::from_string(r#"{"email":"a@b.co","event":"e","value":1}"#.into()).expect("json");
        let errors = parse_raw_event(&raw, "events[3]", now()).expect_err("invalid");
        assert_eq!(errors[0].field, "events[3].currency");
        assert_eq!(errors[0].code, FieldCode::RequiredWithValue);

        for non_object in ["[1]", r#""x""#, "1e400", "null", "true"] {
            let raw = RawValue::from_string(non_object.into()).expect("json");
            let errors = parse_raw_event(&raw, "events[0]", now()).expect_err("invalid");
            assert_eq!(
                errors,
                vec![FieldError {
                    field: "events[0]".into(),
                    code: FieldCode::InvalidType,
                    message: "event must be a JSON object".into(),
                }]
            );
        }

        let raw = RawValue::from_string(r#"{"email":"a@b.co","event":"e","x":1}"#.into()).expect("json");
        let parsed = parse_raw_event(&raw, "events[1]", now()).expect("valid");
        assert_eq!(parsed.unknown_fields, vec!["x".to_string()]);

        // The batch handler can split `{"events": [...]}` like this.
        #[derive(serde::Deserialize)]
        struct Batch {
            events: Vec<Box<RawValue>>,
        }
        let batch: Batch =
            serde_json::from_str(r#"{"events":[{"email":"a@b.co","event":"e","value":1e400,"currency":"USD"}, 5]}"#)
                .expect("json");
        let first = parse_raw_event(&batch.events[0], "events[0]", now()).expect_err("invalid");
        assert_eq!((first[0].field.as_str(), first[0].code), ("events[0].value", FieldCode::TooLarge));
        let second = parse_raw_event(&batch.events[1], "events[1]", now()).expect_err("invalid");
        assert_eq!(second[0].field, "events[1]");

        let raw = RawValue::from_string(r#"{"email":"a@b.co","event":"e","\ud800":1}"#.into())
            .expect("raw values do not decode strings");
        let errors = parse_raw_event(&raw, "events[2]", now()).expect_err("invalid");
        assert_eq!((errors[0].field.as_str(), errors[0].code), ("events[2]", FieldCode::ControlCharacters));
    }

    #[test]
    fn field_codes_serialise_as_their_names() {
        assert_eq!(FieldCode::ALL.len(), 17);
        let mut names: Vec<&str> = FieldCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FieldCode::ALL.len());
        for code in FieldCode::ALL {
            let json = serde_json::to_string(code).expect("serialises");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(code.to_string(), code.as_str());
        }
        let err = FieldError { field: "currency".into(), code: FieldCode::RequiredWithValue, message: "m".into() };
        assert_eq!(
            serde_json::to_string(&err).expect("serialises"),
            r#"{"field":"currency","code":"required_with_value","message":"m"}"#
        );
    }

    #[test]
    fn pg_numeric_limits() {
        // Boundaries checked by hand against PostgreSQL 15's jsonb input.
        for (token, fits) in [
            ("1e400", true),
            ("1e131071", true),
            ("1e131072", false),
            ("9.99e131071", true),
            ("12345e131067", true),
            ("12345e131068", false),
            ("1e-16383", true),
            ("1e-16384", false),
            ("1.5e-16383", false),
            ("0e99999999", true),
            ("0e-16383", true),
            ("0e-16384", false),
            ("0.0e-20000", false),
            ("1e999999999", false),
            ("-1e131072", false),
        ] {
            assert_eq!(fits_pg_numeric(token), fits, "{token}");
        }
    }

    // -- property tests ----------------------------------------------------

    /// A JSON tree with brackets, quotes, backslashes and NULs in its strings.
    fn json_tree() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[\\[\\]{}\"\\\\a\u{0}\u{1}\u{1F600} ]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(14, 64, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a{\\[\u{0}\"]{0,3}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn depth_of(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::Array(a) => 1 + a.iter().map(depth_of).max().unwrap_or(0),
            serde_json::Value::Object(o) => 1 + o.values().map(depth_of).max().unwrap_or(0),
            _ => 0,
        }
    }

    fn has_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(has_nul),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }

    /// A valid JSON number (no leading zeros), exponents included.
    fn valid_number() -> impl Strategy<Value = String> {
        ("0|[1-9][0-9]{0,14}", prop::option::of("[0-9]{1,9}"), prop::option::of(-20i32..20)).prop_map(
            |(int, frac, exp)| {
                let mut s = int;
                if let Some(frac) = frac {
                    s.push('.');
                    s.push_str(&frac);
                }
                if let Some(exp) = exp {
                    s.push_str(&format!("e{exp}"));
                }
                s
            },
        )
    }

    fn any_json_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just(r#""""#.to_string()),
            valid_number(),
            valid_number().prop_map(|n| format!("-{n}")),
            valid_number().prop_map(|n| format!("\"{n}\"")),
            "-?(0|[1-9][0-9]{0,2})(\\.[0-9]{1,3})?[eE][+-]?[0-9]{1,25}",
            any::<String>().prop_map(|s| json_str(&s)),
            "[ -~]{0,20}".prop_map(|s| json_str(&s)),
            "[ a-z]{0,3}@[a-z]{1,3}\\.[a-z]{2}".prop_map(|s| json_str(&s)),
            "\"(\\\\u[dD][89aAbBcCdDeEfF][0-9a-f]{2}|x){1,3}\"",
            json_tree().prop_map(|v| v.to_string()),
        ]
    }

    proptest! {
        #[test]
        fn body_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_event_body(&body, now());
        }

        #[test]
        fn body_never_panics_on_jsonish_text(body in "[{}\\[\\]\":,0-9a-z.eE+\\- \\\\]{0,200}") {
            let _ = parse_event_body(body.as_bytes(), now());
        }

        #[test]
        fn objects_never_panic_and_accepted_events_obey_the_rules(
            members in prop::collection::vec(
                (prop::sample::select(vec![
                    "email", "event", "value", "currency", "event_id",
                    "occurred_at", "click_id", "properties", "other",
                ]), any_json_value()),
                0..10,
            )
        ) {
            let inner: Vec<String> =
                members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let body = format!("{{{}}}", inner.join(","));
            let result = parse_event_body(body.as_bytes(), now());
            prop_assert!(result.is_ok(), "members are valid JSON: {}", body);
            match result {
                Ok(Ok(parsed)) => {
                    let ev = parsed.event;
                    prop_assert!(!ev.event.is_empty());
                    prop_assert!(ev.event.chars().count() <= MAX_EVENT_CHARS);
                    prop_assert!(!ev.event.contains('\0'));
                    if let Some(v) = &ev.value {
                        prop_assert!(ev.currency.is_some());
                        let (zero, limit) = (BigDecimal::from(0), BigDecimal::from(10i64.pow(12)));
                        prop_assert!(*v >= zero && *v < limit);
                        prop_assert!((0..=6).contains(&v.fractional_digit_count()));
                    }
                    if let Some(p) = &ev.properties {
                        prop_assert!(p.len() <= MAX_PROPERTIES_BYTES);
                        prop_assert!(!p.contains("\\u0000"));
                    }
                }
                Ok(Err(errors)) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.iter().all(|e| !e.message.is_empty()));
                }
                Err(_) => {}
            }
        }

        #[test]
        fn properties_scan_matches_a_real_parse(tree in json_tree()) {
            let text = tree.to_string();
            let scan = scan_properties(&text);
            prop_assert_eq!(scan.max_depth, depth_of(&tree));
            prop_assert_eq!(scan.has_nul, has_nul(&tree));
            prop_assert!(!scan.has_lone_surrogate);
            prop_assert!(!scan.number_out_of_range);
        }

        #[test]
        fn json_numbers_agree_with_bigdecimal(number in valid_number(), negative in any::<bool>()) {
            let text = if negative { format!("-{number}") } else { number.clone() };
            let body = body_with(&[("value", Some(text.clone())), ("currency", s(r#""USD""#))]);
            let reference = BigDecimal::from_str(&text).expect("bigdecimal parses JSON numbers");
            let result = parse(&body);
            let code = result.as_ref().err().map(|e| e[0].code);
            let (zero, limit) = (BigDecimal::from(0), BigDecimal::from(10i64.pow(12)));
            if reference == zero {
                prop_assert!(result.is_ok(), "{}", text);
            } else if negative {
                prop_assert_eq!(code, Some(FieldCode::Negative));
            } else if reference >= limit {
                prop_assert_eq!(code, Some(FieldCode::TooLarge));
            } else if reference.normalized().fractional_digit_count() > 6 {
                prop_assert_eq!(code, Some(FieldCode::TooManyDecimals));
            } else {
                let value = result.expect("accepted").event.value.expect("present");
                prop_assert_eq!(&value, &reference);
                prop_assert!((0..=6).contains(&value.fractional_digit_count()));
            }
        }

        #[test]
        fn accepted_events_round_trip(
            local in "[A-Za-z0-9._%+-]{1,20}",
            domain in "[A-Za-z0-9-]{1,15}",
            tld in "[A-Za-z]{2,6}",
            pad in "[ \t]{0,3}",
            event in "[A-Za-z0-9_][A-Za-z0-9_ -]{0,98}",
            int in 0u64..1_000_000_000_000,
            decimals in "[0-9]{0,6}",
            currency in prop::sample::select(crate::inbound::currency::ISO_4217_ACTIVE),
            lower_mask in any::<[bool; 3]>(),
            as_string in any::<bool>(),
        ) {
            let email_in = format!("{pad}{local}@{domain}.{tld}{pad}");
            let value_text = if decimals.is_empty() {
                int.to_string()
            } else {
                format!("{int}.{decimals}")
            };
            let currency_in: String = currency
                .chars()
                .zip(lower_mask)
                .map(|(c, lower)| if lower { c.to_ascii_lowercase() } else { c })
                .collect();
            let value_json = if as_string { json_str(&value_text) } else { value_text.clone() };
            let body = format!(
                r#"{{"email":{},"event":{},"value":{},"currency":{}}}"#,
                json_str(&email_in), json_str(&event), value_json, json_str(&currency_in)
            );
            let parsed = parse(&body).expect("valid event");
            let ev = parsed.event;
            prop_assert_eq!(ev.email.as_str(), email_in.trim().to_lowercase());
            prop_assert_eq!(ev.event.as_str(), event.trim());
            let value = ev.value.expect("value present");
            prop_assert_eq!(value.to_plain_string(), value_text.clone());
            let zero = BigDecimal::from(0);
            if value != zero {
                prop_assert_eq!(value.to_string(), value_text);
            }
            prop_assert_eq!(ev.currency.map(|c| c.as_str()), Some(currency));
            prop_assert!(parsed.unknown_fields.is_empty());
        }
    }
}
