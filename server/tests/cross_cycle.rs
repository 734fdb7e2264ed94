//! Cross-cycle dependencies (`depends_on_previous`): the edges the snapshot and backfills add
//! to a previous cycle, and what the engine does with them, with real processes on a manual
//! clock.

mod common;

use app::jobs::{BackfillRequest, DateOrder};
use app::model::Instance;
use app::model::InstanceState::*;
use app::report::Mode;
use app::rules::Operation;
use app::usecases::{Instances, Jobs, Operations};
use common::{Harness, date, eventually, node};

/// The ids of an instance's upstream instances.
async fn upstream_ids(h: &Harness, instance: &Instance) -> Vec<i64> {
    let (up, _) = h.store().neighbors(instance.id).await.unwrap();
    let mut ids: Vec<i64> = up.iter().map(|u| u.id.0).collect();
    ids.sort_unstable();
    ids
}

fn ids(instances: &[Instance]) -> Vec<i64> {
    let mut ids: Vec<i64> = instances.iter().map(|i| i.id.0).collect();
    ids.sort_unstable();
    ids
}

/// The instance of `node` on `run_date` (daily nodes).
async fn on(h: &Harness, node: &str, run_date: &str) -> Instance {
    let day = date(run_date);
    let mut of_day: Vec<Instance> =
        h.instances_of(node).await.into_iter().filter(|i| i.run_date == day).collect();
    assert_eq!(of_day.len(), 1, "one instance of {node} on {run_date}");
    of_day.remove(0)
}

/// A command that writes "start X" and, a moment later, "end X" to `runs`.
fn one_at_a_time(runs: &std::path::Path, what: &str) -> String {
    let runs = runs.display();
    format!("echo start {what} >> {runs}; sleep 0.1; echo end {what} >> {runs}")
}

/// What ran, from [`one_at_a_time`]'s file, checking that no two runs overlapped.
fn ran(runs: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(runs).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for pair in lines.chunks(2) {
        match pair {
            [start, end] if start.strip_prefix("start ") == end.strip_prefix("end ") => {
                out.push(start["start ".len()..].to_string())
            }
            _ => panic!("runs overlapped: {text}"),
        }
    }
    out
}

