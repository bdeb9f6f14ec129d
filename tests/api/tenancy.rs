use cleanclicks::accounts::{Plan, Role};

use crate::helpers::*;

/// Account A (acme, shop.example) and account B (globex, other.example), A signed in.
async fn two_tenants() -> (TestApp, String, String) {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    let b = spawn_app_on(app.db.clone(), |_| {}).await;
    b.seed("globex", Plan::Signal, "owner@globex.test", Role::Owner, "other.example");
    assert_is_redirect_to(&b.login("owner@globex.test", PASSWORD).await, "/configuration");
    let (status, body) = b.create_key_on("other.example", "Globex CRM").await;
    assert_eq!(status, 200);
    let b_key = revealed_key(&body).unwrap();
    let b_id = b.key_ids("other.example").await.remove(0);
    app.login_owner().await;
    (app, b_id, b_key)
}

#[tokio::test]
async fn case_04_other_tenants_ids_answer_404() {
    let (app, b_id, b_key) = two_tenants().await;
    app.create_key("Acme key").await;
    let tab = app.get_html("/configuration/shop.example/inbound-keys").await;
    let csrf = field_value(&tab, "csrf_token").unwrap();
    for domain in ["shop.example", "other.example"] {
        for action in ["revoke", "restore", "delete"] {
            let path = format!("/configuration/{domain}/inbound-keys/{b_id}/{action}");
            let get = app.get(&path).await;
            assert_eq!(get.status(), 404, "GET {path}");
            let body = get.text().await.unwrap();
            assert!(!body.contains("Globex") && !body.contains("other.example/inbound-keys"));
            let post = app.post_form(&path, &[("csrf_token", &csrf), ("confirm_name", "Globex CRM")]).await;
            assert_eq!(post.status(), 404, "POST {path}");
        }
    }
    // Their domain's pages do not exist for A either.
    for path in ["/configuration/other.example/inbound-keys", "/configuration/other.example/inbound-keys/new"] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
    let (_, token) = create_form_tokens(&tab).unwrap();
    let create = app
        .post_form(
            "/configuration/other.example/inbound-keys",
            &[("name", "Intruder"), ("csrf_token", &csrf), ("form_token", &token)],
        )
        .await;
    assert_eq!(create.status(), 404);
    // B's key is untouched and still works.
    assert_eq!(app.count("SELECT count(*) AS n FROM inbound_keys k JOIN domains d ON d.id = k.domain_id WHERE d.hostname = 'other.example' AND k.revoked_at IS NULL"), 1);
    assert_eq!(app.inbound(Some(&b_key), EVENT).await.status(), 202);
    // A's list does not mention B's domain.
    assert!(!app.get_html("/configuration/shop.example/inbound-keys").await.contains("other.example"));
}

#[tokio::test]
async fn malformed_and_unknown_key_ids_answer_404() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    let tab = app.get_html("/configuration/shop.example/inbound-keys").await;
    let csrf = field_value(&tab, "csrf_token").unwrap();
    for id in ["1", "not-a-uuid", &uuid::Uuid::new_v4().to_string()] {
        let path = format!("/configuration/shop.example/inbound-keys/{id}/revoke");
        assert_eq!(app.get(&path).await.status(), 404);
        assert_eq!(app.post_form(&path, &[("csrf_token", &csrf)]).await.status(), 404);
    }
    assert_eq!(app.get("/configuration/shop.example/inbound-keys/x/explode").await.status(), 404);
}

#[tokio::test]
async fn a_key_of_another_domain_of_the_same_account_answers_404() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.seed("acme", Plan::Signal, "admin@acme.test", Role::Admin, "blog.example");
    app.login_owner().await;
    let (status, _) = app.create_key_on("blog.example", "Blog key").await;
    assert_eq!(status, 200);
    let blog_id = app.key_ids("blog.example").await.remove(0);
    let path = format!("/configuration/shop.example/inbound-keys/{blog_id}/revoke");
    assert_eq!(app.get(&path).await.status(), 404);
    let tab = app.get_html("/configuration/shop.example/inbound-keys").await;
    let csrf = field_value(&tab, "csrf_token").unwrap();
    assert_eq!(app.post_form(&path, &[("csrf_token", &csrf)]).await.status(), 404);
    assert_eq!(app.count("SELECT count(*) AS n FROM inbound_keys WHERE revoked_at IS NULL"), 1);
    // Two domains: the configuration page lists both and the switcher appears.
    let config = app.get_html("/configuration").await;
    assert!(config.contains("blog.example") && config.contains("shop.example"));
    assert!(tab.contains("Switch domain"));
}
