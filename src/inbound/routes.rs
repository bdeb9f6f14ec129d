//! `POST /__cc/inbound` (one event) and `POST /__cc/inbound/batch` (up to 500).
//!
//! Checks run in the order of the contract, and the first failure answers:
//! 405 method → 401 key missing/malformed/checksum (no database work) → 415 content
//! type or encoding → 413 size → 401 unknown/revoked key (the lookup) → 403 browser
//! origin → 429 rate limit → 400 JSON → 422 fields. Nothing answers 2xx before the
//! events are committed. `?validate=true` runs every check and stores nothing.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::batch::parse_batch_body;
use super::error::InboundError;
use super::key_cache::CachedKey;
use super::payload::{ConversionEvent, FieldError, ParsedEvent, parse_event_body, parse_raw_event};
use super::rate_limit::Decision;
use super::request::{Body, api_key, check_content_type, is_gzip, read_body};
use super::store::{
    AuthenticatedKey, KeyState, NewEvent, StoreOutcome, existing_event_ids, flag_browser_origin, lookup_key,
    store_events, touch_last_used,
};
use crate::db::DbError;
use crate::keys::secret::KeyHash;
use crate::startup::AppState;
use crate::usage::recorder::{Delivery, Outcome};
use crate::web::request_id_of;

/// Largest accepted body of one event, measured after gzip decompression.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest accepted batch body, measured after gzip decompression.
pub const MAX_BATCH_BODY_BYTES: usize = 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Everything under /__cc/ answers in the JSON envelope, a mistyped path included:
    // integrations parse JSON, not the admin app's HTML 404 page.
    cfg.service(
        web::scope("/__cc")
            .service(
                web::resource("/inbound").route(web::post().to(single)).default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/inbound/batch")
                    .route(web::post().to(batch))
                    .default_service(web::to(method_not_allowed)),
            )
            .default_service(web::to(not_found)),
    );
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    InboundError::NotFound.to_response(&request_id_of(&req))
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    InboundError::MethodNotAllowed.to_response(&request_id_of(&req))
}

async fn single(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let result = handle_single(&req, payload, &state).await;
    record_usage(&req, &state, &result);
    respond(&req, result)
}

async fn batch(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let result = handle_batch(&req, payload, &state).await;
    record_usage(&req, &state, &result);
    respond(&req, result)
}

/// The key a request turned out to use (set once the lookup knows it), for usage insight.
#[derive(Clone, Copy)]
struct KnownKey {
    id: Uuid,
    revoked: bool,
}

/// What each event of the request came to: (event name, outcome, status, error code).
#[derive(Default)]
struct EventResults(Vec<(Option<String>, Outcome, u16, Option<String>)>);

/// What the deliveries list shows of a rejection: the code, and for field errors which
/// fields and why ("validation_failed: email invalid_email, value negative"), so an
/// admin sees what broke without the payload.
fn rejection_summary(code: &str, fields: &[FieldError]) -> String {
    if fields.is_empty() {
        return code.to_owned();
    }
    let fields: Vec<String> = fields.iter().map(|f| format!("{} {}", f.field, f.code.as_str())).collect();
    let summary = format!("{code}: {}", fields.join(", "));
    summary.chars().take(300).collect()
}

/// Hands what the request did to the usage recorder (off the request path). Requests
/// rejected before the key was known belong to no key; validate mode stores nothing.
fn record_usage(req: &HttpRequest, state: &AppState, result: &Result<Answer, Failure>) {
    let Some(key) = req.extensions().get::<KnownKey>().copied() else { return };
    if validate_only(req) && result.is_ok() {
        return;
    }
    let mut revoked = key.revoked;
    let results = match result {
        Err((error, _)) => {
            revoked |= matches!(error, InboundError::RevokedKey);
            let name = req.extensions().get::<EventResults>().and_then(|r| r.0.first().and_then(|e| e.0.clone()));
            let fields = match error {
                InboundError::Validation(fields) => fields.as_slice(),
                _ => &[],
            };
            vec![(name, Outcome::Rejected, error.status().as_u16(), Some(rejection_summary(error.code(), fields)))]
        }
        Ok(_) => req.extensions_mut().remove::<EventResults>().unwrap_or_default().0,
    };
    let at = chrono::Utc::now();
    let request_id = request_id_of(req);
    let ip = crate::net::request_client_ip(req, &state.settings.trusted_proxies).map(|ip| ip.to_string());
    let user_agent: Option<String> = req
        .headers()
        .get(header::USER_AGENT)
        .map(|ua| String::from_utf8_lossy(ua.as_bytes()).chars().take(300).collect());
    for (event, outcome, status, error_code) in results {
        state.usage.record(Delivery {
            key_id: key.id,
            at,
            event,
            outcome,
            status,
            error_code,
            request_id: request_id.clone(),
            revoked,
            ip: ip.clone(),
            user_agent: user_agent.clone(),
        });
    }
}

