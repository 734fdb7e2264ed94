//! Alerts in the database: the rules, the ends of attempts waiting to be matched against them
//! (written by `record_attempts` in the transaction that records each end, so none is lost), what
//! fired (once per event: a unique key) and the outbox of its deliveries. Which rule matches what,
//! whether a cooldown folds an alert and when a failed delivery is tried again are the alert
//! watcher's decisions (`crate::alerts`); the store only records them.

use app::alerts::{Alert, AlertEvent, AlertRule, AlertRuleSpec, AlertStatus, Channel};
use app::baselines::{Baseline, BaselineSpec};
use app::model::{Instance, InstanceId, InstanceState};
use chrono::{DateTime, NaiveDate, Utc};

use super::{AuditEntry, Result};

/// A rule with how far its deadlines have been looked at.
#[derive(Debug, Clone)]
pub struct WatchedRule {
    pub rule: AlertRule,
    /// `not_finished_by`: the deadlines up to here have been looked at.
    pub checked_until: DateTime<Utc>,
}

/// The end of an attempt, as recorded, with its instance.
#[derive(Debug, Clone)]
pub struct AttemptEnd {
    /// Its place in the journal (deleted once matched).
    pub seq: i64,
    pub instance: Instance,
    pub attempt: i32,
    pub failed: bool,
    /// The instance's state right after it (`WaitingTime` after a failure: a retry is planned).
    pub state: InstanceState,
    /// Whether the attempt before it failed.
    pub previous_failed: bool,
    pub at: DateTime<Utc>,
    /// Why it failed (the attempt's reason).
    pub reason: Option<String>,
}

/// Which instances a rule watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Watched<'a> {
    pub workflow: Option<&'a str>,
    pub node: Option<&'a str>,
    pub owner: Option<&'a str>,
}

/// An alert to record.
#[derive(Debug, Clone)]
pub struct NewAlert<'a> {
    /// What fired, once (see the `alerts` table).
    pub key: String,
    pub rule_id: Option<i64>,
    pub rule: &'a str,
    pub baseline: Option<&'a str>,
    pub event: AlertEvent,
    pub instance_id: Option<InstanceId>,
    pub node: Option<&'a str>,
    pub run_date: Option<NaiveDate>,
    pub attempt: Option<i32>,
    /// Recorded but not sent (the rule's cooldown).
    pub folded: bool,
    pub payload: String,
    pub channels: &'a [Channel],
    pub at: DateTime<Utc>,
}

/// A delivery this process took on to send now.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub alert_id: i64,
    pub channel: Channel,
    /// Tries before this one.
    pub tries: u32,
    pub fired_at: DateTime<Utc>,
    pub rule: String,
    pub event: AlertEvent,
    pub payload: String,
}

/// How sending a delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Delivered,
    /// Not reached; tried again then.
    RetryAt {
        at: DateTime<Utc>,
        error: String,
    },
    /// Not reached, and not tried again.
    GaveUp {
        error: String,
    },
}

/// What `GET /alerts` asks for.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub rule: Option<i64>,
    pub instance: Option<InstanceId>,
    pub status: Option<AlertStatus>,
    /// Older than this alert (keyset paging, newest first).
    pub before: Option<i64>,
    pub limit: u32,
}

#[async_trait::async_trait]
pub trait AlertStore: Send + Sync {
    /// Every rule, in the order they were made.
    async fn alert_rules(&self) -> Result<Vec<WatchedRule>>;

    async fn alert_rule(&self, id: i64) -> Result<Option<AlertRule>>;

    /// How many rules and how many baselines there are.
    async fn watch_counts(&self) -> Result<(u64, u64)>;

    /// Starts a change of rules: one write transaction, audited in it.
    async fn begin_watch(&self) -> Result<Box<dyn WatchTx>>;

    /// The oldest ends of attempts not matched yet.
    async fn attempt_ends(&self, limit: u32) -> Result<Vec<AttemptEnd>>;

