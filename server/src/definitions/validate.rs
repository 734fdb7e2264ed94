//! Validation of definitions: a node's fields on their own ([`check_spec`]) and the graph they
//! make ([`check_graph`]: unknown upstream, cycles as a path). Pure functions; `apply` calls
//! them inside the transaction that writes the change.

use std::collections::{BTreeMap, HashMap, HashSet};

use app::error::AppError;
use app::nodes::NodeSpec;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::engine::schedule::Schedule;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error("dependency cycle: {}", .0.join(" → "))]
    Cycle(Vec<String>),
    #[error("node '{node}' depends on unknown node '{upstream}'")]
    UnknownUpstream { node: String, upstream: String },
    #[error("node '{node}': schedule '{schedule}' is not valid: {reason}")]
    BadSchedule { node: String, schedule: String, reason: String },
    #[error("node '{0}' is defined more than once")]
    Duplicate(String),
    #[error("node '{0}' has an empty command")]
    EmptyCommand(String),
    #[error("node name '{0}' is not valid: {rule}", rule = app::text::NAME_RULE)]
    BadName(String),
    #[error("node '{node}' uses unknown resource group '{group}'")]
    UnknownResourceGroup { node: String, group: String },
    #[error("node '{node}': {message}")]
    BadField { node: String, message: String },
    #[error("resource group '{group}': {message}")]
    BadResourceGroup { group: String, message: String },
    #[error("node '{node}' cannot be deleted: {} depend on it", .downstream.join(", "))]
    StillNeeded { node: String, downstream: Vec<String> },
    #[error("{file}: {message}")]
    BadFile { file: String, message: String },
}

pub type Result<T, E = DefinitionError> = std::result::Result<T, E>;

impl From<DefinitionError> for AppError {
    fn from(e: DefinitionError) -> Self {
        let error = match &e {
            DefinitionError::StillNeeded { .. } => AppError::conflict(e.to_string()),
            _ => AppError::bad_request(e.to_string()),
        };
        match e.field() {
            Some(field) => error.on_field(field),
            None => error,
        }
    }
}

impl DefinitionError {
    /// The field of a node form this error is about.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            DefinitionError::Cycle(_) | DefinitionError::UnknownUpstream { .. } => Some("upstream"),
            DefinitionError::BadSchedule { .. } => Some("schedule"),
            DefinitionError::Duplicate(_) | DefinitionError::BadName(_) => Some("name"),
            DefinitionError::EmptyCommand(_) => Some("command"),
            DefinitionError::UnknownResourceGroup { .. } => Some("resource_group"),
            DefinitionError::BadField { message, .. } => {
                ["workflow", "owner", "command", "timeout_secs", "retries", "upstream"]
                    .into_iter()
                    .find(|f| message.starts_with(f.split('_').next().unwrap_or(f)))
            }
            _ => None,
        }
    }
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
        app::text::check_free_text(field, value)
            .map_err(|e| DefinitionError::BadField { node: node(), message: e.message })
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
            message: format!("workflow name '{}' is not valid", spec.workflow),
        });
    }
    if spec.owner.trim().is_empty() {
        return Err(DefinitionError::BadField { node: node(), message: "owner is empty".into() });
    }
    if spec.timeout_secs == 0 {
        return Err(DefinitionError::BadField {
            node: node(),
            message: "timeout_secs must be at least 1".into(),
        });
    }
    if spec.retries > 100 {
        return Err(DefinitionError::BadField {
            node: node(),
            message: "retries must be at most 100".into(),
        });
    }
    let mut seen = HashSet::new();
    for upstream in &spec.upstream {
        if !seen.insert(upstream) {
            return Err(DefinitionError::BadField {
                node: node(),
                message: format!("upstream '{upstream}' is listed twice"),
            });
        }
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
