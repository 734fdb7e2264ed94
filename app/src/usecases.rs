//! The use cases the UI's server functions reach, as traits: the server's per-request
//! `Service` implements them (one method per use case, the same methods its REST handlers
//! call) and puts itself into the Leptos context. Server functions only ever call through here.
//! (The store and the engine live in the server crate, which depends on this one.)

use std::sync::Arc;

use leptos::prelude::use_context;

use crate::alerts::{AlertPage, AlertQuery, AlertRule, AlertRuleSpec};
use crate::audit::{AuditDetail, AuditPage, AuditQuery};
use crate::baselines::{Baseline, BaselineSpec, BaselineStatus};
use crate::calendars::Calendar;
use crate::error::AppError;
use crate::flow::{DefinitionGraph, FlowGraph};
use crate::jobs::{BackfillRequest, JobCreated, JobPage, JobQuery, TestRequest};
use crate::model::{
    Descendants, Instance, InstanceDetail, InstanceFilter, InstanceId, InstancePage, LogChunk,
    LogRequest, PageRequest, StateCounts,
};
use crate::nodes::{
    Node, NodePage, NodeQuery, NodeSpec, NodeVersion, NodeVersionPage, NodeView, ResourceGroup,
    RollbackRequest, SavedNode, Scheduling,
};
use crate::people::{
    Actor, ApiToken, CreatedToken, LoginHints, NewToken, NewUser, User, UserChange, UserPage,
    UserQuery,
};
use crate::report::{BatchKind, BatchRequest, Mode, Report, RerunDownstreamRequest};
use crate::rules::Operation;

type Result<T> = std::result::Result<T, AppError>;

/// A request as the adapter read it, or why it could not. A use case that a role may never
/// make decides who is asking before it looks at what was asked, so a viewer gets a 403 even
/// for a malformed request, and a malformed request costs nothing more than its refusal.
pub type Input<T> = Result<T>;

/// Reading instances.
#[async_trait::async_trait]
pub trait Instances: Send + Sync {
    async fn list_instances(
        &self,
        filter: InstanceFilter,
        page: PageRequest,
    ) -> Result<InstancePage>;

    async fn instance_stats(&self, filter: InstanceFilter) -> Result<StateCounts>;

    /// The instances with these ids (live views refresh the rows they show).
    async fn instances_by_ids(&self, ids: Vec<InstanceId>) -> Result<Vec<Instance>>;

    async fn instance_detail(&self, id: InstanceId) -> Result<InstanceDetail>;

    async fn flow(&self, id: InstanceId) -> Result<FlowGraph>;

    async fn descendants(&self, id: InstanceId) -> Result<Descendants>;

    async fn log_chunk(&self, id: InstanceId, request: LogRequest) -> Result<LogChunk>;
}

/// Operating on instances.
#[async_trait::async_trait]
pub trait Operations: Send + Sync {
    async fn operate(&self, id: InstanceId, op: Operation, mode: Input<Mode>) -> Result<Report>;

    async fn rerun_downstream(
        &self,
        root: InstanceId,
        request: Input<RerunDownstreamRequest>,
    ) -> Result<Report>;

    async fn batch(&self, kind: BatchKind, request: Input<BatchRequest>) -> Result<Report>;
}

/// Definitions: nodes, workflows, resource groups.
#[async_trait::async_trait]
pub trait Nodes: Send + Sync {
    async fn list_nodes(&self, query: NodeQuery) -> Result<NodePage>;

    async fn node_view(&self, name: String) -> Result<NodeView>;

    async fn definition_graph(&self, workflow: String) -> Result<DefinitionGraph>;

    /// Workflow names with their node counts.
    async fn workflows(&self) -> Result<Vec<(String, i64)>>;

    async fn resource_groups(&self) -> Result<Vec<ResourceGroup>>;

    /// A new node; a taken name is a conflict.
    async fn create_node(&self, spec: Input<NodeSpec>) -> Result<Node>;

    /// Replaces a node (or creates it); the answer says which.
    async fn put_node(&self, name: String, spec: Input<NodeSpec>) -> Result<SavedNode>;

    /// A node's scheduling status: normal, or paused (its instances are made frozen).
    async fn set_scheduling(&self, name: String, scheduling: Scheduling) -> Result<Node>;

    /// A node's definition versions, newest first (`limit` 1 to 500, default 50; below the
    /// `cursor` version).
    async fn node_versions(
        &self,
        name: String,
        limit: Option<u32>,
        cursor: Option<u32>,
    ) -> Result<NodeVersionPage>;

    async fn node_version(&self, name: String, version: u32) -> Result<NodeVersion>;

    /// Makes an earlier version current again, as a new version, validated like any change.
    async fn rollback_node(&self, name: String, request: Input<RollbackRequest>) -> Result<Node>;
}

/// Test runs and backfills.
#[async_trait::async_trait]
pub trait Jobs: Send + Sync {
    async fn start_test(&self, request: Input<TestRequest>) -> Result<JobCreated>;

    async fn backfill(&self, request: Input<BackfillRequest>) -> Result<JobCreated>;

    async fn list_jobs(&self, query: JobQuery) -> Result<JobPage>;
}

/// People, tokens and who is asking.
#[async_trait::async_trait]
pub trait People: Send + Sync {
    /// Who is asking.
    async fn whoami(&self) -> Result<Actor>;

    /// Public: what the login page says.
    async fn login_hints(&self) -> Result<LoginHints>;

