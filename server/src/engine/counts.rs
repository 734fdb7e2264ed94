//! Keeps the instance counts' change log short: on PostgreSQL the triggers append each
//! statement's change of the counts (see the migration `instance_counts`) and a scheduler folds
//! them into the counts every few seconds. Reads add both, so how late a fold runs changes no
//! answer, only how many change rows a read adds.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// How often a scheduler folds the appended changes into the counts.
pub const FOLD_EVERY: Duration = Duration::from_secs(2);

/// Folds until cancelled (several schedulers take turns: a fold holds the instances' lock).
pub async fn keep_folding(store: Store, cancel: CancellationToken) {
    let mut every = tokio::time::interval(FOLD_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = every.tick() => {}
        }
        if let Err(error) = store.fold_count_changes().await {
            tracing::warn!(%error, "could not fold the instance count changes");
        }
    }
}
