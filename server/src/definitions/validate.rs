//! Validation of definitions: a node's fields on their own ([`check_spec`]) and the graph they
//! make ([`check_graph`]: unknown upstream, cycles as a path). Pure functions; `apply` calls
//! them inside the transaction that writes the change.

use std::collections::{BTreeMap, HashMap, HashSet};

use app::error::AppError;
use app::nodes::{DependsOnPrevious, NodeSpec};
use app::reason::Reason;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::engine::schedule::Schedule;

/// What is wrong with a definition; its words are those of the matching [`Reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionError {
    Cycle(Vec<String>),
    UnknownUpstream { node: String, upstream: String },
    UnknownPrevious { node: String, name: String },
    BadSchedule { node: String, schedule: String, reason: String },
    Duplicate(String),
    EmptyCommand(String),
    BadName(String),
    UnknownResourceGroup { node: String, group: String },
    UnknownCalendar { node: String, calendar: String },
    BadField { node: String, problem: Reason },
    BadResourceGroup { group: String, message: String },
    StillNeeded { node: String, downstream: Vec<String> },
    BadFile { file: String, message: String },
}

pub type Result<T, E = DefinitionError> = std::result::Result<T, E>;

impl DefinitionError {
    /// The reason people read (and the field of a node form it is about).
    pub fn reason(&self) -> Reason {
        match self.clone() {
            DefinitionError::Cycle(path) => Reason::Cycle { path },
            DefinitionError::UnknownUpstream { node, upstream } => {
                Reason::UnknownUpstream { node, upstream }
            }
            DefinitionError::UnknownPrevious { node, name } => {
                Reason::UnknownPreviousNode { node, name }
            }
            DefinitionError::BadSchedule { node, schedule, reason } => {
                Reason::BadSchedule { node, schedule, detail: reason }
            }
            DefinitionError::Duplicate(node) => Reason::DuplicateNode { node },
            DefinitionError::EmptyCommand(node) => Reason::EmptyCommand { node },
            DefinitionError::BadName(name) => Reason::BadNodeName { name },
            DefinitionError::UnknownResourceGroup { node, group } => {
                Reason::UnknownResourceGroup { node, group }
            }
            DefinitionError::UnknownCalendar { node, calendar } => {
                Reason::UnknownCalendar { node, calendar }
            }
            DefinitionError::BadField { node, problem } => {
                Reason::NodeField { node, problem: Box::new(problem) }
            }
            DefinitionError::BadResourceGroup { group, message } => {
                Reason::BadResourceGroup { group, detail: message }
            }
            DefinitionError::StillNeeded { node, downstream } => {
                Reason::StillNeeded { node, downstream }
            }
            DefinitionError::BadFile { file, message } => Reason::BadFile { file, detail: message },
        }
    }

    /// The field of a node form this error is about.
    pub fn field(&self) -> Option<String> {
        self.reason().field().map(str::to_string)
    }
}

impl std::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason().describe(app::lang::Locale::en))
    }
}

impl std::error::Error for DefinitionError {}

impl From<DefinitionError> for AppError {
    fn from(e: DefinitionError) -> Self {
        AppError::because(e.reason())
    }
}

/// A text check's refusal as the problem of a node's field.
fn field_problem(node: String, error: AppError) -> DefinitionError {
    let problem = error
        .reason
        .map(|r| *r)
        .unwrap_or(Reason::BadFile { file: node.clone(), detail: error.message });
    DefinitionError::BadField { node, problem }
}

pub(super) fn valid_name(name: &str) -> bool {
    app::text::is_name(name)
}

/// Checks one node on its own (everything but its place in the graph).
pub fn check_spec(spec: &NodeSpec) -> Result<()> {
    let node = || spec.name.clone();
    if !valid_name(&spec.name) {
        return Err(DefinitionError::BadName(spec.name.clone()));
    }
    if spec.command.trim().is_empty() {
        return Err(DefinitionError::EmptyCommand(node()));
    }
    let bad_text = |field: &str, value: &str| {
        app::text::check_free_text(field, value).map_err(|e| field_problem(node(), e))
    };
    bad_text("command", &spec.command)?;
    bad_text("owner", &spec.owner)?;
    Schedule::parse(&spec.schedule).and_then(|schedule| schedule.check_fires()).map_err(
        |reason| DefinitionError::BadSchedule {
            node: node(),
            schedule: spec.schedule.clone(),
            reason,
        },
    )?;
    if !valid_name(&spec.workflow) {
        return Err(DefinitionError::BadField {
            node: node(),
            problem: Reason::BadWorkflowName { name: spec.workflow.clone() },
        });
    }
    if spec.owner.trim().is_empty() {
        return Err(DefinitionError::BadField { node: node(), problem: Reason::OwnerEmpty });
    }
    if spec.timeout_secs == 0 {
        return Err(DefinitionError::BadField { node: node(), problem: Reason::TimeoutZero });
    }
    if spec.retries > 100 {
        return Err(DefinitionError::BadField {
            node: node(),
            problem: Reason::TooManyRetries { max: 100 },
        });
    }
    let mut seen = HashSet::new();
    for upstream in &spec.upstream {
        if !seen.insert(upstream) {
            return Err(DefinitionError::BadField {
                node: node(),
                problem: Reason::UpstreamTwice { upstream: upstream.clone() },
            });
        }
    }
    if let DependsOnPrevious::Nodes(names) = &spec.depends_on_previous {
        let mut seen = HashSet::new();
        for name in names {
            if !valid_name(name) {
                return Err(DefinitionError::BadField {
                    node: node(),
                    problem: Reason::UnknownPreviousNode { node: node(), name: name.clone() },
                });
            }
            if !seen.insert(name) {
                return Err(DefinitionError::BadField {
                    node: node(),
                    problem: Reason::PreviousTwice { name: name.clone() },
                });
            }
        }
    }
    if let Some(calendar) = &spec.calendar
        && !valid_name(calendar)
    {
        return Err(DefinitionError::UnknownCalendar { node: node(), calendar: calendar.clone() });
    }
    Ok(())
}

