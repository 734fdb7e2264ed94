//! The REST API against a live server on an ephemeral port.

mod common;

use std::sync::Arc;

use common::eventually;
use common::http::{Api, EventStream};
use serde_json::{Value, json};
use server::engine::clock::SystemClock;
use server::serve::Server;

async fn start() -> (Server, tempfile::TempDir, Api) {
    common::live_server(Arc::new(SystemClock), &[]).await
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_else(|| panic!("not an API error: {body}"))
}

#[tokio::test]
async fn nodes_are_created_validated_and_deleted() {
    let (server, _dir, api) = start().await;
    let created =
        api.post("/api/v1/nodes", r#"{"name": "a", "command": "true", "owner": "alice"}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let node = created.json();
    assert_eq!(node["workflow"], "default");
    assert_eq!(node["resource_group"], "default");
    assert_eq!(node["schedule"], "0 0 * * *");
    assert_eq!(node["paused"], false);

    let again = api.post("/api/v1/nodes", r#"{"name": "a", "command": "true"}"#).await;
    assert_eq!(again.status, 409);
    assert_eq!(error_message(&again.json()), "node 'a' already exists");
    assert_eq!(again.json()["error"]["code"], "conflict");

    let b =
        api.post("/api/v1/nodes", r#"{"name": "b", "command": "true", "upstream": ["a"]}"#).await;
    assert_eq!(b.status, 201);

    // Each bad definition is refused with a message naming the culprit, and changes nothing.
    let cases = [
        (r#"{"name": "a", "command": "true", "upstream": ["b"]}"#, "dependency cycle: a → b → a"),
        (
            r#"{"name": "a", "command": "true", "upstream": ["ghost"]}"#,
            "node 'a' depends on unknown node 'ghost'",
        ),
        (
            r#"{"name": "a", "command": "true", "schedule": "0 25 * * *"}"#,
            "node 'a': schedule '0 25 * * *' is not valid",
        ),
        (r#"{"name": "a", "command": "  "}"#, "node 'a' has an empty command"),
        (
            r#"{"name": "a", "command": "true", "resource_group": "gpu"}"#,
            "unknown resource group 'gpu'",
        ),
        (r#"{"name": "a", "command": "true", "comand": "x"}"#, "unknown field `comand`"),
        (r#"{"name": "zz", "command": "true"}"#, "the body names node 'zz' but the path names 'a'"),
        ("not json", "invalid JSON"),
    ];
    for (body, message) in cases {
        let refused = api.put("/api/v1/nodes/a", body).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert!(error_message(&refused.json()).contains(message), "{body}: {}", refused.body);
    }
    let a = api.get("/api/v1/nodes/a").await.json();
    assert_eq!(a["upstream"], json!([]));
    assert_eq!(a["owner"], "alice");

    let replaced = api.put("/api/v1/nodes/a", r#"{"command": "echo hi", "owner": "bob"}"#).await;
    assert_eq!(replaced.status, 200);
    assert_eq!(replaced.json()["owner"], "bob");

    let listed = api.get("/api/v1/nodes?limit=1").await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["next_cursor"], "a");
    let rest = api.get("/api/v1/nodes?limit=1&cursor=a").await.json();
    assert_eq!(rest["items"][0]["name"], "b");
    assert_eq!(rest["next_cursor"], Value::Null);

    let needed = api.request("DELETE", "/api/v1/nodes/a", None).await;
    assert_eq!(needed.status, 409);
    assert_eq!(error_message(&needed.json()), "node 'a' cannot be deleted: b depend on it");
    assert_eq!(api.request("DELETE", "/api/v1/nodes/b", None).await.status, 204);
    assert_eq!(api.get("/api/v1/nodes/b").await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn import_upserts_a_file_and_refuses_a_bad_one_whole() {
    let (server, _dir, api) = start().await;
    let file = include_str!("../../examples/warehouse.toml");
    let report = api.post("/api/v1/import", file).await;
    assert_eq!(report.status, 200, "{}", report.body);
    let created = report.json()["created"].as_array().unwrap().len();
    assert!(created >= 8, "{}", report.body);
    let again = api.post("/api/v1/import", file).await.json();
    assert_eq!(again["unchanged"].as_array().unwrap().len(), created);

    let cyclic = "[[nodes]]\nname = \"x1\"\ncommand = \"true\"\nupstream = [\"x2\"]\n\
                  [[nodes]]\nname = \"x2\"\ncommand = \"true\"\nupstream = [\"x1\"]\n";
    let refused = api.post("/api/v1/import", cyclic).await;
    assert_eq!(refused.status, 400);
    assert!(error_message(&refused.json()).starts_with("dependency cycle: x"), "{}", refused.body);
    assert_eq!(api.get("/api/v1/nodes/x1").await.status, 404, "nothing was written");
    server.stop().await;
}

#[tokio::test]
async fn snapshots_instances_stats_and_logs() {
    let (server, _dir, api) = start().await;
    for body in [
        r#"{"name": "job_root", "command": "echo hello from ${bizdate}", "owner": "alice", "schedule": "0 1 * * *"}"#,
        r#"{"name": "job_child", "command": "true", "owner": "bob", "schedule": "0 2 * * *", "upstream": ["job_root"]}"#,
    ] {
        assert_eq!(api.post("/api/v1/nodes", body).await.status, 201);
    }
    let made = api.post("/api/v1/snapshots", r#"{"run_date": "2031-05-02"}"#).await.json();
    assert_eq!(made, json!({"run_date": "2031-05-02", "created": 2}));
    let again = api.post("/api/v1/snapshots", r#"{"run_date": "2031-05-02"}"#).await.json();
    assert_eq!(again["created"], 0);
    let bad = api.post("/api/v1/snapshots", r#"{"run_date": "2031-02-30"}"#).await;
    assert_eq!(bad.status, 400);
    assert!(error_message(&bad.json()).contains("YYYY-MM-DD"));

    let page = api.get("/api/v1/instances?owner=bob&bizdate=2031-05-01").await.json();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let child = &items[0];
    for field in [
        "id",
        "node",
        "workflow",
        "owner",
        "state",
        "paused",
        "run_type",
        "bizdate",
        "run_date",
        "planned_at",
        "started_at",
        "ended_at",
        "attempt",
    ] {
        assert!(child.get(field).is_some(), "field {field} in {child}");
    }
    assert_eq!(child["state"], "not_run");
    assert_eq!(child["run_type"], "cycle");
    assert_eq!(child["planned_at"], "2031-05-02T02:00:00Z");

    let first = api.get("/api/v1/instances?limit=1").await.json();
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second = api.get(&format!("/api/v1/instances?limit=1&cursor={cursor}")).await.json();
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    assert_eq!(second["next_cursor"], Value::Null);

    let stats = api.get("/api/v1/instances/stats").await.json();
    assert_eq!(stats["total"], 2);
    assert_eq!(stats["waiting_time"], 1);
    assert_eq!(stats["not_run"], 1);

    for bad in [
        "/api/v1/instances?state=done",
        "/api/v1/instances?bizdate=yesterday",
        "/api/v1/instances?colour=red",
        "/api/v1/instances/abc",
    ] {
        let refused = api.get(bad).await;
        assert_eq!(refused.status, 400, "{bad}");
        assert_eq!(refused.json()["error"]["code"], "bad_request");
    }
    assert_eq!(api.get("/api/v1/instances/999999").await.status, 404);

    // The log of an instance that has not run is refused by the shared rule.
    let id = child["id"].as_i64().unwrap();
    let no_log = api.get(&format!("/api/v1/instances/{id}/log")).await;
    assert_eq!(no_log.status, 409);
    assert!(error_message(&no_log.json()).contains("view log is only possible"));

    // A past run date runs at once; its log is served as text.
    api.post("/api/v1/snapshots", r#"{"run_date": "2020-01-02"}"#).await;
    let root = eventually("the root ran", async || {
        let page = api
            .get("/api/v1/instances?node=job_root&run_date=2020-01-02&state=success")
            .await
            .json();
        page["items"].as_array().unwrap().first().cloned()
    })
    .await;
    let log = api.get(&format!("/api/v1/instances/{}/log", root["id"])).await;
    assert_eq!(log.status, 200);
    assert!(log.content_type.starts_with("text/plain"));
    assert!(log.body.contains("hello from 20200101\n"), "{}", log.body);
    let detail = api.get(&format!("/api/v1/instances/{}", root["id"])).await.json();
    assert_eq!(detail["attempts"][0]["outcome"], "success");
    server.stop().await;
}

#[tokio::test]
async fn every_documented_endpoint_exists() {
    let (server, _dir, api) = start().await;
    let doc: Value = serde_json::from_str(server::http::OPENAPI).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path == "/events" {
            continue; // a stream that never ends; see server_sent_events_announce_changes
        }
        let concrete =
            path.replace("{name}", "nobody").replace("{id}", "999999").replace("{version}", "1");
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let answer = api
                .request(&method.to_uppercase(), &format!("/api/v1{concrete}"), Some("{}"))
                .await;
            assert_ne!(answer.status, 405, "{method} {path}");
            assert!(
                !answer.body.contains("no such API endpoint"),
                "{method} {path} is documented but not routed"
            );
        }
    }
    let unknown = api.get("/api/v1/nope").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("no such API endpoint"));
    server.stop().await;
}

#[tokio::test]
async fn server_sent_events_announce_changes() {
    let (server, _dir, api) = start().await;
    // The response head first, then (after a change) an event naming the instances.
    let mut events = EventStream::open(&api, std::time::Duration::from_secs(10)).await;
    events.until("\r\n\r\n", "a head").await;
    let head = &events.received;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_lowercase().contains("content-type: text/event-stream"), "{head}");
    api.post("/api/v1/nodes", r#"{"name": "sse", "command": "true", "schedule": "0 1 * * *"}"#)
        .await;
    api.post("/api/v1/snapshots", r#"{"run_date": "2031-01-01"}"#).await;
    let id = api.get("/api/v1/instances?node=sse").await.json()["items"][0]["id"].as_i64().unwrap();
    assert_eq!(api.post(&format!("/api/v1/instances/{id}/pause"), "").await.status, 200);
    events.until(&format!("\"instances\":[{id}]"), "an event").await;
    let received = &events.received;
    assert!(received.contains("event: changed"), "{received}");
    // Stopping the server ends the stream (a graceful shutdown does not wait for browsers).
    tokio::time::timeout(std::time::Duration::from_secs(10), server.stop()).await.expect("stopped");
}

#[tokio::test]
async fn tests_and_backfills_over_http() {
    let (server, _dir, api) = start().await;
    for body in [
        r#"{"name": "h_up", "command": "true", "schedule": "0 1 * * *"}"#,
        r#"{"name": "h_down", "command": "true", "schedule": "0 2 * * *", "upstream": ["h_up"]}"#,
        r#"{"name": "h_apart", "command": "true", "schedule": "0 2 * * *"}"#,
    ] {
        assert_eq!(api.post("/api/v1/nodes", body).await.status, 201);
    }
    let test = api.post("/api/v1/tests", r#"{"node": "h_down", "bizdate": "2026-01-05"}"#).await;
    assert_eq!(test.status, 201, "{}", test.body);
    let job = test.json()["job"].as_i64().unwrap();
    assert_eq!(test.json()["url"], format!("/test?state=any&job={job}"));
    let listed = api.get(&format!("/api/v1/instances?job={job}&run_type=test")).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["bizdate"], "2026-01-05");

    let preview = api.post("/api/v1/backfills", r#"{"node": "h_up", "downstream": ["h_down"], "from": "2026-01-01", "to": "2026-01-03", "dry_run": true}"#).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.json()["instances"], 6);
    assert_eq!(preview.json()["job"], Value::Null);
    assert!(api.get("/api/v1/backfills").await.json()["items"].as_array().unwrap().is_empty());

    for (body, message) in [
        (r#"{"node": "h_up", "from": "2026-01-03", "to": "2026-01-01"}"#, "is after to"),
        (r#"{"node": "h_up", "from": "2024-01-01", "to": "2026-01-01"}"#, "at most 366"),
        (
            r#"{"node": "h_up", "downstream": ["h_apart"], "from": "2026-01-01", "to": "2026-01-02"}"#,
            "'h_apart' is not downstream of 'h_up'",
        ),
        (
            r#"{"node": "h_up", "from": "2026-01-01", "to": "2026-01-02", "parallelism": 11}"#,
            "parallelism must be from 1 to 10",
        ),
        (
            r#"{"node": "h_up", "from": "2026-01-01", "to": "2026-01-02", "order": "sideways"}"#,
            "unknown variant",
        ),
    ] {
        let refused = api.post("/api/v1/backfills", body).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert!(error_message(&refused.json()).contains(message), "{body}: {}", refused.body);
    }
    let created = api.post("/api/v1/backfills", r#"{"node": "h_up", "downstream": ["h_down"], "from": "2026-01-01", "to": "2026-01-03", "order": "desc", "parallelism": 2}"#).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["job"].as_i64().unwrap();
    let job = eventually("the backfill is done", async || {
        let job = api.get(&format!("/api/v1/backfills/{id}")).await.json();
        (job["counts"]["success"] == 6).then_some(job)
    })
    .await;
    assert_eq!(
        (job["total"].as_i64(), job["order"].as_str(), job["parallelism"].as_i64()),
        (Some(6), Some("desc"), Some(2))
    );
    assert_eq!(api.get("/api/v1/backfills").await.json()["items"][0]["id"], id);
    assert_eq!(api.get("/api/v1/backfills/99999").await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn depends_on_previous_is_kept_and_a_malformed_one_refused() {
    let (server, _dir, api) = start().await;
    let a = api.post("/api/v1/nodes", r#"{"name": "a", "command": "true"}"#).await;
    assert_eq!(a.json()["depends_on_previous"], "none", "the default");
    for (value, back) in [
        (json!("self"), json!("self")),
        (json!("children"), json!("children")),
        (json!(["a"]), json!(["a"])),
        (json!([]), json!("none")),
        (json!("none"), json!("none")),
    ] {
        let body = json!({"command": "true", "depends_on_previous": value}).to_string();
        let saved = api.put("/api/v1/nodes/b", &body).await;
        assert!(saved.status == 200 || saved.status == 201, "{body}: {}", saved.body);
        assert_eq!(api.get("/api/v1/nodes/b").await.json()["depends_on_previous"], back, "{body}");
    }
    api.put("/api/v1/nodes/b", r#"{"command": "true", "depends_on_previous": "self"}"#).await;
    let cases = [
        (json!("yesterday"), "depends_on_previous 'yesterday' is not valid"),
        (json!("SELF"), "depends_on_previous 'SELF' is not valid"),
        (json!(5), "\"none\", \"self\", \"children\" or a list of node names"),
        (json!(null), "\"none\", \"self\", \"children\" or a list of node names"),
        (json!({"nodes": ["a"]}), "\"none\", \"self\", \"children\" or a list of node names"),
        (json!([1]), "expected a string"),
        (json!(["ghost"]), "node 'b' depends on the previous cycle of unknown node 'ghost'"),
        (json!(["a", "a"]), "depends_on_previous lists 'a' twice"),
        (json!(["bad name"]), "unknown node 'bad name'"),
    ];
    for (value, message) in cases {
        let body = json!({"command": "true", "depends_on_previous": value}).to_string();
        let refused = api.put("/api/v1/nodes/b", &body).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.body);
        assert!(error_message(&refused.json()).contains(message), "{body}: {}", refused.body);
    }
    assert_eq!(api.get("/api/v1/nodes/b").await.json()["depends_on_previous"], "self", "unchanged");

    // The same from a workflow-as-code file, refused whole.
    let file = "[[nodes]]\nname = \"c\"\ncommand = \"true\"\ndepends_on_previous = \"weekly\"\n";
    let refused = api.post("/api/v1/import", file).await;
    assert_eq!(refused.status, 400);
    assert!(error_message(&refused.json()).contains("'weekly' is not valid"), "{}", refused.body);
    let file =
        "[[nodes]]\nname = \"c\"\ncommand = \"true\"\ndepends_on_previous = [\"a\", \"c\"]\n";
    assert_eq!(api.post("/api/v1/import", file).await.status, 200);
    assert_eq!(api.get("/api/v1/nodes/c").await.json()["depends_on_previous"], json!(["a", "c"]));
    server.stop().await;
}

#[tokio::test]
async fn a_node_named_in_a_previous_cycle_list_cannot_be_deleted() {
    let (server, _dir, api) = start().await;
    api.post("/api/v1/nodes", r#"{"name": "x_a", "command": "true"}"#).await;
    api.post("/api/v1/nodes", r#"{"name": "x_ab", "command": "true"}"#).await;
    let body = r#"{"name": "x_b", "command": "true", "depends_on_previous": ["x_a", "x_b"]}"#;
    assert_eq!(api.post("/api/v1/nodes", body).await.status, 201);
    let refused = api.delete("/api/v1/nodes/x_a").await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(error_message(&refused.json()), "node 'x_a' cannot be deleted: x_b depend on it");
    // A name that only looks alike ('_' matches any character in LIKE) is not held.
    assert_eq!(api.delete("/api/v1/nodes/x_ab").await.status, 204);
    // Naming itself does not hold a node.
    assert_eq!(api.delete("/api/v1/nodes/x_b").await.status, 204);
    assert_eq!(api.delete("/api/v1/nodes/x_a").await.status, 204);
    server.stop().await;
}