    async fn users(&self, query: UserQuery) -> Result<UserPage>;

    async fn add_user(&self, user: Input<NewUser>) -> Result<User>;

    async fn change_user(&self, name: String, change: Input<UserChange>) -> Result<User>;

    /// The signed-in person's API tokens.
    async fn tokens(&self) -> Result<Vec<ApiToken>>;

    async fn create_token(&self, token: NewToken) -> Result<CreatedToken>;

    async fn revoke_token(&self, id: i64) -> Result<()>;
}

/// The audit trail.
#[async_trait::async_trait]
pub trait AuditTrail: Send + Sync {
    async fn audit(&self, query: AuditQuery) -> Result<AuditPage>;

    /// One entry with a page of its per-instance results (after the instance `cursor`).
    async fn audit_entry(&self, id: i64, cursor: Option<String>) -> Result<AuditDetail>;
}

/// The processes serving the project.
#[async_trait::async_trait]
pub trait Processes: Send + Sync {
    async fn workers(&self) -> Result<Vec<crate::workers::WorkerInfo>>;
}

/// Alert rules and what they fired.
#[async_trait::async_trait]
pub trait Alerts: Send + Sync {
    async fn alert_rules(&self) -> Result<Vec<AlertRule>>;

    async fn alert_rule(&self, id: i64) -> Result<AlertRule>;

    async fn create_alert_rule(&self, spec: Input<AlertRuleSpec>) -> Result<AlertRule>;

    async fn update_alert_rule(&self, id: i64, spec: Input<AlertRuleSpec>) -> Result<AlertRule>;

    async fn delete_alert_rule(&self, id: i64) -> Result<()>;

    /// What fired, newest first.
    async fn alerts(&self, query: AlertQuery) -> Result<AlertPage>;
}

/// Baselines and their predictions.
#[async_trait::async_trait]
pub trait Baselines: Send + Sync {
    async fn baselines(&self) -> Result<Vec<Baseline>>;

    async fn baseline(&self, name: String) -> Result<Baseline>;

    async fn create_baseline(&self, spec: Input<BaselineSpec>) -> Result<Baseline>;

    /// Replaces a baseline's nodes, commitment, margin and channels.
    async fn put_baseline(&self, name: String, spec: Input<BaselineSpec>) -> Result<Baseline>;

    async fn delete_baseline(&self, name: String) -> Result<()>;

    /// Where it stands for a run date (default: today in the project time zone).
    async fn baseline_status(
        &self,
        name: String,
        run_date: Option<chrono::NaiveDate>,
    ) -> Result<BaselineStatus>;
}

/// Business calendars.
#[async_trait::async_trait]
pub trait Calendars: Send + Sync {
    async fn calendars(&self) -> Result<Vec<Calendar>>;

    async fn calendar(&self, name: String) -> Result<Calendar>;

    /// A new calendar; a taken name is a conflict.
    async fn create_calendar(&self, calendar: Input<Calendar>) -> Result<Calendar>;

    /// Replaces a calendar's holidays, or creates it.
    async fn put_calendar(&self, name: String, calendar: Input<Calendar>) -> Result<Calendar>;

    /// Refused while nodes follow it.
    async fn delete_calendar(&self, name: String) -> Result<()>;
}

/// Every use case of the UI.
pub trait UseCases:
    Instances
    + Operations
    + Nodes
    + Jobs
    + People
    + AuditTrail
    + Processes
    + Alerts
    + Baselines
    + Calendars
{
}

impl<T> UseCases for T where
    T: Instances
        + Operations
        + Nodes
        + Jobs
        + People
        + AuditTrail
        + Processes
        + Alerts
        + Baselines
        + Calendars
{
}

pub type SharedUseCases = Arc<dyn UseCases>;

/// The use cases of the current request (the service knows who is asking).
pub fn current() -> Result<SharedUseCases> {
    use_context::<SharedUseCases>()
        .ok_or_else(|| AppError::internal("the server did not provide its use cases"))
}

/// [`call`] for a result that carries reasons: they come back in the page's language.
pub async fn call_localized<T, F, Fut>(body: F) -> Result<T>
where
    T: crate::lang::Localize,
    F: FnOnce(SharedUseCases) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    Ok(call(body).await?.localize(crate::lang::request_locale()))
}

/// Runs a server function's body against the request's use cases. A failure also sets the HTTP
/// status its code names (401, 403, 404, 409, …), so scripts and tests see the same statuses as
/// from the REST API; a page rendering for someone not signed in stays a 200.
pub async fn call<T, F, Fut>(body: F) -> Result<T>
where
    F: FnOnce(SharedUseCases) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let result = match current() {
        Ok(service) => body(service).await,
        Err(error) => Err(error),
    };
    // A page rendered for someone not signed in (the login page) asks who is signed in and
    // hears "nobody": that is the page's answer to render, not its status.
    let rendering_page = use_context::<http::request::Parts>()
        .is_some_and(|parts| !parts.uri.path().starts_with("/rpc/"));
    let mut result = result;
    if let Err(error) = &mut result
        && let Some(reason) = &error.reason
    {
        error.shown = Some(reason.describe(crate::lang::request_locale()));
    }
    if let Err(error) = &result
        && !(rendering_page && error.code == crate::error::ErrorCode::Unauthorized)
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(error.code.http_status())
    {
        response.set_status(status);
    }
    result
}
