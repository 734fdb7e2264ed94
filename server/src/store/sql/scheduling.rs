//! The engine's state transitions on SQLite, each a guarded, set-based update.

use std::collections::HashMap;

use super::{Conn, Db, dialect};
use app::model::{InstanceId, InstanceState, RunType};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Transaction};

use super::rows::date;
use super::{CHUNK, SqlStore, push_ids};
use crate::store::scheduling::{
    AfterAttempt, Claim, ClaimTx, Finish, FinishedAttempt, GroupLoad, NewAttempt, OpenAttempt,
    Outcome, Queued, RetryPolicy, SchedulingStore, StartedProcess,
};
use crate::store::{Result, StoreError, WriteLock, from_ms, to_ms};

use InstanceState::{NotRun, Running, Success, WaitingResources, WaitingTime};

/// A state the statement itself fixes (a transition's target, the guard the rules give it), as
/// an SQL literal made from the typed value. SQLite uses a partial index only when the query
/// repeats its condition literally (a parameter cannot imply it), and it runs an update guarded
/// by a literal state several times faster than by a bound one (the promotion: 7 µs against
/// 42 µs). States that are data (list filters, an attempt's next state) are bound as typed
/// values, and states read back are decoded as typed values; none is ever written by hand.
pub(super) fn literal(state: InstanceState) -> String {
    format!("'{}'", state.as_str())
}

/// The promotion of not-run instances whose upstream instances have all succeeded and are not
/// paused: to waiting for time, or straight on to waiting for resources when their time has
/// come. Callers narrow it with `AND …`.
pub(super) fn promotion(now: i64) -> QueryBuilder<Db> {
    let mut query = QueryBuilder::new("UPDATE instances SET updated_at = ");
    query.push_bind(now).push(", state = CASE WHEN ready_at <= ").push_bind(now).push(format!(
        " THEN {} ELSE {} END WHERE state = {} AND paused = FALSE AND NOT EXISTS ( \
         SELECT 1 FROM instance_deps d JOIN instances u ON u.id = d.upstream_id \
         WHERE d.instance_id = instances.id AND (u.state <> {} OR u.paused <> FALSE))",
        literal(WaitingResources),
        literal(WaitingTime),
        literal(NotRun),
        literal(Success)
    ));
    query
}

/// Promotes the ready instances directly downstream of `ids`.
pub(super) async fn promote_downstream(
    conn: &mut Conn,
    ids: &[InstanceId],
    now: i64,
) -> Result<u64> {
    let mut query = promotion(now);
    query.push(" AND id IN (SELECT instance_id FROM instance_deps WHERE upstream_id");
    push_ids(&mut query, ids);
    query.push(")");
    Ok(query.build().execute(&mut *conn).await?.rows_affected())
}

/// The columns of [`OpenRow`], read `FROM {OPEN_FROM}`.
pub(super) const OPEN_COLUMNS: &str = "i.id, i.attempt, a.log_path, a.pid, a.pid_start, \
    n.retries, n.retry_delay_secs, i.auto_retries, \
    COALESCE(a.started_at, i.started_at, 0) AS started_at, n.timeout_secs, i.host";
pub(super) const OPEN_FROM: &str = "instances i JOIN nodes n ON n.id = i.node_id \
    LEFT JOIN attempts a ON a.instance_id = i.id AND a.attempt = i.attempt";

/// A running instance with its current attempt, as recovery and the lease check read it.
#[derive(sqlx::FromRow)]
pub(super) struct OpenRow {
    id: i64,
    attempt: i64,
    log_path: Option<String>,
    pid: Option<i64>,
    pid_start: Option<i64>,
    retries: i64,
    retry_delay_secs: i64,
    auto_retries: i64,
    started_at: i64,
    timeout_secs: i64,
    pub host: Option<String>,
}

