//! Sign-in throttling. Failures are counted over a sliding window per (email, IP), per
//! IP and per email. The per-pair limit stops guessing from one place without touching
//! the real user elsewhere; the per-email limit is high, so locking someone out takes a
//! distributed attack and lasts only while the attack does (no permanent lockout).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::schema::login_failures;

pub const WINDOW_MINUTES: i64 = 15;
pub const PER_EMAIL_AND_IP: i64 = 5;
pub const PER_IP: i64 = 20;
pub const PER_EMAIL: i64 = 100;

/// When the caller may try again, if it is throttled now.
pub fn retry_at(conn: &mut PgConnection, email: &str, ip: &str) -> QueryResult<Option<DateTime<Utc>>> {
    let since = Utc::now() - Duration::minutes(WINDOW_MINUTES);
    let recent = || login_failures::table.filter(login_failures::at.gt(since));
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
            recent()
                .filter(login_failures::email.eq(email))
                .select(login_failures::at)
                .order(login_failures::at.desc())
                .limit(PER_EMAIL)
                .load(conn)?,
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

/// A successful sign-in forgets that pair's failures.
pub fn clear(conn: &mut PgConnection, email: &str, ip: &str) -> QueryResult<usize> {
    diesel::delete(login_failures::table.filter(login_failures::email.eq(email)).filter(login_failures::ip.eq(ip)))
        .execute(conn)
}
