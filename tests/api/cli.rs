//! The operator CLI, run as the real binary against a fresh database.

use std::process::{Command, Output};

use crate::helpers::*;

fn cli(db: &TestDb, args: &[&str], password: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cleanclicks"));
    command.args(args).env("DATABASE_URL", &db.url).env("CC_SESSION_KEY", "x".repeat(64)).env_remove("CC_PASSWORD");
    if let Some(password) = password {
        command.env("CC_PASSWORD", password);
    }
    command.stdin(std::process::Stdio::null()).output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn account_user_domain_and_plan_commands() {
    let db = TestDb::new();
    let ok = |args: &[&str], password: Option<&str>| {
        let output = cli(&db, args, password);
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        text(&output)
    };
    ok(&["migrate"], None);
    assert!(ok(&["account", "create", "acme", "--plan", "pulse"], None).contains("Pulse"));
    ok(&["user", "create", "owner@acme.test", "--account", "acme", "--role", "owner"], Some(PASSWORD));
    ok(&["domain", "create", "Shop.Example", "--account", "acme"], None);
    assert!(ok(&["account", "set-plan", "acme", "clarity"], None).contains("Clarity"));
    let mut conn = db.conn();
    let account = cleanclicks::accounts::store::find_account(&mut conn, "ACME").unwrap().unwrap();
    assert_eq!(account.plan, "clarity");
    assert!(cleanclicks::accounts::store::find_domain(&mut conn, "shop.example").unwrap().is_some());
    let email = cleanclicks::email::Email::parse("owner@acme.test").unwrap();
    let user = cleanclicks::accounts::store::find_user_by_email(&mut conn, &email).unwrap().unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"));
}

#[test]
fn bad_input_gets_one_clear_line_and_a_failure_exit() {
    let db = TestDb::new();
    let fails = |args: &[&str], password: Option<&str>, expected: &str| {
        let output = cli(&db, args, password);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    };
    fails(&["account", "create", "acme", "--plan", "gold"], None, "unknown plan");
    cli(&db, &["account", "create", "acme", "--plan", "signal"], None);
    fails(&["account", "create", "ACME", "--plan", "signal"], None, "already exists");
    fails(&["account", "set-plan", "nobody", "pulse"], None, "no account named");
    fails(&["user", "create", "a@acme.test", "--account", "nobody"], Some(PASSWORD), "no account named");
    fails(&["user", "create", "a@acme.test", "--account", "acme"], Some("short"), "at least 12");
    fails(&["user", "create", "a@acme.test", "--account", "acme"], Some("password1234"), "too common");
    fails(&["user", "create", "a@acme.test", "--account", "acme"], None, "CC_PASSWORD");
    fails(&["user", "create", "not-an-email", "--account", "acme"], Some(PASSWORD), "email");
    fails(&["user", "create", "a@acme.test", "--account", "acme", "--role", "root"], Some(PASSWORD), "unknown role");
    fails(&["domain", "create", "not a host", "--account", "acme"], None, "hostname");
    cli(&db, &["domain", "create", "shop.example", "--account", "acme"], None);
    fails(&["domain", "create", "shop.example", "--account", "acme"], None, "already exists");
    let output = Command::new(env!("CARGO_BIN_EXE_cleanclicks"))
        .args(["serve"])
        .env("DATABASE_URL", &db.url)
        .env("CC_BIND", "nonsense")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("CC_BIND"));
}

#[test]
fn commands_create_a_missing_database() {
    let db = TestDb::new();
    let missing =
        TestDb { name: format!("{}_new", db.name), url: db.url.replace(&db.name, &format!("{}_new", db.name)) };
    let output = cli(&missing, &["account", "create", "fresh", "--plan", "command"], None);
    assert!(output.status.success(), "{}", text(&output));
    let mut conn = missing.conn();
    assert!(cleanclicks::accounts::store::find_account(&mut conn, "fresh").unwrap().is_some());
}

#[test]
fn demo_is_idempotent_and_prints_how_to_sign_in() {
    let db = TestDb::new();
    let first = cli(&db, &["demo"], None);
    assert!(first.status.success(), "{}", text(&first));
    let out = text(&first);
    assert!(out.contains("demo@cleanclicks.test") && out.contains("/login") && out.contains("Password: "));
    let second = cli(&db, &["demo"], None);
    assert!(second.status.success());
    let again = text(&second);
    assert!(again.contains("printed when the demo was first created"));
    // Both ways a newcomer may have started it say how to set a new password.
    assert!(again.contains("CC_PASSWORD='your new passphrase' cleanclicks demo"), "{again}");
    assert!(again.contains("CC_PASSWORD='your new passphrase' scripts/start"), "{again}");
    let reset = cli(&db, &["demo"], Some(PASSWORD));
    assert!(reset.status.success());
    let mut conn = db.conn();
    let account =
        cleanclicks::accounts::store::find_account(&mut conn, cleanclicks::cli::DEMO_ACCOUNT).unwrap().unwrap();
    assert_eq!(account.plan, "signal");
    let domains = cleanclicks::accounts::store::domains_of_account(&mut conn, account.id).unwrap();
    assert_eq!(domains.len(), 1);
    assert_eq!(domains[0].hostname, "shop.example");
    let email = cleanclicks::email::Email::parse(cleanclicks::cli::DEMO_EMAIL).unwrap();
    let user = cleanclicks::accounts::store::find_user_by_email(&mut conn, &email).unwrap().unwrap();
    assert!(cleanclicks::auth::password::verify(PASSWORD, &user.password_hash));
    assert!(out.contains("(Signal plan, 5 keys per domain)"), "{out}");

    // It reports the plan the account has now, not the one it started with.
    assert!(cli(&db, &["account", "set-plan", cleanclicks::cli::DEMO_ACCOUNT, "command"], None).status.success());
    let upgraded = text(&cli(&db, &["demo"], None));
    assert!(upgraded.contains("(Command plan, unlimited keys)"), "{upgraded}");
}
