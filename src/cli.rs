//! The operator CLI. Every command that touches the database creates it if missing and
//! applies pending migrations first, so it works on a brand-new database.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::accounts::store as accounts;
use crate::accounts::{Hostname, Plan, Role};
use crate::auth::password::{self, NewPassword};
use crate::config::Settings;
use crate::email::Email;

#[derive(Parser)]
#[command(
    name = "cleanclicks",
    version,
    about = "CleanClicks inbound integration keys: admin app, inbound endpoint and operator tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the admin app and the inbound endpoint (CC_BIND, default 127.0.0.1:8080).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts (workspaces).
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage tracked domains.
    Domain {
        #[command(subcommand)]
        command: DomainCommand,
    },
    /// Create (once) a demo account on the Signal plan, its owner and domain shop.example,
    /// and print how to sign in.
    Demo,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account: cleanclicks account create NAME --plan PLAN
    Create {
        name: String,
        /// pulse (2 keys per domain), signal (5), clarity (10) or command (unlimited)
        #[arg(long)]
        plan: String,
    },
    /// Change an account's plan. Downgrading never deletes keys.
    SetPlan { name: String, plan: String },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password comes from CC_PASSWORD or a hidden prompt.
    Create {
        email: String,
        #[arg(long)]
        account: String,
        /// owner, admin or viewer
        #[arg(long, default_value = "owner")]
        role: String,
    },
    /// Set a user's password (CC_PASSWORD or a prompt) and end all their sessions.
    SetPassword { email: String },
    /// Change a user's role: owner, admin or viewer.
    SetRole { email: String, role: String },
    /// Stop a user from signing in and end all their sessions at once.
    Disable { email: String },
    /// Let a disabled user sign in again.
    Enable { email: String },
}

#[derive(Subcommand)]
enum DomainCommand {
    /// Add a domain to an account: cleanclicks domain create HOSTNAME --account NAME
    Create {
        hostname: String,
        #[arg(long)]
        account: String,
    },
}

/// A failure with one clear line for the operator.
struct Fail(String);