    /// Running instances whose attempt started at or before `before`.
    async fn running_since(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Instance>>;

    /// Cycle instances of a run date that have not succeeded, among those `watched`.
    async fn unfinished(
        &self,
        run_date: NaiveDate,
        watched: Watched<'_>,
        limit: u32,
    ) -> Result<Vec<Instance>>;

    /// Which of these keys have fired.
    async fn fired(&self, keys: &[String]) -> Result<Vec<String>>;

    /// Starts recording alerts: one write transaction.
    async fn begin_alerts(&self) -> Result<Box<dyn AlertTx>>;

    /// Takes on up to `limit` deliveries that are due and not being sent by another process,
    /// for this process (`by`) until `until`.
    async fn claim_deliveries(
        &self,
        by: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueDelivery>>;

    /// When the next pending delivery is due.
    async fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>>;

    /// Records how sending went, and the alert's status with it, if `by` still holds the
    /// delivery's claim (else another process took it over and its record stands).
    async fn finish_delivery(
        &self,
        id: i64,
        by: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Alerts, newest first, with their deliveries; and whether there are more.
    async fn list_alerts(&self, filter: &AlertFilter) -> Result<(Vec<Alert>, bool)>;

    /// Every baseline, by name.
    async fn baselines(&self) -> Result<Vec<Baseline>>;

    async fn baseline(&self, name: &str) -> Result<Option<Baseline>>;

    /// The cycle instances of these nodes on a run date and every instance upstream of them
    /// (at most `limit`), with the dependency edges among them (instance, upstream).
    async fn upstream_closure(
        &self,
        run_date: NaiveDate,
        nodes: &[String],
        limit: u32,
    ) -> Result<(Vec<Instance>, Vec<(InstanceId, InstanceId)>)>;

    /// How long the latest successful attempts of these nodes took (milliseconds), at most
    /// `per_node` of each, of instances planned since `since`: (node, duration). Dry runs, which
    /// run nothing, are left out.
    async fn recent_durations(
        &self,
        nodes: &[String],
        since: DateTime<Utc>,
        per_node: u32,
    ) -> Result<Vec<(String, i64)>>;
}

/// A change of rules.
#[async_trait::async_trait]
pub trait WatchTx: Send {
    async fn rule(&mut self, id: i64) -> Result<Option<AlertRule>>;

    /// Saves a new rule; its deadlines are looked at from `now` on.
    async fn insert_rule(
        &mut self,
        spec: &AlertRuleSpec,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<AlertRule>;

    /// Replaces a rule's fields (keeping who made it and when).
    async fn update_rule(
        &mut self,
        id: i64,
        spec: &AlertRuleSpec,
        now: DateTime<Utc>,
    ) -> Result<AlertRule>;

    async fn delete_rule(&mut self, id: i64) -> Result<()>;

    async fn baseline(&mut self, name: &str) -> Result<Option<Baseline>>;

    /// Saves a new baseline (a taken name is [`StoreError::Taken`](super::StoreError::Taken)).
    async fn insert_baseline(
        &mut self,
        spec: &BaselineSpec,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Baseline>;

    async fn update_baseline(
        &mut self,
        spec: &BaselineSpec,
        now: DateTime<Utc>,
    ) -> Result<Baseline>;

    async fn delete_baseline(&mut self, name: &str) -> Result<()>;

    async fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<i64>;

    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Recording what fired.
#[async_trait::async_trait]
pub trait AlertTx: Send {
    /// When the rule last fired an alert that was sent (not folded).
    async fn last_sent(&mut self, rule_id: i64) -> Result<Option<DateTime<Utc>>>;

    /// Records an alert and, unless folded, a pending delivery per channel; `None` when its
    /// key has fired before (nothing is written).
    async fn fire(&mut self, alert: &NewAlert<'_>) -> Result<Option<i64>>;

    /// Deletes matched ends of attempts.
    async fn forget_ends(&mut self, seqs: &[i64]) -> Result<()>;

    /// Moves a rule's deadline watermark.
    async fn checked(&mut self, rule_id: i64, until: DateTime<Utc>) -> Result<()>;

    async fn commit(self: Box<Self>) -> Result<()>;
}
