//! Operations on instances: kill, rerun, set success, pause, resume, rerun downstream, and the
//! batches. Every decision comes from `app::rules` (role, then state); the store applies it as a
//! guarded update inside one transaction that also writes the audit trail. With `dry_run` the
//! same decisions are made and reported (which instances would change, and how, and which
//! downstream instances would be scheduled again) without changing anything.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use app::error::AppError;
use app::model::{InstanceId, InstanceState};
use app::people::Actor;
use app::report::{BatchKind, BatchRequest, Change, ItemResult, Report, Scheduled};
use app::rules::{self, Facts, Operation, Permission};

use crate::engine::Engine;
use crate::engine::process;
use crate::store::{AuditEntry, OperationTx, Target, Transition};

/// The most instances one batch may touch; a filter matching more is refused.
pub const MAX_BATCH: usize = 50_000;

/// The transition an operation makes, with the guard the rules give it.
struct Plan {
    transition: Transition,
    allowed: &'static [InstanceState],
    paused: Option<bool>,
}

fn plan_of(op: Operation) -> Plan {
    let transition = match op {
        Operation::Kill => Transition::Stop,
        Operation::Rerun => Transition::RunNow,
        Operation::SetSuccess => Transition::Succeed,
        Operation::Pause => Transition::Pause,
        Operation::Resume => Transition::Resume,
        Operation::RerunDownstream => Transition::Reset,
        Operation::ViewLog | Operation::ViewProperties => unreachable!("not a state change"),
    };
    Plan { transition, allowed: rules::allowed_states(op), paused: rules::required_paused(op) }
}

fn action_name(op: Operation) -> &'static str {
    match op {
        Operation::Kill => "kill",
        Operation::Rerun => "rerun",
        Operation::SetSuccess => "set_success",
        Operation::Pause => "pause",
        Operation::Resume => "resume",
        Operation::RerunDownstream => "rerun_downstream",
        Operation::ViewLog => "view_log",
        Operation::ViewProperties => "view_properties",
    }
}

fn reason_for(transition: Transition, actor: &Actor) -> String {
    let what = match transition {
        Transition::Stop => "killed",
        Transition::RunNow | Transition::Reset => "rerun",
        Transition::Succeed => "set to success",
        Transition::Pause => "paused",
        Transition::Resume => "resumed",
    };
    format!("{what} by {}", actor.name)
}

fn after(target: &Target, transition: Transition) -> (InstanceState, bool) {
    match transition {
        Transition::Stop => (InstanceState::Stopped, target.paused),
        Transition::RunNow => (InstanceState::WaitingResources, target.paused),
        Transition::Reset => (InstanceState::NotRun, target.paused),
        Transition::Succeed => (InstanceState::Success, target.paused),
        Transition::Pause => (target.state, true),
        Transition::Resume => (target.state, false),
    }
}

/// How one instance fares: refused with an error, or planned.
fn judge(
    actor: &Actor,
    target: Option<&Target>,
    id: InstanceId,
    rule: impl Fn(Facts) -> Result<(), String>,
) -> Result<(), AppError> {
    let target = target.ok_or_else(|| AppError::not_found(format!("no instance {id}")))?;
    rules::authorize(actor, Permission::Operate { owner: &target.owner })
        .map_err(AppError::forbidden)?;
    rule(Facts { state: target.state, paused: target.paused }).map_err(AppError::conflict)
}

/// Everything an operation decided, before it is applied.
struct Decision {
    action: &'static str,
    results: Vec<(InstanceId, Result<(), AppError>)>,
    /// The instances to change, by transition.
    apply: Vec<(Plan, Vec<Target>)>,
    /// Instances whose downstream would be scheduled again.
    downstream_of: Vec<InstanceId>,
}

