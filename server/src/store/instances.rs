//! Reading instances: the filtered, keyset-paged list, the per-state counts, one instance, its
//! attempts and its dependency neighbours.

use app::model::{Instance, InstanceFilter, InstanceId, InstancePage, PageRequest, StateCounts};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{QueryBuilder, Sqlite};

use super::definitions::like_pattern;
use super::rows::{INSTANCE_COLUMNS, InstanceRow};
use super::{Result, Store, StoreError, from_ms};

/// One start of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub host: String,
    pub pid: Option<i64>,
    pub log_path: String,
    pub outcome: Option<String>,
    pub reason: Option<String>,
}

pub(super) fn push_filter(query: &mut QueryBuilder<Sqlite>, filter: &InstanceFilter) {
    query.push(" WHERE 1 = 1");
    if !filter.state.is_empty() {
        query.push(" AND i.state IN (");
        let mut list = query.separated(", ");
        for state in &filter.state {
            list.push_bind(state.as_str());
        }
        query.push(")");
    }
    if let Some(owner) = &filter.owner {
        query.push(" AND i.owner = ").push_bind(owner.clone());
    }
    if let Some(node) = &filter.node {
        query.push(" AND i.node_name LIKE ").push_bind(like_pattern(node)).push(" ESCAPE '\\'");
    }
    if let Some(workflow) = &filter.workflow {
        query.push(" AND i.workflow = ").push_bind(workflow.clone());
    }
    if let Some(run_type) = filter.run_type {
        query.push(" AND i.run_type = ").push_bind(run_type.as_str());
    }
    if let Some(date) = filter.bizdate {
        query.push(" AND i.bizdate = ").push_bind(date.to_string());
    }
    if let Some(date) = filter.run_date {
        query.push(" AND i.run_date = ").push_bind(date.to_string());
    }
}

impl Store {
    /// Newest first, keyset-paged on the id: a page never counts or loads the whole table.
    pub async fn list_instances(
        &self,
        filter: &InstanceFilter,
        page: &PageRequest,
    ) -> Result<InstancePage> {
        let limit = page.limit();
        let before = page.before_id().map_err(|e| StoreError::Invalid(e.message))?;
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances i JOIN nodes n ON n.id = i.node_id"
        ));
        push_filter(&mut query, filter);
        if let Some(before) = before {
            query.push(" AND i.id < ").push_bind(before.0);
        }
        query.push(" ORDER BY i.id DESC LIMIT ").push_bind(limit as i64 + 1);
        let rows: Vec<InstanceRow> = query.build_query_as().fetch_all(&self.read).await?;
        let more = rows.len() > limit as usize;
        let items = rows
            .into_iter()
            .take(limit as usize)
            .map(Instance::try_from)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = more.then(|| items.last().map(|i| i.id.to_string())).flatten();
        Ok(InstancePage { items, next_cursor })
    }

    pub async fn instance_stats(&self, filter: &InstanceFilter) -> Result<StateCounts> {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT i.state, COUNT(*) FROM instances i");
        push_filter(&mut query, filter);
        query.push(" GROUP BY i.state");
        let rows: Vec<(String, i64)> = query.build_query_as().fetch_all(&self.read).await?;
        let mut counts = StateCounts::default();
        for (state, count) in rows {
            let state = state.parse().map_err(|_| StoreError::Corrupt(state.clone()))?;
            counts.add(state, count as u64);
        }
        Ok(counts)
    }

    pub async fn get_instance(&self, id: InstanceId) -> Result<Option<Instance>> {
        let row: Option<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances i JOIN nodes n ON n.id = i.node_id \
             WHERE i.id = ?1"
        )))
        .bind(id.0)
        .fetch_optional(&self.read)
        .await?;
        row.map(Instance::try_from).transpose()
    }

    pub async fn attempts(&self, id: InstanceId) -> Result<Vec<Attempt>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            i64,
            i64,
            Option<i64>,
            Option<i64>,
            String,
            Option<i64>,
            String,
            Option<String>,
            Option<String>,
        )> = sqlx::query_as(
            "SELECT attempt, started_at, ended_at, exit_code, host, pid, log_path, outcome, \
                 reason FROM attempts WHERE instance_id = ?1 ORDER BY attempt",
        )
        .bind(id.0)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(attempt, started, ended, exit_code, host, pid, log_path, outcome, reason)| {
                Attempt {
                    attempt: attempt as i32,
                    started_at: from_ms(started),
                    ended_at: ended.map(from_ms),
                    exit_code: exit_code.map(|c| c as i32),
                    host,
                    pid,
                    log_path,
                    outcome,
                    reason,
                }
            })
            .collect())
    }

    /// Every instance downstream of `id`, transitively (at most `limit`), in id order.
    pub async fn descendants(&self, id: InstanceId, limit: u32) -> Result<Vec<Instance>> {
        let rows: Vec<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH RECURSIVE down (id) AS ( \
               SELECT instance_id FROM instance_deps WHERE upstream_id = ?1 \
               UNION SELECT d.instance_id FROM instance_deps d JOIN down ON d.upstream_id = down.id) \
             SELECT {INSTANCE_COLUMNS} FROM down JOIN instances i ON i.id = down.id \
             JOIN nodes n ON n.id = i.node_id ORDER BY i.id LIMIT ?2"
        )))
        .bind(id.0)
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Instance::try_from).collect()
    }

    /// The instances this one waits for, and the ones that wait for it.
    pub async fn neighbors(&self, id: InstanceId) -> Result<(Vec<Instance>, Vec<Instance>)> {
        let upstream: Vec<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instance_deps d JOIN instances i ON i.id = d.upstream_id \
             JOIN nodes n ON n.id = i.node_id WHERE d.instance_id = ?1 ORDER BY i.id"
        )))
        .bind(id.0)
        .fetch_all(&self.read)
        .await?;
        let downstream: Vec<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instance_deps d JOIN instances i ON i.id = d.instance_id \
             JOIN nodes n ON n.id = i.node_id WHERE d.upstream_id = ?1 ORDER BY i.id"
        )))
        .bind(id.0)
        .fetch_all(&self.read)
        .await?;
        let convert = |rows: Vec<InstanceRow>| {
            rows.into_iter().map(Instance::try_from).collect::<Result<Vec<_>>>()
        };
        Ok((convert(upstream)?, convert(downstream)?))
    }
}
