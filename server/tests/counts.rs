//! The statistics come from counts the database maintains in the transactions that change
//! instances (issue 16). Under seeded random sequences of snapshots, runs, operations, tests,
//! backfills and folds, on either database: the maintained counts equal a fresh COUNT(*) at every
//! step (compared inside one statement, while commands run), and the statistics of every filter
//! shape equal a tally of the instances themselves.

mod common;

use app::jobs::{BackfillRequest, DateOrder, TestRequest};
use app::model::{Instance, InstanceFilter, InstanceState, RunType, StateCounts};
use app::report::{BatchKind, BatchRequest, Mode};
use app::rules::Operation;
use app::usecases::{Jobs, Operations};
use chrono::NaiveDate;
use common::{Harness, date, eventually};
use server::store::CountMismatch;

const GRAPH: &str = r#"
[[resource_groups]]
name = "default"
slots = 3

[[nodes]]
name = "p_alpha"
owner = "alice"
workflow = "w1"
schedule = "0 1 * * *"
command = "true"

[[nodes]]
name = "p_beta"
owner = "alice"
workflow = "w1"
schedule = "0 1 * * *"
command = "exit 1"
upstream = ["p_alpha"]

[[nodes]]
name = "p_gamma"
owner = "bob"
workflow = "w2"
schedule = "0 1 * * *"
command = "true"
upstream = ["p_beta"]

[[nodes]]
name = "Q_Alpine"
owner = "bob"
workflow = "w2"
schedule = "0 3 * * *"
command = "sleep 600"

[[nodes]]
name = "q_50.off"
owner = "carol"
workflow = "w3"
schedule = "30 23 * * *"
command = "true"
"#;

/// A small, seeded generator (xorshift64*): the same seed replays the same sequence.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// The filter shapes the statistics answer from the counts (by day, by node) and those counted
/// through the indexes.
fn shapes(day: NaiveDate, job: Option<i64>) -> Vec<InstanceFilter> {
    let f = InstanceFilter::default;
    let mut shapes = vec![
        f(),
        InstanceFilter { state: vec![InstanceState::Failed, InstanceState::Stopped], ..f() },
        InstanceFilter { run_type: Some(RunType::Cycle), ..f() },
        InstanceFilter { run_type: Some(RunType::Backfill), ..f() },
        InstanceFilter { run_date: Some(day), ..f() },
        InstanceFilter { run_date: Some(day), run_type: Some(RunType::Cycle), ..f() },
        // By node: through the trigram index (3 letters or more, any case) and by reading the
        // names (shorter), with LIKE's wildcards taken literally.
        InstanceFilter { node: Some("ALP".into()), ..f() },
        InstanceFilter { node: Some("alpha".into()), run_type: Some(RunType::Test), ..f() },
        InstanceFilter { node: Some("p_".into()), ..f() },
        InstanceFilter { node: Some("%".into()), ..f() },
        InstanceFilter { node: Some("0_".into()), ..f() },
        InstanceFilter { node: Some("5_.o".into()), ..f() },
        InstanceFilter { node: Some("50.OFF".into()), ..f() },
        // Through the indexes.
        InstanceFilter { node: Some("beta".into()), run_date: Some(day), ..f() },
        InstanceFilter { owner: Some("alice".into()), ..f() },
        InstanceFilter {
            workflow: Some("w2".into()),
            bizdate: Some(day.pred_opt().unwrap()),
            ..f()
        },
        InstanceFilter {
            bizdate: Some(day.pred_opt().unwrap()),
            state: vec![InstanceState::Success],
            ..f()
        },
    ];
    if let Some(job) = job {
        shapes.push(InstanceFilter { job: Some(job), ..f() });
    }
    shapes
}

