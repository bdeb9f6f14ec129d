//! The integrator docs can never drift from the server: every example request in
//! `docs/inbound-api.md` and `docs/openapi.yaml` is sent to a real server with a real
//! key and its documented response is compared with the real one, and the documented
//! lists of error codes and field error codes must equal the server's.
//!
//! Markdown examples are an `http` fenced block holding the request, immediately
//! followed by an `http` fenced block holding the expected status line, optional
//! headers, and JSON body. OpenAPI examples pair a request example named `X` with the
//! response example named `X`. In expected bodies the string "…" matches any value;
//! every other value must match exactly, and members not listed are allowed only
//! inside `error` objects.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use cleanclicks::accounts::Plan;
use cleanclicks::inbound::error::InboundError;
use cleanclicks::inbound::payload::FieldCode;
use serde_json::Value;

use crate::helpers::*;

/// Stands for any value in an expected body or header.
const ANY: &str = "…";
/// How the docs write a key; replaced by a real one before sending.
const KEY_PLACEHOLDER: &str = "cc_YOUR_KEY";
const MARKDOWN: &str = "docs/inbound-api.md";
const OPENAPI: &str = "docs/openapi.yaml";
const PATHS: [&str; 2] = ["/__cc/inbound", "/__cc/inbound/batch"];

fn read_doc(relative: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), relative].iter().collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// Comparing a documented body with a real one

/// Checks `actual` against `expected` with the "…" wildcard. Objects must have
/// exactly the expected members, except inside an `error` object (where e.g.
/// `message` and `request_id` may be left out); arrays must have the same length.
fn body_matches(expected: &Value, actual: &Value) -> Result<(), String> {
    compare(expected, actual, "$", false)
}

fn compare(expected: &Value, actual: &Value, at: &str, in_error: bool) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(s), _) if s == ANY => Ok(()),
        (Value::Object(want), Value::Object(got)) => {
            for (name, value) in want {
                let Some(actual_value) = got.get(name) else {
                    return Err(format!("{at}.{name} is missing (actual: {actual})"));
                };
                compare(value, actual_value, &format!("{at}.{name}"), in_error || name == "error")?;
            }
            if !in_error && let Some(extra) = got.keys().find(|k| !want.contains_key(*k)) {
                return Err(format!("{at}.{extra} is in the response but not in the docs (actual: {actual})"));
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                return Err(format!(
                    "{at} has {} elements, the docs show {} (actual: {actual})",
                    got.len(),
                    want.len()
                ));
            }
            want.iter().zip(got).enumerate().try_for_each(|(i, (w, g))| compare(w, g, &format!("{at}[{i}]"), in_error))
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("{at} is {actual}, the docs say {expected}")),
    }
}

// ---------------------------------------------------------------------------
// The markdown's examples

#[derive(Debug)]
struct Request {
    method: String,
    /// Path and query.
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

#[derive(Debug)]
struct Expected {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: Value,
}

#[derive(Debug)]
struct Example {
    /// 1-based line of the request block's opening fence.
    line: usize,
    request: Request,
    expected: Expected,
}

struct Fence {
    /// 1-based line of the opening fence.
    start: usize,
    /// 1-based line of the closing fence.
    end: usize,
    text: String,
}

/// Every fenced block whose info string is `http`.
fn http_fences(markdown: &str) -> Result<Vec<Fence>, String> {
    let mut fences = Vec::new();
    let mut open: Option<(usize, String, Vec<&str>)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let number = index + 1;
        match &mut open {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some((number, info.trim().to_owned(), Vec::new()));
                }
            }
            Some((start, info, lines)) => {
                if line.trim_end() == "```" {
                    if info == "http" {
                        fences.push(Fence { start: *start, end: number, text: lines.join("\n") });
                    }
                    open = None;
                } else {
                    lines.push(line);
                }
            }
        }
    }
    match open {
        Some((start, _, _)) => Err(format!("line {start}: code block is never closed")),
        None => Ok(fences),
    }
}

