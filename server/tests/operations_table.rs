//! The precondition table, asked of a live server over HTTP: for instances in every state (and
//! paused or not), every operation answers exactly what `app::rules` says.

mod common;

use std::sync::Arc;

use app::model::{Instance, InstanceState};
use app::rules::{self, Facts, Operation};
use common::eventually;
use common::http::Api;
use server::engine::clock::SystemClock;

/// Nodes that end up in each state: past run date unless marked `future`.
const PROJECT: &str = r#"
[[resource_groups]]
name = "solo"
slots = 1

[[resource_groups]]
name = "solo_p"
slots = 1

[[nodes]]
name = "s_running"
command = "sleep 600"
resource_group = "solo"
[[nodes]]
name = "s_queued"
command = "true"
resource_group = "solo"
[[nodes]]
name = "s_running_p"
command = "sleep 600"
resource_group = "solo_p"
[[nodes]]
name = "s_queued_p"
command = "true"
resource_group = "solo_p"
[[nodes]]
name = "s_success"
command = "true"
[[nodes]]
name = "s_success_p"
command = "true"
[[nodes]]
name = "s_failed"
command = "exit 1"
[[nodes]]
name = "s_failed_p"
command = "exit 1"
"#;

const FUTURE: &str = r#"
[[nodes]]
name = "f_waiting"
command = "true"
[[nodes]]
name = "f_waiting_p"
command = "true"
[[nodes]]
name = "f_not_run"
command = "true"
upstream = ["f_waiting"]
[[nodes]]
name = "f_not_run_p"
command = "true"
upstream = ["f_waiting"]
[[nodes]]
name = "f_stopped"
command = "true"
[[nodes]]
name = "f_stopped_p"
command = "true"
"#;

/// What the server must answer, written out from the table of MISSION.md: per state and paused
/// flag, the status of view log, view properties, kill, rerun, set success, rerun downstream,
/// pause and resume (a dry run of each).
const EXPECTED: &[(&str, bool, &str)] = &[
    ("not_run", false, "409 200 409 200 409 200 200 409"),
    ("not_run", true, "409 200 409 200 409 200 409 200"),
    ("waiting_time", false, "409 200 200 409 409 409 200 409"),
    ("waiting_time", true, "409 200 200 409 409 409 409 200"),
    ("waiting_resources", false, "409 200 200 409 409 409 200 409"),
    ("waiting_resources", true, "409 200 200 409 409 409 409 200"),
    ("running", false, "200 200 200 409 409 409 200 409"),
    ("running", true, "200 200 200 409 409 409 409 200"),
    ("success", false, "200 200 409 200 409 200 200 409"),
    ("success", true, "200 200 409 200 409 200 409 200"),
    ("failed", false, "200 200 409 200 200 200 200 409"),
    ("failed", true, "200 200 409 200 200 200 409 200"),
    ("stopped", false, "200 200 409 200 200 200 200 409"),
    ("stopped", true, "200 200 409 200 200 200 409 200"),
];

fn expected_status(state: InstanceState, paused: bool, op: Operation) -> u16 {
    let (_, _, row) = EXPECTED
        .iter()
        .find(|(s, p, _)| *s == state.as_str() && *p == paused)
        .expect("every state and paused flag has a row");
    let column = Operation::ALL.iter().position(|o| *o == op).expect("a known operation");
    row.split_whitespace().nth(column).expect("a cell per operation").parse().unwrap()
}

/// The fixture instance of a node: `s_*` nodes on the past run date, `f_*` on the future one.
async fn instance(api: &Api, node: &str) -> Instance {
    let run_date = if node.starts_with("s_") { "2020-01-02" } else { "2031-01-02" };
    let page = api.get(&format!("/api/v1/instances?node={node}&run_date={run_date}")).await.json();
    let item =
        page["items"].as_array().unwrap().iter().find(|i| i["node"] == node).unwrap().clone();
    serde_json::from_value(item).unwrap()
}

