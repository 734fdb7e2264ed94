//! Operations on instances on SQLite: one `BEGIN IMMEDIATE` transaction.

use super::Db;
use super::dialect;
use app::model::{InstanceFilter, InstanceId, InstanceState};
use app::rules::PausedGuard;
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, QueryBuilder, Transaction};

use super::audit::insert_audit;
use super::instances::push_filter;
use super::scheduling::{literal, promote_downstream, promotion};
use super::{SqlStore, json_ids, push_ids};
use crate::store::ListItem;
use crate::store::operations::{Guard, OperationStore, OperationTx, Target, Transition};
use crate::store::{AuditEntry, Result, WriteLock, to_ms};

#[derive(sqlx::FromRow)]
struct TargetRow {
    id: i64,
    node: String,
    owner: String,
    state: InstanceState,
    paused: bool,
    attempt: i64,
}

impl From<TargetRow> for Target {
    fn from(row: TargetRow) -> Self {
        Target {
            id: InstanceId(row.id),
            node: row.node,
            owner: row.owner,
            state: row.state,
            paused: row.paused,
            attempt: row.attempt as i32,
        }
    }
}

fn targets(rows: Vec<TargetRow>) -> Vec<Target> {
    rows.into_iter().map(Target::from).collect()
}

const TARGET_COLUMNS: &str = "i.id, i.node_name AS node, i.owner, i.state, i.paused, i.attempt";

#[async_trait::async_trait]
impl OperationStore for SqlStore {
    async fn begin_operation(&self) -> Result<Box<dyn OperationTx>> {
        let tx = self.begin(WriteLock::Instances).await?;
        Ok(Box::new(SqliteOperation { tx }))
    }
}

struct SqliteOperation {
    tx: Transaction<'static, Db>,
}

#[async_trait::async_trait]
impl OperationTx for SqliteOperation {
    async fn targets(&mut self, ids: &[InstanceId]) -> Result<Vec<Target>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(10_000) {
            let rows: Vec<TargetRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {TARGET_COLUMNS} FROM instances i \
                 WHERE i.id IN (SELECT value FROM {list}) ORDER BY i.id",
                list = super::list("$1", ListItem::Id)
            )))
            .bind(json_ids(chunk))
            .fetch_all(&mut *self.tx)
            .await?;
            out.extend(targets(rows));
        }
        out.sort_by_key(|t| t.id);
        Ok(out)
    }

    async fn targets_matching(
        &mut self,
        filter: &InstanceFilter,
        limit: usize,
    ) -> Result<Vec<Target>> {
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {TARGET_COLUMNS} FROM instances i"));
        push_filter(&mut query, filter);
        query.push(" ORDER BY i.id LIMIT ").push_bind(limit as i64);
        Ok(targets(query.build_query_as().fetch_all(&mut *self.tx).await?))
    }

    async fn descendants(&mut self, root: InstanceId, limit: usize) -> Result<Vec<Target>> {
        Ok(targets(
            sqlx::query_as(AssertSqlSafe(format!(
                "WITH RECURSIVE down (id) AS ( \
                   SELECT instance_id FROM instance_deps WHERE upstream_id = $1 \
                   UNION SELECT d.instance_id FROM instance_deps d \
                   JOIN down ON d.upstream_id = down.id) \
                 SELECT {TARGET_COLUMNS} FROM instances i JOIN down ON down.id = i.id \
                 ORDER BY i.id LIMIT $2"
            )))
            .bind(root.0)
            .bind(limit as i64)
            .fetch_all(&mut *self.tx)
            .await?,
        ))
    }

    async fn waiting_downstream(&mut self, ids: &[InstanceId]) -> Result<Vec<Target>> {
        Ok(targets(
            sqlx::query_as(AssertSqlSafe(format!(
                "WITH RECURSIVE start (id) AS (SELECT value FROM {list}), \
                 down (id) AS ( \
                   SELECT d.instance_id FROM instance_deps d JOIN start ON d.upstream_id = start.id \
                   UNION SELECT d.instance_id FROM instance_deps d \
                     JOIN down ON d.upstream_id = down.id \
                     JOIN instances u ON u.id = down.id WHERE u.state = {not_run}) \
                 SELECT {TARGET_COLUMNS} FROM instances i JOIN down ON down.id = i.id \
                 WHERE i.state = {not_run} AND i.id NOT IN (SELECT id FROM start) ORDER BY i.id",
                not_run = literal(InstanceState::NotRun),
                list = super::list("$1", ListItem::Id)
            )))
            .bind(json_ids(ids))
            .fetch_all(&mut *self.tx)
            .await?,
        ))
    }

    async fn edges_within(&mut self, ids: &[InstanceId]) -> Result<Vec<(InstanceId, InstanceId)>> {
        let members: std::collections::HashSet<InstanceId> = ids.iter().copied().collect();
        // Driven from the id list through the primary key (CROSS JOIN fixes the order); only
        // the edges between members are kept.
        let rows: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT d.instance_id, d.upstream_id FROM {list} \
             {join} instance_deps d ON d.instance_id = j.value",
            list = super::list("$1", ListItem::Id),
            join = dialect::JOIN_FROM_LIST
        )))
        .bind(json_ids(ids))
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(d, u)| (InstanceId(d), InstanceId(u)))
            .filter(|(_, u)| members.contains(u))
            .collect())
    }

    async fn apply(
        &mut self,
        transition: Transition,
        ids: &[InstanceId],
        guard: Guard<'_>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let now = to_ms(now);
        let mut query = QueryBuilder::<Db>::new("UPDATE instances SET ");
        match transition {
            Transition::Stop => {
                query.push(format!("state = {}", literal(InstanceState::Stopped)));
                query.push(", ended_at = ").push_bind(now);
            }
            Transition::RunNow => {
                query.push(format!("state = {}", literal(InstanceState::WaitingResources)));
                query.push(", ready_at = ").push_bind(now).push(", auto_retries = 0");
            }
            Transition::Reset => {
                query.push(format!("state = {}", literal(InstanceState::NotRun)));
                query.push(", ready_at = planned_at, auto_retries = 0");
            }
            Transition::Succeed => {
                query.push(format!("state = {}", literal(InstanceState::Success)));
            }
            Transition::Pause => {
                query.push("paused = TRUE");
            }
            Transition::Resume => {
                query.push("paused = FALSE");
            }
        }
        query.push(", reason = ").push_bind(reason.to_string());
        query.push(", updated_at = ").push_bind(now);
        query.push(" WHERE id");
        push_ids(&mut query, ids);
        let allowed: Vec<String> = guard.states.iter().map(|s| literal(*s)).collect();
        query.push(format!(" AND state IN ({})", allowed.join(", ")));
        match guard.paused {
            PausedGuard::Any => {}
            PausedGuard::Paused => {
                query.push(" AND paused = TRUE");
            }
            PausedGuard::NotPaused => {
                query.push(" AND paused = FALSE");
            }
        }
        let changed = query.build().execute(&mut *self.tx).await?.rows_affected();
        // What a success or a resume unblocks moves on in the same transaction: the
        // instances themselves (a resumed one) and their direct downstream.
        if matches!(transition, Transition::Succeed | Transition::Resume) {
            promote_downstream(&mut self.tx, ids, now).await?;
            let mut query = promotion(now);
            query.push(" AND id");
            push_ids(&mut query, ids);
            query.build().execute(&mut *self.tx).await?;
        }
        Ok(changed)
    }

    async fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<i64> {
        insert_audit(&mut self.tx, entry).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
