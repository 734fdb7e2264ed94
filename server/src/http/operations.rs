//! Operations on instances: one at a time, rerun downstream, and the batches.

use app::report::{BatchKind, BatchRequest, Mode, Report, RerunDownstreamRequest};
use app::rules::Operation;
use app::usecases::Operations;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::routing::post;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::ApiResult;
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
fn optional_body<T: DeserializeOwned + Default>(body: &Bytes) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| app::error::AppError::bad_request(format!("invalid JSON body: {e}")).into())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DryRun {
    #[serde(default)]
    dry_run: bool,
}

async fn single(
    service: Service,
    id: String,
    body: Bytes,
    op: Operation,
) -> ApiResult<Json<Report>> {
    let id = instance_id(&id)?;
    let DryRun { dry_run } = optional_body(&body)?;
    Ok(Json(service.operate(id, op, Mode::from_dry_run(dry_run)).await?))
}

async fn kill(s: Service, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Report>> {
    single(s, id, body, Operation::Kill).await
}

async fn rerun(s: Service, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Report>> {
    single(s, id, body, Operation::Rerun).await
}

async fn set_success(s: Service, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Report>> {
    single(s, id, body, Operation::SetSuccess).await
}

async fn pause(s: Service, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Report>> {
    single(s, id, body, Operation::Pause).await
}

async fn resume(s: Service, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Report>> {
    single(s, id, body, Operation::Resume).await
}

async fn rerun_downstream(
    service: Service,
    Path(id): Path<String>,
    body: Result<Json<RerunDownstreamRequest>, JsonRejection>,
) -> ApiResult<Json<Report>> {
    let root = instance_id(&id)?;
    Ok(Json(service.rerun_downstream(root, body?.0).await?))
}

type BatchBody = Result<Json<BatchRequest>, JsonRejection>;

async fn batch_kill(service: Service, body: BatchBody) -> ApiResult<Json<Report>> {
    Ok(Json(service.batch(BatchKind::Kill, body?.0).await?))
}

async fn batch_rerun(service: Service, body: BatchBody) -> ApiResult<Json<Report>> {
    Ok(Json(service.batch(BatchKind::Rerun, body?.0).await?))
}
