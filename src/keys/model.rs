//! Rows of `inbound_keys`, and what the tab shows of them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::inbound_keys;

/// A key as listed on the tab. No secret material: only the display prefix.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inbound_keys, check_for_backend(diesel::pg::Pg))]
pub struct KeyRow {
    pub id: Uuid,
    pub domain_id: Uuid,
    pub name: String,
    pub display_prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Set by the inbound endpoint's browser-exposure guard.
    pub browser_origin: Option<String>,
    pub browser_origin_seen_at: Option<DateTime<Utc>>,
}

impl KeyRow {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A key row with the email of whoever created it.
#[derive(Debug, Clone)]
pub struct ListedKey {
    pub key: KeyRow,
    pub created_by: Option<String>,
}
