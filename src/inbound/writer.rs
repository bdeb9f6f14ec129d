//! Group commit for single events. Requests that arrive while a commit is running are
//! written together by the next one — one statement, one transaction, one fsync — and
//! each is answered only after that commit. Throughput then scales with concurrency
//! instead of being capped at one durable commit per request.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use super::payload::ConversionEvent;
use super::store::{NewEvent, StoreOutcome, store_events};
use crate::db::{DbError, PgPool};

/// Most events one commit carries.
const MAX_GROUP: usize = 500;
/// Queued events before callers wait (backpressure instead of unbounded memory).
const QUEUE: usize = 8192;
/// Commits in flight at once: one fills while another flushes.
const COMMITS_IN_FLIGHT: usize = 2;

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
}

impl EventWriter {
    /// Starts the dispatcher on the current Tokio runtime.
    pub fn start(pool: PgPool) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(dispatch(pool, receiver));
        Self { queue }
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
        self.queue.send(job).await.map_err(|_| DbError::Unavailable)?;
        answer.await.map_err(|_| DbError::Unavailable)?
    }
}

/// Starts a commit as soon as a commit slot is free, with everything queued by then.
/// While both slots are busy, events keep collecting into the next group, so under load
/// groups grow (fewer, larger commits) and when idle an event is committed at once.
async fn dispatch(pool: PgPool, mut receiver: mpsc::Receiver<Job>) {
    let slots = Arc::new(Semaphore::new(COMMITS_IN_FLIGHT));
    let mut group: Vec<Job> = Vec::new();
    loop {
        if group.is_empty() {
            match receiver.recv().await {
                Some(job) => group.push(job),
                None => return,
            }
        }
        let permit = loop {
            while group.len() < MAX_GROUP {
                match receiver.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            if group.len() >= MAX_GROUP {
                break slots.clone().acquire_owned().await;
            }
            tokio::select! {
                biased;
                permit = slots.clone().acquire_owned() => break permit,
                job = receiver.recv() => match job {
                    Some(job) => group.push(job),
                    None => break slots.clone().acquire_owned().await,
                },
            }
        };
        let Ok(permit) = permit else { return };
        let jobs = std::mem::take(&mut group);
        let pool = pool.clone();
        tokio::spawn(async move {
            let committed = tokio::task::spawn_blocking(move || {
                let outcomes = commit(&pool, &jobs);
                (jobs, outcomes)
            })
            .await;
            drop(permit);
            if let Ok((jobs, outcomes)) = committed {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    // The caller may have gone away (client disconnected); the event is stored anyway.
                    let _ = job.reply.send(outcome);
                }
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
        Err(_) if rows.len() > 1 => rows
            .iter()
            .map(|row| {
                store_events(&mut conn, std::slice::from_ref(row))
                    .map_err(DbError::from)
                    .map(|o| o.into_iter().next().unwrap_or(StoreOutcome::KeyNoLongerActive))
            })
            .collect(),
        Err(e) => vec![Err(DbError::from(e))],
    }
}
