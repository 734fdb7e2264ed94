//! `/tests` and `/backfills`.

use app::jobs::{BackfillRequest, Job, JobCreated, JobPage, JobQuery, TestRequest};
use app::model::RunType;
use app::usecases::Jobs;
use axum::extract::Path;
use axum::extract::Query;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::{ApiResult, input};
use crate::service::{Core, Service, parse_id};

pub fn routes() -> Router<Core> {
    Router::new()
        .route("/tests", post(start_test))
        .route("/backfills", post(backfill).get(list_backfills))
        .route("/backfills/{id}", get(get_backfill))
}

async fn start_test(
    service: Service,
    body: Result<Json<TestRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<JobCreated>)> {
    Ok((StatusCode::CREATED, Json(service.start_test(input(body)).await?)))
}

async fn backfill(
    service: Service,
    body: Result<Json<BackfillRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<JobCreated>)> {
    let created = service.backfill(input(body)).await?;
    let status = if created.dry_run { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(created)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list_backfills(
    service: Service,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> ApiResult<Json<JobPage>> {
    let PageQuery { limit, cursor } = query?.0;
    Ok(Json(service.list_jobs(JobQuery { kind: RunType::Backfill, limit, cursor }).await?))
}

async fn get_backfill(service: Service, Path(id): Path<String>) -> ApiResult<Json<Job>> {
    Ok(Json(service.backfill_job(parse_id("a backfill id", &id)?).await?))
}
