//! Definitions: `/nodes` (and their versions), `/import`, `/resource-groups`, and `/snapshots`
//! (a day's instances on demand).

use app::error::AppError;
use app::model::parse_date;
use app::nodes::{
    Node, NodePage, NodeQuery, NodeSpec, NodeVersion, NodeVersionPage, ResourceGroup,
    RollbackRequest,
};
use app::usecases::Nodes;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult, input, json_body};
use super::{Pairs, pairs};
use crate::definitions::{DefinitionFile, UpsertReport};
use crate::service::{Core, Service};

pub fn routes() -> Router<Core> {
    Router::new()
        .route("/nodes", get(list_nodes).post(create_node))
        .route("/nodes/{name}", get(get_node).put(put_node).delete(delete_node))
        .route("/nodes/{name}/versions", get(list_versions))
        .route("/nodes/{name}/versions/{version}", get(get_version))
        .route("/nodes/{name}/rollback", post(rollback))
        .route("/import", post(import))
        .route("/resource-groups", get(list_groups))
        .route("/resource-groups/{name}", put(put_group))
        .route("/snapshots", post(snapshot))
}

fn node_query(query: Pairs) -> ApiResult<NodeQuery> {
    let mut out = NodeQuery::default();
    for (key, value) in pairs(query)? {
        let Some(value) = app::model::given(&value).map(str::to_string) else {
            continue;
        };
        match key.as_str() {
            "name" => out.name = Some(value),
            "owner" => out.owner = Some(value),
            "workflow" => out.workflow = Some(value),
            "cursor" => out.after = Some(value),
            "limit" => out.limit = Some(app::model::page_limit(&value)?),
            other => {
                return Err(AppError::bad_request(format!(
                    "unknown filter '{other}' (expected name, owner, workflow, limit, cursor)"
                ))
                .into());
            }
        }
    }
    Ok(out)
}

async fn list_nodes(service: Service, query: Pairs) -> ApiResult<Json<NodePage>> {
    Ok(Json(service.list_nodes(node_query(query)?).await?))
}

/// `POST /nodes`: a left-out owner is the person creating it.
async fn create_node(
    service: Service,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Node>)> {
    Ok((StatusCode::CREATED, Json(service.create_node(json_body::<NodeSpec>(body, "node")).await?)))
}

async fn get_node(service: Service, Path(name): Path<String>) -> ApiResult<Json<Node>> {
    Ok(Json(service.node(&name).await?))
}

/// `PUT /nodes/{name}`: creates or replaces; a left-out owner stays what it is.
async fn put_node(
    service: Service,
    Path(name): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Node>)> {
    let saved = service.put_node(name, json_body::<NodeSpec>(body, "node")).await?;
    let status = if saved.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(saved.node)))
}

/// `GET /nodes/{name}/versions?limit=&cursor=`: newest first.
async fn list_versions(
    service: Service,
    Path(name): Path<String>,
    query: Pairs,
) -> ApiResult<Json<NodeVersionPage>> {
    let (mut limit, mut cursor) = (None, None);
    for (key, value) in pairs(query)? {
        let Some(value) = app::model::given(&value) else {
            continue;
        };
        match key.as_str() {
            "limit" => limit = Some(app::model::page_limit(value)?),
            "cursor" => cursor = Some(version_number("cursor", value)?),
            other => {
                return Err(AppError::bad_request(format!(
                    "unknown parameter '{other}' (expected limit, cursor)"
                ))
                .into());
            }
        }
    }
    Ok(Json(service.node_versions(name, limit, cursor).await?))
}

/// A version number given in a path or query: 1 or more.
fn version_number(what: &str, value: &str) -> Result<u32, AppError> {
    value.parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(|| {
        AppError::because(app::reason::Reason::NotValid {
            what: what.to_string(),
            value: value.to_string(),
        })
    })
}

async fn get_version(
    service: Service,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Json<NodeVersion>> {
    let version = version_number("version", &version)?;
    Ok(Json(service.node_version(name, version).await?))
}

/// `POST /nodes/{name}/rollback` with `{"version": n}`.
async fn rollback(
    service: Service,
    Path(name): Path<String>,
    body: Result<Json<RollbackRequest>, JsonRejection>,
) -> ApiResult<Json<Node>> {
    Ok(Json(service.rollback_node(name, input(body)).await?))
}

async fn delete_node(service: Service, Path(name): Path<String>) -> ApiResult<StatusCode> {
    service.delete_node(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn import(
    service: Service,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<UpsertReport>> {
    let file = body.map_err(|e| ApiError::from(e).0).and_then(|body| {
        let text = std::str::from_utf8(&body)
            .map_err(|_| AppError::bad_request("the import body must be UTF-8 TOML text"))?;
        Ok(DefinitionFile::parse("request body", text)?)
    });
    Ok(Json(service.import(file).await?))
}

async fn list_groups(service: Service) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": service.resource_groups().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupBody {
    slots: u32,
    #[serde(default)]
    backfill_slots: Option<u32>,
}

async fn put_group(
    service: Service,
    Path(name): Path<String>,
    body: Result<Json<GroupBody>, JsonRejection>,
) -> ApiResult<Json<ResourceGroup>> {
    let group = input(body).map(|GroupBody { slots, backfill_slots }| ResourceGroup {
        name,
        slots,
        backfill_slots,
    });
    Ok(Json(service.put_resource_group(group).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotBody {
    run_date: String,
}

#[derive(Serialize)]
struct SnapshotAnswer {
    run_date: String,
    created: u64,
}

async fn snapshot(
    service: Service,
    body: Result<Json<SnapshotBody>, JsonRejection>,
) -> ApiResult<Json<SnapshotAnswer>> {
    let run_date = input(body).and_then(|body| parse_date("run_date", &body.run_date));
    let asked = run_date.as_ref().map(|d| d.to_string()).unwrap_or_default();
    let created = service.snapshot(run_date).await?;
    Ok(Json(SnapshotAnswer { run_date: asked, created }))
}
