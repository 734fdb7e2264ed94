//! HTTP: the JSON REST API under `/api/v1` (for scripts and other tools), the authentication
//! layer in front of everything, and the error policy. Handlers are thin adapters: they parse
//! the request, call one method of the request's [`Service`](crate::service::Service) and shape
//! the answer. The web UI is wired in [`crate::web`].

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod calendars;
pub mod error;
pub mod events;
pub mod guard;
pub mod instances;
pub mod jobs;
pub mod language;
pub mod nodes;
pub mod operations;
pub mod people;
pub mod redirect;
pub mod workers;

use app::error::AppError;
use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;
use std::time::Duration;

use crate::service::Core;
use error::{ApiError, ApiResult};

/// The OpenAPI description of every route.
pub const OPENAPI: &str = include_str!("openapi.json");

/// `/api/v1`.
pub fn router(core: Core) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/events", get(events::events))
        .route("/openapi.json", get(openapi))
        .merge(instances::routes())
        .merge(operations::routes())
        .merge(nodes::routes())
        .merge(calendars::routes())
        .merge(jobs::routes())
        .merge(people::routes())
        .merge(audit::routes())
        .merge(alerts::routes())
        .merge(workers::routes())
        .fallback(|| async {
            ApiError(AppError::not_found("no such API endpoint (see /api/v1/openapi.json)"))
        })
        .layer(axum::middleware::from_fn(guard::json_objects_only))
        .with_state(core)
}

/// Whether the server can do its work: 200 while the database answers within 2 s, 503 (and
/// `"status": "unhealthy"`) while it does not. A load balancer or a supervisor asks it.
async fn health(State(core): State<Core>) -> impl IntoResponse {
    let answer = tokio::time::timeout(Duration::from_secs(2), core.engine.store().ping()).await;
    let database = match answer {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some("no answer within 2 s".to_string()),
    };
    let version = env!("CARGO_PKG_VERSION");
    match database {
        None => {
            (StatusCode::OK, Json(json!({ "status": "ok", "version": version, "database": "ok" })))
        }
        Some(error) => {
            tracing::warn!(%error, "unhealthy: the database does not answer");
            let body =
                json!({ "status": "unhealthy", "version": version, "database": "unreachable" });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// A query string as its pairs, for the parsers in `app` (`InstanceFilter::from_query`, …).
type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn pairs(query: Pairs) -> ApiResult<Vec<(String, String)>> {
    Ok(query?.0)
}
