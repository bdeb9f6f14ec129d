//! Usage insight: deliveries, counters, sources, the revoked-key banner (issue 5).

use std::time::Duration;

use cleanclicks::accounts::Plan;
use diesel::RunQueryDsl;

use crate::helpers::*;

const TAB: &str = "/configuration/shop.example/inbound-keys";

/// Insight is written in the background: poll a page until it shows `needle`.
async fn page_eventually_contains(app: &TestApp, path: &str, needle: &str) -> String {
    let mut page = String::new();
    for _ in 0..50 {
        page = app.get_html(path).await;
        if page.contains(needle) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never showed {needle:?}:\n{page}");
}

async fn send(app: &TestApp, key: &str, body: &str, user_agent: &str, forwarded_for: Option<&str>) -> (u16, String) {
    let mut headers = vec![("User-Agent", user_agent)];
    headers.extend(forwarded_for.map(|ip| ("X-Forwarded-For", ip)));
    let response = app.inbound_with("/__cc/inbound", key, &headers, body).await;
    let id = response.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    (response.status().as_u16(), id)
}

#[tokio::test]
async fn deliveries_show_accepted_duplicate_and_rejected_requests_without_payloads() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Zapier").await;
    let id = app.key_ids("shop.example").await.remove(0);
    let (status, accepted_request) =
        send(&app, &key, r#"{"email":"secret.buyer@example.com","event":"purchase","event_id":"o-1"}"#, "Zapier", None)
            .await;
    assert_eq!(status, 202);
    let (status, _) =
        send(&app, &key, r#"{"email":"secret.buyer@example.com","event":"purchase","event_id":"o-1"}"#, "Zapier", None)
            .await;
    assert_eq!(status, 200);
    let (status, rejected_request) = send(&app, &key, r#"{"email":"nope","event":"signup"}"#, "Zapier", None).await;
    assert_eq!(status, 422);

    let detail = format!("{TAB}/{id}");
    let page = page_eventually_contains(&app, &detail, &rejected_request).await;
    let page = if page.contains("duplicate</span>") {
        page
    } else {
        page_eventually_contains(&app, &detail, "duplicate</span>").await
    };
    assert!(page.contains(&accepted_request), "accepted rows carry their request id");
    assert!(page.contains("validation_failed: email invalid_email"), "which field broke, not the payload");
    assert!(page.contains("signup") && page.contains("purchase"));
    assert!(!page.contains("secret.buyer"), "no email on the page");
    assert!(page.contains("Zapier"), "detected integration");

    let rejected_only = app.get_html(&format!("{detail}?outcome=rejected")).await;
    assert!(rejected_only.contains(&rejected_request));
    assert!(!rejected_only.contains(&accepted_request));
    let accepted_only = app.get_html(&format!("{detail}?outcome=accepted")).await;
    assert!(accepted_only.contains(&accepted_request) && !accepted_only.contains(&rejected_request));
}

#[tokio::test]
async fn tab_and_revoke_dialog_show_usage_and_the_calling_integration() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("CRM Webhook").await;
    for n in 0..3 {
        let body = format!(r#"{{"email":"u{n}@example.com","event":"lead"}}"#);
        assert_eq!(send(&app, &key, &body, "Zapier", None).await.0, 202);
    }
    assert_eq!(send(&app, &key, r#"{"email":"x"}"#, "Zapier", None).await.0, 422);
    let tab = page_eventually_contains(&app, TAB, "3 accepted, 1 rejected").await;
    assert!(tab.contains("3 accepted · <span class=\"rejected-count\">1 rejected</span> in 7 days"), "{tab}");
    assert!(tab.contains("1 rejected"));
    assert!(tab.contains(">Zapier<"));
    assert!(tab.contains("<svg class=\"spark\""));
    let id = app.key_ids("shop.example").await.remove(0);
    let confirm = app.get_html(&format!("{TAB}/{id}/revoke")).await;
    assert!(confirm.contains("3 events accepted in the last 7 days, 1 rejected"), "{confirm}");
    assert!(confirm.contains("from <span class=\"badge badge-integration\""));
    assert!(confirm.contains(">Zapier<"));
    // Deleting is permanent: its confirmation warns about the same usage.
    let delete = app.get_html(&format!("{TAB}/{id}/delete")).await;
    assert!(delete.contains("3 events accepted in the last 7 days, 1 rejected"), "{delete}");
    assert!(delete.contains("An integration is actively using this key."));
}

#[tokio::test]
async fn a_revoked_key_still_being_called_raises_a_banner() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Old CRM").await;
    let id = app.key_ids("shop.example").await.remove(0);
    app.act("shop.example", &id, "revoke", "").await;
    for _ in 0..3 {
        assert_eq!(send(&app, &key, EVENT, "HubSpot Connect", None).await.0, 401);
    }
    let tab = page_eventually_contains(&app, TAB, "was called 3 times in the last 24 hours").await;
    assert!(tab.contains("Revoked key “Old CRM”"));
    assert!(tab.contains("an integration is still using it"));
    let detail = app.get_html(&format!("{TAB}/{id}?outcome=rejected")).await;
    assert!(detail.contains("revoked_api_key"));
    // The key's own summary counts the refused calls as rejected, like its deliveries list.
    let detail = app.get_html(&format!("{TAB}/{id}")).await;
    assert!(detail.contains("0 events accepted in the last 7 days, 3 rejected"), "{detail}");
    let delete = app.get_html(&format!("{TAB}/{id}/delete")).await;
    assert!(delete.contains("The key is revoked: its calls are refused."));
    assert!(!delete.contains("actively using"));
}

#[tokio::test]
async fn a_duplicate_is_use_but_not_an_accepted_event() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Orders API").await;
    let body = r#"{"email":"a@example.com","event":"purchase","event_id":"order-1"}"#;
    assert_eq!(send(&app, &key, body, "curl/8.5.0", None).await.0, 202);
    assert_eq!(send(&app, &key, body, "curl/8.5.0", None).await.0, 200);
    let id = app.key_ids("shop.example").await.remove(0);
    let detail = page_eventually_contains(&app, &format!("{TAB}/{id}"), ">duplicate<").await;
    assert!(detail.contains("1 event accepted in the last 7 days"), "{detail}");
}

#[tokio::test]
async fn the_last_five_source_ips_are_shown() {
    let app = spawn_app_behind_proxy(Plan::Signal).await;
    app.login_owner().await;
    let key = app.create_key("Many places").await;
    for n in 1..=6 {
        let ip = format!("198.51.100.{n}");
        assert_eq!(send(&app, &key, EVENT, "curl/8.5.0", Some(&ip)).await.0, 202);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let id = app.key_ids("shop.example").await.remove(0);
    let detail = page_eventually_contains(&app, &format!("{TAB}/{id}"), "198.51.100.6").await;
    let sources = &detail[detail.find("Recent source IPs").unwrap()..detail.find("deliveries-heading").unwrap()];
    for n in 2..=6 {
        assert!(sources.contains(&format!("198.51.100.{n} ")), "{n}");
    }
    assert!(!sources.contains("198.51.100.1 "), "only the last five");
    assert!(detail.contains(">curl<"));
}

#[tokio::test]
async fn deliveries_are_pruned_to_the_newest_hundred_per_key() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    app.create_key("Busy").await;
    let mut conn = app.conn();
    diesel::sql_query(
        "INSERT INTO key_deliveries (key_id, at, outcome, status, error_code, request_id)
         SELECT id, now() - g * interval '1 second', 'rejected', 422, 'validation_failed', 'r' || g
           FROM inbound_keys, generate_series(1, 130) g",
    )
    .execute(&mut conn)
    .unwrap();
    cleanclicks::usage::recorder::prune(&mut conn).unwrap();
    assert_eq!(app.count("SELECT count(*) AS n FROM key_deliveries"), 100);
    assert_eq!(app.count("SELECT count(*) AS n FROM key_deliveries WHERE request_id = 'r1'"), 1, "the newest stay");
}

#[tokio::test]
async fn another_tenants_key_page_is_404_and_the_tab_pages_fifty_keys() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Command);
    app.seed("globex", Plan::Command, "owner@globex.test", cleanclicks::accounts::Role::Owner, "other.example");
    app.login_owner().await;
    let mut conn = app.conn();
    diesel::sql_query(
        "INSERT INTO inbound_keys (domain_id, name, display_prefix, key_sha256, created_at)
         SELECT d.id, 'Key ' || g, 'cc_' || substr(md5(g::text || d.hostname), 1, 8), sha256((g::text || d.hostname)::bytea),
                now() - g * interval '1 minute'
           FROM domains d, generate_series(1, 55) g",
    )
    .execute(&mut conn)
    .unwrap();
    let other: String = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        diesel::sql_query(
            "SELECT k.id::text AS id FROM inbound_keys k JOIN domains d ON d.id = k.domain_id WHERE d.hostname = 'other.example' LIMIT 1",
        )
        .get_result::<Id>(&mut conn)
        .unwrap()
        .id
    };
    assert_eq!(app.get(&format!("{TAB}/{other}")).await.status(), 404);
    assert_eq!(app.get(&format!("/configuration/other.example/inbound-keys/{other}")).await.status(), 404);
    let first = app.get_html(TAB).await;
    assert_eq!(key_ids_in(&first).len(), 50);
    assert!(first.contains("Page 1 of 2") && first.contains("55 keys · Command plan"));
    let second = app.get_html(&format!("{TAB}?page=1")).await;
    assert_eq!(key_ids_in(&second).len(), 5);
    assert!(second.contains("Key 55"));
}
