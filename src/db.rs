//! Connection pool, database creation, embedded migrations under an advisory lock,
//! and the helper that keeps Diesel's blocking calls off the async workers.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any constant works as long as every instance uses the same one.
const MIGRATION_LOCK_ID: i64 = 0x0CC1_1C45_0001;

diesel::define_sql_function! {
    /// SQL `lower()`, for case-insensitive names.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

pub type PgPool = Pool<ConnectionManager<PgConnection>>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had in time (pool exhausted, server down).
    #[error("database unavailable")]
    Unavailable,
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl DbError {
    /// A query error that really means the server went away is an outage, not a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unavailable => true,
            DbError::Query(diesel::result::Error::DatabaseError(kind, info)) => {
                matches!(kind, diesel::result::DatabaseErrorKind::ClosedConnection)
                    || info.message().contains("lock timeout")
                    || info.message().contains("canceling statement due to")
                    || info.message().contains("terminating connection")
            }
            _ => false,
        }
    }
}

/// Splits a database URL into the part before the database name, the name, and the query.
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let (base, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let scheme_end = base.find("://")? + 3;
    let slash = base[scheme_end..].find('/').map(|i| i + scheme_end)?;
    Some((&base[..slash], &base[slash + 1..], query))
}

/// The database name of a URL, for messages.
pub fn database_name(url: &str) -> Option<&str> {
    split_url(url).map(|(_, name, _)| name).filter(|n| !n.is_empty())
}

/// Creates the URL's database when it does not exist yet (connecting to `postgres`).
pub fn ensure_database(url: &str) -> anyhow::Result<()> {
    if PgConnection::establish(url).is_ok() {
        return Ok(());
    }
    let (base, name, query) = split_url(url).ok_or_else(|| anyhow::anyhow!("DATABASE_URL has no database name"))?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        anyhow::bail!("DATABASE_URL: database name {name:?} must use only letters, digits, '_' and '-'");
    }
    let admin_url = format!("{base}/postgres{query}");
    let mut admin = PgConnection::establish(&admin_url).map_err(|e| {
        anyhow::anyhow!(
            "cannot reach PostgreSQL at {}: {e}\n  start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            redact(&admin_url)
        )
    })?;
    match diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin) {
        Ok(_) => Ok(()),
        // Another instance created it first: fine.
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("already exists") || info.message().contains("duplicate key") =>
        {
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("cannot create database {name}: {e}")),
    }
}

/// Applies pending migrations. The advisory lock makes instances that start together
/// take turns: the first migrates, the others find nothing left to do.
pub fn run_migrations(conn: &mut PgConnection) -> anyhow::Result<usize> {
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK_ID)
        .execute(conn)?;
    let result = conn.run_pending_migrations(MIGRATIONS).map(|applied| applied.len());
    let unlock = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK_ID)
        .execute(conn);
    let applied = result.map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    unlock?;
    Ok(applied)
}

/// Creates the database if needed and migrates it: what every CLI command does first.
pub fn prepare(url: &str) -> anyhow::Result<()> {
    ensure_database(url)?;
    let mut conn =
        PgConnection::establish(url).map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", redact(url)))?;
    run_migrations(&mut conn)?;
    Ok(())
}

/// Bounds lock waits so a held row lock turns into a quick 503, never a hung request.
#[derive(Debug)]
struct SessionDefaults {
    lock_timeout: Duration,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionDefaults {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "SET lock_timeout = '{}ms'; SET statement_timeout = '15s'; SET idle_in_transaction_session_timeout = '30s'",
            self.lock_timeout.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Lock wait of the admin pool: its transactions lock the domain row to count keys.
pub const ADMIN_LOCK_TIMEOUT: Duration = Duration::from_secs(2);
/// Lock wait of the inbound pool. The group insert's foreign-key check waits on a key
/// row locked elsewhere (a delete in progress holds it for milliseconds); a longer hold
/// must fail fast, because that commit also carries other keys' events.
pub const INBOUND_LOCK_TIMEOUT: Duration = Duration::from_millis(250);

pub fn build_pool(url: &str, size: u32, checkout_timeout: Duration, lock_timeout: Duration) -> PgPool {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(1.min(size)))
        .connection_timeout(checkout_timeout)
        .connection_customizer(Box::new(SessionDefaults { lock_timeout }))
        // Build even when the database is down; requests answer 503 until it is back.
        .build_unchecked(ConnectionManager::new(url))
}

/// Runs Diesel work on the blocking thread pool with a pooled connection.
pub async fn run<T, E, F>(pool: &PgPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(|_| E::from(DbError::Unavailable))?;
        work(&mut conn)
    })
    .await
    .map_err(|_| E::from(DbError::Unavailable))?
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..s + 3], &userinfo[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A raw SQL query whose text is a constant, so its prepared statement can be kept and
/// reused. Diesel marks every `sql_query` unsafe to cache (its text could be built per
/// call), which costs a parse and a plan on every execution; hot-path statements with
/// array binds have one fixed text and skip both this way.
pub struct Reusable<Q>(pub Q);

impl<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>> diesel::query_builder::QueryFragment<diesel::pg::Pg>
    for Reusable<Q>
{
    fn walk_ast<'b>(&'b self, pass: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &diesel::pg::Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> diesel::query_builder::QueryId for Reusable<Q> {
    // No static id: the statement cache then keys on the SQL text and bind types.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Reusable<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Reusable<Q> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(split_url("postgres://u@h:5432/db?host=/x"), Some(("postgres://u@h:5432", "db", "?host=/x")));
        assert_eq!(database_name("postgres://u@h/"), None);
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
