//! Test runs and backfills: validate the request, plan the instances of each business date
//! (dependencies among the chosen nodes honoured within a date), gate dates for the backfill's
//! parallelism, and create the job with its instances in one transaction.

use std::collections::{HashMap, HashSet};

use app::audit::AuditOutcome;
use app::error::AppError;
use app::jobs::{
    BackfillRequest, DateOrder, DatePlan, FIRST_PAGE, Job, JobCreated, JobPage, JobQuery,
    MAX_BACKFILL_DAYS, MAX_PARALLELISM, PlannedInstance, TestRequest,
};
use app::model::{RunType, parse_date};
use app::people::Actor;
use app::reason::{Reason, Thing};
use app::rules::{self, Permission};
use app::usecases::{Input, Jobs};
use chrono::{Duration, NaiveDate};

use super::Service;
use crate::engine::EngineEvent;
use crate::engine::schedule::Schedule;
use crate::engine::snapshot::{Sources, plan_day, previous_edges, previous_sources};
use crate::limits::Limits;
use crate::store::{AuditEntry, DayBatch, Gate, NewInstance, NewJob, SnapshotNode};
use app::calendars::Calendar;

/// Checks that the actor may test or backfill every one of `nodes`.
fn may_run(actor: &Actor, nodes: &[SnapshotNode]) -> Result<(), AppError> {
    for node in nodes {
        rules::authorize(actor, Permission::OperateOn { owner: &node.owner })?;
    }
    Ok(())
}

/// What the audit trail says of a job.
fn describe(job: &NewJob, instances: u64) -> String {
    let dates = if job.from == job.to {
        format!("business date {}", job.from)
    } else {
        format!("business dates {} to {}", job.from, job.to)
    };
    let plural = if instances == 1 { "" } else { "s" };
    format!("{instances} instance{plural} of {} ({}), {dates}", job.root, job.nodes.join(", "))
}

/// The nodes of a day, by instance index, that have no upstream (`roots`) and no downstream
/// (`sinks`) inside the day.
fn roots_and_sinks(day: &DayBatch) -> (Vec<usize>, Vec<usize>) {
    let has_upstream: HashSet<usize> = day.edges.iter().map(|(down, _)| *down).collect();
    let has_downstream: HashSet<usize> = day.edges.iter().map(|(_, up)| *up).collect();
    let all = 0..day.instances.len();
    (
        all.clone().filter(|i| !has_upstream.contains(i)).collect(),
        all.filter(|i| !has_downstream.contains(i)).collect(),
    )
}

impl Service {
    /// Creates a job with its instances and its audit entry, and sets the dispatcher going.
    async fn create_job(
        &self,
        actor: &Actor,
        job: &NewJob,
        days: Vec<DayBatch>,
        gates: &[Gate],
    ) -> Result<(i64, u64), AppError> {
        let now = self.now();
        let planned: u64 = days.iter().map(|d| d.instances.len() as u64).sum();
        let message = describe(job, planned);
        let audit = AuditEntry {
            actor: &actor.name,
            action: match job.kind {
                RunType::Backfill => "backfill.create",
                _ => "test.create",
            },
            dry_run: false,
            outcome: AuditOutcome::Ok,
            subject: None,
            message: Some(&message),
            requested: 0,
            changed: 0,
            results: &[],
            changes: &[],
            at: now,
        };
        let created = self.store().create_job(job, days, gates, &audit, now).await?;
        self.engine().wake();
        self.engine().announce(EngineEvent::Operated { instances: Vec::new() });
        Ok(created)
    }

    /// `GET /backfills/{id}`.
    pub async fn backfill_job(&self, id: i64) -> Result<Job, AppError> {
        self.allowed(Permission::Read)?;
        let job = self.store().get_job(id).await?.filter(|j| j.kind == RunType::Backfill);
        job.ok_or_else(|| {
            AppError::because(Reason::NotFound { thing: Thing::Backfill, name: id.to_string() })
        })
    }
}

