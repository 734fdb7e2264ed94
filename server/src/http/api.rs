//! `/api/v1`: JSON for scripts and other tools. Handlers are thin: they parse, call the store or
//! the engine, and shape the answer; the rules live elsewhere.

use app::definition::{Node, NodePage, NodeSpec, ResourceGroup};
use app::error::AppError;
use app::model::{Attempt, InstanceFilter, InstanceId, InstancePage, StateCounts, parse_date};
use app::rules::{self, Facts, Operation, Permission};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use super::auth::CurrentActor;
use super::error::{ApiError, ApiResult};
use crate::auth::Auth;
use crate::definitions::DefinitionFile;
use crate::engine::Engine;
use crate::store::{ApplyMode, NodeListFilter, UpsertReport};

/// The OpenAPI description of everything below.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub engine: Engine,
    pub auth: Auth,
}

impl FromRef<ApiState> for Engine {
    fn from_ref(state: &ApiState) -> Engine {
        state.engine.clone()
    }
}

impl FromRef<ApiState> for Auth {
    fn from_ref(state: &ApiState) -> Auth {
        state.auth.clone()
    }
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/events", get(super::events::events))
        .route("/openapi.json", get(openapi))
        .route("/nodes", get(list_nodes).post(create_node))
        .route("/nodes/{name}", get(get_node).put(put_node).delete(delete_node))
        .route("/import", post(import))
        .route("/resource-groups", get(list_groups))
        .route("/resource-groups/{name}", axum::routing::put(put_group))
        .route("/snapshots", post(snapshot))
        .route("/instances", get(list_instances))
        .route("/instances/stats", get(instance_stats))
        .route("/instances/{id}", get(get_instance))
        .route("/instances/{id}/log", get(instance_log))
        .merge(super::operations::routes())
        .merge(super::jobs::routes())
        .merge(super::people::routes())
        .fallback(|| async {
            ApiError(AppError::not_found("no such API endpoint (see /api/v1/openapi.json)"))
        })
        .with_state(state)
}

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn pairs(query: Pairs) -> ApiResult<Vec<(String, String)>> {
    Ok(query?.0)
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn list_nodes(State(engine): State<Engine>, query: Pairs) -> ApiResult<Json<NodePage>> {
    let mut filter = NodeListFilter { limit: app::model::DEFAULT_PAGE_SIZE, ..Default::default() };
    for (key, value) in pairs(query)? {
        let value = value.trim().to_string();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "name" => filter.name = Some(value),
            "owner" => filter.owner = Some(value),
            "workflow" => filter.workflow = Some(value),
            "cursor" => filter.after = Some(value),
            "limit" => {
                filter.limit = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=app::model::MAX_PAGE_SIZE).contains(l))
                    .ok_or_else(|| {
                        AppError::bad_request(format!(
                            "limit '{value}' must be a number from 1 to {}",
                            app::model::MAX_PAGE_SIZE
                        ))
                    })?
            }
            other => {
                return Err(AppError::bad_request(format!(
                    "unknown filter '{other}' (expected name, owner, workflow, limit, cursor)"
                ))
                .into());
            }
        }
    }
    Ok(Json(engine.store().list_nodes(&filter).await?))
}

async fn stored_node(engine: &Engine, name: &str) -> ApiResult<Node> {
    engine
        .store()
        .get_node(name)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no node named '{name}'")).into())
}

/// A node body: an object whose left-out `owner` becomes `owner`.
fn node_body(body: Result<Json<Value>, JsonRejection>, owner: &str) -> ApiResult<Value> {
    let mut body = body?.0;
    if let Some(object) = body.as_object_mut() {
        object.entry("owner").or_insert_with(|| Value::String(owner.to_string()));
    }
    Ok(body)
}

fn node_spec(body: Value) -> ApiResult<NodeSpec> {
    Ok(serde_json::from_value(body)
        .map_err(|e| AppError::bad_request(format!("invalid node: {e}")))?)
}

/// `POST /nodes`: a left-out owner is the person creating it.
async fn create_node(
    State(engine): State<Engine>,
    actor: CurrentActor,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Node>)> {
    let spec = node_spec(node_body(body, &actor.0.name)?)?;
    let (node, _) = engine.save_node(&actor.0, spec, ApplyMode::CreateOnly).await?;
    Ok((StatusCode::CREATED, Json(node)))
}

async fn get_node(State(engine): State<Engine>, Path(name): Path<String>) -> ApiResult<Json<Node>> {
    Ok(Json(stored_node(&engine, &name).await?))
}

async fn put_node(
    State(engine): State<Engine>,
    actor: CurrentActor,
    Path(name): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Node>)> {
    // A left-out owner stays what it is (or is the person creating the node).
    let owner = match engine.store().get_node(&name).await? {
        Some(existing) => existing.spec.owner,
        None => actor.0.name.clone(),
    };
    let mut body = node_body(body, &owner)?;
    // The name comes from the path; a body may repeat it but not contradict it.
    if let Some(object) = body.as_object_mut() {
        match object.get("name") {
            Some(Value::String(given)) if *given != name => {
                return Err(AppError::bad_request(format!(
                    "the body names node '{given}' but the path names '{name}' (renaming is not supported)"
                ))
                .into());
            }
            _ => {
                object.insert("name".into(), Value::String(name.clone()));
            }
        }
    }
    let spec = node_spec(body)?;
    let (node, created) = engine.save_node(&actor.0, spec, ApplyMode::Upsert).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(node)))
}

