//! Reading instances: the filtered, keyset-paged list, the per-state counts, one instance, its
//! attempts, its dependency neighbours, the flow around it and what it waits for.

use app::flow::FlowInstance;
use app::model::{
    Attempt, HistoryPoint, Instance, InstanceFilter, InstanceId, InstancePage, InstanceState,
    StateCounts,
};
use chrono::{DateTime, NaiveDate, Utc};

use super::Result;

/// What an instance that has not started waits for: the facts "why isn't it running?" is made
/// of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitFacts {
    pub ready_at: DateTime<Utc>,
    pub planned_at: DateTime<Utc>,
    /// Upstream instances that have not succeeded, or are paused: (id, node, state, paused, its
    /// run date when it is not the waiting instance's: a previous cycle, or an earlier date of
    /// a backfill).
    pub pending_upstream: Vec<(InstanceId, String, InstanceState, bool, Option<NaiveDate>)>,
    pub resource_group: String,
    pub slots: i64,
    /// The group's backfill share, when it is set (see `ResourceGroup::backfill_limit`).
    pub backfill_slots: Option<u32>,
    pub running_in_group: i64,
    /// Queued instances of the same group that go first.
    pub queued_ahead: i64,
    pub node_paused: bool,
}

/// The instances around one (ancestors and descendants), the edges `(upstream, downstream)`
/// among them, and whether some were left out.
pub type Flow = (Vec<FlowInstance>, Vec<(InstanceId, InstanceId)>, bool);

#[async_trait::async_trait]
pub trait InstanceStore: Send + Sync {
    /// Newest first, at most `limit`, below the id `before`: a page never counts or loads the
    /// whole table.
    async fn list_instances(
        &self,
        filter: &InstanceFilter,
        before: Option<InstanceId>,
        limit: u32,
    ) -> Result<InstancePage>;

    async fn instance_stats(&self, filter: &InstanceFilter) -> Result<StateCounts>;

    async fn get_instance(&self, id: InstanceId) -> Result<Option<Instance>>;

    /// The given instances (unknown ids are left out), newest first.
    async fn instances_by_ids(&self, ids: &[InstanceId]) -> Result<Vec<Instance>>;

    async fn attempts(&self, id: InstanceId) -> Result<Vec<Attempt>>;

    /// Every instance downstream of `id`, transitively (at most `limit`), in id order.
    async fn descendants(&self, id: InstanceId, limit: u32) -> Result<Vec<Instance>>;

    /// The instances this one waits for, and the ones that wait for it.
    async fn neighbors(&self, id: InstanceId) -> Result<(Vec<Instance>, Vec<Instance>)>;

    /// The latest runs of the same node as `id` (newest first).
    async fn history(&self, id: InstanceId, limit: u32) -> Result<Vec<HistoryPoint>>;

    /// Up to `limit` ancestors and `limit` descendants of `id`.
    async fn flow_around(&self, id: InstanceId, limit: u32) -> Result<Flow>;

    async fn wait_facts(&self, id: InstanceId) -> Result<Option<WaitFacts>>;
}
