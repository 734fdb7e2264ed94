//! Definitions: resource groups, workflows, nodes and their upstream edges. Reads, and the unit
//! of work a change is written in ([`DefinitionTx`]): the caller validates the change against
//! the live graph it reads there, decides what differs, writes it and audits it, then commits.

use std::collections::{BTreeMap, HashMap};

use app::calendars::Calendar;
use app::model::NodeId;
use app::nodes::{Node, NodePage, NodeSpec, NodeVersion, ResourceGroup};
use chrono::{DateTime, Utc};

use super::{AuditEntry, Result};

/// The live definition graph: node name → upstream node names, and node name → id.
#[derive(Debug, Clone, Default)]
pub struct LiveGraph {
    pub upstream: BTreeMap<String, Vec<String>>,
    pub ids: HashMap<String, NodeId>,
}

#[derive(Debug, Clone, Default)]
pub struct NodeListFilter {
    /// Substring of the name.
    pub name: Option<String>,
    pub owner: Option<String>,
    pub workflow: Option<String>,
    pub limit: u32,
    /// The name the previous page ended with.
    pub after: Option<String>,
}

/// A workflow's nodes for its graph: (name, workflow, owner, paused) of its live nodes (and of
/// the upstream nodes they have in other workflows), the edges (upstream, downstream) by name,
/// and whether some were left out.
pub type WorkflowGraph = (Vec<(String, String, String, bool)>, Vec<(String, String)>, bool);

#[async_trait::async_trait]
pub trait DefinitionStore: Send + Sync {
    async fn resource_groups(&self) -> Result<Vec<ResourceGroup>>;

    /// Every business calendar, by name.
    async fn calendars(&self) -> Result<Vec<Calendar>>;

    async fn calendar(&self, name: &str) -> Result<Option<Calendar>>;

    /// Starts a change of definitions: one write transaction.
    async fn begin_definitions(&self) -> Result<Box<dyn DefinitionTx>>;

    async fn get_node(&self, name: &str) -> Result<Option<Node>>;

    /// Live nodes in name order, keyset-paged by name.
    async fn list_nodes(&self, filter: &NodeListFilter) -> Result<NodePage>;

    /// Workflow names, alphabetically, with how many live nodes each has.
    async fn workflows(&self) -> Result<Vec<(String, i64)>>;

    /// A workflow's live nodes (at most `limit`) and what its graph needs.
    async fn workflow_graph(&self, workflow: &str, limit: u32) -> Result<WorkflowGraph>;

    /// The owners of those of `names` that are live nodes.
    async fn node_owners(&self, names: &[String]) -> Result<HashMap<String, String>>;

    /// The names of every live node downstream of `name`, transitively.
    async fn node_descendants(&self, name: &str) -> Result<Vec<String>>;

    /// The names of the live nodes that depend on `name` directly.
    async fn node_downstream(&self, name: &str) -> Result<Vec<String>>;

    /// The live nodes of a workflow, by name.
    async fn workflow_nodes(&self, workflow: &str) -> Result<Vec<String>>;

    /// A live node's versions, newest first: at most `limit`, below `before` when given.
    async fn node_versions(
        &self,
        id: NodeId,
        limit: u32,
        before: Option<u32>,
    ) -> Result<Vec<NodeVersion>>;
}

/// A change of definitions in progress. Nothing is visible to others until [`commit`].
///
/// [`commit`]: DefinitionTx::commit
#[async_trait::async_trait]
pub trait DefinitionTx: Send {
    /// The live graph as it is now (inside the transaction).
    async fn graph(&mut self) -> Result<LiveGraph>;

    async fn resource_groups(&mut self) -> Result<Vec<ResourceGroup>>;

    /// The live nodes with these names, as stored.
    async fn nodes_named(&mut self, names: &[String]) -> Result<Vec<Node>>;

    /// Creates or replaces a resource group.
    async fn put_resource_group(&mut self, group: &ResourceGroup) -> Result<()>;

    /// Every business calendar, by name (inside the transaction).
    async fn calendars(&mut self) -> Result<Vec<Calendar>>;

    /// Creates or replaces a calendar.
    async fn put_calendar(&mut self, calendar: &Calendar, now: DateTime<Utc>) -> Result<()>;

    /// The live nodes that follow calendar `name`, by name: at most `limit`.
    async fn calendar_users(&mut self, name: &str, limit: u32) -> Result<Vec<String>>;

    /// Deletes a calendar; whether there was one.
    async fn delete_calendar(&mut self, name: &str) -> Result<bool>;

    /// Inserts new nodes (and their workflows, if new) in a few statements, whatever their
    /// number; returns their ids in order. Their upstream edges come separately.
    async fn insert_nodes(
        &mut self,
        specs: &[&NodeSpec],
        now: DateTime<Utc>,
    ) -> Result<Vec<NodeId>>;

    /// Replaces the fields of a live node; returns its new version number.
    async fn update_node(&mut self, id: NodeId, spec: &NodeSpec, now: DateTime<Utc>)
    -> Result<u32>;

    /// Records versions of node definitions: (node, its version number, what it is now).
    async fn insert_versions(
        &mut self,
        versions: &[(NodeId, u32, NodeSpec)],
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Replaces the upstream edges of these nodes (each with its new upstream).
    async fn set_upstreams(&mut self, nodes: &[(NodeId, Vec<NodeId>)]) -> Result<()>;

    /// The names of the live nodes that depend on `id` directly.
    async fn live_downstream(&mut self, id: NodeId) -> Result<Vec<String>>;

    /// The names of the other live nodes whose `depends_on_previous` names `name`.
    async fn previous_dependents(&mut self, name: &str) -> Result<Vec<String>>;

    /// Marks a node deleted (its past instances keep pointing at it) and drops its edges.
    async fn delete_node(&mut self, id: NodeId, now: DateTime<Utc>) -> Result<()>;

    /// Sets a node's permanent pause (its scheduling status); returns its new version number.
    async fn set_node_paused(
        &mut self,
        id: NodeId,
        paused: bool,
        now: DateTime<Utc>,
    ) -> Result<u32>;

    async fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<i64>;

    async fn commit(self: Box<Self>) -> Result<()>;
}
