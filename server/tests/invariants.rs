//! The engine's invariants under random graphs, random operations and random moves of the clock
//! (issue 18), on a real database with real commands. Each case defines a random DAG in two
//! resource groups, then walks random steps (snapshots, backfills, operations by an
//! administrator, the clock moving on) and, after each step, waits for a still moment and checks:
//!
//! - no instance started before every instance it waits for had succeeded (unless a person reran
//!   it: a rerun runs it now; or it is a retry, which continues the run its first attempt began);
//! - no paused instance started, and a paused instance that was not running did not move;
//! - states moved only along the engine's transitions (a finished instance stays finished,
//!   nothing goes back to "not run" and nothing is stopped unless a person did it), and an
//!   operation changed only what its rules allow;
//! - the kept statistics equal a fresh count;
//! - and, from what the commands themselves saw: the processes running at once in a group never
//!   exceeded its slots, nor its backfill instances the backfill share.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use app::jobs::{BackfillRequest, DateOrder};
use app::model::{Instance, InstanceFilter, InstanceId, InstanceState, RunType};
use app::nodes::ResourceGroup;
use app::report::Mode;
use app::rules::{self, Operation};
use app::usecases::{Jobs, Operations};
use chrono::Duration;
use common::{Harness, eventually};
use proptest::prelude::*;
use server::engine::EngineEvent;
use tokio::sync::broadcast::error::TryRecvError;

use InstanceState::*;

#[derive(Debug, Clone)]
struct NodeSpec {
    /// Indexes of earlier nodes (so the graph has no cycle).
    upstream: Vec<usize>,
    /// The hours it fires at.
    hours: &'static str,
    fails: bool,
    retries: u32,
    retry_delay_secs: u32,
    group: usize,
    paused: bool,
}

#[derive(Debug, Clone)]
struct GroupSpec {
    slots: u32,
    backfill_slots: Option<u32>,
}

#[derive(Debug, Clone)]
enum Step {
    Snapshot {
        day: usize,
    },
    Backfill {
        node: usize,
        days: u32,
        parallelism: u32,
    },
    /// An operation on an instance: the one operated last (`again`) or any.
    Operate {
        again: bool,
        pick: usize,
        op: Operation,
    },
    Advance {
        minutes: i64,
    },
}

#[derive(Debug, Clone)]
struct Plan {
    groups: Vec<GroupSpec>,
    nodes: Vec<NodeSpec>,
    steps: Vec<Step>,
}

const DAYS: [&str; 2] = ["2026-03-10", "2026-03-11"];

fn group() -> impl Strategy<Value = GroupSpec> {
    (1u32..=2, prop::option::of(1u32..=2))
        .prop_map(|(slots, share)| GroupSpec { slots, backfill_slots: share.map(|s| s.min(slots)) })
}

fn node(index: usize) -> impl Strategy<Value = NodeSpec> {
    let earlier = if index == 0 {
        Just(Vec::new()).boxed()
    } else {
        prop::collection::vec(0..index, 0..=1).boxed()
    };
    (
        earlier,
        prop::sample::select(vec!["0", "1", "0,6,12,18"]),
        prop::bool::weighted(0.25),
        0u32..=1,
        prop::bool::ANY,
        0usize..2,
        { prop::bool::weighted(0.1) },
    )
        .prop_map(|(mut upstream, hours, fails, retries, delayed, group, paused)| {
            upstream.sort_unstable();
            upstream.dedup();
            NodeSpec {
                upstream,
                hours,
                fails,
                retries,
                retry_delay_secs: if delayed { 600 } else { 0 },
                group,
                paused,
            }
        })
}