fn header_line(line: &str, at: usize) -> Result<(String, String), String> {
    let (name, value) = line.split_once(':').ok_or_else(|| format!("line {at}: {line:?} is not a header line"))?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

type Headers = Vec<(String, String)>;

/// Status or request line, headers up to the first blank line, then the body.
fn split_message(text: &str, at: usize) -> Result<(String, Headers, String), String> {
    let mut lines = text.lines();
    let first = lines
        .next()
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| format!("line {at}: empty http block"))?
        .trim()
        .to_owned();
    let mut headers = Vec::new();
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        headers.push(header_line(line, at)?);
    }
    let body = lines.collect::<Vec<_>>().join("\n").trim_end().to_owned();
    Ok((first, headers, body))
}

fn parse_request(fence: &Fence) -> Result<Request, String> {
    let (first, headers, body) = split_message(&fence.text, fence.start)?;
    let mut parts = first.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(format!("line {}: the request line must be `METHOD /path`, not {first:?}", fence.start));
    };
    if !target.starts_with('/') {
        return Err(format!("line {}: the path must start with /", fence.start));
    }
    Ok(Request { method: method.to_owned(), target: target.to_owned(), headers, body })
}

fn parse_expected(fence: &Fence) -> Result<Expected, String> {
    let (first, headers, body) = split_message(&fence.text, fence.start)?;
    let rest = first
        .strip_prefix("HTTP/1.1 ")
        .ok_or_else(|| format!("line {}: a response starts with `HTTP/1.1 <status> <reason>`", fence.start))?;
    let (status, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let status: u16 = status.parse().map_err(|_| format!("line {}: {status:?} is not a status code", fence.start))?;
    if body.is_empty() {
        return Err(format!("line {}: the expected response has no body", fence.start));
    }
    let body =
        serde_json::from_str(&body).map_err(|e| format!("line {}: the expected body is not JSON: {e}", fence.start))?;
    Ok(Expected { status, reason: reason.trim().to_owned(), headers, body })
}

/// Pairs every request block with the response block that must follow it directly
/// (only blank lines between). A lone block of either kind is an error.
fn markdown_examples(markdown: &str) -> Result<Vec<Example>, String> {
    let fences = http_fences(markdown)?;
    let lines: Vec<&str> = markdown.lines().collect();
    let is_response = |f: &Fence| f.text.trim_start().starts_with("HTTP/");
    let mut examples = Vec::new();
    let mut fences = fences.iter();
    while let Some(fence) = fences.next() {
        if is_response(fence) {
            return Err(format!("line {}: a response block without a request block right before it", fence.start));
        }
        let request = parse_request(fence)?;
        let Some(response) = fences.next().filter(|r| is_response(r)) else {
            return Err(format!("line {}: a request block must be followed by its response block", fence.start));
        };
        let between = &lines[fence.end..response.start - 1];
        if between.iter().any(|l| !l.trim().is_empty()) {
            return Err(format!("line {}: only blank lines may stand between a request and its response", fence.start));
        }
        examples.push(Example { line: fence.start, request, expected: parse_expected(response)? });
    }
    Ok(examples)
}

/// The markdown's examples, or a failed test naming the broken block.
fn documented_examples() -> Vec<Example> {
    markdown_examples(&read_doc(MARKDOWN)).unwrap_or_else(|e| panic!("{MARKDOWN}: {e}"))
}

// ---------------------------------------------------------------------------
// The server's side

/// Every error the inbound endpoint can answer, with its code and status. The match
/// below stops compiling when a variant is added, so this list cannot fall behind.
fn server_error_codes() -> BTreeMap<&'static str, u16> {
    let all = [
        InboundError::NotFound,
        InboundError::MethodNotAllowed,
        InboundError::MissingKey,
        InboundError::InvalidKey,
        InboundError::RevokedKey,
        InboundError::UnsupportedMediaType(String::new()),
        InboundError::PayloadTooLarge,
        InboundError::BrowserOrigin,
        InboundError::RateLimited,
        InboundError::InvalidParameter(String::new()),
        InboundError::InvalidJson { line: 1, column: 1, message: String::new() },
        InboundError::ExpectedObject { found: "array" },
        InboundError::ExpectedBatchObject { found: "array" },
        InboundError::Validation(Vec::new()),
        InboundError::Unavailable,
        InboundError::Internal(String::new()),
    ];
    for error in &all {
        let listed = match error {
            InboundError::NotFound
            | InboundError::MethodNotAllowed
            | InboundError::MissingKey
            | InboundError::InvalidKey
            | InboundError::RevokedKey
            | InboundError::UnsupportedMediaType(_)
            | InboundError::PayloadTooLarge
            | InboundError::BrowserOrigin
            | InboundError::RateLimited
            | InboundError::InvalidParameter(_)
            | InboundError::InvalidJson { .. }
            | InboundError::ExpectedObject { .. }
            | InboundError::ExpectedBatchObject { .. }
            | InboundError::Validation(_)
            | InboundError::Unavailable
            | InboundError::Internal(_) => true,
        };
        assert!(listed);
    }
    let mut codes = BTreeMap::new();
    for error in &all {
        let status = error.status().as_u16();
        if let Some(other) = codes.insert(error.code(), status) {
            assert_eq!(other, status, "{} has two statuses", error.code());
        }
    }
    codes
}

