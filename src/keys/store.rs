//! Queries on inbound keys. The plan limit is enforced here, under a lock on the
//! domain row, so concurrent creates can never push a domain past its limit.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use uuid::Uuid;

use super::audit::{self, Actor, AuditAction};
use super::model::{KeyRow, ListedKey};
use super::name::KeyName;
use super::secret::PlainKey;
use crate::accounts::Plan;
use crate::db::{DbError, lower};
use crate::schema::{accounts, domains, inbound_keys, key_create_tokens, users};

#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    #[error("the plan's key limit is reached")]
    LimitReached { plan: Plan, limit: i64 },
    #[error("a key with this name already exists")]
    NameTaken,
    /// The form's one-time token was used before: never create or reveal a second key.
    #[error("this form was already submitted")]
    AlreadySubmitted,
    #[error(transparent)]
    Randomness(#[from] super::secret::RandomnessUnavailable),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<DieselError> for CreateKeyError {
    fn from(e: DieselError) -> Self {
        CreateKeyError::Db(e.into())
    }
}

pub struct CreatedKey {
    pub row: KeyRow,
    pub plain: PlainKey,
}

pub fn list_keys(conn: &mut PgConnection, domain_id: Uuid) -> QueryResult<Vec<ListedKey>> {
    let rows = inbound_keys::table
        .left_join(users::table)
        .filter(inbound_keys::domain_id.eq(domain_id))
        .order((inbound_keys::created_at.desc(), inbound_keys::id.asc()))
        .select((KeyRow::as_select(), users::email.nullable()))
        .load::<(KeyRow, Option<String>)>(conn)?;
    Ok(rows.into_iter().map(|(key, created_by)| ListedKey { key, created_by }).collect())
}

/// One page of the domain's keys, newest first.
pub fn list_keys_page(
    conn: &mut PgConnection,
    domain_id: Uuid,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ListedKey>> {
    let rows = inbound_keys::table
        .left_join(users::table)
        .filter(inbound_keys::domain_id.eq(domain_id))
        .order((inbound_keys::created_at.desc(), inbound_keys::id.asc()))
        .offset(offset)
        .limit(limit)
        .select((KeyRow::as_select(), users::email.nullable()))
        .load::<(KeyRow, Option<String>)>(conn)?;
    Ok(rows.into_iter().map(|(key, created_by)| ListedKey { key, created_by }).collect())
}

/// Keys that count against the plan: every key that still exists, active or revoked.
pub fn count_keys(conn: &mut PgConnection, domain_id: Uuid) -> QueryResult<i64> {
    inbound_keys::table.filter(inbound_keys::domain_id.eq(domain_id)).count().get_result(conn)
}

pub fn find_key(conn: &mut PgConnection, domain_id: Uuid, key_id: Uuid) -> QueryResult<Option<KeyRow>> {
    inbound_keys::table
        .filter(inbound_keys::id.eq(key_id))
        .filter(inbound_keys::domain_id.eq(domain_id))
        .select(KeyRow::as_select())
        .first(conn)
        .optional()
}

/// A key of the domain with the email of whoever created it.
pub fn find_listed_key(conn: &mut PgConnection, domain_id: Uuid, key_id: Uuid) -> QueryResult<Option<ListedKey>> {
    let row = inbound_keys::table
        .left_join(users::table)
        .filter(inbound_keys::id.eq(key_id))
        .filter(inbound_keys::domain_id.eq(domain_id))
        .select((KeyRow::as_select(), users::email.nullable()))
        .first::<(KeyRow, Option<String>)>(conn)
        .optional()?;
    Ok(row.map(|(key, created_by)| ListedKey { key, created_by }))
}

pub fn name_taken(conn: &mut PgConnection, domain_id: Uuid, name: &KeyName) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        inbound_keys::table
            .filter(inbound_keys::domain_id.eq(domain_id))
            .filter(lower(inbound_keys::name).eq(lower(name.as_str()))),
    ))
    .get_result(conn)
}

