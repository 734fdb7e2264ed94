//! The alert watcher (every scheduler runs one): matches the ends of attempts the recorder
//! journaled against the rules, looks for runs that take too long and run dates whose deadline
//! passed, records what fired (once per event, folded within a rule's cooldown) with one pending
//! delivery per channel, and sends the due deliveries, trying again with backoff until they
//! arrive. Everything it decides is in [`matching`]; everything it remembers is in the database,
//! so a restart loses nothing and a second scheduler sends nothing twice.

pub mod baseline;
pub mod matching;
pub mod send;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use app::alerts::{AlertEvent, AlertRule, Channel};
use app::baselines::BaselineState;
use app::model::Instance;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, EngineEvent};
use crate::store::alerts::{DeliveryResult, DueDelivery, NewAlert, Watched, WatchedRule};
use crate::store::{Result, Store};
use send::Sender;
pub use send::SmtpConfig;

/// How the watcher is set up (`nightshift serve` flags).
#[derive(Debug, Clone)]
pub struct AlertConfig {
    /// Where people open an instance: the start of the links in alerts (`--public-url`).
    pub public_url: String,
    pub smtp: Option<SmtpConfig>,
}

/// The most ends of attempts matched in one pass, and deliveries sent at once.
const BATCH: u32 = 500;
const SENDS: u32 = 20;
/// The most instances one rule fires about at one deadline (a deadline over a whole project:
/// beyond that, one alert per instance helps nobody; the log says so).
const MAX_PER_CHECK: u32 = 10_000;
/// How long a process may take to send what it claimed before another one may.
const CLAIM: chrono::Duration = chrono::Duration::minutes(2);
/// How often the watcher looks, besides when it hears that an attempt ended.
const POLL: Duration = Duration::from_secs(1);
/// How long the watcher lets events gather before it looks.
const GATHER: Duration = Duration::from_millis(100);
/// How often baselines are predicted again when nothing else says so, and at most.
const BASELINE_EVERY: Duration = Duration::from_secs(10);
const BASELINE_AT_MOST: Duration = Duration::from_secs(1);

pub struct Watcher {
    store: Store,
    engine: Engine,
    tz: Tz,
    public_url: String,
    sender: Arc<Sender>,
    /// This process, as the claimant of deliveries.
    me: String,
    /// When baselines were last looked at (real time, clock time).
    baselines_checked: std::sync::Mutex<Option<(std::time::Instant, DateTime<Utc>)>>,
    /// Alerts were recorded: the delivery loop looks at once.
    recorded: tokio::sync::Notify,
}

impl Watcher {
    pub fn new(engine: &Engine, config: &AlertConfig) -> std::result::Result<Watcher, String> {
        Ok(Watcher {
            store: engine.store().clone(),
            engine: engine.clone(),
            tz: engine.config().tz,
            public_url: config.public_url.trim_end_matches('/').to_string(),
            sender: Arc::new(Sender::new(config.smtp.as_ref())?),
            me: crate::engine::bus::process_id(&engine.config().host),
            baselines_checked: std::sync::Mutex::new(None),
            recorded: tokio::sync::Notify::new(),
        })
    }

    /// Watches and delivers until the server stops: two loops, so that a receiver that does not
    /// answer never holds up what fires, nor a slow look what is sent.
    pub async fn run(self, cancel: CancellationToken) {
        let watcher = Arc::new(self);
        tokio::join!(watcher.clone().watch(cancel.clone()), watcher.send_due(cancel));
    }

