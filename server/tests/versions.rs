//! Definition versions over the REST API: every change of a node (API, import, its scheduling
//! status) is a numbered version with who and when; reading them; rolling back, validated like
//! any change; and the version an instance was made from.

mod common;

use std::sync::Arc;

use app::nodes::Scheduling;
use app::usecases::Nodes;
use common::http::Api;
use serde_json::Value;
use server::engine::clock::SystemClock;

fn error_message(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or_else(|| panic!("not an API error: {body}")).into()
}

async fn versions(api: &Api, name: &str) -> Vec<Value> {
    let page = api.get(&format!("/api/v1/nodes/{name}/versions")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.json()["items"].as_array().unwrap().clone()
}

fn numbers(items: &[Value]) -> Vec<u64> {
    items.iter().map(|v| v["version"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn every_change_is_a_version_and_a_rollback_is_one_more() {
    let (server, _dir, api) = common::live_server(Arc::new(SystemClock), &[]).await;
    let created = api.post("/api/v1/nodes", r#"{"name": "v_a", "command": "echo one"}"#).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.json()["version"], 1);
    api.put("/api/v1/nodes/v_a", r#"{"command": "echo two", "schedule": "0 3 * * *"}"#).await;
    // The same again changes nothing, and makes no version.
    api.put("/api/v1/nodes/v_a", r#"{"command": "echo two", "schedule": "0 3 * * *"}"#).await;
    let file = "[[nodes]]\nname = \"v_a\"\ncommand = \"echo three\"\nschedule = \"0 3 * * *\"\n";
    assert_eq!(api.post("/api/v1/import", file).await.status, 200);
    let file = "[[nodes]]\nname = \"v_a\"\ncommand = \"echo four\"\nschedule = \"0 3 * * *\"\n";
    assert_eq!(api.post("/api/v1/import", file).await.status, 200);

    let items = versions(&api, "v_a").await;
    assert_eq!(numbers(&items), [4, 3, 2, 1], "newest first");
    assert_eq!(items[3]["spec"]["command"], "echo one");
    assert_eq!(items[2]["spec"]["command"], "echo two");
    assert_eq!(items[1]["spec"]["command"], "echo three");
    assert_eq!(items[0]["spec"]["command"], "echo four");
    assert!(items.iter().all(|v| v["changed_by"] == "admin"));
    assert!(items[0]["changed_at"].as_str().unwrap().ends_with('Z'));

    let two = api.get("/api/v1/nodes/v_a/versions/2").await;
    assert_eq!(two.status, 200);
    assert_eq!(two.json()["spec"]["schedule"], "0 3 * * *");
    let page = api.get("/api/v1/nodes/v_a/versions?limit=3").await.json();
    assert_eq!(numbers(page["items"].as_array().unwrap()), [4, 3, 2]);
    assert_eq!(page["next_cursor"], 2);
    let rest = api.get("/api/v1/nodes/v_a/versions?limit=3&cursor=2").await.json();
    assert_eq!(numbers(rest["items"].as_array().unwrap()), [1]);
    assert_eq!(rest["next_cursor"], Value::Null);

    // Back to version 1: its fields, as version 5, audited as a rollback.
    let back = api.post("/api/v1/nodes/v_a/rollback", r#"{"version": 1}"#).await;
    assert_eq!(back.status, 200, "{}", back.body);
    let node = back.json();
    assert_eq!(node["version"], 5);
    assert_eq!(node["command"], "echo one");
    assert_eq!(node["schedule"], "0 0 * * *");
    let items = versions(&api, "v_a").await;
    assert_eq!(numbers(&items), [5, 4, 3, 2, 1]);
    assert_eq!(items[0]["spec"], items[4]["spec"]);
    let audit = api.get("/api/v1/audit?action=node.rollback").await.json();
    let entry = &audit["items"][0];
    assert_eq!(entry["subject"], "node:v_a");
    assert_eq!(entry["message"], "back to version 1");

    // An instance says which version it was made from.
    api.put("/api/v1/nodes/v_a", r#"{"command": "true", "schedule": "0 3 * * *"}"#).await;
    assert_eq!(api.post("/api/v1/snapshots", r#"{"run_date": "2020-01-02"}"#).await.status, 200);
    let listed = api.get("/api/v1/instances?node=v_a&state=any").await.json();
    assert_eq!(listed["items"][0]["definition_version"], 6, "{listed}");
    server.stop().await;
}

#[tokio::test]
async fn a_rollback_is_refused_like_any_bad_change() {
    let (server, _dir, api) = common::live_server(Arc::new(SystemClock), &[]).await;
    api.post("/api/v1/nodes", r#"{"name": "r_d", "command": "true"}"#).await;
    api.post("/api/v1/nodes", r#"{"name": "r_c", "command": "true", "upstream": ["r_d"]}"#).await;
    api.put("/api/v1/nodes/r_c", r#"{"command": "true"}"#).await;
    api.put("/api/v1/nodes/r_d", r#"{"command": "true", "upstream": ["r_c"]}"#).await;
    // r_c's version 1 waited for r_d, which now waits for r_c: a cycle.
    let cycle = api.post("/api/v1/nodes/r_c/rollback", r#"{"version": 1}"#).await;
    assert_eq!(cycle.status, 400, "{}", cycle.body);
    assert_eq!(error_message(&cycle.json()), "dependency cycle: r_c → r_d → r_c");
    for (path, body, status, message) in [
        ("/api/v1/nodes/r_c/rollback", r#"{"version": 9}"#, 404, "no version 9 of node 'r_c'"),
        ("/api/v1/nodes/r_c/rollback", r#"{"version": 0}"#, 404, "no version 0 of node 'r_c'"),
        ("/api/v1/nodes/r_c/rollback", r#"{}"#, 400, "missing field `version`"),
        ("/api/v1/nodes/r_c/rollback", r#"{"version": "1"}"#, 400, "invalid type"),
        ("/api/v1/nodes/r_c/rollback", r#"{"version": 1, "x": 2}"#, 400, "unknown field `x`"),
        ("/api/v1/nodes/r_c/rollback", r#"{"version": -1}"#, 400, "invalid value"),
        ("/api/v1/nodes/ghost/rollback", r#"{"version": 1}"#, 404, "no node named 'ghost'"),
    ] {
        let refused = api.post(path, body).await;
        assert_eq!(refused.status, status, "{path} {body}: {}", refused.body);
        assert!(error_message(&refused.json()).contains(message), "{body}: {}", refused.body);
    }
    for (path, status) in [
        ("/api/v1/nodes/r_c/versions/0", 400),
        ("/api/v1/nodes/r_c/versions/x", 400),
        ("/api/v1/nodes/r_c/versions/%C2%85", 400),
        ("/api/v1/nodes/r_c/versions/3", 404),
        ("/api/v1/nodes/r_c/versions?limit=0", 400),
        ("/api/v1/nodes/r_c/versions?cursor=-1", 400),
        ("/api/v1/nodes/r_c/versions?colour=red", 400),
        ("/api/v1/nodes/ghost/versions", 404),
    ] {
        assert_eq!(api.get(path).await.status, status, "{path}");
    }
    // Nothing changed: r_c is still at version 2.
    assert_eq!(api.get("/api/v1/nodes/r_c").await.json()["version"], 2);
    assert_eq!(numbers(&versions(&api, "r_c").await), [2, 1]);
    // A viewer may read the history but not roll back.
    common::add_user(&server, "vera", "vera-password-1", app::people::Role::Viewer).await;
    let vera = Api::token(server.addr, "vera", "vera-password-1").await;
    assert_eq!(vera.get("/api/v1/nodes/r_c/versions").await.status, 200);
    assert_eq!(vera.post("/api/v1/nodes/r_c/rollback", r#"{"version": 1}"#).await.status, 403);
    server.stop().await;
}

#[tokio::test]
async fn pausing_is_a_version_and_nodes_made_before_versions_get_version_1() {
    let h = common::Harness::start_manual("2026-01-01T00:00:00Z").await;
    h.define(&common::node("p_b", "true", "")).await;
    h.define(&common::node("p_a", "true", "depends_on_previous = [\"p_a\"]\nupstream = [\"p_b\"]"))
        .await;
    // The scheduling status is a field too (the node page's pause button).
    h.admin().set_scheduling("p_a".into(), Scheduling::Paused).await.unwrap();
    let page = h.admin().node_versions("p_a".into(), None, None).await.unwrap();
    let made: Vec<(u32, &str, bool)> =
        page.items.iter().map(|v| (v.version, v.changed_by.as_str(), v.spec.paused)).collect();
    assert_eq!(made, [(2, "root", true), (1, "(system)", false)]);

    // The migration's statement gives every live node a version 1 of what it is (here run
    // again over nodes whose versions were removed, as an older server's nodes have none).
    let before: Vec<_> = {
        let a = h.store().get_node("p_a").await.unwrap().unwrap().spec;
        let b = h.store().get_node("p_b").await.unwrap().unwrap().spec;
        vec![a, b]
    };
    let migration = if common::on_postgres() {
        include_str!("../../migrations/postgres/20261205000002_node_versions.sql")
    } else {
        include_str!("../../migrations/sqlite/20261205000002_node_versions.sql")
    };
    let insert = &migration[migration.find("INSERT INTO node_versions").unwrap()..];
    let url = common::database_url(h.path("db").parent().unwrap());
    common::run_sql(&url, "DELETE FROM node_versions").await;
    common::run_sql(&url, insert).await;
    for spec in before {
        let page = h.admin().node_versions(spec.name.clone(), None, None).await.unwrap();
        assert_eq!(page.items.len(), 1, "{}", spec.name);
        assert_eq!(page.items[0].version, 1);
        assert_eq!(page.items[0].spec, spec, "version 1 is the node as it is");
    }
    h.stop().await;
}
