//! Test and backfill jobs on SQLite.

use std::collections::HashMap;

use super::Db;
use super::dialect;
use app::jobs::{DateOrder, Job, JobPage};
use app::model::{InstanceState, RunType, StateCounts};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::SqlStore;
use super::audit::insert_audit;
use super::rows::date;
use super::snapshots::insert_days_in;
use crate::store::ListItem;
use crate::store::jobs::{JobStore, NewJob};
use crate::store::snapshots::{DayBatch, Gate, SnapshotNode, SnapshotStore};
use crate::store::{AuditEntry, Result, StoreError, WriteLock, from_ms, to_ms};

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: RunType,
    created_at: i64,
    created_by: String,
    root: String,
    nodes: String,
    from_date: String,
    to_date: String,
    descending: bool,
    parallelism: i64,
    total: i64,
}

#[async_trait::async_trait]
impl JobStore for SqlStore {
    async fn create_job(
        &self,
        job: &NewJob,
        mut days: Vec<DayBatch>,
        gates: &[Gate],
        audit: &AuditEntry<'_>,
        now: DateTime<Utc>,
    ) -> Result<(i64, u64)> {
        let mut tx = self.begin(WriteLock::Instances).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (kind, created_at, created_by, root, nodes, from_date, to_date, \
             descending, parallelism) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(job.kind)
        .bind(to_ms(now))
        .bind(&job.created_by)
        .bind(&job.root)
        .bind(serde_json::to_string(&job.nodes).expect("strings"))
        .bind(job.from.to_string())
        .bind(job.to.to_string())
        .bind(job.order == DateOrder::Desc)
        .bind(job.parallelism as i64)
        .fetch_one(&mut *tx)
        .await?;
        for day in &mut days {
            day.job_id = id;
        }
        let created = insert_days_in(&mut tx, &days, gates, to_ms(now)).await?;
        sqlx::query("UPDATE jobs SET total = $2 WHERE id = $1")
            .bind(id)
            .bind(created as i64)
            .execute(&mut *tx)
            .await?;
        let subject = audit.subject.clone().or_else(|| Some(format!("{}:{id}", job.kind)));
        insert_audit(&mut tx, &AuditEntry { subject, ..audit.clone() }).await?;
        tx.commit().await?;
        Ok((id, created))
    }

    async fn list_jobs(&self, kind: RunType, limit: u32, before: Option<i64>) -> Result<JobPage> {
        let limit = limit.clamp(1, app::model::MAX_PAGE_SIZE);
        let mut query = QueryBuilder::<Db>::new(
            "SELECT id, kind, created_at, created_by, root, nodes, from_date, to_date, descending, \
             parallelism, total FROM jobs WHERE kind = ",
        );
        query.push_bind(kind);
        if let Some(before) = before {
            query.push(" AND id < ").push_bind(before);
        }
        query.push(" ORDER BY id DESC LIMIT ").push_bind(limit as i64 + 1);
        let rows: Vec<JobRow> = query.build_query_as().fetch_all(&self.read).await?;
        let more = rows.len() > limit as usize;
        let rows: Vec<JobRow> = rows.into_iter().take(limit as usize).collect();
        let mut counts = self.job_counts(rows.iter().map(|r| r.id).collect()).await?;
        let items = rows
            .into_iter()
            .map(|row| {
                let c = counts.remove(&row.id).unwrap_or_default();
                job_of(row, c)
            })
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = more.then(|| items.last().map(|j: &Job| j.id.to_string())).flatten();
        Ok(JobPage { items, next_cursor })
    }

    async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(
            "SELECT id, kind, created_at, created_by, root, nodes, from_date, to_date, descending, \
             parallelism, total FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut counts = self.job_counts(vec![row.id]).await?;
        let c = counts.remove(&row.id).unwrap_or_default();
        job_of(row, c).map(Some)
    }

    async fn snapshot_nodes_named(&self, names: &[String]) -> Result<Vec<SnapshotNode>> {
        let wanted: std::collections::HashSet<&String> = names.iter().collect();
        Ok(self.snapshot_nodes().await?.into_iter().filter(|n| wanted.contains(&n.name)).collect())
    }
}

impl SqlStore {
    async fn job_counts(&self, ids: Vec<i64>) -> Result<HashMap<i64, StateCounts>> {
        let mut out: HashMap<i64, StateCounts> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let rows: Vec<(i64, InstanceState, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT i.job_id, i.state, COUNT(*) FROM {list} \
             {join} instances i ON i.job_id = j.value GROUP BY i.job_id, i.state",
            list = super::list("$1", ListItem::Id),
            join = dialect::JOIN_FROM_LIST
        )))
        .bind(serde_json::to_string(&ids).expect("numbers"))
        .fetch_all(&self.read)
        .await?;
        for (job, state, count) in rows {
            out.entry(job).or_default().add(state, count as u64);
        }
        Ok(out)
    }
}

fn job_of(row: JobRow, counts: StateCounts) -> Result<Job> {
    Ok(Job {
        id: row.id,
        kind: row.kind,
        root: row.root,
        nodes: serde_json::from_str(&row.nodes)
            .map_err(|_| StoreError::Corrupt(row.nodes.clone()))?,
        from: date(&row.from_date)?,
        to: date(&row.to_date)?,
        order: if row.descending { DateOrder::Desc } else { DateOrder::Asc },
        parallelism: row.parallelism as u32,
        created_at: from_ms(row.created_at),
        created_by: row.created_by,
        total: row.total as u64,
        counts,
    })
}
