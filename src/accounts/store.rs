//! Queries on accounts, users and domains. Each takes a connection so callers can
//! compose them in one transaction, and tests can call them directly.

use diesel::prelude::*;
use uuid::Uuid;

use super::hostname::Hostname;
use super::model::{Account, Domain, User};
use super::plan::Plan;
use super::role::Role;
use crate::db::lower;
use crate::email::Email;
use crate::schema::{accounts, admin_sessions, domains, users};

pub fn create_account(conn: &mut PgConnection, name: &str, plan: Plan) -> QueryResult<Account> {
    diesel::insert_into(accounts::table)
        .values((accounts::name.eq(name), accounts::plan.eq(plan.as_str())))
        .returning(Account::as_returning())
        .get_result(conn)
}

pub fn find_account(conn: &mut PgConnection, name: &str) -> QueryResult<Option<Account>> {
    accounts::table.filter(lower(accounts::name).eq(lower(name))).select(Account::as_select()).first(conn).optional()
}

pub fn account_by_id(conn: &mut PgConnection, id: Uuid) -> QueryResult<Account> {
    accounts::table.find(id).select(Account::as_select()).first(conn)
}

pub fn set_plan(conn: &mut PgConnection, account_id: Uuid, plan: Plan) -> QueryResult<usize> {
    diesel::update(accounts::table.find(account_id)).set(accounts::plan.eq(plan.as_str())).execute(conn)
}

pub fn create_user(
    conn: &mut PgConnection,
    account_id: Uuid,
    email: &Email,
    password_hash: &str,
    role: Role,
) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values((
            users::account_id.eq(account_id),
            users::email.eq(email.as_str()),
            users::password_hash.eq(password_hash),
            users::role.eq(role.as_str()),
        ))
        .returning(User::as_returning())
        .get_result(conn)
}

pub fn find_user_by_email(conn: &mut PgConnection, email: &Email) -> QueryResult<Option<User>> {
    users::table.filter(users::email.eq(email.as_str())).select(User::as_select()).first(conn).optional()
}

/// Sets a new password hash and ends every session of the user: a password change
/// must lock out whoever had the old one.
pub fn set_password(conn: &mut PgConnection, user_id: Uuid, password_hash: &str) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::update(users::table.find(user_id)).set(users::password_hash.eq(password_hash)).execute(conn)?;
        end_sessions(conn, user_id).map(|_| ())
    })
}

/// Ends every open session of the user; their cookies then lead to the login page.
pub fn end_sessions(conn: &mut PgConnection, user_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        admin_sessions::table.filter(admin_sessions::user_id.eq(user_id)).filter(admin_sessions::revoked_at.is_null()),
    )
    .set(admin_sessions::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
}

pub fn set_role(conn: &mut PgConnection, user_id: Uuid, role: Role) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id)).set(users::role.eq(role.as_str())).execute(conn)
}

/// Disables (or re-enables) sign-in; disabling also ends every session at once.
pub fn set_disabled(conn: &mut PgConnection, user_id: Uuid, disabled: bool) -> QueryResult<()> {
    conn.transaction(|conn| {
        let at = if disabled { Some(chrono::Utc::now()) } else { None };
        diesel::update(users::table.find(user_id)).set(users::disabled_at.eq(at)).execute(conn)?;
        if disabled {
            end_sessions(conn, user_id)?;
        }
        Ok(())
    })
}

pub fn create_domain(conn: &mut PgConnection, account_id: Uuid, hostname: &Hostname) -> QueryResult<Domain> {
    diesel::insert_into(domains::table)
        .values((domains::account_id.eq(account_id), domains::hostname.eq(hostname.as_str())))
        .returning(Domain::as_returning())
        .get_result(conn)
}

pub fn find_domain(conn: &mut PgConnection, hostname: &str) -> QueryResult<Option<Domain>> {
    domains::table.filter(domains::hostname.eq(hostname)).select(Domain::as_select()).first(conn).optional()
}

/// The account's domains, by hostname.
pub fn domains_of_account(conn: &mut PgConnection, account_id: Uuid) -> QueryResult<Vec<Domain>> {
    domains::table
        .filter(domains::account_id.eq(account_id))
        .order(domains::hostname.asc())
        .select(Domain::as_select())
        .load(conn)
}

/// A domain of the given account by hostname; another account's domain is `None`,
/// exactly as a domain that does not exist.
pub fn domain_of_account(conn: &mut PgConnection, account_id: Uuid, hostname: &str) -> QueryResult<Option<Domain>> {
    domains::table
        .filter(domains::account_id.eq(account_id))
        .filter(domains::hostname.eq(hostname.to_ascii_lowercase()))
        .select(Domain::as_select())
        .first(conn)
        .optional()
}
