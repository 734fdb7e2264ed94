//! The engine's state transitions, each a guarded, set-based update:
//! not run → waiting for time → waiting for resources → running → success | failed.

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
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failed {
        exit_code: Option<i32>,
        reason: String,
    },
}

/// What [`Store::finish_attempt`] did.
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
    pub pid: Option<i64>,
    pub pid_start: Option<i64>,
    pub retry: RetryPolicy,
}

/// A resource group that has instances queued and slots free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeSlots {
    pub group: String,
    pub free: u32,
}

/// Promotes the not-run instances among `candidates` (a SQL expression over ids) whose
/// upstream instances have all succeeded and are not paused.
const PROMOTE: &str = "UPDATE instances SET state = 'waiting_time', updated_at = ?1 \
     WHERE state = 'not_run' AND paused = 0 AND NOT EXISTS ( \
       SELECT 1 FROM instance_deps d JOIN instances u ON u.id = d.upstream_id \
       WHERE d.instance_id = instances.id AND (u.state <> 'success' OR u.paused <> 0))";

impl Store {
    /// Promotes every ready not-run instance (a full sweep, used at start-up).
    pub async fn promote_all(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(PROMOTE)
            .bind(to_ms(now))
            .execute(&self.write)
            .await?;
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
        .fetch_all(&self.write)
        .await?;
        Ok(rows
            .into_iter()
            .filter(|(_, slots, running)| running < slots)
            .map(|(group, slots, running)| FreeSlots {
                group,
                free: (slots - running) as u32,
            })
            .collect())
    }

    /// Moves up to `limit` queued instances of a group to running (priority, then time, then
    /// id) and returns them. The attempt number goes up by one.
    pub async fn claim(
        &self,
        group: &str,
        limit: u32,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claim>> {
        let mut tx = self.write.begin().await?;
        let claimed: Vec<(i64,)> = sqlx::query_as(
            "UPDATE instances SET state = 'running', attempt = attempt + 1, started_at = ?1, \
             ended_at = NULL, exit_code = NULL, host = ?2, reason = NULL, updated_at = ?1 \
             WHERE id IN ( \
               SELECT i.id FROM instances i JOIN nodes n ON n.id = i.node_id \
               WHERE i.state = 'waiting_resources' AND i.paused = 0 AND n.resource_group = ?3 \
               ORDER BY i.priority, i.ready_at, i.id LIMIT ?4) \
             AND state = 'waiting_resources' AND paused = 0 \
             RETURNING id",
        )
        .bind(to_ms(now))
        .bind(host)
        .bind(group)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT i.id, i.attempt, n.name, n.command, n.timeout_secs, n.retries, \
             n.retry_delay_secs, i.run_type, i.bizdate, i.planned_at \
             FROM instances i JOIN nodes n ON n.id = i.node_id WHERE i.id IN (",
        );
        let mut list = query.separated(", ");
        for (id,) in &claimed {
            list.push_bind(*id);
        }
        query.push(") ORDER BY i.priority, i.ready_at, i.id");
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, i64, String, String, i64, i64, i64, String, String, i64)> =
            query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.into_iter()
            .map(
                |(
                    id,
                    attempt,
                    node,
                    command,
                    timeout,
                    retries,
                    delay,
                    run_type,
                    bizdate,
                    planned,
                )| {
                    Ok(Claim {
                        instance_id: InstanceId(id),
                        attempt: attempt as i32,
                        node_name: node,
                        command,
                        timeout_secs: timeout as u32,
                        retry: RetryPolicy {
                            retries: retries as u32,
                            delay_secs: delay as u32,
                        },
                        run_type: run_type
                            .parse()
                            .map_err(|_| StoreError::Corrupt(run_type))?,
                        bizdate: date(&bizdate)?,
                        planned_at: from_ms(planned),
                    })
                },
            )
            .collect()
    }