impl OpenRow {
    pub(super) fn into_open(self) -> OpenAttempt {
        OpenAttempt {
            instance_id: InstanceId(self.id),
            attempt: self.attempt as i32,
            log_path: self.log_path,
            pid: self.pid,
            pid_start: self.pid_start,
            retry: RetryPolicy {
                retries: self.retries as u32,
                delay_secs: self.retry_delay_secs as u32,
            },
            auto_retries: self.auto_retries as u32,
            started_at: from_ms(self.started_at),
            timeout_secs: self.timeout_secs as u32,
        }
    }
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
    auto_retries: i64,
    run_type: RunType,
    bizdate: String,
    run_date: String,
    planned_at: i64,
    dry_run: bool,
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
            auto_retries: self.auto_retries as u32,
            run_type: self.run_type,
            bizdate: date(&self.bizdate)?,
            run_date: date(&self.run_date)?,
            planned_at: from_ms(self.planned_at),
            log_path: String::new(),
            queued_since: from_ms(self.planned_at),
            dry_run: self.dry_run,
        })
    }
}

/// Journals the ends that changed their instance (`rows`: id, attempt, new state) for the alert
/// watcher, in the transaction that records them.
async fn record_ends(
    tx: &mut Transaction<'static, Db>,
    finished: &[FinishedAttempt],
    rows: &[(i64, i64, InstanceState)],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ends: HashMap<(i64, i64), &FinishedAttempt> =
        finished.iter().map(|f| ((f.instance_id.0, i64::from(f.attempt)), f)).collect();
    let mut query = QueryBuilder::<Db>::new(
        "INSERT INTO attempt_ends (instance_id, attempt, failed, state, at) ",
    );
    query.push_values(rows, |mut row, (id, attempt, state)| {
        let end = ends.get(&(*id, *attempt));
        let failed = end.is_some_and(|f| matches!(f.outcome, Outcome::Failed { .. }));
        let at = end.map(|f| to_ms(f.at)).unwrap_or_default();
        row.push_bind(*id).push_bind(*attempt).push_bind(failed).push_bind(*state).push_bind(at);
    });
    query.build().execute(&mut **tx).await?;
    Ok(())
}

#[async_trait::async_trait]
impl SchedulingStore for SqlStore {
    async fn promote_all(&self, now: DateTime<Utc>) -> Result<u64> {
        Ok(promotion(to_ms(now)).build().execute(&self.write).await?.rows_affected())
    }