fn matches(filter: &InstanceFilter, i: &Instance) -> bool {
    (filter.state.is_empty() || filter.state.contains(&i.state))
        && filter.owner.as_ref().is_none_or(|o| *o == i.owner)
        && filter.node.as_ref().is_none_or(|n| i.node.to_lowercase().contains(&n.to_lowercase()))
        && filter.workflow.as_ref().is_none_or(|w| *w == i.workflow)
        && filter.run_type.is_none_or(|t| t == i.run_type)
        && filter.bizdate.is_none_or(|d| d == i.bizdate)
        && filter.run_date.is_none_or(|d| d == i.run_date)
}

fn tally<'a>(instances: impl Iterator<Item = &'a Instance>) -> StateCounts {
    let mut counts = StateCounts::default();
    for i in instances {
        counts.add(i.state, 1);
    }
    counts
}

/// Every instance matching `filter`, through the list (keyset pages).
async fn listed(h: &Harness, filter: &InstanceFilter) -> Vec<Instance> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = h.store().list_instances(filter, before, 500).await.unwrap();
        before = page.items.last().map(|i| i.id);
        all.extend(page.items);
        if page.next_cursor.is_none() {
            return all;
        }
    }
}

/// Compares the statistics of every shape with a tally of the instances, at a moment when the
/// instances did not change while the statistics were read.
async fn statistics_equal_a_tally(
    h: &Harness,
    seed: u64,
    step: usize,
    day: NaiveDate,
    job: Option<i64>,
) {
    eventually(&format!("seed {seed} step {step}: a still moment"), async || {
        let before = listed(h, &InstanceFilter::default()).await;
        let mut answers = Vec::new();
        for filter in shapes(day, job) {
            let stats = h.store().instance_stats(&filter).await.unwrap();
            let expected = match filter.job {
                Some(_) => tally(listed(h, &filter).await.iter()),
                None => tally(before.iter().filter(|i| matches(&filter, i))),
            };
            answers.push((filter, stats, expected));
        }
        let after = listed(h, &InstanceFilter::default()).await;
        if before != after {
            return None;
        }
        for (filter, stats, expected) in answers {
            assert_eq!(stats, expected, "seed {seed} step {step}: statistics of {filter:?}");
        }
        Some(())
    })
    .await;
}

async fn run(seed: u64) {
    let h = Harness::start_manual("2026-03-10T12:00:00Z").await;
    h.define(GRAPH).await;
    let admin = h.admin();
    let days = ["2026-03-08", "2026-03-09", "2026-03-10", "2026-03-11"];
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut job = None;
    for step in 0..24 {
        let day = days[rng.below(days.len())];
        let all = listed(&h, &InstanceFilter::default()).await;
        let some = (!all.is_empty()).then(|| all[rng.below(all.len())].id);
        match rng.below(9) {
            0 | 1 => {
                h.snapshot(day).await;
            }
            2 => {
                let request = TestRequest {
                    node: Some("p_alpha".into()),
                    workflow: None,
                    bizdate: day.into(),
                };
                job = admin.start_test(Ok(request)).await.ok().and_then(|c| c.job).or(job);
            }
            3 => {
                let request = BackfillRequest {
                    node: "p_alpha".into(),
                    downstream: vec!["p_beta".into(), "p_gamma".into()],
                    from: "2026-02-01".into(),
                    to: "2026-02-03".into(),
                    order: DateOrder::default(),
                    parallelism: 2,
                    dry_run: false,
                };
                job = admin.backfill(Ok(request)).await.ok().and_then(|c| c.job).or(job);
            }
            4 => {
                let request = BatchRequest {
                    ids: None,
                    filter: Some(InstanceFilter {
                        state: vec![InstanceState::Failed],
                        ..Default::default()
                    }),
                    dry_run: false,
                };
                let _ = admin.batch(BatchKind::Rerun, Ok(request)).await;
            }
            5 => {
                let _ = h.store().fold_count_changes().await.unwrap();
            }
            _ => {
                let ops = [
                    Operation::Kill,
                    Operation::Rerun,
                    Operation::SetSuccess,
                    Operation::Pause,
                    Operation::Resume,
                ];
                if let Some(id) = some {
                    // Refusals (a state the operation does not apply to) are part of the walk.
                    let op = ops[rng.below(ops.len())];
                    let _ = admin.operate(id, op, Ok(Mode::Apply)).await;
                }
            }
        }
        // The counts equal a fresh COUNT(*) now, while commands run and finish.
        let mismatches: Vec<CountMismatch> = h.store().count_mismatches().await.unwrap();
        assert!(mismatches.is_empty(), "seed {seed} step {step}: {mismatches:?}");
        statistics_equal_a_tally(&h, seed, step, date(day), job).await;
    }
    // A recount (what `nightshift check-counts --repair` does) while commands still run and
    // finish leaves the counts equal to a fresh count.
    h.store().recount().await.unwrap();
    assert!(h.store().count_mismatches().await.unwrap().is_empty());
    // Stop the sleeps.
    let running = InstanceFilter { state: vec![InstanceState::Running], ..Default::default() };
    for i in listed(&h, &running).await {
        let _ = admin.operate(i.id, Operation::Kill, Ok(Mode::Apply)).await;
    }
    h.stop().await;
}

