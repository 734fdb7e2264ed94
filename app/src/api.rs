//! Server functions: typed calls from the browser, each a thin wrapper over [`crate::backend`].

use leptos::prelude::*;

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

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn whoami() -> Result<Actor, AppError> {
    crate::backend::backend()?.whoami().await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn list_instances(
    filter: InstanceFilter,
    page: PageRequest,
) -> Result<InstancePage, AppError> {
    crate::backend::backend()?.list_instances(filter, page).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn instance_stats(filter: InstanceFilter) -> Result<StateCounts, AppError> {
    crate::backend::backend()?.instance_stats(filter).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn instances_by_ids(ids: Vec<InstanceId>) -> Result<Vec<Instance>, AppError> {
    crate::backend::backend()?.instances_by_ids(ids).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn fetch_detail(id: InstanceId) -> Result<InstanceDetail, AppError> {
    crate::backend::backend()?.instance_detail(id).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn fetch_flow(id: InstanceId) -> Result<FlowGraph, AppError> {
    crate::backend::backend()?.flow(id).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn fetch_descendants(id: InstanceId) -> Result<Vec<Instance>, AppError> {
    crate::backend::backend()?.descendants(id).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn fetch_log(
    id: InstanceId,
    attempt: Option<i32>,
    offset: u64,
) -> Result<LogChunk, AppError> {
    crate::backend::backend()?.log_chunk(id, attempt, offset).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn run_operation(
    id: InstanceId,
    op: Operation,
    dry_run: bool,
) -> Result<Report, AppError> {
    crate::backend::backend()?.operate(id, op, dry_run).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn run_rerun_downstream(
    root: InstanceId,
    checked: Vec<InstanceId>,
    dry_run: bool,
) -> Result<Report, AppError> {
    crate::backend::backend()?.rerun_downstream(root, checked, dry_run).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn run_batch(kind: BatchKind, request: BatchRequest) -> Result<Report, AppError> {
    crate::backend::backend()?.batch(kind, request).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn fetch_nodes(query: NodeQuery) -> Result<NodePage, AppError> {
    crate::backend::backend()?.list_nodes(query).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn fetch_node(name: String) -> Result<NodeView, AppError> {
    crate::backend::backend()?.node_view(name).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn fetch_definition_graph(workflow: String) -> Result<DefinitionGraph, AppError> {
    crate::backend::backend()?.definition_graph(workflow).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn fetch_workflows() -> Result<Vec<(String, i64)>, AppError> {
    crate::backend::backend()?.workflows().await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn fetch_resource_groups() -> Result<Vec<ResourceGroup>, AppError> {
    crate::backend::backend()?.resource_groups().await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn save_node(spec: NodeSpec, create: bool) -> Result<Node, AppError> {
    crate::backend::backend()?.save_node(spec, create).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn set_node_paused(name: String, paused: bool) -> Result<Node, AppError> {
    crate::backend::backend()?.set_node_paused(name, paused).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn run_test(request: TestRequest) -> Result<JobCreated, AppError> {
    crate::backend::backend()?.start_test(request).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn run_backfill(request: BackfillRequest) -> Result<JobCreated, AppError> {
    crate::backend::backend()?.backfill(request).await
}

#[server(prefix = "/rpc", input = server_fn::codec::Json)]
pub async fn fetch_jobs(kind: RunType, before: Option<i64>) -> Result<JobPage, AppError> {
    crate::backend::backend()?.list_jobs(kind, before).await
}