#[tokio::test]
async fn every_state_and_operation_answers_as_the_rules_say() {
    let (server, _dir, api) = common::live_server(Arc::new(SystemClock), &[]).await;
    assert_eq!(api.post("/api/v1/import", PROJECT).await.status, 200);
    assert_eq!(api.post("/api/v1/snapshots", r#"{"run_date": "2020-01-02"}"#).await.status, 200);
    assert_eq!(api.post("/api/v1/import", FUTURE).await.status, 200);
    assert_eq!(api.post("/api/v1/snapshots", r#"{"run_date": "2031-01-02"}"#).await.status, 200);

    // Bring every fixture to its state.
    for node in ["f_stopped", "f_stopped_p"] {
        let id = instance(&api, node).await.id;
        assert_eq!(api.post(&format!("/api/v1/instances/{id}/kill"), "").await.status, 200);
    }
    let expected = [
        ("s_running", InstanceState::Running),
        ("s_queued", InstanceState::WaitingResources),
        ("s_success", InstanceState::Success),
        ("s_failed", InstanceState::Failed),
        ("f_waiting", InstanceState::WaitingTime),
        ("f_not_run", InstanceState::NotRun),
        ("f_stopped", InstanceState::Stopped),
    ];
    let mut fixtures = Vec::new();
    for (node, state) in expected {
        for paused in [false, true] {
            let name = if paused { format!("{node}_p") } else { node.to_string() };
            let reached = eventually(&format!("{name} {state}"), async || {
                let i = instance(&api, &name).await;
                (i.state == state).then_some(i)
            })
            .await;
            if paused {
                let answer = api.post(&format!("/api/v1/instances/{}/pause", reached.id), "").await;
                assert_eq!(answer.status, 200, "{}", answer.body);
            }
            fixtures.push(instance(&api, &name).await);
        }
    }

    let mut checked = 0;
    for fixture in &fixtures {
        assert_eq!(fixture.state, fixtures.iter().find(|f| f.id == fixture.id).unwrap().state);
        let facts = Facts { state: fixture.state, paused: fixture.paused };
        for op in Operation::ALL {
            let id = fixture.id;
            let answer = match op {
                Operation::ViewLog => api.get(&format!("/api/v1/instances/{id}/log")).await,
                Operation::ViewProperties => api.get(&format!("/api/v1/instances/{id}")).await,
                Operation::RerunDownstream => {
                    let body = format!(r#"{{"instance_ids": [{id}], "dry_run": true}}"#);
                    api.post(&format!("/api/v1/instances/{id}/rerun-downstream"), &body).await
                }
                other => {
                    let path = match other {
                        Operation::Kill => "kill",
                        Operation::Rerun => "rerun",
                        Operation::SetSuccess => "set-success",
                        Operation::Pause => "pause",
                        Operation::Resume => "resume",
                        _ => unreachable!(),
                    };
                    api.post(&format!("/api/v1/instances/{id}/{path}"), r#"{"dry_run": true}"#)
                        .await
                }
            };
            let expected = expected_status(fixture.state, fixture.paused, op);
            assert_eq!(
                answer.status, expected,
                "{op:?} on {:?} paused={}: {}",
                fixture.state, fixture.paused, answer.body
            );
            if expected == 409 {
                // The server's sentence is the rules' sentence.
                let reason = match op {
                    Operation::RerunDownstream => {
                        rules::check_selection(&[id], 10, |_| Some(fixture.state))
                            .unwrap_err()
                            .to_string()
                    }
                    _ => rules::check(op, facts).unwrap_err().to_string(),
                };
                assert_eq!(answer.json()["error"]["message"], reason.as_str());
            }
            checked += 1;
        }
        // The dry runs changed nothing.
        assert_eq!(instance(&api, &fixture.node).await.state, fixture.state);
    }
    assert_eq!(checked, 7 * 2 * Operation::ALL.len());

    // Leave no process behind.
    for node in ["s_running", "s_running_p"] {
        let id = instance(&api, node).await.id;
        assert_eq!(api.post(&format!("/api/v1/instances/{id}/kill"), "").await.status, 200);
    }
    server.stop().await;
}
