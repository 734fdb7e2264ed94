//! Everything people change is in the audit trail: nodes (created, changed field by field,
//! paused, deleted), resource groups, test runs, backfills and snapshots, beside the operations.

mod common;

use std::sync::Arc;

use serde_json::Value;
use server::engine::clock::SystemClock;
use server_fn::ServerFn;

fn entries(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap()
}

#[tokio::test]
async fn changes_to_definitions_jobs_and_groups_are_audited_with_before_and_after() {
    let (server, _dir, api) = common::live_server(Arc::new(SystemClock), &[]).await;
    let created = api
        .post("/api/v1/nodes", r#"{"name": "n_audit", "command": "echo one", "owner": "alice"}"#)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let changed =
        api.put("/api/v1/nodes/n_audit", r#"{"command": "echo two", "retries": 2}"#).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    // An unchanged node changes nothing and is not an entry.
    assert_eq!(
        api.put("/api/v1/nodes/n_audit", r#"{"command": "echo two", "retries": 2}"#).await.status,
        200
    );
    let paused = api
        .post(app::api::SetScheduling::PATH, r#"{"name": "n_audit", "scheduling": "paused"}"#)
        .await;
    assert_eq!(paused.status, 200, "{}", paused.body);

    let trail = api.get("/api/v1/audit?subject=node:n_audit").await.json();
    let actions: Vec<&str> =
        entries(&trail).iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["node.pause", "node.update", "node.create"], "newest first");
    let update = &entries(&trail)[1];
    assert_eq!(update["actor"], "admin");
    assert_eq!(update["outcome"], "ok");
    assert_eq!(
        update["changes"],
        serde_json::json!([
            {"field": "command", "before": "echo one", "after": "echo two"},
            {"field": "retries", "before": "0", "after": "2"},
        ])
    );
    let create = &entries(&trail)[2];
    let fields: Vec<&str> = create["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"command") && fields.contains(&"owner"), "{fields:?}");
    assert_eq!(entries(&trail)[0]["changes"][0]["after"], "true");

    // Resource groups, with their backfill share.
    let group =
        api.put("/api/v1/resource-groups/etl", r#"{"slots": 4, "backfill_slots": 2}"#).await;
    assert_eq!(group.status, 200, "{}", group.body);
    assert_eq!(group.json()["backfill_slots"], 2);
    let trail = api.get("/api/v1/audit?subject=resource_group:etl").await.json();
    assert_eq!(entries(&trail)[0]["action"], "resource_group.change");
    assert_eq!(entries(&trail)[0]["changes"][1]["field"], "backfill_slots");
    assert_eq!(entries(&trail)[0]["changes"][1]["after"], "2");

    // A test run and a backfill, with what they made.
    let unpaused = api
        .post(app::api::SetScheduling::PATH, r#"{"name": "n_audit", "scheduling": "normal"}"#)
        .await;
    assert_eq!(unpaused.status, 200);
    let test = api.post("/api/v1/tests", r#"{"node": "n_audit", "bizdate": "2026-01-05"}"#).await;
    assert_eq!(test.status, 201, "{}", test.body);
    let job = test.json()["job"].as_i64().unwrap();
    let trail = api.get(&format!("/api/v1/audit?subject=test:{job}")).await.json();
    assert_eq!(entries(&trail)[0]["action"], "test.create");
    assert!(entries(&trail)[0]["message"].as_str().unwrap().starts_with("1 instance of n_audit"));
    let backfill = api
        .post(
            "/api/v1/backfills",
            r#"{"node": "n_audit", "from": "2026-01-01", "to": "2026-01-02"}"#,
        )
        .await;
    assert_eq!(backfill.status, 201, "{}", backfill.body);
    let job = backfill.json()["job"].as_i64().unwrap();
    let trail = api.get(&format!("/api/v1/audit?subject=backfill:{job}")).await.json();
    assert_eq!(entries(&trail)[0]["action"], "backfill.create");

    // A deleted node keeps its last definition in the trail.
    assert_eq!(api.delete("/api/v1/nodes/n_audit").await.status, 204);
    let trail = api.get("/api/v1/audit?action=node.delete").await.json();
    let deleted = &entries(&trail)[0];
    assert_eq!(deleted["subject"], "node:n_audit");
    let command = deleted["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "command")
        .unwrap()
        .clone();
    assert_eq!(command["before"], "echo two");
    assert_eq!(command["after"], Value::Null);

    // Imports say how much they changed; snapshots on demand are there too.
    let import = "[[nodes]]\nname = \"i_one\"\nowner = \"alice\"\ncommand = \"true\"\n\
                  [[nodes]]\nname = \"i_two\"\nowner = \"alice\"\ncommand = \"true\"\n";
    assert_eq!(api.post("/api/v1/import", import).await.status, 200);
    let trail = api.get("/api/v1/audit?action=node.import").await.json();
    assert_eq!(
        entries(&trail)[0]["message"],
        "2 created, 0 updated, 0 unchanged, 0 resource groups, 0 calendars"
    );
    assert_eq!(api.post("/api/v1/snapshots", r#"{"run_date": "2031-01-01"}"#).await.status, 200);
    let trail = api.get("/api/v1/audit?action=snapshot.create").await.json();
    assert_eq!(entries(&trail)[0]["subject"], "snapshot:2031-01-01");
    server.stop().await;
}
