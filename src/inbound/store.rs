//! Authentication and storage for inbound events.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::payload::ConversionEvent;
use crate::db::Reusable;
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
pub fn lookup_key(conn: &mut PgConnection, hash: &KeyHash) -> QueryResult<Option<AuthenticatedKey>> {
    let row = inbound_keys::table
        .filter(inbound_keys::key_sha256.eq(hash.0.as_slice()))
        .select((inbound_keys::id, inbound_keys::domain_id, inbound_keys::revoked_at))
        .first::<(Uuid, Uuid, Option<DateTime<Utc>>)>(conn)
        .optional()?;
    Ok(row.map(|(id, domain_id, revoked_at)| AuthenticatedKey {
        id,
        domain_id,
        state: if revoked_at.is_none() { KeyState::Active } else { KeyState::Revoked },
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
/// key row while inserts (whose foreign-key check share-locks that row) wait. `SKIP
/// LOCKED` means a key row locked elsewhere skips this write instead of waiting; the
/// caller then lets the next request try again.
pub fn touch_last_used(conn: &mut PgConnection, key_id: Uuid) -> QueryResult<bool> {
    diesel::sql_query(
        "UPDATE inbound_keys SET last_used_at = now()
          WHERE id = (SELECT id FROM inbound_keys WHERE id = $1 AND revoked_at IS NULL FOR NO KEY UPDATE SKIP LOCKED)",
    )
    .bind::<SqlUuid, _>(key_id)
    .execute(conn)
    .map(|updated| updated == 1)
}

/// Remembers that the key was sent from a web page (the tab warns about it).
pub fn flag_browser_origin(conn: &mut PgConnection, key_id: Uuid, origin: &str) -> QueryResult<usize> {
    diesel::update(inbound_keys::table.filter(inbound_keys::id.eq(key_id)))
        .set((inbound_keys::browser_origin.eq(origin), inbound_keys::browser_origin_seen_at.eq(diesel::dsl::now)))
        .execute(conn)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    Accepted(Uuid),
    /// The domain already has an event with this `event_id`: the original's id.
    Duplicate(Uuid),
    /// The key was revoked or deleted between the lookup and the insert.
    KeyNoLongerActive,
}

/// One event to store, with the id it will get and the key that sent it.
#[derive(Clone)]
pub struct NewEvent<'a> {
    pub id: Uuid,
    pub key_id: Uuid,
    pub event: &'a ConversionEvent,
    /// The request that delivered it, for tracing a delivery in the logs.
    pub request_id: &'a str,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct ExistingRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    key_id: Uuid,
    #[diesel(sql_type = Text)]
    event_id: String,
}

/// Stores events in one transaction: one constant-shape, prepared-once statement (arrays, not a
/// VALUES list per batch size). The key's state is checked inside the INSERT itself, so
/// a revoke that commits before it is always honoured; `ON CONFLICT` makes retries with
/// the same `event_id` store nothing new, also when they arrive together. Outcomes come
/// back in input order. Nothing is reported accepted before the commit.
pub fn store_events(conn: &mut PgConnection, events: &[NewEvent<'_>]) -> QueryResult<Vec<StoreOutcome>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    // One statement is one transaction: all rows commit together or none do.
    let inserted: Vec<IdRow> = Reusable(
        diesel::sql_query(
            "INSERT INTO conversion_events
                 (id, domain_id, inbound_key_id, key_name, email, email_sha256, event, value, currency,
                  event_id, click_id, occurred_at, properties, request_id)
             SELECT e.id, k.domain_id, k.id, k.name, e.email, e.email_sha256, e.event, e.value, e.currency,
                    e.event_id, e.click_id, COALESCE(e.occurred_at, now()), e.properties::jsonb, e.request_id
               FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::numeric[],
                           $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[])
                    WITH ORDINALITY AS e(id, key_id, email, email_sha256, event, value, currency,
                                         event_id, click_id, occurred_at, properties, request_id, ord)
               JOIN inbound_keys k ON k.id = e.key_id AND k.revoked_at IS NULL
              ORDER BY e.ord
             ON CONFLICT (domain_id, event_id) DO NOTHING
             RETURNING id",
        )
        .bind::<Array<SqlUuid>, _>(events.iter().map(|e| e.id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(events.iter().map(|e| e.key_id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events.iter().map(|e| e.event.email.as_str()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events.iter().map(|e| e.event.email.sha256_hex()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events.iter().map(|e| e.event.event.as_str()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Numeric>>, _>(events.iter().map(|e| e.event.value.as_ref()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(
            events.iter().map(|e| e.event.currency.as_ref().map(|c| c.as_str())).collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Text>>, _>(events.iter().map(|e| e.event.event_id.as_deref()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(events.iter().map(|e| e.event.click_id.as_deref()).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(events.iter().map(|e| e.event.occurred_at).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(events.iter().map(|e| e.event.properties.as_deref()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(events.iter().map(|e| e.request_id).collect::<Vec<_>>()),
    )
    .load(conn)?;
    let inserted: std::collections::HashSet<Uuid> = inserted.into_iter().map(|r| r.id).collect();

    // Rows not inserted are duplicates of a stored event, or their key went inactive.
    let missing: Vec<&NewEvent<'_>> =
        events.iter().filter(|e| !inserted.contains(&e.id) && e.event.event_id.is_some()).collect();
    let mut originals: HashMap<(Uuid, &str), Uuid> = HashMap::new();
    let existing: Vec<ExistingRow> = if missing.is_empty() {
        Vec::new()
    } else {
        find_existing(conn, missing.iter().map(|e| (e.key_id, e.event.event_id.as_deref().unwrap_or_default())))?
    };
    for row in &existing {
        originals.insert((row.key_id, row.event_id.as_str()), row.id);
    }
    Ok(events
        .iter()
        .map(|e| {
            if inserted.contains(&e.id) {
                return StoreOutcome::Accepted(e.id);
            }
            e.event
                .event_id
                .as_deref()
                .and_then(|event_id| originals.get(&(e.key_id, event_id)))
                .map_or(StoreOutcome::KeyNoLongerActive, |id| StoreOutcome::Duplicate(*id))
        })
        .collect())
}

/// Stored events of the keys' domains with these `event_id`s (only for active keys).
fn find_existing<'a>(
    conn: &mut PgConnection,
    pairs: impl Iterator<Item = (Uuid, &'a str)>,
) -> QueryResult<Vec<ExistingRow>> {
    let (key_ids, event_ids): (Vec<Uuid>, Vec<&str>) = pairs.unzip();
    Reusable(
        diesel::sql_query(
            "SELECT c.id, d.key_id, c.event_id
           FROM unnest($1::uuid[], $2::text[]) AS d(key_id, event_id)
           JOIN inbound_keys k ON k.id = d.key_id AND k.revoked_at IS NULL
           JOIN conversion_events c ON c.domain_id = k.domain_id AND c.event_id = d.event_id",
        )
        .bind::<Array<SqlUuid>, _>(key_ids)
        .bind::<Array<Text>, _>(event_ids),
    )
    .load(conn)
}

/// For validate mode: which of these `event_id`s the key's domain already has.
pub fn existing_event_ids(
    conn: &mut PgConnection,
    key_id: Uuid,
    event_ids: &[&str],
) -> QueryResult<HashMap<String, Uuid>> {
    let rows = find_existing(conn, event_ids.iter().map(|id| (key_id, *id)))?;
    Ok(rows.into_iter().map(|r| (r.event_id, r.id)).collect())
}
