//! The registry of processes, their leases, the bus and shipped logs (see `store::workers`).

use app::model::InstanceId;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;

use super::scheduling::{OPEN_COLUMNS, OPEN_FROM, OpenRow, literal};
use super::{SqlStore, dialect};
use crate::store::workers::{LapsedAttempt, WorkerRecord, WorkerStore};
use crate::store::{Result, StoreError, WriteLock, from_ms, to_ms};
use app::model::InstanceState::Running;

/// Bytes of one shipped piece at most (a reader looks this far back for the piece holding its
/// offset).
pub const SHIPPED_PIECE: u64 = 256 * 1024;

#[derive(sqlx::FromRow)]
struct WorkerRow {
    name: String,
    roles: String,
    groups: Option<String>,
    host: String,
    pid: i64,
    lease_secs: i64,
    started_at: i64,
    heartbeat_at: i64,
    running: i64,
}

/// Whether the worker named by the column `host` lost its lease by `$1`: its heartbeat is older
/// than its lease, or it is not registered and the column `since` is older than `$2`
/// milliseconds. (`WorkerRecord::alive_at` is the same rule in Rust.)
fn lapsed(host: &str, since: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM workers w WHERE w.name = {host} \
           AND w.heartbeat_at + w.lease_secs * 1000 < $1) \
         OR (NOT EXISTS (SELECT 1 FROM workers w WHERE w.name = {host}) AND {since} + $2 < $1))"
    )
}

/// A list of (instance, attempt) pairs as one bound JSON array of `[id, attempt]`.
fn pairs(attempts: &[(InstanceId, i32)]) -> String {
    let pairs: Vec<(i64, i32)> = attempts.iter().map(|(id, a)| (id.0, *a)).collect();
    serde_json::to_string(&pairs).expect("numbers serialize")
}

#[async_trait::async_trait]
impl WorkerStore for SqlStore {
    async fn register_worker(&self, worker: &WorkerRecord) -> Result<()> {
        let groups =
            worker.groups.as_ref().map(|g| serde_json::to_string(g).expect("strings serialize"));
        sqlx::query(
            "INSERT INTO workers (name, roles, groups, host, pid, lease_secs, started_at, \
               heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (name) DO UPDATE SET roles = excluded.roles, groups = excluded.groups, \
               host = excluded.host, pid = excluded.pid, lease_secs = excluded.lease_secs, \
               started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
        )
        .bind(&worker.name)
        .bind(&worker.roles)
        .bind(groups)
        .bind(&worker.host)
        .bind(worker.pid)
        .bind(worker.lease_secs as i64)
        .bind(to_ms(worker.started_at))
        .bind(to_ms(worker.heartbeat_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn heartbeat(&self, name: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query("UPDATE workers SET heartbeat_at = $2 WHERE name = $1")
            .bind(name)
            .bind(to_ms(now))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_worker(&self, name: &str) -> Result<()> {
        sqlx::query("DELETE FROM workers WHERE name = $1").bind(name).execute(&self.write).await?;
        Ok(())
    }

    async fn workers(&self) -> Result<Vec<(WorkerRecord, u32)>> {
        let rows: Vec<WorkerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT w.name, w.roles, w.groups, w.host, w.pid, w.lease_secs, w.started_at, \
               w.heartbeat_at, (SELECT COUNT(*) FROM instances i \
                 WHERE i.state = {} AND i.host = w.name) AS running \
             FROM workers w ORDER BY w.name",
            literal(Running)
        )))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|row| {
                let groups = match &row.groups {
                    Some(text) => Some(
                        serde_json::from_str(text)
                            .map_err(|_| StoreError::Corrupt(format!("groups '{text}'")))?,
                    ),
                    None => None,
                };
                Ok((
                    WorkerRecord {
                        name: row.name,
                        roles: row.roles,
                        groups,
                        host: row.host,
                        pid: row.pid,
                        lease_secs: row.lease_secs as u32,
                        started_at: from_ms(row.started_at),
                        heartbeat_at: from_ms(row.heartbeat_at),
                    },
                    row.running as u32,
                ))
            })
            .collect()
    }