/// The `event` member of a body, for the deliveries list, even when the body is invalid.
fn event_name(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct NameOnly {
        event: Option<serde_json::Value>,
    }
    let name = serde_json::from_slice::<NameOnly>(body).ok()?.event?;
    let name: String = name.as_str()?.trim().chars().filter(|c| !c.is_control()).take(100).collect();
    (!name.is_empty()).then_some(name)
}

/// An error, with the rate-limit state when the key was already known.
type Failure = (InboundError, Option<Decision>);

struct Answer {
    status: StatusCode,
    body: serde_json::Value,
    rate: Decision,
}

/// Every answer leaves through here: no-store, and the rate-limit headers once the
/// key is known.
fn respond(req: &HttpRequest, result: Result<Answer, Failure>) -> HttpResponse {
    let (mut response, decision) = match result {
        Ok(answer) => {
            let response =
                HttpResponse::build(answer.status).insert_header((header::CACHE_CONTROL, "no-store")).json(answer.body);
            (response, Some(answer.rate))
        }
        Err((error, decision)) => (error.to_response(&request_id_of(req)), decision),
    };
    if let Some(decision) = decision {
        let headers = response.headers_mut();
        for (name, value) in [
            ("ratelimit-limit", u64::from(decision.limit)),
            ("ratelimit-remaining", u64::from(decision.remaining)),
            ("ratelimit-reset", decision.reset_seconds),
        ] {
            headers.insert(header::HeaderName::from_static(name), header::HeaderValue::from(value));
        }
        if !decision.allowed {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from(decision.retry_after_seconds));
        }
    }
    response
}

#[derive(serde::Deserialize)]
struct ModeQuery {
    validate: Option<String>,
}

/// `?validate=…`: `true`, `1`, `yes` turn validate mode on (authenticate and validate,
/// store nothing); `false`, `0`, `no` or no parameter is a normal request. Anything else
/// is refused: a typo must never store test events as real conversions.
fn validate_mode(req: &HttpRequest) -> Result<bool, InboundError> {
    let query = web::Query::<ModeQuery>::from_query(req.query_string())
        .map_err(|_| InboundError::InvalidParameter("The query string could not be read.".into()))?;
    let Some(value) = query.into_inner().validate else { return Ok(false) };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => {
            let shown: String = value.chars().filter(|c| !c.is_control()).take(40).collect();
            Err(InboundError::InvalidParameter(format!(
                "validate must be true or false (got \"{shown}\"); nothing was stored."
            )))
        }
    }
}

/// Validate mode, once `admit` has refused any value that is neither on nor off.
fn validate_only(req: &HttpRequest) -> bool {
    validate_mode(req).unwrap_or(false)
}

/// A request that passed every check up to the body parse.
struct Admitted {
    key: AuthenticatedKey,
    hash: KeyHash,
    /// The key came from the in-process cache, not a lookup in this request.
    cached: bool,
    body: Body,
    rate: Decision,
}

