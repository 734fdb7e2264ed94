//! `/api/v1` routes that operate on instances, show their neighbourhood, and read the audit.

use app::error::AppError;
use app::model::{Instance, InstanceId};
use app::rules::Operation;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::api::{ApiState, CurrentActor, instance_id};
use super::error::ApiResult;
use crate::engine::Engine;
use app::audit::{AuditDetail, AuditPage, AuditQuery};
use app::report::{BatchKind, BatchRequest, Report};

type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The most descendants the checked-downstream dialog lists.
const MAX_DESCENDANTS: u32 = 5_000;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/instances/{id}/kill", post(kill))
        .route("/instances/{id}/rerun", post(rerun))
        .route("/instances/{id}/set-success", post(set_success))
        .route("/instances/{id}/pause", post(pause))
        .route("/instances/{id}/resume", post(resume))
        .route("/instances/{id}/rerun-downstream", post(rerun_downstream))
        .route("/instances/{id}/neighbors", get(neighbors))
        .route("/instances/{id}/descendants", get(descendants))
        .route("/instances/batch/kill", post(batch_kill))
        .route("/instances/batch/rerun", post(batch_rerun))
        .route("/audit", get(list_audit))
        .route("/audit/{id}", get(audit_entry))
}

/// A JSON body that may also be empty (then every field takes its default).
fn optional_body<T: DeserializeOwned + Default>(body: &Bytes) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| AppError::bad_request(format!("invalid JSON body: {e}")).into())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DryRun {
    #[serde(default)]
    dry_run: bool,
}

type Single = (State<Engine>, CurrentActor, Path<String>, Bytes);

async fn single(
    (State(engine), actor, Path(id), body): Single,
    op: Operation,
) -> ApiResult<Json<Report>> {
    let id = instance_id(&id)?;
    let DryRun { dry_run } = optional_body(&body)?;
    Ok(Json(engine.operate(&actor.0, id, op, dry_run).await?))
}

async fn kill(
    s: State<Engine>,
    a: CurrentActor,
    p: Path<String>,
    b: Bytes,
) -> ApiResult<Json<Report>> {
    single((s, a, p, b), Operation::Kill).await
}

async fn rerun(
    s: State<Engine>,
    a: CurrentActor,
    p: Path<String>,
    b: Bytes,
) -> ApiResult<Json<Report>> {
    single((s, a, p, b), Operation::Rerun).await
}

async fn set_success(
    s: State<Engine>,
    a: CurrentActor,
    p: Path<String>,
    b: Bytes,
) -> ApiResult<Json<Report>> {
    single((s, a, p, b), Operation::SetSuccess).await
}

async fn pause(
    s: State<Engine>,
    a: CurrentActor,
    p: Path<String>,
    b: Bytes,
) -> ApiResult<Json<Report>> {
    single((s, a, p, b), Operation::Pause).await
}

async fn resume(
    s: State<Engine>,
    a: CurrentActor,
    p: Path<String>,
    b: Bytes,
) -> ApiResult<Json<Report>> {
    single((s, a, p, b), Operation::Resume).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RerunDownstreamBody {
    instance_ids: Vec<InstanceId>,
    #[serde(default)]
    dry_run: bool,
}

async fn rerun_downstream(
    State(engine): State<Engine>,
    actor: CurrentActor,
    Path(id): Path<String>,
    body: Result<Json<RerunDownstreamBody>, JsonRejection>,
) -> ApiResult<Json<Report>> {
    let root = instance_id(&id)?;
    let body = body?.0;
    Ok(Json(engine.rerun_downstream(&actor.0, root, &body.instance_ids, body.dry_run).await?))
}

type BatchBody = Result<Json<BatchRequest>, JsonRejection>;

async fn batch_kill(
    State(engine): State<Engine>,
    actor: CurrentActor,
    body: BatchBody,
) -> ApiResult<Json<Report>> {
    Ok(Json(engine.batch(&actor.0, BatchKind::Kill, &body?.0).await?))
}

async fn batch_rerun(
    State(engine): State<Engine>,
    actor: CurrentActor,
    body: BatchBody,
) -> ApiResult<Json<Report>> {
    Ok(Json(engine.batch(&actor.0, BatchKind::Rerun, &body?.0).await?))
}

#[derive(Serialize)]
struct Neighbors {
    upstream: Vec<Instance>,
    downstream: Vec<Instance>,
}

async fn existing(engine: &Engine, raw: &str) -> ApiResult<InstanceId> {
    let id = instance_id(raw)?;
    match engine.store().get_instance(id).await? {
        Some(_) => Ok(id),
        None => Err(AppError::not_found(format!("no instance {id}")).into()),
    }
}

async fn neighbors(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> ApiResult<Json<Neighbors>> {
    let id = existing(&engine, &id).await?;
    let (upstream, downstream) = engine.store().neighbors(id).await?;
    Ok(Json(Neighbors { upstream, downstream }))
}

#[derive(Serialize)]
struct Descendants {
    items: Vec<Instance>,
    truncated: bool,
}

async fn descendants(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> ApiResult<Json<Descendants>> {
    let id = existing(&engine, &id).await?;
    let mut items = engine.store().descendants(id, MAX_DESCENDANTS + 1).await?;
    let truncated = items.len() > MAX_DESCENDANTS as usize;
    items.truncate(MAX_DESCENDANTS as usize);
    Ok(Json(Descendants { items, truncated }))
}

async fn list_audit(State(engine): State<Engine>, query: Pairs) -> ApiResult<Json<AuditPage>> {
    let pairs = query?.0;
    let filter = AuditQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    Ok(Json(engine.store().list_audit(&filter).await?))
}

async fn audit_entry(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> ApiResult<Json<AuditDetail>> {
    let id: i64 =
        id.parse().map_err(|_| AppError::bad_request(format!("'{id}' is not an audit id")))?;
    let (entry, instances) = engine
        .store()
        .audit_entry(id, 10_000)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no audit entry {id}")))?;
    Ok(Json(AuditDetail { entry, instances }))
}
