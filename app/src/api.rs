//! Server functions: typed calls from the browser, each a thin wrapper over [`crate::backend`].
//! Every call from the browser carries the session's CSRF token ([`CsrfClient`]); a failure
//! answers with the HTTP status its error code names.

use leptos::prelude::*;
use server_fn::codec::Json;

use crate::audit::{AuditDetail, AuditPage, AuditQuery};
pub use crate::components::csrf::CsrfClient;
use crate::people::{
    ApiToken, CreatedToken, LoginHints, NewToken, NewUser, User, UserChange, UserPage,
};

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

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn whoami() -> Result<Actor, AppError> {
    crate::backend::call(move |b| async move { b.whoami().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn list_instances(
    filter: InstanceFilter,
    page: PageRequest,
) -> Result<InstancePage, AppError> {
    crate::backend::call(move |b| async move { b.list_instances(filter, page).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn instance_stats(filter: InstanceFilter) -> Result<StateCounts, AppError> {
    crate::backend::call(move |b| async move { b.instance_stats(filter).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn instances_by_ids(ids: Vec<InstanceId>) -> Result<Vec<Instance>, AppError> {
    crate::backend::call(move |b| async move { b.instances_by_ids(ids).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_detail(id: InstanceId) -> Result<InstanceDetail, AppError> {
    crate::backend::call(move |b| async move { b.instance_detail(id).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_flow(id: InstanceId) -> Result<FlowGraph, AppError> {
    crate::backend::call(move |b| async move { b.flow(id).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_descendants(id: InstanceId) -> Result<Vec<Instance>, AppError> {
    crate::backend::call(move |b| async move { b.descendants(id).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_log(
    id: InstanceId,
    attempt: Option<i32>,
    offset: u64,
) -> Result<LogChunk, AppError> {
    crate::backend::call(move |b| async move { b.log_chunk(id, attempt, offset).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn run_operation(
    id: InstanceId,
    op: Operation,
    dry_run: bool,
) -> Result<Report, AppError> {
    crate::backend::call(move |b| async move { b.operate(id, op, dry_run).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn run_rerun_downstream(
    root: InstanceId,
    checked: Vec<InstanceId>,
    dry_run: bool,
) -> Result<Report, AppError> {
    crate::backend::call(move |b| async move { b.rerun_downstream(root, checked, dry_run).await })
        .await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn run_batch(kind: BatchKind, request: BatchRequest) -> Result<Report, AppError> {
    crate::backend::call(move |b| async move { b.batch(kind, request).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_nodes(query: NodeQuery) -> Result<NodePage, AppError> {
    crate::backend::call(move |b| async move { b.list_nodes(query).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_node(name: String) -> Result<NodeView, AppError> {
    crate::backend::call(move |b| async move { b.node_view(name).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_definition_graph(workflow: String) -> Result<DefinitionGraph, AppError> {
    crate::backend::call(move |b| async move { b.definition_graph(workflow).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_workflows() -> Result<Vec<(String, i64)>, AppError> {
    crate::backend::call(move |b| async move { b.workflows().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_resource_groups() -> Result<Vec<ResourceGroup>, AppError> {
    crate::backend::call(move |b| async move { b.resource_groups().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn save_node(spec: NodeSpec, create: bool) -> Result<Node, AppError> {
    crate::backend::call(move |b| async move { b.save_node(spec, create).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn set_node_paused(name: String, paused: bool) -> Result<Node, AppError> {
    crate::backend::call(move |b| async move { b.set_node_paused(name, paused).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn run_test(request: TestRequest) -> Result<JobCreated, AppError> {
    crate::backend::call(move |b| async move { b.start_test(request).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn run_backfill(request: BackfillRequest) -> Result<JobCreated, AppError> {
    crate::backend::call(move |b| async move { b.backfill(request).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_jobs(kind: RunType, before: Option<i64>) -> Result<JobPage, AppError> {
    crate::backend::call(move |b| async move { b.list_jobs(kind, before).await }).await
}

/// Public: what the login page needs to say (demo accounts, how to make the first one).
#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_login_hints() -> Result<LoginHints, AppError> {
    crate::backend::call(move |b| async move { b.login_hints().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    crate::backend::call(move |b| async move { b.audit(query).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_audit_entry(id: i64) -> Result<AuditDetail, AppError> {
    crate::backend::call(move |b| async move { b.audit_entry(id).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_users(after: Option<String>) -> Result<UserPage, AppError> {
    crate::backend::call(move |b| async move { b.users(after).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn add_user(user: NewUser) -> Result<User, AppError> {
    crate::backend::call(move |b| async move { b.add_user(user).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn change_user(name: String, change: UserChange) -> Result<User, AppError> {
    crate::backend::call(move |b| async move { b.change_user(name, change).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_tokens() -> Result<Vec<ApiToken>, AppError> {
    crate::backend::call(move |b| async move { b.tokens().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn create_token(token: NewToken) -> Result<CreatedToken, AppError> {
    crate::backend::call(move |b| async move { b.create_token(token).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    crate::backend::call(move |b| async move { b.revoke_token(id).await }).await
}