/// The checks every request passes before its body is parsed, in the contract's order.
/// Rejections before the lookup belong to no key; from the lookup on, to the key.
async fn admit(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    max_body: usize,
    cost: impl FnOnce(&Body) -> u32,
) -> Result<Admitted, Failure> {
    let headers = req.headers();
    let early = api_key(headers).and_then(|key| {
        check_content_type(headers)?;
        let gzip = is_gzip(headers)?;
        validate_mode(req)?;
        Ok((key, gzip))
    });
    let (key, gzip) = match early {
        Ok(admitted) => admitted,
        Err(e) => {
            // Read (and drop) a body of acceptable size anyway, so the connection can be
            // kept alive: a rejected request should not cost the caller a new connection.
            let _ = read_body(headers, payload, false, max_body).await;
            return Err((e, None));
        }
    };
    let body = read_body(headers, payload, gzip, max_body).await.map_err(|e| (e, None))?;
    let hash = key.hash();
    drop(key);
    let origin = headers
        .get(header::ORIGIN)
        .map(|o| String::from_utf8_lossy(o.as_bytes()).chars().take(200).collect::<String>());

    // Hot path: a key seen active recently skips the lookup. The write itself still
    // checks the key (see key_cache), and any error answer re-checks it first. Validate
    // mode writes nothing, so it always looks the key up.
    let cached = if origin.is_none() && !validate_only(req) { state.key_cache.get(&hash) } else { None };
    let key = match cached {
        Some(key) => {
            touch_in_background(state, key.id);
            AuthenticatedKey { id: key.id, domain_id: key.domain_id, state: KeyState::Active }
        }
        None => lookup(state, hash.clone(), origin.clone()).await.map_err(|e| (e, None))?,
    };
    req.extensions_mut().insert(KnownKey { id: key.id, revoked: key.state == KeyState::Revoked });
    if key.state == KeyState::Revoked {
        return Err((InboundError::RevokedKey, None));
    }
    if cached.is_none() {
        state.key_cache.insert(hash.clone(), CachedKey { id: key.id, domain_id: key.domain_id });
    }
    if origin.is_some() {
        return Err((InboundError::BrowserOrigin, None));
    }
    let rate = state.rate_limiter.check(key.id, cost(&body));
    if !rate.allowed {
        if cached.is_some() {
            recheck(state, &hash).await.map_err(|e| (e, None))?;
        }
        return Err((InboundError::RateLimited, Some(rate)));
    }
    Ok(Admitted { key, hash, cached: cached.is_some(), body, rate })
}

/// The lookup: one indexed query; also counts the use and flags a browser origin.
async fn lookup(state: &AppState, hash: KeyHash, origin: Option<String>) -> Result<AuthenticatedKey, InboundError> {
    let marks = state.last_used.clone();
    crate::db::run(&state.inbound_pool, move |conn| -> Result<_, InboundError> {
        let key = lookup_key(conn, &hash).map_err(DbError::from)?.ok_or(InboundError::InvalidKey)?;
        if key.state == KeyState::Active {
            // Every authenticated request counts as a use, even one whose body then fails.
            if marks.claim(key.id) && !touch_last_used(conn, key.id).unwrap_or(false) {
                marks.release(key.id);
            }
            if let Some(origin) = &origin {
                flag_browser_origin(conn, key.id, origin).map_err(DbError::from)?;
            }
        }
        Ok(key)
    })
    .await
}

/// `last_used_at` for a cached key, written off the request path (at most once a minute).
fn touch_in_background(state: &AppState, key_id: Uuid) {
    if !state.last_used.claim(key_id) {
        return;
    }
    let (pool, marks) = (state.inbound_pool.clone(), state.last_used.clone());
    tokio::task::spawn_blocking(move || {
        let written = pool.get().ok().and_then(|mut conn| touch_last_used(&mut conn, key_id).ok()).unwrap_or(false);
        if !written {
            marks.release(key_id);
        }
    });
}

/// Before an error answer based on a cached key: is the key still active? A revoked or
/// deleted key must answer 401, whatever else is wrong with the request.
async fn recheck(state: &AppState, hash: &KeyHash) -> Result<(), InboundError> {
    let lookup_hash = hash.clone();
    let key =
        crate::db::run(&state.inbound_pool, move |conn| lookup_key(conn, &lookup_hash).map_err(DbError::from)).await?;
    match key {
        Some(key) if key.state == KeyState::Active => Ok(()),
        Some(_) => {
            state.key_cache.forget(hash);
            Err(InboundError::RevokedKey)
        }
        None => {
            state.key_cache.forget(hash);
            Err(InboundError::InvalidKey)
        }
    }
}