    /// Records that an attempt's process started (or is about to: `pid` may come later).
    pub async fn record_start(
        &self,
        id: InstanceId,
        attempt: i32,
        host: &str,
        log_path: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO attempts (instance_id, attempt, started_at, host, log_path) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (instance_id, attempt) DO NOTHING",
        )
        .bind(id.0)
        .bind(attempt)
        .bind(to_ms(now))
        .bind(host)
        .bind(log_path)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Records the process of a started attempt, so recovery can find it after a crash.
    pub async fn record_pid(
        &self,
        id: InstanceId,
        attempt: i32,
        pid: i64,
        pid_start: Option<i64>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE attempts SET pid = ?3, pid_start = ?4 WHERE instance_id = ?1 AND attempt = ?2",
        )
        .bind(id.0)
        .bind(attempt)
        .bind(pid)
        .bind(pid_start)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Ends an attempt: records it, then moves the instance (only if it is still running this
    /// attempt) to success, to failed, or back to waiting for time for an automatic retry.
    /// Success promotes the downstream in the same transaction.
    pub async fn finish_attempt(
        &self,
        id: InstanceId,
        attempt: i32,
        outcome: &Outcome,
        retry: RetryPolicy,
        now: DateTime<Utc>,
    ) -> Result<Finish> {
        let now_ms = to_ms(now);
        let (outcome_name, exit_code, reason) = match outcome {
            Outcome::Success => ("success", Some(0), None),
            Outcome::Failed { exit_code, reason } => ("failed", *exit_code, Some(reason.as_str())),
        };
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE attempts SET ended_at = ?3, exit_code = ?4, outcome = ?5, reason = ?6 \
             WHERE instance_id = ?1 AND attempt = ?2",
        )
        .bind(id.0)
        .bind(attempt)
        .bind(now_ms)
        .bind(exit_code)
        .bind(outcome_name)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        let state: Option<String> = match outcome {
            Outcome::Success => {
                sqlx::query_scalar(
                    "UPDATE instances SET state = 'success', ended_at = ?3, exit_code = 0, \
                     reason = NULL, updated_at = ?3 \
                     WHERE id = ?1 AND attempt = ?2 AND state = 'running' RETURNING state",
                )
                .bind(id.0)
                .bind(attempt)
                .bind(now_ms)
                .fetch_optional(&mut *tx)
                .await?
            }
            Outcome::Failed { .. } => {
                let retry_at =
                    now_ms + Duration::seconds(retry.delay_secs as i64).num_milliseconds();
                sqlx::query_scalar(
                    "UPDATE instances SET \
                       state = CASE WHEN auto_retries < ?4 THEN 'waiting_time' ELSE 'failed' END, \
                       ready_at = CASE WHEN auto_retries < ?4 THEN ?5 ELSE ready_at END, \
                       auto_retries = CASE WHEN auto_retries < ?4 THEN auto_retries + 1 \
                                      ELSE auto_retries END, \
                       ended_at = ?3, exit_code = ?6, reason = ?7, updated_at = ?3 \
                     WHERE id = ?1 AND attempt = ?2 AND state = 'running' RETURNING state",
                )
                .bind(id.0)
                .bind(attempt)
                .bind(now_ms)
                .bind(retry.retries as i64)
                .bind(retry_at)
                .bind(exit_code)
                .bind(reason)
                .fetch_optional(&mut *tx)
                .await?
            }
        };
        let state = state
            .map(|s| {
                s.parse::<InstanceState>()
                    .map_err(|_| StoreError::Corrupt(s))
            })
            .transpose()?;
        let promoted = if state == Some(InstanceState::Success) {
            promote_downstream(&mut tx, id, now_ms).await?
        } else {
            0
        };
        tx.commit().await?;
        Ok(Finish { state, promoted })
    }

    /// Running instances with their current attempt's process, for recovery after a restart.
    pub async fn open_attempts(&self) -> Result<Vec<OpenAttempt>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, i64, Option<i64>, Option<i64>, i64, i64)> = sqlx::query_as(
            "SELECT i.id, i.attempt, a.pid, a.pid_start, n.retries, n.retry_delay_secs \
             FROM instances i JOIN nodes n ON n.id = i.node_id \
             LEFT JOIN attempts a ON a.instance_id = i.id AND a.attempt = i.attempt \
             WHERE i.state = 'running' ORDER BY i.id",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, attempt, pid, pid_start, retries, delay)| OpenAttempt {
                    instance_id: InstanceId(id),
                    attempt: attempt as i32,
                    pid,
                    pid_start,
                    retry: RetryPolicy {
                        retries: retries as u32,
                        delay_secs: delay as u32,
                    },
                },
            )
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
