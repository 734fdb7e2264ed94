//! The seam between the UI's server functions and the engine: the server crate implements
//! [`Backend`] and puts it into the Leptos context; server functions only ever call it.
//! (The store and the engine live in the server crate, which depends on this one.)

use std::sync::Arc;

use leptos::prelude::use_context;

use crate::definition::{Node, NodePage, NodeQuery, NodeSpec, NodeView, ResourceGroup};
use crate::error::AppError;
use crate::flow::{DefinitionGraph, FlowGraph};
use crate::jobs::{BackfillRequest, JobCreated, JobPage, TestRequest};
use crate::model::{
    Instance, InstanceDetail, InstanceFilter, InstanceId, InstancePage, LogChunk, PageRequest,
    RunType, StateCounts,
};
use crate::people::Actor;
use crate::report::{BatchKind, BatchRequest, Report};
use crate::rules::Operation;

#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Who is acting.
    async fn whoami(&self) -> Result<Actor, AppError>;

    async fn list_instances(
        &self,
        filter: InstanceFilter,
        page: PageRequest,
    ) -> Result<InstancePage, AppError>;

    async fn instance_stats(&self, filter: InstanceFilter) -> Result<StateCounts, AppError>;

    async fn instances_by_ids(&self, ids: Vec<InstanceId>) -> Result<Vec<Instance>, AppError>;

    async fn instance_detail(&self, id: InstanceId) -> Result<InstanceDetail, AppError>;

    async fn flow(&self, id: InstanceId) -> Result<FlowGraph, AppError>;

    async fn descendants(&self, id: InstanceId) -> Result<Vec<Instance>, AppError>;

    async fn log_chunk(
        &self,
        id: InstanceId,
        attempt: Option<i32>,
        offset: u64,
    ) -> Result<LogChunk, AppError>;

    async fn operate(
        &self,
        id: InstanceId,
        op: Operation,
        dry_run: bool,
    ) -> Result<Report, AppError>;

    async fn rerun_downstream(
        &self,
        root: InstanceId,
        checked: Vec<InstanceId>,
        dry_run: bool,
    ) -> Result<Report, AppError>;

    async fn batch(&self, kind: BatchKind, request: BatchRequest) -> Result<Report, AppError>;

    async fn list_nodes(&self, query: NodeQuery) -> Result<NodePage, AppError>;

    async fn node_view(&self, name: String) -> Result<NodeView, AppError>;

    async fn definition_graph(&self, workflow: String) -> Result<DefinitionGraph, AppError>;

    /// Workflow names with their node counts.
    async fn workflows(&self) -> Result<Vec<(String, i64)>, AppError>;

    async fn resource_groups(&self) -> Result<Vec<ResourceGroup>, AppError>;

    /// Creates (`create`) or replaces a node.
    async fn save_node(&self, spec: NodeSpec, create: bool) -> Result<Node, AppError>;

    async fn set_node_paused(&self, name: String, paused: bool) -> Result<Node, AppError>;

    async fn start_test(&self, request: TestRequest) -> Result<JobCreated, AppError>;

    async fn backfill(&self, request: BackfillRequest) -> Result<JobCreated, AppError>;

    async fn list_jobs(&self, kind: RunType, before: Option<i64>) -> Result<JobPage, AppError>;
}

pub type SharedBackend = Arc<dyn Backend>;

/// The backend of the current request.
pub fn backend() -> Result<SharedBackend, AppError> {
    use_context::<SharedBackend>()
        .ok_or_else(|| AppError::internal("the server did not provide a backend"))
}
