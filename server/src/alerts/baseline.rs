//! A baseline's prediction: walk the instance DAG upstream of its nodes' instances of a run
//! date, from what has finished, runs and waits now, with each node's expected duration; the
//! latest finish of its own nodes is the predicted finish, and the chain of instances that
//! decided it is the critical path.
//!
//! The expected duration of a node is the median of its latest successful attempts (at most 10,
//! of the last 30 days). The median, because one odd run (a slow day, a rerun after a fix) should
//! not move a prediction people act on, and a mean would be pulled by exactly that run. A node
//! with no history is expected to take no time (the prediction is then optimistic). Slots are
//! not modelled: an instance is assumed to start as soon as its upstream finished and its time
//! came. An instance on the way that waits for a person (failed, stopped, paused) is assumed to
//! be rerun now, and makes the status at least `at_risk` at once.

use std::collections::{HashMap, HashSet};

use app::baselines::{Baseline, BaselineState, BaselineStatus, PredictedInstance};
use app::model::{Instance, InstanceId, InstanceState};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::store::{Result, Store};

/// The most instances one prediction walks.
const MAX_INSTANCES: u32 = 20_000;
/// How much history a node's expected duration comes from.
const HISTORY_RUNS: u32 = 10;
const HISTORY_DAYS: i64 = 30;

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2 })
}

/// When each instance started or will, and finishes or will.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicted {
    pub start: DateTime<Utc>,
    pub finish: DateTime<Utc>,
    /// The upstream instance whose finish decided its start, if one did.
    pub waited_for: Option<InstanceId>,
}

/// Predicts every instance of `instances` (upstream first; `edges`: instance, upstream).
pub fn predict(
    instances: &[Instance],
    edges: &[(InstanceId, InstanceId)],
    expected: &HashMap<String, Duration>,
    now: DateTime<Utc>,
) -> HashMap<InstanceId, Predicted> {
    let known: HashSet<InstanceId> = instances.iter().map(|i| i.id).collect();
    let mut upstream: HashMap<InstanceId, Vec<InstanceId>> = HashMap::new();
    let mut waiting_on: HashMap<InstanceId, usize> = HashMap::new();
    let mut downstream: HashMap<InstanceId, Vec<InstanceId>> = HashMap::new();
    for (instance, up) in edges {
        if known.contains(instance) && known.contains(up) {
            upstream.entry(*instance).or_default().push(*up);
            *waiting_on.entry(*instance).or_default() += 1;
            downstream.entry(*up).or_default().push(*instance);
        }
    }
    let by_id: HashMap<InstanceId, &Instance> = instances.iter().map(|i| (i.id, i)).collect();
    let mut ready: Vec<InstanceId> =
        instances.iter().map(|i| i.id).filter(|id| !waiting_on.contains_key(id)).collect();
    let mut out: HashMap<InstanceId, Predicted> = HashMap::new();
    while let Some(id) = ready.pop() {
        let instance = by_id[&id];
        let last_upstream = upstream
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|up| out.get(up).map(|p| (p.finish, *up)))
            .max();
        // A dry run (a holiday of its calendar) takes no time: it runs no command.
        let took = if instance.dry_run {
            Duration::zero()
        } else {
            expected.get(&instance.node).copied().unwrap_or_default()
        };
        let predicted = match instance.state {
            InstanceState::Success => {
                let finish = instance.ended_at.unwrap_or(now);
                let start = instance.started_at.unwrap_or(finish);
                Predicted { start, finish, waited_for: last_upstream.map(|(_, up)| up) }
            }
            InstanceState::Running => {
                let start = instance.started_at.unwrap_or(now);
                let finish = (start + took).max(now);
                Predicted { start, finish, waited_for: last_upstream.map(|(_, up)| up) }
            }
            // Not started yet; a failed, stopped or paused one waits for a person, assumed to
            // act now.
            _ => {
                let own = instance.planned_at.max(now);
                let (start, waited_for) = match last_upstream {
                    Some((finish, up)) if finish > own => (finish, Some(up)),
                    _ => (own, None),
                };
                Predicted { start, finish: start + took, waited_for }
            }
        };
        out.insert(id, predicted);
        for down in downstream.get(&id).into_iter().flatten() {
            let left = waiting_on.get_mut(down).expect("counted");
            *left -= 1;
            if *left == 0 {
                ready.push(*down);
            }
        }
    }
    out
}