/// The answer for a key that stopped being active between admission and the write.
async fn inactive_key(state: &AppState, hash: &KeyHash) -> InboundError {
    match recheck(state, hash).await {
        Err(e) => e,
        Ok(()) => InboundError::RevokedKey,
    }
}

fn warnings_json(unknown: &[String], prefix: &str) -> Vec<serde_json::Value> {
    unknown
        .iter()
        .map(|field| {
            let field = if prefix.is_empty() { field.clone() } else { format!("{prefix}.{field}") };
            serde_json::json!({"field": field, "code": "unknown_field"})
        })
        .collect()
}

/// The normalised event, as validate mode shows it.
fn event_json(event: &ConversionEvent) -> serde_json::Value {
    serde_json::json!({
        "email": event.email.as_str(),
        "email_sha256": event.email.sha256_hex(),
        "event": event.event,
        "value": event.value.as_ref().map(|v| v.to_plain_string()),
        "currency": event.currency.as_ref().map(|c| c.as_str()),
        "event_id": event.event_id,
        "occurred_at": event.occurred_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        "click_id": event.click_id,
        // Parsed with arbitrary precision: every number reads back exactly as sent.
        "properties": event.properties.as_deref().and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok()),
    })
}

async fn existing_ids(
    state: &AppState,
    key_id: Uuid,
    event_ids: Vec<String>,
) -> Result<HashMap<String, Uuid>, DbError> {
    if event_ids.is_empty() {
        return Ok(HashMap::new());
    }
    crate::db::run(&state.inbound_pool, move |conn| {
        let ids: Vec<&str> = event_ids.iter().map(String::as_str).collect();
        existing_event_ids(conn, key_id, &ids).map_err(DbError::from)
    })
    .await
}

/// A 400/422 for a request admitted on a cached key is sent only if the key is still
/// active; otherwise the key's 401 takes precedence, as the check order requires.
async fn answer_error(state: &AppState, hash: &KeyHash, cached: bool, error: InboundError, rate: Decision) -> Failure {
    if cached && let Err(key_error) = recheck(state, hash).await {
        return (key_error, None);
    }
    (error, Some(rate))
}

async fn handle_single(req: &HttpRequest, payload: web::Payload, state: &AppState) -> Result<Answer, Failure> {
    let Admitted { key, hash, cached, body, rate } = admit(req, payload, state, MAX_BODY_BYTES, |_| 1).await?;
    let failed = |e: InboundError| (e, Some(rate));
    let body = match body {
        Ok(body) => body,
        Err(e) => return Err(answer_error(state, &hash, cached, e, rate).await),
    };
    // The event's name for the deliveries list: read loosely from the raw body only when
    // the body is refused; an accepted event already has it (no second parse per event).
    let refused = |req: &HttpRequest| {
        req.extensions_mut().insert(EventResults(vec![(event_name(&body), Outcome::Rejected, 0, None)]));
    };
    let parsed = match parse_event_body(&body, chrono::Utc::now()) {
        Ok(Ok(parsed)) => parsed,
        Ok(Err(fields)) => {
            refused(req);
            return Err(answer_error(state, &hash, cached, InboundError::Validation(fields), rate).await);
        }
        Err(e) => {
            refused(req);
            return Err(answer_error(state, &hash, cached, e.into(), rate).await);
        }
    };
    let name = Some(parsed.event.event.clone());
    req.extensions_mut().insert(EventResults(vec![(name.clone(), Outcome::Rejected, 0, None)]));
    let warnings = warnings_json(&parsed.unknown_fields, "");
    let key_id = key.id;

    let mut body = if validate_only(req) {
        let existing = existing_ids(state, key_id, parsed.event.event_id.iter().cloned().collect())
            .await
            .map_err(|e| failed(e.into()))?;
        let mut body = serde_json::json!({
            "status": "valid",
            "would_be": if existing.is_empty() { "accepted" } else { "duplicate" },
            "event": event_json(&parsed.event),
        });
        if let Some(original) = existing.values().next() {
            body["duplicate_of"] = original.to_string().into();
        }
        (StatusCode::OK, body)
    } else {
        match state.writer.store(key_id, parsed.event, request_id_of(req)).await.map_err(|e| failed(e.into()))? {
            StoreOutcome::Accepted(id) => (StatusCode::ACCEPTED, serde_json::json!({"id": id, "status": "accepted"})),
            StoreOutcome::Duplicate(id) => (StatusCode::OK, serde_json::json!({"id": id, "status": "duplicate"})),
            StoreOutcome::KeyNoLongerActive => {
                return Err((inactive_key(state, &hash).await, None));
            }
        }
    };
    if !warnings.is_empty() {
        body.1["warnings"] = warnings.into();
    }
    let outcome = if body.0 == StatusCode::ACCEPTED { Outcome::Accepted } else { Outcome::Duplicate };
    req.extensions_mut().insert(EventResults(vec![(name, outcome, body.0.as_u16(), None)]));
    Ok(Answer { status: body.0, body: body.1, rate })
}

