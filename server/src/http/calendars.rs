//! `/calendars`: business calendars (the dates on which their nodes' instances are dry runs).

use app::calendars::{Calendar, Holiday};
use app::usecases::Calendars;
use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiResult, json_body};
use crate::service::{Core, Service};

pub fn routes() -> Router<Core> {
    Router::new()
        .route("/calendars", get(list).post(create))
        .route("/calendars/{name}", get(one).put(put).delete(delete))
}

async fn list(service: Service) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": service.calendars().await? })))
}

async fn create(
    service: Service,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Calendar>)> {
    Ok((
        StatusCode::CREATED,
        Json(service.create_calendar(json_body::<Calendar>(body, "calendar")).await?),
    ))
}

async fn one(service: Service, Path(name): Path<String>) -> ApiResult<Json<Calendar>> {
    Ok(Json(service.calendar(name).await?))
}

/// The body of `PUT /calendars/{name}`: its holidays (the name is the path's).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarChange {
    #[serde(default)]
    holidays: Vec<Holiday>,
}

async fn put(
    service: Service,
    Path(name): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<Json<Calendar>> {
    let change = json_body::<CalendarChange>(body, "calendar");
    let calendar = change.map(|c| Calendar { name: name.clone(), holidays: c.holidays });
    Ok(Json(service.put_calendar(name, calendar).await?))
}

async fn delete(service: Service, Path(name): Path<String>) -> ApiResult<StatusCode> {
    service.delete_calendar(name).await?;
    Ok(StatusCode::NO_CONTENT)
}