/// Whether an instance can only go on when a person acts (failed, stopped, paused).
pub fn waits_for_a_person(instance: &Instance) -> bool {
    instance.paused || matches!(instance.state, InstanceState::Failed | InstanceState::Stopped)
}

/// The status of a prediction of the instances of the baseline's own nodes (`promised`).
/// `stuck`: something on the way waits for a person, which puts the promise at risk now,
/// whatever the durations say (nobody may look until it is too late).
pub fn judge(
    promised: &[&Instance],
    predicted: &HashMap<InstanceId, Predicted>,
    stuck: bool,
    commit: DateTime<Utc>,
    margin: Duration,
    now: DateTime<Utc>,
) -> (BaselineState, DateTime<Utc>, Vec<InstanceId>) {
    let last = promised.iter().filter_map(|i| predicted.get(&i.id).map(|p| (p.finish, i.id))).max();
    let Some((finish, last)) = last else { return (BaselineState::OnTime, now, Vec::new()) };
    let mut path = vec![last];
    while let Some(up) = predicted.get(path.last().expect("not empty")).and_then(|p| p.waited_for) {
        if path.contains(&up) {
            break;
        }
        path.push(up);
    }
    path.reverse();
    let state = if promised.iter().all(|i| i.state == InstanceState::Success) {
        BaselineState::Done
    } else if now > commit {
        BaselineState::Late
    } else if stuck || finish > commit - margin {
        BaselineState::AtRisk
    } else {
        BaselineState::OnTime
    };
    (state, finish, path)
}

