//! Server functions: typed calls from the browser, each a thin wrapper over [`crate::backend`].

use leptos::prelude::*;

use crate::error::AppError;
use crate::flow::FlowGraph;
use crate::model::{
    Instance, InstanceDetail, InstanceFilter, InstanceId, InstancePage, LogChunk, PageRequest,
    StateCounts,
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
