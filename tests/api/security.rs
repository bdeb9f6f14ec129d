//! Admin security: sessions, throttling, headers, audit trail, escaping, secrets.

use std::process::{Command, Stdio};

use cleanclicks::accounts::{Plan, Role};
use diesel::RunQueryDsl;

use crate::helpers::*;

const TAB: &str = "/configuration/shop.example/inbound-keys";

fn run_sql(app: &TestApp, sql: &str) {
    diesel::sql_query(sql).execute(&mut app.conn()).unwrap();
}

fn cli(app: &TestApp, args: &[&str], password: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cleanclicks"));
    command
        .args(args)
        .env("DATABASE_URL", &app.db.url)
        .env("CC_SESSION_KEY", "k".repeat(64))
        .env_remove("CC_PASSWORD")
        .stdin(Stdio::null());
    if let Some(password) = password {
        command.env("CC_PASSWORD", password);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

#[tokio::test]
async fn sessions_end_after_idle_and_absolute_timeouts() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    assert_eq!(app.get(TAB).await.status(), 200);
    run_sql(&app, "UPDATE admin_sessions SET last_seen_at = now() - interval '31 minutes'");
    assert_is_redirect_to(&app.get(TAB).await, "/login");

    app.login_owner().await;
    assert_eq!(app.get(TAB).await.status(), 200);
    run_sql(&app, "UPDATE admin_sessions SET created_at = now() - interval '13 hours' WHERE revoked_at IS NULL");
    assert_is_redirect_to(&app.get(TAB).await, "/login");
}

#[tokio::test]
async fn password_change_disable_and_role_change_take_effect_at_once() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let second_browser = spawn_app_on(app.db.clone(), |_| {}).await;
    second_browser.login_owner().await;

    cli(&app, &["user", "set-password", "owner@acme.test"], Some("a brand new passphrase 2"));
    assert_is_redirect_to(&app.get(TAB).await, "/login");
    assert_is_redirect_to(&second_browser.get(TAB).await, "/login");
    assert!(app.login("owner@acme.test", PASSWORD).await.text().await.unwrap().contains("incorrect"));
    assert_is_redirect_to(&app.login("owner@acme.test", "a brand new passphrase 2").await, "/configuration");

    cli(&app, &["user", "set-role", "owner@acme.test", "viewer"], None);
    let tab = app.get_html(TAB).await;
    assert!(!tab.contains("Create Inbound Integration Key"), "the role is read on every request");
    cli(&app, &["user", "set-role", "owner@acme.test", "owner"], None);

    cli(&app, &["user", "disable", "owner@acme.test"], None);
    assert_is_redirect_to(&app.get(TAB).await, "/login");
    assert!(app.login("owner@acme.test", "a brand new passphrase 2").await.text().await.unwrap().contains("incorrect"));
    cli(&app, &["user", "enable", "owner@acme.test"], None);
    assert_is_redirect_to(&app.login("owner@acme.test", "a brand new passphrase 2").await, "/configuration");
}

#[tokio::test]
async fn secure_cookies_and_hsts_behind_https() {
    let app = spawn_app().await;
    let https = spawn_app_on(app.db.clone(), |s| s.https = true).await;
    let response = https.get("/login").await;
    assert!(response.headers().get("strict-transport-security").unwrap().to_str().unwrap().contains("max-age="));
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let plain = app.get("/login").await;
    assert!(plain.headers().get("strict-transport-security").is_none());
}

