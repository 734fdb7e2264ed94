//! The snapshot generator: turns the definitions into the instances of one run date, and the
//! nightly loop that does it at the configured time (default 22:30) for the next day.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use app::calendars::{Calendar, dry_run};
use app::model::{RunType, bizdate_of};
use app::nodes::DependsOnPrevious;
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
    let calendars = store.calendars().await?;
    let sources = previous_sources(&nodes);
    let mut wanted: Vec<i64> = sources.values().flatten().map(|s| s.node()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let earlier = store.previous_cycle(&wanted, run_date).await?;
    // Planning a large project takes a while: off the async runtime, so requests keep flowing.
    let batch = tokio::task::spawn_blocking(move || {
        let mut batch = plan_day(&nodes, &sources, &calendars, tz, run_date, RunType::Cycle);
        let handles: Vec<_> = earlier.iter().map(|e| (e.node_id, e.planned_at, e.id)).collect();
        batch.earlier = previous_edges(&sources, &batch.instances, &handles);
        batch
    })
    .await
    .map_err(|e| crate::store::StoreError::Corrupt(format!("planning stopped: {e}")))?;
    let created = store.insert_day(&batch, now).await?;
    tracing::info!(%run_date, created, planned = batch.instances.len(), "snapshot made");
    Ok(created)
}

/// A schedule's fire times on one day (shared by the nodes with that schedule).
type FireTimes = Rc<[DateTime<Utc>]>;

/// Whose previous cycle a node's instances wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The node's own previous instance (the one just before, across run dates).
    Own(i64),
    /// Every instance of another node's previous run date.
    Other(i64),
}

impl Source {
    pub fn node(self) -> i64 {
        match self {
            Source::Own(id) | Source::Other(id) => id,
        }
    }
}

/// Node id → whose previous cycle it waits for (see [`previous_sources`]).
pub type Sources = HashMap<i64, Vec<Source>>;

/// For each node with a cross-cycle dependency, the nodes whose previous cycle it waits for,
/// among `nodes` ("children" are its first-level downstream among them; names not among them
/// are left out: a node that no longer exists has no cycle to wait for).
pub fn previous_sources(nodes: &[SnapshotNode]) -> Sources {
    // The name and downstream maps cost a pass over every node: made only when a node needs
    // them (most projects have no cross-cycle dependency at all).
    let mut ids: Option<HashMap<&str, i64>> = None;
    let mut sources = HashMap::new();
    let mut children: Option<HashMap<i64, Vec<i64>>> = None;
    for node in nodes {
        let list: Vec<Source> = match &node.previous {
            DependsOnPrevious::None => continue,
            DependsOnPrevious::Own => vec![Source::Own(node.id)],
            DependsOnPrevious::Children => {
                let children = children.get_or_insert_with(|| {
                    let mut down: HashMap<i64, Vec<i64>> = HashMap::new();
                    for n in nodes {
                        for up in &n.upstream {
                            down.entry(*up).or_default().push(n.id);
                        }
                    }
                    down
                });
                children.get(&node.id).into_iter().flatten().map(|&c| Source::Other(c)).collect()
            }
            DependsOnPrevious::Nodes(names) => {
                let ids = ids
                    .get_or_insert_with(|| nodes.iter().map(|n| (n.name.as_str(), n.id)).collect());
                names
                    .iter()
                    .filter_map(|name| ids.get(name.as_str()))
                    .map(|&id| if id == node.id { Source::Own(id) } else { Source::Other(id) })
                    .collect()
            }
        };
        if !list.is_empty() {
            sources.insert(node.id, list);
        }
    }
    sources
}

/// The cross-cycle edges from a day's `instances` to instances of an earlier cycle:
/// `(index of the waiting instance, handle of the earlier one)`. `earlier` holds the previous
/// cycle of the source nodes as `(node, planned time, handle)`. A node's first instance of the
/// day waits for its own latest earlier instance (its later ones wait within the day, see
/// [`plan_day`]); every instance waits for each other source's whole previous cycle.
pub fn previous_edges<T: Copy>(
    sources: &Sources,
    instances: &[NewInstance],
    earlier: &[(i64, DateTime<Utc>, T)],
) -> Vec<(usize, T)> {
    let mut by_node: HashMap<i64, Vec<(DateTime<Utc>, T)>> = HashMap::new();
    for &(node, planned, handle) in earlier {
        by_node.entry(node).or_default().push((planned, handle));
    }
    let mut first_of_day: HashMap<i64, usize> = HashMap::new();
    for (k, instance) in instances.iter().enumerate() {
        let first = first_of_day.entry(instance.node_id).or_insert(k);
        if instances[*first].planned_at > instance.planned_at {
            *first = k;
        }
    }
    let mut edges = Vec::new();
    for (k, instance) in instances.iter().enumerate() {
        for source in sources.get(&instance.node_id).into_iter().flatten() {
            let Some(previous) = by_node.get(&source.node()) else {
                continue;
            };
            match source {
                Source::Own(_) if first_of_day[&instance.node_id] == k => {
                    if let Some(&(_, handle)) = previous.iter().max_by_key(|(planned, _)| *planned)
                    {
                        edges.push((k, handle));
                    }
                }
                Source::Own(_) => {}
                Source::Other(_) => edges.extend(previous.iter().map(|&(_, handle)| (k, handle))),
            }
        }
    }
    edges
}

/// The instances of one day for the given nodes, with instance-level edges among them
/// (see [`instance_edges`] for the rule). Upstream nodes outside `nodes` add no edge. A node
/// that waits for its own previous cycle (`sources`) has each instance wait for the one before.
/// A node whose calendar (among `calendars`) makes the day a holiday gets dry runs
/// ([`dry_run`]).
pub fn plan_day(
    nodes: &[SnapshotNode],
    sources: &Sources,
    calendars: &[Calendar],
    tz: Tz,
    run_date: NaiveDate,
    run_type: RunType,
) -> DayBatch {
    let off: HashSet<&str> = calendars
        .iter()
        .filter(|c| dry_run(run_type, Some(c), run_date))
        .map(|c| c.name.as_str())
        .collect();
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
        let dry_run = node.calendar.as_deref().is_some_and(|c| off.contains(c));
        instances.extend(times.iter().map(|&planned_at| NewInstance {
            node_id: node.id,
            node_name: node.name.clone(),
            workflow: node.workflow.clone(),
            owner: node.owner.clone(),
            planned_at,
            paused: node.paused,
            version: node.version,
            dry_run,
        }));
        fires.insert(node.id, (first, times));
    }
    let mut edges = Vec::new();
    for node in nodes {
        let Some((down_first, down_times)) = fires.get(&node.id) else {
            continue;
        };
        // Waiting for its own previous cycle: each instance after the day's first waits for
        // the one before it (the previous hour of an hourly node).
        if sources.get(&node.id).is_some_and(|s| s.contains(&Source::Own(node.id))) {
            edges.extend((1..down_times.len()).map(|k| (down_first + k, down_first + k - 1)));
        }
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
        earlier: Vec::new(),
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
            previous: DependsOnPrevious::None,
            version: 1,
            calendar: None,
        }
    }

    #[test]
    fn a_day_of_hourly_and_daily_nodes() {
        let nodes =
            [node(1, "0 * * * *", &[]), node(2, "30 2 * * *", &[1]), node(3, "15 * * * *", &[1])];
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let batch = plan_day(&nodes, &Sources::new(), &[], Tz::UTC, day, RunType::Cycle);
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
