//! The snapshot generator: turns the definitions into the instances of one run date, and the
//! nightly loop that does it at the configured time (default 22:30) for the next day.

use std::collections::HashMap;
use std::rc::Rc;

use app::model::{RunType, bizdate_of};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::deps::instance_edges;
use super::schedule::Schedule;
use crate::store::{DayBatch, NewInstance, Result, SnapshotNode, Store};

/// Creates the cycle instances of `run_date` and their edges; returns how many are new.
pub async fn generate(
    store: &Store,
    tz: Tz,
    run_date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64> {
    let nodes = store.snapshot_nodes().await?;
    // Planning a large project takes a while: off the async runtime, so requests keep flowing.
    let batch = tokio::task::spawn_blocking(move || plan_day(&nodes, tz, run_date, RunType::Cycle))
        .await
        .map_err(|e| crate::store::StoreError::Corrupt(format!("planning stopped: {e}")))?;
    let created = store.insert_day(&batch, now).await?;
    tracing::info!(%run_date, created, planned = batch.instances.len(), "snapshot made");
    Ok(created)
}

/// A schedule's fire times on one day (shared by the nodes with that schedule).
type FireTimes = Rc<[DateTime<Utc>]>;

/// The instances of one day for the given nodes, with instance-level edges among them
/// (see [`instance_edges`] for the rule). Upstream nodes outside `nodes` add no edge.
pub fn plan_day(
    nodes: &[SnapshotNode],
    tz: Tz,
    run_date: NaiveDate,
    run_type: RunType,
) -> DayBatch {
    let mut instances = Vec::with_capacity(nodes.len());
    // node id → (index of its first instance, its fire times)
    let mut fires: HashMap<i64, (usize, FireTimes)> = HashMap::with_capacity(nodes.len());
    // Many nodes share a schedule: each one's fire times are worked out once.
    let mut by_schedule: HashMap<&str, Result<FireTimes, String>> = HashMap::new();
    for node in nodes {
        let times = by_schedule.entry(node.schedule.as_str()).or_insert_with(|| {
            Schedule::parse(&node.schedule).map(|s| s.fire_times_on(run_date, tz).into())
        });
        let times = match times {
            Ok(times) => times.clone(),
            Err(reason) => {
                tracing::warn!(node = %node.name, %reason, "skipping a node with a bad schedule");
                continue;
            }
        };
        let first = instances.len();
        instances.extend(times.iter().map(|&planned_at| NewInstance {
            node_id: node.id,
            node_name: node.name.clone(),
            workflow: node.workflow.clone(),
            owner: node.owner.clone(),
            planned_at,
            paused: node.paused,
        }));
        fires.insert(node.id, (first, times));
    }
    let mut edges = Vec::new();
    for node in nodes {
        let Some((down_first, down_times)) = fires.get(&node.id) else {
            continue;
        };
        for upstream in &node.upstream {
            let Some((up_first, up_times)) = fires.get(upstream) else {
                continue;
            };
            for (k, ups) in instance_edges(up_times, down_times).into_iter().enumerate() {
                edges.extend(ups.into_iter().map(|j| (down_first + k, up_first + j)));
            }
        }
    }
    DayBatch {
        run_type,
        job_id: 0,
        run_date,
        bizdate: bizdate_of(run_date),
        priority: 0,
        instances,
        edges,
        run_now: false,
    }
}

/// When the nightly snapshot runs: at `at` local time every day.
#[derive(Debug, Clone, Copy)]
pub struct NightlySchedule {
    pub tz: Tz,
    pub at: NaiveTime,
}

impl NightlySchedule {
    /// The snapshot moment on local day `day` (which makes the instances of `day + 1`).
    pub fn moment_on(&self, day: NaiveDate) -> DateTime<Utc> {
        let local = day.and_time(self.at);
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| self.tz.from_local_datetime(&(local + Duration::hours(1))).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&local))
    }

    /// The newest run date whose snapshot moment is at or before `now`.
    pub fn due_run_date(&self, now: DateTime<Utc>) -> NaiveDate {
        let today = now.with_timezone(&self.tz).date_naive();
        if now >= self.moment_on(today) { today + Duration::days(1) } else { today }
    }

    /// The next snapshot moment after `now`, with the run date it makes.
    pub fn next_after(&self, now: DateTime<Utc>) -> (DateTime<Utc>, NaiveDate) {
        let today = now.with_timezone(&self.tz).date_naive();
        let day = if now < self.moment_on(today) { today } else { today + Duration::days(1) };
        (self.moment_on(day), day + Duration::days(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i64, schedule: &str, upstream: &[i64]) -> SnapshotNode {
        SnapshotNode {
            id,
            name: format!("n{id}"),
            workflow: "w".into(),
            owner: "o".into(),
            schedule: schedule.into(),
            paused: false,
            upstream: upstream.to_vec(),
        }
    }

    #[test]
    fn a_day_of_hourly_and_daily_nodes() {
        let nodes =
            [node(1, "0 * * * *", &[]), node(2, "30 2 * * *", &[1]), node(3, "15 * * * *", &[1])];
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let batch = plan_day(&nodes, Tz::UTC, day, RunType::Cycle);
        assert_eq!(batch.instances.len(), 24 + 1 + 24);
        assert_eq!(batch.bizdate, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        // The daily node waits for all 24 hourly instances, each :15 for its own hour.
        assert_eq!(batch.edges.iter().filter(|(d, _)| *d == 24).count(), 24);
        let hourly_pairs: Vec<_> = batch.edges.iter().filter(|(d, _)| *d > 24).collect();
        assert_eq!(hourly_pairs.len(), 24);
        assert!(hourly_pairs.iter().all(|(d, u)| d - 25 == *u));
    }

    #[test]
    fn the_nightly_moment_and_its_run_date() {
        let plan = NightlySchedule {
            tz: "Asia/Shanghai".parse().unwrap(),
            at: NaiveTime::from_hms_opt(22, 30, 0).unwrap(),
        };
        // 22:29 Shanghai on the 24th is 14:29 UTC.
        let before: DateTime<Utc> = "2026-11-24T14:29:00Z".parse().unwrap();
        assert_eq!(plan.due_run_date(before), NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        let (moment, run_date) = plan.next_after(before);
        assert_eq!(moment.to_rfc3339(), "2026-11-24T14:30:00+00:00");
        assert_eq!(run_date, NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        let after: DateTime<Utc> = "2026-11-24T14:30:00Z".parse().unwrap();
        assert_eq!(plan.due_run_date(after), NaiveDate::from_ymd_opt(2026, 11, 25).unwrap());
        assert_eq!(plan.next_after(after).1, NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
    }
}
