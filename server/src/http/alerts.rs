//! `/alert-rules` (what to watch and where to say it), `/alerts` (what fired, with its
//! deliveries) and `/baselines` (promises of a finish time, and their predicted status).

use app::alerts::{AlertPage, AlertQuery, AlertRule, AlertRuleSpec};
use app::baselines::{Baseline, BaselineSpec, BaselineStatus};
use app::error::AppError;
use app::model::parse_date;
use app::usecases::{Alerts, Baselines};
use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use super::error::{ApiResult, json_body};
use super::{Pairs, pairs};
use crate::service::{Core, Service, parse_id};

pub fn routes() -> Router<Core> {
    Router::new()
        .route("/alert-rules", get(list_rules).post(create_rule))
        .route("/alert-rules/{id}", get(get_rule).put(put_rule).delete(delete_rule))
        .route("/alerts", get(list_alerts))
        .route("/baselines", get(list_baselines).post(create_baseline))
        .route("/baselines/{name}", get(get_baseline).put(put_baseline).delete(delete_baseline))
        .route("/baselines/{name}/status", get(baseline_status))
}

async fn list_rules(service: Service) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": service.alert_rules().await? })))
}

async fn create_rule(
    service: Service,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<AlertRule>)> {
    Ok((
        StatusCode::CREATED,
        Json(service.create_alert_rule(json_body::<AlertRuleSpec>(body, "alert rule")).await?),
    ))
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
    Ok(Json(service.update_alert_rule(id, json_body::<AlertRuleSpec>(body, "alert rule")).await?))
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

async fn list_baselines(service: Service) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": service.baselines().await? })))
}

async fn create_baseline(
    service: Service,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Baseline>)> {
    Ok((
        StatusCode::CREATED,
        Json(service.create_baseline(json_body::<BaselineSpec>(body, "baseline")).await?),
    ))
}

async fn get_baseline(service: Service, Path(name): Path<String>) -> ApiResult<Json<Baseline>> {
    Ok(Json(service.baseline(name).await?))
}

async fn put_baseline(
    service: Service,
    Path(name): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<Json<Baseline>> {
    Ok(Json(service.put_baseline(name, json_body::<BaselineSpec>(body, "baseline")).await?))
}

async fn delete_baseline(service: Service, Path(name): Path<String>) -> ApiResult<StatusCode> {
    service.delete_baseline(name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn baseline_status(
    service: Service,
    Path(name): Path<String>,
    query: Pairs,
) -> ApiResult<Json<BaselineStatus>> {
    let mut run_date = None;
    for (key, value) in pairs(query)? {
        match key.as_str() {
            "run_date" if !value.is_empty() => run_date = Some(parse_date("run_date", &value)?),
            "run_date" => {}
            other => {
                return Err(AppError::bad_request(format!(
                    "unknown parameter '{other}' (expected run_date)"
                ))
                .into());
            }
        }
    }
    Ok(Json(service.baseline_status(name, run_date).await?))
}