fn field_codes() -> BTreeSet<&'static str> {
    FieldCode::ALL.iter().map(|c| c.as_str()).collect()
}

/// A server with one owner, one domain and a real key on it.
async fn app_and_key() -> (TestApp, String) {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Docs").await;
    assert!(key.starts_with("cc_") && key.len() == 41);
    (app, key)
}

/// A client without the admin session's cookies, like an integration's.
fn integration_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
    text: String,
}

async fn send(
    client: &reqwest::Client,
    app: &TestApp,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method, app.url(target));
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if !body.is_empty() {
        request = request.body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, headers, body, text }
}

/// Compares a real answer with a documented status, headers and body.
fn check_answer(answer: &Answer, status: u16, headers: &[(String, String)], body: &Value) -> Result<(), String> {
    if answer.status != status {
        return Err(format!("status {} instead of the documented {status}; body: {}", answer.status, answer.text));
    }
    for (name, value) in headers {
        let actual = answer
            .headers
            .get(name.as_str())
            .ok_or_else(|| format!("header {name} is missing"))?
            .to_str()
            .unwrap_or_default();
        if value != ANY && actual != value {
            return Err(format!("header {name} is {actual:?}, the docs say {value:?}"));
        }
    }
    body_matches(body, &answer.body)
}

// ---------------------------------------------------------------------------
// Markdown

#[tokio::test]
async fn docs_markdown_examples_run_against_the_server() {
    let examples = documented_examples();
    assert!(examples.len() >= 12, "{MARKDOWN} has only {} runnable examples", examples.len());
    let (app, key) = app_and_key().await;
    let client = integration_client();
    let mut failures = Vec::new();
    for example in &examples {
        let Request { method, target, headers, body } = &example.request;
        let headers: Vec<(String, String)> =
            headers.iter().map(|(n, v)| (n.clone(), v.replace(KEY_PLACEHOLDER, &key))).collect();
        let body = body.replace(KEY_PLACEHOLDER, &key).into_bytes();
        let expected = &example.expected;
        let canonical = reqwest::StatusCode::from_u16(expected.status).ok().and_then(|s| s.canonical_reason());
        if canonical != Some(expected.reason.as_str()) {
            failures.push(format!(
                "line {}: `{} {}` should read `{} {}`",
                example.line,
                expected.status,
                expected.reason,
                expected.status,
                canonical.unwrap_or("?")
            ));
        }
        let answer = send(&client, &app, method, target, &headers, body).await;
        for header in ["x-request-id", "cache-control"] {
            if answer.headers.get(header).is_none() {
                failures.push(format!("line {}: no {header} header", example.line));
            }
        }
        if let Err(why) = check_answer(&answer, expected.status, &expected.headers, &expected.body) {
            failures.push(format!("line {} ({method} {target}): {why}", example.line));
        }
    }
    assert!(failures.is_empty(), "{MARKDOWN} examples that do not match the server:\n{}", failures.join("\n"));
}

