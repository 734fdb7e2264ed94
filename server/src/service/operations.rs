//! Operations on instances: kill, rerun, set success, pause, resume, rerun downstream, and the
//! batches. Every decision comes from `app::rules` (the role, then the state); the store applies
//! it as a guarded update inside one transaction that also writes the audit entry. In a dry run
//! the same decisions are made and reported (which instances would change, and how, and which
//! downstream instances would be scheduled again) without changing anything.

use std::collections::{HashMap, HashSet};

use app::audit::AuditOutcome;
use app::error::AppError;
use app::model::{InstanceId, InstanceState, MAX_DESCENDANTS};
use app::people::Actor;
use app::reason::{Reason, Thing};
use app::report::{
    BatchKind, BatchRequest, Change, ItemResult, Mode, Report, RerunDownstreamRequest, Scheduled,
};
use app::rules::{self, Facts, Operation, Permission};
use app::usecases::{Input, Operations};

use super::Service;
use crate::engine::EngineEvent;
use crate::store::{AuditEntry, Guard, OperationTx, Target, Transition};

/// The most instances one batch may touch; a filter matching more is refused.
pub const MAX_BATCH: usize = 50_000;

/// The transition an operation makes, with the guard the rules give it.
#[derive(Clone, Copy)]
struct Plan {
    transition: Transition,
    guard: Guard<'static>,
}