    async fn send_due(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            if let Err(error) = self.deliver().await {
                tracing::error!(%error, "could not send the due alerts; trying again");
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.recorded.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    async fn watch(self: Arc<Self>, cancel: CancellationToken) {
        let mut events = self.engine.subscribe();
        loop {
            self.pass().await;
            tokio::select! {
                _ = cancel.cancelled() => return,
                heard = events.recv() => {
                    // No sender any more (the engine is going away): fall back to the poll.
                    if matches!(heard, Err(RecvError::Closed)) {
                        tokio::time::sleep(POLL).await;
                    }
                    // A busy engine sends many events: gather them, then look once.
                    tokio::time::sleep(GATHER).await;
                    while events.try_recv().is_ok() {}
                }
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One look at everything that may fire: new ends of attempts, slow runs, passed
    /// deadlines, baselines. A step that fails is said and the others still run.
    pub async fn pass(&self) {
        let now = self.engine.clock().now();
        let (seen, rules) = match self.match_ends(now).await {
            Ok(found) => found,
            Err(error) => {
                tracing::error!(%error, "could not match the ends of attempts; trying again");
                return;
            }
        };
        if let Err(error) = self.check_times(&rules, now).await {
            tracing::error!(%error, "could not look for slow runs and deadlines; trying again");
        }
        if let Err(error) = self.check_baselines(seen, now).await {
            tracing::error!(%error, "could not look at the baselines; trying again");
        }
    }

    /// Fires what the journaled ends of attempts match; whether there were any, and the rules.
    async fn match_ends(&self, now: DateTime<Utc>) -> Result<(bool, Vec<WatchedRule>)> {
        let ends = self.store.attempt_ends(BATCH).await?;
        let rules = self.store.alert_rules().await?;
        if !ends.is_empty() {
            let mut fired = Vec::new();
            for end in &ends {
                // The instance as this attempt left it (it may have moved on since).
                let mut ended = end.instance.clone();
                (ended.state, ended.attempt, ended.reason) =
                    (end.state, end.attempt, end.reason.clone());
                for watched in rules.iter().filter(|w| matching::fires_on(&w.rule, end)) {
                    fired.push(self.alert(&watched.rule, &ended, end.attempt, end.at));
                }
            }
            let seqs: Vec<i64> = ends.iter().map(|e| e.seq).collect();
            self.fire(fired, &seqs, &[], now).await?;
        }
        Ok((!ends.is_empty(), rules))
    }

    /// Runs that take too long, and run dates whose deadline passed.
    async fn check_times(&self, rules: &[WatchedRule], now: DateTime<Utc>) -> Result<()> {
        let slow: Vec<&AlertRule> = rules
            .iter()
            .map(|w| &w.rule)
            .filter(|r| r.event == AlertEvent::RunningLongerThan)
            .collect();
        let mut fired = Vec::new();
        if let Some(shortest) = slow.iter().filter_map(|r| r.minutes).min() {
            let running = self
                .store
                .running_since(now - chrono::Duration::minutes(shortest.into()), 10_000)
                .await?;
            for rule in slow {
                let limit = chrono::Duration::minutes(rule.minutes.unwrap_or(0).into());
                for instance in running.iter().filter(|i| {
                    matching::watches(rule, i) && i.started_at.is_some_and(|s| s + limit <= now)
                }) {
                    fired.push(self.alert(rule, instance, instance.attempt, now));
                }
            }
        }
        let mut checked = Vec::new();
        for watched in rules.iter().filter(|w| w.rule.event == AlertEvent::NotFinishedBy) {
            let rule = &watched.rule;
            let Some(at) = rule.at.as_deref().and_then(|at| app::alerts::parse_hhmm("at", at).ok())
            else {
                continue;
            };
            let due = matching::deadlines(at, self.tz, watched.checked_until, now);
            if due.is_empty() {
                continue;
            }
            let scope = Watched {
                workflow: rule.workflow.as_deref(),
                node: rule.node.as_deref(),
                owner: rule.owner.as_deref(),
            };
            for (run_date, deadline) in due {
                let late = self.store.unfinished(run_date, scope, MAX_PER_CHECK).await?;
                if late.len() == MAX_PER_CHECK as usize {
                    tracing::warn!(rule = rule.id, %run_date, "more unfinished instances than one deadline alerts about");
                }
                for instance in late {
                    if matching::watches(rule, &instance) {
                        fired.push(self.alert(rule, &instance, 0, deadline));
                    }
                }
            }
            checked.push(rule.id);
        }
        if fired.is_empty() && checked.is_empty() {
            return Ok(());
        }
        // Alerts of slow runs are looked for every pass: only new ones open a write.
        let keys: Vec<String> = fired.iter().map(|f| f.key.clone()).collect();
        let known: HashSet<String> = self.store.fired(&keys).await?.into_iter().collect();
        fired.retain(|f| !known.contains(&f.key));
        if fired.is_empty() && checked.is_empty() {
            return Ok(());
        }
        self.fire(fired, &[], &checked, now).await
    }

    /// An alert of `rule` about `instance` (not yet folded or recorded).
    fn alert(
        &self,
        rule: &AlertRule,
        instance: &Instance,
        attempt: i32,
        at: DateTime<Utc>,
    ) -> Fired {
        let payload = json!({
            "rule": rule.name,
            "rule_id": rule.id,
            "event": rule.event.as_str(),
            "instance": {
                "id": instance.id.0,
                "node": instance.node,
                "workflow": instance.workflow,
                "owner": instance.owner,
                "state": instance.state.as_str(),
                "run_type": instance.run_type.as_str(),
                "bizdate": instance.bizdate.to_string(),
                "run_date": instance.run_date.to_string(),
                "attempt": instance.attempt,
                "reason": instance.reason,
                "url": format!("{}/instances/{}", self.public_url, instance.id.0),
            },
            "at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        Fired {
            key: matching::key(rule.id, instance.id.0, attempt, rule.event),
            rule: Some((rule.id, rule.cooldown_mins)),
            name: rule.name.clone(),
            baseline: None,
            event: rule.event,
            instance: Some((instance.id, instance.node.clone(), attempt)),
            run_date: instance.run_date,
            payload: payload.to_string(),
            channels: rule.channels.clone(),
        }
    }

    /// Baselines at risk or late, looked at for yesterday's, today's and tomorrow's run dates
    /// (those whose commitment is less than a day past and after the baseline was made): when
    /// attempts ended, when the clock moved a minute, and at least every ten seconds.
    async fn check_baselines(&self, ends_seen: bool, now: DateTime<Utc>) -> Result<()> {
        {
            let mut last = self.baselines_checked.lock().expect("not poisoned");
            // Every ten seconds; sooner (but not more than once a second) when attempts ended or
            // the clock moved a minute.
            let due = last.is_none_or(|(real, clock): (std::time::Instant, DateTime<Utc>)| {
                let moved = ends_seen || now - clock >= chrono::Duration::minutes(1);
                real.elapsed() >= BASELINE_EVERY || (moved && real.elapsed() >= BASELINE_AT_MOST)
            });
            if !due {
                return Ok(());
            }
            *last = Some((std::time::Instant::now(), now));
        }
        let baselines = self.store.baselines().await?;
        let today = now.with_timezone(&self.tz).date_naive();
        let mut fired = Vec::new();
        for b in &baselines {
            let Ok(at) = app::alerts::parse_hhmm("commit_by", &b.commit_by) else { continue };
            for run_date in [today.pred_opt(), Some(today), today.succ_opt()].into_iter().flatten()
            {
                let Some(commit) = matching::local(self.tz, run_date, at) else { continue };
                if commit < b.created_at || commit < now - chrono::Duration::days(1) {
                    continue;
                }
                let status = match baseline::status(&self.store, b, run_date, self.tz, now).await {
                    Ok(Some(status)) => status,
                    Ok(None) => continue,
                    Err(error) => {
                        tracing::error!(%error, baseline = %b.name, "could not predict a baseline");
                        continue;
                    }
                };
                let event = match status.status {
                    BaselineState::AtRisk => AlertEvent::AtRisk,
                    BaselineState::Late => AlertEvent::Late,
                    BaselineState::OnTime | BaselineState::Done => continue,
                };
                let stamp =
                    |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let payload = json!({
                    "baseline": b.name,
                    "rule": b.name,
                    "event": event.as_str(),
                    "run_date": run_date.to_string(),
                    "status": status.status.as_str(),
                    "predicted_finish": stamp(status.predicted_finish),
                    "commit_by": stamp(status.commit_by),
                    "critical_path": status.critical_path.iter().map(|i| i.0).collect::<Vec<_>>(),
                    "url": format!("{}/baselines?run_date={run_date}", self.public_url),
                    "at": stamp(now),
                });
                fired.push(Fired {
                    key: format!("baseline:{}:{run_date}:{}", b.name, event.as_str()),
                    rule: None,
                    name: b.name.clone(),
                    baseline: Some(b.name.clone()),
                    event,
                    instance: None,
                    run_date,
                    payload: payload.to_string(),
                    channels: b.channels.clone(),
                });
            }
        }
        let keys: Vec<String> = fired.iter().map(|f| f.key.clone()).collect();
        if keys.is_empty() {
            return Ok(());
        }
        let known: HashSet<String> = self.store.fired(&keys).await?.into_iter().collect();
        fired.retain(|f| !known.contains(&f.key));
        if fired.is_empty() {
            return Ok(());
        }
        self.fire(fired, &[], &[], now).await
    }

    /// Records what fired (each key once; folded within its rule's cooldown), forgets the ends
    /// it came from and moves the deadline watermarks, in one transaction.
    async fn fire(
        &self,
        fired: Vec<Fired>,
        seqs: &[i64],
        checked: &[i64],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.store.begin_alerts().await?;
        let mut recorded = 0;
        for f in &fired {
            let folded = match f.rule {
                Some((id, cooldown)) => matching::folded(cooldown, tx.last_sent(id).await?, now),
                None => false,
            };
            let alert = NewAlert {
                key: f.key.clone(),
                rule_id: f.rule.map(|(id, _)| id),
                rule: &f.name,
                baseline: f.baseline.as_deref(),
                event: f.event,
                instance_id: f.instance.as_ref().map(|i| i.0),
                node: f.instance.as_ref().map(|i| i.1.as_str()),
                run_date: Some(f.run_date),
                attempt: f.instance.as_ref().map(|i| i.2).filter(|a| *a > 0),
                folded,
                payload: f.payload.clone(),
                channels: &f.channels,
                at: now,
            };
            if tx.fire(&alert).await?.is_some() {
                recorded += 1;
            }
        }
        tx.forget_ends(seqs).await?;
        for rule in checked {
            tx.checked(*rule, now).await?;
        }
        tx.commit().await?;
        if recorded > 0 {
            tracing::info!(alerts = recorded, "alerts fired");
            self.recorded.notify_one();
        }
        Ok(())
    }

    /// Sends what is due, all at once, and records how each went.
    async fn deliver(&self) -> Result<()> {
        let now = self.engine.clock().now();
        if self.store.next_delivery_at().await?.is_none_or(|at| at > now) {
            return Ok(());
        }
        let due = self.store.claim_deliveries(&self.me, now, now + CLAIM, SENDS).await?;
        let sends = due.into_iter().map(|delivery| {
            let sender = self.sender.clone();
            async move {
                let outcome = sender.send(&delivery).await;
                (delivery, outcome)
            }
        });
        for (delivery, outcome) in futures_util::future::join_all(sends).await {
            let now = self.engine.clock().now();
            let result = match outcome {
                Ok(()) => DeliveryResult::Delivered,
                Err(failure) => match failure
                    .retry
                    .then(|| matching::retry_at(delivery.tries + 1, delivery.fired_at, now))
                    .flatten()
                {
                    Some(at) => DeliveryResult::RetryAt { at, error: failure.error },
                    None => DeliveryResult::GaveUp { error: failure.error },
                },
            };
            // One that cannot be recorded is said and sent again when its claim lapses; the
            // others are still recorded.
            match self.store.finish_delivery(delivery.id, &self.me, &result, now).await {
                Ok(()) => self.announce(&delivery, &result),
                Err(error) => tracing::error!(%error, "could not record an alert's delivery"),
            }
        }
        Ok(())
    }

    fn announce(&self, delivery: &DueDelivery, result: &DeliveryResult) {
        let outcome = match result {
            DeliveryResult::Delivered => "delivered",
            DeliveryResult::RetryAt { .. } => "retry",
            DeliveryResult::GaveUp { .. } => "failed",
        };
        self.engine.announce(EngineEvent::AlertDelivery {
            channel: delivery.channel.kind().to_string(),
            outcome: outcome.to_string(),
        });
    }
}

/// An alert about to be recorded.
struct Fired {
    key: String,
    /// The rule that fired, with its cooldown; none for a baseline's alert.
    rule: Option<(i64, u32)>,
    /// The rule's or baseline's name.
    name: String,
    baseline: Option<String>,
    event: AlertEvent,
    /// The instance it is about (id, node, attempt; 0: no attempt in particular).
    instance: Option<(app::model::InstanceId, String, i32)>,
    run_date: chrono::NaiveDate,
    payload: String,
    channels: Vec<Channel>,
}