/// The baseline's status for a run date now; `None` when the run date has no instances of its
/// nodes (no snapshot yet).
pub async fn status(
    store: &Store,
    baseline: &Baseline,
    run_date: NaiveDate,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Option<BaselineStatus>> {
    let (instances, edges) =
        store.upstream_closure(run_date, &baseline.nodes, MAX_INSTANCES).await?;
    let own: HashSet<&str> = baseline.nodes.iter().map(String::as_str).collect();
    // The baseline's own instances are those of its run date (an upstream of another date, a
    // node's previous cycle, is only upstream).
    let promised: Vec<&Instance> = instances
        .iter()
        .filter(|i| i.run_date == run_date && own.contains(i.node.as_str()))
        .collect();
    if promised.is_empty() {
        return Ok(None);
    }
    let mut names: Vec<String> = instances.iter().map(|i| i.node.clone()).collect();
    names.sort();
    names.dedup();
    let since = now - Duration::days(HISTORY_DAYS);
    let mut history: HashMap<String, Vec<i64>> = HashMap::new();
    for (node, ms) in store.recent_durations(&names, since, HISTORY_RUNS).await? {
        history.entry(node).or_default().push(ms);
    }
    let expected: HashMap<String, Duration> = history
        .into_iter()
        .filter_map(|(node, mut ms)| median(&mut ms).map(|m| (node, Duration::milliseconds(m))))
        .collect();
    let predicted = predict(&instances, &edges, &expected, now);
    let at =
        app::alerts::parse_hhmm("commit_by", &baseline.commit_by).unwrap_or(chrono::NaiveTime::MIN);
    let commit = super::matching::local(tz, run_date, at).unwrap_or(now);
    let margin = Duration::minutes(baseline.margin_mins.into());
    let stuck = instances.iter().any(waits_for_a_person);
    let (state, finish, critical_path) = judge(&promised, &predicted, stuck, commit, margin, now);
    let shown = instances
        .iter()
        .filter_map(|i| {
            let p = predicted.get(&i.id)?;
            Some(PredictedInstance {
                id: i.id,
                node: i.node.clone(),
                state: i.state,
                start: p.start,
                finish: p.finish,
                promised: i.run_date == run_date && own.contains(i.node.as_str()),
            })
        })
        .collect();
    Ok(Some(BaselineStatus {
        name: baseline.name.clone(),
        run_date: run_date.to_string(),
        status: state,
        predicted_finish: finish,
        commit_by: commit,
        margin_mins: baseline.margin_mins,
        critical_path,
        instances: shown,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::RunType;

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minute)
    }

    fn instance(id: i64, node: &str, state: InstanceState) -> Instance {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        Instance {
            id: InstanceId(id),
            node: node.into(),
            workflow: "wf".into(),
            owner: "ann".into(),
            state,
            paused: false,
            run_type: RunType::Cycle,
            bizdate: day,
            run_date: day,
            planned_at: t(0),
            created_at: t(0),
            started_at: None,
            ended_at: None,
            attempt: 0,
            exit_code: None,
            host: None,
            resource_group: "default".into(),
            reason: None,
            definition_version: None,
            dry_run: false,
        }
    }

    #[test]
    fn medians_ignore_one_odd_run() {
        assert_eq!(median(&mut [10, 11, 500]), Some(11));
        assert_eq!(median(&mut [10, 20]), Some(15));
        assert_eq!(median(&mut []), None);
    }

    /// a → b → d and a → c → d: c takes longer, so the path runs through c; a finished, b runs.
    #[test]
    fn the_prediction_follows_the_longest_chain_from_what_is_known_now() {
        use InstanceState::*;
        let mut a = instance(1, "a", Success);
        a.started_at = Some(t(0));
        a.ended_at = Some(t(10));
        let mut b = instance(2, "b", Running);
        b.started_at = Some(t(10));
        let c = instance(3, "c", WaitingResources);
        let d = instance(4, "d", NotRun);
        let edges = [(b.id, a.id), (c.id, a.id), (d.id, b.id), (d.id, c.id)];
        let expected: HashMap<String, Duration> = [("b", 5), ("c", 30), ("d", 10)]
            .map(|(n, m)| (n.to_string(), Duration::minutes(m)))
            .into();
        let now = t(12);
        let all = [a.clone(), b.clone(), c.clone(), d.clone()];
        let predicted = predict(&all, &edges, &expected, now);
        assert_eq!(predicted[&b.id].finish, t(15));
        // c could have started at 10 but has not: it starts now.
        assert_eq!(predicted[&c.id], Predicted { start: t(12), finish: t(42), waited_for: None });
        assert_eq!(
            predicted[&d.id],
            Predicted { start: t(42), finish: t(52), waited_for: Some(c.id) }
        );
        // On a holiday of c's calendar, c is a dry run: it takes no time, d follows b.
        let mut dry = c.clone();
        dry.dry_run = true;
        let holiday = predict(&[a.clone(), b.clone(), dry, d.clone()], &edges, &expected, now);
        assert_eq!(holiday[&c.id].finish, t(12));
        assert_eq!(
            holiday[&d.id],
            Predicted { start: t(15), finish: t(25), waited_for: Some(b.id) }
        );
        let (state, finish, path) =
            judge(&[&d], &predicted, false, t(70), Duration::minutes(10), now);
        assert_eq!((state, finish, path), (BaselineState::OnTime, t(52), vec![c.id, d.id]));
        // The same with an upstream that failed and waits for a person: at risk at once.
        let (state, ..) = judge(&[&d], &predicted, true, t(70), Duration::minutes(10), now);
        assert_eq!(state, BaselineState::AtRisk);
        let mut broken = c.clone();
        broken.state = Failed;
        assert!(waits_for_a_person(&broken) && !waits_for_a_person(&c));
        let mut held = c.clone();
        held.paused = true;
        assert!(waits_for_a_person(&held));
        // A slow b (still running at 50) moves everything after it.
        let later = predict(&all, &edges, &expected, t(50));
        // c starts now (50), takes 30; d after it.
        assert_eq!(later[&d.id].finish, t(90));
        let (state, ..) = judge(&[&d], &later, false, t(70), Duration::minutes(10), t(50));
        assert_eq!(state, BaselineState::AtRisk);
        let (state, ..) = judge(&[&d], &later, false, t(45), Duration::minutes(10), t(50));
        assert_eq!(state, BaselineState::Late);
        let finished = |mut i: Instance, start, end| {
            i.state = Success;
            i.started_at = Some(t(start));
            i.ended_at = Some(t(end));
            i
        };
        let (a_id, c_id, d_id) = (a.id, c.id, d.id);
        let all = [a, finished(b, 10, 14), finished(c, 14, 40), finished(d, 40, 49)];
        let over = predict(&all, &edges, &expected, t(50));
        let (state, finish, path) =
            judge(&[&all[3]], &over, false, t(45), Duration::minutes(10), t(50));
        assert_eq!((state, finish), (BaselineState::Done, t(49)));
        assert_eq!(path, vec![a_id, c_id, d_id]);
    }
}
