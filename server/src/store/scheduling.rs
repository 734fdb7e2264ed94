//! The engine's state transitions, each a guarded, set-based update:
//! not run → waiting for time → waiting for resources → running → success | failed.

use std::collections::HashMap;

use app::model::{InstanceId, InstanceState, RunType};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::rows::date;
use super::{Result, Store, StoreError, from_ms, to_ms};

/// How a failed attempt is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub retries: u32,
    pub delay_secs: u32,
}

/// An instance the dispatcher has just moved to running, with what the executor needs.
#[derive(Debug, Clone)]
pub struct Claim {
    pub instance_id: InstanceId,
    pub attempt: i32,
    pub node_name: String,
    pub command: String,
    pub timeout_secs: u32,
    pub retry: RetryPolicy,
    pub run_type: RunType,
    pub bizdate: NaiveDate,
    pub planned_at: DateTime<Utc>,
    /// Where the attempt's log goes, relative to the data directory.
    pub log_path: String,
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    attempt: i64,
    name: String,
    command: String,
    timeout_secs: i64,
    retries: i64,
    retry_delay_secs: i64,
    run_type: String,
    bizdate: String,
    planned_at: i64,
    log_path: String,
}

impl ClaimRow {
    fn into_claim(self) -> Result<Claim> {
        Ok(Claim {
            instance_id: InstanceId(self.id),
            attempt: self.attempt as i32,
            node_name: self.name,
            command: self.command,
            timeout_secs: self.timeout_secs as u32,
            retry: RetryPolicy {
                retries: self.retries as u32,
                delay_secs: self.retry_delay_secs as u32,
            },
            run_type: self.run_type.parse().map_err(|_| StoreError::Corrupt(self.run_type))?,
            bizdate: date(&self.bizdate)?,
            planned_at: from_ms(self.planned_at),
            log_path: self.log_path,
        })
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failed { exit_code: Option<i32>, reason: String },
}

/// The process of a started attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartedProcess {
    pub instance_id: InstanceId,
    pub attempt: i32,
    pub pid: i64,
    /// See `attempts.pid_start`.
    pub pid_start: Option<i64>,
}

/// The end of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedAttempt {
    pub instance_id: InstanceId,
    pub attempt: i32,
    pub outcome: Outcome,
    pub retry: RetryPolicy,
    pub at: DateTime<Utc>,
}

/// Rows per statement when recording attempts in bulk.
const BATCH: usize = 400;

/// What [`Store::record_attempts`] did with one finished attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// The instance's new state, or `None` if it had already left this attempt (killed).
    pub state: Option<InstanceState>,
    /// Downstream instances that became ready.
    pub promoted: u64,
}

/// A running instance as recovery sees it after a restart.
#[derive(Debug, Clone)]
pub struct OpenAttempt {
    pub instance_id: InstanceId,
    pub attempt: i32,
    pub log_path: Option<String>,
    pub pid: Option<i64>,
    pub pid_start: Option<i64>,
    pub retry: RetryPolicy,
}

/// A resource group that has instances queued and slots free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeSlots {
    pub group: String,
    pub slots: u32,
    pub free: u32,
}

/// Promotes not-run instances whose upstream instances have all succeeded and are not paused:
/// to waiting for time, or straight on to waiting for resources when their time has come
/// (`?1` is now). Callers narrow it with `AND ...`.
pub(super) const PROMOTE: &str = "UPDATE instances SET updated_at = ?1, \
     state = CASE WHEN ready_at <= ?1 THEN 'waiting_resources' ELSE 'waiting_time' END \
     WHERE state = 'not_run' AND paused = 0 AND NOT EXISTS ( \
       SELECT 1 FROM instance_deps d JOIN instances u ON u.id = d.upstream_id \
       WHERE d.instance_id = instances.id AND (u.state <> 'success' OR u.paused <> 0))";

impl Store {
    /// Promotes every ready not-run instance (a full sweep, used at start-up).
    pub async fn promote_all(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(PROMOTE).bind(to_ms(now)).execute(&self.write).await?;
        Ok(done.rows_affected())
    }

    /// Promotes the ready downstream instances of one instance.
    pub async fn promote_downstream(&self, id: InstanceId, now: DateTime<Utc>) -> Result<u64> {
        let mut conn = self.write.acquire().await?;
        promote_downstream(&mut conn, id, to_ms(now)).await
    }