#[async_trait::async_trait]
impl Jobs for Service {
    /// A smoke test: the node (or every node of the workflow) for one business date, run now
    /// without waiting for upstream instances (within a workflow test, its nodes wait for each
    /// other). A node whose schedule does not fire that day still gets one instance.
    async fn start_test(&self, request: Input<TestRequest>) -> Result<JobCreated, AppError> {
        let actor = self.allowed(Permission::Operate)?;
        let request = request?;
        let bizdate = parse_date("bizdate", &request.bizdate)?;
        let store = self.store();
        let tz = self.engine().config().tz;
        let (root, names) = match (&request.node, &request.workflow) {
            (Some(node), None) => (node.clone(), vec![node.clone()]),
            (None, Some(workflow)) => {
                let names = store.workflow_nodes(workflow).await?;
                if names.is_empty() {
                    return Err(AppError::because(Reason::NotFound {
                        thing: Thing::Workflow,
                        name: workflow.clone(),
                    }));
                }
                (workflow.clone(), names)
            }
            _ => return Err(AppError::because(Reason::NodeOrWorkflow)),
        };
        let nodes = store.snapshot_nodes_named(&names).await?;
        if nodes.is_empty() {
            return Err(AppError::because(Reason::NotFound {
                thing: Thing::Node,
                name: root.to_string(),
            }));
        }
        may_run(actor, &nodes)?;
        let run_date = bizdate + Duration::days(1);
        let calendars = store.calendars().await?;
        let sources = previous_sources(&nodes);
        let mut day = plan_day(&nodes, &sources, &calendars, tz, run_date, RunType::Test);
        let planned: HashSet<i64> = day.instances.iter().map(|i| i.node_id).collect();
        let midnight = crate::engine::schedule::local_midnight(run_date, tz);
        for node in nodes.iter().filter(|n| !planned.contains(&n.id)) {
            day.instances.push(NewInstance {
                node_id: node.id,
                node_name: node.name.clone(),
                workflow: node.workflow.clone(),
                owner: node.owner.clone(),
                planned_at: midnight,
                paused: false,
                version: node.version,
                dry_run: false,
            });
        }
        for instance in &mut day.instances {
            // A test runs even if the node is paused: that is the point of trying it.
            instance.paused = false;
        }
        day.priority = RunType::Test.priority();
        day.run_now = true;
        let job = NewJob {
            kind: RunType::Test,
            created_by: actor.name.clone(),
            root,
            nodes: nodes.iter().map(|n| n.name.clone()).collect(),
            from: bizdate,
            to: bizdate,
            order: DateOrder::Asc,
            parallelism: 1,
        };
        if day.instances.len() as u64 > self.core.limits.max_job_instances {
            return Err(AppError::because(Reason::TestTooLarge {
                count: day.instances.len(),
                max: self.core.limits.max_job_instances,
            }));
        }
        let dates = vec![DatePlan { bizdate, instances: day.instances.len() as u64 }];
        let first = first_page(std::slice::from_ref(&day));
        let (id, created) = self.create_job(actor, &job, vec![day], &[]).await?;
        Ok(JobCreated {
            job: Some(id),
            dry_run: false,
            nodes: job.nodes,
            dates,
            instances: created,
            first,
            url: Some(format!("/test?state=any&job={id}")),
        })
    }

