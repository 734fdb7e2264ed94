//! Operations on instances, inside one `BEGIN IMMEDIATE` transaction: read the facts the rules
//! need, apply guarded set-based transitions, write the audit trail, commit. The decisions are
//! made by the caller with `app::rules`; every update here repeats the rule's allowed states in
//! its `WHERE`, so nothing can slip through between reading and writing.

use app::model::{InstanceFilter, InstanceId, InstanceState};
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite, Transaction};

use super::instances::push_filter;
use super::scheduling::PROMOTE;
use super::{Result, Store, StoreError, to_ms};

/// What the rules look at, for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: InstanceId,
    pub node: String,
    pub owner: String,
    pub state: InstanceState,
    pub paused: bool,
    pub attempt: i32,
}

#[derive(sqlx::FromRow)]
struct TargetRow {
    id: i64,
    node: String,
    owner: String,
    state: String,
    paused: bool,
    attempt: i32,
}

fn targets(rows: Vec<TargetRow>) -> Result<Vec<Target>> {
    rows.into_iter()
        .map(|row| {
            Ok(Target {
                id: InstanceId(row.id),
                state: row.state.parse().map_err(|_| StoreError::Corrupt(row.state.clone()))?,
                node: row.node,
                owner: row.owner,
                paused: row.paused,
                attempt: row.attempt,
            })
        })
        .collect()
}

const TARGET_COLUMNS: &str = "i.id, i.node_name AS node, i.owner, i.state, i.paused, i.attempt";

/// The state changes an operation can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// → manually stopped.
    Stop,
    /// → waiting for resources now, whatever its planned time and upstream (rerun).
    RunNow,
    /// → not run, to be promoted in dependency order (the downstream part of a rerun).
    Reset,
    /// → success, promoting the downstream.
    Succeed,
    /// paused = 1.
    Pause,
    /// paused = 0, promoting whatever this unblocks.
    Resume,
}

/// One audit entry.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub dry_run: bool,
    pub message: Option<&'a str>,
    /// Every instance the request named, with `Ok` or the reason it was refused.
    pub results: &'a [(InstanceId, Result<(), String>)],
    pub changed: u64,
    pub at: DateTime<Utc>,
}

/// An operation in progress: one write transaction.
pub struct OperationTx {
    tx: Transaction<'static, Sqlite>,
}

fn json_ids(ids: &[InstanceId]) -> String {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    serde_json::to_string(&ids).expect("numbers serialize")
}

fn state_list(states: &[InstanceState]) -> String {
    let quoted: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
    quoted.join(", ")
}

impl Store {
    /// Starts an operation. `BEGIN IMMEDIATE` takes the write lock at once, so the facts read
    /// are still true when the updates run.
    pub async fn begin_operation(&self) -> Result<OperationTx> {
        let tx = self.write.begin_with("BEGIN IMMEDIATE").await?;
        Ok(OperationTx { tx })
    }
}

