//! The rules of the operations center: the only place that decides whether a person may do
//! something (their role, [`authorize`]) and whether an instance's state allows it ([`check`],
//! [`check_repair`], [`check_selection`]). The browser uses them to enable, grey out or hide
//! actions, the server to refuse requests, and the store's guarded updates take their
//! `WHERE state IN (...)` from [`allowed_states`].
//!
//! Every refusal is a typed value with the sentence people read as its `Display`; the HTTP status
//! follows from its type (a [`Denial`] is a 403, a [`Refusal`] a 409).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::i18n::{Locale, td_string};
use crate::model::{InstanceId, InstanceState};
use crate::people::{Actor, Role};

/// Everything a person can do to one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    ViewLog,
    ViewProperties,
    Kill,
    /// Rerun and resume scheduling.
    Rerun,
    /// Set success and resume scheduling.
    SetSuccess,
    /// Rerun the checked descendants and resume scheduling.
    RerunDownstream,
    /// Freeze this cycle only.
    Pause,
    Resume,
}

impl Operation {
    pub const ALL: [Operation; 8] = [
        Operation::ViewLog,
        Operation::ViewProperties,
        Operation::Kill,
        Operation::Rerun,
        Operation::SetSuccess,
        Operation::RerunDownstream,
        Operation::Pause,
        Operation::Resume,
    ];

    /// The words people read, in their language (the seed's terms in Chinese).
    pub fn label(self, locale: Locale) -> &'static str {
        match self {
            Operation::ViewLog => td_string!(locale, common.op.view_log),
            Operation::ViewProperties => td_string!(locale, common.op.view_properties),
            Operation::Kill => td_string!(locale, common.op.kill),
            Operation::Rerun => td_string!(locale, common.op.rerun),
            Operation::SetSuccess => td_string!(locale, common.op.set_success),
            Operation::RerunDownstream => td_string!(locale, common.op.rerun_downstream),
            Operation::Pause => td_string!(locale, common.op.pause),
            Operation::Resume => td_string!(locale, common.op.resume),
        }
    }

    /// The name in JSON, the audit trail and test selectors.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::ViewLog => "view_log",
            Operation::ViewProperties => "view_properties",
            Operation::Kill => "kill",
            Operation::Rerun => "rerun",
            Operation::SetSuccess => "set_success",
            Operation::RerunDownstream => "rerun_downstream",
            Operation::Pause => "pause",
            Operation::Resume => "resume",
        }
    }

    /// Whether it changes the instance (and so needs more than the right to look).
    pub fn changes_state(self) -> bool {
        !matches!(self, Operation::ViewLog | Operation::ViewProperties)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label(Locale::en))
    }
}

use InstanceState::*;

/// The states from which an operation may start. Manually stopped counts as failed everywhere.
pub fn allowed_states(op: Operation) -> &'static [InstanceState] {
    match op {
        Operation::ViewLog => &[Running, Success, Failed, Stopped],
        Operation::ViewProperties | Operation::Pause | Operation::Resume => &InstanceState::ALL,
        Operation::Kill => &[WaitingTime, WaitingResources, Running],
        Operation::Rerun | Operation::RerunDownstream => &[NotRun, Success, Failed, Stopped],
        Operation::SetSuccess => &InstanceState::FAILURES,
    }
}

/// What an operation needs of the paused flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PausedGuard {
    /// It does not care.
    Any,
    /// Only a paused instance (resume).
    Paused,
    /// Only one that is not paused (pause).
    NotPaused,
}

impl PausedGuard {
    pub fn admits(self, paused: bool) -> bool {
        match self {
            PausedGuard::Any => true,
            PausedGuard::Paused => paused,
            PausedGuard::NotPaused => !paused,
        }
    }
}

pub fn paused_guard(op: Operation) -> PausedGuard {
    match op {
        Operation::Pause => PausedGuard::NotPaused,
        Operation::Resume => PausedGuard::Paused,
        _ => PausedGuard::Any,
    }
}

/// What the state rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub state: InstanceState,
    pub paused: bool,
}

/// An operation the instance's state does not allow (a 409).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    /// `operation` is not possible from `state`.
    WrongState {
        operation: Operation,
        state: InstanceState,
    },
    AlreadyPaused,
    NotPaused,
    /// Repair rerun is for failed instances only.
    NotFailed {
        state: InstanceState,
    },
}

