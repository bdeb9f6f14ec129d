//! Sign-in throttling. Failures are counted over a sliding window per (email, IP), per
//! IP and per email. The per-pair limit stops guessing from one place without touching
//! the real user elsewhere. The per-email limit stops a distributed guess; it does not
//! apply from an address the user has signed in from recently, so an attacker with
//! many addresses cannot keep the real user out.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::schema::{login_failures, sign_in_sources};

pub const WINDOW_MINUTES: i64 = 15;
pub const PER_EMAIL_AND_IP: i64 = 5;
pub const PER_IP: i64 = 20;
pub const PER_EMAIL: i64 = 100;
/// A successful sign-in makes its address known to that email for this long.
pub const KNOWN_SOURCE_DAYS: i64 = 30;

/// When the caller may try again, if it is throttled now.
pub fn retry_at(conn: &mut PgConnection, email: &str, ip: &str) -> QueryResult<Option<DateTime<Utc>>> {
    let since = Utc::now() - Duration::minutes(WINDOW_MINUTES);
    let recent = || login_failures::table.filter(login_failures::at.gt(since));
    let known_source = diesel::select(diesel::dsl::exists(
        sign_in_sources::table
            .filter(sign_in_sources::email.eq(email))
            .filter(sign_in_sources::ip.eq(ip))
            .filter(sign_in_sources::last_success_at.gt(Utc::now() - Duration::days(KNOWN_SOURCE_DAYS))),
    ))
    .get_result::<bool>(conn)?;
    // For each rule: if over its limit, the attempt that must age out first.
    let limits: [(i64, Vec<DateTime<Utc>>); 3] = [
        (
            PER_EMAIL_AND_IP,
            recent()
                .filter(login_failures::email.eq(email))
                .filter(login_failures::ip.eq(ip))
                .select(login_failures::at)
                .order(login_failures::at.desc())
                .limit(PER_EMAIL_AND_IP)
                .load(conn)?,
        ),
        (
            PER_IP,
            recent()
                .filter(login_failures::ip.eq(ip))
                .select(login_failures::at)
                .order(login_failures::at.desc())
                .limit(PER_IP)
                .load(conn)?,
        ),
        (
            PER_EMAIL,
            if known_source {
                Vec::new()
            } else {
                recent()
                    .filter(login_failures::email.eq(email))
                    .select(login_failures::at)
                    .order(login_failures::at.desc())
                    .limit(PER_EMAIL)
                    .load(conn)?
            },
        ),
    ];
    Ok(limits
        .into_iter()
        .filter(|(limit, times)| times.len() as i64 >= *limit)
        .filter_map(|(_, times)| times.last().map(|oldest| *oldest + Duration::minutes(WINDOW_MINUTES)))
        .max())
}

pub fn record_failure(conn: &mut PgConnection, email: &str, ip: &str) -> QueryResult<()> {
    diesel::insert_into(login_failures::table)
        .values((login_failures::email.eq(email), login_failures::ip.eq(ip)))
        .execute(conn)?;
    // Keep the table small: nothing older than a day matters.
    diesel::delete(login_failures::table.filter(login_failures::at.lt(Utc::now() - Duration::days(1))))
        .execute(conn)?;
    Ok(())
}

/// A successful sign-in forgets that pair's failures and makes the address known.
pub fn signed_in(conn: &mut PgConnection, email: &str, ip: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::email.eq(email)).filter(login_failures::ip.eq(ip)))
        .execute(conn)?;
    diesel::insert_into(sign_in_sources::table)
        .values((sign_in_sources::email.eq(email), sign_in_sources::ip.eq(ip)))
        .on_conflict((sign_in_sources::email, sign_in_sources::ip))
        .do_update()
        .set(sign_in_sources::last_success_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}
