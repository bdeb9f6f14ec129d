//! The main flow with a mouse: create through the dialog, copy, never see the key
//! again; revoke, restore and delete through the confirmation dialogs.

use cleanclicks::accounts::Plan;

use crate::helpers::{EVENT, error_code};
use crate::support::*;
use crate::webdriver::Options;

#[tokio::test]
async fn create_in_the_dialog_copy_the_key_and_never_see_it_again() {
    let (app, b) = start(Plan::Signal, Options::default()).await;
    login(&b, &app).await;

    // The empty tab: the Create control opens the dialog in place.
    let create = control(&b, CREATE).await;
    b.click(&create).await;
    let dialog = wait_dialog_open(&b).await;
    assert!(dialog.contains("Create Inbound Integration Key"), "dialog: {dialog}");
    assert_eq!(
        b.js_string("return location.pathname", vec![]).await,
        TAB,
        "the dialog opens on the tab, not on another page"
    );
    let name = b.find("dialog[open] input[name=name]").await;
    assert!(is_focused(&b, &name).await, "focus moves into the dialog, on the name field: {:?}", focus(&b).await);

    b.type_into(&name, "Zapier – orders").await;
    let submit = control(&b, "Create").await;
    b.click(&submit).await;

    // The reveal: the full key, once.
    let key = revealed_key(&b).await;
    assert_eq!(key.len(), 41, "{key}");
    assert!(key.starts_with("cc_"), "{key}");
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202, "the revealed key works");

    // Copy puts exactly the key on the clipboard and says so.
    b.grant("clipboard-read").await;
    b.grant("clipboard-write").await;
    let copy = control(&b, "Copy").await;
    b.click(&copy).await;
    b.wait_js(
        "the Copy button to say Copied",
        "return arguments[0].textContent.trim() === 'Copied';",
        vec![copy.to_json()],
    )
    .await;
    let said = wait_live_text(&b, "copied").await;
    assert!(said.to_lowercase().contains("copied"), "{said}");
    assert_eq!(read_clipboard(&b).await, key, "the clipboard holds the revealed key");

    // Going elsewhere and back never shows the key again (the reveal is not cached) ...
    b.goto(&app.url("/healthz")).await;
    b.back().await;
    b.wait_js("the previous page", "return document.readyState === 'complete';", vec![]).await;
    assert!(!b.source().await.contains(&key), "back to the reveal shows the key again\n{}", b.describe().await);

    // ... nor does reloading it: the browser posts the form again, and its one-time
    // token makes that an "already created" notice, not a second key.
    b.refresh().await;
    b.wait_js("the reloaded page", "return document.readyState === 'complete';", vec![]).await;
    let reloaded = b.describe().await;
    assert!(!b.source().await.contains(&key), "reloading the reveal shows the key again\n{reloaded}");
    assert!(reloaded.contains("already created"), "reload explains the key was already shown\n{reloaded}");
    assert_eq!(key_count(&app).await, 1, "reloading the reveal created another key");

    // The tab lists the key by its prefix only, also after a reload and going back.
    b.click(&control_starting(&b, "Back to Inbound Integration Keys").await).await;
    b.wait_js("the tab", &script("return !!keyRow('Zapier – orders');"), vec![]).await;
    let tab = b.source().await;
    assert!(!tab.contains(&key), "the tab shows the full key");
    assert!(tab.contains(&key[..11]), "the tab shows the key's prefix {}", &key[..11]);
    b.refresh().await;
    b.wait_js("the tab", &script("return !!keyRow('Zapier – orders');"), vec![]).await;
    assert!(!b.source().await.contains(&key), "reloading the tab shows the key");
    b.back().await;
    b.wait_js("the previous page", "return document.readyState === 'complete';", vec![]).await;
    assert!(!b.source().await.contains(&key), "going back shows the key\n{}", b.describe().await);
}

