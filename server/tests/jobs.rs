//! Test runs and backfills, with real processes.

mod common;

use app::error::ErrorCode;
use app::jobs::{BackfillRequest, DateOrder, TestRequest};
use app::model::InstanceState::*;
use app::model::{InstanceFilter, RunType};
use app::people::{Actor, Role};
use app::usecases::{Instances, Jobs};
use common::{Harness, eventually, node};

fn backfill(node: &str, downstream: &[&str], from: &str, to: &str) -> BackfillRequest {
    BackfillRequest {
        node: node.into(),
        downstream: downstream.iter().map(|d| d.to_string()).collect(),
        from: from.into(),
        to: to.into(),
        order: DateOrder::Asc,
        parallelism: 1,
        dry_run: false,
    }
}

const CHAIN: &str = "
[[nodes]]
name = \"bf_a\"
command = \"sleep 0.2\"
[[nodes]]
name = \"bf_b\"
command = \"sleep 0.2\"
upstream = [\"bf_a\"]
[[nodes]]
name = \"bf_c\"
command = \"sleep 0.2\"
upstream = [\"bf_b\"]
[[nodes]]
name = \"bf_other\"
command = \"true\"
upstream = [\"bf_a\"]
";

#[tokio::test]
async fn a_three_day_backfill_runs_dates_in_order_one_at_a_time() {
    let h = Harness::start().await;
    h.define(CHAIN).await;
    let created = h
        .admin()
        .backfill(Ok(backfill("bf_a", &["bf_b", "bf_c"], "2026-01-01", "2026-01-03")))
        .await
        .unwrap();
    assert_eq!(created.instances, 9, "3 nodes x 3 dates, the unchecked descendant left out");
    let job = created.job.unwrap();
    let done = h.all_succeed(job).await;
    assert!(done.iter().all(|i| i.run_type == RunType::Backfill));
    assert!(done.iter().all(|i| i.node != "bf_other"));
    // Date by date: everything of a business date ends before anything of the next starts.
    for (earlier, later) in [("2026-01-01", "2026-01-02"), ("2026-01-02", "2026-01-03")] {
        let last_end = done
            .iter()
            .filter(|i| i.bizdate.to_string() == earlier)
            .filter_map(|i| i.ended_at)
            .max()
            .unwrap();
        let first_start = done
            .iter()
            .filter(|i| i.bizdate.to_string() == later)
            .filter_map(|i| i.started_at)
            .min()
            .unwrap();
        assert!(last_end <= first_start, "{earlier} ends before {later} starts");
    }
    // Within a date, the dependency order holds.
    for date in ["2026-01-01", "2026-01-02", "2026-01-03"] {
        let of = |n: &str| {
            done.iter().find(|i| i.node == n && i.bizdate.to_string() == date).unwrap().clone()
        };
        assert!(of("bf_a").ended_at <= of("bf_b").started_at);
        assert!(of("bf_b").ended_at <= of("bf_c").started_at);
    }
    let job = h.store().get_job(job).await.unwrap().unwrap();
    assert_eq!((job.total, job.done(), job.failed()), (9, 9, 0));
    h.stop().await;
}

#[tokio::test]
async fn parallelism_three_overlaps_dates_and_descending_starts_with_the_latest() {
    let h = Harness::start().await;
    h.define(CHAIN).await;
    let mut request = backfill("bf_a", &[], "2026-01-01", "2026-01-03");
    request.parallelism = 3;
    let job = h.admin().backfill(Ok(request)).await.unwrap().job.unwrap();
    let done = h.all_succeed(job).await;
    let first_end = done.iter().filter_map(|i| i.ended_at).min().unwrap();
    let last_start = done.iter().filter_map(|i| i.started_at).max().unwrap();
    assert!(last_start < first_end, "all three dates ran at the same time");

    let mut request = backfill("bf_a", &[], "2026-02-01", "2026-02-03");
    request.order = DateOrder::Desc;
    let job = h.admin().backfill(Ok(request)).await.unwrap().job.unwrap();
    let mut done = h.all_succeed(job).await;
    done.sort_by_key(|i| i.started_at);
    let order: Vec<String> = done.iter().map(|i| i.bizdate.to_string()).collect();
    assert_eq!(order, ["2026-02-03", "2026-02-02", "2026-02-01"]);
    h.stop().await;
}

#[tokio::test]
async fn a_test_run_uses_the_chosen_bizdate_and_does_not_wait_for_upstream() {
    let h = Harness::start().await;
    let out = h.path("bizdate");
    h.define(
        &[
            node("t_up", "exit 1", ""),
            node(
                "t_node",
                &format!("echo ${{bizdate}} > {}", out.display()),
                "upstream = [\"t_up\"]\npaused = true",
            ),
        ]
        .concat(),
    )
    .await;
    let request =
        TestRequest { node: Some("t_node".into()), workflow: None, bizdate: "2026-01-05".into() };
    let created = h.admin().start_test(Ok(request)).await.unwrap();
    assert_eq!(created.instances, 1);
    assert_eq!(
        created.url.as_deref(),
        Some(format!("/test?state=any&job={}", created.job.unwrap()).as_str())
    );
    let done = h.all_succeed(created.job.unwrap()).await;
    assert_eq!(done[0].run_type, RunType::Test);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "20260105\n");
    h.stop().await;
}

#[tokio::test]
async fn cycle_instances_get_slots_before_backfill_instances() {
    let h = Harness::start().await;
    let gate = h.path("gate");
    let wait_gate = common::wait_for_file(&gate);
    h.define(&format!(
        "[[resource_groups]]\nname = \"one\"\nslots = 1\n{}{}{}",
        node("q_blocker", &wait_gate, "resource_group = \"one\""),
        node("q_backfilled", "true", "resource_group = \"one\"\nschedule = \"0 5 * * *\""),
        node("q_cycle", "true", "resource_group = \"one\"\nschedule = \"0 6 * * *\""),
    ))
    .await;
    // The blocker holds the only slot of the 2nd...
    h.snapshot("2020-01-02").await;
    h.wait_for("q_blocker", "running", |i| i.state == Running).await;
    // ...a backfill queues first, then the cycle instance of another day.
    let mut request = backfill("q_backfilled", &[], "2020-01-10", "2020-01-12");
    request.parallelism = 3;
    let job = h.admin().backfill(Ok(request)).await.unwrap().job.unwrap();
    h.snapshot("2020-01-20").await;
    std::fs::write(&gate, "").unwrap();
    let backfilled = h.all_succeed(job).await;
    let cycle = eventually("the cycle instance ran", async || {
        h.instances_of("q_cycle")
            .await
            .into_iter()
            .find(|i| i.run_date.to_string() == "2020-01-20" && i.state == Success)
    })
    .await;
    let first_backfill = backfilled.iter().filter_map(|i| i.started_at).min().unwrap();
    assert!(cycle.started_at.unwrap() <= first_backfill, "the cycle instance went first");
    h.stop().await;
}

#[tokio::test]
async fn backfills_keep_one_slot_free_for_cycle_work() {
    let h = Harness::start().await;
    let gate = h.path("gate");
    let wait_gate = common::wait_for_file(&gate);
    h.define(&format!(
        "[[resource_groups]]\nname = \"two\"\nslots = 2\n{}{}",
        // Paused: its own cycle instances stay frozen; backfill instances run anyway.
        node("r_heavy", &wait_gate, "resource_group = \"two\"\npaused = true"),
        node("r_cycle", "true", "resource_group = \"two\"\nschedule = \"0 6 * * *\""),
    ))
    .await;
    let mut request = backfill("r_heavy", &[], "2020-03-01", "2020-03-03");
    request.parallelism = 3;
    let job = h.admin().backfill(Ok(request)).await.unwrap().job.unwrap();
    eventually("one backfill instance runs", async || {
        let all = h.job_instances(job).await;
        (all.iter().filter(|i| i.state == Running).count() == 1).then_some(())
    })
    .await;
    // The second slot stays free: the cycle instance runs while the backfill holds the first.
    h.snapshot("2020-03-10").await;
    h.wait_for("r_cycle", "success", |i| i.state == Success).await;
    let all = h.job_instances(job).await;
    assert_eq!(
        all.iter().filter(|i| i.state == Running).count(),
        1,
        "still only one backfill running"
    );
    std::fs::write(&gate, "").unwrap();
    h.all_succeed(job).await;
    h.stop().await;
}

/// Waits until the dispatcher has run a pass after now: a test run of a node of another group
/// starts, and the pass that starts it considers every group with work.
async fn after_a_dispatch(h: &Harness) {
    let request = TestRequest {
        node: Some("z_elsewhere".into()),
        workflow: None,
        bizdate: "2020-06-01".into(),
    };
    let job = h.admin().start_test(Ok(request)).await.unwrap().job.unwrap();
    eventually("the test run started", async || {
        h.job_instances(job).await.first().filter(|i| i.started_at.is_some()).map(|_| ())
    })
    .await;
}

const ELSEWHERE: &str = "[[resource_groups]]\nname = \"elsewhere\"\nslots = 1\n";

#[tokio::test]
async fn in_a_busy_group_a_backfill_never_takes_the_last_free_slot() {
    let h = Harness::start().await;
    let gate = h.path("gate");
    let wait_gate = common::wait_for_file(&gate);
    let busy =
        |name: &str| node(name, &wait_gate, "resource_group = \"four\"\nschedule = \"0 1 * * *\"");
    h.define(&format!(
        "[[resource_groups]]\nname = \"four\"\nslots = 4\n{ELSEWHERE}{}{}{}{}",
        busy("b_one"),
        busy("b_two"),
        busy("b_three"),
        node("b_backfilled", "true", "resource_group = \"four\"\npaused = true"),
    ))
    .await;
    // Three cycle instances hold three of the four slots.
    h.snapshot("2020-01-02").await;
    for name in ["b_one", "b_two", "b_three"] {
        h.wait_for(name, "running", |i| i.state == Running).await;
    }
    let job =
        h.admin().backfill(Ok(backfill("b_backfilled", &[], "2020-01-10", "2020-01-10"))).await;
    let job = job.unwrap().job.unwrap();
    // A dispatch later, the backfill still waits: the fourth slot is production's.
    h.define(&node("z_elsewhere", "true", "resource_group = \"elsewhere\"")).await;
    after_a_dispatch(&h).await;
    let waiting = h.job_instances(job).await;
    assert_eq!(waiting[0].state, WaitingResources, "the backfill did not take the last slot");
    let why = h.admin().instance_detail(waiting[0].id).await.unwrap().waiting_for;
    assert!(
        why.iter().any(|w| w.contains("backfills start only while at most 3 of the group's 4")),
        "{why:?}"
    );
    // Once production frees a slot it runs.
    std::fs::write(&gate, "").unwrap();
    let done = h.all_succeed(job).await;
    let first_end = ["b_one", "b_two", "b_three"];
    let mut ends = Vec::new();
    for name in first_end {
        ends.push(h.wait_state(name, Success).await.ended_at.unwrap());
    }
    assert!(done[0].started_at.unwrap() >= *ends.iter().min().unwrap());
    h.stop().await;
}

#[tokio::test]
async fn in_an_idle_group_backfills_hold_at_most_their_share() {
    let h = Harness::start().await;
    let gate = h.path("gate");
    let wait_gate = common::wait_for_file(&gate);
    h.define(&format!(
        "[[resource_groups]]\nname = \"four\"\nslots = 4\nbackfill_slots = 2\n{ELSEWHERE}{}{}",
        node("s_heavy", &wait_gate, "resource_group = \"four\"\npaused = true"),
        node("z_elsewhere", "true", "resource_group = \"elsewhere\"\nschedule = \"0 9 * * *\""),
    ))
    .await;
    let mut request = backfill("s_heavy", &[], "2020-03-01", "2020-03-04");
    request.parallelism = 4;
    let job = h.admin().backfill(Ok(request)).await.unwrap().job.unwrap();
    let running = async || h.job_instances(job).await.iter().filter(|i| i.state == Running).count();
    eventually("two backfill instances run", async || (running().await == 2).then_some(())).await;
    after_a_dispatch(&h).await;
    assert_eq!(running().await, 2, "two of the four slots, as the group says, however idle");
    std::fs::write(&gate, "").unwrap();
    h.all_succeed(job).await;
    h.stop().await;
}

#[tokio::test]
async fn bad_backfills_are_refused_and_create_nothing_and_a_dry_run_previews() {
    let h = Harness::start().await;
    h.define(CHAIN).await;
    let cases = [
        (
            backfill("bf_a", &[], "2026-01-03", "2026-01-01"),
            ErrorCode::BadRequest,
            "from (2026-01-03) is after to (2026-01-01)",
        ),
        (
            backfill("bf_a", &[], "2025-01-01", "2026-01-02"),
            ErrorCode::BadRequest,
            "the range covers 367 business dates; at most 366",
        ),
        (
            backfill("bf_b", &["bf_a"], "2026-01-01", "2026-01-02"),
            ErrorCode::BadRequest,
            "'bf_a' is not downstream of 'bf_b'",
        ),
        (
            backfill("ghost", &[], "2026-01-01", "2026-01-02"),
            ErrorCode::NotFound,
            "no node named 'ghost'",
        ),
        (
            backfill("bf_a", &[], "2026-01-01", "2026-13-02"),
            ErrorCode::BadRequest,
            "to '2026-13-02' is not a date",
        ),
        (
            BackfillRequest { parallelism: 0, ..backfill("bf_a", &[], "2026-01-01", "2026-01-02") },
            ErrorCode::BadRequest,
            "parallelism must be from 1 to 10, not 0",
        ),
        (
            BackfillRequest {
                parallelism: 11,
                ..backfill("bf_a", &[], "2026-01-01", "2026-01-02")
            },
            ErrorCode::BadRequest,
            "parallelism must be from 1 to 10, not 11",
        ),
    ];
    for (request, code, message) in cases {
        let refused = h.admin().backfill(Ok(request)).await.unwrap_err();
        assert_eq!(refused.code, code, "{message}");
        assert!(refused.message.starts_with(message), "{}", refused.message);
    }
    let viewer = Actor { name: "vera".into(), role: Role::Viewer };
    let forbidden = h
        .service(viewer)
        .backfill(Ok(backfill("bf_a", &[], "2026-01-01", "2026-01-02")))
        .await
        .unwrap_err();
    assert_eq!(forbidden.code, ErrorCode::Forbidden);

    let preview = h
        .admin()
        .backfill(Ok(BackfillRequest {
            dry_run: true,
            ..backfill("bf_a", &["bf_b"], "2026-01-01", "2026-01-04")
        }))
        .await
        .unwrap();
    assert_eq!(preview.job, None);
    assert_eq!(preview.dates.len(), 4);
    assert!(preview.dates.iter().all(|d| d.instances == 2));
    assert_eq!(preview.instances, 8);
    // Nothing was created by any of it.
    assert!(h.store().list_jobs(RunType::Backfill, 10, None).await.unwrap().items.is_empty());
    let stats = h.store().instance_stats(&InstanceFilter::default()).await.unwrap();
    assert_eq!(stats.total, 0);
    h.stop().await;
}