async fn until_state(h: &Harness, node: &str, run_date: &str, state: app::model::InstanceState) {
    eventually(&format!("{node} of {run_date} {}", state.as_str()), async || {
        (on(h, node, run_date).await.state == state).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_daily_self_dependent_node_waits_for_its_previous_day() {
    let h = Harness::start_manual("2026-03-09T00:00:00Z").await;
    let runs = h.path("runs.txt");
    // The first day (bizdate 2026-03-09) fails; the others succeed. Each run is recorded.
    let command = format!(
        "echo ${{bizdate}} >> {runs}; test ${{bizdate}} != 20260309",
        runs = runs.display()
    );
    h.define(&node("x_self", &command, "depends_on_previous = \"self\"")).await;
    for day in ["2026-03-10", "2026-03-11", "2026-03-12"] {
        h.snapshot(day).await;
    }
    let (d1, d2, d3) = (
        on(&h, "x_self", "2026-03-10").await,
        on(&h, "x_self", "2026-03-11").await,
        on(&h, "x_self", "2026-03-12").await,
    );
    // The node's first instance ever has nothing to wait for; each later one its day before.
    assert_eq!(upstream_ids(&h, &d1).await, Vec::<i64>::new());
    assert_eq!(upstream_ids(&h, &d2).await, vec![d1.id.0]);
    assert_eq!(upstream_ids(&h, &d3).await, vec![d2.id.0]);

    // Every planned time passes: day 1 runs and fails, and day 2 does not start.
    h.clock().set("2026-03-13T00:00:00Z".parse().unwrap());
    until_state(&h, "x_self", "2026-03-10", Failed).await;
    assert_eq!(on(&h, "x_self", "2026-03-11").await.state, NotRun);
    assert_eq!(on(&h, "x_self", "2026-03-12").await.state, NotRun);
    let why = h.admin().instance_detail(d2.id).await.unwrap().waiting_for;
    assert!(
        why.iter().any(|w| w.contains("x_self of 2026-03-10") && w.contains("failed")),
        "{why:?}"
    );
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "20260309\n");

    // Day 1 set to success: day 2 runs, then day 3, in that order.
    h.admin().operate(d1.id, Operation::SetSuccess, Ok(Mode::Apply)).await.unwrap();
    until_state(&h, "x_self", "2026-03-12", Success).await;
    assert_eq!(on(&h, "x_self", "2026-03-11").await.state, Success);
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "20260309\n20260310\n20260311\n");
    h.stop().await;
}

#[tokio::test]
async fn an_hourly_self_dependent_node_runs_its_hours_in_order() {
    let h = Harness::start_manual("2026-03-09T00:00:00Z").await;
    let runs = h.path("hours.txt");
    // Four slots and every hour due at once: without the dependency they would overlap.
    h.define(&format!(
        "[[resource_groups]]\nname = \"default\"\nslots = 4\n{}",
        node(
            "x_hourly",
            &one_at_a_time(&runs, "${cyctime}"),
            "schedule = \"0 * * * *\"\ndepends_on_previous = \"self\""
        )
    ))
    .await;
    h.snapshot("2026-03-10").await;
    h.snapshot("2026-03-11").await;
    let all = h.instances_of("x_hourly").await;
    assert_eq!(all.len(), 48);
    // Hour k waits for hour k - 1; the first hour of the second day for the last of the first.
    assert_eq!(upstream_ids(&h, &all[0]).await, Vec::<i64>::new());
    for k in 1..48 {
        assert_eq!(upstream_ids(&h, &all[k]).await, vec![all[k - 1].id.0], "hour {k}");
    }
    // Past the last hour (the nightly snapshot makes the 12th meanwhile, for later).
    h.clock().set("2026-03-11T23:30:00Z".parse().unwrap());
    eventually("every hour succeeded", async || {
        let all = h.instances_of("x_hourly").await;
        all[..48].iter().all(|i| i.state == Success).then_some(())
    })
    .await;
    let hours: Vec<String> =
        all.iter().map(|i| i.planned_at.format("%Y%m%d%H%M%S").to_string()).collect();
    assert_eq!(ran(&runs), hours, "one hour at a time, in order");
    h.stop().await;
}

#[tokio::test]
async fn children_and_named_nodes_give_their_whole_previous_cycle() {
    // Well before the run dates: nothing runs, only the edges are looked at.
    let h = Harness::start_manual("2026-01-01T00:00:00Z").await;
    h.define(
        &[
            node("p_parent", "true", "depends_on_previous = \"children\""),
            node("p_child", "true", "upstream = [\"p_parent\"]"),
            node("p_hourly_child", "true", "schedule = \"0 * * * *\"\nupstream = [\"p_parent\"]"),
            node("p_grandchild", "true", "upstream = [\"p_child\"]"),
            node("p_named", "true", "depends_on_previous = [\"p_child\", \"p_other\"]"),
            node("p_other", "true", ""),
            node("p_plain", "true", "upstream = [\"p_parent\"]"),
        ]
        .concat(),
    )
    .await;
    h.snapshot("2026-03-10").await;
    h.snapshot("2026-03-11").await;
    let day1 = date("2026-03-10");
    let of_day1 = async |node: &str| -> Vec<Instance> {
        h.instances_of(node).await.into_iter().filter(|i| i.run_date == day1).collect()
    };

    // "children": its first-level downstream of the day before (a child that is hourly: all 24
    // hours); not the grandchild.
    let parent = on(&h, "p_parent", "2026-03-11").await;
    let mut expected = ids(&of_day1("p_child").await);
    expected.extend(ids(&of_day1("p_hourly_child").await));
    expected.extend(ids(&of_day1("p_plain").await));
    expected.sort_unstable();
    assert_eq!(expected.len(), 26);
    assert_eq!(upstream_ids(&h, &parent).await, expected);
    assert_eq!(upstream_ids(&h, &on(&h, "p_parent", "2026-03-10").await).await, Vec::<i64>::new());

    // A list: the named nodes' previous cycle.
    let named = on(&h, "p_named", "2026-03-11").await;
    let mut expected = ids(&of_day1("p_child").await);
    expected.extend(ids(&of_day1("p_other").await));
    expected.sort_unstable();
    assert_eq!(upstream_ids(&h, &named).await, expected);

    // Taking the day again adds nothing twice.
    assert_eq!(h.snapshot("2026-03-11").await, 0);
    assert_eq!(upstream_ids(&h, &named).await, expected);
    h.stop().await;
}

#[tokio::test]
async fn the_previous_cycle_is_the_latest_one_made() {
    let h = Harness::start_manual("2026-01-01T00:00:00Z").await;
    h.define(&node("g_self", "true", "depends_on_previous = \"self\"")).await;
    // The snapshot of 2026-03-11 was never made: the 12th waits for the 10th, the last cycle.
    h.snapshot("2026-03-10").await;
    h.snapshot("2026-03-12").await;
    let tenth = on(&h, "g_self", "2026-03-10").await;
    let twelfth = on(&h, "g_self", "2026-03-12").await;
    assert_eq!(upstream_ids(&h, &twelfth).await, vec![tenth.id.0]);
    h.stop().await;
}

#[tokio::test]
async fn a_backfill_runs_a_self_dependent_node_date_after_date() {
    let h = Harness::start_manual("2026-01-01T00:00:00Z").await;
    h.define("[[resource_groups]]\nname = \"default\"\nslots = 4\nbackfill_slots = 4\n").await;
    // Newest first, three dates at once and one at a time: the dependency still makes each
    // date wait for the one before it (and one at a time, newest first, does not deadlock).
    for parallelism in [3, 1] {
        let name = format!("b_self_{parallelism}");
        let runs = h.path(&format!("{name}.txt"));
        let command = one_at_a_time(&runs, "${bizdate}");
        h.define(&node(&name, &command, "depends_on_previous = \"self\"")).await;
        let request = BackfillRequest {
            node: name.clone(),
            downstream: vec![],
            from: "2025-12-01".into(),
            to: "2025-12-03".into(),
            order: DateOrder::Desc,
            parallelism,
            dry_run: false,
        };
        let job = h.admin().backfill(Ok(request)).await.unwrap().job.unwrap();
        let done = h.all_succeed(job).await;
        assert_eq!(done.len(), 3);
        assert_eq!(ran(&runs), ["20251201", "20251202", "20251203"], "in date order");
        let by_date = |d: &str| done.iter().find(|i| i.bizdate == date(d)).unwrap().clone();
        let first = by_date("2025-12-01");
        assert!(upstream_ids(&h, &by_date("2025-12-02")).await.contains(&first.id.0));
        assert_eq!(upstream_ids(&h, &first).await, Vec::<i64>::new());
    }
    h.stop().await;
}

#[tokio::test]
async fn the_flow_shows_one_cycle_and_the_cycles_next_to_it() {
    let h = Harness::start_manual("2026-01-01T00:00:00Z").await;
    h.define(
        &[
            node("f_self", "true", "depends_on_previous = \"self\""),
            node("f_down", "true", "upstream = [\"f_self\"]"),
        ]
        .concat(),
    )
    .await;
    for day in ["2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13"] {
        h.snapshot(day).await;
    }
    let center = on(&h, "f_self", "2026-03-12").await;
    let (instances, edges, truncated) = h.store().flow_around(center.id, 100).await.unwrap();
    assert!(!truncated);
    let shown: Vec<(String, Option<chrono::NaiveDate>)> =
        instances.iter().map(|i| (i.node.clone(), i.run_date)).collect();
    // Its own day (no run date shown), the day before and the day after; not the 10th.
    assert_eq!(
        shown,
        vec![
            ("f_self".to_string(), Some(date("2026-03-11"))),
            ("f_self".to_string(), None),
            ("f_down".to_string(), None),
            ("f_self".to_string(), Some(date("2026-03-13"))),
        ]
    );
    let before = on(&h, "f_self", "2026-03-11").await.id;
    assert!(edges.contains(&(before, center.id)), "{edges:?}");
    h.stop().await;
}