fn step(nodes: usize) -> impl Strategy<Value = Step> {
    let ops = vec![
        Operation::Kill,
        Operation::Rerun,
        Operation::SetSuccess,
        Operation::Pause,
        Operation::Resume,
    ];
    prop_oneof![
        2 => (0..DAYS.len()).prop_map(|day| Step::Snapshot { day }),
        1 => (0..nodes, 1u32..=6, 1u32..=3)
            .prop_map(|(node, days, parallelism)| Step::Backfill { node, days, parallelism }),
        5 => (prop::bool::ANY, any::<usize>(), prop::sample::select(ops))
            .prop_map(|(again, pick, op)| Step::Operate { again, pick, op }),
        2 => (0i64..=240).prop_map(|minutes| Step::Advance { minutes }),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    (3usize..=9)
        .prop_flat_map(|n| {
            let nodes: Vec<_> = (0..n).map(node).collect();
            (prop::collection::vec(group(), 2), nodes, prop::collection::vec(step(n), 3..=12))
        })
        .prop_map(|(groups, nodes, steps)| Plan { groups, nodes, steps })
}

fn name(index: usize) -> String {
    format!("n{index}")
}

/// The command of a node: it records, in its group's folder, which instances run at this moment
/// (a file per running process, gone when it ends, however it ends), then works a little.
fn command(dir: &Path, spec: &NodeSpec) -> String {
    let group = dir.join(format!("g{}", spec.group));
    let seen = dir.join(format!("g{}.seen", spec.group));
    format!(
        "d={group}; f=$d/$NIGHTSHIFT_INSTANCE_ID.$$; mkdir -p $d; \
         trap 'rm -f $f' EXIT; trap 'rm -f $f; exit 143' TERM; \
         touch $f; echo $(ls $d) >> {seen}; sleep 0.1; {end}",
        group = group.display(),
        seen = seen.display(),
        end = if spec.fails { "exit 1" } else { "true" },
    )
}

fn definitions(dir: &Path, plan: &Plan) -> String {
    let mut toml = String::new();
    for (i, g) in plan.groups.iter().enumerate() {
        toml += &format!("[[resource_groups]]\nname = \"g{i}\"\nslots = {}\n", g.slots);
        if let Some(share) = g.backfill_slots {
            toml += &format!("backfill_slots = {share}\n");
        }
    }
    for (i, spec) in plan.nodes.iter().enumerate() {
        let upstream: Vec<String> =
            spec.upstream.iter().map(|u| format!("\"{}\"", name(*u))).collect();
        toml += &format!(
            "[[nodes]]\nname = \"{}\"\nworkflow = \"w\"\nowner = \"alice\"\nschedule = \"0 {} * * *\"\n\
             command = '''{}'''\nresource_group = \"g{}\"\nretries = {}\nretry_delay_secs = {}\n\
             paused = {}\nupstream = [{}]\n",
            name(i),
            spec.hours,
            command(dir, spec),
            spec.group,
            spec.retries,
            spec.retry_delay_secs,
            spec.paused,
            upstream.join(", "),
        );
    }
    toml
}

async fn all_instances(h: &Harness) -> HashMap<InstanceId, Instance> {
    let mut all = HashMap::new();
    let mut before = None;
    loop {
        let page = h.store().list_instances(&InstanceFilter::default(), before, 500).await.unwrap();
        before = page.items.last().map(|i| i.id);
        all.extend(page.items.into_iter().map(|i| (i.id, i)));
        if page.next_cursor.is_none() {
            return all;
        }
    }
}

/// Waits until nothing can move without the clock or a person: nothing runs, nothing that may
/// start waits for a slot, and nothing is due. Returns the instances at that moment.
async fn still(h: &Harness, what: &str) -> HashMap<InstanceId, Instance> {
    eventually(what, async || {
        h.engine.wake();
        if h.store().release_due(h.engine.clock().now()).await.unwrap() > 0 {
            return None;
        }
        let all = all_instances(h).await;
        let busy =
            all.values().any(|i| i.state == Running || (i.state == WaitingResources && !i.paused));
        (!busy).then_some(all)
    })
    .await
}

/// The states the engine alone can lead to from `from` (itself included).
fn engine_reaches(from: InstanceState) -> &'static [InstanceState] {
    match from {
        NotRun => &[NotRun, WaitingTime, WaitingResources, Running, Success, Failed],
        WaitingTime | WaitingResources | Running => {
            &[WaitingTime, WaitingResources, Running, Success, Failed]
        }
        Success => &[Success],
        Failed => &[Failed],
        Stopped => &[Stopped],
    }
}

/// The instances started since the last look (from the engine's events).
fn drain_started(
    events: &mut tokio::sync::broadcast::Receiver<EngineEvent>,
) -> BTreeSet<InstanceId> {
    let mut started = BTreeSet::new();
    loop {
        match events.try_recv() {
            Ok(EngineEvent::Started { instances, .. }) => started.extend(instances),
            Ok(_) => {}
            Err(TryRecvError::Empty) => return started,
            Err(other) => panic!("the test missed engine events: {other}"),
        }
    }
}