async fn delete_node(
    State(engine): State<Engine>,
    actor: CurrentActor,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    engine.delete_node(&actor.0, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn import(
    State(engine): State<Engine>,
    actor: CurrentActor,
    body: Bytes,
) -> ApiResult<Json<UpsertReport>> {
    actor.may(Permission::Read)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::bad_request("the import body must be UTF-8 TOML text"))?;
    let file = DefinitionFile::parse("request body", text)
        .map_err(|e| AppError::bad_request(e.to_string()))?;
    Ok(Json(engine.import(&actor.0, &file).await?))
}

async fn list_groups(State(engine): State<Engine>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": engine.store().resource_groups().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotsBody {
    slots: u32,
}

async fn put_group(
    State(engine): State<Engine>,
    actor: CurrentActor,
    Path(name): Path<String>,
    body: Result<Json<SlotsBody>, JsonRejection>,
) -> ApiResult<Json<ResourceGroup>> {
    actor.may(Permission::ManageProject)?;
    let group = ResourceGroup { name, slots: body?.0.slots };
    let file = DefinitionFile { resource_groups: vec![group.clone()], nodes: Vec::new() };
    engine.store().apply_definitions(&file, ApplyMode::Upsert, engine.clock().now()).await?;
    engine.wake();
    Ok(Json(group))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotBody {
    run_date: String,
}

#[derive(Serialize)]
struct SnapshotAnswer {
    run_date: String,
    created: u64,
}

async fn snapshot(
    State(engine): State<Engine>,
    actor: CurrentActor,
    body: Result<Json<SnapshotBody>, JsonRejection>,
) -> ApiResult<Json<SnapshotAnswer>> {
    actor.may(Permission::ManageProject)?;
    let run_date = parse_date("run_date", &body?.0.run_date)?;
    let created = engine.snapshot(run_date).await?;
    Ok(Json(SnapshotAnswer { run_date: run_date.to_string(), created }))
}

fn instance_filter(query: Pairs) -> ApiResult<(InstanceFilter, app::model::PageRequest)> {
    let pairs = pairs(query)?;
    Ok(InstanceFilter::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?)
}

async fn list_instances(
    State(engine): State<Engine>,
    query: Pairs,
) -> ApiResult<Json<InstancePage>> {
    let (filter, page) = instance_filter(query)?;
    Ok(Json(engine.store().list_instances(&filter, &page).await?))
}

async fn instance_stats(
    State(engine): State<Engine>,
    query: Pairs,
) -> ApiResult<Json<StateCounts>> {
    let (filter, page) = instance_filter(query)?;
    if page.cursor.is_some() || page.limit.is_some() {
        return Err(AppError::bad_request("statistics take no limit or cursor").into());
    }
    Ok(Json(engine.store().instance_stats(&filter).await?))
}

pub(super) fn instance_id(raw: &str) -> ApiResult<InstanceId> {
    Ok(raw.parse::<InstanceId>()?)
}

#[derive(Serialize)]
struct InstanceDetail {
    #[serde(flatten)]
    instance: app::model::Instance,
    attempts: Vec<Attempt>,
}

async fn get_instance(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> ApiResult<Json<InstanceDetail>> {
    let id = instance_id(&id)?;
    let instance = engine
        .store()
        .get_instance(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no instance {id}")))?;
    let attempts = engine.store().attempts(id).await?;
    Ok(Json(InstanceDetail { instance, attempts }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    attempt: Option<i32>,
    /// Ask the browser to save it as a file.
    download: Option<bool>,
}

/// The log of the latest attempt (or `?attempt=N`), as plain text; it grows while the attempt
/// runs.
async fn instance_log(
    State(engine): State<Engine>,
    Path(id): Path<String>,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let id = instance_id(&id)?;
    let LogQuery { attempt: wanted, download } = query?.0;
    let instance = engine
        .store()
        .get_instance(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no instance {id}")))?;
    rules::check(Operation::ViewLog, Facts { state: instance.state, paused: instance.paused })
        .map_err(|refusal| AppError::conflict(refusal.reason))?;
    let attempts = engine.store().attempts(id).await?;
    let disposition = match download {
        Some(true) => format!("attachment; filename=\"{}-{id}.log\"", instance.node),
        _ => "inline".to_string(),
    };
    let text = [
        (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_string()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    let attempt = match (wanted, attempts.last()) {
        (Some(n), _) => attempts
            .iter()
            .find(|a| a.attempt == n)
            .ok_or_else(|| AppError::not_found(format!("instance {id} has no attempt {n}")))?,
        (None, Some(last)) => last,
        // Stopped before it ever started: its log is empty.
        (None, None) => return Ok((text, axum::body::Body::empty())),
    };
    let path = engine.config().data_dir.join(&attempt.log_path);
    let file = tokio::fs::File::open(&path).await.map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "log unreadable");
        AppError::not_found(format!("the log of attempt {} is missing", attempt.attempt))
    })?;
    // Streamed, so a large log never sits in memory.
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((text, body))
}