    /// A backfill of `node` (and the chosen descendants) over a range of business dates, in
    /// ascending or descending order, `parallelism` dates at a time. Instances yield to cycle
    /// work (lower priority, and within each group's backfill share). Planning runs off the
    /// request's thread, within the administrator's limits of size and time.
    async fn backfill(&self, request: Input<BackfillRequest>) -> Result<JobCreated, AppError> {
        let actor = self.allowed(Permission::Operate)?;
        let request = request?;
        let tz = self.engine().config().tz;
        let from = parse_date("from", &request.from)?;
        let to = parse_date("to", &request.to)?;
        if from > to {
            return Err(AppError::because(Reason::FromAfterTo {
                from: from.to_string(),
                to: to.to_string(),
            }));
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_BACKFILL_DAYS {
            return Err(AppError::because(Reason::TooManyDates { days, max: MAX_BACKFILL_DAYS }));
        }
        if !(1..=MAX_PARALLELISM).contains(&request.parallelism) {
            return Err(AppError::because(Reason::Parallelism {
                max: MAX_PARALLELISM,
                got: request.parallelism,
            }));
        }
        let store = self.store();
        if store.get_node(&request.node).await?.is_none() {
            return Err(AppError::because(Reason::NotFound {
                thing: Thing::Node,
                name: request.node.clone(),
            }));
        }
        let descendants: HashSet<String> =
            store.node_descendants(&request.node).await?.into_iter().collect();
        let mut names = vec![request.node.clone()];
        for name in &request.downstream {
            if !descendants.contains(name) {
                return Err(AppError::because(Reason::NotDownstreamNode {
                    name: name.clone(),
                    root: request.node.clone(),
                }));
            }
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        let nodes = store.snapshot_nodes_named(&names).await?;
        may_run(actor, &nodes)?;
        let sources = previous_sources(&nodes);
        let calendars = store.calendars().await?;

        let mut bizdates: Vec<NaiveDate> = (0..days).map(|d| from + Duration::days(d)).collect();
        if request.order == DateOrder::Desc {
            bizdates.reverse();
        }
        let node_names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        let limits = self.core.limits.clone();
        let scope = if request.dry_run { Scope::Preview } else { Scope::Everything };
        let (plan, sources) = tokio::task::spawn_blocking(move || {
            let planning = Planning { nodes: &nodes, sources: &sources, calendars: &calendars, tz };
            plan_backfill(&planning, &bizdates, &limits, scope).map(|p| (p, sources))
        })
        .await
        .map_err(|_| AppError::internal("planning stopped"))??;
        if request.dry_run {
            return Ok(JobCreated {
                job: None,
                dry_run: true,
                nodes: node_names,
                instances: plan.dates.iter().map(|d| d.instances).sum(),
                dates: plan.dates,
                first: plan.first,
                url: None,
            });
        }
        let mut batches = plan.batches;
        // Dates start in the requested order, `parallelism` at a time: each date's roots wait
        // for the sinks of the date `parallelism` places before it. A cross-cycle dependency
        // makes dates wait for the date before them (below), so then the places follow the
        // dates, or the two orders would wait for each other.
        let parallelism = request.parallelism as usize;
        let mut places: Vec<usize> = (0..batches.len()).collect();
        if !sources.is_empty() {
            places.sort_by_key(|&k| batches[k].bizdate);
        }
        let mut gates = Vec::new();
        for i in parallelism..places.len() {
            let (k, before) = (places[i], places[i - parallelism]);
            let (roots, _) = roots_and_sinks(&batches[k]);
            let (_, sinks) = roots_and_sinks(&batches[before]);
            for &root in &roots {
                gates.extend(sinks.iter().map(|&sink| ((k, root), (before, sink))));
            }
        }
        // Cross-cycle dependencies: a date waits for the previous date of the job (whatever
        // the order), which runs a self-dependent node's dates in order.
        let position: HashMap<NaiveDate, usize> =
            batches.iter().enumerate().map(|(k, b)| (b.bizdate, k)).collect();
        for (k, batch) in batches.iter().enumerate() {
            let Some(&j) = position.get(&(batch.bizdate - Duration::days(1))) else {
                continue;
            };
            let earlier: Vec<_> = batches[j]
                .instances
                .iter()
                .enumerate()
                .map(|(i, e)| (e.node_id, e.planned_at, (j, i)))
                .collect();
            gates.extend(
                previous_edges(&sources, &batch.instances, &earlier)
                    .into_iter()
                    .map(|(i, up)| ((k, i), up)),
            );
        }
        let job = NewJob {
            kind: RunType::Backfill,
            created_by: actor.name.clone(),
            root: request.node.clone(),
            nodes: node_names.clone(),
            from,
            to,
            order: request.order,
            parallelism: request.parallelism,
        };
        for batch in &mut batches {
            batch.run_type = RunType::Backfill;
        }
        let (id, created) = self.create_job(actor, &job, batches, &gates).await?;
        Ok(JobCreated {
            job: Some(id),
            dry_run: false,
            nodes: node_names,
            dates: plan.dates,
            instances: created,
            first: plan.first,
            url: Some(format!("/backfill?state=any&job={id}")),
        })
    }

    async fn list_jobs(&self, query: JobQuery) -> Result<JobPage, AppError> {
        self.allowed(Permission::Read)?;
        let before = match query.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(cursor) => Some(super::parse_id("a valid cursor", cursor)?),
            None => None,
        };
        let limit = app::model::page_size(query.limit)?;
        Ok(self.store().list_jobs(query.kind, limit, before).await?)
    }
}

/// How much of a backfill to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Counts per date and the first page of instances (a dry run).
    Preview,
    /// Every instance of every date.
    Everything,
}

