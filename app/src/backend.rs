//! The seam between the UI's server functions and the engine: the server crate implements
//! [`Backend`] and puts it into the Leptos context; server functions only ever call it.
//! (The store and the engine live in the server crate, which depends on this one.)

use std::sync::Arc;

use leptos::prelude::use_context;

use crate::audit::{AuditDetail, AuditPage, AuditQuery};
use crate::definition::{Node, NodePage, NodeQuery, NodeSpec, NodeView, ResourceGroup};
use crate::error::AppError;
use crate::flow::{DefinitionGraph, FlowGraph};
use crate::jobs::{BackfillRequest, JobCreated, JobPage, TestRequest};
use crate::model::{
    Instance, InstanceDetail, InstanceFilter, InstanceId, InstancePage, LogChunk, PageRequest,
    RunType, StateCounts,
};
use crate::people::{
    Actor, ApiToken, CreatedToken, LoginHints, NewToken, NewUser, User, UserChange, UserPage,
};
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

    /// Public: what the login page says.
    async fn login_hints(&self) -> Result<LoginHints, AppError>;

    async fn audit(&self, query: AuditQuery) -> Result<AuditPage, AppError>;

    async fn audit_entry(&self, id: i64) -> Result<AuditDetail, AppError>;

    async fn users(&self, after: Option<String>) -> Result<UserPage, AppError>;

    async fn add_user(&self, user: NewUser) -> Result<User, AppError>;

    async fn change_user(&self, name: String, change: UserChange) -> Result<User, AppError>;

    /// The signed-in person's API tokens.
    async fn tokens(&self) -> Result<Vec<ApiToken>, AppError>;

    async fn create_token(&self, token: NewToken) -> Result<CreatedToken, AppError>;

    async fn revoke_token(&self, id: i64) -> Result<(), AppError>;
}

pub type SharedBackend = Arc<dyn Backend>;

/// The backend of the current request (it knows who is asking).
pub fn backend() -> Result<SharedBackend, AppError> {
    use_context::<SharedBackend>()
        .ok_or_else(|| AppError::internal("the server did not provide a backend"))
}

/// Runs a server function's body against the request's backend. A failure also sets the HTTP
/// status its code names (401, 403, 404, 409, …), so scripts and tests see the same statuses as
/// from the REST API.
pub async fn call<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(SharedBackend) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let result = match backend() {
        Ok(backend) => body(backend).await,
        Err(error) => Err(error),
    };
    if let Err(error) = &result
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(error.code.http_status())
    {
        response.set_status(status);
    }
    result
}
