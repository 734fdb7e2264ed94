//! Changing definitions on behalf of a person: the role check (a developer changes only the
//! nodes they own, before and after the change; resource groups are the administrators'), then
//! the store's validated write.

use app::definition::{Node, NodeSpec};
use app::error::AppError;
use app::people::Actor;
use app::rules::{self, Permission};

use crate::definitions::DefinitionFile;
use crate::engine::Engine;
use crate::store::{ApplyMode, UpsertReport};

fn allowed(actor: &Actor, permission: Permission<'_>) -> Result<(), AppError> {
    rules::authorize(actor, permission).map_err(AppError::forbidden)
}

impl Engine {
    async fn stored_node(&self, name: &str) -> Result<Node, AppError> {
        self.store()
            .get_node(name)
            .await?
            .ok_or_else(|| AppError::not_found(format!("no node named '{name}'")))
    }

    /// Creates (`mode` = create only) or creates-or-replaces a node.
    pub async fn save_node(
        &self,
        actor: &Actor,
        spec: NodeSpec,
        mode: ApplyMode,
    ) -> Result<(Node, bool), AppError> {
        allowed(actor, Permission::Define { owner: &spec.owner })?;
        if let Some(existing) = self.store().get_node(&spec.name).await?
            && mode == ApplyMode::Upsert
        {
            allowed(actor, Permission::Define { owner: &existing.spec.owner })?;
        }
        let name = spec.name.clone();
        let file = DefinitionFile { resource_groups: Vec::new(), nodes: vec![spec] };
        let report = self.store().apply_definitions(&file, mode, self.clock().now()).await?;
        Ok((self.stored_node(&name).await?, !report.created.is_empty()))
    }

    /// Upserts a workflow-as-code file: every node must be the actor's to change (as it is
    /// now and as the file makes it), resource groups need an administrator.
    pub async fn import(
        &self,
        actor: &Actor,
        file: &DefinitionFile,
    ) -> Result<UpsertReport, AppError> {
        if !file.resource_groups.is_empty() {
            allowed(actor, Permission::ManageProject)?;
        }
        let names: Vec<String> = file.nodes.iter().map(|n| n.name.clone()).collect();
        let owners = self.store().node_owners(&names).await?;
        for spec in &file.nodes {
            allowed(actor, Permission::Define { owner: &spec.owner })?;
            if let Some(owner) = owners.get(&spec.name) {
                allowed(actor, Permission::Define { owner })?;
            }
        }
        let report =
            self.store().apply_definitions(file, ApplyMode::Upsert, self.clock().now()).await?;
        self.wake();
        Ok(report)
    }

    pub async fn delete_node(&self, actor: &Actor, name: &str) -> Result<(), AppError> {
        let existing = self.stored_node(name).await?;
        allowed(actor, Permission::Define { owner: &existing.spec.owner })?;
        Ok(self.store().delete_node(name, self.clock().now()).await?)
    }

    /// The node's permanent pause (scheduling status): administrators or its owner.
    pub async fn set_node_paused(
        &self,
        actor: &Actor,
        name: &str,
        paused: bool,
    ) -> Result<Node, AppError> {
        let existing = self.stored_node(name).await?;
        allowed(actor, Permission::Define { owner: &existing.spec.owner })?;
        self.store().set_node_paused(name, paused, self.clock().now()).await?;
        self.stored_node(name).await
    }
}
