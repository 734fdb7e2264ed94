//! The engine: the snapshot generator, the dispatcher, the executor and crash recovery, wired
//! around one [`Store`] and one [`Clock`](clock::Clock).

pub mod admission;
pub mod bus;
pub mod clock;
pub mod counts;
pub mod deps;
pub mod dispatcher;
pub mod executor;
mod lease;
pub mod marks;
pub mod params;
pub mod process;
pub mod recorder;
pub mod recovery;
pub mod retry;
pub mod running;
pub mod sandbox;
pub mod schedule;
pub mod shipping;
pub mod snapshot;
mod stop;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::model::{InstanceId, InstanceState};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use tokio::sync::{Notify, broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::bus::Events;
use self::clock::SharedClock;
use self::dispatcher::Dispatcher;
use self::executor::{Executor, ExecutorConfig};
pub use self::lease::{Roles, WorkerSetup, lapsed_reason};
use self::snapshot::NightlySchedule;
use crate::store::{Result, Store};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_dir: PathBuf,
    /// This process's name (the worker name): the host of the instances it runs.
    pub host: String,
    /// What this process does.
    pub roles: Roles,
    /// How it works as a worker.
    pub worker: WorkerSetup,
    pub tz: Tz,
    pub nightly: NightlySchedule,
    pub kill_grace: Duration,
    /// How commands are started: their environment and the user they run as.
    pub commands: sandbox::CommandSetup,
}

/// Things the engine reports as they happen (tests and live views listen; on a shared
/// database every process hears every other's, see [`bus`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EngineEvent {
    SnapshotMade {
        run_date: NaiveDate,
        created: u64,
        /// How long making it took.
        #[serde(default)]
        millis: u64,
    },
    /// An attempt ended; `state` is the instance's new state (`None` if it had been killed).
    AttemptFinished { instance: InstanceId, attempt: i32, state: Option<InstanceState> },
    /// The dispatcher started these instances, after they waited this long for a slot (the
    /// same order; left out when the list is).
    Started {
        instances: Vec<InstanceId>,
        #[serde(default)]
        waited_ms: Vec<u64>,
    },
    /// A person changed these instances (empty: possibly many).
    Operated { instances: Vec<InstanceId> },
    /// Instances became ready to start (their time came).
    Ready,
    /// An alert's delivery was tried (`channel`: webhook or email; `outcome`: delivered,
    /// retry or failed). Nothing for live views: the metrics count it.
    AlertDelivery { channel: String, outcome: String },
}

impl EngineEvent {
    /// The instances the event is about (empty: possibly many, e.g. a whole new day).
    pub fn instances(&self) -> Vec<InstanceId> {
        match self {
            EngineEvent::SnapshotMade { .. }
            | EngineEvent::Ready
            | EngineEvent::AlertDelivery { .. } => Vec::new(),
            EngineEvent::AttemptFinished { instance, .. } => vec![*instance],
            EngineEvent::Started { instances, .. } | EngineEvent::Operated { instances } => {
                instances.clone()
            }
        }
    }

    /// Whether live views of instances have anything to read again.
    pub fn changes_instances(&self) -> bool {
        !matches!(self, EngineEvent::AlertDelivery { .. })
    }

    /// The same event without its list of instances ("possibly many").
    pub fn without_instances(self) -> EngineEvent {
        match self {
            EngineEvent::Started { .. } => {
                EngineEvent::Started { instances: Vec::new(), waited_ms: Vec::new() }
            }
            EngineEvent::Operated { .. } => EngineEvent::Operated { instances: Vec::new() },
            other => other,
        }
    }
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
    /// Another process operated on instances: a worker checks what it runs.
    operated: Arc<Notify>,
    events: Events,
    /// Where this process's events wait to be sent to the others (taken at start).
    outbox: std::sync::Mutex<Option<mpsc::UnboundedReceiver<EngineEvent>>>,
    executor: Arc<Executor>,
    attempts: TaskTracker,
    running: Arc<running::Running>,
    claim_lock: Arc<tokio::sync::Mutex<()>>,
    /// The token `start` was given: cancelled when the server stops.
    stop: std::sync::OnceLock<CancellationToken>,
}