impl Refusal {
    /// The sentence people read, in their language.
    pub fn describe(&self, l: Locale) -> String {
        match self {
            Refusal::WrongState { operation, state } => td_string!(
                l,
                errors.rules.wrong_state,
                operation = operation.label(l),
                allowed = describe_states(l, allowed_states(*operation)),
                state = state.label(l)
            ),
            Refusal::AlreadyPaused => td_string!(l, errors.rules.already_paused).to_string(),
            Refusal::NotPaused => td_string!(l, errors.rules.not_paused).to_string(),
            Refusal::NotFailed { state } => {
                td_string!(l, errors.rules.not_failed, state = state.label(l))
            }
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(Locale::en))
    }
}

/// Decides whether the state of an instance allows `op`.
pub fn check(op: Operation, facts: Facts) -> Result<(), Refusal> {
    if !paused_guard(op).admits(facts.paused) {
        return Err(if facts.paused { Refusal::AlreadyPaused } else { Refusal::NotPaused });
    }
    if allowed_states(op).contains(&facts.state) {
        Ok(())
    } else {
        Err(Refusal::WrongState { operation: op, state: facts.state })
    }
}

/// Batch repair rerun: each selected instance must have failed (or been stopped).
pub fn check_repair(facts: Facts) -> Result<(), Refusal> {
    if facts.state.is_failure() { Ok(()) } else { Err(Refusal::NotFailed { state: facts.state }) }
}

/// What a person wants to do, for the role check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission<'a> {
    /// Look at anything.
    Read,
    /// Operate on instances at all (which ones is [`Permission::OperateOn`]'s question): what a
    /// request asks before it reads anything.
    Operate,
    /// Operate on an instance of a node owned by `owner`, or test or backfill that node.
    OperateOn { owner: &'a str },
    /// Kill instances in bulk.
    BatchKill,
    /// Create, change, pause or delete a node owned by `owner` (checked for the owner before
    /// and after a change).
    Define { owner: &'a str },
    /// Change what the whole project shares: resource groups, snapshots on demand.
    ManageProject,
    /// Add people, change their roles, disable them.
    ManageUsers,
    /// Revoke an API token of the person named `owner`.
    RevokeToken { owner: &'a str },
    /// Make, change or delete an alert rule or a baseline that watches the nodes of `owner`
    /// (asked for every node it watches), or that `owner` made.
    Watch { owner: &'a str },
}

/// What only administrators do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminTask {
    BatchKill,
    ManagePeople,
    ManageProject,
    RevokeOthersTokens,
}

/// Whose thing a developer reached for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owned {
    /// An instance (operate, test, backfill).
    Instance,
    /// A node definition (create, edit, pause, delete).
    Node,
    /// An alert rule or baseline (what it watches, or who made it).
    Watch,
}

/// A role that does not allow the request (a 403).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Denial {
    /// Viewers only look.
    ViewerOnly {
        actor: String,
    },
    /// A developer reached for something of somebody else's.
    NotOwner {
        actor: String,
        owner: String,
        thing: Owned,
    },
    AdminOnly {
        task: AdminTask,
    },
}

impl Denial {
    /// The sentence people read, in their language.
    pub fn describe(&self, l: Locale) -> String {
        match self {
            Denial::ViewerOnly { actor } => td_string!(l, errors.rules.viewer_only, actor),
            Denial::NotOwner { actor, owner, thing: Owned::Instance } => {
                td_string!(l, errors.rules.not_owner_instance, actor, owner)
            }
            Denial::NotOwner { actor, owner, thing: Owned::Node } => {
                td_string!(l, errors.rules.not_owner_node, actor, owner)
            }
            Denial::NotOwner { actor, owner, thing: Owned::Watch } => {
                td_string!(l, errors.rules.not_owner_watch, actor, owner)
            }
            Denial::AdminOnly { task } => match task {
                AdminTask::BatchKill => td_string!(l, errors.rules.admin_batch_kill),
                AdminTask::ManagePeople => td_string!(l, errors.rules.admin_people),
                AdminTask::ManageProject => td_string!(l, errors.rules.admin_project),
                AdminTask::RevokeOthersTokens => td_string!(l, errors.rules.admin_tokens),
            }
            .to_string(),
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(Locale::en))
    }
}