/// Rows of the first table after `heading`, split into cells.
fn table_after(markdown: &str, heading: &str) -> Vec<Vec<String>> {
    let start = markdown
        .lines()
        .position(|l| l.trim() == heading)
        .unwrap_or_else(|| panic!("{MARKDOWN} has no heading {heading:?}"));
    markdown
        .lines()
        .skip(start + 1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header row and separator
        .map(|row| row.trim_matches('|').split(" | ").map(|cell| cell.trim().to_owned()).collect())
        .collect()
}

fn unquote(cell: &str) -> String {
    cell.trim_matches('`').to_owned()
}

/// The markdown's error-code table as code → status.
fn markdown_error_codes(markdown: &str) -> BTreeMap<String, u16> {
    table_after(markdown, "### Error codes")
        .iter()
        .map(|row| {
            let status = row[0].parse().expect("the first column is a status");
            (unquote(&row[1]), status)
        })
        .collect()
}

#[test]
fn docs_markdown_lists_every_error_code_and_field_code_of_the_server() {
    let markdown = read_doc(MARKDOWN);

    let documented = markdown_error_codes(&markdown);
    let server: BTreeMap<String, u16> =
        server_error_codes().into_iter().map(|(code, status)| (code.to_owned(), status)).collect();
    assert_eq!(documented, server, "the error-code table of {MARKDOWN} (code → status) must equal the server's");

    let fields: BTreeSet<String> =
        table_after(&markdown, "### Field error codes").iter().map(|row| unquote(&row[0])).collect();
    let server_fields: BTreeSet<String> = field_codes().into_iter().map(str::to_owned).collect();
    assert_eq!(fields, server_fields, "the field-code table of {MARKDOWN} must equal FieldCode::ALL");

    for code in server.keys().chain(&server_fields) {
        assert!(markdown.contains(&format!("`{code}`")), "{MARKDOWN} never mentions `{code}`");
    }
}

/// Event ids of a request body: the event's own, or each batch event's.
fn event_ids(body: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    let events = match value.get("events").and_then(Value::as_array) {
        Some(events) => events.clone(),
        None => vec![value],
    };
    events
        .iter()
        .filter_map(|e| e.get("event_id"))
        .map(|id| match id {
            Value::String(s) => s.trim().to_owned(),
            other => other.to_string(),
        })
        .collect()
}

#[test]
fn docs_markdown_event_ids_repeat_only_in_duplicate_examples() {
    let mut seen = BTreeSet::new();
    for example in documented_examples() {
        for id in event_ids(&example.request.body) {
            if !seen.insert(id.clone()) {
                let answer = example.expected.body.to_string();
                assert!(
                    answer.contains("duplicate"),
                    "line {}: event_id {id:?} was used before, but the example does not \
                     show a duplicate; give it a unique event_id",
                    example.line
                );
            }
        }
    }
    assert!(seen.len() >= 5, "the examples should show event_id in use");
}

#[test]
fn docs_never_show_a_key_shaped_string() {
    for doc in [MARKDOWN, OPENAPI] {
        let text = read_doc(doc);
        for (at, _) in text.match_indices("cc_") {
            let run = text[at + 3..].bytes().take_while(u8::is_ascii_alphanumeric).count();
            assert!(run < 38, "{doc} shows a string shaped like a real key at byte {at}; write cc_YOUR_KEY");
        }
        assert!(text.contains(KEY_PLACEHOLDER), "{doc} should show {KEY_PLACEHOLDER}");
    }
}

// ---------------------------------------------------------------------------
// OpenAPI

fn openapi() -> Value {
    serde_norway::from_str(&read_doc(OPENAPI)).unwrap_or_else(|e| panic!("{OPENAPI}: {e}"))
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("only local references: {reference}"));
            resolve(doc, doc.pointer(pointer).unwrap_or_else(|| panic!("{OPENAPI}: {reference} does not exist")))
        }
        None => value,
    }
}

fn operation<'a>(doc: &'a Value, path: &str) -> &'a Value {
    doc["paths"].get(path).and_then(|p| p.get("post")).unwrap_or_else(|| panic!("{OPENAPI} has no POST {path}"))
}

