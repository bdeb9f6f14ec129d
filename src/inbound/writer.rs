//! Group commit for single events. Requests that arrive while a commit is running are
//! written together by the next one — one statement, one transaction, one fsync — and
//! each is answered only after that commit. Throughput then scales with concurrency
//! instead of being capped at one durable commit per request.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::payload::ConversionEvent;
use super::store::{NewEvent, StoreOutcome, store_events};
use diesel::PgConnection;

use crate::db::{DbError, PgPool};

/// Most events one commit carries.
const MAX_GROUP: usize = 500;
/// Queued events before callers wait (backpressure instead of unbounded memory).
const QUEUE: usize = 8192;
/// How long a caller waits for its commit. A database that stops answering mid-commit
/// (a frozen backend, a network that drops packets) must still get the caller a 503
/// in bounded time; the outcome of the commit in flight is then unknown, as after any
/// timeout, and a retry with the same `event_id` settles it.
const COMMIT_DEADLINE: Duration = Duration::from_secs(5);
/// Commits in flight at once: one fills while another flushes.
const COMMITS_IN_FLIGHT: usize = 2;
/// Events that must be waiting before a commit starts beside one already in flight.
/// Overlapping commits keeps the CPU busy during the other's fsync, but a tiny group
/// would pay a whole statement and commit for a few events.
const OVERLAP_AT: usize = 16;

struct Job {
    id: Uuid,
    key_id: Uuid,
    event: ConversionEvent,
    request_id: String,
    reply: oneshot::Sender<Result<StoreOutcome, DbError>>,
}

#[derive(Clone)]
pub struct EventWriter {
    queue: mpsc::Sender<Job>,
    /// Woken when `OVERLAP_AT` events are waiting.
    enough_waiting: Arc<Notify>,
}

impl EventWriter {
    /// Starts the dispatcher on the current Tokio runtime.
    pub fn start(pool: PgPool) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let enough_waiting = Arc::new(Notify::new());
        tokio::spawn(dispatch(pool, receiver, enough_waiting.clone()));
        Self { queue, enough_waiting }
    }

    /// Stores one event and waits for its commit.
    pub async fn store(
        &self,
        key_id: Uuid,
        event: ConversionEvent,
        request_id: String,
    ) -> Result<StoreOutcome, DbError> {
        let (reply, answer) = oneshot::channel();
        let job = Job { id: Uuid::new_v4(), key_id, event, request_id, reply };
        let stored = async {
            self.queue.send(job).await.map_err(|_| DbError::Unavailable)?;
            // `>=`, not `==`: two senders can pass 16 together, and neither may miss it.
            if self.queue.max_capacity() - self.queue.capacity() >= OVERLAP_AT {
                self.enough_waiting.notify_one();
            }
            answer.await.map_err(|_| DbError::Unavailable)?
        };
        // Giving up drops `answer`: a job still queued is then skipped, never stored.
        tokio::time::timeout(COMMIT_DEADLINE, stored).await.unwrap_or(Err(DbError::Unavailable))
    }
}

/// Starts a commit with everything queued by then: at once when the writer is idle;
/// beside a commit in flight once `OVERLAP_AT` events wait or that commit ends. Events
/// wait in the channel meanwhile (no wake-up per event), so under load groups grow —
/// fewer, larger commits.
async fn dispatch(pool: PgPool, mut receiver: mpsc::Receiver<Job>, enough_waiting: Arc<Notify>) {
    let slots = Arc::new(Semaphore::new(COMMITS_IN_FLIGHT));
    let commit_ended = Arc::new(Notify::new());
    while let Some(first) = receiver.recv().await {
        // Notifications can be stale (stored while nobody waited): re-check each time.
        while slots.available_permits() < COMMITS_IN_FLIGHT && receiver.len() + 1 < OVERLAP_AT {
            tokio::select! {
                () = enough_waiting.notified() => {}
                () = commit_ended.notified() => {}
            }
        }
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let mut group = Vec::with_capacity(64);
        // A caller that gave up (deadline, disconnect) was answered without a commit:
        // its event must not be stored behind its back.
        if !first.reply.is_closed() {
            group.push(first);
        }
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(job) if job.reply.is_closed() => {}
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if group.is_empty() {
            continue;
        }
        let (pool, commit_ended) = (pool.clone(), commit_ended.clone());
        // The blocking thread answers each caller itself: one hop fewer than going back
        // through this task.
        tokio::task::spawn_blocking(move || {
            let outcomes = commit(&pool, &group);
            drop(permit);
            commit_ended.notify_one();
            for (job, outcome) in group.into_iter().zip(outcomes) {
                // The caller may have gone away during the commit; the event is stored anyway.
                let _ = job.reply.send(outcome);
            }
        });
    }
}

/// One transaction for the whole group. Should it fail, each event is retried on its own,
/// so one bad event can never take its neighbours down with it.
fn commit(pool: &PgPool, group: &[Job]) -> Vec<Result<StoreOutcome, DbError>> {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(_) => return group.iter().map(|_| Err(DbError::Unavailable)).collect(),
    };
    let rows: Vec<NewEvent<'_>> = group
        .iter()
        .map(|j| NewEvent { id: j.id, key_id: j.key_id, event: &j.event, request_id: &j.request_id })
        .collect();
    match store_events(&mut conn, &rows) {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(_) => per_key(&mut conn, &rows),
    }
}

/// After a failed group: each key's events on their own, so one key's trouble (its row
/// locked, say, which the foreign-key check waits on) never holds other tenants' events.
/// A key whose statement found the database unavailable (a lock timeout included)
/// answers 503 for all its events at once; any other failure is retried event by event,
/// so one bad event cannot take its neighbours down.
fn per_key(conn: &mut PgConnection, rows: &[NewEvent<'_>]) -> Vec<Result<StoreOutcome, DbError>> {
    let mut outcomes: Vec<Option<Result<StoreOutcome, DbError>>> = rows.iter().map(|_| None).collect();
    let mut keys: Vec<uuid::Uuid> = Vec::new();
    for row in rows {
        if !keys.contains(&row.key_id) {
            keys.push(row.key_id);
        }
    }
    for key_id in keys {
        let positions: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].key_id == key_id).collect();
        let subgroup: Vec<NewEvent<'_>> = positions.iter().map(|&i| rows[i].clone()).collect();
        let results: Vec<Result<StoreOutcome, DbError>> = match store_events(conn, &subgroup).map_err(DbError::from) {
            Ok(stored) => stored.into_iter().map(Ok).collect(),
            Err(e) if e.is_unavailable() => subgroup.iter().map(|_| Err(DbError::Unavailable)).collect(),
            Err(_) => subgroup
                .iter()
                .map(|row| {
                    store_events(conn, std::slice::from_ref(row))
                        .map_err(DbError::from)
                        .map(|o| o.into_iter().next().unwrap_or(StoreOutcome::KeyNoLongerActive))
                })
                .collect(),
        };
        for (position, result) in positions.into_iter().zip(results) {
            outcomes[position] = Some(result);
        }
    }
    outcomes.into_iter().map(|o| o.unwrap_or(Err(DbError::Unavailable))).collect()
}
