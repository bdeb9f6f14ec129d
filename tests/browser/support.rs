//! What the browser tests share: starting the app and a browser, signing in, and
//! finding things the way a person does (by their visible or accessible name).

use cleanclicks::accounts::Plan;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app};
use crate::webdriver::{Browser, Element, Options};

pub const OWNER: &str = "owner@acme.test";
pub const DOMAIN: &str = "shop.example";
pub const TAB: &str = "/configuration/shop.example/inbound-keys";
pub const CREATE: &str = "Create Inbound Integration Key";

/// A fresh server and database with the usual owner on `plan`, and a browser.
pub async fn start(plan: Plan, options: Options) -> (TestApp, Browser) {
    let app = spawn_app().await;
    app.seed_owner(plan);
    let browser = Browser::start(options).await;
    (app, browser)
}

/// Also signs the test's HTTP client in, for creating keys without the browser.
pub async fn start_with_api(plan: Plan, options: Options) -> (TestApp, Browser) {
    let (app, browser) = start(plan, options).await;
    app.login_owner().await;
    (app, browser)
}

/// Shared JavaScript: normalised text, accessible names and visibility.
pub const JS_PRELUDE: &str = r#"
const norm = s => (s || '').replace(/[\u2018\u2019]/g, "'").replace(/\s+/g, ' ').trim();
const accName = e => {
  if (!e) return '';
  const label = e.getAttribute('aria-label');
  if (label) return norm(label);
  const by = e.getAttribute('aria-labelledby');
  if (by) return norm(by.split(/\s+/).map(id => (document.getElementById(id) || {}).textContent || '').join(' '));
  if (e.tagName === 'INPUT' && ['submit', 'button'].includes(e.type)) return norm(e.value);
  if (e.tagName === 'INPUT' || e.tagName === 'TEXTAREA' || e.tagName === 'SELECT') {
    if (e.labels && e.labels.length) return norm(Array.from(e.labels).map(l => l.textContent).join(' '));
    return norm(e.getAttribute('placeholder'));
  }
  return norm(e.textContent);
};
const visible = e => {
  if (!e || !e.getClientRects().length) return false;
  const s = getComputedStyle(e);
  if (s.visibility === 'hidden' || s.display === 'none') return false;
  const d = e.closest('dialog');
  return !d || d.open;
};
const CONTROLS = 'a[href], button, input[type=submit], input[type=button], [role=button], summary';
const scope = () => document.querySelector('dialog[open]') || document;
const keyRow = name => Array.from(document.querySelectorAll('table tbody tr')).find(tr => {
  const cell = tr.querySelector('th, td');
  if (!cell) return false;
  const text = norm(cell.textContent);
  return text === name || text.startsWith(name + ' ');
}) || null;
"#;

pub fn script(body: &str) -> String {
    format!("{JS_PRELUDE}\n{body}")
}

/// Signs in through the login form, as a person does.
pub async fn login(b: &Browser, app: &TestApp) {
    b.goto(&app.url("/login")).await;
    let email = b.find("input[name=email]").await;
    b.clear(&email).await;
    b.type_into(&email, OWNER).await;
    let password = b.find("input[name=password]").await;
    b.type_into(&password, PASSWORD).await;
    let sign_in = control(b, "Sign in").await;
    b.click(&sign_in).await;
    // One domain: /configuration sends the user straight to its tab.
    b.wait_path(TAB).await;
}

/// Waits for a visible control (link or button) whose accessible name is `name`
/// (inside the open dialog if there is one).
pub async fn control(b: &Browser, name: &str) -> Element {
    find_control(b, name, false).await
}

/// Same, for a name that starts with `prefix`.
pub async fn control_starting(b: &Browser, prefix: &str) -> Element {
    find_control(b, prefix, true).await
}

async fn find_control(b: &Browser, name: &str, prefix: bool) -> Element {
    let value = b
        .wait_js(
            &format!("a control named {name:?}"),
            &script(
                "const [name, prefix] = arguments;
                 return Array.from(scope().querySelectorAll(CONTROLS)).find(e => visible(e) &&
                   (prefix ? accName(e).startsWith(name) : accName(e) === name)) || null;",
            ),
            vec![json!(name.replace('’', "'")), json!(prefix)],
        )
        .await;
    element(&value)
}

