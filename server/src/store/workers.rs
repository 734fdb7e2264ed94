//! The processes sharing a database: their registry and heartbeats (a worker's running attempts
//! are held under a lease its heartbeats renew), the attempts whose lease lapsed, the bus that
//! tells every process what the others did (PostgreSQL's LISTEN/NOTIFY; nothing on SQLite,
//! which has one process), and attempt logs shipped into the database so that every API process
//! reads them.

use app::model::InstanceId;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;

use super::{OpenAttempt, Result};

/// One process as it registers itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRecord {
    pub name: String,
    /// `api`, `scheduler`, `worker`, comma-separated.
    pub roles: String,
    /// The resource groups it runs (`None`: all).
    pub groups: Option<Vec<String>>,
    pub host: String,
    pub pid: i64,
    pub lease_secs: u32,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

impl WorkerRecord {
    /// Whether its lease still holds at `now` (its last heartbeat is no older than the lease).
    /// The database's side of the same rule: `lapsed` in `store/sql/workers.rs`.
    pub fn alive_at(&self, now: DateTime<Utc>) -> bool {
        (now - self.heartbeat_at).num_seconds() <= i64::from(self.lease_secs)
    }
}

/// A running attempt whose worker stopped renewing its lease.
#[derive(Debug, Clone)]
pub struct LapsedAttempt {
    pub open: OpenAttempt,
    /// The worker that ran it.
    pub worker: String,
}

#[async_trait::async_trait]
pub trait WorkerStore: Send + Sync {
    /// Registers (or re-registers, after a restart) a process under its name.
    async fn register_worker(&self, worker: &WorkerRecord) -> Result<()>;

    /// Renews the process's lease; `false` if its row is gone.
    async fn heartbeat(&self, name: &str, now: DateTime<Utc>) -> Result<bool>;

    /// A process that stops in order leaves the registry.
    async fn remove_worker(&self, name: &str) -> Result<()>;

    /// Every registered process with how many instances run on it, by name.
    async fn workers(&self) -> Result<Vec<(WorkerRecord, u32)>>;

    /// Running attempts whose worker's heartbeat is older than its lease, or whose worker is
    /// not registered and which have not changed for `unregistered_lease_secs`.
    async fn lapsed_attempts(
        &self,
        now: DateTime<Utc>,
        unregistered_lease_secs: u32,
    ) -> Result<Vec<LapsedAttempt>>;

    /// Ends, as failed with `reason`, the open attempts of workers whose lease lapsed whose
    /// instances have moved on without them (killed meanwhile); returns how many.
    async fn close_lapsed_attempts(
        &self,
        now: DateTime<Utc>,
        unregistered_lease_secs: u32,
        reason: &str,
    ) -> Result<u64>;

    /// Hands the running instances and open attempts of the worker `old` (gone) to `new`, and
    /// takes `old` out of the registry; returns how many instances moved.
    async fn take_over(&self, old: &str, new: &str) -> Result<u64>;

    /// Of these attempts, the ones the database no longer has running (killed, set to success,
    /// taken back after a lapsed lease): their processes must stop.
    async fn no_longer_running(&self, attempts: &[(InstanceId, i32)]) -> Result<Vec<InstanceId>>;

    /// Of these attempts, the ones whose end is not recorded yet.
    async fn unended(&self, attempts: &[(InstanceId, i32)]) -> Result<Vec<InstanceId>>;

    /// Tells every other process (a no-op where one process is all there is).
    async fn publish(&self, message: &str) -> Result<()>;

    /// What the other processes publish (`None` where there are none).
    async fn subscribe(&self) -> Result<Option<BoxStream<'static, String>>>;

    /// Appends a piece of an attempt's log at byte `at`.
    async fn ship_log(&self, id: InstanceId, attempt: i32, at: u64, bytes: &[u8]) -> Result<()>;

    /// Where the shipped log of an attempt ends (0: nothing shipped).
    async fn shipped_end(&self, id: InstanceId, attempt: i32) -> Result<u64>;

    /// The shipped log of an attempt from byte `from`, at most `max` bytes, and whether any was
    /// shipped at all.
    async fn shipped_log(
        &self,
        id: InstanceId,
        attempt: i32,
        from: u64,
        max: u64,
    ) -> Result<Option<Vec<u8>>>;
}
