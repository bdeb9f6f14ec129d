use crate::helpers::*;

#[tokio::test]
async fn accepted_event_is_stored_exactly() {
    let (app, key) = app_with_key().await;
    let response = app
        .inbound(
            Some(&key),
            r#"{"email":"  Buyer@Example.COM ","event":" purchase ","value":"99.99","currency":"usd"}"#,
        )
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    assert!(response.headers().get("x-request-id").is_some());
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "accepted");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM conversion_events WHERE id = '{id}' AND email = 'buyer@example.com' AND event = 'purchase' \
             AND value::text = '99.99' AND currency = 'USD' AND key_name = 'Zapier' \
             AND email_sha256 = encode(sha256('buyer@example.com'), 'hex')"
        )),
        1
    );
}

#[tokio::test]
async fn unknown_fields_are_reported_as_warnings() {
    let (app, key) = app_with_key().await;
    let response = app.inbound(Some(&key), r#"{"email":"a@b.co","event":"lead","colour":"red"}"#).await;
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["warnings"][0]["field"], "colour");
    assert_eq!(body["warnings"][0]["code"], "unknown_field");
}

#[tokio::test]
async fn the_three_401_codes() {
    let (app, key) = app_with_key().await;
    assert_eq!(error_code(app.inbound(None, EVENT).await).await, "missing_api_key");
    assert_eq!(error_code(app.inbound(Some("cc_nope"), EVENT).await).await, "invalid_api_key");
    let id = app.key_ids("shop.example").await.remove(0);
    app.act("shop.example", &id, "revoke", "").await;
    let response = app.inbound(Some(&key), EVENT).await;
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "revoked_api_key");
    assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    assert!(body["error"]["request_id"].as_str().unwrap().len() > 10);
}

#[tokio::test]
async fn bad_json_is_400_with_position_and_field_errors_are_422_listing_every_field() {
    let (app, key) = app_with_key().await;
    let response = app.inbound(Some(&key), "{\"email\": ").await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");
    assert!(body["error"]["line"].as_u64().is_some() && body["error"]["column"].as_u64().is_some());

    let response = app.inbound(Some(&key), r#"{"email":"nope","event":"","value":"12,50"}"#).await;
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    for field in ["email", "event", "value"] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    let response = app.inbound(Some(&key), r#"{"email":"a@b.co","event":"purchase","value":10}"#).await;
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "currency");
    assert_eq!(body["error"]["fields"][0]["code"], "required_with_value");
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 0);
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let (app, _) = app_with_key().await;
    let response = app.client.get(app.url("/__cc/inbound")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers().get("allow").unwrap(), "POST");
    assert_eq!(error_code(response).await, "method_not_allowed");
}

#[tokio::test]
async fn oversized_bodies_are_413_also_after_gzip() {
    let (app, key) = app_with_key().await;
    let big = format!(r#"{{"email":"a@b.co","event":"x","properties":{{"pad":"{}"}}}}"#, "a".repeat(70 * 1024));
    let response = app.inbound(Some(&key), &big).await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_code(response).await, "payload_too_large");
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(big.as_bytes()).unwrap();
    let compressed = gz.finish().unwrap();
    assert!(compressed.len() < 2048, "a small bomb");
    let response = app
        .client
        .post(app.url("/__cc/inbound"))
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .header("X-CC-Api-Key", &key)
        .body(compressed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(EVENT.as_bytes()).unwrap();
    let response = app
        .client
        .post(app.url("/__cc/inbound"))
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .header("X-CC-Api-Key", &key)
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn case_01_revocation_is_immediate_and_survives_restarts() {
    let (app, key) = app_with_key().await;
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);
    let id = app.key_ids("shop.example").await.remove(0);
    app.act("shop.example", &id, "revoke", "").await;
    assert_eq!(error_code(app.inbound(Some(&key), EVENT).await).await, "revoked_api_key");
    // A second instance (as after a restart) agrees at once.
    let restarted = spawn_app_on(app.db.clone(), |_| {}).await;
    assert_eq!(error_code(restarted.inbound(Some(&key), EVENT).await).await, "revoked_api_key");
    drop(app);
    let restarted_again = spawn_app_on(restarted.db.clone(), |_| {}).await;
    assert_eq!(error_code(restarted_again.inbound(Some(&key), EVENT).await).await, "revoked_api_key");
    assert_eq!(restarted_again.count("SELECT count(*) AS n FROM conversion_events"), 1);
}

#[tokio::test]
async fn case_06_malformed_keys_get_the_same_401_shape() {
    let (app, key) = app_with_key().await;
    let mut typo = key.clone();
    typo.pop();
    typo.push(if key.ends_with('A') { 'B' } else { 'A' });
    let long = "x".repeat(10 * 1024);
    for bad in ["cc_", "cc_x", long.as_str(), typo.as_str()] {
        let response = app.inbound(Some(bad), EVENT).await;
        assert_eq!(response.status(), 401, "{}", &bad[..bad.len().min(20)]);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_api_key");
        assert_eq!(body["error"].as_object().unwrap().len(), 3, "code, message, request_id");
    }
    // Bytes that are not UTF-8.
    let response = app
        .client
        .post(app.url("/__cc/inbound"))
        .header("Content-Type", "application/json")
        .header("X-CC-Api-Key", reqwest::header::HeaderValue::from_bytes(b"cc_\xff\xfe\xfd").unwrap())
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "invalid_api_key");
    assert!(!app.dump().contains(&key));
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 0);
}

