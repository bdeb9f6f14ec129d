use base64::Engine;
use cleanclicks::accounts::{Plan, Role};

use crate::helpers::*;

const TAB: &str = "/configuration/shop.example/inbound-keys";

#[tokio::test]
async fn create_reveals_the_key_once_with_no_store() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let page = app.get_html(TAB).await;
    let (csrf, token) = create_form_tokens(&page).unwrap();
    let response =
        app.post_form(TAB, &[("name", "Zapier Integration"), ("csrf_token", &csrf), ("form_token", &token)]).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("cache-control").unwrap().to_str().unwrap().contains("no-store"));
    let set_cookies: Vec<String> =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let body = response.text().await.unwrap();
    let key = revealed_key(&body).unwrap();
    assert_eq!(key.len(), 41);
    assert!(cleanclicks::keys::secret::PlainKey::parse(&key).is_ok());
    assert!(body.contains("will not be shown again"));
    assert!(body.contains("Copy"));

    // Never again: not on the tab, not in a cookie (raw or base64-decoded), not in the DB.
    let tab = app.get_html(TAB).await;
    assert!(!tab.contains(&key));
    assert!(tab.contains(&format!("{}••••••••", &key[..11])));
    assert!(tab.contains("Zapier Integration"));
    for cookie in set_cookies {
        assert!(!cookie.contains(&key));
        let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
        for engine in [base64::engine::general_purpose::STANDARD, base64::engine::general_purpose::URL_SAFE] {
            if let Ok(decoded) = engine.decode(value.trim_matches('"')) {
                assert!(!String::from_utf8_lossy(&decoded).contains(&key));
            }
        }
    }
    let dump = app.dump();
    assert!(!dump.contains(&key));
    assert!(!dump.contains(&key[11..]), "not even the secret part");
}

#[tokio::test]
async fn tab_shows_name_masked_prefix_dates_status_and_usage() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let tab = app.get_html(TAB).await;
    assert!(tab.contains("0 of 5 keys · Signal plan"));
    assert!(tab.contains("No keys yet"));
    assert!(tab.contains("cc_YOUR_KEY"), "the curl example uses a placeholder");
    assert!(tab.contains("https://cleanclicks.shop.example/__cc/inbound"));
    // This server answers too: a first test from a local install can be sent at once.
    let here = format!("{}/__cc/inbound", app.url("").trim_end_matches('/'));
    assert!(
        tab.contains(&format!("this server also answers at <code class=\"break-anywhere\">{here}</code>")),
        "{here}"
    );
    app.create_key("CRM Webhook").await;
    app.create_key("Backend").await;
    let tab = app.get_html(TAB).await;
    assert!(tab.contains("2 of 5 keys · Signal plan"));
    assert!(tab.contains("CRM Webhook") && tab.contains("Backend"));
    assert_eq!(tab.matches("Never").count(), 2);
    assert_eq!(tab.matches(">Active<").count(), 2);
    assert!(tab.contains("by owner@acme.test"));
    assert!(revealed_key(&tab).is_none());
}

#[tokio::test]
async fn revoke_restore_delete_with_confirmation_and_flash() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Zapier").await;
    let id = app.key_ids("shop.example").await.remove(0);

    // The confirmation page changes nothing by itself.
    let confirm = app.get_html(&format!("{TAB}/{id}/revoke")).await;
    assert!(confirm.contains("Confirm"));
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);

    let response = app.act("shop.example", &id, "revoke", "").await;
    assert_is_redirect_to(&response, TAB);
    let tab = app.get_html(TAB).await;
    assert!(tab.contains("was revoked"), "flash after revoke");
    assert!(tab.contains(">Revoked<"));
    assert!(tab.contains(&format!("{TAB}/{id}/restore")));
    assert_eq!(error_code(app.inbound(Some(&key), EVENT).await).await, "revoked_api_key");

    assert_is_redirect_to(&app.act("shop.example", &id, "restore", "").await, TAB);
    let tab = app.get_html(TAB).await;
    assert!(tab.contains("was restored"));
    assert!(tab.contains(">Active<"));
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202, "same value works again");

    // Delete needs the typed name.
    let wrong = app.act("shop.example", &id, "delete", "zapier!").await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(app.key_ids("shop.example").await.len(), 1);
    let confirm = app.get_html(&format!("{TAB}/{id}/delete")).await;
    assert!(confirm.contains("permanent"));
    assert_is_redirect_to(&app.act("shop.example", &id, "delete", "Zapier").await, TAB);
    let tab = app.get_html(TAB).await;
    assert!(tab.contains("was deleted"));
    assert!(!tab.contains(&id));
    assert_eq!(error_code(app.inbound(Some(&key), EVENT).await).await, "invalid_api_key");
}