impl Engine {
    /// One operation on one instance. A refusal is an error (404, 403 or 409) and changes
    /// nothing; it is audited like everything else.
    pub async fn operate(
        &self,
        actor: &Actor,
        id: InstanceId,
        op: Operation,
        dry_run: bool,
    ) -> Result<Report, AppError> {
        let plan = plan_of(op);
        let stops = plan.transition == Transition::Stop;
        let claims = if stops { Some(self.lock_claims().await) } else { None };
        let mut tx = self.store().begin_operation().await?;
        let target = tx.targets(&[id]).await?.pop();
        let verdict = judge(actor, target.as_ref(), id, |facts| {
            rules::check(op, facts).map_err(|r| r.reason)
        });
        let downstream_of = match plan.transition {
            Transition::RunNow | Transition::Succeed | Transition::Resume => vec![id],
            _ => Vec::new(),
        };
        let apply = match (&verdict, target) {
            (Ok(()), Some(target)) => vec![(plan, vec![target])],
            _ => Vec::new(),
        };
        let decision = Decision {
            action: action_name(op),
            results: vec![(id, verdict.clone())],
            apply,
            downstream_of,
        };
        let report = self.conclude(actor, tx, decision, dry_run, None, claims).await?;
        verdict.map(|()| report)
    }

    /// Reruns the checked instances among `root` and its descendants, in dependency order: the
    /// checked ones with no checked upstream run now, the others wait for their upstream. If any
    /// checked instance is not eligible, the whole request is refused and nothing changes.
    pub async fn rerun_downstream(
        &self,
        actor: &Actor,
        root: InstanceId,
        checked: &[InstanceId],
        dry_run: bool,
    ) -> Result<Report, AppError> {
        let action = action_name(Operation::RerunDownstream);
        if checked.is_empty() {
            return Err(AppError::bad_request("check at least one instance to rerun"));
        }
        let mut tx = self.store().begin_operation().await?;
        let Some(root_target) = tx.targets(&[root]).await?.pop() else {
            return Err(AppError::not_found(format!("no instance {root}")));
        };
        let mut family: HashMap<InstanceId, Target> =
            tx.descendants(root).await?.into_iter().map(|t| (t.id, t)).collect();
        family.insert(root, root_target);
        let checked: Vec<InstanceId> = {
            let mut seen = HashSet::new();
            checked.iter().copied().filter(|id| seen.insert(*id)).collect()
        };
        let refusal = self.refuse_selection(actor, &family, &checked);
        if let Err(error) = refusal {
            let results: Vec<(InstanceId, Result<(), AppError>)> =
                checked.iter().map(|id| (*id, Err(error.clone()))).collect();
            let decision =
                Decision { action, results, apply: Vec::new(), downstream_of: Vec::new() };
            self.conclude(actor, tx, decision, dry_run, Some(&error.message), None).await?;
            return Err(error);
        }
        let edges = tx.edges_within(&checked).await?;
        let waits: HashSet<InstanceId> = edges.iter().map(|(down, _)| *down).collect();
        let (first, later): (Vec<Target>, Vec<Target>) =
            checked.iter().map(|id| family[id].clone()).partition(|t| !waits.contains(&t.id));
        let rerun = plan_of(Operation::Rerun);
        let reset = plan_of(Operation::RerunDownstream);
        let decision = Decision {
            action,
            results: checked.iter().map(|id| (*id, Ok(()))).collect(),
            apply: vec![(rerun, first), (reset, later)],
            downstream_of: checked.clone(),
        };
        self.conclude(actor, tx, decision, dry_run, None, None).await
    }

    fn refuse_selection(
        &self,
        actor: &Actor,
        family: &HashMap<InstanceId, Target>,
        checked: &[InstanceId],
    ) -> Result<(), AppError> {
        let root_outsiders: Vec<String> =
            checked.iter().filter(|id| !family.contains_key(id)).map(|id| id.to_string()).collect();
        if !root_outsiders.is_empty() {
            return Err(AppError::bad_request(format!(
                "instances {} are not downstream of the instance being rerun",
                root_outsiders.join(", ")
            )));
        }
        for id in checked {
            rules::authorize(actor, Permission::Operate { owner: &family[id].owner })
                .map_err(AppError::forbidden)?;
        }
        rules::check_selection(checked.iter().map(|id| (*id, family[id].state)))
            .map_err(|refusal| AppError::conflict(refusal.to_string()))
    }