    async fn release_due(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE instances SET state = {}, updated_at = $1 \
             WHERE state = {} AND paused = FALSE AND ready_at <= $1",
            literal(WaitingResources),
            literal(WaitingTime)
        )))
        .bind(to_ms(now))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>> {
        let at: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT MIN(ready_at) FROM instances WHERE state = {} AND paused = FALSE",
            literal(WaitingTime)
        )))
        .fetch_one(&self.read)
        .await?;
        Ok(at.map(from_ms))
    }

    async fn groups_with_work(&self) -> Result<Vec<String>> {
        // Asked on every tick: each part is driven from the instances in one state (few, by
        // their index; waiting dry runs by their own) through the nodes' key, never from a
        // group's nodes through all their history.
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT g.name FROM resource_groups g WHERE EXISTS ( \
               SELECT 1 FROM instances i {join} nodes n ON n.id = i.node_id \
               WHERE i.state = {waiting} AND i.dry_run = TRUE AND i.paused = FALSE \
               AND n.resource_group = g.name) \
             OR (EXISTS (SELECT 1 FROM instances i {join} nodes n ON n.id = i.node_id \
               WHERE i.state = {waiting} AND i.paused = FALSE AND n.resource_group = g.name) \
             AND g.slots > (SELECT COUNT(*) FROM instances i {join} nodes n ON n.id = i.node_id \
               WHERE i.state = {running} AND i.dry_run = FALSE AND n.resource_group = g.name)) \
             ORDER BY g.name",
            join = dialect::JOIN_FROM_LIST,
            waiting = literal(WaitingResources),
            running = literal(Running)
        )))
        .fetch_all(&self.read)
        .await?)
    }

    async fn begin_claim(&self, group: &str) -> Result<Box<dyn ClaimTx>> {
        let tx = self.begin(WriteLock::Group(group)).await?;
        Ok(Box::new(SqliteClaim { tx, group: group.to_string() }))
    }

    async fn record_attempts(
        &self,
        started: &[StartedProcess],
        finished: &[FinishedAttempt],
    ) -> Result<Vec<Finish>> {
        let mut tx = self.begin(WriteLock::Instances).await?;
        for chunk in started.chunks(CHUNK) {
            let mut query =
                QueryBuilder::<Db>::new("WITH p (instance_id, attempt, pid, pid_start) AS (");
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
        for chunk in finished.chunks(CHUNK) {
            let values = |query: &mut QueryBuilder<Db>| {
                query.push(
                    "WITH f (instance_id, attempt, ended_at, exit_code, outcome, reason, state, \
                     ready_at, retried) AS (",
                );
                query.push_values(chunk, |mut row, f| {
                    let (outcome, exit_code, reason) = match &f.outcome {
                        Outcome::Success => ("success", Some(0), None),
                        Outcome::Failed { exit_code, reason } => {
                            ("failed", *exit_code, Some(reason.clone()))
                        }
                    };
                    let (state, ready_at, retried) = match f.next {
                        AfterAttempt::Succeeded => (Success, None, 0),
                        AfterAttempt::RetryAt(at) => (WaitingTime, Some(to_ms(at)), 1),
                        AfterAttempt::Failed => (InstanceState::Failed, None, 0),
                    };
                    row.push_bind(f.instance_id.0)
                        .push_bind(f.attempt)
                        .push_bind(to_ms(f.at))
                        .push_bind(exit_code)
                        .push_bind(outcome)
                        .push_bind(reason)
                        .push_bind(state)
                        .push_bind(ready_at)
                        .push_bind(retried);
                });
                query.push(") ");
            };
            let mut query = QueryBuilder::<Db>::new("");
            values(&mut query);
            query.push(
                "UPDATE attempts SET ended_at = f.ended_at, exit_code = f.exit_code, \
                 outcome = f.outcome, reason = f.reason FROM f \
                 WHERE attempts.instance_id = f.instance_id AND attempts.attempt = f.attempt \
                   AND attempts.ended_at IS NULL",
            );
            query.build().execute(&mut *tx).await?;

            let mut query = QueryBuilder::<Db>::new("");
            values(&mut query);
            query
                .push(
                    "UPDATE instances SET state = f.state, \
                       ready_at = COALESCE(f.ready_at, instances.ready_at), \
                       auto_retries = instances.auto_retries + f.retried, \
                       ended_at = f.ended_at, exit_code = f.exit_code, reason = f.reason, \
                       updated_at = f.ended_at \
                     FROM f WHERE instances.id = f.instance_id AND instances.attempt = f.attempt \
                       AND instances.state = ",
                )
                .push(literal(Running))
                .push(" RETURNING instances.id, instances.attempt, instances.state");
            let rows: Vec<(i64, i64, InstanceState)> =
                query.build_query_as().fetch_all(&mut *tx).await?;
            record_ends(&mut tx, chunk, &rows).await?;
            for (id, attempt, state) in rows {
                states.insert((id, attempt as i32), state);
            }
            let now = chunk.iter().map(|f| to_ms(f.at)).max().unwrap_or_default();
            for f in chunk {
                if states.get(&(f.instance_id.0, f.attempt)) == Some(&Success) {
                    let count = promote_downstream(&mut tx, &[f.instance_id], now).await?;
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

    async fn open_attempts(&self, worker: Option<&str>) -> Result<Vec<OpenAttempt>> {
        let rows: Vec<OpenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {OPEN_COLUMNS} FROM {OPEN_FROM} \
             WHERE i.state = {} AND ($1 IS NULL OR i.host = $1) ORDER BY i.id",
            literal(Running)
        )))
        .bind(worker)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(OpenRow::into_open).collect())
    }

    async fn requeue_unstarted(
        &self,
        id: InstanceId,
        attempt: i32,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin(WriteLock::Instances).await?;
        let requeued = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE instances SET state = {}, attempt = attempt - 1, \
               started_at = p.started_at, ended_at = p.ended_at, exit_code = p.exit_code, \
               reason = p.reason, updated_at = $3 \
             FROM (SELECT MAX(started_at) AS started_at, MAX(ended_at) AS ended_at, \
                     MAX(exit_code) AS exit_code, MAX(reason) AS reason \
                   FROM attempts WHERE instance_id = $1 AND attempt = $2 - 1) AS p \
             WHERE instances.id = $1 AND instances.attempt = $2 AND instances.state = {}",
            literal(WaitingResources),
            literal(Running)
        )))
        .bind(id.0)
        .bind(attempt)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if requeued == 1 {
            sqlx::query("DELETE FROM attempts WHERE instance_id = $1 AND attempt = $2")
                .bind(id.0)
                .bind(attempt)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(requeued == 1)
    }
}

