//! The operation preconditions: the only place that decides whether an operation is allowed on
//! an instance. The browser uses it to enable or grey out actions, the server to refuse requests,
//! and the store to build its guarded updates (`... WHERE state IN (allowed_states(op))`).

use std::fmt;

use serde::{Deserialize, Serialize};

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

    pub fn label(self) -> &'static str {
        match self {
            Operation::ViewLog => "view log",
            Operation::ViewProperties => "view properties",
            Operation::Kill => "kill",
            Operation::Rerun => "rerun and resume",
            Operation::SetSuccess => "set success and resume",
            Operation::RerunDownstream => "rerun downstream and resume",
            Operation::Pause => "pause",
            Operation::Resume => "resume",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

use InstanceState::*;

/// The states from which an operation may start. `Stopped` counts as failed everywhere.
pub fn allowed_states(op: Operation) -> &'static [InstanceState] {
    match op {
        Operation::ViewLog => &[Running, Success, Failed, Stopped],
        Operation::ViewProperties | Operation::Pause | Operation::Resume => &InstanceState::ALL,
        Operation::Kill => &[WaitingTime, WaitingResources, Running],
        Operation::Rerun | Operation::RerunDownstream => &[NotRun, Success, Failed, Stopped],
        Operation::SetSuccess => &[Failed, Stopped],
    }
}

/// The paused flag an operation needs, if it cares: pause needs a running cycle, resume a
/// paused one.
pub fn required_paused(op: Operation) -> Option<bool> {
    match op {
        Operation::Pause => Some(false),
        Operation::Resume => Some(true),
        _ => None,
    }
}

/// What the rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub state: InstanceState,
    pub paused: bool,
}

/// An operation that is not allowed, with the reason a person reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub operation: Operation,
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Decides whether `op` is allowed on an instance with these facts.
pub fn check(op: Operation, facts: Facts) -> Result<(), Refusal> {
    if let Some(paused) = required_paused(op)
        && facts.paused != paused
    {
        let reason = if paused {
            "resume is only possible for a paused instance; this one is not paused"
        } else {
            "this instance is already paused"
        };
        return Err(Refusal { operation: op, reason: reason.to_string() });
    }
    let allowed = allowed_states(op);
    if allowed.contains(&facts.state) {
        return Ok(());
    }
    let needed = describe(allowed);
    Err(Refusal {
        operation: op,
        reason: format!(
            "{} is only possible for an instance that is {needed}; this one is {}",
            op.label(),
            facts.state.label()
        ),
    })
}

/// The message the seed prescribes when a checked descendant cannot be rerun.
pub const INELIGIBLE_SELECTION: &str = "the selection contains nodes that are not eligible to run";

/// Checks a whole "rerun downstream" selection: every checked instance must be eligible, or the
/// whole request is refused, naming the ineligible ones.
pub fn check_selection(
    checked: impl IntoIterator<Item = (InstanceId, InstanceState)>,
) -> Result<(), SelectionRefusal> {
    let ineligible: Vec<InstanceId> = checked
        .into_iter()
        .filter(|(_, state)| !allowed_states(Operation::RerunDownstream).contains(state))
        .map(|(id, _)| id)
        .collect();
    if ineligible.is_empty() { Ok(()) } else { Err(SelectionRefusal { ineligible }) }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionRefusal {
    pub ineligible: Vec<InstanceId>,
}

impl fmt::Display for SelectionRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<String> = self.ineligible.iter().map(|id| id.to_string()).collect();
        write!(f, "{INELIGIBLE_SELECTION} (instances {})", ids.join(", "))
    }
}

/// Batch repair rerun: each selected instance must have failed (or been stopped).
pub const REPAIR_STATES: &[InstanceState] = &[Failed, Stopped];

pub fn check_repair(facts: Facts) -> Result<(), Refusal> {
    if REPAIR_STATES.contains(&facts.state) {
        Ok(())
    } else {
        Err(Refusal {
            operation: Operation::Rerun,
            reason: format!(
                "repair rerun is only for failed instances; this one is {}",
                facts.state.label()
            ),
        })
    }
}