#[tokio::test]
async fn case_08_deleting_a_key_keeps_its_history() {
    let (app, key) = app_with_key().await;
    for n in 0..3 {
        let body = format!(r#"{{"email":"b{n}@example.com","event":"purchase"}}"#);
        assert_eq!(app.inbound(Some(&key), &body).await.status(), 202);
    }
    let id = app.key_ids("shop.example").await.remove(0);
    assert_is_redirect_to(
        &app.act("shop.example", &id, "delete", "Zapier").await,
        "/configuration/shop.example/inbound-keys",
    );
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 401);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM conversion_events WHERE inbound_key_id IS NULL AND key_name = 'Zapier'"),
        3
    );
}

#[tokio::test]
async fn case_09_last_used() {
    let (app, key) = app_with_key().await;
    let last_used = || app.count("SELECT count(*) AS n FROM inbound_keys WHERE last_used_at IS NOT NULL");
    assert!(app.get_html("/configuration/shop.example/inbound-keys").await.contains("Never"));
    assert_eq!(last_used(), 0);
    // An authenticated request whose body fails validation counts.
    assert_eq!(app.inbound(Some(&key), r#"{"email":"nope"}"#).await.status(), 422);
    assert_eq!(last_used(), 1);
    let tab = app.get_html("/configuration/shop.example/inbound-keys").await;
    assert!(tab.contains("just now") && !tab.contains(">Never<"));

    // A revoked key never updates it.
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE inbound_keys SET last_used_at = now() - interval '1 hour'"),
        &mut app.conn(),
    )
    .unwrap();
    let id = app.key_ids("shop.example").await.remove(0);
    app.act("shop.example", &id, "revoke", "").await;
    let fresh = spawn_app_on(app.db.clone(), |_| {}).await; // no in-memory mark
    assert_eq!(fresh.inbound(Some(&key), EVENT).await.status(), 401);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM inbound_keys WHERE last_used_at < now() - interval '59 minutes'"),
        1
    );

    // A new instance's accepted event sets it again after restore.
    app.act("shop.example", &id, "restore", "").await;
    assert_eq!(fresh.inbound(Some(&key), EVENT).await.status(), 202);
    assert_eq!(app.count("SELECT count(*) AS n FROM inbound_keys WHERE last_used_at > now() - interval '1 minute'"), 1);
}

#[tokio::test]
async fn case_11_content_types() {
    let (app, key) = app_with_key().await;
    for ct in ["application/json; charset=utf-8", "Application/JSON"] {
        let response = app
            .client
            .post(app.url("/__cc/inbound"))
            .header("Content-Type", ct)
            .header("X-CC-Api-Key", &key)
            .body(EVENT)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202, "{ct}");
    }
    for ct in [None, Some("text/plain")] {
        let mut request = app.client.post(app.url("/__cc/inbound")).header("X-CC-Api-Key", &key).body(EVENT);
        if let Some(ct) = ct {
            request = request.header("Content-Type", ct);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{ct:?}");
        assert_eq!(error_code(response).await, "unsupported_media_type");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 2);
}

#[tokio::test]
async fn case_12_an_array_points_to_the_batch_endpoint() {
    let (app, key) = app_with_key().await;
    let response = app.inbound(Some(&key), &format!("[{EVENT},{EVENT}]")).await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "expected_object");
    assert!(body["error"]["message"].as_str().unwrap().contains("/__cc/inbound/batch"));
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 0);
}

