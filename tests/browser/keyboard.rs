//! The main flow with the keyboard alone: Tab to a control, Enter or Space to use it,
//! type into fields, Escape to close a dialog. Every focus stop must show a visible
//! focus indicator, focus moves into each dialog, stays there, and returns to the
//! control that opened it.

use cleanclicks::accounts::Plan;
use serde_json::{Value, json};

use crate::helpers::{EVENT, PASSWORD};
use crate::support::*;
use crate::webdriver::{Browser, Options, key};

/// Focus stops seen without a visible focus indicator.
#[derive(Default)]
struct FocusAudit {
    invisible: Vec<String>,
}

const FOCUSED: &str = "
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const s = getComputedStyle(e);
  const modal = document.querySelector('dialog[open]');
  return {
    name: accName(e), tag: e.tagName, field: e.getAttribute('name') || '',
    outline: s.outlineStyle, outline_width: parseFloat(s.outlineWidth) || 0, shadow: s.boxShadow,
    focus_visible: e.matches(':focus-visible'),
    in_dialog: !!e.closest('dialog[open]'),
    outside_modal: !!modal && !modal.contains(e),
  };";

impl FocusAudit {
    /// Records where the focus is; notes it if it has no visible indicator.
    async fn check(&mut self, b: &Browser) -> Value {
        let f = b.js(&script(FOCUSED), vec![]).await;
        if f.is_null() {
            return f;
        }
        let outlined = f["outline"] != json!("none") && f["outline_width"].as_f64().unwrap_or(0.0) > 0.0;
        let shadowed = f["shadow"] != json!("none") && f["shadow"].as_str().is_some();
        if !(outlined || shadowed) {
            self.invisible.push(format!(
                "{} {:?} (outline-style {}, outline-width {}, box-shadow {}, :focus-visible {})",
                f["tag"], f["name"], f["outline"], f["outline_width"], f["shadow"], f["focus_visible"]
            ));
        }
        f
    }

    /// Presses Tab until the focused control's name is `name` (or starts with it).
    async fn tab_to(&mut self, b: &Browser, name: &str, prefix: bool) {
        let mut seen = Vec::new();
        for _ in 0..80 {
            b.keys(key::TAB).await;
            let f = self.check(b).await;
            let got = f["name"].as_str().unwrap_or_default();
            if !f.is_null() && (got == name || (prefix && got.starts_with(name))) {
                return;
            }
            seen.push(format!("{} {got:?}", f["tag"]));
        }
        panic!("Tab never reached {name:?}; focus went through: {}\n{}", seen.join(", "), b.describe().await);
    }
}

async fn focused(b: &Browser) -> Value {
    b.js(&script(FOCUSED), vec![]).await
}

#[tokio::test]
async fn the_whole_flow_works_with_the_keyboard_alone() {
    let (app, b) = start(Plan::Signal, Options::default()).await;
    let mut audit = FocusAudit::default();

    // Sign in: the email field has focus on arrival.
    b.goto(&app.url("/login")).await;
    let f = focused(&b).await;
    assert_eq!(f["field"], json!("email"), "the login page focuses the email field: {f}");
    b.keys(OWNER).await;
    b.keys(key::TAB).await;
    assert_eq!(audit.check(&b).await["field"], json!("password"));
    b.keys(PASSWORD).await;
    b.keys(key::ENTER).await;
    b.wait_path(TAB).await;

    // Create: Enter opens the dialog with focus on the name field.
    audit.tab_to(&b, CREATE, false).await;
    b.keys(key::ENTER).await;
    wait_dialog_open(&b).await;
    let f = audit.check(&b).await;
    assert!(f["in_dialog"] == json!(true) && f["field"] == json!("name"), "focus on the name field in the dialog: {f}");

    // Focus stays in the open dialog however far one tabs, both ways.
    for i in 0..8 {
        if i < 5 {
            b.keys(key::TAB).await;
        } else {
            b.shift_tab().await;
        }
        let f = audit.check(&b).await;
        assert_ne!(f["outside_modal"], json!(true), "Tab left the open dialog: {f}");
    }

    // Escape closes it and focus returns to the control that opened it.
    b.keys(key::ESCAPE).await;
    wait_dialog_closed(&b).await;
    let f = audit.check(&b).await;
    assert_eq!(f["name"], json!(CREATE), "focus returns to the Create control after Escape: {f}");

    // Again, for real: type a name, Tab to Create, Space.
    b.keys(key::ENTER).await;
    wait_dialog_open(&b).await;
    assert_eq!(audit.check(&b).await["field"], json!("name"));
    b.keys("HubSpot workflow").await;
    audit.tab_to(&b, "Create", false).await;
    b.keys(key::SPACE).await;
    let full_key = revealed_key(&b).await;
    assert_eq!(app.inbound(Some(&full_key), EVENT).await.status(), 202);

    // Copy with Space; the clipboard holds the key.
    b.grant("clipboard-read").await;
    b.grant("clipboard-write").await;
    audit.tab_to(&b, "Copy", false).await;
    b.keys(key::SPACE).await;
    wait_live_text(&b, "copied").await;
    assert_eq!(read_clipboard(&b).await, full_key);
    audit.tab_to(&b, "I've stored it", true).await;
    b.keys(key::ENTER).await;
    b.wait_js("the tab", &script("return !!keyRow('HubSpot workflow');"), vec![]).await;

    // Revoke: Enter opens the dialog; Escape returns focus to Revoke; then confirm.
    audit.tab_to(&b, "Revoke", true).await;
    b.keys(key::ENTER).await;
    wait_dialog_open(&b).await;
    assert_eq!(audit.check(&b).await["in_dialog"], json!(true), "focus moves into the revoke dialog");
    b.keys(key::ESCAPE).await;
    wait_dialog_closed(&b).await;
    let f = audit.check(&b).await;
    assert!(f["name"].as_str().unwrap_or_default().starts_with("Revoke"), "focus returns to Revoke: {f}");
    b.keys(key::ENTER).await;
    wait_dialog_open(&b).await;
    audit.tab_to(&b, "Confirm", true).await;
    b.keys(key::ENTER).await;
    wait_row_status(&b, "HubSpot workflow", "Revoked").await;
    assert_eq!(app.inbound(Some(&full_key), EVENT).await.status(), 401);

    // Restore.
    audit.tab_to(&b, "Restore", true).await;
    b.keys(key::ENTER).await;
    wait_dialog_open(&b).await;
    audit.tab_to(&b, "Confirm", true).await;
    b.keys(key::ENTER).await;
    wait_row_status(&b, "HubSpot workflow", "Active").await;
    assert_eq!(app.inbound(Some(&full_key), EVENT).await.status(), 202);

    // Delete: focus lands on the name to type; type it, Tab to Confirm, Enter.
    audit.tab_to(&b, "Delete", true).await;
    b.keys(key::ENTER).await;
    wait_dialog_open(&b).await;
    let f = audit.check(&b).await;
    assert!(f["in_dialog"] == json!(true) && f["field"] == json!("confirm_name"), "focus on the name to type: {f}");
    b.keys("HubSpot workflow").await;
    audit.tab_to(&b, "Confirm", true).await;
    b.keys(key::ENTER).await;
    b.wait_js("the row to go", &script("return !keyRow('HubSpot workflow');"), vec![]).await;
    assert_eq!(key_count(&app).await, 0);

    assert!(
        audit.invisible.is_empty(),
        "focus stops without a visible focus indicator:\n  {}",
        audit.invisible.join("\n  ")
    );
}