/// What an actor wants to do, for the role check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission<'a> {
    /// Look at anything.
    Read,
    /// Operate on an instance of a node owned by `owner`, or test or backfill that node.
    Operate { owner: &'a str },
    /// Kill instances in bulk.
    BatchKill,
    /// Create, change, pause or delete a node owned by `owner` (checked for the owner before
    /// and after a change).
    Define { owner: &'a str },
    /// Change what the whole project shares: resource groups, snapshots on demand.
    ManageProject,
    /// Add people, change their roles, disable them.
    ManageUsers,
}

/// Decides whether the actor's role allows it; the error is the reason (a 403).
pub fn authorize(actor: &Actor, permission: Permission<'_>) -> Result<(), String> {
    match (actor.role, permission) {
        (_, Permission::Read) | (Role::Admin, _) => Ok(()),
        (Role::Developer, Permission::Operate { owner }) if owner == actor.name => Ok(()),
        (Role::Developer, Permission::Operate { owner }) => Err(format!(
            "{} may only operate on instances of nodes they own; this one belongs to {owner}",
            actor.name
        )),
        (Role::Developer, Permission::Define { owner }) if owner == actor.name => Ok(()),
        (Role::Developer, Permission::Define { owner }) => Err(format!(
            "{} may only change nodes they own; this one belongs to {owner}",
            actor.name
        )),
        (_, Permission::BatchKill) => {
            Err("batch kill is for project administrators only".to_string())
        }
        (_, Permission::ManageUsers) => {
            Err("only project administrators manage people".to_string())
        }
        (_, Permission::ManageProject) => {
            Err("only project administrators change resource groups or make snapshots".to_string())
        }
        (Role::Viewer, _) => Err(format!("{} is a viewer and can only look", actor.name)),
    }
}

/// Whether the actor may operate on anything at all (viewers may not): the UI hides what a
/// role can never do, and greys out what it may do elsewhere but not here.
pub fn may_operate(actor: &Actor) -> bool {
    actor.role != Role::Viewer
}

fn describe(states: &[InstanceState]) -> String {
    // "failed" already covers "manually stopped" in the words people read.
    let labels: Vec<&str> = states
        .iter()
        .filter(|s| !(**s == Stopped && states.contains(&Failed)))
        .map(|s| s.label())
        .collect();
    match labels.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                        assert!(
                            refusal.reason.contains(state.label()),
                            "the reason names the state: {}",
                            refusal.reason
                        );
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
            assert_eq!(again.reason, "this instance is already paused");
            assert!(check(Operation::Resume, Facts { state, paused: true }).is_ok());
            assert!(check(Operation::Resume, Facts { state, paused: false }).is_err());
        }
    }

    #[test]
    fn other_operations_ignore_the_paused_flag() {
        for op in Operation::ALL.into_iter().filter(|op| required_paused(*op).is_none()) {
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
            refusal.reason,
            "kill is only possible for an instance that is waiting for time, waiting for \
             resources or running; this one is success"
        );
        let refusal = check(Operation::SetSuccess, Facts { state: NotRun, paused: false });
        assert_eq!(
            refusal.unwrap_err().reason,
            "set success and resume is only possible for an instance that is failed; this one \
             is not run"
        );
    }

    #[test]
    fn repair_is_for_failures_only() {
        for state in COLUMNS {
            assert_eq!(
                check_repair(Facts { state, paused: false }).is_ok(),
                state.is_failure(),
                "{state:?}"
            );
        }
    }

    #[test]
    fn roles_decide_who_may_do_what() {
        let who = |role| Actor { name: "ann".into(), role };
        let mine = Permission::Operate { owner: "ann" };
        let theirs = Permission::Operate { owner: "bob" };
        let my_node = Permission::Define { owner: "ann" };
        let their_node = Permission::Define { owner: "bob" };
        // (role, permission, allowed)
        let table = [
            (Role::Admin, Permission::Read, true),
            (Role::Admin, mine, true),
            (Role::Admin, theirs, true),
            (Role::Admin, Permission::BatchKill, true),
            (Role::Admin, my_node, true),
            (Role::Admin, their_node, true),
            (Role::Admin, Permission::ManageProject, true),
            (Role::Admin, Permission::ManageUsers, true),
            (Role::Developer, Permission::Read, true),
            (Role::Developer, mine, true),
            (Role::Developer, theirs, false),
            (Role::Developer, Permission::BatchKill, false),
            (Role::Developer, my_node, true),
            (Role::Developer, their_node, false),
            (Role::Developer, Permission::ManageProject, false),
            (Role::Developer, Permission::ManageUsers, false),
            (Role::Viewer, Permission::Read, true),
            (Role::Viewer, mine, false),
            (Role::Viewer, theirs, false),
            (Role::Viewer, Permission::BatchKill, false),
            (Role::Viewer, my_node, false),
            (Role::Viewer, their_node, false),
            (Role::Viewer, Permission::ManageProject, false),
            (Role::Viewer, Permission::ManageUsers, false),
        ];
        assert_eq!(table.len(), Role::ALL.len() * 8, "every role times every permission");
        for (role, permission, allowed) in table {
            assert_eq!(
                authorize(&who(role), permission).is_ok(),
                allowed,
                "{role:?} {permission:?}"
            );
        }
        assert_eq!(
            authorize(&who(Role::Developer), Permission::BatchKill).unwrap_err(),
            "batch kill is for project administrators only"
        );
    }

    #[test]
    fn a_selection_with_one_ineligible_instance_is_refused_naming_it() {
        let ok = [(InstanceId(1), Success), (InstanceId(2), NotRun), (InstanceId(3), Stopped)];
        assert!(check_selection(ok).is_ok());
        let bad =
            [(InstanceId(1), Success), (InstanceId(2), Running), (InstanceId(3), WaitingTime)];
        let refusal = check_selection(bad).unwrap_err();
        assert_eq!(refusal.ineligible, vec![InstanceId(2), InstanceId(3)]);
        assert_eq!(
            refusal.to_string(),
            "the selection contains nodes that are not eligible to run (instances 2, 3)"
        );
    }
}
