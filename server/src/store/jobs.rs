//! Test and backfill jobs: created together with their instances (and the audit entry that
//! records them) in one transaction, listed with their progress.

use app::jobs::{DateOrder, Job, JobPage};
use app::model::RunType;
use chrono::{DateTime, NaiveDate, Utc};

use super::{AuditEntry, DayBatch, Gate, Result, SnapshotNode};

/// What a new job is.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: RunType,
    pub created_by: String,
    pub root: String,
    pub nodes: Vec<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub order: DateOrder,
    pub parallelism: u32,
}

#[async_trait::async_trait]
pub trait JobStore: Send + Sync {
    /// Creates a job and its instances (one batch per date, `gates` between dates) and writes
    /// `audit` (whose subject becomes `<kind>:<job id>`), in one transaction; returns the job's
    /// id and how many instances it got.
    async fn create_job(
        &self,
        job: &NewJob,
        days: Vec<DayBatch>,
        gates: &[Gate],
        audit: &AuditEntry<'_>,
        now: DateTime<Utc>,
    ) -> Result<(i64, u64)>;

    /// Jobs of one kind, newest first (below the id `before`), with their instances counted per
    /// state.
    async fn list_jobs(&self, kind: RunType, limit: u32, before: Option<i64>) -> Result<JobPage>;

    async fn get_job(&self, id: i64) -> Result<Option<Job>>;

    /// The live nodes with these names, as the planner needs them (unknown names are absent).
    async fn snapshot_nodes_named(&self, names: &[String]) -> Result<Vec<SnapshotNode>>;
}