#[tokio::test]
async fn statistics_equal_a_fresh_count_under_random_operations_seed_1() {
    run(1).await;
}

#[tokio::test]
async fn statistics_equal_a_fresh_count_under_random_operations_seed_2() {
    run(2).await;
}

#[tokio::test]
async fn statistics_equal_a_fresh_count_under_random_operations_seed_3() {
    run(3).await;
}

/// `nightshift check-counts` on the test's database: its exit status and what it printed.
fn check_counts(h: &Harness, url: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nightshift"))
        .arg("check-counts")
        .arg("--data-dir")
        .arg(h.dir.path())
        .arg("--database-url")
        .arg(url)
        .args(extra)
        .env("NIGHTSHIFT_LOG", "error")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.code(), text + &String::from_utf8_lossy(&out.stderr))
}

/// A count changed behind the triggers' back is found by the check (the store's and the
/// command's, which names the keys and exits 1) and mended by a recount (`--repair`).
#[tokio::test]
async fn the_check_finds_a_wrong_count_and_a_recount_mends_it() {
    let h = Harness::start_manual("2026-03-10T12:00:00Z").await;
    h.define(GRAPH).await;
    h.snapshot("2026-03-11").await;
    assert!(h.store().count_mismatches().await.unwrap().is_empty());
    h.store().fold_count_changes().await.unwrap();
    let url = common::database_url(h.dir.path());
    common::run_sql(&url, "UPDATE instance_counts_by_day SET n = n + 5").await;
    let found = h.store().count_mismatches().await.unwrap();
    assert!(!found.is_empty(), "a changed count is found");
    assert!(found.iter().all(|m| m.counts == "by_day" && m.kept == m.counted + 5), "{found:?}");
    let (status, said) = check_counts(&h, &url, &[]);
    assert_eq!(status, Some(1), "{said}");
    assert!(said.contains("by_day 2026-03-11 cycle") && said.contains("keys differ"), "{said}");
    h.store().recount().await.unwrap();
    assert!(h.store().count_mismatches().await.unwrap().is_empty());
    let (status, said) = check_counts(&h, &url, &[]);
    assert_eq!(status, Some(0), "{said}");
    assert!(said.contains("equal a fresh count"), "{said}");

    // The command mends them too.
    common::run_sql(&url, "DELETE FROM instance_counts_by_node").await;
    let (status, said) = check_counts(&h, &url, &["--repair"]);
    assert_eq!(status, Some(0), "{said}");
    assert!(said.contains("by_node") && said.contains(", 0 differ now"), "{said}");
    assert!(h.store().count_mismatches().await.unwrap().is_empty());
    h.stop().await;
}
