//! Rows of `accounts`, `users` and `domains`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::plan::Plan;
use super::role::Role;
use crate::schema::{accounts, domains, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    pub plan: String,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// The CHECK constraint keeps `plan` valid; Pulse is the safe reading of anything else.
    pub fn plan(&self) -> Plan {
        Plan::parse(&self.plan).unwrap_or(Plan::Pulse)
    }
}

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: Uuid,
    pub account_id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl User {
    /// The CHECK constraint keeps `role` valid; viewer is the safe reading of anything else.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = domains, check_for_backend(diesel::pg::Pg))]
pub struct Domain {
    pub id: Uuid,
    pub account_id: Uuid,
    pub hostname: String,
    pub created_at: DateTime<Utc>,
}