impl OperationTx {
    /// The facts of the given instances (unknown ids are simply absent).
    pub async fn targets(&mut self, ids: &[InstanceId]) -> Result<Vec<Target>> {
        targets(
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {TARGET_COLUMNS} FROM instances i \
             WHERE i.id IN (SELECT value FROM json_each(?1)) ORDER BY i.id"
            )))
            .bind(json_ids(ids))
            .fetch_all(&mut *self.tx)
            .await?,
        )
    }

    /// The facts of every instance matching a list filter, up to `cap` (plus one, so the caller
    /// can tell the filter matched too many).
    pub async fn targets_matching(
        &mut self,
        filter: &InstanceFilter,
        cap: usize,
    ) -> Result<Vec<Target>> {
        let mut query =
            QueryBuilder::<Sqlite>::new(format!("SELECT {TARGET_COLUMNS} FROM instances i"));
        push_filter(&mut query, filter);
        query.push(" ORDER BY i.id LIMIT ").push_bind(cap as i64 + 1);
        targets(query.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    /// Every instance downstream of `root`, transitively, in id order.
    pub async fn descendants(&mut self, root: InstanceId) -> Result<Vec<Target>> {
        targets(sqlx::query_as(AssertSqlSafe(format!(
            "WITH RECURSIVE down (id) AS ( \
               SELECT instance_id FROM instance_deps WHERE upstream_id = ?1 \
               UNION SELECT d.instance_id FROM instance_deps d JOIN down ON d.upstream_id = down.id) \
             SELECT {TARGET_COLUMNS} FROM instances i JOIN down ON down.id = i.id ORDER BY i.id"
        )))
        .bind(root.0)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    /// The not-run instances downstream of `ids` (through not-run instances only, not counting
    /// `ids` themselves): what will be scheduled again once `ids` succeed.
    pub async fn waiting_downstream(&mut self, ids: &[InstanceId]) -> Result<Vec<Target>> {
        targets(sqlx::query_as(AssertSqlSafe(format!(
            "WITH RECURSIVE start (id) AS (SELECT value FROM json_each(?1)), \
             down (id) AS ( \
               SELECT d.instance_id FROM instance_deps d JOIN start ON d.upstream_id = start.id \
               UNION SELECT d.instance_id FROM instance_deps d JOIN down ON d.upstream_id = down.id \
                 JOIN instances u ON u.id = down.id WHERE u.state = 'not_run') \
             SELECT {TARGET_COLUMNS} FROM instances i JOIN down ON down.id = i.id \
             WHERE i.state = 'not_run' AND i.id NOT IN (SELECT id FROM start) ORDER BY i.id"
        )))
        .bind(json_ids(ids))
        .fetch_all(&mut *self.tx)
        .await?)
    }

    /// The dependency edges `(downstream, upstream)` among `ids`.
    pub async fn edges_within(
        &mut self,
        ids: &[InstanceId],
    ) -> Result<Vec<(InstanceId, InstanceId)>> {
        let members: std::collections::HashSet<InstanceId> = ids.iter().copied().collect();
        // Driven from the id list through the primary key (CROSS JOIN fixes the order); only
        // the edges between members are kept.
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT d.instance_id, d.upstream_id FROM json_each(?1) j \
             CROSS JOIN instance_deps d ON d.instance_id = j.value",
        )
        .bind(json_ids(ids))
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(d, u)| (InstanceId(d), InstanceId(u)))
            .filter(|(_, u)| members.contains(u))
            .collect())
    }

    /// Applies a transition to `ids`, guarded by `allowed` states and, if given, the paused flag
    /// (both straight from `app::rules`). Returns how many instances changed.
    pub async fn apply(
        &mut self,
        transition: Transition,
        ids: &[InstanceId],
        allowed: &[InstanceState],
        paused: Option<bool>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        // ?1 the ids (a JSON array), ?2 now, ?3 the reason people read.
        let set = match transition {
            Transition::Stop => "state = 'stopped', ended_at = ?2, reason = ?3",
            Transition::RunNow => {
                "state = 'waiting_resources', ready_at = ?2, auto_retries = 0, reason = ?3"
            }
            Transition::Reset => {
                "state = 'not_run', ready_at = planned_at, auto_retries = 0, reason = ?3"
            }
            Transition::Succeed => "state = 'success', reason = ?3",
            Transition::Pause => "paused = 1, reason = ?3",
            Transition::Resume => "paused = 0, reason = ?3",
        };
        let paused_guard = match paused {
            Some(true) => " AND paused = 1",
            Some(false) => " AND paused = 0",
            None => "",
        };
        let sql = format!(
            "UPDATE instances SET {set}, updated_at = ?2 \
             WHERE id IN (SELECT value FROM json_each(?1)) AND state IN ({}){paused_guard}",
            state_list(allowed)
        );
        let ids_json = json_ids(ids);
        let changed = sqlx::query(AssertSqlSafe(sql))
            .bind(&ids_json)
            .bind(to_ms(now))
            .bind(reason)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        // What a success or a resume unblocks moves on in the same transaction.
        if matches!(transition, Transition::Succeed | Transition::Resume) {
            sqlx::query(AssertSqlSafe(format!(
                "{PROMOTE} AND (id IN (SELECT instance_id FROM instance_deps \
                   WHERE upstream_id IN (SELECT value FROM json_each(?2))) \
                 OR id IN (SELECT value FROM json_each(?2)))"
            )))
            .bind(to_ms(now))
            .bind(&ids_json)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(changed)
    }

    /// Writes the audit entry and its per-instance results.
    pub async fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<i64> {
        let refused = entry.results.iter().filter(|(_, r)| r.is_err()).count();
        let outcome = match (refused, entry.results.len()) {
            (0, _) if entry.message.is_none() => "ok",
            (r, n) if r < n && entry.message.is_none() => "partial",
            _ => "refused",
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit (at, actor, action, dry_run, outcome, message, requested, changed) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )
        .bind(to_ms(entry.at))
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.dry_run)
        .bind(outcome)
        .bind(entry.message)
        .bind(entry.results.len() as i64)
        .bind(entry.changed as i64)
        .fetch_one(&mut *self.tx)
        .await?;
        // All the ok ones in one statement, the refused ones (with their reasons) in chunks.
        let ok: Vec<InstanceId> =
            entry.results.iter().filter(|(_, r)| r.is_ok()).map(|(id, _)| *id).collect();
        if !ok.is_empty() {
            sqlx::query(
                "INSERT OR IGNORE INTO audit_instances (audit_id, instance_id, result) \
                 SELECT ?1, value, 'ok' FROM json_each(?2)",
            )
            .bind(id)
            .bind(json_ids(&ok))
            .execute(&mut *self.tx)
            .await?;
        }
        let failed: Vec<(InstanceId, &String)> = entry
            .results
            .iter()
            .filter_map(|(id, r)| r.as_ref().err().map(|reason| (*id, reason)))
            .collect();
        for chunk in failed.chunks(400) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT OR IGNORE INTO audit_instances (audit_id, instance_id, result) ",
            );
            query.push_values(chunk, |mut row, (instance, reason)| {
                row.push_bind(id).push_bind(instance.0).push_bind((*reason).clone());
            });
            query.build().execute(&mut *self.tx).await?;
        }
        Ok(id)
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
