//! The audit trail of key changes: who created, revoked, restored or deleted which key,
//! when, and from where. Written in the same transaction as the change, so there is no
//! change without its record; rows outlive the key and are never edited by the app.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::key_audit_events;

pub const PAGE_SIZE: i64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Create,
    Revoke,
    Restore,
    Delete,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Create => "create",
            AuditAction::Revoke => "revoke",
            AuditAction::Restore => "restore",
            AuditAction::Delete => "delete",
        }
    }
}

/// Who is acting, and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub email: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    action: AuditAction,
    domain_id: Uuid,
    key_id: Uuid,
    key_name: &str,
    key_prefix: &str,
) -> QueryResult<()> {
    diesel::insert_into(key_audit_events::table)
        .values((
            key_audit_events::domain_id.eq(domain_id),
            key_audit_events::key_id.eq(key_id),
            key_audit_events::key_name.eq(key_name),
            key_audit_events::key_prefix.eq(key_prefix),
            key_audit_events::action.eq(action.as_str()),
            key_audit_events::actor_user_id.eq(actor.user_id),
            key_audit_events::actor_email.eq(&actor.email),
            key_audit_events::source_ip.eq(actor.ip.as_deref()),
            key_audit_events::user_agent.eq(actor.user_agent.as_deref()),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = key_audit_events, check_for_backend(diesel::pg::Pg))]
pub struct AuditEvent {
    pub key_name: String,
    /// Tells apart keys that share a name (an old and a new "HubSpot").
    pub key_prefix: Option<String>,
    pub action: String,
    pub actor_email: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: DateTime<Utc>,
}

/// One page of the domain's trail, newest first, and whether an older page exists.
pub fn page(conn: &mut PgConnection, domain_id: Uuid, page: i64) -> QueryResult<(Vec<AuditEvent>, bool)> {
    let mut rows = key_audit_events::table
        .filter(key_audit_events::domain_id.eq(domain_id))
        .order((key_audit_events::at.desc(), key_audit_events::id.desc()))
        .offset(page.max(0) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
        .select(AuditEvent::as_select())
        .load(conn)?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    Ok((rows, more))
}