    /// Moves every due instance from waiting for time to waiting for resources.
    pub async fn release_due(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE instances SET state = 'waiting_resources', updated_at = ?1 \
             WHERE state = 'waiting_time' AND paused = 0 AND ready_at <= ?1",
        )
        .bind(to_ms(now))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// When the next instance waiting for time becomes due.
    pub async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(ready_at) FROM instances WHERE state = 'waiting_time' AND paused = 0",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(at.map(from_ms))
    }

    /// Resource groups with queued instances and free slots.
    pub async fn free_slots(&self) -> Result<Vec<FreeSlots>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT g.name, g.slots, ( \
               SELECT COUNT(*) FROM instances i JOIN nodes n ON n.id = i.node_id \
               WHERE i.state = 'running' AND n.resource_group = g.name) \
             FROM resource_groups g WHERE EXISTS ( \
               SELECT 1 FROM instances i JOIN nodes n ON n.id = i.node_id \
               WHERE i.state = 'waiting_resources' AND i.paused = 0 \
               AND n.resource_group = g.name)",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .filter(|(_, slots, running)| running < slots)
            .map(|(group, slots, running)| FreeSlots {
                group,
                slots: slots as u32,
                free: (slots - running) as u32,
            })
            .collect())
    }

    /// Moves up to `slots.free` queued instances of a group to running (priority, then time,
    /// then id) and returns them; the attempt number goes up by one. Backfill instances never
    /// take the last slot of a group that has more than one: it stays for cycle and test work.
    pub async fn claim(
        &self,
        slots: &FreeSlots,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claim>> {
        let mut tx = self.write.begin().await?;
        let candidates: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT i.id, i.priority FROM instances i JOIN nodes n ON n.id = i.node_id \
             WHERE i.state = 'waiting_resources' AND i.paused = 0 AND n.resource_group = ?1 \
             ORDER BY i.priority, i.ready_at, i.id LIMIT ?2",
        )
        .bind(&slots.group)
        .bind(slots.free as i64)
        .fetch_all(&mut *tx)
        .await?;
        let backfill = RunType::Backfill.priority();
        let mut allowance = i64::MAX;
        if slots.slots > 1 && candidates.iter().any(|(_, p)| *p >= backfill) {
            let running: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM instances i JOIN nodes n ON n.id = i.node_id \
                 WHERE i.state = 'running' AND i.priority >= ?2 AND n.resource_group = ?1",
            )
            .bind(&slots.group)
            .bind(backfill)
            .fetch_one(&mut *tx)
            .await?;
            allowance = slots.slots as i64 - 1 - running;
        }
        let chosen: Vec<i64> = candidates
            .into_iter()
            .filter(|(_, priority)| {
                if *priority < backfill {
                    return true;
                }
                allowance -= 1;
                allowance >= 0
            })
            .map(|(id, _)| id)
            .collect();
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let claimed: Vec<(i64,)> = sqlx::query_as(
            "UPDATE instances SET state = 'running', attempt = attempt + 1, started_at = ?1, \
             ended_at = NULL, exit_code = NULL, host = ?2, reason = NULL, updated_at = ?1 \
             WHERE id IN (SELECT value FROM json_each(?3)) \
             AND state = 'waiting_resources' AND paused = 0 \
             RETURNING id",
        )
        .bind(to_ms(now))
        .bind(host)
        .bind(serde_json::to_string(&chosen).expect("numbers"))
        .fetch_all(&mut *tx)
        .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        // Every attempt is recorded in the claiming transaction, with the place of its log.
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO attempts (instance_id, attempt, started_at, host, log_path) \
             SELECT id, attempt, started_at, host, 'logs/' || run_date || '/' || (id % 64) || '/' || id || '.' || attempt || '.log' \
             FROM instances WHERE id IN (",
        );
        let mut list = insert.separated(", ");
        for (id,) in &claimed {
            list.push_bind(*id);
        }
        insert.push(")");
        insert.build().execute(&mut *tx).await?;
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT i.id, i.attempt, n.name, n.command, n.timeout_secs, n.retries, \
             n.retry_delay_secs, i.run_type, i.bizdate, i.planned_at, a.log_path \
             FROM instances i JOIN nodes n ON n.id = i.node_id \
             JOIN attempts a ON a.instance_id = i.id AND a.attempt = i.attempt WHERE i.id IN (",
        );
        let mut list = query.separated(", ");
        for (id,) in &claimed {
            list.push_bind(*id);
        }
        query.push(") ORDER BY i.priority, i.ready_at, i.id");
        let rows: Vec<ClaimRow> = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.into_iter().map(ClaimRow::into_claim).collect()
    }

    /// Ends one attempt (see [`Store::record_attempts`]).
    pub async fn finish_attempt(&self, finished: FinishedAttempt) -> Result<Finish> {
        let mut done = self.record_attempts(&[], &[finished]).await?;
        Ok(done.remove(0))
    }

    /// Records, in one transaction (a group commit), the processes of started attempts (so
    /// recovery can find them after a crash) and the ends of finished ones. A finished attempt
    /// moves its instance, only if it is still running that attempt, to success, to failed, or
    /// back to waiting for time for an automatic retry; successes promote their downstream in
    /// the same transaction. Returns one [`Finish`] per finished attempt, in order.
    pub async fn record_attempts(
        &self,
        started: &[StartedProcess],
        finished: &[FinishedAttempt],
    ) -> Result<Vec<Finish>> {
        let mut tx = self.write.begin().await?;
        for chunk in started.chunks(BATCH) {
            let mut query =
                QueryBuilder::<Sqlite>::new("WITH p (instance_id, attempt, pid, pid_start) AS (");
            query.push_values(chunk, |mut row, p| {
                row.push_bind(p.instance_id.0)
                    .push_bind(p.attempt)
                    .push_bind(p.pid)
                    .push_bind(p.pid_start);
            });
            query.push(
                ") UPDATE attempts SET pid = p.pid, pid_start = p.pid_start FROM p \
                 WHERE attempts.instance_id = p.instance_id AND attempts.attempt = p.attempt",
            );
            query.build().execute(&mut *tx).await?;
        }
        let mut states: HashMap<(i64, i32), InstanceState> = HashMap::new();
        let mut promoted: HashMap<i64, u64> = HashMap::new();
        for chunk in finished.chunks(BATCH) {
            let values = |query: &mut QueryBuilder<Sqlite>| {
                query.push(
                    "WITH f (instance_id, attempt, ended_at, exit_code, outcome, reason, retries, \
                     retry_at) AS (",
                );
                query.push_values(chunk, |mut row, f| {
                    let ended = to_ms(f.at);
                    let (outcome, exit_code, reason) = match &f.outcome {
                        Outcome::Success => ("success", Some(0), None),
                        Outcome::Failed { exit_code, reason } => {
                            ("failed", *exit_code, Some(reason.clone()))
                        }
                    };
                    let retry_at =
                        ended + Duration::seconds(f.retry.delay_secs as i64).num_milliseconds();
                    row.push_bind(f.instance_id.0)
                        .push_bind(f.attempt)
                        .push_bind(ended)
                        .push_bind(exit_code)
                        .push_bind(outcome)
                        .push_bind(reason)
                        .push_bind(f.retry.retries as i64)
                        .push_bind(retry_at);
                });
                query.push(") ");
            };
            let mut query = QueryBuilder::<Sqlite>::new("");
            values(&mut query);
            query.push(
                "UPDATE attempts SET ended_at = f.ended_at, exit_code = f.exit_code, \
                 outcome = f.outcome, reason = f.reason FROM f \
                 WHERE attempts.instance_id = f.instance_id AND attempts.attempt = f.attempt",
            );
            query.build().execute(&mut *tx).await?;

            let mut query = QueryBuilder::<Sqlite>::new("");
            values(&mut query);
            query.push(
                "UPDATE instances SET \
                   state = CASE WHEN f.outcome = 'success' THEN 'success' \
                                WHEN instances.auto_retries < f.retries THEN 'waiting_time' \
                                ELSE 'failed' END, \
                   ready_at = CASE WHEN f.outcome <> 'success' AND instances.auto_retries < f.retries \
                                   THEN f.retry_at ELSE instances.ready_at END, \
                   auto_retries = CASE WHEN f.outcome <> 'success' \
                                       AND instances.auto_retries < f.retries \
                                       THEN instances.auto_retries + 1 ELSE instances.auto_retries END, \
                   ended_at = f.ended_at, exit_code = f.exit_code, reason = f.reason, \
                   updated_at = f.ended_at \
                 FROM f WHERE instances.id = f.instance_id AND instances.attempt = f.attempt \
                   AND instances.state = 'running' \
                 RETURNING instances.id, instances.attempt, instances.state",
            );
            let rows: Vec<(i64, i32, String)> = query.build_query_as().fetch_all(&mut *tx).await?;
            for (id, attempt, state) in rows {
                let state =
                    state.parse::<InstanceState>().map_err(|_| StoreError::Corrupt(state))?;
                states.insert((id, attempt), state);
            }
            let now = chunk.iter().map(|f| to_ms(f.at)).max().unwrap_or_default();
            for f in chunk {
                if states.get(&(f.instance_id.0, f.attempt)) == Some(&InstanceState::Success) {
                    let count = promote_downstream(&mut tx, f.instance_id, now).await?;
                    promoted.insert(f.instance_id.0, count);
                }
            }
        }
        tx.commit().await?;
        Ok(finished
            .iter()
            .map(|f| Finish {
                state: states.get(&(f.instance_id.0, f.attempt)).copied(),
                promoted: promoted.get(&f.instance_id.0).copied().unwrap_or_default(),
            })
            .collect())
    }

    /// Running instances with their current attempt's process, for recovery after a restart.
    pub async fn open_attempts(&self) -> Result<Vec<OpenAttempt>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, i64, Option<String>, Option<i64>, Option<i64>, i64, i64)> = sqlx::query_as(
            "SELECT i.id, i.attempt, a.log_path, a.pid, a.pid_start, n.retries, n.retry_delay_secs \
             FROM instances i JOIN nodes n ON n.id = i.node_id \
             LEFT JOIN attempts a ON a.instance_id = i.id AND a.attempt = i.attempt \
             WHERE i.state = 'running' ORDER BY i.id",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, attempt, log_path, pid, pid_start, retries, delay)| OpenAttempt {
                instance_id: InstanceId(id),
                attempt: attempt as i32,
                log_path,
                pid,
                pid_start,
                retry: RetryPolicy { retries: retries as u32, delay_secs: delay as u32 },
            })
            .collect())
    }
}

async fn promote_downstream(conn: &mut SqliteConnection, id: InstanceId, now: i64) -> Result<u64> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{PROMOTE} AND id IN (SELECT instance_id FROM instance_deps WHERE upstream_id = ?2)"
    )))
    .bind(now)
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