/// Claiming the slots of one group: `BEGIN IMMEDIATE` holds the write lock, so the load read
/// is still true when the claim is written.
struct SqliteClaim {
    tx: Transaction<'static, Db>,
    group: String,
}

#[async_trait::async_trait]
impl ClaimTx for SqliteClaim {
    async fn load(&mut self) -> Result<GroupLoad> {
        let row: Option<(i64, Option<i64>, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT g.slots, g.backfill_slots, (SELECT COUNT(*) FROM instances i \
               JOIN nodes n ON n.id = i.node_id WHERE i.state = {} AND n.resource_group = g.name \
               AND i.dry_run = FALSE) \
             FROM resource_groups g WHERE g.name = $1",
            literal(Running)
        )))
        .bind(&self.group)
        .fetch_optional(&mut *self.tx)
        .await?;
        let (slots, backfill_slots, running) =
            row.ok_or(StoreError::Missing { what: "resource group", name: self.group.clone() })?;
        Ok(GroupLoad {
            slots: slots as u32,
            backfill_slots: backfill_slots.map(|b| b as u32),
            running: running as u32,
        })
    }

    async fn queued(&mut self, limit: u32, dry_runs: bool) -> Result<Vec<Queued>> {
        let rows: Vec<(i64, RunType, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT i.id, i.run_type, i.updated_at FROM instances i JOIN nodes n ON n.id = i.node_id \
             WHERE i.state = {} AND i.paused = FALSE AND n.resource_group = $1 AND i.dry_run = {} \
             ORDER BY i.priority, i.ready_at, i.id LIMIT $2",
            literal(WaitingResources),
            // Written out, not bound, so the waiting dry runs are read by their partial index.
            if dry_runs { "TRUE" } else { "FALSE" }
        )))
        .bind(&self.group)
        .bind(limit as i64)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, run_type, since)| Queued {
                id: InstanceId(id),
                run_type,
                since: from_ms(since),
            })
            .collect())
    }

    async fn claim(
        &mut self,
        ids: &[InstanceId],
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claim>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<Db>::new(format!(
            "UPDATE instances SET state = {}, attempt = attempt + 1, started_at = ",
            literal(Running)
        ));
        query
            .push_bind(to_ms(now))
            .push(", ended_at = NULL, exit_code = NULL, host = ")
            .push_bind(host.to_string())
            .push(", reason = NULL, updated_at = ")
            .push_bind(to_ms(now))
            .push(format!(
                " WHERE state = {} AND paused = FALSE AND id",
                literal(WaitingResources)
            ));
        push_ids(&mut query, ids);
        query.push(" RETURNING id");
        let claimed: Vec<InstanceId> = query
            .build_query_scalar::<i64>()
            .fetch_all(&mut *self.tx)
            .await?
            .into_iter()
            .map(InstanceId)
            .collect();
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<Db>::new(
            "SELECT i.id, i.attempt, i.auto_retries, i.run_type, i.bizdate, i.run_date, \
             i.planned_at, i.dry_run, n.name, n.command, n.timeout_secs, n.retries, \
             n.retry_delay_secs FROM instances i JOIN nodes n ON n.id = i.node_id WHERE i.id",
        );
        push_ids(&mut query, &claimed);
        let rows: Vec<ClaimRow> = query.build_query_as().fetch_all(&mut *self.tx).await?;
        let mut claims = rows.into_iter().map(ClaimRow::into_claim).collect::<Result<Vec<_>>>()?;
        // In the order they were chosen (dispatch order), whatever order RETURNING used.
        let order: HashMap<InstanceId, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        claims.sort_by_key(|c| order.get(&c.instance_id).copied().unwrap_or(usize::MAX));
        Ok(claims)
    }

    async fn start_attempts(&mut self, attempts: &[NewAttempt]) -> Result<()> {
        for chunk in attempts.chunks(CHUNK) {
            let mut query = QueryBuilder::<Db>::new(
                "INSERT INTO attempts (instance_id, attempt, started_at, host, log_path) ",
            );
            query.push_values(chunk, |mut row, a| {
                row.push_bind(a.instance_id.0)
                    .push_bind(a.attempt)
                    .push_bind(to_ms(a.started_at))
                    .push_bind(a.host.clone())
                    .push_bind(a.log_path.clone());
            });
            query.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