/// Decides whether the actor's role allows it.
pub fn authorize(actor: &Actor, permission: Permission<'_>) -> Result<(), Denial> {
    let admin_only = |task| Err(Denial::AdminOnly { task });
    let not_owner = |owner: &str, thing| {
        Err(Denial::NotOwner { actor: actor.name.clone(), owner: owner.to_string(), thing })
    };
    match (actor.role, permission) {
        (_, Permission::Read) | (Role::Admin, _) => Ok(()),
        (_, Permission::RevokeToken { owner }) if owner == actor.name => Ok(()),
        (_, Permission::BatchKill) => admin_only(AdminTask::BatchKill),
        (_, Permission::ManageUsers) => admin_only(AdminTask::ManagePeople),
        (_, Permission::ManageProject) => admin_only(AdminTask::ManageProject),
        (_, Permission::RevokeToken { .. }) => admin_only(AdminTask::RevokeOthersTokens),
        (Role::Viewer, _) => Err(Denial::ViewerOnly { actor: actor.name.clone() }),
        (Role::Developer, Permission::Operate) => Ok(()),
        (Role::Developer, Permission::OperateOn { owner }) if owner == actor.name => Ok(()),
        (Role::Developer, Permission::OperateOn { owner }) => not_owner(owner, Owned::Instance),
        (Role::Developer, Permission::Define { owner }) if owner == actor.name => Ok(()),
        (Role::Developer, Permission::Define { owner }) => not_owner(owner, Owned::Node),
        (Role::Developer, Permission::Watch { owner }) if owner == actor.name => Ok(()),
        (Role::Developer, Permission::Watch { owner }) => not_owner(owner, Owned::Watch),
    }
}

/// Whether the actor may operate on anything at all (viewers may not): the UI hides what a
/// role can never do, and greys out what it may do elsewhere but not here.
pub fn may_operate(actor: &Actor) -> bool {
    authorize(actor, Permission::Operate).is_ok()
}

/// Why one instance may not be operated on: the role, or else its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Objection {
    Denied(Denial),
    Refused(Refusal),
}

impl Objection {
    /// The sentence people read, in their language.
    pub fn describe(&self, l: Locale) -> String {
        match self {
            Objection::Denied(denial) => denial.describe(l),
            Objection::Refused(refusal) => refusal.describe(l),
        }
    }
}

impl fmt::Display for Objection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(Locale::en))
    }
}

/// Whether `actor` may do `op` on an instance of a node owned by `owner` in the state `facts`
/// describes: the role first, then the state. The menus and the server both ask this.
pub fn judge(actor: &Actor, owner: &str, op: Operation, facts: Facts) -> Result<(), Objection> {
    if op.changes_state() {
        authorize(actor, Permission::OperateOn { owner }).map_err(Objection::Denied)?;
    }
    check(op, facts).map_err(Objection::Refused)
}

/// [`judge`] for a repair rerun.
pub fn judge_repair(actor: &Actor, owner: &str, facts: Facts) -> Result<(), Objection> {
    authorize(actor, Permission::OperateOn { owner }).map_err(Objection::Denied)?;
    check_repair(facts).map_err(Objection::Refused)
}

/// The message the seed prescribes when a checked descendant cannot be rerun
/// (“已选节点中包含不符合运行条件的节点”).
pub fn ineligible_selection(l: Locale) -> &'static str {
    td_string!(l, errors.rules.ineligible_selection)
}

/// The most instances a refusal names; the rest are counted.
pub const NAMED_IN_REFUSAL: usize = 10;

/// Why a "rerun downstream" selection is refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SelectionRefusal {
    /// Nothing is checked.
    Empty,
    /// More checked instances than the dialog can list.
    TooMany { max: usize },
    /// Checked instances that are neither the root nor downstream of it (a 400): the first
    /// [`NAMED_IN_REFUSAL`] of them, and how many more.
    NotDownstream { ids: Vec<InstanceId>, more: usize },
    /// Checked instances in a state that cannot be rerun (a 409).
    Ineligible { ids: Vec<InstanceId>, more: usize },
}