#[tokio::test]
async fn revoke_restore_and_delete_through_the_dialogs() {
    let (app, b) = start_with_api(Plan::Signal, Options::default()).await;
    let key = app.create_key("CRM Webhook").await;
    // Two deliveries from Zapier, so the revoke dialog has usage to show.
    for _ in 0..2 {
        assert_eq!(deliver(&app, &key, "Zapier", None, EVENT).await, 202);
    }
    let id = app.key_ids(DOMAIN).await.remove(0);
    wait_for_html(&app, &format!("{TAB}/{id}/revoke"), &["2 events accepted in the last 7 days"]).await;
    login(&b, &app).await;
    assert_eq!(row_status(&b, "CRM Webhook").await.as_deref(), Some("Active"));

    // Revoke: the confirmation page's content in a dialog, on the tab.
    let revoke = row_action(&b, "CRM Webhook", "Revoke").await;
    b.click(&revoke).await;
    let dialog = wait_dialog_open(&b).await;
    assert!(dialog.contains("CRM Webhook") && dialog.contains("Revoke"), "revoke dialog: {dialog}");
    assert!(dialog.contains(&key[..11]), "the dialog shows which key (masked): {dialog}");
    assert!(
        dialog.contains("2 events accepted in the last 7 days") && dialog.contains("Zapier"),
        "the revoke dialog shows the key's recent usage and who calls it: {dialog}"
    );
    assert_eq!(b.js_string("return location.pathname", vec![]).await, TAB);
    assert!(focus(&b).await.in_dialog, "focus moves into the dialog: {:?}", focus(&b).await);
    let confirm = control_starting(&b, "Confirm").await;
    b.click(&confirm).await;
    wait_row_status(&b, "CRM Webhook", "Revoked").await;
    let flash = live_text(&b).await;
    assert!(flash.contains("revoked"), "flash: {flash}");
    let response = app.inbound(Some(&key), EVENT).await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(response).await, "revoked_api_key");

    // Restore the same way: the same value works again.
    let restore = row_action(&b, "CRM Webhook", "Restore").await;
    b.click(&restore).await;
    let dialog = wait_dialog_open(&b).await;
    assert!(dialog.contains("CRM Webhook"), "restore dialog: {dialog}");
    let confirm = control_starting(&b, "Confirm").await;
    b.click(&confirm).await;
    wait_row_status(&b, "CRM Webhook", "Active").await;
    assert!(live_text(&b).await.contains("restored"));
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);

    // Delete: Confirm stays disabled until the typed name matches.
    let delete = row_action(&b, "CRM Webhook", "Delete").await;
    b.click(&delete).await;
    let dialog = wait_dialog_open(&b).await;
    assert!(dialog.contains("permanent"), "delete dialog says it is permanent: {dialog}");
    let typed = b.find("dialog[open] input[name=confirm_name]").await;
    assert!(is_focused(&b, &typed).await, "focus on the name to type: {:?}", focus(&b).await);
    let confirm = control_starting(&b, "Confirm").await;
    assert!(!b.is_enabled(&confirm).await, "Confirm works before the name is typed");
    b.type_into(&typed, "CRM").await;
    assert!(!b.is_enabled(&confirm).await, "Confirm works with a wrong name");
    b.wait_js(
        "a hint saying why Confirm stays disabled",
        "return (document.querySelector('dialog[open] [data-confirm-hint]') || {}).textContent \
           .includes('type the name exactly');",
        vec![],
    )
    .await;
    b.click(&confirm).await;
    assert_eq!(key_count(&app).await, 1, "a disabled Confirm deleted the key");

    // Forcing the wrong name through anyway: the server refuses it (422), nothing changes.
    b.js("arguments[0].disabled = false; arguments[0].click();", vec![confirm.to_json()]).await;
    b.wait_js(
        "the refused delete",
        "return location.pathname.endsWith('/delete') && document.readyState === 'complete';",
        vec![],
    )
    .await;
    assert_eq!(page_status(&b).await, 422);
    let typed = b.find("input[name=confirm_name]").await;
    assert!(is_focused(&b, &typed).await, "focus on the name to retype: {:?}", focus(&b).await);
    let refused = b.describe().await;
    assert!(refused.contains("Type the key's name") || refused.contains("Type the key’s name"), "{refused}");
    assert_eq!(key_count(&app).await, 1);
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 202);

    // The right name, on that page: deleted, the row is gone.
    let typed = b.find("input[name=confirm_name]").await;
    b.clear(&typed).await;
    b.type_into(&typed, "CRM Webhook").await;
    let confirm = control_starting(&b, "Confirm").await;
    assert!(b.is_enabled(&confirm).await, "Confirm stays disabled with the right name");
    b.click(&confirm).await;
    b.wait_path(TAB).await;
    b.wait_js("the row to go", &script("return !keyRow('CRM Webhook');"), vec![]).await;
    assert!(live_text(&b).await.contains("deleted"));
    assert_eq!(key_count(&app).await, 0);
    assert_eq!(app.inbound(Some(&key), EVENT).await.status(), 401);
}

#[tokio::test]
async fn a_taken_name_is_refused_at_the_field_and_can_be_fixed() {
    let (app, b) = start_with_api(Plan::Signal, Options::default()).await;
    app.create_key("Zapier").await;
    login(&b, &app).await;

    b.click(&control(&b, CREATE).await).await;
    wait_dialog_open(&b).await;
    let name = b.find("dialog[open] input[name=name]").await;
    b.type_into(&name, "  zapier ").await; // the same name, other case and spaces
    b.click(&control(&b, "Create").await).await;

    // The form comes back with the error tied to the field, the field focused, the
    // typed name kept, and nothing created.
    let field = b
        .wait_js("the name error", "return document.querySelector('input[name=name][aria-invalid=true]');", vec![])
        .await;
    let field = element(&field);
    let error = b
        .js_string(
            &script(
                "const ids = (arguments[0].getAttribute('aria-describedby') || '').split(/\\s+/);
                 return ids.map(id => document.getElementById(id)).filter(e => e && visible(e)).map(e => norm(e.textContent)).join(' ');",
            ),
            vec![field.to_json()],
        )
        .await;
    assert!(error.contains("already exists"), "the field is described by a visible error: {error:?}");
    assert!(is_focused(&b, &field).await, "focus on the field to fix: {:?}", focus(&b).await);
    assert_eq!(b.property(&field, "value").await, serde_json::json!("  zapier "));
    assert_eq!(page_status(&b).await, 422);
    assert_eq!(key_count(&app).await, 1);

    b.clear(&field).await;
    b.type_into(&field, "Zapier (backup)").await;
    b.click(&control(&b, "Create").await).await;
    assert_eq!(revealed_key(&b).await.len(), 41);
    assert_eq!(key_count(&app).await, 2);
}
