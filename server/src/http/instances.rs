//! `/instances`: lists and statistics, one instance, its log and its neighbourhood.

use app::model::{Descendants, InstanceFilter, InstanceId, InstancePage, PageRequest, StateCounts};
use app::usecases::Instances;
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;

use super::error::ApiResult;
use super::{Pairs, pairs};
use crate::service::instances::{InstanceWithAttempts, Neighbors};
use crate::service::{Core, Service};

pub fn routes() -> Router<Core> {
    Router::new()
        .route("/instances", get(list_instances))
        .route("/instances/stats", get(instance_stats))
        .route("/instances/{id}", get(get_instance))
        .route("/instances/{id}/log", get(instance_log))
        .route("/instances/{id}/neighbors", get(neighbors))
        .route("/instances/{id}/descendants", get(descendants))
}

/// An instance id from the path: a 400 naming it when it is not one.
pub(super) fn instance_id(raw: &str) -> ApiResult<InstanceId> {
    Ok(raw.parse::<InstanceId>()?)
}

fn instance_filter(query: Pairs) -> ApiResult<(InstanceFilter, PageRequest)> {
    let pairs = pairs(query)?;
    Ok(InstanceFilter::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?)
}

async fn list_instances(service: Service, query: Pairs) -> ApiResult<Json<InstancePage>> {
    let (filter, page) = instance_filter(query)?;
    Ok(Json(service.list_instances(filter, page).await?))
}

async fn instance_stats(service: Service, query: Pairs) -> ApiResult<Json<StateCounts>> {
    let (filter, page) = instance_filter(query)?;
    if page.cursor.is_some() || page.limit.is_some() {
        return Err(app::error::AppError::bad_request("statistics take no limit or cursor").into());
    }
    Ok(Json(service.instance_stats(filter).await?))
}

async fn get_instance(
    service: Service,
    Path(id): Path<String>,
) -> ApiResult<Json<InstanceWithAttempts>> {
    Ok(Json(service.instance(instance_id(&id)?).await?))
}

async fn neighbors(service: Service, Path(id): Path<String>) -> ApiResult<Json<Neighbors>> {
    Ok(Json(service.neighbors(instance_id(&id)?).await?))
}

async fn descendants(service: Service, Path(id): Path<String>) -> ApiResult<Json<Descendants>> {
    Ok(Json(service.descendants(instance_id(&id)?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    attempt: Option<i32>,
    /// Ask the browser to save it as a file.
    download: Option<bool>,
}

/// The log of the latest attempt (or `?attempt=N`), as plain text, streamed (a large log never
/// sits in memory); it grows while the attempt runs.
async fn instance_log(
    service: Service,
    Path(id): Path<String>,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> ApiResult<impl IntoResponse> {
    let id = instance_id(&id)?;
    let LogQuery { attempt, download } = query?.0;
    let log = service.log_file(id, attempt).await?;
    let disposition = match download {
        Some(true) => format!("attachment; filename=\"{}-{id}.log\"", log.node),
        _ => "inline".to_string(),
    };
    let headers = [
        (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_string()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    let body = match log.file {
        Some(crate::logs::WholeLog::File(file)) => {
            Body::from_stream(tokio_util::io::ReaderStream::new(file))
        }
        Some(crate::logs::WholeLog::Shipped(bytes)) => Body::from(bytes),
        None => Body::empty(),
    };
    Ok((headers, body))
}
