//! The main flow with JavaScript disabled: every dialog has a page of its own.

use cleanclicks::accounts::Plan;

use crate::helpers::{EVENT, error_code};
use crate::support::*;
use crate::webdriver::{Browser, Options};

fn no_js() -> Options {
    Options { javascript: false, ..Options::default() }
}

/// Text of the page (WebDriver's own element text, which needs no page script).
async fn page_text(b: &Browser) -> String {
    let body = b.find("body").await;
    b.text(&body).await
}

#[tokio::test]
async fn the_whole_flow_works_without_javascript() {
    let (app, b) = start(Plan::Signal, no_js()).await;
    login(&b, &app).await;

    // Create leads to the create page (no dialog without JavaScript).
    b.click(&control(&b, CREATE).await).await;
    b.wait_path(&format!("{TAB}/new")).await;
    let name = b.find("input[name=name]").await;
    b.type_into(&name, "n8n lead sync").await;
    b.click(&control(&b, "Create").await).await;
    let key = revealed_key(&b).await;
    assert_eq!(key.len(), 41);
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);

    // Copy needs the page's script, so without it the button is not offered (which also
    // proves the scripts really are off); the page says how to copy instead.
    b.wait_js(
        "no visible Copy button and the select-and-copy hint",
        "return !Array.from(document.querySelectorAll('button')).some(e => e.offsetParent !== null && \
           e.textContent.trim() === 'Copy') && document.body.innerText.includes('Select the key and copy it');",
        vec![],
    )
    .await;

    b.click(&control_starting(&b, "I've stored it").await).await;
    b.wait_path(TAB).await;
    assert_eq!(row_status(&b, "n8n lead sync").await.as_deref(), Some("Active"));

    // Revoke through its confirmation page.
    b.click(&row_action(&b, "n8n lead sync", "Revoke").await).await;
    b.wait_js("the revoke page", "return location.pathname.endsWith('/revoke');", vec![]).await;
    assert!(page_text(&b).await.contains("n8n lead sync"));
    b.click(&control_starting(&b, "Confirm").await).await;
    b.wait_path(TAB).await;
    wait_row_status(&b, "n8n lead sync", "Revoked").await;
    assert!(page_text(&b).await.contains("was revoked"), "flash after revoke");
    let response = app.inbound(Some(&key), EVENT).await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "revoked_api_key");

    // Restore through its confirmation page.
    b.click(&row_action(&b, "n8n lead sync", "Restore").await).await;
    b.wait_js("the restore page", "return location.pathname.endsWith('/restore');", vec![]).await;
    b.click(&control_starting(&b, "Confirm").await).await;
    b.wait_path(TAB).await;
    wait_row_status(&b, "n8n lead sync", "Active").await;
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);

    // Delete: a wrong name is refused (422, the form again with an error) ...
    b.click(&row_action(&b, "n8n lead sync", "Delete").await).await;
    b.wait_js("the delete page", "return location.pathname.endsWith('/delete');", vec![]).await;
    let typed = b.find("input[name=confirm_name]").await;
    b.type_into(&typed, "n8n").await;
    b.click(&control_starting(&b, "Confirm").await).await;
    b.wait_js(
        "the refused delete",
        "return location.pathname.endsWith('/delete') && !!document.querySelector('[aria-invalid=true]');",
        vec![],
    )
    .await;
    assert_eq!(page_status(&b).await, 422);
    assert_eq!(key_count(&app).await, 1);

    // ... the exact name deletes it.
    let typed = b.find("input[name=confirm_name]").await;
    b.clear(&typed).await;
    b.type_into(&typed, "n8n lead sync").await;
    b.click(&control_starting(&b, "Confirm").await).await;
    b.wait_path(TAB).await;
    assert!(!has_row(&b, "n8n lead sync").await, "the row is gone");
    assert!(page_text(&b).await.contains("was deleted"), "flash after delete");
    assert_eq!(key_count(&app).await, 0);
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 401);
}
