//! Operations on instances, inside one write transaction ([`OperationTx`]): read the facts the
//! rules need, apply guarded set-based transitions, write the audit trail, commit. The decisions
//! are made by the caller with `app::rules`; every update repeats the rule's allowed states in
//! its `WHERE`, so nothing can slip through between reading and writing.

use app::model::{InstanceFilter, InstanceId, InstanceState};
use app::rules::PausedGuard;
use chrono::{DateTime, Utc};

use super::{AuditEntry, Result};

/// What the rules look at, for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: InstanceId,
    pub node: String,
    pub owner: String,
    pub state: InstanceState,
    pub paused: bool,
    pub attempt: i32,
}

/// The state changes an operation can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// → manually stopped.
    Stop,
    /// → waiting for resources now, whatever its planned time and upstream (rerun).
    RunNow,
    /// → not run, to be promoted in dependency order (the downstream part of a rerun).
    Reset,
    /// → success, promoting the downstream.
    Succeed,
    /// paused = 1.
    Pause,
    /// paused = 0, promoting whatever this unblocks.
    Resume,
}

/// Which instances a transition may touch: the states and paused flag the rules allow.
#[derive(Debug, Clone, Copy)]
pub struct Guard<'a> {
    pub states: &'a [InstanceState],
    pub paused: PausedGuard,
}

#[async_trait::async_trait]
pub trait OperationStore: Send + Sync {
    /// Starts an operation: a write transaction that holds the write lock from its first
    /// statement, so the facts read are still true when the updates run.
    async fn begin_operation(&self) -> Result<Box<dyn OperationTx>>;
}

/// An operation in progress.
#[async_trait::async_trait]
pub trait OperationTx: Send {
    /// The facts of the given instances (unknown ids are simply absent).
    async fn targets(&mut self, ids: &[InstanceId]) -> Result<Vec<Target>>;

    /// The facts of the instances matching a list filter, at most `limit`.
    async fn targets_matching(
        &mut self,
        filter: &InstanceFilter,
        limit: usize,
    ) -> Result<Vec<Target>>;

    /// The instances downstream of `root`, transitively, in id order, at most `limit`.
    async fn descendants(&mut self, root: InstanceId, limit: usize) -> Result<Vec<Target>>;

    /// The not-run instances downstream of `ids` (through not-run instances only, not counting
    /// `ids` themselves): what will be scheduled again once `ids` succeed.
    async fn waiting_downstream(&mut self, ids: &[InstanceId]) -> Result<Vec<Target>>;

    /// The dependency edges `(downstream, upstream)` among `ids`.
    async fn edges_within(&mut self, ids: &[InstanceId]) -> Result<Vec<(InstanceId, InstanceId)>>;

    /// Applies a transition to those of `ids` the guard admits; returns how many changed. A
    /// success or a resume promotes what it unblocks in the same transaction.
    async fn apply(
        &mut self,
        transition: Transition,
        ids: &[InstanceId],
        guard: Guard<'_>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64>;

    async fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<i64>;

    async fn commit(self: Box<Self>) -> Result<()>;
}
