//! The inbound endpoint's whole contract (SPEC §5), against hostile input.

use std::time::{Duration, Instant};

use cleanclicks::accounts::Plan;
use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::helpers::*;

fn minutes_ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339()
}

/// name, body, status, error code, and (field, field code) for 422s.
type Row = (&'static str, String, u16, &'static str, Option<(&'static str, &'static str)>);

/// One row per rule and status code: body → status, error code, and the field code
/// expected on the named field (for 422s).
#[tokio::test]
async fn one_row_per_rule_and_status() {
    let (app, key) = app_with_key().await;
    let long = |n: usize| "x".repeat(n);
    let deep = format!("{}1{}", "[".repeat(10), "]".repeat(10));
    let big_props = format!(r#"{{"pad":"{}"}}"#, long(17 * 1024));
    let rows: Vec<Row> = vec![
        ("minimal", json!({"email": "a@b.co", "event": "lead"}).to_string(), 202, "", None),
        ("all fields", json!({"email": "a@b.co", "event": "purchase", "value": 12.5, "currency": "eur", "event_id": "row-1", "occurred_at": minutes_ago(10), "click_id": "gclid-123", "properties": {"sku": "A1", "qty": 2}}).to_string(), 202, "", None),
        ("empty optional strings are absent", json!({"email": "a@b.co", "event": "lead", "value": "", "currency": "", "event_id": "", "click_id": "", "occurred_at": "", "properties": ""}).to_string(), 202, "", None),
        ("nulls are absent", json!({"email": "a@b.co", "event": "lead", "value": null, "currency": null, "properties": null}).to_string(), 202, "", None),
        ("unicode email", json!({"email": "Jörg@Bücher.de", "event": "lead"}).to_string(), 202, "", None),
        ("not json", "{nope".into(), 400, "invalid_json", None),
        ("bare NaN is not json", r#"{"email":"a@b.co","event":"x","value":NaN}"#.into(), 400, "invalid_json", None),
        ("array", "[]".into(), 400, "expected_object", None),
        ("string", "\"hi\"".into(), 400, "expected_object", None),
        ("email missing", json!({"event": "lead"}).to_string(), 422, "validation_failed", Some(("email", "required"))),
        ("email empty", json!({"email": "", "event": "lead"}).to_string(), 422, "validation_failed", Some(("email", "required"))),
        ("email not a string", json!({"email": 5, "event": "lead"}).to_string(), 422, "validation_failed", Some(("email", "invalid_type"))),
        ("email invalid", json!({"email": "a@b", "event": "lead"}).to_string(), 422, "validation_failed", Some(("email", "invalid_email"))),
        ("email too long", json!({"email": format!("{}@b.co", long(250)), "event": "lead"}).to_string(), 422, "validation_failed", Some(("email", "too_long"))),
        ("event missing", json!({"email": "a@b.co"}).to_string(), 422, "validation_failed", Some(("event", "required"))),
        ("event too long", json!({"email": "a@b.co", "event": long(101)}).to_string(), 422, "validation_failed", Some(("event", "too_long"))),
        ("event NUL", json!({"email": "a@b.co", "event": "a\u{0}b"}).to_string(), 422, "validation_failed", Some(("event", "control_characters"))),
        ("value comma", json!({"email": "a@b.co", "event": "x", "value": "12,50", "currency": "EUR"}).to_string(), 422, "validation_failed", Some(("value", "invalid_number"))),
        ("value NaN string", json!({"email": "a@b.co", "event": "x", "value": "NaN", "currency": "EUR"}).to_string(), 422, "validation_failed", Some(("value", "not_finite"))),
        ("value Infinity", json!({"email": "a@b.co", "event": "x", "value": "Infinity", "currency": "EUR"}).to_string(), 422, "validation_failed", Some(("value", "not_finite"))),
        ("value negative", json!({"email": "a@b.co", "event": "x", "value": -5, "currency": "EUR"}).to_string(), 422, "validation_failed", Some(("value", "negative"))),
        ("value 1e400", r#"{"email":"a@b.co","event":"x","value":1e400,"currency":"EUR"}"#.into(), 422, "validation_failed", Some(("value", "too_large"))),
        ("value 10^12", json!({"email": "a@b.co", "event": "x", "value": "1000000000000", "currency": "EUR"}).to_string(), 422, "validation_failed", Some(("value", "too_large"))),
        ("value decimals", json!({"email": "a@b.co", "event": "x", "value": "1.1234567", "currency": "EUR"}).to_string(), 422, "validation_failed", Some(("value", "too_many_decimals"))),
        ("value boolean", json!({"email": "a@b.co", "event": "x", "value": true, "currency": "EUR"}).to_string(), 422, "validation_failed", Some(("value", "invalid_type"))),
        ("currency unknown", json!({"email": "a@b.co", "event": "x", "value": 1, "currency": "ABC"}).to_string(), 422, "validation_failed", Some(("currency", "unknown_currency"))),
        ("currency required with value", json!({"email": "a@b.co", "event": "x", "value": 1}).to_string(), 422, "validation_failed", Some(("currency", "required_with_value"))),
        ("event_id too long", json!({"email": "a@b.co", "event": "x", "event_id": long(129)}).to_string(), 422, "validation_failed", Some(("event_id", "too_long"))),
        ("occurred_at garbage", json!({"email": "a@b.co", "event": "x", "occurred_at": "yesterday"}).to_string(), 422, "validation_failed", Some(("occurred_at", "invalid_timestamp"))),
        ("occurred_at too old", json!({"email": "a@b.co", "event": "x", "occurred_at": minutes_ago(8 * 24 * 60)}).to_string(), 422, "validation_failed", Some(("occurred_at", "too_old"))),
        ("occurred_at future", json!({"email": "a@b.co", "event": "x", "occurred_at": minutes_ago(-10)}).to_string(), 422, "validation_failed", Some(("occurred_at", "in_future"))),
        ("click_id too long", json!({"email": "a@b.co", "event": "x", "click_id": long(256)}).to_string(), 422, "validation_failed", Some(("click_id", "too_long"))),
        ("properties not object", json!({"email": "a@b.co", "event": "x", "properties": [1]}).to_string(), 422, "validation_failed", Some(("properties", "invalid_type"))),
        ("properties too large", format!(r#"{{"email":"a@b.co","event":"x","properties":{big_props}}}"#), 422, "validation_failed", Some(("properties", "properties_too_large"))),
        ("properties too deep", format!(r#"{{"email":"a@b.co","event":"x","properties":{{"a":{deep}}}}}"#), 422, "validation_failed", Some(("properties", "properties_too_deep"))),
        ("properties NUL", r#"{"email":"a@b.co","event":"x","properties":{"a":"\u0000"}}"#.into(), 422, "validation_failed", Some(("properties", "control_characters"))),
    ];
    for (name, body, status, code, field) in rows {
        let response = app.inbound(Some(&key), &body).await;
        assert_eq!(response.status().as_u16(), status, "{name}");
        assert_eq!(response.headers().get("cache-control").unwrap(), "no-store", "{name}");
        let request_id = response.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
        let json: Value = response.json().await.unwrap();
        if status >= 400 {
            assert_eq!(json["error"]["code"], code, "{name}: {json}");
            assert_eq!(json["error"]["request_id"], request_id.as_str(), "{name}");
            assert!(json["error"]["message"].as_str().unwrap().len() > 5, "{name}");
        }
        if let Some((field, field_code)) = field {
            let fields = json["error"]["fields"].as_array().unwrap();
            assert!(
                fields.iter().any(|f| f["field"] == field && f["code"] == field_code),
                "{name}: expected {field}/{field_code} in {fields:?}"
            );
        }
    }
    // Nothing from a rejected request was stored.
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 5);
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events WHERE value::text = '12.5' AND currency = 'EUR' AND properties = '{\"sku\": \"A1\", \"qty\": 2}'::jsonb"), 1);
}

#[tokio::test]
async fn headers_and_transport_rules() {
    let (app, key) = app_with_key().await;
    let post = |headers: Vec<(&'static str, String)>, body: &'static str| {
        let mut request = app.client.post(app.url("/__cc/inbound")).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let ct = ("Content-Type", "application/json".to_owned());
    // 401 before 415: an unauthenticated caller learns nothing about the body rules.
    assert_eq!(
        error_code(post(vec![("Content-Type", "text/plain".into())], EVENT).await.unwrap()).await,
        "missing_api_key"
    );
    // Header name case and surrounding whitespace.
    assert_eq!(post(vec![ct.clone(), ("x-cc-api-key", format!("  {key}  "))], EVENT).await.unwrap().status(), 202);
    // Both headers must agree.
    assert_eq!(
        error_code(
            post(vec![ct.clone(), ("X-CC-Api-Key", key.clone()), ("Authorization", "Bearer cc_other".into())], EVENT)
                .await
                .unwrap()
        )
        .await,
        "invalid_api_key"
    );
    // Encodings other than gzip.
    let response =
        post(vec![ct.clone(), ("X-CC-Api-Key", key.clone()), ("Content-Encoding", "br".into())], EVENT).await.unwrap();
    assert_eq!(response.status(), 415);
    // Corrupt gzip is a 400, not a 500.
    let response = post(vec![ct.clone(), ("X-CC-Api-Key", key.clone()), ("Content-Encoding", "gzip".into())], EVENT)
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // 405 on the batch endpoint too.
    let response = app.client.put(app.url("/__cc/inbound/batch")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers().get("allow").unwrap(), "POST");
}

async fn batch(app: &TestApp, key: &str, body: &Value, query: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(&format!("/__cc/inbound/batch{query}")))
        .header("Content-Type", "application/json")
        .header("X-CC-Api-Key", key)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn batch_stores_valid_events_and_reports_each_in_order() {
    let (app, key) = app_with_key().await;
    let good = |n: u32| json!({"email": format!("b{n}@example.com"), "event": "purchase", "value": "10.00", "currency": "USD", "event_id": format!("batch-{n}")});
    let body = json!({"events": [good(1), {"email": "nope", "event": "x"}, good(2), good(1), {"email": "c@d.co", "event": "lead", "colour": "red"}]});
    let (status, json) = batch(&app, &key, &body, "").await;
    assert_eq!(status, 207, "{json}");
    assert_eq!(
        (json["accepted"].as_u64(), json["duplicates"].as_u64(), json["rejected"].as_u64()),
        (Some(3), Some(1), Some(1))
    );
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.iter().map(|r| r["index"].as_u64().unwrap()).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    assert_eq!(results[0]["status"], 202);
    assert_eq!(results[1]["status"], 422);
    assert_eq!(results[1]["error"]["fields"][0]["field"], "events[1].email");
    assert_eq!(results[3]["status"], 200, "a repeat inside the batch is a duplicate of the first");
    assert_eq!(results[3]["id"], results[0]["id"]);
    assert_eq!(results[4]["warnings"][0]["field"], "events[4].colour");
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 3);

    // The same batch again: everything with an event_id is a duplicate of the stored row.
    let (status, json) = batch(&app, &key, &json!({"events": [good(1), good(2)]}), "").await;
    assert_eq!(status, 202);
    assert_eq!(json["duplicates"], 2);
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 3);

    let (status, json) = batch(&app, &key, &json!({"events": [{"event": "x"}, {"email": "x"}]}), "").await;
    assert_eq!(status, 422);
    assert_eq!(json["rejected"], 2);
    let (status, json) = batch(&app, &key, &json!({"events": []}), "").await;
    assert_eq!((status, json["error"]["fields"][0]["field"].as_str()), (422, Some("events")));
    let many: Vec<Value> = (0..501).map(|n| json!({"email": "a@b.co", "event": format!("e{n}")})).collect();
    let (status, _) = batch(&app, &key, &json!({"events": many}), "").await;
    assert_eq!(status, 422);
    let (status, json) = batch(&app, &key, &json!([good(9)]), "").await;
    assert_eq!((status, json["error"]["code"].as_str()), (400, Some("expected_object")));
    let full: Vec<Value> = (0..500)
        .map(|n| json!({"email": format!("f{n}@example.com"), "event": "purchase", "value": n, "currency": "EUR"}))
        .collect();
    let (status, json) = batch(&app, &key, &json!({"events": full}), "").await;
    assert_eq!((status, json["accepted"].as_u64()), (202, Some(500)));
    let huge: Vec<Value> =
        (0..200).map(|_| json!({"email": "a@b.co", "event": "x", "properties": {"pad": "y".repeat(6000)}})).collect();
    let (status, _) = batch(&app, &key, &json!({"events": huge}), "").await;
    assert_eq!(status, 413);
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 503);
}

#[tokio::test]
async fn validate_mode_checks_everything_and_stores_nothing() {
    let (app, key) = app_with_key().await;
    let send = |body: &'static str, query: &'static str| {
        app.client
            .post(app.url(&format!("/__cc/inbound{query}")))
            .header("Content-Type", "application/json")
            .header("X-CC-Api-Key", key.clone())
            .body(body)
            .send()
    };
    let body =
        r#"{"email":" A@B.co ","event":"purchase","value":"99.990","currency":"usd","event_id":"v-1","extra":1}"#;
    let response = send(body, "?validate=true").await.unwrap();
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["would_be"], "accepted");
    assert_eq!(json["event"]["email"], "a@b.co");
    assert_eq!(json["event"]["value"], "99.990");
    assert_eq!(json["event"]["currency"], "USD");
    assert_eq!(json["warnings"][0]["field"], "extra");
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 0);
    assert_eq!(send(body, "").await.unwrap().status(), 202);
    let json: Value = send(body, "?validate=true").await.unwrap().json().await.unwrap();
    assert_eq!(json["would_be"], "duplicate");
    assert!(json["duplicate_of"].is_string());
    // Validation errors and auth errors answer as usual.
    assert_eq!(send(r#"{"email":"x"}"#, "?validate=true").await.unwrap().status(), 422);
    let response = app
        .client
        .post(app.url("/__cc/inbound?validate=true"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, json) = batch(&app, &key, &json!({"events": [{"email": "a@b.co", "event": "x", "event_id": "v-1"}, {"email": "z"}, {"email": "n@b.co", "event": "y"}]}), "?validate=true").await;
    assert_eq!(status, 200);
    let would_be: Vec<&str> =
        json["results"].as_array().unwrap().iter().map(|r| r["would_be"].as_str().unwrap()).collect();
    assert_eq!(would_be, ["duplicate", "rejected", "accepted"]);
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 1);
}

/// `validate` is on or off, in any letter case; a value that is neither is refused
/// before anything is stored, so a typo never turns a test into a real conversion.
#[tokio::test]
async fn validate_takes_on_or_off_and_refuses_anything_else() {
    let (app, key) = app_with_key().await;
    let send = |query: &'static str| {
        let path = format!("/__cc/inbound{query}");
        let key = key.clone();
        let app = &app;
        async move { app.inbound_with(&path, &key, &[], EVENT).await }
    };
    for query in ["?validate=YES", "?validate=True", "?validate=1"] {
        assert_eq!(send(query).await.status(), 200, "{query}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 0);
    for query in ["?validate=maybe", "?validate=ture", "?validate=", "?validate=%ZZ"] {
        let response = send(query).await;
        assert_eq!(response.status(), 400, "{query}");
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["error"]["code"], "invalid_parameter", "{query}");
        assert!(json["error"]["message"].as_str().unwrap().contains("nothing was stored"), "{query}: {json}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 0);
    for query in ["?validate=false", "?validate=NO", "?validate=0", "?other=1"] {
        assert_eq!(send(query).await.status(), 202, "{query}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 4);
    let (status, json) =
        batch(&app, &key, &json!({"events": [{"email": "a@b.co", "event": "x"}]}), "?validate=later").await;
    assert_eq!((status, json["error"]["code"].as_str()), (400, Some("invalid_parameter")));
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 4);
}

/// An empty body is invalid JSON at line 1, column 1 (positions are 1-based).
#[tokio::test]
async fn an_empty_body_points_at_line_one_column_one() {
    let (app, key) = app_with_key().await;
    let response = app.inbound(Some(&key), "").await;
    assert_eq!(response.status(), 400);
    let json: Value = response.json().await.unwrap();
    assert_eq!((json["error"]["line"].as_u64(), json["error"]["column"].as_u64()), (Some(1), Some(1)), "{json}");
}

#[tokio::test]
async fn per_key_rate_limit_answers_429_with_headers() {
    let app = spawn_app().await;
    let app = spawn_app_on(app.db.clone(), |s| {
        s.rate_limit = cleanclicks::inbound::rate_limit::RateLimitConfig::parse("1/m, burst 2").unwrap()
    })
    .await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Busy").await;
    let other = app.create_key("Quiet").await;
    for _ in 0..2 {
        let response = app.inbound(Some(&key), EVENT).await;
        assert_eq!(response.status(), 202);
        assert_eq!(response.headers().get("ratelimit-limit").unwrap(), "2");
    }
    let response = app.inbound(Some(&key), EVENT).await;
    assert_eq!(response.status(), 429);
    let headers = response.headers().clone();
    assert_eq!(headers.get("ratelimit-remaining").unwrap(), "0");
    let retry: u64 = headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(headers.get("ratelimit-reset").is_some());
    assert_eq!(error_code(response).await, "rate_limited");
    assert_eq!(app.inbound(Some(&other), EVENT).await.status(), 202, "each key has its own bucket");
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 3);
}

#[tokio::test]
async fn browser_origin_is_refused_and_flagged_on_the_tab() {
    let (app, key) = app_with_key().await;
    let response = app.inbound_with("/__cc/inbound", &key, &[("Origin", "https://landing.shop.example")], EVENT).await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "browser_origin_forbidden");
    let tab = app.get_html("/configuration/shop.example/inbound-keys").await;
    assert!(tab.contains("was seen from a browser at https://landing.shop.example"));
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 0);
}

#[tokio::test]
async fn case_10_fifty_concurrent_events_update_the_key_row_once() {
    let (app, key) = app_with_key().await;
    // Count every UPDATE of the key row, whatever issues it.
    let mut conn = app.conn();
    diesel::sql_query("CREATE TABLE key_row_updates (at timestamptz NOT NULL DEFAULT now())")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(
        "CREATE FUNCTION count_key_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO key_row_updates DEFAULT VALUES; RETURN NEW; END $$",
    )
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(
        "CREATE TRIGGER key_updates AFTER UPDATE ON inbound_keys FOR EACH ROW EXECUTE FUNCTION count_key_update()",
    )
    .execute(&mut conn)
    .unwrap();
    let fresh = spawn_app_on(app.db.clone(), |_| {}).await; // no "written this minute" mark yet
    let requests = (0..50).map(|n| {
        let body = format!(r#"{{"email":"c{n}@example.com","event":"purchase"}}"#);
        let (fresh, key) = (&fresh, &key);
        async move { fresh.inbound(Some(key), &body).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 50);
    assert_eq!(app.count("SELECT count(*) AS n FROM key_row_updates"), 1);
}

/// Runs blocking Diesel work (holding connections or locks) off the test's runtime.
fn hold<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
    std::thread::spawn(f)
}

/// A key row locked `FOR UPDATE` by another session until `release`.
struct KeyRowLock {
    release_tx: std::sync::mpsc::Sender<()>,
    holder: std::thread::JoinHandle<()>,
}

impl KeyRowLock {
    /// Returns once the lock is held.
    fn take(app: &TestApp, key_id: &str) -> Self {
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let mut locker = app.conn();
        let statement = format!("SELECT id FROM inbound_keys WHERE id = '{key_id}' FOR UPDATE");
        let holder = hold(move || {
            use diesel::Connection;
            locker
                .transaction::<_, diesel::result::Error, _>(|conn| {
                    diesel::sql_query(statement).execute(conn)?;
                    locked_tx.send(()).unwrap();
                    release_rx.recv().ok();
                    Ok(())
                })
                .unwrap();
        });
        locked_rx.recv().unwrap();
        Self { release_tx, holder }
    }

    fn release(self) {
        self.release_tx.send(()).unwrap();
        self.holder.join().unwrap();
    }
}

#[tokio::test]
async fn case_15_blocking_work_stays_off_the_async_workers() {
    let (app, key) = app_with_key().await;
    let key_id: String = app.key_ids("shop.example").await.remove(0);
    // Hold a row lock on the key in another session.
    let lock = KeyRowLock::take(&app, &key_id);

    let inbound = (0..6).map(|n| {
        let body = format!(r#"{{"email":"l{n}@example.com","event":"purchase"}}"#);
        let (app, key) = (&app, &key);
        async move { app.inbound(Some(key), &body).await.status().as_u16() }
    });
    let other = spawn_app_on(app.db.clone(), |_| {}).await; // a second client for the failed logins
    let logins = (0..8).map(|_| {
        let other = &other;
        async move { other.login("owner@acme.test", "not the password at all").await.status().as_u16() }
    });
    let probes = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut slowest = Duration::ZERO;
        for _ in 0..3 {
            let started = Instant::now();
            assert_eq!(app.get("/healthz").await.status(), 200);
            assert_eq!(app.get("/configuration/shop.example/inbound-keys").await.status(), 200);
            slowest = slowest.max(started.elapsed());
        }
        slowest
    };
    let (inbound_statuses, login_statuses, slowest) =
        tokio::join!(futures_util::future::join_all(inbound), futures_util::future::join_all(logins), probes);
    lock.release();
    assert!(slowest < Duration::from_millis(300), "health and keys page took {slowest:?} while the key row was locked");
    assert!(login_statuses.iter().all(|s| *s == 200));
    // The locked inserts either waited out the lock or gave up with a 503 — never a hang.
    assert!(inbound_statuses.iter().all(|s| *s == 202 || *s == 503), "{inbound_statuses:?}");
}

#[tokio::test]
async fn a_locked_key_row_never_holds_up_another_keys_events() {
    let (app, locked_key) = app_with_key().await;
    let other_key = app.create_key("Other").await;
    let ids = app.key_ids("shop.example").await;
    let locked_id = ids
        .iter()
        .find(|id| {
            app.count(&format!("SELECT count(*) AS n FROM inbound_keys WHERE id = '{id}' AND name = 'Zapier'")) == 1
        })
        .unwrap()
        .clone();
    let lock = KeyRowLock::take(&app, &locked_id);

    // Events of the locked key and of another key arrive together, so they share commits.
    let timed = |key: String, n: usize| {
        let app = &app;
        async move {
            let started = Instant::now();
            let body = format!(r#"{{"email":"k{n}@example.com","event":"purchase"}}"#);
            (app.inbound(Some(&key), &body).await.status().as_u16(), started.elapsed())
        }
    };
    let locked = futures_util::future::join_all((0..3).map(|n| timed(locked_key.clone(), n)));
    let other = futures_util::future::join_all((3..6).map(|n| timed(other_key.clone(), n)));
    let (locked, other) = tokio::join!(locked, other);
    lock.release();

    for (status, took) in &other {
        assert_eq!(*status, 202, "{other:?}");
        assert!(*took < Duration::from_millis(1500), "another key's event waited {took:?} on a locked key row");
    }
    for (status, took) in &locked {
        assert!(*status == 503 || *status == 202, "{locked:?}");
        assert!(*took < Duration::from_millis(2500), "the locked key's event took {took:?}");
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM conversion_events"),
        3 + locked.iter().filter(|(s, _)| *s == 202).count() as i64
    );
}

#[tokio::test]
async fn case_16_pool_exhaustion_answers_503_and_recovers() {
    let app = spawn_app().await;
    let app = spawn_app_on(app.db.clone(), |s| s.db_pool_size = 2).await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Pool").await;
    let pool = app.state.inbound_pool.clone();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = hold(move || {
        let a = pool.get().unwrap();
        let b = pool.get().unwrap();
        held_tx.send(()).unwrap();
        release_rx.recv().ok();
        drop((a, b));
    });
    held_rx.recv().unwrap();
    let started = Instant::now();
    let response = app.inbound(Some(&key), EVENT).await;
    let waited = started.elapsed();
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(error_code(response).await, "unavailable");
    // The admin app has its own pool and keeps working meanwhile.
    assert_eq!(app.get("/configuration/shop.example/inbound-keys").await.status(), 200);
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);
}

#[tokio::test]
async fn database_outage_is_503_and_the_server_recovers_by_itself() {
    let (app, proxy, key) = app_with_key_through_proxy().await;

    proxy.cut();
    let started = Instant::now();
    let response = app.inbound(Some(&key), EVENT).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(app.get("/readyz").await.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200);

    proxy.restore();
    let mut status = 0;
    for _ in 0..20 {
        status = app.inbound(Some(&key), EVENT).await.status().as_u16();
        if status == 202 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status, 202, "recovered without a restart");
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 2, "nothing half-stored during the outage");
}

/// A database that stops answering in the middle of a commit (connections open, nothing
/// coming back) still gets the caller a 503 in bounded time, not a hang; events queued
/// behind it are not stored after their callers were told 503, and a retry with the same
/// `event_id` settles the one commit whose outcome was unknown.
#[tokio::test]
async fn a_stalled_database_answers_503_in_bounded_time_and_retries_settle_it() {
    let (app, proxy, key) = app_with_key_through_proxy().await;

    proxy.freeze();
    let started = Instant::now();
    let sends = (0..4).map(|i| {
        let body = format!(r#"{{"email":"s{i}@b.co","event":"purchase","event_id":"stall-{i}"}}"#);
        let (app, key) = (&app, key.clone());
        async move { app.inbound(Some(&key), &body).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert_eq!(statuses, [503, 503, 503, 503]);
    assert!(started.elapsed() < Duration::from_secs(9), "answered in {:?}", started.elapsed());
    proxy.thaw();

    // Retries with the same event_ids: each ends stored exactly once.
    for i in 0..4 {
        let body = format!(r#"{{"email":"s{i}@b.co","event":"purchase","event_id":"stall-{i}"}}"#);
        let mut status = 0;
        for _ in 0..20 {
            status = app.inbound(Some(&key), &body).await.status().as_u16();
            if status == 202 || status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(status == 202 || status == 200, "retry of stall-{i}: {status}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events WHERE event_id LIKE 'stall-%'"), 4);
}

/// The hot path remembers recently seen keys; a revoke or delete must still win over
/// every other answer on the very next request (401 precedes 400/422/429).
#[tokio::test]
async fn revoked_or_deleted_keys_answer_401_even_when_recently_seen() {
    let (app, key) = app_with_key().await;
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);
    let id = app.key_ids("shop.example").await.remove(0);
    app.act("shop.example", &id, "revoke", "").await;
    for body in ["{broken", r#"{"email":"x"}"#, EVENT] {
        assert_eq!(error_code(app.inbound(Some(&key), body).await).await, "revoked_api_key", "{body}");
    }
    let (status, json) = batch(&app, &key, &json!({"events": [{"email": "a@b.co", "event": "x"}]}), "").await;
    assert_eq!((status, json["error"]["code"].as_str()), (401, Some("revoked_api_key")));
    app.act("shop.example", &id, "restore", "").await;
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);
    app.act("shop.example", &id, "delete", "Zapier").await;
    assert_eq!(error_code(app.inbound(Some(&key), "{broken").await).await, "invalid_api_key");
    assert_eq!(error_code(app.inbound(Some(&key), EVENT).await).await, "invalid_api_key");
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 2);
}

#[tokio::test]
async fn validate_mode_and_body_errors_respect_the_key_checks() {
    let (app, key) = app_with_key().await;
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);
    let id = app.key_ids("shop.example").await.remove(0);
    app.act("shop.example", &id, "revoke", "").await;
    // Validate mode never trusts the hot-path cache.
    let response = app.inbound_with("/__cc/inbound?validate=true", &key, &[], EVENT).await;
    assert_eq!(error_code(response).await, "revoked_api_key");
    let (status, json) =
        batch(&app, &key, &json!({"events": [{"email": "a@b.co", "event": "x"}]}), "?validate=true").await;
    assert_eq!((status, json["error"]["code"].as_str()), (401, Some("revoked_api_key")));

    // A corrupt gzip body is a body error: after the key's 401, before nothing else.
    let gzip = |key: String| {
        app.client
            .post(app.url("/__cc/inbound"))
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .header("X-CC-Api-Key", key)
            .body("definitely not gzip")
            .send()
    };
    assert_eq!(error_code(gzip(key.clone()).await.unwrap()).await, "revoked_api_key");
    let fresh = app.create_key("Fresh").await;
    assert_eq!(error_code(gzip(fresh.clone()).await.unwrap()).await, "invalid_json");

    // Tools that add their own Basic auth next to the key header still work.
    let response = app.inbound_with("/__cc/inbound", &fresh, &[("Authorization", "Basic dXNlcjpwYXNz")], EVENT).await;
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn a_batch_costs_one_rate_limit_token_per_event_and_rejections_keep_the_connection() {
    let app = spawn_app().await;
    let app = spawn_app_on(app.db.clone(), |s| {
        s.rate_limit = cleanclicks::inbound::rate_limit::RateLimitConfig::parse("1/m, burst 5").unwrap()
    })
    .await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Batcher").await;
    let events: Vec<Value> = (0..4).map(|n| json!({"email": format!("b{n}@example.com"), "event": "x"})).collect();
    let (status, _) = batch(&app, &key, &json!({ "events": events }), "").await;
    assert_eq!(status, 202);
    let (status, json) = batch(&app, &key, &json!({ "events": events }), "").await;
    assert_eq!((status, json["error"]["code"].as_str()), (429, Some("rate_limited")), "4 + 4 events > a burst of 5");
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202, "one token was left");

    // A request refused before any database work does not close the connection.
    let response = app.inbound(Some("cc_not_a_key"), EVENT).await;
    assert_eq!(response.status(), 401);
    assert_ne!(
        response.headers().get("connection").map(|v| v.to_str().unwrap().to_ascii_lowercase()),
        Some("close".to_owned())
    );
}