/// status → (example name → example value) of an operation's JSON responses.
fn response_examples(doc: &Value, op: &Value) -> BTreeMap<u16, BTreeMap<String, Value>> {
    let responses = op["responses"].as_object().expect("the operation has responses");
    responses
        .iter()
        .map(|(status, response)| {
            let status: u16 = status.parse().expect("responses are keyed by status code");
            let examples = resolve(doc, response)
                .pointer("/content/application~1json/examples")
                .and_then(Value::as_object)
                .map(|examples| {
                    examples.iter().map(|(name, ex)| (name.clone(), resolve(doc, ex)["value"].clone())).collect()
                })
                .unwrap_or_default();
            (status, examples)
        })
        .collect()
}

fn request_examples(doc: &Value, op: &Value) -> BTreeMap<String, Value> {
    resolve(doc, &op["requestBody"])
        .pointer("/content/application~1json/examples")
        .and_then(Value::as_object)
        .expect("the operation has request examples")
        .iter()
        .map(|(name, ex)| (name.clone(), resolve(doc, ex)["value"].clone()))
        .collect()
}

fn enum_of(doc: &Value, schema: &str) -> BTreeSet<String> {
    doc.pointer(&format!("/components/schemas/{schema}/enum"))
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{OPENAPI} has no enum in the schema {schema}"))
        .iter()
        .map(|v| v.as_str().expect("enum values are strings").to_owned())
        .collect()
}

