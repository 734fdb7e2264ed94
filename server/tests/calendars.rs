//! Business calendars: on a holiday of its node's calendar an instance is a dry run (it
//! succeeds at its planned time without running the command, and downstream runs); the API
//! that manages calendars, refusing malformed ones with a clear 400 and changing nothing.

mod common;

use std::sync::Arc;

use app::jobs::{BackfillRequest, DateOrder, TestRequest};
use app::model::Instance;
use app::model::InstanceState::*;
use app::usecases::{Instances, Jobs, Operations};
use common::{Harness, date, eventually, node};
use serde_json::Value;
use server::engine::clock::SystemClock;

/// The instance of a daily `node` on `run_date`.
async fn on(h: &Harness, node: &str, run_date: &str) -> Instance {
    let day = date(run_date);
    let mut of_day: Vec<Instance> =
        h.instances_of(node).await.into_iter().filter(|i| i.run_date == day).collect();
    assert_eq!(of_day.len(), 1, "one instance of {node} on {run_date}");
    of_day.remove(0)
}

async fn until_success(h: &Harness, node: &str, run_date: &str) -> Instance {
    eventually(&format!("{node} of {run_date} succeeded"), async || {
        let instance = on(h, node, run_date).await;
        (instance.state == Success).then_some(instance)
    })
    .await
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test]
async fn a_holiday_makes_dry_runs_that_succeed_without_running_and_downstream_runs() {
    let h = Harness::start_manual("2026-03-09T00:00:00Z").await;
    let (marker, below) = (h.path("marker.txt"), h.path("below.txt"));
    h.define(&format!(
        "[[calendars]]\nname = \"cn\"\nholidays = [2026-03-10, {{ from = \"2026-03-20\", to = \"2026-03-22\" }}]\n{}{}",
        node("c_up", &format!("echo ${{bizdate}} >> {}", marker.display()), "calendar = \"cn\""),
        node("c_down", &format!("echo ${{bizdate}} >> {}", below.display()), "upstream = [\"c_up\"]"),
    ))
    .await;
    h.snapshot("2026-03-10").await;
    h.snapshot("2026-03-11").await;
    let (holiday, workday) =
        (on(&h, "c_up", "2026-03-10").await, on(&h, "c_up", "2026-03-11").await);
    assert!(holiday.dry_run, "the holiday's instance is a dry run");
    assert!(!workday.dry_run, "a workday's instance runs its command");
    assert!(!on(&h, "c_down", "2026-03-10").await.dry_run, "downstream has no calendar");
    // Not before its planned time (01:00): a dry run waits for its time like any instance.
    assert_ne!(holiday.state, Success);

    h.clock().set("2026-03-10T02:00:00Z".parse().unwrap());
    let done = until_success(&h, "c_up", "2026-03-10").await;
    until_success(&h, "c_down", "2026-03-10").await;
    assert_eq!(read(&marker), "", "the dry run did not run the command");
    assert_eq!(read(&below), "20260309\n", "downstream ran");
    assert_eq!(done.exit_code, Some(0));
    let log = h.admin().log_chunk(done.id, app::model::LogRequest::default()).await.unwrap();
    assert!(log.text.contains("dry run: 2026-03-10 is a holiday"), "{}", log.text);
    assert!(log.text.contains("succeeded"), "{}", log.text);

    // The next day is a workday: the command runs.
    h.clock().set("2026-03-11T02:00:00Z".parse().unwrap());
    until_success(&h, "c_down", "2026-03-11").await;
    assert_eq!(read(&marker), "20260310\n");

    // A change of the calendar affects snapshots made afterwards, not the instances made.
    h.define("[[calendars]]\nname = \"cn\"\nholidays = [\"2026-03-12\"]\n").await;
    h.snapshot("2026-03-12").await;
    assert!(on(&h, "c_up", "2026-03-10").await.dry_run);
    assert!(on(&h, "c_up", "2026-03-12").await.dry_run);

    // A backfill over the range is dry too; a test run always runs the command.
    let admin = h.admin();
    let request = |from: &str, to: &str| BackfillRequest {
        node: "c_up".into(),
        downstream: vec![],
        from: from.into(),
        to: to.into(),
        order: DateOrder::Asc,
        parallelism: 1,
        dry_run: false,
    };
    let job = admin.backfill(Ok(request("2026-03-19", "2026-03-20"))).await.unwrap();
    let backfilled = h.all_succeed(job.job.unwrap()).await;
    let dry: Vec<(String, bool)> =
        backfilled.iter().map(|i| (i.run_date.to_string(), i.dry_run)).collect();
    assert_eq!(dry.len(), 2);
    assert!(dry.contains(&("2026-03-20".into(), false)), "{dry:?}");
    assert!(dry.contains(&("2026-03-21".into(), false)), "the calendar changed since: {dry:?}");
    h.define(
        "[[calendars]]\nname = \"cn\"\nholidays = [{ from = \"2026-03-20\", to = \"2026-03-22\" }]\n",
    )
    .await;
    let before = read(&marker);
    let job = admin.backfill(Ok(request("2026-03-19", "2026-03-21"))).await.unwrap();
    let backfilled = h.all_succeed(job.job.unwrap()).await;
    assert!(backfilled.iter().all(|i| i.dry_run), "every run date is a holiday now");
    assert_eq!(read(&marker), before, "no backfilled holiday ran the command");
    let test =
        TestRequest { node: Some("c_up".into()), workflow: None, bizdate: "2026-03-20".into() };
    let job = admin.start_test(Ok(test)).await.unwrap();
    let tested = h.all_succeed(job.job.unwrap()).await;
    assert!(tested.iter().all(|i| !i.dry_run));
    assert!(read(&marker).ends_with("20260320\n"), "a test runs the command: {}", read(&marker));
    h.stop().await;
}