    /// Batch kill (administrators only) or batch repair rerun (failed instances), of listed
    /// instances or of everything matching a filter. Each instance gets its own result; the
    /// eligible ones proceed.
    pub async fn batch(
        &self,
        actor: &Actor,
        kind: BatchKind,
        request: &BatchRequest,
    ) -> Result<Report, AppError> {
        let (action, op) = match kind {
            BatchKind::Kill => ("batch_kill", Operation::Kill),
            BatchKind::Rerun => ("batch_rerun", Operation::Rerun),
        };
        let plan = plan_of(op);
        let plan = match kind {
            BatchKind::Kill => plan,
            BatchKind::Rerun => Plan { allowed: rules::REPAIR_STATES, ..plan },
        };
        let claims = if kind == BatchKind::Kill { Some(self.lock_claims().await) } else { None };
        let mut tx = self.store().begin_operation().await?;
        let (requested, targets) = match (&request.ids, &request.filter) {
            (Some(ids), None) => (ids.clone(), tx.targets(ids).await?),
            (None, Some(filter)) => {
                let targets = tx.targets_matching(filter, MAX_BATCH).await?;
                if targets.len() > MAX_BATCH {
                    return Err(AppError::bad_request(format!(
                        "the filter matches more than {MAX_BATCH} instances; narrow it"
                    )));
                }
                (targets.iter().map(|t| t.id).collect(), targets)
            }
            _ => return Err(AppError::bad_request("give either \"ids\" or \"filter\"")),
        };
        // A role that may never do this batch is refused as a whole (403), not per instance.
        let role_refusal = match kind {
            BatchKind::Kill => rules::authorize(actor, Permission::BatchKill).err(),
            BatchKind::Rerun if !rules::may_operate(actor) => {
                rules::authorize(actor, Permission::Operate { owner: &actor.name }).err()
            }
            BatchKind::Rerun => None,
        };
        if let Some(reason) = role_refusal {
            let error = AppError::forbidden(reason);
            let results = requested.iter().map(|id| (*id, Err(error.clone()))).collect();
            let decision =
                Decision { action, results, apply: Vec::new(), downstream_of: Vec::new() };
            self.conclude(actor, tx, decision, request.dry_run, Some(&error.message), None).await?;
            return Err(error);
        }
        let by_id: HashMap<InstanceId, &Target> = targets.iter().map(|t| (t.id, t)).collect();
        let mut results = Vec::with_capacity(requested.len());
        let mut chosen = Vec::new();
        let mut seen = HashSet::new();
        for id in requested.into_iter().filter(|id| seen.insert(*id)) {
            let verdict = judge(actor, by_id.get(&id).copied(), id, |facts| match kind {
                BatchKind::Kill => rules::check(Operation::Kill, facts).map_err(|r| r.reason),
                BatchKind::Rerun => rules::check_repair(facts).map_err(|r| r.reason),
            });
            if verdict.is_ok() {
                chosen.push(by_id[&id].clone());
            }
            results.push((id, verdict));
        }
        let downstream_of = match kind {
            BatchKind::Rerun => chosen.iter().map(|t| t.id).collect(),
            BatchKind::Kill => Vec::new(),
        };
        let decision = Decision { action, results, apply: vec![(plan, chosen)], downstream_of };
        self.conclude(actor, tx, decision, request.dry_run, None, claims).await
    }