#[test]
fn docs_openapi_is_3_1_and_its_codes_equal_the_server_and_the_markdown() {
    let doc = openapi();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1."), "openapi is {version:?}");

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["apiKey"]["type"], "apiKey");
    assert_eq!(schemes["apiKey"]["in"], "header");
    assert_eq!(schemes["apiKey"]["name"], "X-CC-Api-Key");
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");

    let server: BTreeMap<&str, u16> = server_error_codes();
    let in_schema = enum_of(&doc, "ErrorCode");
    let server_codes: BTreeSet<String> = server.keys().map(|c| (*c).to_owned()).collect();
    assert_eq!(in_schema, server_codes, "ErrorCode enum vs the server");
    let markdown: BTreeSet<String> = markdown_error_codes(&read_doc(MARKDOWN)).into_keys().collect();
    assert_eq!(in_schema, markdown, "ErrorCode enum vs {MARKDOWN}");

    let fields = enum_of(&doc, "FieldCode");
    let server_fields: BTreeSet<String> = field_codes().into_iter().map(str::to_owned).collect();
    assert_eq!(fields, server_fields, "FieldCode enum vs FieldCode::ALL");

    let event = &doc["components"]["schemas"]["Event"]["properties"];
    for field in ["email", "event", "value", "currency", "event_id", "occurred_at", "click_id", "properties"] {
        assert!(event.get(field).is_some(), "the Event schema lacks {field}");
    }

    // Every status each operation can answer is documented, and every response
    // example that names an error code sits under that code's status.
    for path in PATHS {
        let op = operation(&doc, path);
        let mut wanted = vec![200, 202, 400, 401, 403, 405, 413, 415, 422, 429, 500, 503];
        if path.ends_with("/batch") {
            wanted.push(207);
        }
        let responses = response_examples(&doc, op);
        let documented: BTreeSet<u16> = responses.keys().copied().collect();
        assert_eq!(documented, wanted.into_iter().collect(), "POST {path}: documented statuses");
        for (status, examples) in &responses {
            for (name, value) in examples {
                if let Some(code) = value.pointer("/error/code").and_then(Value::as_str) {
                    assert_eq!(
                        server.get(code),
                        Some(status),
                        "POST {path}: example {name:?} shows {code} under {status}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn docs_openapi_examples_run_against_the_server() {
    let doc = openapi();
    let (app, key) = app_and_key().await;
    let client = integration_client();
    let headers =
        vec![("Content-Type".to_owned(), "application/json".to_owned()), ("X-CC-Api-Key".to_owned(), key.clone())];
    let mut failures = Vec::new();
    let mut names = BTreeSet::new();
    let mut ran = 0;
    for path in PATHS {
        let op = operation(&doc, path);
        let responses = response_examples(&doc, op);
        for (name, body) in request_examples(&doc, op) {
            names.insert(name.clone());
            let place = format!("POST {path} example {name:?}");
            let holders: Vec<(u16, &Value)> =
                responses.iter().filter_map(|(status, examples)| examples.get(&name).map(|v| (*status, v))).collect();
            let [(status, expected)] = holders.as_slice() else {
                failures.push(format!(
                    "{place}: needs exactly one response example of the same name, has {}",
                    holders.len()
                ));
                continue;
            };
            let target = if name.starts_with("validate") { format!("{path}?validate=true") } else { path.to_owned() };
            let bytes = serde_json::to_vec(&body).unwrap();
            if name.starts_with("duplicate") {
                let first = send(&client, &app, "POST", &target, &headers, bytes.clone()).await;
                if first.status != 202 {
                    failures
                        .push(format!("{place}: the first send got {} instead of 202: {}", first.status, first.text));
                    continue;
                }
            }
            let answer = send(&client, &app, "POST", &target, &headers, bytes).await;
            ran += 1;
            if let Err(why) = check_answer(&answer, *status, &[], expected) {
                failures.push(format!("{place}: {why}"));
            }
        }
    }
    for required in ["accepted", "duplicate", "validation_failed", "batch_mixed", "validate"] {
        assert!(names.contains(required), "{OPENAPI} has no {required:?} example");
    }
    assert!(ran >= 10, "only {ran} OpenAPI examples ran");
    assert!(failures.is_empty(), "{OPENAPI} examples that do not match the server:\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// The checker itself must be able to fail

#[test]
fn docs_checker_rejects_what_does_not_match() {
    let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
    let actual = v(r#"{"id": "abc", "status": "accepted"}"#);
    assert!(body_matches(&v(r#"{"id": "…", "status": "accepted"}"#), &actual).is_ok());
    assert!(body_matches(&v(r#"{"id": "…", "status": "duplicate"}"#), &actual).is_err());
    assert!(body_matches(&v(r#"{"status": "accepted"}"#), &actual).is_err());
    assert!(body_matches(&v(r#"{"id": "…", "status": "…", "x": 1}"#), &actual).is_err());
    assert!(body_matches(&v(r#""…""#), &actual).is_ok());

    let error = v(r#"{"error": {"code": "validation_failed", "message": "m", "request_id": "r",
            "fields": [{"field": "email", "code": "required", "message": "m"}]}}"#);
    assert!(body_matches(&v(r#"{"error": {"code": "validation_failed"}}"#), &error).is_ok());
    assert!(body_matches(&v(r#"{"error": {"fields": [{"field": "email", "code": "required"}]}}"#), &error).is_ok());
    assert!(body_matches(&v(r#"{"error": {"code": "invalid_json"}}"#), &error).is_err());
    assert!(body_matches(&v(r#"{"error": {"fields": []}}"#), &error).is_err());
    assert!(body_matches(&v(r#"{"error": {"code": "…"}, "extra": 1}"#), &error).is_err());

    let pair = "```http\nPOST /__cc/inbound\nX-CC-Api-Key: cc_YOUR_KEY\n\n{}\n```\n\n\
                ```http\nHTTP/1.1 202 Accepted\n\n{\"status\": \"accepted\"}\n```\n";
    let examples = markdown_examples(pair).unwrap();
    assert_eq!(examples.len(), 1);
    assert_eq!(examples[0].line, 1);
    assert_eq!(examples[0].request.target, "/__cc/inbound");
    assert_eq!(examples[0].request.headers[0].1, KEY_PLACEHOLDER);
    assert_eq!(examples[0].expected.status, 202);
    // A request without its response, prose between the two, or a response body
    // that is not JSON: all refused.
    assert!(markdown_examples("```http\nPOST /__cc/inbound\n\n{}\n```\n").is_err());
    assert!(markdown_examples(&pair.replace("```\n\n```", "```\ntext\n```")).is_err());
    assert!(markdown_examples(&pair.replace("{\"status\"", "{status")).is_err());
}