impl<E: std::fmt::Display> From<E> for Fail {
    fn from(e: E) -> Self {
        Fail(e.to_string())
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn connect(settings: &Settings) -> Result<PgConnection, Fail> {
    crate::db::prepare(&settings.database_url).map_err(|e| Fail(format!("{e:#}")))?;
    PgConnection::establish(&settings.database_url).map_err(|e| Fail(format!("cannot connect to the database: {e}")))
}

fn find_account(conn: &mut PgConnection, name: &str) -> Result<crate::accounts::Account, Fail> {
    accounts::find_account(conn, name)?.ok_or_else(|| {
        Fail(format!("no account named {name:?} (create it with: cleanclicks account create {name} --plan signal)"))
    })
}

fn find_user(conn: &mut PgConnection, email: &str) -> Result<crate::accounts::User, Fail> {
    let email = Email::parse(email).map_err(|e| Fail(format!("email {email:?}: {e}")))?;
    accounts::find_user_by_email(conn, &email)?.ok_or_else(|| Fail(format!("no user with email {email}")))
}

/// CC_PASSWORD, or a hidden prompt when a terminal is attached.
fn new_password() -> Result<NewPassword, Fail> {
    let raw = match std::env::var("CC_PASSWORD") {
        Ok(value) => value,
        Err(_) => rpassword::prompt_password("Password (at least 12 characters): ")
            .map_err(|_| Fail("no password: set CC_PASSWORD or run in a terminal to be prompted".into()))?,
    };
    NewPassword::parse(&raw).map_err(|e| Fail(format!("password refused: {e}")))
}

fn run(command: Command) -> Result<(), Fail> {
    let settings = Settings::from_env()?;
    match command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            crate::db::ensure_database(&settings.database_url).map_err(|e| Fail(format!("{e:#}")))?;
            let mut conn = PgConnection::establish(&settings.database_url)
                .map_err(|e| Fail(format!("cannot connect to the database: {e}")))?;
            let applied = crate::db::run_migrations(&mut conn).map_err(|e| Fail(format!("{e:#}")))?;
            println!("{applied} migration(s) applied; the database is up to date.");
            Ok(())
        }
        Command::Account { command } => {
            let mut conn = connect(&settings)?;
            match command {
                AccountCommand::Create { name, plan } => {
                    let plan = Plan::parse(&plan)?;
                    let name = name.trim();
                    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
                        return Err(Fail(
                            "the account name must be 1–100 characters without control characters".into(),
                        ));
                    }
                    if accounts::find_account(&mut conn, name)?.is_some() {
                        return Err(Fail(format!("an account named {name:?} already exists")));
                    }
                    let account = accounts::create_account(&mut conn, name, plan)?;
                    println!("Account {:?} created on the {} plan.", account.name, plan.label());
                    Ok(())
                }
                AccountCommand::SetPlan { name, plan } => {
                    let plan = Plan::parse(&plan)?;
                    let account = find_account(&mut conn, &name)?;
                    accounts::set_plan(&mut conn, account.id, plan)?;
                    println!("Account {:?} is now on the {} plan.", account.name, plan.label());
                    Ok(())
                }
            }
        }
        Command::User { command } => {
            let mut conn = connect(&settings)?;
            match command {
                UserCommand::Create { email, account, role } => {
                    let email = Email::parse(&email).map_err(|e| Fail(format!("email {email:?}: {e}")))?;
                    let role = Role::parse(&role)?;
                    let account = find_account(&mut conn, &account)?;
                    if accounts::find_user_by_email(&mut conn, &email)?.is_some() {
                        return Err(Fail(format!("a user with email {email} already exists")));
                    }
                    let hash = password::hash(&new_password()?)?;
                    accounts::create_user(&mut conn, account.id, &email, &hash, role)?;
                    println!("User {email} created in account {:?} as {}.", account.name, role.as_str());
                    Ok(())
                }
                UserCommand::SetRole { email, role } => {
                    let role = Role::parse(&role)?;
                    let user = find_user(&mut conn, &email)?;
                    accounts::set_role(&mut conn, user.id, role)?;
                    println!("{} is now {}.", user.email, role.as_str());
                    Ok(())
                }
                UserCommand::Disable { email } => {
                    let user = find_user(&mut conn, &email)?;
                    accounts::set_disabled(&mut conn, user.id, true)?;
                    println!("{} can no longer sign in; their sessions were ended.", user.email);
                    Ok(())
                }
                UserCommand::Enable { email } => {
                    let user = find_user(&mut conn, &email)?;
                    accounts::set_disabled(&mut conn, user.id, false)?;
                    println!("{} can sign in again.", user.email);
                    Ok(())
                }
                UserCommand::SetPassword { email } => {
                    let user = find_user(&mut conn, &email)?;
                    let hash = password::hash(&new_password()?)?;
                    accounts::set_password(&mut conn, user.id, &hash)?;
                    println!("Password of {} changed; all of their sessions were ended.", user.email);
                    Ok(())
                }
            }
        }
        Command::Domain { command: DomainCommand::Create { hostname, account } } => {
            let mut conn = connect(&settings)?;
            let hostname = Hostname::parse(&hostname)?;
            let account = find_account(&mut conn, &account)?;
            if accounts::find_domain(&mut conn, hostname.as_str())?.is_some() {
                return Err(Fail(format!(
                    "the domain {hostname} already exists (hostnames are unique across all accounts)"
                )));
            }
            accounts::create_domain(&mut conn, account.id, &hostname)?;
            println!("Domain {hostname} added to account {:?}.", account.name);
            Ok(())
        }
        Command::Demo => demo(&settings),
    }
}

pub const DEMO_ACCOUNT: &str = "Demo Shop";
pub const DEMO_EMAIL: &str = "demo@cleanclicks.test";
pub const DEMO_DOMAIN: &str = "shop.example";

