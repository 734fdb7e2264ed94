//! Operations on instances: one at a time, rerun downstream, and the batches.

use app::report::{BatchKind, BatchRequest, Mode, Report, RerunDownstreamRequest};
use app::rules::Operation;
use app::usecases::{Input, Operations};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::routing::post;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::{ApiError, ApiResult, input};
use super::instances::instance_id;
use crate::service::{Core, Service};

pub fn routes() -> Router<Core> {
    Router::new()
        .route("/instances/{id}/kill", post(kill))
        .route("/instances/{id}/rerun", post(rerun))
        .route("/instances/{id}/set-success", post(set_success))
        .route("/instances/{id}/pause", post(pause))
        .route("/instances/{id}/resume", post(resume))
        .route("/instances/{id}/rerun-downstream", post(rerun_downstream))
        .route("/instances/batch/kill", post(batch_kill))
        .route("/instances/batch/rerun", post(batch_rerun))
}

/// A JSON body that may also be empty (then every field takes its default).
fn optional_body<T: DeserializeOwned + Default>(body: Body) -> Input<T> {
    let body = body.map_err(|e| ApiError::from(e).0)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&body)
        .map_err(|e| app::error::AppError::bad_request(format!("invalid JSON body: {e}")))
}

type Body = Result<Bytes, BytesRejection>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DryRun {
    #[serde(default)]
    dry_run: bool,
}

async fn single(
    service: Service,
    id: String,
    body: Body,
    op: Operation,
) -> ApiResult<Json<Report>> {
    let id = instance_id(&id)?;
    let mode = optional_body(body).map(|DryRun { dry_run }| Mode::from_dry_run(dry_run));
    Ok(Json(service.operate(id, op, mode).await?))
}

async fn kill(s: Service, Path(id): Path<String>, body: Body) -> ApiResult<Json<Report>> {
    single(s, id, body, Operation::Kill).await
}

async fn rerun(s: Service, Path(id): Path<String>, body: Body) -> ApiResult<Json<Report>> {
    single(s, id, body, Operation::Rerun).await
}

async fn set_success(s: Service, Path(id): Path<String>, body: Body) -> ApiResult<Json<Report>> {
    single(s, id, body, Operation::SetSuccess).await
}

async fn pause(s: Service, Path(id): Path<String>, body: Body) -> ApiResult<Json<Report>> {
    single(s, id, body, Operation::Pause).await
}

async fn resume(s: Service, Path(id): Path<String>, body: Body) -> ApiResult<Json<Report>> {
    single(s, id, body, Operation::Resume).await
}

async fn rerun_downstream(
    service: Service,
    Path(id): Path<String>,
    body: Result<Json<RerunDownstreamRequest>, JsonRejection>,
) -> ApiResult<Json<Report>> {
    let root = instance_id(&id)?;
    Ok(Json(service.rerun_downstream(root, input(body)).await?))
}

type BatchBody = Result<Json<BatchRequest>, JsonRejection>;

async fn batch_kill(service: Service, body: BatchBody) -> ApiResult<Json<Report>> {
    Ok(Json(service.batch(BatchKind::Kill, input(body)).await?))
}

async fn batch_rerun(service: Service, body: BatchBody) -> ApiResult<Json<Report>> {
    Ok(Json(service.batch(BatchKind::Rerun, input(body)).await?))
}
