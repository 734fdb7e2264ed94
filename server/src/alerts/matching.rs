//! What fires: which rule watches which instance, which end of an attempt is which event, when a
//! run date's deadline falls, when a cooldown folds an alert and when a failed delivery is tried
//! again. Pure functions, tested here; the watcher (`super`) reads and writes around them.

use app::alerts::{AlertEvent, AlertRule};
use app::model::{Instance, InstanceState, RunType};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::store::alerts::AttemptEnd;

/// Whether `rule` watches `instance`: its workflow, node and owner (those the rule names), and
/// production work only (cycle and backfill instances; a test run is watched by the person who
/// started it).
pub fn watches(rule: &AlertRule, instance: &Instance) -> bool {
    let is = |wanted: &Option<String>, value: &str| wanted.as_deref().is_none_or(|w| w == value);
    instance.run_type != RunType::Test
        && is(&rule.workflow, &instance.workflow)
        && is(&rule.node, &instance.node)
        && is(&rule.owner, &instance.owner)
}

/// Whether the end of an attempt is the event `rule` watches.
pub fn fires_on(rule: &AlertRule, end: &AttemptEnd) -> bool {
    watches(rule, &end.instance)
        && match rule.event {
            AlertEvent::Failed => end.failed,
            AlertEvent::RetriesExhausted => end.failed && end.state == InstanceState::Failed,
            AlertEvent::Recovered => !end.failed && end.previous_failed,
            _ => false,
        }
}

/// What makes an alert of a rule about an instance one event: the attempt for the ends of
/// attempts and for a run that takes too long, none for a run date's deadline.
pub fn key(rule_id: i64, instance: i64, attempt: i32, event: AlertEvent) -> String {
    format!("rule:{rule_id}:{instance}:{attempt}:{}", event.as_str())
}

/// The farthest back deadlines are looked for (a scheduler that was down longer).
const LOOK_BACK_DAYS: i64 = 7;

/// The run dates whose deadline (`at` on that date, in `tz`) falls in `(after, until]`, with it.
pub fn deadlines(
    at: NaiveTime,
    tz: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<(NaiveDate, DateTime<Utc>)> {
    let after = after.max(until - Duration::days(LOOK_BACK_DAYS));
    let first = after.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = until.with_timezone(&tz).date_naive();
    first
        .iter_days()
        .take_while(|date| *date <= last)
        .filter_map(|date| {
            let deadline = local(tz, date, at)?;
            (deadline > after && deadline <= until).then_some((date, deadline))
        })
        .collect()
}

/// A local time of a date as a moment: the earlier one when the clock goes back, the first
/// moment after the gap when it goes forward.
pub fn local(tz: Tz, date: NaiveDate, at: NaiveTime) -> Option<DateTime<Utc>> {
    let wall = date.and_time(at);
    tz.from_local_datetime(&wall)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(wall + Duration::hours(1))).earliest())
        .map(|t| t.with_timezone(&Utc))
}

/// Whether an alert of a rule with this cooldown is folded, given when it last sent one.
pub fn folded(cooldown_mins: u32, last_sent: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    cooldown_mins > 0
        && last_sent.is_some_and(|last| now - last < Duration::minutes(cooldown_mins.into()))
}

/// How long a delivery is tried before it is given up.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);