/// Idempotent: creates whatever of the demo data is missing. The password is printed
/// once, when the user is created (or taken from CC_PASSWORD, which also resets it).
fn demo(settings: &Settings) -> Result<(), Fail> {
    let mut conn = connect(settings)?;
    let account = match accounts::find_account(&mut conn, DEMO_ACCOUNT)? {
        Some(account) => account,
        None => accounts::create_account(&mut conn, DEMO_ACCOUNT, Plan::Signal)?,
    };
    let email = Email::parse(DEMO_EMAIL).map_err(|e| Fail(e.to_string()))?;
    let from_env = std::env::var("CC_PASSWORD").ok();
    let existing = accounts::find_user_by_email(&mut conn, &email)?;
    let password_line = match (existing, from_env) {
        (None, from_env) => {
            let (password, line) = match from_env {
                Some(raw) => (
                    NewPassword::parse(&raw).map_err(|e| Fail(format!("CC_PASSWORD refused: {e}")))?,
                    "Password: the one in CC_PASSWORD".to_owned(),
                ),
                None => {
                    let generated = generate_passphrase();
                    let line = format!("Password: {generated}   (shown only now; keep it)");
                    (NewPassword::parse(&generated).map_err(|e| Fail(e.to_string()))?, line)
                }
            };
            accounts::create_user(&mut conn, account.id, &email, &password::hash(&password)?, Role::Owner)?;
            line
        }
        (Some(user), Some(raw)) => {
            let password = NewPassword::parse(&raw).map_err(|e| Fail(format!("CC_PASSWORD refused: {e}")))?;
            accounts::set_password(&mut conn, user.id, &password::hash(&password)?)?;
            "Password: the one in CC_PASSWORD (just set)".to_owned()
        }
        (Some(_), None) => concat!(
            "Password: the one printed when the demo was first created.\n",
            "  Forgot it? Set a new one: CC_PASSWORD='your new passphrase' cleanclicks demo\n",
            "  (from a checkout: CC_PASSWORD='your new passphrase' scripts/start)"
        )
        .to_owned(),
    };
    let domain = Hostname::parse(DEMO_DOMAIN)?;
    if accounts::find_domain(&mut conn, domain.as_str())?.is_none() {
        accounts::create_domain(&mut conn, account.id, &domain)?;
    }
    let bind = &settings.bind;
    // The account's plan as it is now: an operator may have changed it since the demo began.
    let plan = account.plan();
    let keys = match plan.key_limit() {
        Some(limit) => format!("{limit} keys per domain"),
        None => "unlimited keys".to_owned(),
    };
    println!("Demo ready: account {DEMO_ACCOUNT:?} ({} plan, {keys}), domain {DEMO_DOMAIN}.", plan.label());
    println!("Sign in at http://{bind}/login");
    println!("  Email:    {DEMO_EMAIL}");
    println!("  {password_line}");
    Ok(())
}

/// Four random words and a number: easy to type, far from any common-password list.
fn generate_passphrase() -> String {
    const WORDS: &[&str] = &[
        "amber", "basil", "cedar", "delta", "ember", "fjord", "glade", "harbor", "indigo", "juniper", "kelp", "lumen",
        "maple", "nectar", "orbit", "pepper", "quartz", "raven", "saffron", "tundra", "umber", "velvet", "willow",
        "yonder", "zephyr", "copper", "meadow", "pixel", "summit", "lantern",
    ];
    let mut bytes = [0u8; 5];
    rand::fill(&mut bytes);
    let words: Vec<&str> = bytes[..4].iter().map(|b| WORDS[*b as usize % WORDS.len()]).collect();
    format!("{} {}", words.join(" "), 10 + bytes[4] % 90)
}

fn serve(settings: Settings) -> Result<(), Fail> {
    crate::db::prepare(&settings.database_url).map_err(|e| Fail(format!("{e:#}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let app = crate::startup::Application::build(settings.clone()).map_err(|e| Fail(format!("{e:#}")))?;
        tracing::info!(admin = %settings.bind, inbound = ?settings.inbound_bind, database = %crate::db::redact(&settings.database_url), "serving");
        eprintln!("CleanClicks is serving on http://{} (admin) — Ctrl-C to stop", settings.bind);
        app.run_until_stopped().await.map_err(Fail::from)
    })
}
