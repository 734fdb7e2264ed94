//! Definitions: reading nodes, workflows and resource groups, and changing them (each change
//! validated whole, written in one transaction with its audit entry).

use app::error::AppError;
use app::flow::{DefinitionGraph, layout_definitions};
use app::model::DEFAULT_PAGE_SIZE;
use app::nodes::{
    Node, NodePage, NodeQuery, NodeSpec, NodeVersion, NodeVersionPage, NodeView, ResourceGroup,
    RollbackRequest, SavedNode, Scheduling,
};
use app::reason::{Reason, Thing};
use app::rules::Permission;
use app::usecases::{Input, Nodes};

use super::Service;
use crate::definitions::apply::node_changes;
use crate::definitions::{ApplyMode, By, DefinitionError, DefinitionFile, UpsertReport, apply};
use crate::store::{DefinitionTx, NodeListFilter};

/// The most nodes a workflow's graph shows.
const GRAPH_LIMIT: u32 = 2_000;

/// A node inside a change, or a 404.
async fn node_in(tx: &mut Box<dyn DefinitionTx>, name: &str) -> Result<Node, AppError> {
    tx.nodes_named(&[name.to_string()]).await?.pop().ok_or_else(|| {
        AppError::because(Reason::NotFound { thing: Thing::Node, name: name.to_string() })
    })
}

impl Service {
    async fn saved(&self, name: &str) -> Result<Node, AppError> {
        self.store().get_node(name).await?.ok_or_else(|| {
            AppError::because(Reason::NotFound { thing: Thing::Node, name: name.to_string() })
        })
    }

    /// Applies a change of definitions on behalf of the person asking.
    pub(super) async fn apply(
        &self,
        file: DefinitionFile,
        mode: ApplyMode,
    ) -> Result<UpsertReport, AppError> {
        let actor = self.actor()?;
        let by = By::Person { actor, limits: &self.core.limits };
        let report = apply(self.store(), file, mode, by, self.now()).await?;
        self.engine().wake();
        Ok(report)
    }

    /// `GET /nodes/{name}`.
    pub async fn node(&self, name: &str) -> Result<Node, AppError> {
        self.allowed(Permission::Read)?;
        self.saved(name).await
    }

    /// `POST /import`: a workflow-as-code file. Every node must be the person's to change (as
    /// it is now and as the file makes it); resource groups need an administrator.
    pub async fn import(&self, file: Input<DefinitionFile>) -> Result<UpsertReport, AppError> {
        self.allowed(Permission::Operate)?;
        self.apply(file?, ApplyMode::Upsert).await
    }

    /// `PUT /resource-groups/{name}`.
    pub async fn put_resource_group(
        &self,
        group: Input<ResourceGroup>,
    ) -> Result<ResourceGroup, AppError> {
        self.allowed(Permission::ManageProject)?;
        let group = group?;
        let file = DefinitionFile { resource_groups: vec![group.clone()], ..Default::default() };
        self.apply(file, ApplyMode::Upsert).await?;
        Ok(group)
    }