fn plan_of(op: Operation) -> Result<Plan, AppError> {
    let transition = match op {
        Operation::Kill => Transition::Stop,
        Operation::Rerun => Transition::RunNow,
        Operation::SetSuccess => Transition::Succeed,
        Operation::Pause => Transition::Pause,
        Operation::Resume => Transition::Resume,
        Operation::RerunDownstream => Transition::Reset,
        Operation::ViewLog | Operation::ViewProperties => {
            return Err(AppError::bad_request(format!(
                "{} is not an operation that changes an instance",
                op.label(app::lang::Locale::en)
            )));
        }
    };
    let guard = Guard { states: rules::allowed_states(op), paused: rules::paused_guard(op) };
    Ok(Plan { transition, guard })
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

/// What an instance becomes: its state and paused flag after the transition.
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

fn facts(target: &Target) -> Facts {
    Facts { state: target.state, paused: target.paused }
}

/// Everything an operation decided, before it is applied.
struct Decision {
    action: &'static str,
    /// Per named instance: `Ok` or why it was refused.
    results: Vec<(InstanceId, Result<(), AppError>)>,
    /// The instances to change, by transition.
    apply: Vec<(Plan, Vec<Target>)>,
    /// Instances whose downstream would be scheduled again.
    downstream_of: Vec<InstanceId>,
}

impl Service {
    /// The person asking, if their role allows `permission`; a role that does not is refused
    /// at once (before anything is read or parsed) and the refusal audited.
    async fn gate(&self, action: &str, permission: Permission<'_>) -> Result<&Actor, AppError> {
        let actor = self.actor()?;
        if let Err(denial) = rules::authorize(actor, permission) {
            let error = AppError::from(denial);
            self.store()
                .record_audit(&AuditEntry {
                    actor: &actor.name,
                    action,
                    dry_run: false,
                    outcome: AuditOutcome::Refused,
                    subject: None,
                    message: Some(&error.message),
                    requested: 0,
                    changed: 0,
                    results: &[],
                    changes: &[],
                    at: self.now(),
                })
                .await?;
            return Err(error);
        }
        Ok(actor)
    }

    /// Audits a request refused as a whole (once, with a bounded message and no per-instance
    /// rows) and returns its error.
    async fn refuse(
        &self,
        mut tx: Box<dyn OperationTx>,
        actor: &Actor,
        action: &str,
        mode: Mode,
        requested: usize,
        error: AppError,
    ) -> Result<Report, AppError> {
        tx.audit(&AuditEntry {
            actor: &actor.name,
            action,
            dry_run: mode.is_dry_run(),
            outcome: AuditOutcome::Refused,
            subject: None,
            message: Some(&error.message),
            requested: requested as u64,
            changed: 0,
            results: &[],
            changes: &[],
            at: self.now(),
        })
        .await?;
        tx.commit().await?;
        Err(error)
    }

    /// Applies (unless a dry run) what was decided, audits it, commits, stops the processes of
    /// killed instances and waits until they are gone, and wakes the dispatcher. `claims` (the
    /// claim lock, held by operations that stop instances) is released right after the commit.
    async fn conclude(
        &self,
        actor: &Actor,
        mut tx: Box<dyn OperationTx>,
        decision: Decision,
        mode: Mode,
        claims: Option<tokio::sync::MutexGuard<'_, ()>>,
    ) -> Result<Report, AppError> {
        let now = self.now();
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
            if mode == Mode::Apply {
                let ids: Vec<InstanceId> = targets.iter().map(|t| t.id).collect();
                let reason = reason_for(plan.transition, actor);
                let done = tx.apply(plan.transition, &ids, plan.guard, &reason, now).await?;
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
        let downstream = if decision.downstream_of.is_empty() {
            Vec::new()
        } else {
            // The changed instances themselves are left out, and only not-run instances are
            // listed, so reading after the changes gives the same set as reading before.
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
        let refused = audit_results.iter().filter(|(_, r)| r.is_err()).count();
        tx.audit(&AuditEntry {
            actor: &actor.name,
            action: decision.action,
            dry_run: mode.is_dry_run(),
            outcome: AuditOutcome::of(audit_results.len(), refused, false),
            subject: None,
            message: None,
            requested: audit_results.len() as u64,
            changed,
            results: &audit_results,
            changes: &[],
            at: now,
        })
        .await?;
        tx.commit().await?;
        drop(claims);

        if mode == Mode::Apply {
            self.engine().stop_processes(&to_stop).await;
            self.engine().wake();
            if changed > 0 {
                let instances = changes.iter().map(|c| c.id).collect();
                self.engine().announce(EngineEvent::Operated { instances });
            }
        }
        let results = decision
            .results
            .into_iter()
            .map(|(id, r)| {
                let value = match r {
                    Ok(()) => ItemResult::ok(),
                    Err(e) => ItemResult::refused(e),
                };
                (id.to_string(), value)
            })
            .collect();
        Ok(Report { dry_run: mode.is_dry_run(), results, changes, downstream })
    }
}

#[async_trait::async_trait]
impl Operations for Service {
    /// One operation on one instance. A refusal is an error (404, 403 or 409) and changes
    /// nothing; it is audited like everything else.
    async fn operate(
        &self,
        id: InstanceId,
        op: Operation,
        mode: Input<Mode>,
    ) -> Result<Report, AppError> {
        let actor = self.gate(op.as_str(), Permission::Operate).await?;
        let mode = mode?;
        let plan = plan_of(op)?;
        let engine = self.engine();
        let claims = match plan.transition {
            Transition::Stop => Some(engine.lock_claims().await),
            _ => None,
        };
        let mut tx = self.store().begin_operation().await?;
        let target = tx.targets(&[id]).await?.pop();
        let verdict: Result<(), AppError> = match &target {
            None => Err(AppError::because(Reason::NotFound {
                thing: Thing::Instance,
                name: id.to_string(),
            })),
            Some(target) => {
                rules::judge(actor, &target.owner, op, facts(target)).map_err(Into::into)
            }
        };
        let downstream_of = match plan.transition {
            Transition::RunNow | Transition::Succeed | Transition::Resume if verdict.is_ok() => {
                vec![id]
            }
            _ => Vec::new(),
        };
        let apply = match (&verdict, target) {
            (Ok(()), Some(target)) => vec![(plan, vec![target])],
            _ => Vec::new(),
        };
        let decision = Decision {
            action: op.as_str(),
            results: vec![(id, verdict.clone())],
            apply,
            downstream_of,
        };
        let report = self.conclude(actor, tx, decision, mode, claims).await?;
        verdict.map(|()| report)
    }

    /// Reruns the checked instances among `root` and its descendants, in dependency order: the
    /// checked ones with no checked upstream run now, the others wait for their upstream. If any
    /// checked instance is not eligible, the whole request is refused and nothing changes.
    async fn rerun_downstream(
        &self,
        root: InstanceId,
        request: Input<RerunDownstreamRequest>,
    ) -> Result<Report, AppError> {
        let action = Operation::RerunDownstream.as_str();
        let actor = self.gate(action, Permission::Operate).await?;
        let request = request?;
        let mode = Mode::from_dry_run(request.dry_run);
        let checked: Vec<InstanceId> = {
            let mut seen = HashSet::new();
            request.instance_ids.iter().copied().filter(|id| seen.insert(*id)).collect()
        };
        let max = MAX_DESCENDANTS as usize;
        // More than the dialog can list is refused before anything is read.
        if checked.len() > max {
            let refusal = rules::SelectionRefusal::TooMany { max };
            let tx = self.store().begin_operation().await?;
            return self.refuse(tx, actor, action, mode, checked.len(), refusal.into()).await;
        }
        let mut tx = self.store().begin_operation().await?;
        let Some(root_target) = tx.targets(&[root]).await?.pop() else {
            return Err(AppError::because(Reason::NotFound {
                thing: Thing::Instance,
                name: root.to_string(),
            }));
        };
        let mut family: HashMap<InstanceId, Target> =
            tx.descendants(root, max + 1).await?.into_iter().map(|t| (t.id, t)).collect();
        family.insert(root, root_target);
        let owners: Result<(), AppError> =
            checked.iter().filter_map(|id| family.get(id)).try_for_each(|t| {
                Ok(rules::authorize(actor, Permission::OperateOn { owner: &t.owner })?)
            });
        let selection = owners.and_then(|()| {
            Ok(rules::check_selection(&checked, max, |id| family.get(&id).map(|t| t.state))?)
        });
        if let Err(error) = selection {
            return self.refuse(tx, actor, action, mode, checked.len(), error).await;
        }
        let edges = tx.edges_within(&checked).await?;
        let waits: HashSet<InstanceId> = edges.iter().map(|(down, _)| *down).collect();
        let (first, later): (Vec<Target>, Vec<Target>) =
            checked.iter().map(|id| family[id].clone()).partition(|t| !waits.contains(&t.id));
        let decision = Decision {
            action,
            results: checked.iter().map(|id| (*id, Ok(()))).collect(),
            apply: vec![
                (plan_of(Operation::Rerun)?, first),
                (plan_of(Operation::RerunDownstream)?, later),
            ],
            downstream_of: checked.clone(),
        };
        self.conclude(actor, tx, decision, mode, None).await
    }

    /// Batch kill (administrators only) or batch repair rerun (failed instances), of listed
    /// instances or of everything matching a filter. Each instance gets its own result; the
    /// eligible ones proceed.
    async fn batch(
        &self,
        kind: BatchKind,
        request: Input<BatchRequest>,
    ) -> Result<Report, AppError> {
        // A role that may never do this batch is refused as a whole (403) before anything else.
        let actor = match kind {
            BatchKind::Kill => self.gate("batch_kill", Permission::BatchKill).await?,
            BatchKind::Rerun => self.gate("batch_rerun", Permission::Operate).await?,
        };
        let request = request?;
        let mode = Mode::from_dry_run(request.dry_run);
        let (action, plan) = match kind {
            BatchKind::Kill => ("batch_kill", plan_of(Operation::Kill)?),
            BatchKind::Rerun => {
                let plan = plan_of(Operation::Rerun)?;
                let repair = Guard { states: &app::model::InstanceState::FAILURES, ..plan.guard };
                ("batch_rerun", Plan { guard: repair, ..plan })
            }
        };
        if request.ids.as_ref().is_some_and(|ids| ids.len() > MAX_BATCH) {
            return Err(AppError::because(Reason::BatchTooLarge { max: MAX_BATCH }));
        }
        let claims = match kind {
            BatchKind::Kill => Some(self.engine().lock_claims().await),
            BatchKind::Rerun => None,
        };
        let mut tx = self.store().begin_operation().await?;
        let (requested, targets) = match (&request.ids, &request.filter) {
            (Some(ids), None) => (ids.clone(), tx.targets(ids).await?),
            (None, Some(filter)) => {
                let targets = tx.targets_matching(filter, MAX_BATCH + 1).await?;
                if targets.len() > MAX_BATCH {
                    return Err(AppError::because(Reason::FilterTooBroad { max: MAX_BATCH }));
                }
                (targets.iter().map(|t| t.id).collect(), targets)
            }
            _ => return Err(AppError::because(Reason::IdsOrFilter)),
        };
        let by_id: HashMap<InstanceId, &Target> = targets.iter().map(|t| (t.id, t)).collect();
        let mut results = Vec::with_capacity(requested.len());
        let mut chosen = Vec::new();
        let mut seen = HashSet::new();
        for id in requested.into_iter().filter(|id| seen.insert(*id)) {
            let verdict = match by_id.get(&id) {
                None => Err(AppError::because(Reason::NotFound {
                    thing: Thing::Instance,
                    name: id.to_string(),
                })),
                Some(t) => match kind {
                    BatchKind::Kill => rules::judge(actor, &t.owner, Operation::Kill, facts(t)),
                    BatchKind::Rerun => rules::judge_repair(actor, &t.owner, facts(t)),
                }
                .map_err(AppError::from),
            };
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
        self.conclude(actor, tx, decision, mode, claims).await
    }
}
