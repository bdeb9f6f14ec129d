use cleanclicks::accounts::Plan;

use crate::helpers::*;

const TAB: &str = "/configuration/shop.example/inbound-keys";

async fn fill_to_limit(plan: Plan, limit: usize) {
    let app = spawn_app().await;
    app.seed_owner(plan);
    app.login_owner().await;
    let mut form_before_the_limit = None;
    for n in 0..limit {
        if n == limit - 1 {
            form_before_the_limit = create_form_tokens(&app.get_html(&format!("{TAB}/new")).await);
        }
        app.create_key(&format!("Key {n}")).await;
    }
    let tab = app.get_html(TAB).await;
    assert!(tab.contains(&format!("{limit} of {limit} keys · {} plan", plan.label())));
    assert!(tab.contains("disabled"), "create control disabled at the limit");
    assert!(tab.contains("Key limit reached"));
    assert!(tab.contains("delete a key you no longer need"));
    assert!(create_form_tokens(&tab).is_none(), "no create form at the limit");

    // The no-JavaScript create page says the same and offers no form.
    let new_page = app.get_html(&format!("{TAB}/new")).await;
    assert!(new_page.contains("Key limit reached") && create_form_tokens(&new_page).is_none());

    // Forcing it with a form from before the limit is refused by the server.
    let (csrf, token) = form_before_the_limit.unwrap();
    let response = app.post_form(TAB, &[("name", "One too many"), ("csrf_token", &csrf), ("form_token", &token)]).await;
    assert_is_redirect_to(&response, TAB);
    let tab = app.get_html(TAB).await;
    assert!(tab.contains("Plan limit reached"));
    assert!(revealed_key(&tab).is_none());
    assert_eq!(app.count("SELECT count(*) AS n FROM inbound_keys"), limit as i64);
}

#[tokio::test]
async fn pulse_allows_two_keys() {
    fill_to_limit(Plan::Pulse, 2).await;
}

#[tokio::test]
async fn signal_allows_five_keys() {
    fill_to_limit(Plan::Signal, 5).await;
}

#[tokio::test]
async fn clarity_allows_ten_keys() {
    fill_to_limit(Plan::Clarity, 10).await;
}

#[tokio::test]
async fn command_is_unlimited() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Command);
    app.login_owner().await;
    for n in 0..12 {
        app.create_key(&format!("Key {n}")).await;
    }
    let tab = app.get_html(TAB).await;
    assert!(tab.contains("12 keys · Command plan (unlimited)"));
    assert!(create_form_tokens(&tab).is_some());
}

#[tokio::test]
async fn revoked_keys_count_and_deleting_frees_a_slot() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Pulse);
    app.login_owner().await;
    app.create_key("Only").await;
    let id = app.key_ids("shop.example").await.remove(0);
    app.create_key("Second").await;
    assert_is_redirect_to(&app.act("shop.example", &id, "revoke", "").await, TAB);
    let tab = app.get_html(TAB).await;
    assert!(tab.contains("2 of 2 keys · Pulse plan"), "a revoked key keeps its slot");
    assert!(create_form_tokens(&tab).is_none());
    assert_is_redirect_to(&app.act("shop.example", &id, "delete", "Only").await, TAB);
    assert!(app.get_html(TAB).await.contains("1 of 2 keys · Pulse plan"));
    app.create_key("Third").await;
}

#[tokio::test]
async fn downgrading_keeps_keys_and_blocks_creation() {
    let app = spawn_app().await;
    app.seed_owner(Plan::Signal);
    app.login_owner().await;
    for n in 0..4 {
        app.create_key(&format!("Key {n}")).await;
    }
    {
        let mut conn = app.conn();
        let account = cleanclicks::accounts::store::find_account(&mut conn, "acme").unwrap().unwrap();
        cleanclicks::accounts::store::set_plan(&mut conn, account.id, Plan::Pulse).unwrap();
    }
    let tab = app.get_html(TAB).await;
    assert_eq!(key_ids_in(&tab).len(), 4);
    assert!(tab.contains("4 of 2 keys · Pulse plan"));
    assert!(create_form_tokens(&tab).is_none());
}

async fn race(existing: usize) {
    let app = spawn_app().await;
    app.seed_owner(Plan::Pulse);
    app.login_owner().await;
    for n in 0..existing {
        app.create_key(&format!("Existing {n}")).await;
    }
    // Ten distinct forms (tokens) fired at the same moment.
    let mut forms = Vec::new();
    for _ in 0..10 {
        let page = app.get_html(&format!("{TAB}/new")).await;
        forms.push(create_form_tokens(&page).unwrap());
    }
    let requests = forms.iter().enumerate().map(|(n, (csrf, token))| {
        let app = &app;
        async move {
            let name = format!("Racer {n}");
            let response =
                app.post_form(TAB, &[("name", name.as_str()), ("csrf_token", csrf), ("form_token", token)]).await;
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    });
    let results = futures_util::future::join_all(requests).await;
    let revealed = results.iter().filter(|(s, body)| *s == 200 && revealed_key(body).is_some()).count();
    assert_eq!(revealed, 2 - existing);
    assert!(
        results.iter().filter(|(s, _)| *s == 303).count() == 10 - (2 - existing),
        "the rest are refused: {:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM inbound_keys"), 2);
    let tab = app.get_html(TAB).await;
    assert!(tab.contains("Plan limit reached") || tab.contains("Key limit reached"));
}

#[tokio::test]
async fn case_02_limit_race_from_zero_keys() {
    race(0).await;
}

#[tokio::test]
async fn case_02_limit_race_with_one_existing_key() {
    race(1).await;
}
