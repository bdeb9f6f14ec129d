//! Nothing scrolls sideways: at a 375 px wide window (the tab, its dialogs and pages),
//! and at 1280 px the keys table fits its panel.

use cleanclicks::accounts::Plan;

use crate::support::*;
use crate::webdriver::{Browser, Options};

/// Sideways scrolling at this width: of the page (with the elements that stick out),
/// and inside any box that hides content in a horizontal scroll of its own (code
/// blocks and text fields excepted: scrolling those is expected).
async fn overflow(b: &Browser, expected_width: i64, state: &str, problems: &mut Vec<String>) {
    let v = b
        .js(
            &script(
                "const width = window.innerWidth;
                 const scroll = document.documentElement.scrollWidth;
                 const label = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                   (e.className && typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
                 const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement) {
                     if (a !== document.body && a !== document.documentElement && getComputedStyle(a).overflowX !== 'visible') return true;
                   } return false; };
                 const wide = Array.from(document.querySelectorAll('body *'))
                   .filter(e => visible(e) && e.getBoundingClientRect().right > width + 0.5)
                   .filter(e => !Array.from(e.children).some(c => c.getBoundingClientRect().right > width + 0.5))
                   .filter(e => !clipped(e))
                   .slice(0, 8)
                   .map(e => label(e) + ' (right ' + Math.round(e.getBoundingClientRect().right) + 'px)');
                 const inner = Array.from(document.querySelectorAll('body *'))
                   .filter(e => visible(e) && !e.closest('pre, input, textarea, select'))
                   .filter(e => getComputedStyle(e).overflowX !== 'visible' && e.clientWidth > 1 && e.scrollWidth > e.clientWidth + 1)
                   .map(e => label(e) + ' (' + e.scrollWidth + ' px of content in ' + e.clientWidth + ' px; hidden: ' +
                     Array.from(e.querySelectorAll(CONTROLS)).filter(c => visible(c) && c.getBoundingClientRect().right > e.getBoundingClientRect().right + 0.5)
                       .map(c => JSON.stringify(accName(c))).join(', ') + ')');
                 return { width, scroll, wide, inner };",
            ),
            vec![],
        )
        .await;
    let width = v["width"].as_i64().unwrap_or(0);
    let scroll = v["scroll"].as_i64().unwrap_or(i64::MAX);
    assert_eq!(width, expected_width, "the window is not {expected_width} px wide: this test would prove nothing");
    if scroll > width {
        problems.push(format!("[{state}] scrollWidth {scroll} > innerWidth {width}; sticking out: {}", v["wide"]));
    }
    for area in v["inner"].as_array().cloned().unwrap_or_default() {
        problems.push(format!("[{state}] a box scrolls sideways: {}", area.as_str().unwrap_or_default()));
    }
}

/// A Pulse account at its limit: a long-named key in use (deliveries from Zapier,
/// a rejected one, a call from a web page) and a revoked key that is still called.
async fn busy_tab(app: &crate::helpers::TestApp, long: &str) {
    let busy = app.create_key(long).await;
    busy_key_traffic(app, &busy).await;
    let revoked = app.create_key("HubSpot workflow").await;
    let id = key_id(app, "HubSpot workflow").await;
    assert_eq!(app.act(DOMAIN, &id, "revoke", "").await.status(), 303);
    assert_eq!(deliver(app, &revoked, "n8n", None, crate::helpers::EVENT).await, 401);
    wait_for_html(app, TAB, &["rejected-count", "was seen from a browser", "was called"]).await;
}