/// A batch costs one rate-limit token per event, so batching never multiplies the limit.
/// Counting the array's members is a shallow parse; the events are parsed later.
fn batch_cost(body: &Body) -> u32 {
    body.as_ref().ok().and_then(|b| parse_batch_body(b).ok()).map_or(1, |batch| batch.events.len().max(1) as u32)
}

/// Indexes of events that repeat the `event_id` of an earlier event in the same batch,
/// mapped to that first event: only first occurrences go to the database.
fn repeats_within(parsed: &[Result<ParsedEvent, Vec<FieldError>>]) -> HashMap<usize, usize> {
    let mut first_with_id: HashMap<&str, usize> = HashMap::new();
    let mut repeat_of = HashMap::new();
    for (index, result) in parsed.iter().enumerate() {
        if let Some(event_id) = result.as_ref().ok().and_then(|p| p.event.event_id.as_deref()) {
            match first_with_id.get(event_id) {
                Some(first) => {
                    repeat_of.insert(index, *first);
                }
                None => {
                    first_with_id.insert(event_id, index);
                }
            }
        }
    }
    repeat_of
}

async fn handle_batch(req: &HttpRequest, payload: web::Payload, state: &AppState) -> Result<Answer, Failure> {
    let Admitted { key, hash, cached, body, rate } =
        admit(req, payload, state, MAX_BATCH_BODY_BYTES, batch_cost).await?;
    let failed = |e: InboundError| (e, Some(rate));
    let batch = match body.and_then(|body| parse_batch_body(&body)) {
        Ok(batch) => batch,
        Err(e) => return Err(answer_error(state, &hash, cached, e, rate).await),
    };
    let now = chrono::Utc::now();
    let parsed: Vec<Result<ParsedEvent, Vec<FieldError>>> =
        batch.events.iter().enumerate().map(|(i, raw)| parse_raw_event(raw, &format!("events[{i}]"), now)).collect();
    let repeat_of = repeats_within(&parsed);
    let key_id = key.id;
    let to_store: Vec<(usize, Uuid, ConversionEvent)> = parsed
        .iter()
        .enumerate()
        .filter(|(index, _)| !repeat_of.contains_key(index))
        .filter_map(|(index, r)| r.as_ref().ok().map(|p| (index, Uuid::new_v4(), p.event.clone())))
        .collect();

    let validate = validate_only(req);
    let mut outcomes: HashMap<usize, StoreOutcome> = HashMap::new();
    // Ids of events that really are stored (validate mode shows no other ids).
    let mut stored_ids: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    if validate {
        let event_ids = to_store.iter().filter_map(|(_, _, e)| e.event_id.clone()).collect();
        let existing = existing_ids(state, key_id, event_ids).await.map_err(|e| failed(e.into()))?;
        stored_ids.extend(existing.values().copied());
        for (index, id, event) in &to_store {
            let original = event.event_id.as_deref().and_then(|e| existing.get(e));
            outcomes.insert(*index, original.map_or(StoreOutcome::Accepted(*id), |o| StoreOutcome::Duplicate(*o)));
        }
    } else if !to_store.is_empty() {
        // All valid events in one statement, so one transaction.
        let request_id = request_id_of(req);
        let stored = crate::db::run(&state.inbound_pool, move |conn| {
            let rows: Vec<NewEvent<'_>> = to_store
                .iter()
                .map(|(_, id, event)| NewEvent { id: *id, key_id, event, request_id: &request_id })
                .collect();
            let outcomes = store_events(conn, &rows).map_err(DbError::from)?;
            Ok::<_, DbError>(to_store.iter().map(|(index, _, _)| *index).zip(outcomes).collect::<Vec<_>>())
        })
        .await
        .map_err(|e| failed(e.into()))?;
        if stored.iter().any(|(_, outcome)| *outcome == StoreOutcome::KeyNoLongerActive) {
            return Err((inactive_key(state, &hash).await, None));
        }
        outcomes.extend(stored);
    }
    for (index, first) in &repeat_of {
        if let Some(StoreOutcome::Accepted(id) | StoreOutcome::Duplicate(id)) = outcomes.get(first).copied() {
            outcomes.insert(*index, StoreOutcome::Duplicate(id));
        }
    }

    let request_id = request_id_of(req);
    let (mut accepted, mut duplicates, mut rejected) = (0usize, 0usize, 0usize);
    let results: Vec<serde_json::Value> = parsed
        .iter()
        .enumerate()
        .map(|(index, result)| {
            let mut item = match (result, outcomes.get(&index)) {
                (Ok(_), Some(StoreOutcome::Accepted(id))) => {
                    accepted += 1;
                    serde_json::json!({"index": index, "status": 202, "id": id})
                }
                (Ok(_), Some(StoreOutcome::Duplicate(id))) => {
                    duplicates += 1;
                    serde_json::json!({"index": index, "status": 200, "id": id, "duplicate": true})
                }
                (result, _) => {
                    rejected += 1;
                    let fields = result.as_ref().err().cloned().unwrap_or_default();
                    serde_json::json!({"index": index, "status": 422, "error": InboundError::Validation(fields).to_json(&request_id)})
                }
            };
            if let Ok(p) = result {
                let warnings = warnings_json(&p.unknown_fields, &format!("events[{index}]"));
                if !warnings.is_empty() {
                    item["warnings"] = warnings.into();
                }
                if validate {
                    item["event"] = event_json(&p.event);
                }
            }
            if validate {
                let would_be = match item["status"].as_u64() {
                    Some(202) => "accepted",
                    Some(200) => "duplicate",
                    _ => "rejected",
                };
                item["would_be"] = would_be.into();
                let stored = item["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).is_some_and(|id| stored_ids.contains(&id));
                if !stored && let Some(object) = item.as_object_mut() {
                    // Nothing was stored, so there is no id to show.
                    object.remove("id");
                }
            }
            item
        })
        .collect();
    let per_event = results
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let name = match &parsed[index] {
                Ok(p) => Some(p.event.event.clone()),
                Err(_) => event_name(batch.events[index].get().as_bytes()),
            };
            match (item["status"].as_u64(), &parsed[index]) {
                (Some(202), _) => (name, Outcome::Accepted, 202, None),
                (Some(200), _) => (name, Outcome::Duplicate, 200, None),
                (_, Err(fields)) => {
                    (name, Outcome::Rejected, 422, Some(rejection_summary("validation_failed", fields)))
                }
                _ => (name, Outcome::Rejected, 422, Some("validation_failed".to_owned())),
            }
        })
        .collect();
    req.extensions_mut().insert(EventResults(per_event));
    let mut body =
        serde_json::json!({"accepted": accepted, "duplicates": duplicates, "rejected": rejected, "results": results});
    let warnings = warnings_json(&batch.unknown_fields, "");
    if !warnings.is_empty() {
        body["warnings"] = warnings.into();
    }
    let status = if validate {
        body["validate"] = true.into();
        StatusCode::OK
    } else if rejected == 0 {
        StatusCode::ACCEPTED
    } else if accepted + duplicates == 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok(Answer { status, body, rate })
}