    async fn lapsed_attempts(
        &self,
        now: DateTime<Utc>,
        unregistered_lease_secs: u32,
    ) -> Result<Vec<LapsedAttempt>> {
        let rows: Vec<OpenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {OPEN_COLUMNS} FROM {OPEN_FROM} WHERE i.state = {} AND {} ORDER BY i.id",
            literal(Running),
            lapsed("i.host", "i.updated_at")
        )))
        .bind(to_ms(now))
        .bind(unregistered_lease_secs as i64 * 1000)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let worker = row.host.clone().unwrap_or_default();
                LapsedAttempt { open: row.into_open(), worker }
            })
            .collect())
    }

    async fn close_lapsed_attempts(
        &self,
        now: DateTime<Utc>,
        unregistered_lease_secs: u32,
        reason: &str,
    ) -> Result<u64> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE attempts SET ended_at = $1, outcome = 'failed', reason = $3 \
             WHERE ended_at IS NULL \
               AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = attempts.instance_id \
                 AND i.state = {} AND i.attempt = attempts.attempt) \
               AND {}",
            literal(Running),
            lapsed("attempts.host", "attempts.started_at")
        )))
        .bind(to_ms(now))
        .bind(unregistered_lease_secs as i64 * 1000)
        .bind(reason)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    async fn take_over(&self, old: &str, new: &str) -> Result<u64> {
        let mut tx = self.begin(WriteLock::Instances).await?;
        let moved = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE instances SET host = $2 WHERE state = {} AND host = $1",
            literal(Running)
        )))
        .bind(old)
        .bind(new)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE attempts SET host = $2 WHERE ended_at IS NULL AND host = $1")
            .bind(old)
            .bind(new)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM workers WHERE name = $1").bind(old).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(moved)
    }

    async fn no_longer_running(&self, attempts: &[(InstanceId, i32)]) -> Result<Vec<InstanceId>> {
        if attempts.is_empty() {
            return Ok(Vec::new());
        }
        let gone: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT p.id FROM {} LEFT JOIN instances i ON i.id = p.id \
             WHERE i.id IS NULL OR i.state <> {} OR i.attempt <> p.attempt",
            dialect::pairs("$1"),
            literal(Running)
        )))
        .bind(pairs(attempts))
        .fetch_all(&self.read)
        .await?;
        Ok(gone.into_iter().map(InstanceId).collect())
    }

    async fn unended(&self, attempts: &[(InstanceId, i32)]) -> Result<Vec<InstanceId>> {
        if attempts.is_empty() {
            return Ok(Vec::new());
        }
        let open: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT p.id FROM {} JOIN attempts a ON a.instance_id = p.id \
               AND a.attempt = p.attempt WHERE a.ended_at IS NULL",
            dialect::pairs("$1"),
        )))
        .bind(pairs(attempts))
        .fetch_all(&self.read)
        .await?;
        Ok(open.into_iter().map(InstanceId).collect())
    }

    async fn publish(&self, message: &str) -> Result<()> {
        dialect::publish(&self.write, message).await
    }

    async fn subscribe(&self) -> Result<Option<BoxStream<'static, String>>> {
        dialect::subscribe(&self.write).await
    }

    async fn ship_log(&self, id: InstanceId, attempt: i32, at: u64, bytes: &[u8]) -> Result<()> {
        for (i, piece) in bytes.chunks(SHIPPED_PIECE as usize).enumerate() {
            sqlx::query(
                "INSERT INTO attempt_logs (instance_id, attempt, at_byte, data) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(id.0)
            .bind(attempt)
            .bind((at + i as u64 * SHIPPED_PIECE) as i64)
            .bind(piece)
            .execute(&self.write)
            .await?;
        }
        Ok(())
    }

    async fn shipped_end(&self, id: InstanceId, attempt: i32) -> Result<u64> {
        let end: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(at_byte + length(data)), 0) AS BIGINT) FROM attempt_logs \
             WHERE instance_id = $1 AND attempt = $2",
        )
        .bind(id.0)
        .bind(attempt)
        .fetch_one(&self.read)
        .await?;
        Ok(end as u64)
    }

    async fn shipped_log(
        &self,
        id: InstanceId,
        attempt: i32,
        from: u64,
        max: u64,
    ) -> Result<Option<Vec<u8>>> {
        let pieces: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT at_byte, data FROM attempt_logs WHERE instance_id = $1 AND attempt = $2 \
               AND at_byte > $3 AND at_byte < $4 ORDER BY at_byte",
        )
        .bind(id.0)
        .bind(attempt)
        .bind(from as i64 - SHIPPED_PIECE as i64)
        .bind((from + max) as i64)
        .fetch_all(&self.read)
        .await?;
        // No piece near `from`: was anything shipped at all? (Only then a second query.)
        if pieces.is_empty() && self.shipped_end(id, attempt).await? == 0 {
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut next = from;
        for (at, data) in pieces {
            let (at, end) = (at as u64, at as u64 + data.len() as u64);
            if end <= next {
                continue;
            }
            if at > next {
                break;
            }
            out.extend_from_slice(&data[(next - at) as usize..]);
            next = end;
        }
        out.truncate(max as usize);
        Ok(Some(out))
    }
}