    /// Applies (unless a dry run) what was decided, audits it, commits, stops the processes of
    /// killed instances and waits until they are gone, and wakes the dispatcher. `claims` (the
    /// claim lock, held by operations that stop instances) is released right after the commit.
    async fn conclude(
        &self,
        actor: &Actor,
        mut tx: OperationTx,
        decision: Decision,
        dry_run: bool,
        refused: Option<&str>,
        claims: Option<tokio::sync::MutexGuard<'_, ()>>,
    ) -> Result<Report, AppError> {
        let now = self.clock().now();
        let mut changes = Vec::new();
        let mut changed = 0;
        let mut to_stop = Vec::new();
        for (plan, targets) in &decision.apply {
            for target in targets {
                let (to, paused) = after(target, plan.transition);
                changes.push(Change {
                    id: target.id,
                    node: target.node.clone(),
                    from: target.state,
                    to,
                    paused,
                });
                if plan.transition == Transition::Stop && target.state == InstanceState::Running {
                    to_stop.push(target.id);
                }
            }
            if !dry_run {
                let ids: Vec<InstanceId> = targets.iter().map(|t| t.id).collect();
                let reason = reason_for(plan.transition, actor);
                let done = tx
                    .apply(plan.transition, &ids, plan.allowed, plan.paused, &reason, now)
                    .await?;
                if done != ids.len() as u64 {
                    tracing::error!(
                        planned = ids.len(),
                        done,
                        "an operation changed fewer instances than it decided to"
                    );
                }
                changed += done;
            }
        }
        changes.sort_by_key(|c| c.id);
        let downstream = if decision.downstream_of.is_empty() || refused.is_some() {
            Vec::new()
        } else {
            // Read before the changes are applied would be the same set: the changed instances
            // themselves are excluded, and only not-run instances are listed.
            let changing: HashSet<InstanceId> = changes.iter().map(|c| c.id).collect();
            tx.waiting_downstream(&decision.downstream_of)
                .await?
                .into_iter()
                .filter(|t| !changing.contains(&t.id))
                .map(|t| Scheduled { id: t.id, node: t.node, state: t.state })
                .collect()
        };
        let audit_results: Vec<(InstanceId, Result<(), String>)> = decision
            .results
            .iter()
            .map(|(id, r)| (*id, r.clone().map_err(|e| e.message)))
            .collect();
        tx.audit(&AuditEntry {
            actor: &actor.name,
            action: decision.action,
            dry_run,
            message: refused,
            results: &audit_results,
            changed,
            at: now,
        })
        .await?;
        tx.commit().await?;
        drop(claims);

        if !dry_run {
            self.stop_processes(&to_stop).await;
            self.wake();
            if changed > 0 {
                let instances = changes.iter().map(|c| c.id).collect();
                self.announce(crate::engine::EngineEvent::Operated { instances });
            }
        }
        let results = decision
            .results
            .into_iter()
            .map(|(id, r)| {
                let value = match r {
                    Ok(()) => ItemResult::ok(),
                    Err(e) => ItemResult::Error { error: e.message },
                };
                (id.to_string(), value)
            })
            .collect();
        Ok(Report { dry_run, results, changes, downstream })
    }

    /// Stops the processes of killed running instances and returns once every one is gone.
    async fn stop_processes(&self, ids: &[InstanceId]) {
        let grace = self.config().kill_grace;
        let mut waits = Vec::new();
        for id in ids {
            match self.running().stop(*id) {
                Some(stopping) => waits.push(stopping),
                None => self.stop_orphan(*id, grace).await,
            }
        }
        let limit = grace + Duration::from_secs(15);
        for stopping in waits {
            if tokio::time::timeout(limit, stopping.wait()).await.is_err() {
                tracing::error!("a killed attempt did not end within {limit:?}");
            }
        }
    }

    /// A running instance this server does not run (it cannot normally happen: recovery
    /// reconciles the previous server's): stop the recorded process group if it is still there.
    async fn stop_orphan(&self, id: InstanceId, grace: Duration) {
        let Ok(attempts) = self.store().attempts(id).await else { return };
        if let Some(pid) = attempts.last().and_then(|a| a.pid)
            && process::group_alive(pid)
        {
            process::stop_group(pid, grace).await;
        }
    }
}
