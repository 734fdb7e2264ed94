//! Server functions: typed calls from the browser, each one line over a use case of
//! [`crate::usecases`] (the same service method the REST API calls). Every call from the browser
//! carries the session's CSRF token ([`CsrfClient`]); a failure answers with the HTTP status its
//! error code names.

use leptos::prelude::*;
use server_fn::codec::Json;

use crate::alerts::{AlertPage, AlertQuery, AlertRule, AlertRuleSpec};
use crate::audit::{AuditDetail, AuditPage, AuditQuery};
use crate::baselines::{Baseline, BaselineSpec, BaselineStatus};
use crate::calendars::Calendar;
pub use crate::components::csrf::CsrfClient;
use crate::error::AppError;
use crate::flow::{DefinitionGraph, FlowGraph};
use crate::jobs::{BackfillRequest, JobCreated, JobPage, JobQuery, TestRequest};
use crate::model::{
    Descendants, Instance, InstanceDetail, InstanceFilter, InstanceId, InstancePage, LogChunk,
    LogRequest, PageRequest, StateCounts,
};
use crate::nodes::{
    Node, NodePage, NodeQuery, NodeSpec, NodeVersionPage, NodeView, ResourceGroup, SavedNode,
    Scheduling,
};
use crate::people::{
    Actor, ApiToken, CreatedToken, LoginHints, NewToken, NewUser, User, UserChange, UserPage,
    UserQuery,
};
use crate::report::{BatchKind, BatchRequest, Mode, Report, RerunDownstreamRequest};
use crate::rules::Operation;
#[cfg(feature = "ssr")]
use crate::usecases::{call, call_localized};

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn whoami() -> Result<Actor, AppError> {
    call(move |s| async move { s.whoami().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn list_instances(
    filter: InstanceFilter,
    page: PageRequest,
) -> Result<InstancePage, AppError> {
    call(move |s| async move { s.list_instances(filter, page).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn instance_stats(filter: InstanceFilter) -> Result<StateCounts, AppError> {
    call(move |s| async move { s.instance_stats(filter).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn instances_by_ids(ids: Vec<InstanceId>) -> Result<Vec<Instance>, AppError> {
    call(move |s| async move { s.instances_by_ids(ids).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_detail(id: InstanceId) -> Result<InstanceDetail, AppError> {
    call_localized(move |s| async move { s.instance_detail(id).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_flow(id: InstanceId) -> Result<FlowGraph, AppError> {
    call(move |s| async move { s.flow(id).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_descendants(id: InstanceId) -> Result<Descendants, AppError> {
    call(move |s| async move { s.descendants(id).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_log(id: InstanceId, request: LogRequest) -> Result<LogChunk, AppError> {
    call(move |s| async move { s.log_chunk(id, request).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn run_operation(id: InstanceId, op: Operation, mode: Mode) -> Result<Report, AppError> {
    call_localized(move |s| async move { s.operate(id, op, Ok(mode)).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn run_rerun_downstream(
    root: InstanceId,
    request: RerunDownstreamRequest,
) -> Result<Report, AppError> {
    call_localized(move |s| async move { s.rerun_downstream(root, Ok(request)).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn run_batch(kind: BatchKind, request: BatchRequest) -> Result<Report, AppError> {
    call_localized(move |s| async move { s.batch(kind, Ok(request)).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_nodes(query: NodeQuery) -> Result<NodePage, AppError> {
    call(move |s| async move { s.list_nodes(query).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_node(name: String) -> Result<NodeView, AppError> {
    call(move |s| async move { s.node_view(name).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_definition_graph(workflow: String) -> Result<DefinitionGraph, AppError> {
    call(move |s| async move { s.definition_graph(workflow).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_workflows() -> Result<Vec<(String, i64)>, AppError> {
    call(move |s| async move { s.workflows().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_resource_groups() -> Result<Vec<ResourceGroup>, AppError> {
    call(move |s| async move { s.resource_groups().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_calendars() -> Result<Vec<Calendar>, AppError> {
    call(move |s| async move { s.calendars().await }).await
}

/// Creates a calendar, or replaces the holidays of one.
#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn save_calendar(creating: bool, calendar: Calendar) -> Result<Calendar, AppError> {
    call(move |s| async move {
        if creating {
            s.create_calendar(Ok(calendar)).await
        } else {
            s.put_calendar(calendar.name.clone(), Ok(calendar)).await
        }
    })
    .await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn delete_calendar(name: String) -> Result<(), AppError> {
    call(move |s| async move { s.delete_calendar(name).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn create_node(spec: NodeSpec) -> Result<Node, AppError> {
    call(move |s| async move { s.create_node(Ok(spec)).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn put_node(name: String, spec: NodeSpec) -> Result<SavedNode, AppError> {
    call(move |s| async move { s.put_node(name, Ok(spec)).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn set_scheduling(name: String, scheduling: Scheduling) -> Result<Node, AppError> {
    call(move |s| async move { s.set_scheduling(name, scheduling).await }).await
}

/// A node's newest 500 definition versions (the node page's history; older ones by the API).
#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_node_versions(name: String) -> Result<NodeVersionPage, AppError> {
    call(move |s| async move { s.node_versions(name, Some(500), None).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn rollback_node(name: String, version: u32) -> Result<Node, AppError> {
    call(move |s| async move {
        s.rollback_node(name, Ok(crate::nodes::RollbackRequest { version })).await
    })
    .await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn run_test(request: TestRequest) -> Result<JobCreated, AppError> {
    call(move |s| async move { s.start_test(Ok(request)).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn run_backfill(request: BackfillRequest) -> Result<JobCreated, AppError> {
    call(move |s| async move { s.backfill(Ok(request)).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_jobs(query: JobQuery) -> Result<JobPage, AppError> {
    call(move |s| async move { s.list_jobs(query).await }).await
}

/// Public: what the login page needs to say (demo accounts, how to make the first one).
#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_login_hints() -> Result<LoginHints, AppError> {
    call(move |s| async move { s.login_hints().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    call(move |s| async move { s.audit(query).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_audit_entry(id: i64, cursor: Option<String>) -> Result<AuditDetail, AppError> {
    call(move |s| async move { s.audit_entry(id, cursor).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_users(query: UserQuery) -> Result<UserPage, AppError> {
    call(move |s| async move { s.users(query).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn add_user(user: NewUser) -> Result<User, AppError> {
    call(move |s| async move { s.add_user(Ok(user)).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn change_user(name: String, change: UserChange) -> Result<User, AppError> {
    call(move |s| async move { s.change_user(name, Ok(change)).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_tokens() -> Result<Vec<ApiToken>, AppError> {
    call(move |s| async move { s.tokens().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn create_token(token: NewToken) -> Result<CreatedToken, AppError> {
    call(move |s| async move { s.create_token(token).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    call(move |s| async move { s.revoke_token(id).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_workers() -> Result<Vec<crate::workers::WorkerInfo>, AppError> {
    call(move |s| async move { s.workers().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_alert_rules() -> Result<Vec<AlertRule>, AppError> {
    call(move |s| async move { s.alert_rules().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn save_alert_rule(id: Option<i64>, spec: AlertRuleSpec) -> Result<AlertRule, AppError> {
    call(move |s| async move {
        match id {
            Some(id) => s.update_alert_rule(id, Ok(spec)).await,
            None => s.create_alert_rule(Ok(spec)).await,
        }
    })
    .await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn delete_alert_rule(id: i64) -> Result<(), AppError> {
    call(move |s| async move { s.delete_alert_rule(id).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_alerts(query: AlertQuery) -> Result<AlertPage, AppError> {
    call(move |s| async move { s.alerts(query).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_baselines() -> Result<Vec<Baseline>, AppError> {
    call(move |s| async move { s.baselines().await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn save_baseline(creating: bool, spec: BaselineSpec) -> Result<Baseline, AppError> {
    call(move |s| async move {
        if creating {
            s.create_baseline(Ok(spec)).await
        } else {
            s.put_baseline(spec.name.clone(), Ok(spec)).await
        }
    })
    .await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn delete_baseline(name: String) -> Result<(), AppError> {
    call(move |s| async move { s.delete_baseline(name).await }).await
}

#[server(prefix = "/rpc", input = Json, client = CsrfClient)]
pub async fn fetch_baseline_status(
    name: String,
    run_date: Option<chrono::NaiveDate>,
) -> Result<BaselineStatus, AppError> {
    call(move |s| async move { s.baseline_status(name, run_date).await }).await
}
