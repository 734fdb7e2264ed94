//! The engine's side of the store: promotions, releases, claims and the records of attempts.
//! Instances move not run → waiting for time → waiting for resources → running → success |
//! failed, each step a guarded, set-based update. Which instances a group may start and what a
//! failed attempt leads to are the engine's decisions (`engine::admission`, `engine::retry`);
//! the store only carries them out.

use app::model::{InstanceId, InstanceState, RunType};
use chrono::{DateTime, NaiveDate, Utc};

use super::Result;

/// How a failed attempt is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub retries: u32,
    pub delay_secs: u32,
}

/// A resource group's slots and how many of them are in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLoad {
    pub slots: u32,
    /// The most slots backfill instances may hold (`None`: the group's default).
    pub backfill_slots: Option<u32>,
    /// Its instances running now (dry runs aside: they take no slot).
    pub running: u32,
}

/// An instance waiting for a slot, in dispatch order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub id: InstanceId,
    pub run_type: RunType,
    /// Its last change: when it began to wait for a slot (or was last resumed).
    pub since: DateTime<Utc>,
}

/// An instance the dispatcher has just moved to running, with what the executor needs.
#[derive(Debug, Clone)]
pub struct Claim {
    pub instance_id: InstanceId,
    pub attempt: i32,
    pub node_name: String,
    pub command: String,
    pub timeout_secs: u32,
    pub retry: RetryPolicy,
    /// Automatic retries already used since the last scheduled or manual start.
    pub auto_retries: u32,
    pub run_type: RunType,
    pub bizdate: NaiveDate,
    pub run_date: NaiveDate,
    pub planned_at: DateTime<Utc>,
    /// Where the attempt's log goes, relative to the data directory (filled in by the engine).
    pub log_path: String,
    /// Since when it waited for a slot (filled in by the engine from [`Queued::since`]).
    pub queued_since: DateTime<Utc>,
    /// A dry run: it succeeds without running the command (a holiday of its calendar).
    pub dry_run: bool,
}

/// An attempt to record as started, with its log.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub instance_id: InstanceId,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub host: String,
    pub log_path: String,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failed { exit_code: Option<i32>, reason: String },
}

/// What becomes of the instance after an attempt (decided by `engine::retry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    Succeeded,
    /// Waits for time until then, one automatic retry used.
    RetryAt(DateTime<Utc>),
    Failed,
}

/// The process of a started attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartedProcess {
    pub instance_id: InstanceId,
    pub attempt: i32,
    pub pid: i64,
    /// See `attempts.pid_start`.
    pub pid_start: Option<i64>,
}

/// The end of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedAttempt {
    pub instance_id: InstanceId,
    pub attempt: i32,
    pub outcome: Outcome,
    pub next: AfterAttempt,
    pub at: DateTime<Utc>,
}

/// What [`SchedulingStore::record_attempts`] did with one finished attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// The instance's new state, or `None` if it had already left this attempt (killed).
    pub state: Option<InstanceState>,
    /// Downstream instances that became ready.
    pub promoted: u64,
}

/// A running instance as recovery sees it after a restart.
#[derive(Debug, Clone)]
pub struct OpenAttempt {
    pub instance_id: InstanceId,
    pub attempt: i32,
    pub log_path: Option<String>,
    pub pid: Option<i64>,
    pub pid_start: Option<i64>,
    pub retry: RetryPolicy,
    pub auto_retries: u32,
    /// When the attempt was claimed, and how long it may run.
    pub started_at: DateTime<Utc>,
    pub timeout_secs: u32,
}

#[async_trait::async_trait]
pub trait SchedulingStore: Send + Sync {
    /// Promotes every ready not-run instance (a full sweep, used at start-up): an instance
    /// whose upstream instances all succeeded (and are not paused) moves to waiting for time,
    /// or straight on to waiting for resources when its time has come.
    async fn promote_all(&self, now: DateTime<Utc>) -> Result<u64>;

    /// Moves every due instance from waiting for time to waiting for resources.
    async fn release_due(&self, now: DateTime<Utc>) -> Result<u64>;

    /// When the next instance waiting for time becomes due.
    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>>;

    /// The resource groups that have instances waiting for a slot and a slot free, or a dry
    /// run waiting (dry runs take no slot).
    async fn groups_with_work(&self) -> Result<Vec<String>>;

    /// Starts claiming slots of one group: one write transaction.
    async fn begin_claim(&self, group: &str) -> Result<Box<dyn ClaimTx>>;

    /// Records started processes and finished attempts in one transaction (the group commit):
    /// the attempt rows, the instances' new states (only if still running this attempt), and
    /// the promotion of the downstream of every success.
    async fn record_attempts(
        &self,
        started: &[StartedProcess],
        finished: &[FinishedAttempt],
    ) -> Result<Vec<Finish>>;

    /// Running instances with their current attempt's process, for recovery after a restart:
    /// all of them, or those `worker` runs (on a database several workers share).
    async fn open_attempts(&self, worker: Option<&str>) -> Result<Vec<OpenAttempt>>;

    /// Takes back an attempt whose command never started (the server died between the claim
    /// and the start): the attempt row goes, and the instance waits for a slot again with the
    /// previous attempt's number and times, no retry used. Only if it is still running that
    /// attempt; returns whether it was.
    async fn requeue_unstarted(
        &self,
        id: InstanceId,
        attempt: i32,
        now: DateTime<Utc>,
    ) -> Result<bool>;
}

/// Claiming slots of one resource group.
#[async_trait::async_trait]
pub trait ClaimTx: Send {
    async fn load(&mut self) -> Result<GroupLoad>;

    /// Up to `limit` instances waiting for a slot, in dispatch order (priority, ready time, id):
    /// the dry runs when `dry_runs`, else the others.
    async fn queued(&mut self, limit: u32, dry_runs: bool) -> Result<Vec<Queued>>;

    /// Moves `ids` (if still waiting for resources and not paused) to running as their next
    /// attempt, and returns them with what the executor needs (`log_path` left empty).
    async fn claim(
        &mut self,
        ids: &[InstanceId],
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claim>>;

    /// Records the attempts just claimed, with their logs.
    async fn start_attempts(&mut self, attempts: &[NewAttempt]) -> Result<()>;

    async fn commit(self: Box<Self>) -> Result<()>;
}