struct BackfillPlan {
    dates: Vec<DatePlan>,
    first: Vec<PlannedInstance>,
    /// Empty for a preview.
    batches: Vec<DayBatch>,
}

/// What a backfill plans its dates from.
struct Planning<'a> {
    nodes: &'a [SnapshotNode],
    sources: &'a Sources,
    calendars: &'a [Calendar],
    tz: chrono_tz::Tz,
}

/// Plans a backfill of `nodes` over `bizdates`. It first only counts (each node's fire times a
/// date), refusing as soon as the count passes the limit, then plans what `scope` asks for.
/// Either way it gives up when it takes longer than the planning budget. Blocking: call it off
/// the async runtime.
fn plan_backfill(
    planning: &Planning<'_>,
    bizdates: &[NaiveDate],
    limits: &Limits,
    scope: Scope,
) -> Result<BackfillPlan, AppError> {
    let Planning { nodes, sources, tz, .. } = *planning;
    let started = std::time::Instant::now();
    let out_of_time =
        || AppError::because(Reason::PlanningTooSlow { seconds: limits.planning_budget.as_secs() });
    let schedules: Vec<Schedule> =
        nodes.iter().filter_map(|n| Schedule::parse(&n.schedule).ok()).collect();
    let mut dates = Vec::with_capacity(bizdates.len());
    let mut total: u64 = 0;
    for bizdate in bizdates {
        let run_date = *bizdate + Duration::days(1);
        let count: u64 = schedules.iter().map(|s| s.fire_times_on(run_date, tz).len() as u64).sum();
        total += count;
        if total > limits.max_job_instances {
            return Err(AppError::because(Reason::BackfillTooLarge {
                max: limits.max_job_instances,
            }));
        }
        if started.elapsed() > limits.planning_budget {
            return Err(out_of_time());
        }
        dates.push(DatePlan { bizdate: *bizdate, instances: count });
    }
    let plan_date = |bizdate: NaiveDate| {
        let run_date = bizdate + Duration::days(1);
        let mut day = plan_day(nodes, sources, planning.calendars, tz, run_date, RunType::Backfill);
        for instance in &mut day.instances {
            instance.paused = false;
        }
        day.priority = RunType::Backfill.priority();
        day.run_now = true;
        day
    };
    let mut batches = Vec::new();
    let mut first = Vec::new();
    for date in &dates {
        let wanted = match scope {
            Scope::Everything => true,
            Scope::Preview => first.len() < FIRST_PAGE && date.instances > 0,
        };
        if !wanted {
            continue;
        }
        let day = plan_date(date.bizdate);
        if first.len() < FIRST_PAGE {
            first.extend(first_page(std::slice::from_ref(&day)));
            first.truncate(FIRST_PAGE);
        }
        if scope == Scope::Everything {
            batches.push(day);
        }
        if started.elapsed() > limits.planning_budget {
            return Err(out_of_time());
        }
    }
    Ok(BackfillPlan { dates, first, batches })
}

/// The first [`FIRST_PAGE`] instances of these days.
fn first_page(days: &[DayBatch]) -> Vec<PlannedInstance> {
    days.iter()
        .flat_map(|day| {
            day.instances.iter().map(|i| PlannedInstance {
                node: i.node_name.clone(),
                bizdate: day.bizdate,
                planned_at: i.planned_at,
            })
        })
        .take(FIRST_PAGE)
        .collect()
}