/// Whether a visible control named `name` exists now.
pub async fn has_control(b: &Browser, name: &str) -> bool {
    b.js_bool(
        &script(
            "return Array.from(scope().querySelectorAll(CONTROLS)).some(e => visible(e) && accName(e) === arguments[0]);",
        ),
        vec![json!(name)],
    )
    .await
}

pub fn element(value: &Value) -> Element {
    Element(value[crate::webdriver::ELEMENT].as_str().unwrap_or_else(|| panic!("not an element: {value}")).to_owned())
}

/// The `action` control (Revoke, Restore, Delete) of the key named `key_name`.
pub async fn row_action(b: &Browser, key_name: &str, action: &str) -> Element {
    let value = b
        .wait_js(
            &format!("the {action} control of key {key_name:?}"),
            &script(
                "const [name, action] = arguments;
                 const row = keyRow(name);
                 if (!row) return null;
                 return Array.from(row.querySelectorAll(CONTROLS)).find(e => visible(e) && accName(e).startsWith(action)) || null;",
            ),
            vec![json!(key_name), json!(action)],
        )
        .await;
    element(&value)
}

/// The status badge text (Active / Revoked) of the key's row; None if no such row.
pub async fn row_status(b: &Browser, key_name: &str) -> Option<String> {
    let v = b
        .js(
            &script(
                "const row = keyRow(arguments[0]);
                 if (!row) return { row: false };
                 const badge = Array.from(row.querySelectorAll('*')).find(e =>
                   ['Active', 'Revoked', 'Expired'].includes(norm(e.textContent)) && visible(e));
                 return { row: true, status: badge ? norm(badge.textContent) : '' };",
            ),
            vec![json!(key_name)],
        )
        .await;
    v["row"].as_bool().unwrap_or(false).then(|| v["status"].as_str().unwrap_or_default().to_owned())
}

pub async fn has_row(b: &Browser, key_name: &str) -> bool {
    b.js_bool(&script("return !!keyRow(arguments[0]);"), vec![json!(key_name)]).await
}

pub async fn wait_row_status(b: &Browser, key_name: &str, status: &str) {
    b.wait_js(
        &format!("key {key_name:?} to show the badge {status:?}"),
        &script(
            "const row = keyRow(arguments[0]);
             return !!row && Array.from(row.querySelectorAll('*')).some(e => norm(e.textContent) === arguments[1] && visible(e));",
        ),
        vec![json!(key_name), json!(status)],
    )
    .await;
}

/// Text of every live region / status / alert on the page (flash messages, copy feedback).
pub async fn live_text(b: &Browser) -> String {
    b.js_string(
        &script(
            "return Array.from(document.querySelectorAll('[role=status], [role=alert], [aria-live]'))
               .map(e => norm(e.textContent)).join(' | ');",
        ),
        vec![],
    )
    .await
}

