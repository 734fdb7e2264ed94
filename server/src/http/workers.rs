//! `/workers`: the processes serving the project.

use app::usecases::Processes;
use app::workers::WorkerInfo;
use axum::Json;
use axum::Router;
use axum::routing::get;

use super::error::ApiResult;
use crate::service::{Core, Service};

pub fn routes() -> Router<Core> {
    Router::new().route("/workers", get(list_workers))
}

async fn list_workers(service: Service) -> ApiResult<Json<Vec<WorkerInfo>>> {
    Ok(Json(service.workers().await?))
}