/// When a delivery that failed for the `tries`-th time is tried again: 1 s, 2 s, 4 s, … at most
/// 5 minutes apart; `None` once it has been tried for [`GIVE_UP_AFTER`].
pub fn retry_at(tries: u32, fired_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let wait = Duration::seconds(1_i64 << tries.saturating_sub(1).min(9)).min(Duration::minutes(5));
    (now - fired_at < GIVE_UP_AFTER).then_some(now + wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::InstanceId;

    fn instance(node: &str, run_type: RunType) -> Instance {
        let t = DateTime::from_timestamp(0, 0).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        Instance {
            id: InstanceId(7),
            node: node.into(),
            workflow: "wf".into(),
            owner: "ann".into(),
            state: InstanceState::Failed,
            paused: false,
            run_type,
            bizdate: day,
            run_date: day,
            planned_at: t,
            created_at: t,
            started_at: None,
            ended_at: None,
            attempt: 1,
            exit_code: None,
            host: None,
            resource_group: "default".into(),
            reason: None,
            definition_version: None,
            dry_run: false,
        }
    }

    fn rule(event: AlertEvent) -> AlertRule {
        let t = DateTime::from_timestamp(0, 0).unwrap();
        AlertRule {
            id: 1,
            name: "r".into(),
            workflow: None,
            node: None,
            owner: None,
            event,
            at: None,
            minutes: None,
            channels: vec![],
            cooldown_mins: 0,
            created_by: "ann".into(),
            created_at: t,
            updated_at: t,
        }
    }

    fn end(failed: bool, state: InstanceState, previous_failed: bool) -> AttemptEnd {
        AttemptEnd {
            seq: 1,
            instance: instance("a", RunType::Cycle),
            attempt: 2,
            failed,
            state,
            previous_failed,
            at: DateTime::from_timestamp(0, 0).unwrap(),
            reason: None,
        }
    }

    /// Event × how the attempt ended: failed with a retry planned, failed for good, succeeded
    /// after a failure, succeeded after a success.
    #[test]
    fn ends_of_attempts_fire_the_events_they_are() {
        use InstanceState::{Failed, Success, WaitingTime};
        let ends = [
            end(true, WaitingTime, false),
            end(true, Failed, true),
            end(false, Success, true),
            end(false, Success, false),
        ];
        let table = [
            (AlertEvent::Failed, [true, true, false, false]),
            (AlertEvent::RetriesExhausted, [false, true, false, false]),
            (AlertEvent::Recovered, [false, false, true, false]),
            (AlertEvent::NotFinishedBy, [false, false, false, false]),
            (AlertEvent::RunningLongerThan, [false, false, false, false]),
        ];
        for (event, expected) in table {
            let fired: Vec<bool> = ends.iter().map(|e| fires_on(&rule(event), e)).collect();
            assert_eq!(fired, expected, "{event:?}");
        }
    }

    #[test]
    fn a_rule_watches_what_it_names_and_never_tests() {
        let cycle = instance("a", RunType::Cycle);
        assert!(watches(&rule(AlertEvent::Failed), &cycle));
        assert!(watches(&rule(AlertEvent::Failed), &instance("a", RunType::Backfill)));
        assert!(!watches(&rule(AlertEvent::Failed), &instance("a", RunType::Test)));
        let named = |workflow: Option<&str>, node: Option<&str>, owner: Option<&str>| AlertRule {
            workflow: workflow.map(Into::into),
            node: node.map(Into::into),
            owner: owner.map(Into::into),
            ..rule(AlertEvent::Failed)
        };
        assert!(watches(&named(Some("wf"), Some("a"), Some("ann")), &cycle));
        assert!(!watches(&named(Some("other"), None, None), &cycle));
        assert!(!watches(&named(None, Some("b"), None), &cycle));
        assert!(!watches(&named(None, None, Some("bob")), &cycle));
    }

    #[test]
    fn deadlines_fall_once_on_each_run_date_in_the_project_time_zone() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let at = NaiveTime::from_hms_opt(7, 30, 0).unwrap();
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // 07:30 in Shanghai is 23:30 UTC the day before.
        let found = deadlines(at, tz, utc("2026-12-02T00:00:00Z"), utc("2026-12-02T23:30:00Z"));
        let dates: Vec<String> = found.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(dates, ["2026-12-03"]);
        assert_eq!(found[0].1, utc("2026-12-02T23:30:00Z"));
        // Nothing twice: the next window starts where this one ended.
        assert!(
            deadlines(at, tz, utc("2026-12-02T23:30:00Z"), utc("2026-12-03T23:00:00Z")).is_empty()
        );
        // A long outage looks back a week at most.
        let long = deadlines(at, tz, utc("2026-01-01T00:00:00Z"), utc("2026-12-02T23:30:00Z"));
        assert_eq!(long.len(), 7);
    }

    #[test]
    fn cooldowns_fold_and_retries_back_off() {
        let t = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert!(!folded(0, Some(t), t));
        assert!(folded(10, Some(t), t + Duration::minutes(9)));
        assert!(!folded(10, Some(t), t + Duration::minutes(10)));
        assert!(!folded(10, None, t));
        let waits: Vec<i64> =
            (1..=12).map(|n| (retry_at(n, t, t).unwrap() - t).num_seconds()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(retry_at(3, t, t + GIVE_UP_AFTER), None);
    }
}
