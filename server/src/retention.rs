//! Retention: instances, logs and audit entries older than the configured numbers of days are
//! deleted by a background job (`--keep-instances-days`, `--keep-logs-days`,
//! `--keep-audit-days`). It works in small batches, each its own short transaction with a pause
//! after it, so the scheduler's transactions never wait long behind it; a purge of millions of
//! rows takes a while and blocks nothing.
//!
//! What may go is decided here: an instance of a run date older than the limit that is not
//! waiting or running, and that no instance still waiting or running waits for (a downstream
//! that still has to decide whether it may start keeps its upstream). Its attempts, shipped
//! logs and alerts go with it. A log on disk (`logs/<run date>/…`) goes with its run date's
//! folder; logs are never kept longer than their instances. Test and backfill jobs go when
//! their last instance has.

use std::path::Path;
use std::time::Duration;

use app::model::InstanceId;
use app::model::InstanceState::{self, *};
use chrono::{DateTime, Days, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::store::retention::Before;
use crate::store::{Result, Store};

/// The states an instance may be purged in: finished, or never started.
pub const PURGEABLE: [InstanceState; 4] = [Success, Failed, Stopped, NotRun];

/// The states of a downstream instance that keeps its upstream: it may still start.
pub const WAITING: [InstanceState; 4] = [NotRun, WaitingTime, WaitingResources, Running];

/// How long things are kept (0: forever), and how the job paces itself.
#[derive(Debug, Clone)]
pub struct RetentionConfig {
    pub keep_instances_days: u32,
    pub keep_logs_days: u32,
    pub keep_audit_days: u32,
    /// Rows per transaction.
    pub batch: u32,
    /// The pause after each batch.
    pub pause: Duration,
    /// How often the job looks.
    pub every: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            keep_instances_days: 90,
            keep_logs_days: 30,
            keep_audit_days: 365,
            batch: 500,
            pause: Duration::from_millis(20),
            every: Duration::from_secs(3600),
        }
    }
}

/// What is old enough to go: instances and logs of a run date before the cutoff's date that
/// were made before its moment (a backfill of old dates made today is new); audit entries
/// written before a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutoffs {
    pub instances: Option<Before>,
    pub logs: Option<Before>,
    pub audit: Option<DateTime<Utc>>,
}

impl RetentionConfig {
    /// The cutoffs on `today` (the project's date) at `now`. A log never outlives its instance.
    pub fn cutoffs(&self, today: NaiveDate, now: DateTime<Utc>) -> Cutoffs {
        let before = |days: u32| {
            (days > 0).then(|| Before {
                date: today - Days::new(days.into()),
                made: now - chrono::Duration::days(days.into()),
            })
        };
        let instances = before(self.keep_instances_days);
        let logs = match (before(self.keep_logs_days), instances) {
            (Some(logs), Some(instances)) => {
                Some(if logs.date > instances.date { logs } else { instances })
            }
            (logs, instances) => logs.or(instances),
        };
        let audit = (self.keep_audit_days > 0)
            .then(|| now - chrono::Duration::days(self.keep_audit_days.into()));
        Cutoffs { instances, logs, audit }
    }
}

/// What one pass deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    pub instances: u64,
    pub jobs: u64,
    pub audit: u64,
    /// Run dates whose log folder went from this machine's disk.
    pub log_days: u64,
    /// Instances whose shipped logs went from the database.
    pub shipped_logs: u64,
}

/// Calls `batch` (one short transaction deleting at most `config.batch` rows) until it deletes
/// nothing, pausing after each one that did; returns how many rows went.
async fn in_batches<F, Fut>(config: &RetentionConfig, mut batch: F) -> Result<u64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64>>,
{
    let mut total = 0;
    loop {
        let n = batch().await?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
        tokio::time::sleep(config.pause).await;
    }
}

/// One pass over the database (a scheduler's part): instances, jobs, audit entries and shipped
/// logs before the cutoffs, batch by batch. `from` is the earliest run date that may still have
/// shipped logs (the previous pass's log cutoff); it returns the next pass's.
pub async fn purge_database(
    store: &Store,
    cutoffs: &Cutoffs,
    config: &RetentionConfig,
    from: Option<NaiveDate>,
    purged: &mut Purged,
) -> Result<Option<NaiveDate>> {
    if let Some(before) = cutoffs.instances {
        // Through the instances in id order (creation order) up to the first new one; again
        // while a walk deleted something (an old downstream that went frees its upstream).
        loop {
            let mut after = InstanceId(0);
            let mut this_walk = 0;
            loop {
                let step = store
                    .purge_instances(before, after, config.batch, &PURGEABLE, &WAITING)
                    .await?;
                this_walk += step.purged;
                tokio::time::sleep(config.pause).await;
                match step.last {
                    Some(last) if !step.reached_new => after = last,
                    _ => break,
                }
            }
            purged.instances += this_walk;
            if this_walk == 0 {
                break;
            }
        }
        purged.jobs +=
            in_batches(config, || store.purge_empty_jobs(before.made, config.batch)).await?;
    }
    if let Some(before) = cutoffs.audit {
        purged.audit += in_batches(config, || store.purge_audit(before, config.batch)).await?;
    }
    let Some(before) = cutoffs.logs else { return Ok(from) };
    if store.is_shared() {
        let mut day = match from {
            Some(day) => day,
            None => match store.oldest_run_date().await? {
                Some(day) => day,
                None => return Ok(Some(before.date)),
            },
        };
        while day < before.date {
            purged.shipped_logs +=
                in_batches(config, || store.purge_shipped_logs(day, before.made, config.batch))
                    .await?;
            day = day.succ_opt().expect("a date before the cutoff has a next day");
        }
    }
    Ok(Some(before.date))
}

