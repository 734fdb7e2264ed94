//! The processes that serve the project (API, scheduler, worker), as the Workers page and
//! `GET /api/v1/workers` show them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One process and how it is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Its name (`--worker-name`), shown as the host of the instances it runs.
    pub name: String,
    /// `api`, `scheduler`, `worker`.
    pub roles: Vec<String>,
    /// The resource groups it runs; `None`: all of them.
    pub groups: Option<Vec<String>>,
    /// The machine and process.
    pub host: String,
    pub pid: i64,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    /// Seconds since its last heartbeat.
    pub heartbeat_age_secs: i64,
    /// How long its running attempts stay its own without a heartbeat.
    pub lease_secs: u32,
    /// Whether its lease still holds (its last heartbeat is younger than the lease).
    pub alive: bool,
    /// Instances running on it.
    pub running: u32,
}
