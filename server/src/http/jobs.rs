//! `/api/v1/tests` and `/api/v1/backfills`.

use app::error::AppError;
use app::jobs::{BackfillRequest, Job, JobCreated, JobPage, TestRequest};
use app::model::RunType;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::api::{ApiState, CurrentActor};
use super::error::ApiResult;
use crate::engine::Engine;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/tests", post(start_test))
        .route("/backfills", post(backfill).get(list_backfills))
        .route("/backfills/{id}", get(get_backfill))
}

async fn start_test(
    State(engine): State<Engine>,
    actor: CurrentActor,
    body: Result<Json<TestRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<JobCreated>)> {
    Ok((StatusCode::CREATED, Json(engine.start_test(&actor.0, &body?.0).await?)))
}

async fn backfill(
    State(engine): State<Engine>,
    actor: CurrentActor,
    body: Result<Json<BackfillRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<JobCreated>)> {
    let created = engine.backfill(&actor.0, &body?.0).await?;
    let status = if created.dry_run { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(created)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list_backfills(
    State(engine): State<Engine>,
    query: Result<Query<JobQuery>, QueryRejection>,
) -> ApiResult<Json<JobPage>> {
    let query = query?.0;
    let before = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| AppError::bad_request(format!("cursor '{c}' is not valid")))?,
        ),
        None => None,
    };
    let limit = query.limit.unwrap_or(app::model::DEFAULT_PAGE_SIZE);
    Ok(Json(engine.store().list_jobs(RunType::Backfill, limit, before).await?))
}

async fn get_backfill(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> ApiResult<Json<Job>> {
    let id: i64 =
        id.parse().map_err(|_| AppError::bad_request(format!("'{id}' is not a backfill id")))?;
    let job = engine.store().get_job(id).await?.filter(|j| j.kind == RunType::Backfill);
    Ok(Json(job.ok_or_else(|| AppError::not_found(format!("no backfill {id}")))?))
}
