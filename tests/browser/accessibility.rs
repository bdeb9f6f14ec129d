//! axe-core (from the npm registry, installed by scripts/lib/browser.sh) finds no
//! serious or critical violation on any page or dialog of the keys flow.

use cleanclicks::accounts::Plan;
use serde_json::{Value, json};

use crate::support::*;
use crate::webdriver::{Browser, Options};

/// axe-core's source, from CC_AXE_JS. Never skipped: a missing axe is a failure.
fn axe_source() -> String {
    let path = std::env::var("CC_AXE_JS").unwrap_or_else(|_| {
        panic!(
            "\n\nCC_AXE_JS is not set: the accessibility test needs axe-core.\n\
             Run `eval \"$(bash scripts/lib/browser.sh)\"` (installs axe-core from the npm \
             registry into target/browser-deps/ and exports CC_AXE_JS), then run the tests again.\n"
        )
    });
    let source = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("\n\nCC_AXE_JS={path} cannot be read ({e}); run `bash scripts/lib/browser.sh`.\n"));
    assert!(source.contains("axe"), "CC_AXE_JS={path} is not axe-core");
    source
}

struct Axe {
    source: String,
    /// Serious and critical violations, per page state.
    findings: Vec<String>,
    states: Vec<String>,
    /// Every violation of any impact and every "needs review" result, per state;
    /// written to the file named by CC_AXE_REPORT if set.
    report: Vec<Value>,
}

impl Axe {
    /// Runs axe on the page as it is now (dialogs open included).
    async fn check(&mut self, b: &Browser, state: &str) {
        let loaded = b.js(&format!("{}\n;return typeof axe;", self.source), vec![]).await;
        assert_eq!(loaded, json!("object"), "axe-core did not load on {state}");
        let result = b
            .js_async(
                "const done = arguments[arguments.length - 1];
                 const brief = list => list.map(v => ({
                   id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map(n => ({ target: n.target.join(' '), summary: n.failureSummary, impact: n.impact }))
                 }));
                 axe.run(document, { resultTypes: ['violations', 'incomplete'] })
                   .then(r => done({ violations: brief(r.violations), incomplete: brief(r.incomplete) }))
                   .catch(e => done({ error: String(e) }));",
                vec![],
            )
            .await;
        if let Some(error) = result.get("error") {
            panic!("axe failed on {state}: {error}");
        }
        self.states.push(state.to_owned());
        self.report
            .push(json!({ "state": state, "violations": result["violations"], "incomplete": result["incomplete"] }));
        for v in result["violations"].as_array().cloned().unwrap_or_default() {
            let impact = v["impact"].as_str().unwrap_or_default();
            if impact != "serious" && impact != "critical" {
                continue;
            }
            self.findings.push(describe(state, &v));
        }
    }
}

fn describe(state: &str, v: &Value) -> String {
    let mut out = format!("[{state}] {} ({}): {}", v["id"], v["impact"], v["help"]);
    for node in v["nodes"].as_array().cloned().unwrap_or_default() {
        out.push_str(&format!(
            "\n      at {}\n         {}",
            node["target"].as_str().unwrap_or_default(),
            node["summary"].as_str().unwrap_or_default().replace('\n', "\n         ")
        ));
    }
    out
}

async fn open_row_dialog(b: &Browser, key_name: &str, action: &str) {
    b.click(&row_action(b, key_name, action).await).await;
    wait_dialog_open(b).await;
}