impl Engine {
    pub fn new(store: Store, clock: SharedClock, config: EngineConfig) -> Engine {
        let wake = Arc::new(Notify::new());
        let (events, outbox) = Events::new(store.is_shared());
        let executor = Arc::new(Executor::new(
            recorder::Recorder::start(store.clone()),
            store.is_shared().then(|| store.clone()),
            clock.clone(),
            ExecutorConfig {
                data_dir: config.data_dir.clone(),
                host: config.host.clone(),
                tz: config.tz,
                kill_grace: config.kill_grace,
                setup: config.commands.clone(),
            },
            wake.clone(),
            events.clone(),
        ));
        Engine {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                wake,
                operated: Arc::default(),
                events,
                outbox: std::sync::Mutex::new(outbox),
                executor,
                attempts: TaskTracker::new(),
                running: Arc::default(),
                claim_lock: Arc::default(),
                stop: std::sync::OnceLock::new(),
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

    /// The attempts this server runs (to stop one and see it gone).
    pub fn running(&self) -> &running::Running {
        &self.inner.running
    }

    /// Held while instances are claimed; operations that stop instances hold it while they
    /// change states, so no claim slips in between.
    pub async fn lock_claims(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.claim_lock.lock().await
    }

    /// Resolves when the server stops (never, for an engine that was not started): long-lived
    /// responses such as the event stream end with it.
    pub async fn stopped(&self) {
        match self.inner.stop.get() {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    }

    /// Tells listeners (live views, other processes) what happened.
    pub fn announce(&self, event: EngineEvent) {
        self.inner.events.send(event);
    }

    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// Tells the dispatcher that something changed.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Registers this process, recovers what a previous run of this worker left (all running
    /// instances on a database of its own), then starts what its roles ask: the dispatcher
    /// (a scheduler releases due instances, a worker claims and runs them), the nightly
    /// snapshot loop (schedulers), the heartbeats.
    pub async fn start(&self, cancel: CancellationToken) -> Result<TaskTracker> {
        let inner = &self.inner;
        let _ = inner.stop.set(cancel.clone());
        let (roles, shared) = (inner.config.roles, inner.store.is_shared());
        self.register().await?;
        let outbox = inner.outbox.lock().expect("not poisoned").take();
        if let Some(outbox) = outbox {
            let me = bus::process_id(&inner.config.host);
            inner
                .events
                .start(
                    inner.store.clone(),
                    outbox,
                    me,
                    inner.wake.clone(),
                    inner.operated.clone(),
                    cancel.clone(),
                )
                .await?;
        }
        let now = inner.clock.now();
        if roles.worker {
            if shared {
                self.take_over_dead_neighbours().await?;
            }
            let mine = shared.then_some(inner.config.host.as_str());
            let recovered =
                recovery::recover(&inner.store, &inner.config.data_dir, mine, now).await?;
            let (ended, requeued) = (recovered.ended, recovered.requeued);
            if ended + requeued + recovered.adopt.len() > 0 {
                tracing::warn!(
                    adopted = recovered.adopt.len(),
                    ended,
                    requeued,
                    "took over the instances a previous server left running"
                );
            }
            for (open, pid, pid_start) in recovered.adopt {
                // Only a command's process is adopted: a dry run left open is queued again.
                let guard = inner.running.register(open.instance_id, open.attempt, false);
                let executor = inner.executor.clone();
                inner
                    .attempts
                    .spawn(async move { executor.adopt(open, pid, pid_start, guard).await });
            }
        }
        if roles.scheduler {
            inner.store.promote_all(now).await?;
        }
        let tasks = TaskTracker::new();
        if roles.scheduler || roles.worker {
            let dispatcher = Dispatcher {
                store: inner.store.clone(),
                clock: inner.clock.clone(),
                executor: inner.executor.clone(),
                wake: inner.wake.clone(),
                attempts: inner.attempts.clone(),
                running: inner.running.clone(),
                claim_lock: inner.claim_lock.clone(),
                events: inner.events.clone(),
                roles,
                worker: inner.config.worker.clone(),
            };
            tasks.spawn(dispatcher.run(cancel.clone()));
        }
        tasks.spawn(self.clone().keep_lease(cancel.clone()));
        if roles.scheduler {
            let engine = self.clone();
            // Decided now, not when the task first runs, so a clock moved right after start-up
            // cannot slip past tonight's moment.
            let started_at = inner.clock.now();
            self.catch_up(started_at).await?;
            if inner.store.is_shared() {
                tasks.spawn(counts::keep_folding(inner.store.clone(), cancel.clone()));
            }
            let cancel = cancel.clone();
            tasks.spawn(async move { engine.nightly(started_at, cancel).await });
        }
        tasks.close();
        Ok(tasks)
    }

    /// Makes the cycle instances of `run_date` now (idempotent) and wakes the dispatcher.
    pub async fn snapshot(&self, run_date: NaiveDate) -> Result<u64> {
        let inner = &self.inner;
        let began = std::time::Instant::now();
        let created =
            snapshot::generate(&inner.store, inner.config.tz, run_date, inner.clock.now()).await?;
        let millis = began.elapsed().as_millis() as u64;
        inner.events.send(EngineEvent::SnapshotMade { run_date, created, millis });
        self.wake();
        Ok(created)
    }

    /// Makes the latest missed snapshot, but only for a server that has made snapshots before
    /// (a new project starts with `nightshift snapshot`).
    async fn catch_up(&self, now: DateTime<Utc>) -> Result<()> {
        let due = self.inner.config.nightly.due_run_date(now);
        let store = &self.inner.store;
        if !store.has_snapshot(due).await? && store.has_any_snapshot_before(due).await? {
            tracing::warn!(%due, "the server missed a nightly snapshot; making it now");
            self.snapshot(due).await?;
        }
        Ok(())
    }

    /// At the nightly moment, makes the next day's instances.
    async fn nightly(&self, started_at: DateTime<Utc>, cancel: CancellationToken) {
        let plan = self.inner.config.nightly;
        let mut after = started_at;
        loop {
            // Each night follows the previous one, so a clock that jumps ahead (a suspended
            // machine) makes every missed night in turn.
            let (moment, run_date) = plan.next_after(after);
            after = moment;
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

    /// Stops every command this server runs and waits until each one's end is recorded (a
    /// shutdown with `--on-shutdown stop`; by default commands keep running and the next start
    /// adopts them).
    pub async fn stop_all_attempts(&self) {
        self.inner.executor.shutting_down();
        let ids = self.inner.running.ids();
        self.stop_processes(&ids).await;
    }

    /// Waits until every attempt started so far has finished (tests and benchmarks).
    pub async fn wait_attempts_idle(&self) {
        self.inner.attempts.close();
        self.inner.attempts.wait().await;
        self.inner.attempts.reopen();
    }
}
