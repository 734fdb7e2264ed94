//! One path per use case: the REST route and the UI's server function of each use case are two
//! adapters over the same service method, so they answer the same (the same caps, the same
//! fields, the same refusals with the same status and sentence). Asked of a live server, as an
//! administrator, a developer and a viewer.

mod common;

use app::api as f;
use app::people::Role;
use common::http::{Api, Response};
use common::{ADMIN_PASSWORD, add_user, eventually, live_server};
use serde_json::{Value, json};
use server::engine::clock::ManualClock;
use server_fn::ServerFn;

const FIXTURE: &str = r#"
[[resource_groups]]
name = "held"
slots = 1

[[nodes]]
name = "d_root"
owner = "dave"
command = "exit 1"
resource_group = "held"
schedule = "0 1 * * *"

[[nodes]]
name = "d_child"
owner = "dave"
command = "true"
resource_group = "held"
schedule = "0 1 * * *"
upstream = ["d_root"]

[[nodes]]
name = "o_other"
owner = "olga"
command = "exit 1"
resource_group = "held"
schedule = "0 1 * * *"

[[nodes]]
name = "blocker"
owner = "olga"
command = "sleep 600"
resource_group = "held"
schedule = "0 2 * * *"
"#;

/// What an answer says, whichever adapter gave it: the status and the JSON (an error as
/// `{"code", "message"}`, as both adapters name it).
fn said(response: &Response) -> (u16, Value) {
    let body: Value = if response.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&response.body).unwrap_or(Value::String(response.body.clone()))
    };
    let mut body = body;
    unshown(&mut body);
    let body = match body.get("error") {
        // REST: {"error": {"code", "message"}}; server functions: {"code", "message"}.
        Some(error) => json!({ "code": error["code"], "message": error["message"] }),
        None if response.status >= 400 => {
            json!({ "code": body["code"], "message": body["message"] })
        }
        None => body,
    };
    (response.status, body)
}

/// Takes out `shown`: a server function adds each reason in the page's words (the REST API
/// speaks English only), the one difference the adapters are meant to have.
fn unshown(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("shown");
            map.values_mut().for_each(unshown);
        }
        Value::Array(items) => items.iter_mut().for_each(unshown),
        _ => {}
    }
}

/// Calls the REST route and the server function of one use case, and checks they agree.
/// `rest_part` picks what the REST answer wraps (e.g. `"items"`), when it wraps the same thing.
async fn agree<F: ServerFn>(api: &Api, rest: (&str, &str, Option<&str>), rpc_body: &str) -> Value {
    let (method, path, body) = rest;
    let by_rest = said(&api.request(method, &format!("/api/v1{path}"), body).await);
    let by_rpc = said(&api.post(F::PATH, rpc_body).await);
    assert_eq!(by_rest.0, by_rpc.0, "{method} {path} and {}: statuses differ", F::PATH);
    assert_eq!(by_rest.1, by_rpc.1, "{method} {path} and {}: answers differ", F::PATH);
    by_rest.1
}

