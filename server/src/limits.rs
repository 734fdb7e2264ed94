//! Quotas an administrator sets (flags of `nightshift serve`), so no request can make the server
//! do unbounded work: how many instances one backfill may create, how often a node may fire, how
//! many nodes one import may hold, how long planning may take. The server's own command line
//! (`nightshift import`) is the administrator's and is not held to them.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Limits {
    /// The most instances one backfill (or test run) may create.
    pub max_job_instances: u64,
    /// The shortest time between two fire times of a node's schedule, in minutes.
    pub min_schedule_minutes: u32,
    /// The most nodes one import may hold.
    pub max_import_nodes: usize,
    /// How long planning one request may take before it is refused.
    pub planning_budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_job_instances: 50_000,
            min_schedule_minutes: 5,
            max_import_nodes: 10_000,
            planning_budget: Duration::from_secs(10),
        }
    }
}