fn error(body: &Value) -> (String, String) {
    let error = &body["error"];
    let code = error["reason"]["code"].as_str().unwrap_or_default().to_string();
    (code, error["message"].as_str().unwrap_or_else(|| panic!("not an API error: {body}")).into())
}

#[tokio::test]
async fn calendars_over_the_api_and_every_malformed_one_refused() {
    let (server, _dir, api) = common::live_server(Arc::new(SystemClock), &[]).await;
    let made = api
        .post(
            "/api/v1/calendars",
            r#"{"name": "cn", "holidays": ["2026-10-08", {"from": "2026-10-01", "to": "2026-10-07"}, "2026-01-01"]}"#,
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let expected = serde_json::json!({"name": "cn", "holidays": [
        "2026-01-01", {"from": "2026-10-01", "to": "2026-10-07"}, "2026-10-08"]});
    assert_eq!(made.json(), expected, "stored in date order");
    assert_eq!(api.get("/api/v1/calendars/cn").await.json(), expected);
    assert_eq!(api.get("/api/v1/calendars").await.json()["items"], serde_json::json!([expected]));
    let again = api.post("/api/v1/calendars", r#"{"name": "cn"}"#).await;
    assert_eq!(again.status, 409, "{}", again.body);

    // Every malformed calendar: a 400 that says what is wrong, and nothing changes.
    for (body, says) in [
        (r#"{"name": "cn2", "holidays": ["2026-02-30"]}"#, "not a date"),
        (r#"{"name": "cn2", "holidays": ["20260101"]}"#, "not a date"),
        (r#"{"name": "cn2", "holidays": [20260101]}"#, "a date"),
        (r#"{"name": "cn2", "holidays": [null]}"#, "a date"),
        (r#"{"name": "cn2", "holidays": [{"from": "2026-10-07", "to": "2026-10-01"}]}"#, "after"),
        (r#"{"name": "cn2", "holidays": [{"from": "2026-10-07"}]}"#, "to"),
        (
            r#"{"name": "cn2", "holidays": [{"from": "2026-10-07", "until": "2026-10-09"}]}"#,
            "until",
        ),
        (r#"{"name": "cn2", "holidays": "2026-10-01"}"#, "sequence"),
        (r#"{"name": "cn2", "days": []}"#, "days"),
        (r#"{"name": "a b", "holidays": []}"#, "not valid"),
        (r#"{"name": " cn2", "holidays": []}"#, "not valid"),
        (r#"{"holidays": []}"#, "not valid"),
        (r#"["cn2"]"#, "object"),
    ] {
        let answer = api.post("/api/v1/calendars", body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        assert!(error(&answer.json()).1.contains(says), "{body}: {}", answer.body);
    }
    let many: Vec<String> = (0..1001)
        .map(|k| format!("\"{}\"", date("2026-01-01") + chrono::Duration::days(k)))
        .collect();
    let answer = api
        .post(
            "/api/v1/calendars",
            &format!(r#"{{"name": "cn2", "holidays": [{}]}}"#, many.join(",")),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    // 1,001 entries are too many even when one repeats another (the limit is on what is sent).
    let mut repeated = many[..1000].to_vec();
    repeated.push(many[0].clone());
    let body = format!(r#"{{"name": "cn2", "holidays": [{}]}}"#, repeated.join(","));
    assert_eq!(api.post("/api/v1/calendars", &body).await.status, 400);
    // The name is the path's: a body that names one is refused.
    let answer = api.put("/api/v1/calendars/cn", r#"{"name": "cn", "holidays": []}"#).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(api.get("/api/v1/calendars").await.json()["items"], serde_json::json!([expected]));

    // A node names a calendar that exists, or gets a clear 400.
    let answer = api
        .post("/api/v1/nodes", r#"{"name": "n_cal", "command": "true", "calendar": "nope"}"#)
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(error(&answer.json()).0, "unknown_calendar");
    for bad in [r#""""#, r#""a b""#, "5", "[]", "null"] {
        let body = format!(r#"{{"name": "n_cal", "command": "true", "calendar": {bad}}}"#);
        let answer = api.post("/api/v1/nodes", &body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
    }
    assert_eq!(api.get("/api/v1/nodes/n_cal").await.status, 404);
    let answer = api
        .post("/api/v1/nodes", r#"{"name": "n_cal", "command": "true", "calendar": "cn"}"#)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.json()["calendar"], "cn");

    // PUT replaces the holidays (or creates a calendar); a calendar in use cannot go.
    let put = api.put("/api/v1/calendars/cn", r#"{"holidays": ["2027-01-01"]}"#).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.json()["holidays"], serde_json::json!(["2027-01-01"]));
    let put = api.put("/api/v1/calendars/fresh", r#"{"holidays": []}"#).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let refused = api.delete("/api/v1/calendars/cn").await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(error(&refused.json()).1.contains("n_cal"), "{}", refused.body);
    assert_eq!(api.get("/api/v1/calendars/cn").await.status, 200);
    let answer = api.put("/api/v1/nodes/n_cal", r#"{"command": "true"}"#).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.json()["node"].get("calendar").is_none(), "{}", answer.body);
    assert_eq!(api.delete("/api/v1/calendars/cn").await.status, 204);
    assert_eq!(api.get("/api/v1/calendars/cn").await.status, 404);
    assert_eq!(api.delete("/api/v1/calendars/cn").await.status, 404);

    // The workflow-as-code file carries calendars too, dates with or without quotes.
    let file = "[[calendars]]\nname = \"toml_cal\"\nholidays = [2026-05-01, \"2026-05-02\", { from = 2026-10-01, to = \"2026-10-03\" }]\n\
                [[nodes]]\nname = \"n_toml\"\ncommand = \"true\"\ncalendar = \"toml_cal\"\n";
    let imported = api.post("/api/v1/import", file).await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(imported.json()["calendars"], 1);
    assert_eq!(
        api.get("/api/v1/calendars/toml_cal").await.json()["holidays"],
        serde_json::json!(["2026-05-01", "2026-05-02", {"from": "2026-10-01", "to": "2026-10-03"}])
    );
    // A name given twice in one file: the last one counts, once.
    let twice = "[[calendars]]\nname = \"twice\"\nholidays = [\"2026-01-01\"]\n\
                 [[calendars]]\nname = \"twice\"\nholidays = [\"2026-01-02\"]\n";
    let imported = api.post("/api/v1/import", twice).await;
    assert_eq!(imported.json()["calendars"], 1, "{}", imported.body);
    let kept = api.get("/api/v1/calendars/twice").await.json();
    assert_eq!(kept["holidays"], serde_json::json!(["2026-01-02"]));
    let bad = "[[calendars]]\nname = \"bad_cal\"\nholidays = [\"2026-13-01\"]\n";
    assert_eq!(api.post("/api/v1/import", bad).await.status, 400);
    assert_eq!(api.get("/api/v1/calendars/bad_cal").await.status, 404);

    // Each change is audited with its holidays before and after.
    let audit = api.get("/api/v1/audit?action=calendar.change&limit=10").await.json();
    let subjects: Vec<&str> =
        audit["items"].as_array().unwrap().iter().filter_map(|e| e["subject"].as_str()).collect();
    assert!(subjects.contains(&"calendar:cn") && subjects.contains(&"calendar:fresh"), "{audit}");
    let deleted = api.get("/api/v1/audit?action=calendar.delete").await.json();
    assert_eq!(deleted["items"].as_array().unwrap().len(), 1, "{deleted}");
    server.stop().await;
}

/// A long command fills the only slot (of the group with `group_slots`, or of a worker with
/// `worker_slots`); at 01:30 a dry run of the same group is due and succeeds all the same, while
/// a second command due then waits.
async fn a_dry_run_succeeds_while_the_slots_are_full(group_slots: u32, worker_slots: Option<u32>) {
    let h = Harness::start_manual_configured("2026-03-09T00:00:00Z", |config| {
        config.worker.slots = worker_slots
    })
    .await;
    let marker = h.path("marker.txt");
    h.define(&format!(
        "[[resource_groups]]\nname = \"solo\"\nslots = {group_slots}\n\
         [[calendars]]\nname = \"cn\"\nholidays = [\"2026-03-10\"]\n{}{}{}",
        node("d_busy", "sleep 30", "schedule = \"30 0 * * *\"\nresource_group = \"solo\""),
        node(
            "d_off",
            &format!("echo ran >> {}", marker.display()),
            "calendar = \"cn\"\nresource_group = \"solo\""
        ),
        node("d_next", "true", "resource_group = \"solo\""),
    ))
    .await;
    h.snapshot("2026-03-10").await;
    // 00:45: the long command holds the group's only slot.
    h.clock().set("2026-03-10T00:45:00Z".parse().unwrap());
    let busy = eventually("d_busy running", async || {
        let i = on(&h, "d_busy", "2026-03-10").await;
        (i.state == Running).then_some(i)
    })
    .await;
    // 01:30: the dry run is due, and succeeds without waiting for that slot.
    h.clock().set("2026-03-10T01:30:00Z".parse().unwrap());
    until_success(&h, "d_off", "2026-03-10").await;
    assert_eq!(on(&h, "d_busy", "2026-03-10").await.state, Running);
    assert_eq!(on(&h, "d_next", "2026-03-10").await.state, WaitingResources);
    assert_eq!(read(&marker), "");
    let admin = h.admin();
    let kill = app::rules::Operation::Kill;
    admin.operate(busy.id, kill, Ok(app::report::Mode::Apply)).await.unwrap();
    h.stop().await;
}

#[tokio::test]
async fn a_dry_run_takes_no_slot_and_succeeds_while_its_group_is_full() {
    a_dry_run_succeeds_while_the_slots_are_full(1, None).await;
}

#[tokio::test]
async fn a_dry_run_takes_no_slot_of_a_worker_whose_slots_are_full() {
    a_dry_run_succeeds_while_the_slots_are_full(5, Some(1)).await;
}