#[tokio::test]
async fn case_13_money_is_stored_exactly() {
    let (app, key) = app_with_key().await;
    for (value, stored) in [(r#""99.99""#, "99.99"), ("0.1", "0.1")] {
        let body = format!(r#"{{"email":"a@b.co","event":"purchase","value":{value},"currency":"EUR"}}"#);
        let response = app.inbound(Some(&key), &body).await;
        assert_eq!(response.status(), 202, "{value}");
        let id = response.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) AS n FROM conversion_events WHERE id = '{id}' AND value::text = '{stored}'"
            )),
            1,
            "{value}"
        );
    }
    let response =
        app.inbound(Some(&key), r#"{"email":"a@b.co","event":"purchase","value":"12,50","currency":"EUR"}"#).await;
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["fields"][0]["field"], "value");
}

#[tokio::test]
async fn case_14_retries_store_one_row() {
    let (app, key) = app_with_key().await;
    let body = r#"{"email":"a@b.co","event":"purchase","event_id":"order-1001"}"#;
    let first = app.inbound(Some(&key), body).await;
    assert_eq!(first.status(), 202);
    let first_id = first.json::<serde_json::Value>().await.unwrap()["id"].clone();
    let again = app.inbound(Some(&key), body).await;
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["id"], first_id);

    let body = r#"{"email":"a@b.co","event":"purchase","event_id":"order-1002"}"#;
    let (a, b) = tokio::join!(app.inbound(Some(&key), body), app.inbound(Some(&key), body));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 202]);
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 2);
}

#[tokio::test]
async fn bearer_token_is_accepted() {
    let (app, key) = app_with_key().await;
    let response = app
        .client
        .post(app.url("/__cc/inbound"))
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Bearer {key}"))
        .body(EVENT)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn another_authorization_scheme_is_a_wrong_key_alone_and_ignored_beside_the_key_header() {
    let (app, key) = app_with_key().await;
    for value in ["Basic dXNlcjpwYXNz".to_owned(), format!("Token {key}"), key.clone()] {
        let response = app
            .client
            .post(app.url("/__cc/inbound"))
            .header("Content-Type", "application/json")
            .header("Authorization", value.as_str())
            .body(EVENT)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{value}");
        assert_eq!(error_code(response).await, "invalid_api_key", "{value}");
    }
    // A proxy's own Basic credentials next to the key header do not get in the way.
    let response = app.inbound_with("/__cc/inbound", &key, &[("Authorization", "Basic dXNlcjpwYXNz")], EVENT).await;
    assert_eq!(response.status(), 202);
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 1);
}

#[tokio::test]
async fn numbers_in_properties_are_kept_exactly_in_validate_mode_and_in_storage() {
    let (app, key) = app_with_key().await;
    let body = r#"{"email":"f@example.com","event":"x","event_id":"p-1","properties":{"huge":1e400,"long":123456789012345678901234567890,"tiny":1.5e-400,"list":[1,-1e400,0.1234567890123456789]}}"#;
    for path in ["/__cc/inbound?validate=true", "/__cc/inbound/batch?validate=true"] {
        let sent = if path.contains("batch") { format!(r#"{{"events":[{body}]}}"#) } else { body.to_owned() };
        let response = app.inbound_with(path, &key, &[], &sent).await;
        assert_eq!(response.status(), 200, "{path}");
        // `1e400` may come back as `1e+400`: the same number, still exact.
        let text = response.text().await.unwrap().replace("e+", "e");
        for number in ["1e400", "123456789012345678901234567890", "1.5e-400", "-1e400", "0.1234567890123456789"] {
            assert!(text.contains(number), "{path} echoes {number} exactly: {text}");
        }
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 0, "validate stores nothing");
    assert_eq!(app.inbound(Some(&key), body).await.status(), 202);
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM conversion_events
              WHERE properties->'long' = '123456789012345678901234567890'::jsonb AND properties->'huge' = '1e400'::jsonb"
        ),
        1
    );
}

#[tokio::test]
async fn a_path_under_cc_that_is_no_endpoint_answers_json_not_found() {
    let (app, key) = app_with_key().await;
    for path in ["/__cc/inbound/", "/__cc/inbound/batch/", "/__cc/events", "/__cc/"] {
        let response = app.inbound_with(path, &key, &[], EVENT).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.headers().contains_key("x-request-id"), "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
        assert!(body["error"]["message"].as_str().unwrap().contains("/__cc/inbound"), "{path}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM conversion_events"), 0);
}
