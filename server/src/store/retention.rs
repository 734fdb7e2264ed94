//! Deleting what is older than the configured days (`crate::retention` decides what and when):
//! each call is one short transaction over at most `limit` rows, so a purge of millions never
//! holds the database for long.

use app::model::{InstanceId, InstanceState};
use chrono::{DateTime, NaiveDate, Utc};

use super::Result;

/// What is old: a run date before `date` and made before `made` (a backfill of last year's
/// dates made today is as new as today).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Before {
    pub date: NaiveDate,
    pub made: DateTime<Utc>,
}

/// What one window of [`RetentionStore::purge_instances`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeStep {
    pub purged: u64,
    /// The window's last instance (where the next one starts); `None`: no instance after it.
    pub last: Option<InstanceId>,
    /// The window reached instances made at or after the cutoff: nothing after it is old.
    pub reached_new: bool,
}

#[async_trait::async_trait]
pub trait RetentionStore: Send + Sync {
    /// The earliest run date of any instance.
    async fn oldest_run_date(&self) -> Result<Option<NaiveDate>>;

    /// Looks at the next `window` instances by id after `after` (ids grow with creation) and
    /// deletes those of run dates before `before.date` made before `before.made` that are in
    /// one of `states` and that no instance in one of `waiting` waits for, with their dependency
    /// edges, attempts, shipped logs, journal of ends and alerts, in one transaction.
    async fn purge_instances(
        &self,
        before: Before,
        after: InstanceId,
        window: u32,
        states: &[InstanceState],
        waiting: &[InstanceState],
    ) -> Result<PurgeStep>;

    /// Deletes at most `limit` test and backfill jobs made before `before` that have no
    /// instance left.
    async fn purge_empty_jobs(&self, before: DateTime<Utc>, limit: u32) -> Result<u64>;

    /// Deletes the oldest audit entries (at most `limit`) written before `before`, with the
    /// instances they list. Returns how many entries.
    async fn purge_audit(&self, before: DateTime<Utc>, limit: u32) -> Result<u64>;

    /// Deletes the shipped logs of at most `limit` instances of `run_date` made before `made`.
    /// Returns how many instances' logs.
    async fn purge_shipped_logs(
        &self,
        run_date: NaiveDate,
        made: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64>;
}
