//! Records what each inbound request did, for the tab's insight and debugger, without
//! slowing the request: handlers hand a small record to a channel (dropped if the
//! channel is full — this is insight, not data), and one background task writes what
//! has queued up in a single transaction, aggregated.
//!
//! Accepted events are not written here: they are already in `conversion_events`.
//! Only the counters, the sources, and duplicates and rejections are.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Int2, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::db::PgPool;

const QUEUE: usize = 65_536;
const MAX_BATCH: usize = 10_000;
const PRUNE_EVERY: Duration = Duration::from_secs(60);
const GATHER_FOR: Duration = Duration::from_millis(200);
/// Deliveries kept per key.
pub const DELIVERIES_KEPT: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Duplicate,
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
            Outcome::Rejected => "rejected",
        }
    }
}

/// One request (or one event of a batch) as seen by a key.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub key_id: Uuid,
    pub at: DateTime<Utc>,
    pub event: Option<String>,
    pub outcome: Outcome,
    pub status: u16,
    /// The error code, with the fields for a validation failure.
    pub error_code: Option<String>,
    pub request_id: String,
    /// The key was revoked: counts as a call to a revoked key, not as use.
    pub revoked: bool,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Clone)]
pub struct UsageRecorder {
    queue: mpsc::Sender<Delivery>,
}

impl UsageRecorder {
    /// Starts the background writer on the current Tokio runtime.
    pub fn start(pool: PgPool) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(pool, receiver));
        Self { queue }
    }

    pub fn record(&self, delivery: Delivery) {
        // Never wait on insight: when the writer falls behind, records are dropped.
        let _ = self.queue.try_send(delivery);
    }
}

async fn write_loop(pool: PgPool, mut receiver: mpsc::Receiver<Delivery>) {
    let mut last_prune = Instant::now();
    while let Some(first) = receiver.recv().await {
        // Let a moment's records gather, so a busy key costs one write per interval
        // rather than a wake-up and a transaction per request.
        tokio::time::sleep(GATHER_FOR).await;
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(delivery) => batch.push(delivery),
                Err(_) => break,
            }
        }
        let prune = last_prune.elapsed() >= PRUNE_EVERY;
        if prune {
            last_prune = Instant::now();
        }
        let pool = pool.clone();
        let written = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            write(&mut conn, &batch).map_err(|e| e.to_string())?;
            if prune {
                self::prune(&mut conn).map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        })
        .await;
        if let Ok(Err(error)) = written {
            tracing::warn!(%error, "usage insight not recorded");
        }
    }
}

/// (key, source IP) → (User-Agent, time) of the latest call from there.
type SourceKey<'a> = (Uuid, &'a str);
type LatestCall<'a> = (Option<&'a str>, DateTime<Utc>);

#[derive(Default)]
struct Counters {
    accepted: i32,
    rejected: i32,
    revoked_calls: i32,
}

