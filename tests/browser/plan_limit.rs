//! At the plan's limit the Create control is disabled, and the page says why.

use cleanclicks::accounts::Plan;
use serde_json::json;

use crate::support::*;
use crate::webdriver::Options;

#[tokio::test]
async fn at_the_plan_limit_create_is_disabled_and_the_reason_is_shown() {
    // Pulse: 2 keys per domain. One exists; the second is created in the browser.
    let (app, b) = start_with_api(Plan::Pulse, Options::default()).await;
    app.create_key("Zapier").await;
    login(&b, &app).await;
    let text = b.js_string("return document.body.innerText", vec![]).await;
    assert!(text.contains("1 of 2 keys"), "usage meter: {text}");

    b.click(&control(&b, CREATE).await).await;
    wait_dialog_open(&b).await;
    let name = b.find("dialog[open] input[name=name]").await;
    b.type_into(&name, "HubSpot").await;
    b.click(&control(&b, "Create").await).await;
    revealed_key(&b).await;
    b.click(&control_starting(&b, "I've stored it").await).await;
    b.wait_js("the tab with both keys", &script("return !!keyRow('HubSpot') && !!keyRow('Zapier');"), vec![]).await;

    let text = b.js_string("return document.body.innerText", vec![]).await;
    assert!(text.contains("2 of 2 keys"), "usage meter at the limit: {text}");

    // Every control named Create is disabled, and describes itself with a visible reason.
    let state = b
        .js(
            &script(
                "const named = Array.from(document.querySelectorAll(CONTROLS))
                   .filter(e => visible(e) && accName(e) === arguments[0]);
                 return named.map(e => {
                   const ids = (e.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
                   const reasons = ids.map(id => document.getElementById(id)).filter(Boolean);
                   return {
                     tag: e.tagName,
                     disabled: e.disabled === true || e.getAttribute('aria-disabled') === 'true',
                     href: e.getAttribute('href'),
                     reason: reasons.map(r => norm(r.textContent)).join(' '),
                     reason_visible: reasons.length > 0 && reasons.every(r => {
                       const box = r.getBoundingClientRect();
                       return visible(r) && box.width > 1 && box.height > 1;
                     }),
                   };
                 });",
            ),
            vec![json!(CREATE)],
        )
        .await;
    let controls = state.as_array().cloned().unwrap_or_default();
    assert!(!controls.is_empty(), "at the limit the Create control is still shown (disabled)");
    for c in &controls {
        assert_eq!(c["disabled"], json!(true), "an enabled Create control at the limit: {c}");
        assert!(c["href"].is_null(), "a disabled Create control that still links somewhere: {c}");
        let reason = c["reason"].as_str().unwrap_or_default();
        assert!(
            c["reason_visible"] == json!(true) && reason.contains("limit"),
            "the disabled Create control must be aria-describedby a visible reason mentioning the limit: {c}"
        );
        assert!(
            reason.contains("delete") && reason.contains("upgrade"),
            "the reason says what to do (delete a key or upgrade): {reason}"
        );
    }
    let links_to_new = b
        .js_bool(
            &script("return Array.from(document.querySelectorAll('a[href$=\"/inbound-keys/new\"]')).some(visible);"),
            vec![],
        )
        .await;
    assert!(!links_to_new, "a visible link to the create page at the limit");

    // Clicking it does nothing.
    let create = b
        .js_element(
            &script("return Array.from(document.querySelectorAll(CONTROLS)).find(e => visible(e) && accName(e) === arguments[0]);"),
            vec![json!(CREATE)],
        )
        .await
        .unwrap();
    b.click(&create).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !b.js_bool("return !!document.querySelector('dialog[open]')", vec![]).await,
        "a dialog opened at the limit"
    );
    assert_eq!(b.js_string("return location.pathname", vec![]).await, TAB);
    assert_eq!(key_count(&app).await, 2);
}
