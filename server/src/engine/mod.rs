//! The engine: the snapshot generator, the dispatcher, the executor and crash recovery, wired
//! around one [`Store`] and one [`Clock`](clock::Clock).

pub mod clock;
pub mod deps;
pub mod dispatcher;
pub mod executor;
pub mod params;
pub mod process;
pub mod recovery;
pub mod schedule;
pub mod snapshot;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use chrono_tz::Tz;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::clock::SharedClock;
use self::dispatcher::Dispatcher;
use self::executor::{Executor, ExecutorConfig};
use self::snapshot::NightlySchedule;
use crate::store::{Result, Store};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    pub host: String,
    pub tz: Tz,
    pub nightly: NightlySchedule,
    pub kill_grace: Duration,
}

/// Things the engine reports as they happen (tests and live views listen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    SnapshotMade { run_date: NaiveDate, created: u64 },
}

/// A cheap handle to the running engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: SharedClock,
    config: EngineConfig,
    wake: Arc<Notify>,
    events: broadcast::Sender<EngineEvent>,
    executor: Arc<Executor>,
    attempts: TaskTracker,
}

impl Engine {
    pub fn new(store: Store, clock: SharedClock, config: EngineConfig) -> Engine {
        let wake = Arc::new(Notify::new());
        let executor = Arc::new(Executor::new(
            store.clone(),
            clock.clone(),
            ExecutorConfig {
                data_dir: config.data_dir.clone(),
                host: config.host.clone(),
                tz: config.tz,
                kill_grace: config.kill_grace,
            },
            wake.clone(),
        ));
        let (events, _) = broadcast::channel(64);
        Engine {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                wake,
                events,
                executor,
                attempts: TaskTracker::new(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// Tells the dispatcher that something changed.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Recovers from a crash, then starts the dispatcher and the nightly snapshot loop.
    pub async fn start(&self, cancel: CancellationToken) -> Result<TaskTracker> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let recovered = recovery::recover(
            &inner.store,
            &inner.config.data_dir,
            inner.config.kill_grace,
            now,
        )
        .await?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "reconciled instances left running by a previous server"
            );
        }
        inner.store.promote_all(now).await?;
        let tasks = TaskTracker::new();
        let dispatcher = Dispatcher {
            store: inner.store.clone(),
            clock: inner.clock.clone(),
            executor: inner.executor.clone(),
            wake: inner.wake.clone(),
            attempts: inner.attempts.clone(),
        };
        tasks.spawn(dispatcher.run(cancel.clone()));
        let engine = self.clone();
        tasks.spawn(async move { engine.nightly(cancel).await });
        tasks.close();
        Ok(tasks)
    }

    /// Makes the cycle instances of `run_date` now (idempotent) and wakes the dispatcher.
    pub async fn snapshot(&self, run_date: NaiveDate) -> Result<u64> {
        let inner = &self.inner;
        let created =
            snapshot::generate(&inner.store, inner.config.tz, run_date, inner.clock.now()).await?;
        let _ = inner
            .events
            .send(EngineEvent::SnapshotMade { run_date, created });
        self.wake();
        Ok(created)
    }

    /// At the nightly moment, makes the next day's instances. At start-up it catches up the
    /// latest missed snapshot, but only for a server that has made snapshots before (a new
    /// project starts with `nightshift snapshot`).
    async fn nightly(&self, cancel: CancellationToken) {
        let plan = self.inner.config.nightly;
        let store = &self.inner.store;
        let due = plan.due_run_date(self.inner.clock.now());
        match (
            store.has_snapshot(due).await,
            store.has_any_snapshot_before(due).await,
        ) {
            (Ok(false), Ok(true)) => {
                if let Err(e) = self.snapshot(due).await {
                    tracing::error!(error = %e, %due, "catch-up snapshot failed");
                }
            }
            (Err(e), _) | (_, Err(e)) => tracing::error!(error = %e, "could not check snapshots"),
            _ => {}
        }
        loop {
            let (moment, run_date) = plan.next_after(self.inner.clock.now());
            while self.inner.clock.now() < moment {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = self.inner.clock.sleep_until(moment) => {}
                }
            }
            if let Err(e) = self.snapshot(run_date).await {
                tracing::error!(error = %e, %run_date, "nightly snapshot failed");
            }
        }
    }

    /// Waits until every attempt started so far has finished (tests and benchmarks).
    pub async fn wait_attempts_idle(&self) {
        self.inner.attempts.close();
        self.inner.attempts.wait().await;
        self.inner.attempts.reopen();
    }
}
