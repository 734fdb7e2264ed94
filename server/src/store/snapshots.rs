//! Writing the instances of run dates (the nightly snapshot, tests and backfills): idempotent
//! inserts on the unique key, instance-level edges, and the first promotion of the instances
//! whose upstream is already done.

use app::model::RunType;
use app::nodes::DependsOnPrevious;
use chrono::{DateTime, NaiveDate, Utc};

use super::Result;

/// A live node as the planner needs it.
#[derive(Debug, Clone)]
pub struct SnapshotNode {
    pub id: i64,
    pub name: String,
    pub workflow: String,
    pub owner: String,
    pub schedule: String,
    pub paused: bool,
    pub upstream: Vec<i64>,
    /// Its cross-cycle dependency, by node names.
    pub previous: DependsOnPrevious,
    /// Its definition's current version number.
    pub version: u32,
    /// Its business calendar, by name.
    pub calendar: Option<String>,
}

/// An instance of an earlier run date that a new one may wait for (its previous cycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlierInstance {
    pub id: i64,
    pub node_id: i64,
    pub planned_at: DateTime<Utc>,
}

/// One instance to create: a node at a planned time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    pub node_id: i64,
    pub node_name: String,
    pub workflow: String,
    pub owner: String,
    pub planned_at: DateTime<Utc>,
    pub paused: bool,
    /// The version of the node's definition it is made from.
    pub version: u32,
    /// Made on a holiday of its node's calendar: it succeeds without running the command.
    pub dry_run: bool,
}

/// Instances of one run date and the edges between them (indexes into `instances`:
/// `(downstream, upstream)`).
#[derive(Debug, Clone)]
pub struct DayBatch {
    pub run_type: RunType,
    pub job_id: i64,
    pub run_date: NaiveDate,
    pub bizdate: NaiveDate,
    pub priority: i64,
    pub instances: Vec<NewInstance>,
    pub edges: Vec<(usize, usize)>,
    /// Edges to instances of earlier run dates (cross-cycle dependencies): `(downstream index,
    /// upstream instance id)`.
    pub earlier: Vec<(usize, i64)>,
    /// Ready at once (test and backfill jobs) instead of at the planned time.
    pub run_now: bool,
}

/// An instance of a multi-day batch: (day, index into that day's instances).
pub type DayInstance = (usize, usize);

/// A dependency between days: `(downstream, upstream)`.
pub type Gate = (DayInstance, DayInstance);

#[async_trait::async_trait]
pub trait SnapshotStore: Send + Sync {
    /// Every live node with its schedule and upstream ids.
    async fn snapshot_nodes(&self) -> Result<Vec<SnapshotNode>>;

    /// Inserts a day's cycle instances in one transaction, records the snapshot, and returns
    /// how many were new. Instances that exist already (same node, run type, job and planned
    /// time) are left alone, and so are their edges: re-running a day creates nothing twice.
    async fn insert_day(&self, batch: &DayBatch, now: DateTime<Utc>) -> Result<u64>;

    /// The previous cycle of each of `nodes` before `run_date`: every cycle instance of the
    /// node's latest run date before it (nothing for a node that has none).
    async fn previous_cycle(
        &self,
        nodes: &[i64],
        run_date: NaiveDate,
    ) -> Result<Vec<EarlierInstance>>;

    /// Whether the nightly snapshot of `run_date` has been made.
    async fn has_snapshot(&self, run_date: NaiveDate) -> Result<bool>;

    /// Whether any snapshot older than `run_date` exists (the server has been in operation).
    async fn has_any_snapshot_before(&self, run_date: NaiveDate) -> Result<bool>;
}
