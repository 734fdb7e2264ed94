//! A process among others on one database: it registers under its name and renews its lease
//! with heartbeats; a worker stops what the database no longer has it run (killed on another
//! process, or taken back after its lease lapsed) and, cut off from the database for a whole
//! lease, stops everything it runs (a scheduler will have failed and retried it elsewhere);
//! a scheduler fails the attempts of workers whose lease lapsed, with the reason, and retries
//! them per policy.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::executor::Attempt;
use super::process;
use super::{Engine, EngineEvent};
use crate::store::{Outcome, Result, StoreError, WorkerRecord};

/// What one process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub api: bool,
    pub scheduler: bool,
    pub worker: bool,
}

impl Roles {
    pub const ALL: Roles = Roles { api: true, scheduler: true, worker: true };

    /// `api,scheduler,worker` (the ones it has).
    pub fn names(&self) -> String {
        [(self.api, "api"), (self.scheduler, "scheduler"), (self.worker, "worker")]
            .iter()
            .filter(|(has, _)| *has)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// How a worker works.
#[derive(Debug, Clone)]
pub struct WorkerSetup {
    /// The resource groups it runs (`None`: all).
    pub groups: Option<Vec<String>>,
    /// The most commands it runs at once (`None`: only the groups' slots limit it).
    pub slots: Option<u32>,
    /// How long its attempts stay its own without a heartbeat.
    pub lease: Duration,
}

impl Default for WorkerSetup {
    fn default() -> Self {
        WorkerSetup { groups: None, slots: None, lease: Duration::from_secs(30) }
    }
}

/// The reason of an attempt whose instance moved on (it was killed) while its worker was gone.
pub const LAPSED_UNRECORDED: &str = "its worker stopped renewing its lease before it recorded \
    the end: what became of the command is unknown";

/// Why a scheduler took an attempt back from a worker.
pub fn lapsed_reason(worker: &str, lease: Duration) -> String {
    format!(
        "the worker '{worker}' stopped renewing its lease (no heartbeat for {} s): what became \
         of its command is unknown",
        lease.as_secs()
    )
}

impl Engine {
    fn record(&self, now: DateTime<Utc>) -> WorkerRecord {
        let config = self.config();
        WorkerRecord {
            name: config.host.clone(),
            roles: config.roles.names(),
            groups: config.worker.groups.clone(),
            host: crate::serve::host_name(),
            pid: std::process::id() as i64,
            lease_secs: config.worker.lease.as_secs() as u32,
            started_at: now,
            heartbeat_at: now,
        }
    }

    /// Puts this process in the registry; refuses a name a live process holds (on another
    /// machine, or a process of this machine that still runs), which would take its attempts.
    pub(super) async fn register(&self) -> Result<()> {
        let now = self.clock().now();
        let record = self.record(now);
        if self.store().is_shared()
            && let Some((other, _)) =
                self.store().workers().await?.into_iter().find(|(w, _)| w.name == record.name)
        {
            let fresh = other.alive_at(now);
            let itself = other.host == record.host && other.pid == record.pid;
            if fresh && !itself && !died_on(&other, &record.host) {
                return Err(StoreError::Taken {
                    what: "live process named",
                    name: format!("{} (on {}, pid {})", other.name, other.host, other.pid),
                });
            }
        }
        self.store().register_worker(&record).await
    }

    /// Takes over what dead workers of this machine left running (a worker restarted under a new
    /// name, such as the default `host:pid`): on the same machine their processes are still
    /// there to adopt.
    pub(super) async fn take_over_dead_neighbours(&self) -> Result<()> {
        let me = self.record(self.clock().now());
        for (other, _) in self.store().workers().await? {
            let dead_here = other.name != me.name
                && other.roles.split(',').any(|r| r == "worker")
                && died_on(&other, &me.host);
            // Only with their logs here (the same data directory): recovery reads what became
            // of a command from its log, and a log it cannot see would pass for one never
            // started.
            let logs_here = || async {
                let open = self.store().open_attempts(Some(&other.name)).await?;
                Ok::<bool, crate::store::StoreError>(open.iter().all(|o| {
                    o.log_path.as_ref().is_some_and(|l| self.config().data_dir.join(l).exists())
                }))
            };
            if dead_here && logs_here().await? {
                let moved = self.store().take_over(&other.name, &me.name).await?;
                if moved > 0 {
                    tracing::warn!(from = %other.name, moved, "took over a dead worker's instances");
                }
            }
        }
        Ok(())
    }

    /// Leaves the registry (an orderly stop).
    pub async fn unregister(&self) {
        if let Err(error) = self.store().remove_worker(&self.config().host).await {
            tracing::warn!(%error, "could not leave the registry of processes");
        }
    }

    /// Heartbeats, and what goes with them, until the server stops.
    pub(super) async fn keep_lease(self, cancel: CancellationToken) {
        let lease = self.config().worker.lease;
        let beat = lease / 3;
        let shared = self.store().is_shared();
        let mut last_beat = std::time::Instant::now();
        // The beat keeps its rhythm whatever else wakes this loop.
        let mut next_beat = tokio::time::Instant::now() + beat;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(next_beat) => {}
                _ = self.inner.operated.notified() => {
                    if shared && self.config().roles.worker {
                        self.reconcile().await;
                    }
                    continue;
                }
            }
            next_beat = tokio::time::Instant::now() + beat;
            // A beat that cannot get through within its own period counts as missed.
            let beaten = tokio::time::timeout(
                beat,
                self.store().heartbeat(&self.config().host, self.clock().now()),
            )
            .await
            .map_err(|_| "the heartbeat did not get through in time".to_string())
            .and_then(|beaten| beaten.map_err(|e| e.to_string()));
            match beaten {
                Ok(true) => last_beat = std::time::Instant::now(),
                Ok(false) => {
                    if let Err(error) = self.register().await {
                        tracing::warn!(%error, "could not register again");
                    } else {
                        last_beat = std::time::Instant::now();
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "could not renew the lease");
                    // Stop a beat before the lease ends: schedulers take attempts back only a
                    // beat after it (see `reap`).
                    if shared && last_beat.elapsed() + beat >= lease && self.config().roles.worker {
                        tracing::error!(
                            "cut off from the database for a whole lease: stopping every command \
                             this worker runs (a scheduler retries them elsewhere)"
                        );
                        let ids = self.running().ids();
                        self.stop_processes(&ids).await;
                    }
                    continue;
                }
            }
            if !shared {
                continue;
            }
            if self.config().roles.worker {
                self.reconcile().await;
            }
            if self.config().roles.scheduler
                && let Err(error) = self.reap().await
            {
                tracing::error!(%error, "could not check the workers' leases");
            }
        }
    }