pub async fn wait_live_text(b: &Browser, needle: &str) -> String {
    b.wait_js(
        &format!("a live region saying {needle:?}"),
        &script(
            "const t = Array.from(document.querySelectorAll('[role=status], [role=alert], [aria-live]'))
               .map(e => norm(e.textContent)).join(' | ');
             return t.toLowerCase().includes(arguments[0].toLowerCase()) ? t : null;",
        ),
        vec![json!(needle)],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Waits for a modal dialog to be open and its content loaded; returns its text.
pub async fn wait_dialog_open(b: &Browser) -> String {
    b.wait_js(
        "a dialog to open",
        &script(
            "const d = document.querySelector('dialog[open]');
             if (!d || !d.matches(':modal')) return null;
             return d.querySelector(CONTROLS) ? norm(d.textContent) : null;",
        ),
        vec![],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

pub async fn wait_dialog_closed(b: &Browser) {
    b.wait_js("every dialog to close", "return !document.querySelector('dialog[open]');", vec![]).await;
}

/// Where the focus is: (accessible name, inside the open dialog, tag).
pub async fn focus(b: &Browser) -> Focus {
    let v = b
        .js(
            &script(
                "const e = document.activeElement;
                 if (!e || e === document.body || e === document.documentElement) return { name: '', tag: 'BODY', in_dialog: false, field: '' };
                 return { name: accName(e), tag: e.tagName, in_dialog: !!e.closest('dialog[open]'), field: e.getAttribute('name') || '' };",
            ),
            vec![],
        )
        .await;
    Focus {
        name: v["name"].as_str().unwrap_or_default().to_owned(),
        tag: v["tag"].as_str().unwrap_or_default().to_owned(),
        in_dialog: v["in_dialog"].as_bool().unwrap_or(false),
        field: v["field"].as_str().unwrap_or_default().to_owned(),
    }
}

#[derive(Debug, Clone)]
pub struct Focus {
    pub name: String,
    pub tag: String,
    pub in_dialog: bool,
    /// The `name` attribute of a focused form field.
    pub field: String,
}

pub async fn is_focused(b: &Browser, el: &Element) -> bool {
    b.js_bool("return document.activeElement === arguments[0];", vec![el.to_json()]).await
}

/// The full key the page shows (41 characters), waiting for it.
pub async fn revealed_key(b: &Browser) -> String {
    let key = b
        .wait_js(
            "the page to reveal a full key",
            &script(
                "const re = /cc_[A-Za-z0-9]{38}(?![A-Za-z0-9])/;
                 for (const i of document.querySelectorAll('input, textarea')) {
                   const m = (i.value || '').match(re);
                   if (m && visible(i)) return m[0];
                 }
                 const m = (document.body.innerText || '').match(re);
                 return m ? m[0] : null;",
            ),
            vec![],
        )
        .await;
    key.as_str().unwrap_or_default().to_owned()
}

/// The HTTP status of the current page (Navigation Timing).
pub async fn page_status(b: &Browser) -> i64 {
    b.js("const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStatus : 0;", vec![])
        .await
        .as_i64()
        .unwrap_or(0)
}

/// The key's id (from its row's links), to check the database.
pub async fn key_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) AS n FROM inbound_keys")
}

/// Reads the clipboard through the async Clipboard API.
pub async fn read_clipboard(b: &Browser) -> String {
    let value = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             navigator.clipboard.readText().then(t => done({ ok: t }), e => done({ err: String(e) }));",
            vec![],
        )
        .await;
    match value.get("ok").and_then(Value::as_str) {
        Some(text) => text.to_owned(),
        None => panic!("cannot read the clipboard: {value}"),
    }
}

/// Clicks `el`, an element whose click navigates: waits for the new page.
pub async fn click_and_wait_path(b: &Browser, el: &Element, path: &str) {
    b.click(el).await;
    b.wait_path(path).await;
}

/// Usage is recorded off the request path: waits until the server's page at `path`
/// (fetched with the test's signed-in HTTP client) contains every one of `needles`.
pub async fn wait_for_html(app: &TestApp, path: &str, needles: &[&str]) {
    let deadline = std::time::Instant::now() + crate::webdriver::WAIT;
    loop {
        let html = app.get_html(path).await;
        let missing: Vec<_> = needles.iter().filter(|n| !html.contains(**n)).collect();
        if missing.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{path} never showed {missing:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// One request to the inbound endpoint as an integration sends it; the status.
pub async fn deliver(app: &TestApp, key: &str, user_agent: &str, origin: Option<&str>, body: &str) -> u16 {
    let mut headers = vec![("User-Agent", user_agent)];
    headers.extend(origin.map(|origin| ("Origin", origin)));
    app.inbound_with("/__cc/inbound", key, &headers, body).await.status().as_u16()
}

/// Everything the tab can show about a key's use: accepted and rejected deliveries
/// from Zapier and a call from a web page (the "seen from a browser" warning).
pub async fn busy_key_traffic(app: &TestApp, key: &str) {
    for _ in 0..3 {
        assert_eq!(deliver(app, key, "Zapier", None, crate::helpers::EVENT).await, 202);
    }
    assert_eq!(deliver(app, key, "Zapier", None, r#"{"email":"not an email","event":"purchase"}"#).await, 422);
    assert_eq!(deliver(app, key, "Mozilla/5.0", Some("https://shop.example"), crate::helpers::EVENT).await, 403);
}

/// The id of the key named `name` (from the tab's row links).
pub async fn key_id(app: &TestApp, name: &str) -> String {
    let html = app.get_html(TAB).await;
    let doc = scraper::Html::parse_document(&html);
    let rows = scraper::Selector::parse("table tbody tr").unwrap();
    let links = scraper::Selector::parse("a[href]").unwrap();
    for row in doc.select(&rows) {
        if row.text().collect::<String>().trim_start().starts_with(name) {
            for a in row.select(&links) {
                let href = a.value().attr("href").unwrap_or_default();
                if let Some(rest) = href.strip_prefix(&format!("{TAB}/")) {
                    return rest.split('/').next().unwrap_or_default().to_owned();
                }
            }
        }
    }
    panic!("no key named {name:?} on the tab")
}
