//! `/audit`: the trail, a page at a time, and one entry with its per-instance results.

use app::audit::{AuditDetail, AuditPage, AuditQuery};
use app::usecases::AuditTrail;
use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::routing::get;

use super::error::ApiResult;
use super::{Pairs, pairs};
use crate::service::{Core, Service, parse_id};

pub fn routes() -> Router<Core> {
    Router::new().route("/audit", get(list_audit)).route("/audit/{id}", get(audit_entry))
}

async fn list_audit(service: Service, query: Pairs) -> ApiResult<Json<AuditPage>> {
    let pairs = pairs(query)?;
    let query = AuditQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    Ok(Json(service.audit(query).await?))
}

async fn audit_entry(
    service: Service,
    Path(id): Path<String>,
    query: Pairs,
) -> ApiResult<Json<AuditDetail>> {
    let id = parse_id("an audit id", &id)?;
    let mut cursor = None;
    for (key, value) in pairs(query)? {
        match key.as_str() {
            "cursor" => cursor = Some(value),
            other => {
                return Err(app::error::AppError::bad_request(format!(
                    "unknown parameter '{other}' (expected cursor)"
                ))
                .into());
            }
        }
    }
    Ok(Json(service.audit_entry(id, cursor).await?))
}