    /// Stops the commands whose attempts the database no longer has this worker run.
    async fn reconcile(&self) {
        let mine = self.running().attempts();
        match self.store().no_longer_running(&mine).await {
            Ok(gone) if !gone.is_empty() => {
                // Only if it still runs the attempt that was checked (not a new one since).
                let now = self.running().attempts();
                let gone: Vec<_> = gone
                    .into_iter()
                    .filter(|id| mine.iter().any(|m| m.0 == *id && now.contains(m)))
                    .collect();
                tracing::warn!(count = gone.len(), "stopping commands taken away from this worker");
                let engine = self.clone();
                // Not awaited here: the heartbeats go on while they stop.
                tokio::spawn(async move { engine.stop_processes(&gone).await });
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not check the attempts this worker runs"),
        }
    }

    /// Fails, and retries per policy, the attempts of workers whose lease lapsed.
    async fn reap(&self) -> Result<()> {
        let lease = self.config().worker.lease;
        // A beat of margin over the lease: the worker stops its commands a beat before it ends.
        let margin = chrono::Duration::from_std(lease / 3).unwrap_or_default();
        let at = self.clock().now();
        let now = at - margin;
        let closed = self
            .store()
            .close_lapsed_attempts(now, lease.as_secs() as u32, LAPSED_UNRECORDED)
            .await?;
        if closed > 0 {
            tracing::warn!(closed, "closed the attempts of workers gone before recording them");
        }
        let lapsed = self.store().lapsed_attempts(now, lease.as_secs() as u32).await?;
        let lapsed: Vec<_> =
            lapsed.into_iter().filter(|l| !self.running().is_running(l.open.instance_id)).collect();
        if lapsed.is_empty() {
            return Ok(());
        }
        let finished: Vec<_> = lapsed
            .iter()
            .map(|l| {
                let reason = lapsed_reason(&l.worker, lease);
                tracing::warn!(instance = l.open.instance_id.0, worker = %l.worker, "lease lapsed");
                Attempt::from(&l.open).finished(Outcome::Failed { exit_code: None, reason }, at)
            })
            .collect();
        let finishes = self.store().record_attempts(&[], &finished).await?;
        for (f, finish) in finished.iter().zip(finishes) {
            self.events().send(EngineEvent::AttemptFinished {
                instance: f.instance_id,
                attempt: f.attempt,
                state: finish.state,
            });
        }
        self.wake();
        Ok(())
    }
}

/// Whether the process on record for `worker` ran on `host` (this machine) and is gone.
fn died_on(worker: &WorkerRecord, host: &str) -> bool {
    worker.host == host && process::start_time(worker.pid).is_none()
}
