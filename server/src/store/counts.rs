//! The maintained instance counts behind the statistics (see the migration
//! `instance_counts`): checking them against a fresh COUNT(*), recomputing them, and folding the
//! changes PostgreSQL's triggers append into them.

use super::Result;

/// One key whose maintained count differs from a fresh count of the instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountMismatch {
    /// `by_day` (run date, run type, state) or `by_node` (node id, run type, state).
    pub counts: &'static str,
    pub key: String,
    pub kept: i64,
    pub counted: i64,
}

#[async_trait::async_trait]
pub trait CountStore: Send + Sync {
    /// Adds the changes appended since the last fold to the counts and removes them, in one
    /// transaction (readers add both, so a fold changes no answer). Returns how many counts it
    /// changed; nothing to do on SQLite, whose triggers add to the counts directly.
    async fn fold_count_changes(&self) -> Result<u64>;

    /// Every key whose maintained count (counts plus changes) differs from COUNT(*) over the
    /// instances, each set of counts compared in one statement (one consistent view).
    async fn count_mismatches(&self) -> Result<Vec<CountMismatch>>;

    /// Recomputes every count from the instances, with writers held off meanwhile.
    async fn recount(&self) -> Result<()>;
}