#[tokio::test]
async fn at_1280_px_the_keys_table_fits_its_panel() {
    let (app, b) = start_with_api(Plan::Pulse, Options { width: 1280, height: 900, ..Options::default() }).await;
    busy_tab(&app, "Zapier – orders").await;
    login(&b, &app).await;
    let mut problems = Vec::new();
    overflow(&b, 1280, "tab at the limit, a key in use, a revoked key still called", &mut problems).await;

    // A short name reads on one line; no row is stretched by a squeezed column.
    let rows = b
        .js(
            &script(
                "return Array.from(document.querySelectorAll('table tbody tr')).filter(r => r.querySelector('a[href*=\"/inbound-keys/\"]'))
                   .map(r => {
                     const cell = r.querySelector('th, td');
                     const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT, { acceptNode: n => n.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP });
                     const text = walk.nextNode();
                     const range = document.createRange();
                     range.selectNodeContents(text);
                     return { name: norm(text.textContent), lines: range.getClientRects().length,
                              name_width: Math.round(cell.getBoundingClientRect().width), height: Math.round(r.getBoundingClientRect().height) };
                   });",
            ),
            vec![],
        )
        .await;
    let rows = rows.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in rows {
        if row["lines"].as_i64() != Some(1) || row["height"].as_i64().unwrap_or(0) > 320 {
            problems.push(format!(
                "[tab at 1280 px] key {} wraps onto {} lines in a {} px wide name column; its row is {} px tall",
                row["name"], row["lines"], row["name_width"], row["height"]
            ));
        }
    }
    assert!(problems.is_empty(), "the keys table does not fit at 1280 px:\n  {}", problems.join("\n  "));
}

#[tokio::test]
async fn nothing_scrolls_sideways_at_375_px() {
    let (app, b) = start_with_api(Plan::Pulse, Options { width: 375, height: 812, ..Options::default() }).await;
    let mut problems = Vec::new();

    b.goto(&app.url("/login")).await;
    overflow(&b, 375, "login", &mut problems).await;
    login(&b, &app).await;
    overflow(&b, 375, "tab, empty", &mut problems).await;

    b.click(&control(&b, CREATE).await).await;
    wait_dialog_open(&b).await;
    overflow(&b, 375, "create dialog", &mut problems).await;
    let long = "Backend (orders service) – production EU-West webhook for refunds";
    b.type_into(&b.find("dialog[open] input[name=name]").await, long).await;
    b.click(&control(&b, "Create").await).await;
    let long_key = revealed_key(&b).await;
    overflow(&b, 375, "reveal", &mut problems).await;

    b.goto(&app.url(&format!("{TAB}/new"))).await;
    overflow(&b, 375, "create page", &mut problems).await;

    // Two keys (at the Pulse limit), one in use, one revoked and still called.
    busy_key_traffic(&app, &long_key).await;
    let zapier = app.create_key("Zapier").await;
    wait_for_html(&app, TAB, &["rejected-count", "was seen from a browser"]).await;
    b.goto(&app.url(TAB)).await;
    b.click(&row_action(&b, "Zapier", "Revoke").await).await;
    wait_dialog_open(&b).await;
    overflow(&b, 375, "revoke dialog", &mut problems).await;
    b.click(&control_starting(&b, "Confirm").await).await;
    wait_row_status(&b, "Zapier", "Revoked").await;
    assert_eq!(deliver(&app, &zapier, "Zapier", None, crate::helpers::EVENT).await, 401);
    wait_for_html(&app, TAB, &["was called"]).await;
    b.goto(&app.url(TAB)).await;
    overflow(&b, 375, "tab at the limit: a key in use, a revoked key still called", &mut problems).await;

    b.click(&row_action(&b, long, "Delete").await).await;
    wait_dialog_open(&b).await;
    overflow(&b, 375, "delete dialog", &mut problems).await;

    let id = key_id(&app, long).await;
    b.goto(&app.url(&format!("{TAB}/{id}"))).await;
    overflow(&b, 375, "key details with deliveries", &mut problems).await;
    b.goto(&app.url(&format!("{TAB}/{id}/delete"))).await;
    overflow(&b, 375, "delete page", &mut problems).await;

    assert!(problems.is_empty(), "horizontal scrolling at 375 px:\n  {}", problems.join("\n  "));
}