async fn instance_id(api: &Api, node: &str) -> i64 {
    let page = api.get(&format!("/api/v1/instances?node={node}&run_date=2026-03-10")).await;
    page.json()["items"].as_array().unwrap().iter().find(|i| i["node"] == node).unwrap()["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn each_use_case_answers_the_same_over_rest_and_as_a_server_function() {
    let clock = ManualClock::new("2026-03-10T12:00:00Z".parse().unwrap());
    let (server, _dir, admin) = live_server(clock.clone(), &[]).await;
    add_user(&server, "dave", "dave-password", Role::Developer).await;
    add_user(&server, "vera", "vera-password", Role::Viewer).await;
    assert_eq!(admin.post("/api/v1/import", FIXTURE).await.status, 200);
    assert_eq!(admin.post("/api/v1/snapshots", r#"{"run_date": "2026-03-10"}"#).await.status, 200);
    for (node, wanted) in [("d_root", "failed"), ("o_other", "failed"), ("blocker", "running")] {
        eventually(&format!("{node} {wanted}"), async || {
            let page = admin.get(&format!("/api/v1/instances?node={node}")).await.json();
            (page["items"][0]["state"] == wanted).then_some(())
        })
        .await;
    }
    let root = instance_id(&admin, "d_root").await;
    let child = instance_id(&admin, "d_child").await;
    let other = instance_id(&admin, "o_other").await;
    let blocker = instance_id(&admin, "blocker").await;
    let dave = Api::token(server.addr, "dave", "dave-password").await;
    let vera = Api::token(server.addr, "vera", "vera-password").await;
    let _ = ADMIN_PASSWORD;

    // Reading instances: the same page, the same statistics, the same refusal of a bad cursor.
    for api in [&admin, &vera] {
        agree::<f::ListInstances>(
            api,
            ("GET", "/instances?state=failed,stopped&limit=2", None),
            r#"{"filter": {"state": ["failed", "stopped"]}, "page": {"limit": 2, "cursor": null}}"#,
        )
        .await;
        agree::<f::ListInstances>(
            api,
            ("GET", "/instances?cursor=x", None),
            r#"{"filter": {}, "page": {"limit": null, "cursor": "x"}}"#,
        )
        .await;
        agree::<f::InstanceStats>(
            api,
            ("GET", "/instances/stats?owner=dave", None),
            r#"{"filter": {"owner": "dave"}}"#,
        )
        .await;
        // The descendants: the same cap and the same `truncated` flag.
        let family = agree::<f::FetchDescendants>(
            api,
            ("GET", &format!("/instances/{root}/descendants"), None),
            &format!(r#"{{"id": {root}}}"#),
        )
        .await;
        assert_eq!(family["truncated"], false);
        assert_eq!(family["items"][0]["id"], child);
        agree::<f::FetchDescendants>(
            api,
            ("GET", "/instances/999999/descendants", None),
            r#"{"id": 999999}"#,
        )
        .await;
    }

    // One operation: the same preview, the same state refusal (409), the same role refusal
    // (403), the same unknown instance (404).
    let preview = agree::<f::RunOperation>(
        &admin,
        ("POST", &format!("/instances/{root}/rerun"), Some(r#"{"dry_run": true}"#)),
        &format!(r#"{{"id": {root}, "op": "rerun", "mode": "dry_run"}}"#),
    )
    .await;
    assert_eq!(preview["changes"][0]["to"], "waiting_resources");
    let refused = agree::<f::RunOperation>(
        &admin,
        ("POST", &format!("/instances/{blocker}/set-success"), Some(r#"{"dry_run": true}"#)),
        &format!(r#"{{"id": {blocker}, "op": "set_success", "mode": "dry_run"}}"#),
    )
    .await;
    assert_eq!(refused["code"], "conflict");
    for (api, id) in [(&dave, other), (&vera, root)] {
        let denied = agree::<f::RunOperation>(
            api,
            ("POST", &format!("/instances/{id}/pause"), Some(r#"{"dry_run": true}"#)),
            &format!(r#"{{"id": {id}, "op": "pause", "mode": "dry_run"}}"#),
        )
        .await;
        assert_eq!(denied["code"], "forbidden");
    }
    agree::<f::RunOperation>(
        &admin,
        ("POST", "/instances/999999/kill", Some(r#"{"dry_run": true}"#)),
        r#"{"id": 999999, "op": "kill", "mode": "dry_run"}"#,
    )
    .await;

    // Rerun downstream: the same preview, and the same refusals of an outsider, of an empty
    // selection and of an ineligible one.
    for checked in [
        format!("[{root}, {child}]"),
        format!("[{other}]"),
        "[]".to_string(),
        format!("[{blocker}]"),
    ] {
        let rest_body = format!(r#"{{"instance_ids": {checked}, "dry_run": true}}"#);
        agree::<f::RunRerunDownstream>(
            &dave,
            ("POST", &format!("/instances/{root}/rerun-downstream"), Some(&rest_body)),
            &format!(r#"{{"root": {root}, "request": {rest_body}}}"#),
        )
        .await;
    }

    // Batches: the same per-instance results, the same refusal of a role that may never.
    let ids = format!(r#"{{"ids": [{root}, {other}, {blocker}, 999999], "dry_run": true}}"#);
    for api in [&admin, &dave, &vera] {
        agree::<f::RunBatch>(
            api,
            ("POST", "/instances/batch/rerun", Some(&ids)),
            &format!(r#"{{"kind": "rerun", "request": {ids}}}"#),
        )
        .await;
        agree::<f::RunBatch>(
            api,
            ("POST", "/instances/batch/kill", Some(&ids)),
            &format!(r#"{{"kind": "kill", "request": {ids}}}"#),
        )
        .await;
    }

    // Definitions: the same page of nodes; the same node created (but for its name, id and
    // times); the same refusals of a cycle, of somebody else's node and of a viewer.
    agree::<f::FetchNodes>(
        &vera,
        ("GET", "/nodes?owner=dave", None),
        r#"{"query": {"owner": "dave"}}"#,
    )
    .await;
    let groups = said(&vera.get("/api/v1/resource-groups").await).1;
    let by_rpc = said(&vera.post(f::FetchResourceGroups::PATH, "{}").await).1;
    assert_eq!(groups["items"], by_rpc);
    let node = |name: &str| {
        format!(r#"{{"name": "{name}", "command": "true", "resource_group": "held"}}"#)
    };
    let by_rest = said(&dave.post("/api/v1/nodes", &node("d_made_by_rest")).await);
    let by_rpc = said(
        &dave.post(f::CreateNode::PATH, &format!(r#"{{"spec": {}}}"#, node("d_made_by_rpc"))).await,
    );
    assert_eq!((by_rest.0, by_rpc.0), (201, 200), "{by_rest:?} {by_rpc:?}");
    let strip = |mut v: Value| {
        for key in ["id", "name", "created_at", "updated_at"] {
            v.as_object_mut().unwrap().remove(key);
        }
        v
    };
    assert_eq!(strip(by_rest.1.clone()), strip(by_rpc.1));
    assert_eq!(by_rest.1["owner"], "dave", "a left-out owner is the person creating it");
    let cycle = r#"{"name": "d_root", "command": "true", "resource_group": "held", "upstream": ["d_child"]}"#;
    for api in [&dave, &vera] {
        agree::<f::PutNode>(
            api,
            ("PUT", "/nodes/d_root", Some(cycle)),
            &format!(r#"{{"name": "d_root", "spec": {cycle}}}"#),
        )
        .await;
    }
    let theirs = r#"{"name": "o_other", "command": "true", "resource_group": "held"}"#;
    let denied = agree::<f::PutNode>(
        &dave,
        ("PUT", "/nodes/o_other", Some(theirs)),
        &format!(r#"{{"name": "o_other", "spec": {theirs}}}"#),
    )
    .await;
    assert_eq!(denied["code"], "forbidden");

    // Backfills and tests: the same preview, the same refusals.
    let preview = r#"{"node": "d_root", "downstream": ["d_child"], "from": "2026-01-01", "to": "2026-01-03", "dry_run": true}"#;
    let answer = agree::<f::RunBackfill>(
        &dave,
        ("POST", "/backfills", Some(preview)),
        &format!(r#"{{"request": {preview}}}"#),
    )
    .await;
    assert_eq!(answer["instances"], 6);
    let theirs =
        r#"{"node": "o_other", "from": "2026-01-01", "to": "2026-01-01", "dry_run": true}"#;
    agree::<f::RunBackfill>(
        &dave,
        ("POST", "/backfills", Some(theirs)),
        &format!(r#"{{"request": {theirs}}}"#),
    )
    .await;
    let bad = r#"{"node": "d_root", "bizdate": "2026-13-01"}"#;
    agree::<f::RunTest>(&dave, ("POST", "/tests", Some(bad)), &format!(r#"{{"request": {bad}}}"#))
        .await;
    agree::<f::FetchJobs>(
        &vera,
        ("GET", "/backfills?limit=5", None),
        r#"{"query": {"kind": "backfill", "limit": 5}}"#,
    )
    .await;

    // The audit trail: the same page and the same entry with its per-instance results.
    let page = agree::<f::FetchAudit>(
        &vera,
        ("GET", "/audit?limit=3&actor=dave", None),
        r#"{"query": {"limit": 3, "actor": "dave"}}"#,
    )
    .await;
    let entry = page["items"][0]["id"].as_i64().unwrap();
    agree::<f::FetchAuditEntry>(
        &vera,
        ("GET", &format!("/audit/{entry}"), None),
        &format!(r#"{{"id": {entry}, "cursor": null}}"#),
    )
    .await;

    // The processes: the same list (their heartbeat ages move with the clock between the calls).
    let names = |list: serde_json::Value| {
        list.as_array()
            .unwrap()
            .iter()
            .map(|w| (w["name"].clone(), w["roles"].clone()))
            .collect::<Vec<_>>()
    };
    let rest = said(&vera.get("/api/v1/workers").await).1;
    let rpc = said(&vera.post(f::FetchWorkers::PATH, "{}").await).1;
    assert_eq!(names(rest.clone()), names(rpc));
    assert_eq!(rest[0]["roles"], serde_json::json!(["api", "scheduler", "worker"]), "{rest}");

    // People: the same accounts (administrators only), the same refusal of anybody else.
    for api in [&admin, &vera] {
        agree::<f::FetchUsers>(api, ("GET", "/users?limit=2", None), r#"{"query": {"limit": 2}}"#)
            .await;
    }
    let tokens = said(&dave.get("/api/v1/tokens").await).1;
    assert_eq!(tokens["items"], said(&dave.post(f::FetchTokens::PATH, "{}").await).1);
    let admins = said(&admin.get("/api/v1/tokens").await).1["items"][0]["id"].as_i64().unwrap();
    agree::<f::RevokeToken>(
        &dave,
        ("DELETE", &format!("/tokens/{admins}"), None),
        &format!(r#"{{"id": {admins}}}"#),
    )
    .await;
    let me = said(&dave.get("/api/v1/me").await).1;
    assert_eq!(
        json!({ "name": me["name"], "role": me["role"] }),
        said(&dave.post(f::Whoami::PATH, "{}").await).1
    );

    let _ = admin.post(&format!("/api/v1/instances/{blocker}/kill"), "").await;
    server.stop().await;
}