/// Deletes the log folders (`logs/<run date>/`) of run dates before `before.date` from this
/// machine's data directory when nothing was written in them since `before.made` (a backfill
/// of an old date writes into an old date's folder), one run date at a time. Folders that are
/// not run dates are left alone.
pub async fn purge_log_folders(data_dir: &Path, before: Before, purged: &mut Purged) {
    let logs = data_dir.join("logs");
    let Ok(mut entries) = tokio::fs::read_dir(&logs).await else { return };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name();
        let Some(day) = name.to_str().and_then(|n| n.parse::<NaiveDate>().ok()) else {
            continue;
        };
        if day >= before.date || written_since(&entry.path(), before.made).await {
            continue;
        }
        match tokio::fs::remove_dir_all(entry.path()).await {
            Ok(()) => purged.log_days += 1,
            Err(error) => {
                tracing::warn!(%error, folder = %entry.path().display(), "could not delete old logs")
            }
        }
    }
}

/// Whether a log was made in `folder` (or its fan-out folders) at or after `since`.
async fn written_since(folder: &Path, since: DateTime<Utc>) -> bool {
    let changed = |meta: &std::fs::Metadata| {
        meta.modified().map(|at| DateTime::<Utc>::from(at) >= since).unwrap_or(true)
    };
    let Ok(meta) = tokio::fs::metadata(folder).await else { return true };
    if changed(&meta) {
        return true;
    }
    let Ok(mut entries) = tokio::fs::read_dir(folder).await else { return true };
    while let Ok(Some(entry)) = entries.next_entry().await {
        match entry.metadata().await {
            Ok(meta) if !changed(&meta) => {}
            _ => return true,
        }
    }
    false
}

/// One whole pass of this process: the database if it is a scheduler, its own disk if it runs
/// commands.
pub async fn pass(
    engine: &Engine,
    config: &RetentionConfig,
    from: Option<NaiveDate>,
) -> Result<(Purged, Option<NaiveDate>)> {
    let now = engine.clock().now();
    let today = now.with_timezone(&engine.config().tz).date_naive();
    let cutoffs = config.cutoffs(today, now);
    let mut purged = Purged::default();
    let roles = &engine.config().roles;
    let mut next = from;
    if roles.scheduler {
        next = purge_database(engine.store(), &cutoffs, config, from, &mut purged).await?;
    }
    if roles.worker
        && let Some(before) = cutoffs.logs
    {
        purge_log_folders(&engine.config().data_dir, before, &mut purged).await;
    }
    Ok((purged, next))
}

/// The background job: a pass soon after the start and then every `config.every`.
pub async fn run(engine: Engine, config: RetentionConfig, cancel: CancellationToken) {
    let mut from = None;
    let mut wait = Duration::from_secs(60).min(config.every);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = config.every;
        let started = std::time::Instant::now();
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            result = pass(&engine, &config, from) => result,
        };
        match result {
            Ok((purged, next)) => {
                from = next;
                if purged != Purged::default() {
                    tracing::info!(
                        instances = purged.instances,
                        jobs = purged.jobs,
                        audit = purged.audit,
                        log_days = purged.log_days,
                        shipped_logs = purged.shipped_logs,
                        millis = started.elapsed().as_millis() as u64,
                        "purged what is older than the retention"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "the retention pass failed; it tries again later"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_cutoffs_count_days_back_from_today_and_logs_never_outlive_instances() {
        let now: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().unwrap();
        let today = day("2026-12-03");
        let config = RetentionConfig::default();
        let cut = config.cutoffs(today, now);
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            cut.instances,
            Some(Before { date: day("2026-09-04"), made: at("2026-09-04T10:00:00Z") })
        );
        assert_eq!(
            cut.logs,
            Some(Before { date: day("2026-11-03"), made: at("2026-11-03T10:00:00Z") })
        );
        assert_eq!(cut.audit, Some("2025-12-03T10:00:00Z".parse().unwrap()));

        let longer_logs = RetentionConfig { keep_logs_days: 400, ..config.clone() };
        assert_eq!(longer_logs.cutoffs(today, now).logs, cut.instances);
        let forever = RetentionConfig {
            keep_instances_days: 0,
            keep_logs_days: 0,
            keep_audit_days: 0,
            ..config.clone()
        };
        assert_eq!(
            forever.cutoffs(today, now),
            Cutoffs { instances: None, logs: None, audit: None }
        );
        let logs_only = RetentionConfig { keep_instances_days: 0, ..config };
        assert_eq!(logs_only.cutoffs(today, now).logs, cut.logs);
    }

    #[test]
    fn only_finished_or_never_started_instances_go_and_only_waiting_ones_keep_their_upstream() {
        for state in InstanceState::ALL {
            let active = matches!(state, WaitingTime | WaitingResources | Running);
            assert_eq!(PURGEABLE.contains(&state), !active, "{state:?}");
            let may_start = !matches!(state, Success | Failed | Stopped);
            assert_eq!(WAITING.contains(&state), may_start, "{state:?}");
        }
    }
}
