use cleanclicks::accounts::Plan;

use crate::helpers::*;

#[tokio::test]
async fn login_with_the_right_password_lands_on_the_tab() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    let response = app.login("owner@acme.test", PASSWORD).await;
    assert_is_redirect_to(&response, "/configuration");
    // One domain: straight to its tab.
    assert_is_redirect_to(&app.get("/configuration").await, "/configuration/shop.example/inbound-keys");
    let tab = app.get_html("/configuration/shop.example/inbound-keys").await;
    assert!(tab.contains("Inbound Integration Keys"));
    assert!(tab.contains("owner@acme.test"));
}

#[tokio::test]
async fn login_failures_get_one_generic_message() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    for (email, password) in
        [("owner@acme.test", "wrong password here"), ("nobody@acme.test", PASSWORD), ("not an email", "x")]
    {
        let response = app.login(email, password).await;
        assert_eq!(response.status(), 200);
        let body = response.text().await.unwrap();
        assert!(body.contains("The email or password is incorrect."), "{email}");
    }
    assert_is_redirect_to(&app.get("/configuration").await, "/login");
}

#[tokio::test]
async fn pages_require_sign_in() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    for path in
        ["/configuration", "/configuration/shop.example/inbound-keys", "/configuration/shop.example/inbound-keys/new"]
    {
        assert_is_redirect_to(&app.get(path).await, "/login");
    }
    assert_is_redirect_to(&app.get("/").await, "/configuration");
}

#[tokio::test]
async fn login_without_csrf_token_is_refused() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.get_html("/login").await;
    let response =
        app.post_form("/login", &[("email", "owner@acme.test"), ("password", PASSWORD), ("csrf_token", "bogus")]).await;
    assert_eq!(response.status(), 403);
    assert_is_redirect_to(&app.get("/configuration").await, "/login");
}

#[tokio::test]
async fn session_is_renewed_at_login_and_ended_by_logout() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    let before = app.get("/login").await;
    let anonymous_cookie = before.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    let page = before.text().await.unwrap();
    let csrf = field_value(&page, "csrf_token").unwrap();
    let response =
        app.post_form("/login", &[("email", "owner@acme.test"), ("password", PASSWORD), ("csrf_token", &csrf)]).await;
    let signed_in_cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert_ne!(anonymous_cookie, signed_in_cookie);
    assert!(signed_in_cookie.contains("HttpOnly"));
    assert!(signed_in_cookie.contains("SameSite=Lax"));
    let cookie_value = signed_in_cookie.split(';').next().unwrap().to_owned();

    // Log out, then replay the captured cookie from a fresh client: back to login.
    let tab = app.get_html("/configuration/shop.example/inbound-keys").await;
    let csrf = field_value(&tab, "csrf_token").unwrap();
    assert_is_redirect_to(&app.post_form("/logout", &[("csrf_token", &csrf)]).await, "/login?signed_out=1");
    let replay = client().get(app.url("/configuration")).header("Cookie", cookie_value).send().await.unwrap();
    assert_is_redirect_to(&replay, "/login");
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = spawn_app().await;
    let response = app.get("/login").await;
    let h = response.headers();
    let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(h.get("referrer-policy").unwrap(), "same-origin");
    assert!(h.get("x-request-id").is_some());
}

/// Not only pages: the probes, the inbound endpoint's JSON, static files and error
/// pages are never framed, sniffed or cached either.
#[tokio::test]
async fn every_kind_of_response_carries_security_headers() {
    let app = spawn_app().await;
    let responses = [
        ("healthz", app.get("/healthz").await),
        ("static js", app.get("/static/app.js").await),
        ("admin 404", app.get("/no/such/page").await),
        ("inbound 401", app.inbound(Some("cc_not_a_key"), r#"{"email":"a@b.example","event":"x"}"#).await),
        ("inbound 404", app.client.post(app.url("/__cc/nothing")).send().await.unwrap()),
    ];
    for (what, response) in responses {
        let h = response.headers();
        let csp = h.get("content-security-policy").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{what}: {csp:?}");
        assert_eq!(h.get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{what}");
        assert!(h.get("referrer-policy").is_some(), "{what}");
        assert!(h.get("x-request-id").is_some(), "{what}");
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    let missing = app.get("/no/such/page").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Page not found"));
}