/// Every node a `depends_on_previous` list names exists (in `graph`, the project after the
/// change).
pub fn check_previous(spec: &NodeSpec, graph: &BTreeMap<String, Vec<String>>) -> Result<()> {
    if let DependsOnPrevious::Nodes(names) = &spec.depends_on_previous
        && let Some(unknown) = names.iter().find(|n| !graph.contains_key(*n))
    {
        return Err(DefinitionError::UnknownPrevious {
            node: spec.name.clone(),
            name: unknown.clone(),
        });
    }
    Ok(())
}

/// Checks a whole definition graph (node name → upstream names): every upstream exists and
/// there is no cycle. The cycle in the error is a real path, e.g. `a → b → c → a`, starting at
/// one of the `changed` nodes when it passes through one.
pub fn check_graph(graph: &BTreeMap<String, Vec<String>>, changed: &[&str]) -> Result<()> {
    for (node, upstreams) in graph {
        for upstream in upstreams {
            if !graph.contains_key(upstream) {
                return Err(DefinitionError::UnknownUpstream {
                    node: node.clone(),
                    upstream: upstream.clone(),
                });
            }
        }
    }
    let mut dag = DiGraph::<&str, ()>::with_capacity(graph.len(), graph.len());
    let index: HashMap<&str, NodeIndex> =
        graph.keys().map(|name| (name.as_str(), dag.add_node(name.as_str()))).collect();
    for (node, upstreams) in graph {
        for upstream in upstreams {
            dag.add_edge(index[upstream.as_str()], index[node.as_str()], ());
        }
    }
    match toposort(&dag, None) {
        Ok(_) => Ok(()),
        Err(cycle) => {
            let mut path = find_cycle(&dag, cycle.node_id());
            path.pop();
            if let Some(at) = path.iter().position(|n| changed.contains(&n.as_str())) {
                path.rotate_left(at);
            }
            path.push(path[0].clone());
            Err(DefinitionError::Cycle(path))
        }
    }
}

/// A path from `start` back to itself (breadth-first, so the shortest one).
fn find_cycle(dag: &DiGraph<&str, ()>, start: NodeIndex) -> Vec<String> {
    let mut came_from: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for next in dag.neighbors(at) {
            if next == start {
                // Walk back from `at` to `start`, then read it forwards.
                let mut path = vec![at];
                while *path.last().expect("not empty") != start {
                    path.push(came_from[path.last().expect("not empty")]);
                }
                path.reverse();
                path.push(start);
                return path.into_iter().map(|i| dag[i].to_string()).collect();
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = came_from.entry(next) {
                slot.insert(at);
                queue.push_back(next);
            }
        }
    }
    vec![dag[start].to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::DefinitionFile;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(n, ups)| (n.to_string(), ups.iter().map(|u| u.to_string()).collect()))
            .collect()
    }

    #[test]
    fn a_dag_passes() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["b", "c"])]);
        assert_eq!(check_graph(&g, &[]), Ok(()));
    }

    #[test]
    fn a_cycle_is_shown_as_a_path() {
        let g = graph(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"]), ("x", &[])]);
        let err = check_graph(&g, &[]).unwrap_err();
        let DefinitionError::Cycle(path) = &err else { panic!("{err:?}") };
        assert_eq!(path.first(), path.last());
        assert_eq!(path.len(), 4, "{path:?}");
        // Each step follows an upstream → downstream edge.
        for pair in path.windows(2) {
            assert!(g[&pair[1]].contains(&pair[0]), "{path:?}");
        }
        assert!(err.to_string().starts_with("dependency cycle: "));
        let from_b = check_graph(&g, &["b"]).unwrap_err();
        assert_eq!(from_b.to_string(), "dependency cycle: b → c → a → b");
    }

    #[test]
    fn a_self_dependency_is_a_cycle() {
        let err = check_graph(&graph(&[("a", &["a"])]), &[]).unwrap_err();
        assert_eq!(err.to_string(), "dependency cycle: a → a");
    }

    #[test]
    fn an_unknown_upstream_is_named() {
        let err = check_graph(&graph(&[("a", &["ghost"])]), &[]).unwrap_err();
        assert_eq!(err.to_string(), "node 'a' depends on unknown node 'ghost'");
    }

    fn spec(name: &str) -> NodeSpec {
        DefinitionFile::parse(
            "t",
            &format!("[[nodes]]\nname = \"{name}\"\nowner = \"ann\"\ncommand = \"true\"\n"),
        )
        .unwrap()
        .nodes
        .remove(0)
    }

    #[test]
    fn specs_are_checked_field_by_field() {
        assert_eq!(check_spec(&spec("ok_node")), Ok(()));
        let mut s = spec("bad name");
        assert!(matches!(check_spec(&s), Err(DefinitionError::BadName(_))));
        s = spec("n");
        s.command = "  ".into();
        assert_eq!(check_spec(&s).unwrap_err().to_string(), "node 'n' has an empty command");
        s = spec("n");
        s.schedule = "0 25 * * *".into();
        assert!(
            check_spec(&s).unwrap_err().to_string().starts_with("node 'n': schedule '0 25 * * *'")
        );
        s = spec("n");
        s.timeout_secs = 0;
        assert!(check_spec(&s).is_err());
    }
}