    /// `DELETE /nodes/{name}`: refused while live nodes depend on it.
    pub async fn delete_node(&self, name: &str) -> Result<(), AppError> {
        let actor = self.allowed(Permission::Operate)?;
        let mut tx = self.store().begin_definitions().await?;
        let node = node_in(&mut tx, name).await?;
        app::rules::authorize(actor, Permission::Define { owner: &node.spec.owner })?;
        let mut downstream = tx.live_downstream(node.id).await?;
        // Nodes that wait for its previous cycle by name need it as much.
        for other in tx.previous_dependents(name).await? {
            if !downstream.contains(&other) {
                downstream.push(other);
            }
        }
        if !downstream.is_empty() {
            return Err(DefinitionError::StillNeeded { node: name.to_string(), downstream }.into());
        }
        tx.delete_node(node.id, self.now()).await?;
        let changes = node_changes(Some(&node.spec), None, None);
        tx.audit(&self.change_entry(actor, "node.delete", format!("node:{name}"), &changes))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Nodes for Service {
    async fn list_nodes(&self, query: NodeQuery) -> Result<NodePage, AppError> {
        self.allowed(Permission::Read)?;
        let filter = NodeListFilter {
            name: query.name,
            owner: query.owner,
            workflow: query.workflow,
            limit: query.limit.unwrap_or(DEFAULT_PAGE_SIZE),
            after: query.after,
        };
        Ok(self.store().list_nodes(&filter).await?)
    }

    async fn node_view(&self, name: String) -> Result<NodeView, AppError> {
        self.allowed(Permission::Read)?;
        let store = self.store();
        let node = self.saved(&name).await?;
        let downstream = store.node_downstream(&name).await?;
        let descendants = store.node_descendants(&name).await?;
        let schedule_words =
            app::schedule_words::describe(app::i18n::Locale::en, &node.spec.schedule);
        Ok(NodeView { node, downstream, descendants, schedule_words })
    }

    async fn definition_graph(&self, workflow: String) -> Result<DefinitionGraph, AppError> {
        self.allowed(Permission::Read)?;
        let (nodes, edges, truncated) = self.store().workflow_graph(&workflow, GRAPH_LIMIT).await?;
        if nodes.is_empty() {
            return Err(AppError::because(Reason::NotFound {
                thing: Thing::Workflow,
                name: workflow.to_string(),
            }));
        }
        Ok(layout_definitions(nodes, &edges, truncated))
    }

    async fn workflows(&self) -> Result<Vec<(String, i64)>, AppError> {
        self.allowed(Permission::Read)?;
        Ok(self.store().workflows().await?)
    }

    async fn resource_groups(&self) -> Result<Vec<ResourceGroup>, AppError> {
        self.allowed(Permission::Read)?;
        Ok(self.store().resource_groups().await?)
    }

    async fn create_node(&self, spec: Input<NodeSpec>) -> Result<Node, AppError> {
        self.allowed(Permission::Operate)?;
        let spec = spec?;
        let name = spec.name.clone();
        let file = DefinitionFile { nodes: vec![spec], ..Default::default() };
        self.apply(file, ApplyMode::CreateOnly).await?;
        self.saved(&name).await
    }

    async fn put_node(&self, name: String, spec: Input<NodeSpec>) -> Result<SavedNode, AppError> {
        self.allowed(Permission::Operate)?;
        let mut spec = spec?;
        super::name_from_path(&mut spec.name, &name)?;
        let file = DefinitionFile { nodes: vec![spec], ..Default::default() };
        let report = self.apply(file, ApplyMode::Upsert).await?;
        Ok(SavedNode { node: self.saved(&name).await?, created: !report.created.is_empty() })
    }

    async fn set_scheduling(&self, name: String, scheduling: Scheduling) -> Result<Node, AppError> {
        let actor = self.allowed(Permission::Operate)?;
        let mut tx = self.store().begin_definitions().await?;
        let node = node_in(&mut tx, &name).await?;
        app::rules::authorize(actor, Permission::Define { owner: &node.spec.owner })?;
        let paused = scheduling.is_paused();
        if node.spec.paused != paused {
            let version = tx.set_node_paused(node.id, paused, self.now()).await?;
            let after = NodeSpec { paused, ..node.spec.clone() };
            tx.insert_versions(&[(node.id, version, after.clone())], &actor.name, self.now())
                .await?;
            let changes = node_changes(Some(&node.spec), Some(&after), None);
            let action = if paused { "node.pause" } else { "node.unpause" };
            tx.audit(&self.change_entry(actor, action, format!("node:{name}"), &changes)).await?;
        }
        tx.commit().await?;
        self.saved(&name).await
    }

    async fn node_versions(
        &self,
        name: String,
        limit: Option<u32>,
        cursor: Option<u32>,
    ) -> Result<NodeVersionPage, AppError> {
        self.allowed(Permission::Read)?;
        let limit = app::model::page_size(limit)?;
        let node = self.saved(&name).await?;
        let mut items = self.store().node_versions(node.id, limit + 1, cursor).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|v| v.version)
        } else {
            None
        };
        Ok(NodeVersionPage { items, next_cursor })
    }

    async fn node_version(&self, name: String, version: u32) -> Result<NodeVersion, AppError> {
        self.allowed(Permission::Read)?;
        let node = self.saved(&name).await?;
        self.version_of(&node, version).await
    }

    async fn rollback_node(
        &self,
        name: String,
        request: Input<RollbackRequest>,
    ) -> Result<Node, AppError> {
        self.allowed(Permission::Operate)?;
        let request = request?;
        let node = self.saved(&name).await?;
        let earlier = self.version_of(&node, request.version).await?;
        let file = DefinitionFile { nodes: vec![earlier.spec], ..Default::default() };
        self.apply(file, ApplyMode::Rollback(request.version)).await?;
        self.saved(&name).await
    }
}

impl Service {
    /// Version `version` of a live node, or a 404 naming both.
    async fn version_of(&self, node: &Node, version: u32) -> Result<NodeVersion, AppError> {
        let below = version.checked_add(1);
        let found = match below {
            Some(below) => self.store().node_versions(node.id, 1, Some(below)).await?.pop(),
            None => None,
        };
        found.filter(|v| v.version == version).ok_or_else(|| {
            AppError::because(Reason::NotFound {
                thing: Thing::NodeVersion,
                name: format!("{version} of node '{}'", node.spec.name),
            })
        })
    }
}