#[tokio::test]
async fn key_names_are_validated_inline() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    app.create_key("Zapier").await;
    for (name, message) in [
        ("   ", "Enter a name"),
        (&"x".repeat(101), "at most 100 characters"),
        ("  zapier ", "already exists"),
        ("ZAPIER", "already exists"),
        ("\u{200B}", "invisible characters"),
        ("\u{3164}", "invisible characters"),
        ("Zapier\u{200B}", "invisible characters"),
    ] {
        let (status, body) = app.create_key_on("shop.example", name).await;
        assert_eq!(status, 422, "{name:?}");
        assert!(body.contains(message), "{name:?}: {message}");
        assert!(revealed_key(&body).is_none());
    }
    let (status, body) = app.create_key_on("shop.example", &"é".repeat(100)).await;
    assert_eq!(status, 200, "100 characters is fine: {body}");
    assert_eq!(app.key_ids("shop.example").await.len(), 2);
}

#[tokio::test]
async fn case_03_double_submit_creates_one_key() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let page = app.get_html(TAB).await;
    let (csrf, token) = create_form_tokens(&page).unwrap();
    let fields = [("name", "Make"), ("csrf_token", csrf.as_str()), ("form_token", token.as_str())];
    let (a, b) = tokio::join!(app.post_form(TAB, &fields), app.post_form(TAB, &fields));
    let mut statuses = vec![a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 409]);
    let bodies = [a.text().await.unwrap(), b.text().await.unwrap()];
    assert_eq!(bodies.iter().filter(|b| revealed_key(b).is_some()).count(), 1, "one secret only");
    assert!(bodies.iter().any(|b| b.contains("already created")));
    // A later replay of the same form: still no second key.
    let replay = app.post_form(TAB, &fields).await;
    assert_eq!(replay.status(), 409);
    assert!(revealed_key(&replay.text().await.unwrap()).is_none());
    assert_eq!(app.count("SELECT count(*) AS n FROM inbound_keys"), 1);
}

#[tokio::test]
async fn case_05_shown_once_means_once() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Once").await;
    // "Back" and "reload" re-request pages with GET: none of them shows the key.
    for path in [TAB.to_owned(), format!("{TAB}/new"), "/configuration".to_owned()] {
        let response = app.get(&path).await;
        let body = response.text().await.unwrap();
        assert!(!body.contains(&key), "{path}");
    }
    assert!(!app.dump().contains(&key));
}

#[tokio::test]
async fn case_17_csrf_is_checked_on_every_post() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let key = app.create_key("Target").await;
    let id = app.key_ids("shop.example").await.remove(0);
    let page = app.get_html(TAB).await;
    let (_, token) = create_form_tokens(&page).unwrap();
    for bad in ["", "deadbeef"] {
        let response = app.post_form(TAB, &[("name", "Sneaky"), ("csrf_token", bad), ("form_token", &token)]).await;
        assert_eq!(response.status(), 403);
        for action in ["revoke", "restore", "delete"] {
            let response = app
                .post_form(&format!("{TAB}/{id}/{action}"), &[("csrf_token", bad), ("confirm_name", "Target")])
                .await;
            assert_eq!(response.status(), 403, "{action}");
        }
        assert_eq!(app.post_form("/logout", &[("csrf_token", bad)]).await.status(), 403);
    }
    // A token of this session but a foreign Origin is refused too.
    let csrf = field_value(&page, "csrf_token").unwrap();
    let response = app
        .client
        .post(app.url(&format!("{TAB}/{id}/revoke")))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    // A GET on the action URL is only a confirmation page.
    assert_eq!(app.get(&format!("{TAB}/{id}/revoke")).await.status(), 200);
    assert_eq!(app.get(&format!("{TAB}/{id}/delete")).await.status(), 200);
    assert_eq!(app.count("SELECT count(*) AS n FROM inbound_keys WHERE revoked_at IS NULL"), 1);
    assert_eq!(app.key_ids("shop.example").await.len(), 1);
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);
    assert_eq!(app.get("/configuration").await.status(), 303, "still signed in");
}