/// Instances as a list people read: "4, 5, 6 and 2 more", or with their nodes when known
/// ("load_orders #4, …").
fn named(
    l: Locale,
    ids: &[InstanceId],
    more: usize,
    node_of: &dyn Fn(InstanceId) -> Option<String>,
) -> String {
    let mut text: Vec<String> = ids
        .iter()
        .map(|id| node_of(*id).map_or_else(|| id.to_string(), |node| format!("{node} #{id}")))
        .collect();
    if more > 0 {
        text.push(td_string!(l, common.list.and_more, count = more));
    }
    text.join(td_string!(l, common.list.separator))
}

impl SelectionRefusal {
    /// The sentence people read, in their language.
    pub fn describe(&self, l: Locale) -> String {
        self.describe_with(l, &|_| None)
    }

    /// [`SelectionRefusal::describe`], naming each instance by its node where `node_of` knows
    /// it (the dialog does).
    pub fn describe_with(
        &self,
        l: Locale,
        node_of: &dyn Fn(InstanceId) -> Option<String>,
    ) -> String {
        match self {
            SelectionRefusal::Empty => td_string!(l, errors.rules.selection_empty).to_string(),
            SelectionRefusal::TooMany { max } => {
                td_string!(l, errors.rules.selection_too_many, max)
            }
            SelectionRefusal::NotDownstream { ids, more } => {
                td_string!(l, errors.rules.not_downstream, ids = named(l, ids, *more, node_of))
            }
            SelectionRefusal::Ineligible { ids, more } => td_string!(
                l,
                errors.rules.ineligible,
                message = ineligible_selection(l),
                ids = named(l, ids, *more, node_of)
            ),
        }
    }

    /// The checked instances it names (to mark their rows).
    pub fn ids(&self) -> &[InstanceId] {
        match self {
            SelectionRefusal::NotDownstream { ids, .. }
            | SelectionRefusal::Ineligible { ids, .. } => ids,
            _ => &[],
        }
    }
}

impl fmt::Display for SelectionRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(Locale::en))
    }
}

/// Checks a whole "rerun downstream" selection: at least one instance, at most `max`, every one
/// the root or one of its descendants (`family` knows their states), every one eligible.
/// Otherwise the whole request is refused and nothing changes.
pub fn check_selection(
    checked: &[InstanceId],
    max: usize,
    family: impl Fn(InstanceId) -> Option<InstanceState>,
) -> Result<(), SelectionRefusal> {
    if checked.is_empty() {
        return Err(SelectionRefusal::Empty);
    }
    if checked.len() > max {
        return Err(SelectionRefusal::TooMany { max });
    }
    let bounded = |ids: Vec<InstanceId>| {
        let more = ids.len().saturating_sub(NAMED_IN_REFUSAL);
        (ids.into_iter().take(NAMED_IN_REFUSAL).collect::<Vec<_>>(), more)
    };
    let outsiders: Vec<InstanceId> =
        checked.iter().copied().filter(|id| family(*id).is_none()).collect();
    if !outsiders.is_empty() {
        let (ids, more) = bounded(outsiders);
        return Err(SelectionRefusal::NotDownstream { ids, more });
    }
    let eligible = allowed_states(Operation::RerunDownstream);
    let ineligible: Vec<InstanceId> = checked
        .iter()
        .copied()
        .filter(|id| family(*id).is_some_and(|state| !eligible.contains(&state)))
        .collect();
    if ineligible.is_empty() {
        Ok(())
    } else {
        let (ids, more) = bounded(ineligible);
        Err(SelectionRefusal::Ineligible { ids, more })
    }
}

