//! The dispatcher: woken by events (a state change, a new snapshot, an operation) or by a timer
//! set to the next planned time, never by a slow polling loop. Each wake-up releases the due
//! instances and fills the free slots of every resource group.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use chrono::{DateTime, Utc};

use super::admission;
use super::bus::Events;
use super::clock::SharedClock;
use super::executor::Executor;
use super::running::Running;
use super::{EngineEvent, Roles, WorkerSetup};
use crate::logs;
use crate::store::{Claim, NewAttempt, Result, Store};

pub struct Dispatcher {
    pub(super) store: Store,
    pub(super) clock: SharedClock,
    pub(super) executor: Arc<Executor>,
    pub(super) wake: Arc<Notify>,
    pub(super) attempts: TaskTracker,
    pub(super) running: Arc<Running>,
    pub(super) claim_lock: Arc<Mutex<()>>,
    pub(super) events: Events,
    /// A scheduler releases due instances; a worker claims and runs them.
    pub(super) roles: Roles,
    pub(super) worker: WorkerSetup,
}

/// Changes made by another process that tells nobody (the `import` and `snapshot` commands, a
/// lost notification) wake nobody here; this is how soon the dispatcher notices them anyway.
const FALLBACK_POLL: Duration = Duration::from_secs(5);

/// The most dry runs of a group one claim starts (the rest go at the next wake-up).
const DRY_RUNS_AT_ONCE: u32 = 500;

impl Dispatcher {
    pub async fn run(self, cancel: CancellationToken) {
        // Unknown at start: the first tick releases whatever is due.
        let mut next_due = Some(self.clock.now());
        loop {
            next_due = match self.tick(next_due).await {
                // Only a scheduler releases due instances: a worker waits for the word that
                // some are ready (or the fallback poll), never for a time it cannot act on.
                Ok(()) if !self.roles.scheduler => None,
                Ok(()) => self.store.next_due_at().await.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "could not read the next planned time");
                    Some(self.clock.now() + chrono::Duration::seconds(1))
                }),
                Err(e) => {
                    tracing::error!(error = %e, "dispatch failed; trying again in a second");
                    Some(self.clock.now() + chrono::Duration::seconds(1))
                }
            };
            let timer = async {
                match next_due {
                    Some(at) => self.clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = timer => {}
                _ = tokio::time::sleep(FALLBACK_POLL) => next_due = Some(self.clock.now()),
            }
        }
    }

    /// Does everything that can be done right now: releases the due instances (only when
    /// something was due: promotions of instances whose time has come skip that state) and fills
    /// the free slots.
    async fn tick(&self, next_due: Option<DateTime<Utc>>) -> Result<()> {
        let now = self.clock.now();
        if self.roles.scheduler
            && next_due.is_some_and(|at| at <= now)
            && self.store.release_due(now).await? > 0
        {
            self.events.send(EngineEvent::Ready);
        }
        if !self.roles.worker {
            return Ok(());
        }
        let host = &self.executor.config().host;
        // A worker whose own slots are full still starts dry runs: they run nothing.
        for group in self.store.groups_with_work().await? {
            if self.worker.groups.as_ref().is_some_and(|mine| !mine.contains(&group)) {
                continue;
            }
            let room = self.room();
            // Claimed and registered under one lock: an operation that stops instances takes
            // it too, so it never sees a running instance this server does not know about.
            let claiming = self.claim_lock.lock().await;
            let claims = self.claim(&group, host, now, room).await?;
            let started: Vec<_> = claims
                .into_iter()
                .map(|claim| {
                    let guard =
                        self.running.register(claim.instance_id, claim.attempt, claim.dry_run);
                    (claim, guard)
                })
                .collect();
            drop(claiming);
            if !started.is_empty() {
                let instances = started.iter().map(|(c, _)| c.instance_id).collect();
                let waited_ms = started
                    .iter()
                    .map(|(c, _)| (now - c.queued_since).num_milliseconds().max(0) as u64)
                    .collect();
                self.events.send(EngineEvent::Started { instances, waited_ms });
            }
            for (claim, guard) in started {
                let executor = self.executor.clone();
                self.attempts.spawn(async move { executor.run(claim, guard).await });
            }
        }
        Ok(())
    }

    /// How many more commands this worker may run (`--worker-slots`; else no limit of its own).
    fn room(&self) -> u32 {
        match self.worker.slots {
            Some(slots) => slots.saturating_sub(self.running.commands() as u32),
            None => u32::MAX,
        }
    }

    /// Starts the group's due dry runs (they take no slot) and what its free slots admit
    /// (production first, see [`admission`]; at most `room` of them), in one transaction that
    /// also records the attempts and where their logs go.
    async fn claim(
        &self,
        group: &str,
        host: &str,
        now: DateTime<Utc>,
        room: u32,
    ) -> Result<Vec<Claim>> {
        let mut tx = self.store.begin_claim(group).await?;
        let load = tx.load().await?;
        // Dry runs take no slot, of the group or of the worker: they start as soon as they are
        // due, however busy both are.
        let mut queued = tx.queued(DRY_RUNS_AT_ONCE, true).await?;
        let mut chosen: Vec<_> = queued.iter().map(|q| q.id).collect();
        let free = load.slots.saturating_sub(load.running).min(room);
        if free > 0 {
            let waiting = tx.queued(free, false).await?;
            chosen.extend(admission::admit(&load, &waiting));
            queued.extend(waiting);
        }
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let mut claims = tx.claim(&chosen, host, now).await?;
        for claim in &mut claims {
            claim.log_path =
                logs::attempt_log_path(claim.run_date, claim.instance_id, claim.attempt);
            if let Some(q) = queued.iter().find(|q| q.id == claim.instance_id) {
                claim.queued_since = q.since;
            }
        }
        let attempts: Vec<NewAttempt> = claims
            .iter()
            .map(|c| NewAttempt {
                instance_id: c.instance_id,
                attempt: c.attempt,
                started_at: now,
                host: host.to_string(),
                log_path: c.log_path.clone(),
            })
            .collect();
        tx.start_attempts(&attempts).await?;
        tx.commit().await?;
        Ok(claims)
    }
}