#[tokio::test]
async fn viewers_see_the_tab_without_controls_and_are_refused() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    app.create_key("Existing").await;
    let id = app.key_ids("shop.example").await.remove(0);
    let page = app.get_html(TAB).await;
    let (_, token) = create_form_tokens(&page).unwrap();

    let viewer = spawn_app_on(app.db.clone(), |_| {}).await;
    viewer.seed("acme", Plan::Signal, "viewer@acme.test", Role::Viewer, "shop.example");
    assert_is_redirect_to(&viewer.login("viewer@acme.test", PASSWORD).await, "/configuration");
    let tab = viewer.get_html(TAB).await;
    assert!(tab.contains("Existing"));
    assert!(!tab.contains("Create Inbound Integration Key"));
    assert!(!tab.contains("/revoke") && !tab.contains("/delete") && !tab.contains("name=\"form_token\""));
    let csrf = field_value(&tab, "csrf_token").unwrap();
    let forced = viewer.post_form(TAB, &[("name", "Mine"), ("csrf_token", &csrf), ("form_token", &token)]).await;
    assert_eq!(forced.status(), 403);
    for action in ["revoke", "restore", "delete"] {
        let response = viewer
            .post_form(&format!("{TAB}/{id}/{action}"), &[("csrf_token", &csrf), ("confirm_name", "Existing")])
            .await;
        assert_eq!(response.status(), 403, "{action}");
    }
    assert_eq!(viewer.get(&format!("{TAB}/new")).await.status(), 403);
    assert_eq!(app.count("SELECT count(*) AS n FROM inbound_keys WHERE revoked_at IS NULL"), 1);
}

#[tokio::test]
async fn names_with_markup_render_inert() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let (status, body) = app.create_key_on("shop.example", "<script>alert(1)</script>").await;
    assert_eq!(status, 200);
    assert!(!body.contains("<script>alert(1)</script>"));
    let tab = app.get_html(TAB).await;
    assert!(!tab.contains("<script>alert(1)</script>"));
    assert!(tab.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || tab.contains("&#60;script&#62;"));
}

/// The name typed to confirm a deletion may use a plain hyphen and quote for the name's
/// en dash and curly apostrophe (most keyboards cannot type them); letters and capitals
/// still have to match.
#[tokio::test]
async fn deleting_accepts_the_name_typed_with_plain_dashes_and_quotes() {
    let app = signed_in_owner().await;
    app.create_key("Zapier – Bob’s orders").await;
    let id = app.key_ids("shop.example").await.remove(0);
    assert_eq!(app.act("shop.example", &id, "delete", "zapier - bob's orders").await.status(), 422);
    assert_eq!(app.key_ids("shop.example").await.len(), 1);
    assert_eq!(app.act("shop.example", &id, "delete", "Zapier - Bob's orders").await.status(), 303);
    assert!(app.key_ids("shop.example").await.is_empty());
}

/// Revoke and restore opened from a key's own page lead back to that page (and Cancel
/// too); from the tab, or for a delete, back to the tab. `from` takes no other place.
#[tokio::test]
async fn revoke_and_restore_from_the_key_page_return_to_it() {
    let app = signed_in_owner().await;
    app.create_key("CRM").await;
    let id = app.key_ids("shop.example").await.remove(0);
    let key_page = format!("{TAB}/{id}");
    for action in ["revoke", "restore"] {
        let path = format!("{TAB}/{id}/{action}");
        let page = app.get_html(&format!("{path}?from=key")).await;
        assert!(page.contains(&format!("href=\"{key_page}\" data-close-dialog")), "Cancel goes back to the key");
        assert_eq!(field_value(&page, "from").as_deref(), Some("key"));
        let csrf = field_value(&page, "csrf_token").unwrap();
        let response = app.post_form(&path, &[("csrf_token", &csrf), ("from", "key")]).await;
        assert_eq!(response.status(), 303, "{action}");
        assert_eq!(response.headers()["location"], key_page.as_str(), "{action}");
    }
    // Anything else in `from` is the tab, as without it.
    let path = format!("{TAB}/{id}/revoke");
    let page = app.get_html(&format!("{path}?from=https://evil.example")).await;
    assert!(field_value(&page, "from").is_none());
    let csrf = field_value(&page, "csrf_token").unwrap();
    let response = app.post_form(&path, &[("csrf_token", &csrf), ("from", "https://evil.example")]).await;
    assert_eq!(response.headers()["location"], TAB);
}