/// Writes one batch: duplicates and rejections, hourly counters, sources. Rows of keys
/// deleted meanwhile are skipped (every statement joins `inbound_keys`).
pub fn write(conn: &mut PgConnection, batch: &[Delivery]) -> QueryResult<()> {
    let hour = |at: DateTime<Utc>| at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at);
    let mut counters: HashMap<(Uuid, DateTime<Utc>), Counters> = HashMap::new();
    let mut sources: HashMap<SourceKey, LatestCall> = HashMap::new();
    for d in batch {
        let c = counters.entry((d.key_id, hour(d.at))).or_default();
        match (d.revoked, d.outcome) {
            (true, _) => c.revoked_calls += 1,
            (false, Outcome::Rejected) => c.rejected += 1,
            (false, Outcome::Accepted) => c.accepted += 1,
            // A duplicate stored nothing: it is use (sources, deliveries), not an event.
            (false, Outcome::Duplicate) => {}
        }
        if let (false, Some(ip)) = (d.revoked, d.ip.as_deref()) {
            let entry = sources.entry((d.key_id, ip)).or_insert((d.user_agent.as_deref(), d.at));
            if d.at >= entry.1 {
                *entry = (d.user_agent.as_deref(), d.at);
            }
        }
    }
    let not_accepted: Vec<&Delivery> = batch.iter().filter(|d| d.outcome != Outcome::Accepted).collect();
    conn.transaction(|conn| {
        if !not_accepted.is_empty() {
            diesel::sql_query(
                "INSERT INTO key_deliveries (key_id, at, event, outcome, status, error_code, request_id)
                 SELECT d.key_id, d.at, d.event, d.outcome, d.status, d.error_code, d.request_id
                   FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::int2[], $6::text[], $7::text[])
                        AS d(key_id, at, event, outcome, status, error_code, request_id)
                   JOIN inbound_keys k ON k.id = d.key_id",
            )
            .bind::<Array<SqlUuid>, _>(not_accepted.iter().map(|d| d.key_id).collect::<Vec<_>>())
            .bind::<Array<Timestamptz>, _>(not_accepted.iter().map(|d| d.at).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(not_accepted.iter().map(|d| d.event.as_deref()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(not_accepted.iter().map(|d| d.outcome.as_str()).collect::<Vec<_>>())
            .bind::<Array<Int2>, _>(not_accepted.iter().map(|d| d.status as i16).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(not_accepted.iter().map(|d| d.error_code.as_deref()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(not_accepted.iter().map(|d| d.request_id.as_str()).collect::<Vec<_>>())
            .execute(conn)?;
        }
        let (keys, hours): (Vec<Uuid>, Vec<DateTime<Utc>>) = counters.keys().copied().unzip();
        let values: Vec<&Counters> = counters.values().collect();
        diesel::sql_query(
            "INSERT INTO key_hourly_usage (key_id, hour, accepted, rejected, revoked_calls)
             SELECT c.key_id, c.hour, c.accepted, c.rejected, c.revoked_calls
               FROM unnest($1::uuid[], $2::timestamptz[], $3::int4[], $4::int4[], $5::int4[])
                    AS c(key_id, hour, accepted, rejected, revoked_calls)
               JOIN inbound_keys k ON k.id = c.key_id
             ON CONFLICT (key_id, hour) DO UPDATE SET
                accepted = key_hourly_usage.accepted + excluded.accepted,
                rejected = key_hourly_usage.rejected + excluded.rejected,
                revoked_calls = key_hourly_usage.revoked_calls + excluded.revoked_calls",
        )
        .bind::<Array<SqlUuid>, _>(keys)
        .bind::<Array<Timestamptz>, _>(hours)
        .bind::<Array<Int4>, _>(values.iter().map(|c| c.accepted).collect::<Vec<_>>())
        .bind::<Array<Int4>, _>(values.iter().map(|c| c.rejected).collect::<Vec<_>>())
        .bind::<Array<Int4>, _>(values.iter().map(|c| c.revoked_calls).collect::<Vec<_>>())
        .execute(conn)?;
        if !sources.is_empty() {
            let rows: Vec<(&SourceKey, &LatestCall)> = sources.iter().collect();
            diesel::sql_query(
                "INSERT INTO key_sources (key_id, ip, user_agent, last_seen_at)
                 SELECT s.key_id, s.ip, s.user_agent, s.at
                   FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS s(key_id, ip, user_agent, at)
                   JOIN inbound_keys k ON k.id = s.key_id
                 ON CONFLICT (key_id, ip) DO UPDATE SET
                    user_agent = excluded.user_agent,
                    last_seen_at = GREATEST(key_sources.last_seen_at, excluded.last_seen_at)",
            )
            .bind::<Array<SqlUuid>, _>(rows.iter().map(|((key, _), _)| *key).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|((_, ip), _)| *ip).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|(_, (ua, _))| *ua).collect::<Vec<_>>())
            .bind::<Array<Timestamptz>, _>(rows.iter().map(|(_, (_, at))| *at).collect::<Vec<_>>())
            .execute(conn)?;
        }
        Ok(())
    })
}

/// Keeps the insight tables bounded.
pub fn prune(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query(
        "DELETE FROM key_deliveries WHERE id IN (
            SELECT id FROM (
                SELECT id, row_number() OVER (PARTITION BY key_id ORDER BY at DESC, id DESC) AS rn FROM key_deliveries
            ) ranked WHERE rn > $1)",
    )
    .bind::<diesel::sql_types::BigInt, _>(DELIVERIES_KEPT)
    .execute(conn)?;
    diesel::sql_query("DELETE FROM key_hourly_usage WHERE hour < now() - interval '15 days'").execute(conn)?;
    diesel::sql_query(
        "DELETE FROM key_sources WHERE (key_id, ip) IN (
            SELECT key_id, ip FROM (
                SELECT key_id, ip, row_number() OVER (PARTITION BY key_id ORDER BY last_seen_at DESC) AS rn FROM key_sources
            ) ranked WHERE rn > 20)",
    )
    .execute(conn)?;
    Ok(())
}