/// Creates a key within the plan limit. The domain row is locked first: locking key
/// rows would lock nothing when there are none yet, and the count must not race.
pub fn create_key(
    conn: &mut PgConnection,
    domain_id: Uuid,
    actor: &Actor,
    name: &KeyName,
    form_token: Uuid,
) -> Result<CreatedKey, CreateKeyError> {
    let user_id = actor.user_id;
    let plain = PlainKey::generate()?;
    conn.transaction(|conn| {
        let account_id: Uuid = domains::table.find(domain_id).select(domains::account_id).for_update().first(conn)?;
        // Read after the lock, so a plan change that committed first is honoured.
        let plan_name: String = accounts::table.find(account_id).select(accounts::plan).first(conn)?;
        let plan = Plan::parse(&plan_name).unwrap_or(Plan::Pulse);

        let fresh_token = diesel::insert_into(key_create_tokens::table)
            .values((key_create_tokens::token.eq(form_token), key_create_tokens::user_id.eq(user_id)))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if fresh_token == 0 {
            return Err(CreateKeyError::AlreadySubmitted);
        }
        if let Some(limit) = plan.key_limit()
            && count_keys(conn, domain_id)? >= limit
        {
            return Err(CreateKeyError::LimitReached { plan, limit });
        }
        if name_taken(conn, domain_id, name)? {
            return Err(CreateKeyError::NameTaken);
        }
        let row = diesel::insert_into(inbound_keys::table)
            .values((
                inbound_keys::domain_id.eq(domain_id),
                inbound_keys::name.eq(name.as_str()),
                inbound_keys::display_prefix.eq(plain.display_prefix()),
                inbound_keys::key_sha256.eq(plain.hash().0.to_vec()),
                inbound_keys::created_by.eq(user_id),
            ))
            .returning(KeyRow::as_returning())
            .get_result(conn)
            .map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => CreateKeyError::NameTaken,
                other => other.into(),
            })?;
        audit::record(conn, actor, AuditAction::Create, domain_id, row.id, &row.name, &row.display_prefix)?;
        Ok(CreatedKey { row, plain })
    })
}

/// Revokes, restores or deletes a key of the domain and records it in the audit trail,
/// in one transaction. `None` when the key does not exist on this domain. Revoking a
/// revoked key (or restoring an active one) changes nothing and records nothing.
///
/// Authentication reads `revoked_at` inside every insert, so a revoke stops the key on
/// the very next request, on every instance; no cache can outlive it.
pub fn change_key(
    conn: &mut PgConnection,
    domain_id: Uuid,
    key_id: Uuid,
    action: AuditAction,
    actor: &Actor,
) -> QueryResult<Option<KeyRow>> {
    conn.transaction(|conn| {
        let this_key =
            inbound_keys::table.filter(inbound_keys::id.eq(key_id)).filter(inbound_keys::domain_id.eq(domain_id));
        let changed = match action {
            AuditAction::Revoke => diesel::update(this_key.filter(inbound_keys::revoked_at.is_null()))
                .set(inbound_keys::revoked_at.eq(diesel::dsl::now))
                .returning(KeyRow::as_returning())
                .get_result(conn)
                .optional()?,
            AuditAction::Restore => diesel::update(this_key.filter(inbound_keys::revoked_at.is_not_null()))
                .set(inbound_keys::revoked_at.eq(None::<chrono::DateTime<chrono::Utc>>))
                .returning(KeyRow::as_returning())
                .get_result(conn)
                .optional()?,
            // Its events stay: `inbound_key_id` becomes NULL and `key_name` keeps the name.
            AuditAction::Delete => {
                diesel::delete(this_key).returning(KeyRow::as_returning()).get_result(conn).optional()?
            }
            AuditAction::Create => None,
        };
        match changed {
            Some(row) => {
                audit::record(conn, actor, action, domain_id, row.id, &row.name, &row.display_prefix)?;
                Ok(Some(row))
            }
            None => find_key(conn, domain_id, key_id),
        }
    })
}
