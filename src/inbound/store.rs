//! Authentication and storage for inbound events.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::payload::ConversionEvent;
use crate::keys::secret::KeyHash;
use crate::schema::inbound_keys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    Revoked,
}

#[derive(Debug, Clone)]
pub struct AuthenticatedKey {
    pub id: Uuid,
    pub domain_id: Uuid,
    pub state: KeyState,
}

/// One unique-index probe by the key's SHA-256.
pub fn lookup_key(
    conn: &mut PgConnection,
    hash: &KeyHash,
) -> QueryResult<Option<AuthenticatedKey>> {
    let row = inbound_keys::table
        .filter(inbound_keys::key_sha256.eq(hash.0.as_slice()))
        .select((
            inbound_keys::id,
            inbound_keys::domain_id,
            inbound_keys::revoked_at,
        ))
        .first::<(Uuid, Uuid, Option<DateTime<Utc>>)>(conn)
        .optional()?;
    Ok(row.map(|(id, domain_id, revoked_at)| AuthenticatedKey {
        id,
        domain_id,
        state: if revoked_at.is_none() {
            KeyState::Active
        } else {
            KeyState::Revoked
        },
    }))
}

/// Remembers when this process last wrote each key's `last_used_at`, so a busy key
/// costs at most one row update per minute instead of one per request.
#[derive(Default)]
pub struct LastUsedMarks {
    written: Mutex<HashMap<Uuid, Instant>>,
}

pub const LAST_USED_EVERY: Duration = Duration::from_secs(60);

impl LastUsedMarks {
    /// True when the caller should write `last_used_at` now. Marking before writing
    /// means concurrent requests of one key never race to update the same row.
    pub fn claim(&self, key_id: Uuid) -> bool {
        let now = Instant::now();
        let mut written = match self.written.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        match written.get(&key_id) {
            Some(at) if now.duration_since(*at) < LAST_USED_EVERY => false,
            _ => {
                if written.len() > 100_000 {
                    written.retain(|_, at| now.duration_since(*at) < LAST_USED_EVERY);
                }
                written.insert(key_id, now);
                true
            }
        }
    }

    /// Lets the next request try again after a failed write.
    pub fn release(&self, key_id: Uuid) {
        if let Ok(mut written) = self.written.lock() {
            written.remove(&key_id);
        }
    }
}

/// A short statement of its own, outside any event transaction, so it never holds the
/// key row while inserts (whose foreign key check share-locks that row) wait.
pub fn touch_last_used(conn: &mut PgConnection, key_id: Uuid) -> QueryResult<usize> {
    diesel::update(
        inbound_keys::table
            .filter(inbound_keys::id.eq(key_id))
            .filter(inbound_keys::revoked_at.is_null()),
    )
    .set(inbound_keys::last_used_at.eq(diesel::dsl::now))
    .execute(conn)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOutcome {
    Accepted(Uuid),
    /// The domain already has an event with this `event_id`: the original's id.
    Duplicate(Uuid),
    /// The key was revoked or deleted between the lookup and the insert.
    KeyNoLongerActive,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Stores one event. The key's state is checked inside the INSERT itself, so a revoke
/// that commits before this statement is always honoured; `ON CONFLICT` makes retries
/// with the same `event_id` store nothing new, also when they arrive together.
pub fn store_event(
    conn: &mut PgConnection,
    key_id: Uuid,
    event: &ConversionEvent,
) -> QueryResult<StoreOutcome> {
    let inserted = diesel::sql_query(
        "INSERT INTO conversion_events
             (domain_id, inbound_key_id, key_name, email, email_sha256, event, value, currency,
              event_id, click_id, occurred_at, properties)
         SELECT k.domain_id, k.id, k.name, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, now()), $10::jsonb
           FROM inbound_keys k
          WHERE k.id = $1 AND k.revoked_at IS NULL
         ON CONFLICT (domain_id, event_id) DO NOTHING
         RETURNING id",
    )
    .bind::<SqlUuid, _>(key_id)
    .bind::<Text, _>(event.email.as_str())
    .bind::<Text, _>(event.email.sha256_hex())
    .bind::<Text, _>(&event.event)
    .bind::<Nullable<Numeric>, _>(event.value.as_ref())
    .bind::<Nullable<Text>, _>(event.currency.as_ref().map(|c| c.as_str()))
    .bind::<Nullable<Text>, _>(event.event_id.as_deref())
    .bind::<Nullable<Text>, _>(event.click_id.as_deref())
    .bind::<Nullable<Timestamptz>, _>(event.occurred_at)
    .bind::<Nullable<Text>, _>(event.properties.as_deref())
    .get_result::<IdRow>(conn)
    .optional()?;
    if let Some(row) = inserted {
        return Ok(StoreOutcome::Accepted(row.id));
    }
    if let Some(event_id) = &event.event_id {
        let original = diesel::sql_query(
            "SELECT e.id FROM conversion_events e JOIN inbound_keys k ON k.domain_id = e.domain_id
              WHERE k.id = $1 AND k.revoked_at IS NULL AND e.event_id = $2",
        )
        .bind::<SqlUuid, _>(key_id)
        .bind::<Text, _>(event_id)
        .get_result::<IdRow>(conn)
        .optional()?;
        if let Some(row) = original {
            return Ok(StoreOutcome::Duplicate(row.id));
        }
    }
    Ok(StoreOutcome::KeyNoLongerActive)
}