/// "waiting for time, waiting for resources or running": the states in words. "failed" already
/// covers "manually stopped" in the words people read.
fn describe_states(l: Locale, states: &[InstanceState]) -> String {
    let labels: Vec<&str> = states
        .iter()
        .filter(|s| !(**s == Stopped && states.contains(&Failed)))
        .map(|s| s.label(l))
        .collect();
    match labels.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => td_string!(
            l,
            common.list.or,
            init = init.join(td_string!(l, common.list.separator)),
            last
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    /// The table of MISSION.md, written out: for each operation, the states it is allowed in.
    /// `Y` = allowed, `.` = refused. Columns: not run, waiting time, waiting resources, running,
    /// success, failed, stopped.
    const TABLE: &[(Operation, &str)] = &[
        (Operation::ViewLog, ". . . Y Y Y Y"),
        (Operation::ViewProperties, "Y Y Y Y Y Y Y"),
        (Operation::Kill, ". Y Y Y . . ."),
        (Operation::Rerun, "Y . . . Y Y Y"),
        (Operation::SetSuccess, ". . . . . Y Y"),
        (Operation::RerunDownstream, "Y . . . Y Y Y"),
        (Operation::Pause, "Y Y Y Y Y Y Y"),
        (Operation::Resume, "Y Y Y Y Y Y Y"),
    ];

    const COLUMNS: [InstanceState; 7] =
        [NotRun, WaitingTime, WaitingResources, Running, Success, Failed, Stopped];

    #[test]
    fn every_state_times_every_operation_follows_the_table() {
        assert_eq!(TABLE.len(), Operation::ALL.len(), "every operation has a row");
        for (op, row) in TABLE {
            let cells: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cells.len(), COLUMNS.len());
            for (state, cell) in COLUMNS.into_iter().zip(cells) {
                // Resume needs a paused instance, every other operation is judged unpaused.
                let paused = *op == Operation::Resume;
                let result = check(*op, Facts { state, paused });
                match cell {
                    "Y" => assert!(result.is_ok(), "{op:?} on {state:?} should be allowed"),
                    _ => {
                        let refusal = result.expect_err(&format!("{op:?} on {state:?}"));
                        assert_eq!(refusal, Refusal::WrongState { operation: *op, state });
                        assert!(refusal.to_string().contains(state.label(Locale::en)), "{refusal}");
                        let chinese = refusal.describe(Locale::zh_CN);
                        assert!(chinese.contains(state.label(Locale::zh_CN)), "{chinese}");
                        assert!(chinese.contains(op.label(Locale::zh_CN)), "{chinese}");
                    }
                }
            }
        }
    }

    #[test]
    fn pause_and_resume_follow_the_paused_flag_in_every_state() {
        for state in COLUMNS {
            assert!(check(Operation::Pause, Facts { state, paused: false }).is_ok());
            let again = check(Operation::Pause, Facts { state, paused: true }).unwrap_err();
            assert_eq!(again, Refusal::AlreadyPaused);
            assert_eq!(again.to_string(), "this instance is already paused");
            assert!(check(Operation::Resume, Facts { state, paused: true }).is_ok());
            let not = check(Operation::Resume, Facts { state, paused: false }).unwrap_err();
            assert_eq!(not, Refusal::NotPaused);
        }
    }

    #[test]
    fn other_operations_ignore_the_paused_flag() {
        for op in Operation::ALL.into_iter().filter(|op| paused_guard(*op) == PausedGuard::Any) {
            for state in COLUMNS {
                assert_eq!(
                    check(op, Facts { state, paused: true }).is_ok(),
                    check(op, Facts { state, paused: false }).is_ok(),
                    "{op:?} on {state:?}"
                );
            }
        }
    }

    #[test]
    fn refusals_read_like_sentences() {
        let refusal = check(Operation::Kill, Facts { state: Success, paused: false }).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "kill is only possible for an instance that is waiting for time, waiting for \
             resources or running; this one is success"
        );
        let refusal = check(Operation::SetSuccess, Facts { state: NotRun, paused: false });
        assert_eq!(
            refusal.unwrap_err().to_string(),
            "set success and resume is only possible for an instance that is failed; this one \
             is not run"
        );
    }

    #[test]
    fn repair_is_for_failures_only() {
        for state in COLUMNS {
            assert_eq!(
                check_repair(Facts { state, paused: false }).is_ok(),
                matches!(state, Failed | Stopped),
                "{state:?}"
            );
        }
    }

    /// Role × permission, written out. Columns: read, operate (at all), operate on ann's,
    /// operate on bob's, batch kill, define ann's, define bob's, manage project, manage users,
    /// revoke ann's token, revoke bob's token, watch ann's, watch bob's. `Y` allowed, `.`
    /// denied. The actor is ann.
    const ROLES: &[(Role, &str)] = &[
        (Role::Admin, "Y Y Y Y Y Y Y Y Y Y Y Y Y"),
        (Role::Developer, "Y Y Y . . Y . . . Y . Y ."),
        (Role::Viewer, "Y . . . . . . . . Y . . ."),
    ];

    fn permissions() -> [Permission<'static>; 13] {
        [
            Permission::Read,
            Permission::Operate,
            Permission::OperateOn { owner: "ann" },
            Permission::OperateOn { owner: "bob" },
            Permission::BatchKill,
            Permission::Define { owner: "ann" },
            Permission::Define { owner: "bob" },
            Permission::ManageProject,
            Permission::ManageUsers,
            Permission::RevokeToken { owner: "ann" },
            Permission::RevokeToken { owner: "bob" },
            Permission::Watch { owner: "ann" },
            Permission::Watch { owner: "bob" },
        ]
    }

    #[test]
    fn roles_decide_who_may_do_what() {
        assert_eq!(ROLES.len(), Role::ALL.len(), "every role has a row");
        for (role, row) in ROLES {
            let actor = Actor { name: "ann".into(), role: *role };
            let cells: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cells.len(), permissions().len());
            for (permission, cell) in permissions().into_iter().zip(cells) {
                assert_eq!(
                    authorize(&actor, permission).is_ok(),
                    cell == "Y",
                    "{role:?} {permission:?}"
                );
            }
        }
    }

    #[test]
    fn denials_say_why() {
        let dev = Actor { name: "ann".into(), role: Role::Developer };
        let viewer = Actor { name: "vic".into(), role: Role::Viewer };
        for (actor, permission, message) in [
            (&dev, Permission::BatchKill, "batch kill is for project administrators only"),
            (
                &dev,
                Permission::OperateOn { owner: "bob" },
                "ann may only operate on instances of nodes they own; this one belongs to bob",
            ),
            (
                &dev,
                Permission::Define { owner: "bob" },
                "ann may only change nodes they own; this one belongs to bob",
            ),
            (&viewer, Permission::Operate, "vic is a viewer and can only look"),
            (&viewer, Permission::ManageUsers, "only project administrators manage people"),
        ] {
            assert_eq!(authorize(actor, permission).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn judging_asks_the_role_first_then_the_state() {
        let dev = Actor { name: "ann".into(), role: Role::Developer };
        let failed = Facts { state: Failed, paused: false };
        let success = Facts { state: Success, paused: false };
        assert!(judge(&dev, "ann", Operation::SetSuccess, failed).is_ok());
        assert!(matches!(
            judge(&dev, "bob", Operation::SetSuccess, success),
            Err(Objection::Denied(Denial::NotOwner { .. }))
        ));
        assert!(matches!(
            judge(&dev, "ann", Operation::SetSuccess, success),
            Err(Objection::Refused(Refusal::WrongState { .. }))
        ));
        // Looking needs no ownership.
        assert!(judge(&dev, "bob", Operation::ViewProperties, success).is_ok());
        assert_eq!(
            AppError::from(judge(&dev, "bob", Operation::Kill, success).unwrap_err())
                .code
                .http_status(),
            403
        );
        assert_eq!(
            AppError::from(judge(&dev, "ann", Operation::Kill, success).unwrap_err())
                .code
                .http_status(),
            409
        );
    }

    #[test]
    fn a_selection_is_refused_whole_naming_the_culprits() {
        let family = |id: InstanceId| match id.0 {
            1 => Some(Success),
            2 => Some(Running),
            3 => Some(WaitingTime),
            4 => Some(NotRun),
            5 => Some(Stopped),
            _ => None,
        };
        let ids = |list: &[i64]| list.iter().map(|i| InstanceId(*i)).collect::<Vec<_>>();
        assert!(check_selection(&ids(&[1, 4, 5]), 10, family).is_ok());
        assert_eq!(check_selection(&[], 10, family), Err(SelectionRefusal::Empty));
        assert_eq!(
            check_selection(&ids(&[1, 4, 5]), 2, family),
            Err(SelectionRefusal::TooMany { max: 2 })
        );
        let refusal = check_selection(&ids(&[1, 2, 3]), 10, family).unwrap_err();
        assert_eq!(refusal, SelectionRefusal::Ineligible { ids: ids(&[2, 3]), more: 0 });
        assert_eq!(
            refusal.to_string(),
            "the selection contains nodes that are not eligible to run (instances 2, 3)"
        );
        assert_eq!(AppError::from(refusal).code.http_status(), 409);
        // Outsiders are named first, at most ten of them.
        let many: Vec<InstanceId> = (100..130).map(InstanceId).chain([InstanceId(2)]).collect();
        let refusal = check_selection(&many, 100, family).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "instances 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, and 20 more are not \
             downstream of the instance being rerun"
        );
        assert_eq!(AppError::from(refusal).code.http_status(), 400);
    }
}