async fn run(plan: Plan) {
    let h = Harness::start_manual("2026-03-10T00:30:00Z").await;
    let mut events = h.engine.subscribe();
    h.define(&definitions(h.dir.path(), &plan)).await;
    let admin = h.admin();
    let mut before = still(&h, "a still start").await;
    // Instances a person reran and that have not started since: a rerun runs an instance now,
    // whatever its upstream (a paused one when it is resumed).
    let mut rerun_by_hand = BTreeSet::new();
    let mut last = None;
    for (number, step) in plan.steps.iter().enumerate() {
        let at = format!("step {number} ({step:?})");
        // What a person did to one instance in this step, and the state it left.
        let mut operated: Option<(InstanceId, Operation, bool)> = None;
        match step {
            Step::Snapshot { day } => {
                h.snapshot(DAYS[*day]).await;
            }
            Step::Backfill { node, days, parallelism } => {
                let request = BackfillRequest {
                    node: name(*node),
                    downstream: Vec::new(),
                    from: "2026-02-01".into(),
                    to: format!("2026-02-{:02}", days),
                    order: DateOrder::default(),
                    parallelism: *parallelism,
                    dry_run: false,
                };
                admin.backfill(Ok(request)).await.unwrap();
            }
            Step::Advance { minutes } => h.clock().advance(Duration::minutes(*minutes)),
            Step::Operate { again, pick, op } => {
                let mut ids: Vec<_> = before.keys().copied().collect();
                ids.sort();
                let id = match last {
                    Some(id) if *again => Some(id),
                    _ => (!ids.is_empty()).then(|| ids[pick % ids.len()]),
                };
                if let Some(id) = id {
                    last = Some(id);
                    let was = &before[&id];
                    let ok = admin.operate(id, *op, Ok(Mode::Apply)).await.is_ok();
                    let allowed = rules::allowed_states(*op).contains(&was.state)
                        && rules::paused_guard(*op).admits(was.paused);
                    assert_eq!(ok, allowed, "{at}: {op:?} on {was:?}");
                    operated = Some((id, *op, ok));
                    match op {
                        Operation::Rerun if ok => rerun_by_hand.insert(id),
                        Operation::Kill | Operation::SetSuccess if ok => rerun_by_hand.remove(&id),
                        _ => false,
                    };
                }
            }
        }
        let after = still(&h, &at).await;
        let started = drain_started(&mut events);

        for id in &started {
            let instance = &after[id];
            assert!(!instance.paused, "{at}: a paused instance started: {instance:?}");
            // A retry continues the run its first attempt began (when its upstream had
            // succeeded, or a person reran it); an upstream rerun meanwhile does not stop it.
            let retry = before.get(id).is_some_and(|w| w.state == WaitingTime && w.attempt > 0);
            if !rerun_by_hand.remove(id) && !retry {
                let (upstream, _) = h.store().neighbors(*id).await.unwrap();
                for up in upstream {
                    assert_eq!(
                        up.state, Success,
                        "{at}: {instance:?} started before {up:?} succeeded"
                    );
                }
            }
        }
        for (id, now) in &after {
            let Some(was) = before.get(id) else { continue };
            match operated {
                Some((target, op, true)) if target == *id => match op {
                    Operation::Kill => assert_eq!(now.state, Stopped, "{at}: {now:?}"),
                    Operation::SetSuccess => assert_eq!(now.state, Success, "{at}: {now:?}"),
                    // A rerun keeps the pause: a paused instance it made ready stays frozen.
                    Operation::Rerun => assert!(
                        engine_reaches(NotRun).contains(&now.state) && now.paused == was.paused,
                        "{at}: {was:?} → {now:?}"
                    ),
                    Operation::Pause => {
                        assert!(now.paused && now.state == was.state, "{at}: {now:?}")
                    }
                    Operation::Resume => assert!(
                        !now.paused && engine_reaches(was.state).contains(&now.state),
                        "{at}: {was:?} → {now:?}"
                    ),
                    _ => unreachable!(),
                },
                _ => {
                    // Everything else moved by the engine alone (a rerun of an upstream changes
                    // nothing below it; a set success may promote it, which the engine does).
                    assert!(
                        engine_reaches(was.state).contains(&now.state),
                        "{at}: {} moved {:?} → {:?} by itself",
                        now.node,
                        was.state,
                        now.state
                    );
                    assert_eq!(was.paused, now.paused, "{at}: {now:?}");
                    if was.paused && was.state != Running {
                        assert_eq!(was.state, now.state, "{at}: a paused instance moved: {now:?}");
                        assert_eq!(
                            was.attempt, now.attempt,
                            "{at}: a paused instance ran: {now:?}"
                        );
                    }
                }
            }
        }
        let mismatches = h.store().count_mismatches().await.unwrap();
        assert!(mismatches.is_empty(), "{at}: {mismatches:?}");
        before = after;
    }

    // What the commands saw: who ran at once in each group.
    for (g, spec) in plan.groups.iter().enumerate() {
        let seen =
            std::fs::read_to_string(h.dir.path().join(format!("g{g}.seen"))).unwrap_or_default();
        let share = ResourceGroup::backfill_limit(spec.slots, spec.backfill_slots) as usize;
        for line in seen.lines() {
            let ids: Vec<InstanceId> = line
                .split_whitespace()
                .map(|f| InstanceId(f.split('.').next().unwrap().parse().unwrap()))
                .collect();
            assert!(ids.len() <= spec.slots as usize, "group g{g} ({spec:?}) ran {line} at once");
            let backfills =
                ids.iter().filter(|id| before[id].run_type == RunType::Backfill).count();
            assert!(backfills <= share, "group g{g} ({spec:?}) ran backfills {line} at once");
        }
    }
    h.stop().await;
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        max_shrink_iters: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_engine_keeps_its_invariants_under_random_graphs_operations_and_clock_moves(plan in plan()) {
        tokio::runtime::Runtime::new().unwrap().block_on(run(plan));
    }
}