/// The owner's sign-in form, sent as if from `ip` (through the trusted proxy).
async fn sign_in_from(app: &TestApp, ip: String, password: &str) -> reqwest::Response {
    let page = app.get_html("/login").await;
    let csrf = field_value(&page, "csrf_token").unwrap();
    app.client
        .post(app.url("/login"))
        .header("X-Forwarded-For", ip)
        .form(&[("email", "owner@acme.test"), ("password", password), ("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_email_and_ip_without_locking_out_others() {
    let app = spawn_app_behind_proxy(Plan::Signal).await;
    let login_from = |ip: &'static str, password: &'static str| sign_in_from(&app, ip.to_owned(), password);
    for _ in 0..5 {
        assert_eq!(login_from("203.0.113.5", "wrong password, sorry").await.status(), 200);
    }
    let throttled = login_from("203.0.113.5", "wrong password, sorry").await;
    assert_eq!(throttled.status(), 429);
    let retry: u64 = throttled.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((60..=15 * 60).contains(&retry), "{retry}");
    assert!(throttled.text().await.unwrap().contains("Try again in"));
    // Even the right password waits from that address…
    assert_eq!(login_from("203.0.113.5", PASSWORD).await.status(), 429);
    // …but the real user elsewhere is not locked out.
    assert_is_redirect_to(&login_from("198.51.100.20", PASSWORD).await, "/configuration");
    // The window slides: once the failures age out, the address may try again.
    run_sql(&app, "UPDATE login_failures SET at = at - interval '16 minutes'");
    assert_is_redirect_to(&login_from("203.0.113.5", PASSWORD).await, "/configuration");
}

#[tokio::test]
async fn a_distributed_guess_cannot_lock_the_user_out_of_an_address_they_signed_in_from() {
    let app = spawn_app_behind_proxy(Plan::Signal).await;
    let login_from = |ip: String, password: &'static str| sign_in_from(&app, ip, password);
    // The owner signs in from home once, then signs out.
    assert_is_redirect_to(&login_from("198.51.100.7".into(), PASSWORD).await, "/configuration");
    let csrf = field_value(&app.get_html(TAB).await, "csrf_token").unwrap();
    assert_is_redirect_to(&app.post_form("/logout", &[("csrf_token", &csrf)]).await, "/login?signed_out=1");
    // 100 failures from 25 addresses (4 each, under the per-address limits).
    for n in 0..100 {
        let status = login_from(format!("203.0.113.{}", n % 25), "wrong password, sorry").await.status();
        assert_eq!(status, 200, "attempt {n}");
    }
    // The email is now locked from new addresses…
    assert_eq!(login_from("192.0.2.1".into(), PASSWORD).await.status(), 429);
    // …but not from the address the owner signed in from.
    assert_is_redirect_to(&login_from("198.51.100.7".into(), PASSWORD).await, "/configuration");
}

#[tokio::test]
async fn nul_bytes_in_sign_in_and_urls_are_client_errors() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    let page = app.get_html("/login").await;
    let csrf = field_value(&page, "csrf_token").unwrap();
    let response = app
        .post_form(
            "/login",
            &[("email", "owner\u{0}@acme.test"), ("password", "wrong password, sorry"), ("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(response.status(), 200, "a NUL in the email is a failed sign-in, not a server error");
    assert!(response.text().await.unwrap().contains("The email or password is incorrect."));
    app.login_owner().await;
    assert_eq!(app.get("/configuration/shop%00.example/inbound-keys").await.status(), 404);
    let id = app.create_key_on("shop.example", "Zapier").await;
    assert_eq!(id.0, 200);
    let key_id = app.key_ids("shop.example").await.remove(0);
    let tab = app.get_html(TAB).await;
    let csrf = field_value(&tab, "csrf_token").unwrap();
    let forced =
        app.post_form(&format!("/configuration/x%00/inbound-keys/{key_id}/revoke"), &[("csrf_token", &csrf)]).await;
    assert_eq!(forced.status(), 404);
    assert_eq!(app.count("SELECT count(*) AS n FROM inbound_keys WHERE revoked_at IS NULL"), 1);
}

#[tokio::test]
async fn audit_trail_records_every_change_and_outlives_the_key() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Command);
    app.login_owner().await;
    let key = app.create_key("Audited").await;
    let id = app.key_ids("shop.example").await.remove(0);
    app.act("shop.example", &id, "revoke", "").await;
    app.act("shop.example", &id, "revoke", "").await; // no change, no record
    app.act("shop.example", &id, "restore", "").await;
    app.act("shop.example", &id, "delete", "Audited").await;
    let tab = app.get_html(TAB).await;
    let activity = &tab[tab.find("id=\"activity\"").unwrap()..];
    let order: Vec<usize> = ["Deleted", "Restored", "Revoked", "Created"]
        .iter()
        .map(|a| activity.find(&format!(">{a}<")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "newest first: {order:?}");
    assert_eq!(activity.matches("owner@acme.test").count(), 4);
    // Each record names the key by its masked prefix too (two keys may share a name).
    assert_eq!(activity.matches(&key[..11]).count(), 4, "{activity}");
    assert!(!activity.contains(&key), "never the full key");
    assert!(activity.contains("127.0.0.1"));
    assert_eq!(app.count("SELECT count(*) AS n FROM key_audit_events WHERE key_name = 'Audited'"), 4);

    // Paginated, 20 a page.
    for n in 0..18 {
        app.create_key(&format!("Bulk {n}")).await;
    }
    let first = app.get_html(TAB).await;
    assert!(first.contains("audit_page=1"), "an Older link");
    let second = app.get_html(&format!("{TAB}?audit_page=1")).await;
    let rows = |page: &str| page[page.find("id=\"activity\"").unwrap()..].matches("<tr>").count();
    assert_eq!(rows(&first), 1 + 20, "header row + 20");
    assert_eq!(rows(&second), 1 + 2);
    // No route edits the trail.
    let csrf = field_value(&first, "csrf_token").unwrap();
    assert_eq!(app.post_form(&format!("{TAB}/activity"), &[("csrf_token", &csrf)]).await.status(), 404);
}

#[tokio::test]
async fn markup_in_names_renders_inert_everywhere() {
    let app = spawn_app().await;
    app.seed("<b>Evil & Co</b>", Plan::Signal, "owner@acme.test", Role::Owner, "shop.example");
    app.login_owner().await;
    let name = r#""><img src=x onerror=alert(1)><script>alert(2)</script>"#;
    let (status, reveal) = app.create_key_on("shop.example", name).await;
    assert_eq!(status, 200);
    let id = app.key_ids("shop.example").await.remove(0);
    let confirm = app.get_html(&format!("{TAB}/{id}/delete")).await;
    app.act("shop.example", &id, "revoke", "").await;
    let tab_with_flash = app.get_html(TAB).await;
    for (page, html) in [("reveal", &reveal), ("confirm", &confirm), ("tab, flash and activity", &tab_with_flash)] {
        assert!(!html.contains("<img src=x"), "{page}");
        assert!(!html.contains("<script>alert"), "{page}");
        assert!(!html.contains("<b>Evil"), "{page}");
        assert!(html.contains("&lt;img src=x") || html.contains("&#60;img src=x"), "{page} shows the name, escaped");
    }
    assert!(tab_with_flash.contains("&lt;b&gt;Evil &amp; Co&lt;/b&gt;") || tab_with_flash.contains("&#60;b&#62;Evil"));
}

/// Case 7: a full flow with RUST_LOG=trace, through the real binary; the log holds no
/// key, password, session cookie or CSRF token.
#[tokio::test]
async fn case_07_secrets_never_logged() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log_path = std::env::temp_dir().join(format!("cc-trace-{}.log", app.db.name));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_cleanclicks"))
        .arg("serve")
        .env("DATABASE_URL", &app.db.url)
        .env("CC_BIND", format!("127.0.0.1:{port}"))
        .env("CC_SESSION_KEY", "s".repeat(64))
        .env("RUST_LOG", "trace")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let c = client();
    for _ in 0..100 {
        if c.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let page = c.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
    let login_csrf = field_value(&page, "csrf_token").unwrap();
    let response = c
        .post(format!("{base}/login"))
        .form(&[("email", "owner@acme.test"), ("password", PASSWORD), ("csrf_token", &login_csrf)])
        .send()
        .await
        .unwrap();
    let session_cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let tab = c.get(format!("{base}{TAB}")).send().await.unwrap().text().await.unwrap();
    let (csrf, token) = create_form_tokens(&tab).unwrap();
    let reveal = c
        .post(format!("{base}{TAB}"))
        .form(&[("name", "Logged?"), ("csrf_token", &csrf), ("form_token", &token)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = revealed_key(&reveal).unwrap();
    let send = |key: String, body: &'static str| {
        c.post(format!("{base}/__cc/inbound"))
            .header("Content-Type", "application/json")
            .header("X-CC-Api-Key", key)
            .body(body)
            .send()
    };
    assert_eq!(send(key.clone(), EVENT).await.unwrap().status(), 202);
    assert_eq!(send(key.clone(), r#"{"email":"nope"}"#).await.unwrap().status(), 422);
    let mut bad = key.clone();
    bad.replace_range(20..21, if &key[20..21] == "A" { "B" } else { "A" });
    assert_eq!(send(bad, EVENT).await.unwrap().status(), 401);
    server.kill().unwrap();
    server.wait().unwrap();

    let log = std::fs::read_to_string(&log_path).unwrap();
    std::fs::remove_file(&log_path).ok();
    assert!(log.lines().count() > 20, "trace logging was on: {} lines", log.lines().count());
    assert!(log.contains("inbound key created"));
    // Written to a file, not a terminal: plain text, no colour escape codes.
    assert!(!log.contains('\u{1b}'), "the log file holds ANSI escape codes");
    for (what, secret) in [
        ("key", key.as_str()),
        ("key's secret part", &key[11..35]),
        ("password", PASSWORD),
        ("session cookie", session_cookie.as_str()),
        ("csrf token", csrf.as_str()),
        ("login csrf token", login_csrf.as_str()),
    ] {
        assert!(!log.contains(secret), "the log contains the {what}");
    }
    let dump = app.dump();
    assert!(!dump.contains(&key) && !dump.contains(PASSWORD) && !dump.contains(&session_cookie));
}
