//! `/alert-rules` (what to watch and where to say it) and `/alerts` (what fired, with its
//! deliveries).

use app::alerts::{AlertPage, AlertQuery, AlertRule, AlertRuleSpec};
use app::error::AppError;
use app::usecases::{Alerts, Input};
use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use super::error::{ApiResult, input};
use super::{Pairs, pairs};
use crate::service::{Core, Service, parse_id};

pub fn routes() -> Router<Core> {
    Router::new()
        .route("/alert-rules", get(list_rules).post(create_rule))
        .route("/alert-rules/{id}", get(get_rule).put(put_rule).delete(delete_rule))
        .route("/alerts", get(list_alerts))
}

/// A rule body: read as JSON first, so a malformed body and a wrong field are both 400s that
/// say what is wrong.
fn rule_spec(body: Result<Json<Value>, JsonRejection>) -> Input<AlertRuleSpec> {
    serde_json::from_value(input(body)?)
        .map_err(|e| AppError::bad_request(format!("invalid alert rule: {e}")))
}

async fn list_rules(service: Service) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": service.alert_rules().await? })))
}

async fn create_rule(
    service: Service,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<AlertRule>)> {
    Ok((StatusCode::CREATED, Json(service.create_alert_rule(rule_spec(body)).await?)))
}

async fn get_rule(service: Service, Path(id): Path<String>) -> ApiResult<Json<AlertRule>> {
    Ok(Json(service.alert_rule(parse_id("an alert rule id", &id)?).await?))
}

async fn put_rule(
    service: Service,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<Json<AlertRule>> {
    let id = parse_id("an alert rule id", &id)?;
    Ok(Json(service.update_alert_rule(id, rule_spec(body)).await?))
}

async fn delete_rule(service: Service, Path(id): Path<String>) -> ApiResult<StatusCode> {
    service.delete_alert_rule(parse_id("an alert rule id", &id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_alerts(service: Service, query: Pairs) -> ApiResult<Json<AlertPage>> {
    let pairs = pairs(query)?;
    let query = AlertQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    Ok(Json(service.alerts(query).await?))
}
