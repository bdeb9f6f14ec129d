//! Reading usage insight for the tab, the key's page and the revoke dialog.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Int2, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

pub const SPARK_DAYS: i64 = 14;

#[derive(Debug, Clone, QueryableByName)]
pub struct Source {
    #[diesel(sql_type = SqlUuid)]
    pub key_id: Uuid,
    #[diesel(sql_type = Text)]
    pub ip: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_agent: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub last_seen_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct KeyInsight {
    /// Oldest first, one entry per day of the last 14 (UTC), zero-filled.
    pub daily: Vec<(NaiveDate, i64, i64)>,
    pub accepted_7d: i64,
    pub rejected_7d: i64,
    /// Newest first, at most 5 distinct addresses.
    pub sources: Vec<Source>,
}

#[derive(QueryableByName)]
struct DayRow {
    #[diesel(sql_type = SqlUuid)]
    key_id: Uuid,
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    accepted: i64,
    #[diesel(sql_type = BigInt)]
    rejected: i64,
}

/// Insight for a page of keys, in two queries whatever the number of keys.
pub fn for_keys(
    conn: &mut PgConnection,
    key_ids: &[Uuid],
    now: DateTime<Utc>,
) -> QueryResult<HashMap<Uuid, KeyInsight>> {
    let today = now.date_naive();
    let first_day = today - Duration::days(SPARK_DAYS - 1);
    let days: Vec<DayRow> = diesel::sql_query(
        "SELECT key_id, (hour AT TIME ZONE 'UTC')::date AS day, sum(accepted)::int8 AS accepted, sum(rejected + revoked_calls)::int8 AS rejected
           FROM key_hourly_usage
          WHERE key_id = ANY($1) AND hour >= $2::date::timestamp AT TIME ZONE 'UTC'
          GROUP BY 1, 2",
    )
    .bind::<Array<SqlUuid>, _>(key_ids)
    .bind::<Date, _>(first_day)
    .load(conn)?;
    let sources: Vec<Source> = diesel::sql_query(
        "SELECT key_id, ip, user_agent, last_seen_at FROM (
            SELECT key_id, ip, user_agent, last_seen_at,
                   row_number() OVER (PARTITION BY key_id ORDER BY last_seen_at DESC) AS rn
              FROM key_sources WHERE key_id = ANY($1)) s
          WHERE rn <= 5 ORDER BY key_id, last_seen_at DESC",
    )
    .bind::<Array<SqlUuid>, _>(key_ids)
    .load(conn)?;

    let mut by_key: HashMap<Uuid, KeyInsight> = HashMap::new();
    let mut counts: HashMap<(Uuid, NaiveDate), (i64, i64)> = HashMap::new();
    for row in days {
        counts.insert((row.key_id, row.day), (row.accepted, row.rejected));
    }
    let week_start = today - Duration::days(6);
    for key_id in key_ids {
        let mut insight = KeyInsight::default();
        for offset in 0..SPARK_DAYS {
            let day = first_day + Duration::days(offset);
            let (accepted, rejected) = counts.get(&(*key_id, day)).copied().unwrap_or((0, 0));
            if day >= week_start {
                insight.accepted_7d += accepted;
                insight.rejected_7d += rejected;
            }
            insight.daily.push((day, accepted, rejected));
        }
        by_key.insert(*key_id, insight);
    }
    for source in sources {
        if let Some(insight) = by_key.get_mut(&source.key_id) {
            insight.sources.push(source);
        }
    }
    Ok(by_key)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct RevokedButCalled {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub calls: i64,
}

/// Revoked keys of the domain that were called in the last 24 hours: an integration
/// somewhere is still using them and failing.
pub fn revoked_but_called(conn: &mut PgConnection, domain_id: Uuid) -> QueryResult<Vec<RevokedButCalled>> {
    diesel::sql_query(
        "SELECT k.name, sum(u.revoked_calls)::int8 AS calls
           FROM key_hourly_usage u JOIN inbound_keys k ON k.id = u.key_id
          WHERE k.domain_id = $1 AND k.revoked_at IS NOT NULL AND u.hour > now() - interval '24 hours'
          GROUP BY k.id, k.name HAVING sum(u.revoked_calls) > 0
          ORDER BY calls DESC",
    )
    .bind::<SqlUuid, _>(domain_id)
    .load(conn)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct DeliveryRow {
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub event: Option<String>,
    #[diesel(sql_type = Text)]
    pub outcome: String,
    #[diesel(sql_type = Int2)]
    pub status: i16,
    #[diesel(sql_type = Nullable<Text>)]
    pub error_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub request_id: Option<String>,
}

/// The key's newest 100 deliveries: accepted ones from `conversion_events`, the rest
/// from `key_deliveries`. `outcome` filters to one kind ("accepted", "duplicate", "rejected").
pub fn deliveries(conn: &mut PgConnection, key_id: Uuid, outcome: Option<&str>) -> QueryResult<Vec<DeliveryRow>> {
    diesel::sql_query(
        "SELECT at, event, outcome, status, error_code, request_id FROM (
            (SELECT received_at AS at, event, 'accepted'::text AS outcome, 202::int2 AS status,
                    NULL::text AS error_code, request_id
               FROM conversion_events WHERE inbound_key_id = $1 AND ($2::text IS NULL OR $2 = 'accepted')
              ORDER BY received_at DESC LIMIT 100)
            UNION ALL
            (SELECT at, event, outcome, status, error_code, request_id
               FROM key_deliveries WHERE key_id = $1 AND ($2::text IS NULL OR outcome = $2)
              ORDER BY at DESC LIMIT 100)
         ) d ORDER BY at DESC LIMIT 100",
    )
    .bind::<SqlUuid, _>(key_id)
    .bind::<Nullable<Text>, _>(outcome)
    .load(conn)
}