#[tokio::test]
async fn axe_finds_no_serious_or_critical_violations() {
    let source = axe_source();
    // Pulse (2 keys): empty, with keys, and at the limit in a few steps.
    let (app, b) = start_with_api(Plan::Pulse, Options::default()).await;
    let mut axe = Axe { source, findings: Vec::new(), states: Vec::new(), report: Vec::new() };

    b.goto(&app.url("/login")).await;
    axe.check(&b, "login").await;
    let wrong = b.find("input[name=password]").await;
    b.type_into(&b.find("input[name=email]").await, OWNER).await;
    b.type_into(&wrong, "not the password at all").await;
    b.click(&control(&b, "Sign in").await).await;
    b.wait_js("the login error", "return !!document.querySelector('[role=alert]');", vec![]).await;
    axe.check(&b, "login with an error").await;

    login(&b, &app).await;
    axe.check(&b, "tab, empty").await;

    b.click(&control(&b, CREATE).await).await;
    wait_dialog_open(&b).await;
    axe.check(&b, "create dialog").await;
    b.type_into(&b.find("dialog[open] input[name=name]").await, "Zapier – orders").await;
    b.click(&control(&b, "Create").await).await;
    let zapier = revealed_key(&b).await;
    b.grant("clipboard-write").await;
    b.click(&control(&b, "Copy").await).await;
    wait_live_text(&b, "copied").await;
    axe.check(&b, "reveal, after Copy").await;

    b.goto(&app.url(&format!("{TAB}/new"))).await;
    axe.check(&b, "create page (no-JavaScript fallback)").await;
    let name = b.find("input[name=name]").await;
    b.js("arguments[0].removeAttribute('required'); arguments[0].form.requestSubmit();", vec![name.to_json()]).await;
    b.wait_js("the name error", "return !!document.querySelector('[aria-invalid=true]');", vec![]).await;
    axe.check(&b, "create page with a name error").await;

    // A key in use: sparkline, integration badge, rejected count, browser warning.
    busy_key_traffic(&app, &zapier).await;
    wait_for_html(&app, TAB, &["rejected-count", "was seen from a browser"]).await;
    b.goto(&app.url(TAB)).await;
    axe.check(&b, "tab with a key in use").await;
    open_row_dialog(&b, "Zapier – orders", "Revoke").await;
    axe.check(&b, "revoke dialog").await;
    b.click(&control_starting(&b, "Confirm").await).await;
    wait_row_status(&b, "Zapier – orders", "Revoked").await;
    axe.check(&b, "tab with a revoked key and a flash").await;
    open_row_dialog(&b, "Zapier – orders", "Restore").await;
    axe.check(&b, "restore dialog").await;
    b.click(&control_starting(&b, "Confirm").await).await;
    wait_row_status(&b, "Zapier – orders", "Active").await;

    // The key's own page: usage and recent deliveries.
    let zapier_id = key_id(&app, "Zapier – orders").await;
    b.goto(&app.url(&format!("{TAB}/{zapier_id}"))).await;
    axe.check(&b, "key details").await;
    b.goto(&app.url(&format!("{TAB}/{zapier_id}?outcome=rejected"))).await;
    axe.check(&b, "key details, rejected deliveries").await;

    // A second key, revoked and still called: at the limit, with the banner.
    let hubspot = app.create_key("HubSpot workflow").await;
    let hubspot_id = key_id(&app, "HubSpot workflow").await;
    assert_eq!(app.act(DOMAIN, &hubspot_id, "revoke", "").await.status(), 303);
    assert_eq!(deliver(&app, &hubspot, "n8n", None, crate::helpers::EVENT).await, 401);
    wait_for_html(&app, TAB, &["was called"]).await;
    b.goto(&app.url(TAB)).await;
    axe.check(&b, "tab at the limit, with the revoked-key banner").await;
    open_row_dialog(&b, "HubSpot workflow", "Delete").await;
    axe.check(&b, "delete dialog").await;
    b.type_into(&b.find("dialog[open] input[name=confirm_name]").await, "HubSpot").await;
    axe.check(&b, "delete dialog with a partly typed name").await;
    b.goto(&app.url(&format!("{TAB}/new"))).await;
    axe.check(&b, "create page at the limit").await;

    // The confirmation page itself (the no-JavaScript path), with the wrong-name error.
    b.goto(&app.url(&format!("{TAB}/{hubspot_id}/delete"))).await;
    axe.check(&b, "delete page").await;
    b.type_into(&b.find("input[name=confirm_name]").await, "HubSpot").await;
    let confirm = control_starting(&b, "Confirm").await;
    b.js("arguments[0].disabled = false; arguments[0].click();", vec![confirm.to_json()]).await;
    b.wait_js("the wrong-name error", "return !!document.querySelector('[aria-invalid=true]');", vec![]).await;
    axe.check(&b, "delete page with the wrong-name error").await;

    if let Ok(path) = std::env::var("CC_AXE_REPORT") {
        std::fs::write(&path, serde_json::to_string_pretty(&axe.report).unwrap()).unwrap();
    }
    assert!(
        axe.findings.is_empty(),
        "axe-core found {} serious/critical violation(s) (checked: {}):\n  {}",
        axe.findings.len(),
        axe.states.join(", "),
        axe.findings.join("\n  ")
    );
}
