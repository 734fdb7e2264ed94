//! Test and backfill jobs: created together with their instances in one transaction, listed
//! with their progress.

use std::collections::HashMap;

use app::jobs::{DateOrder, Job, JobPage};
use app::model::{InstanceState, RunType, StateCounts};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{QueryBuilder, Sqlite};

use super::rows::date;
use super::snapshots::{DayBatch, Gate, SnapshotNode, insert_days_in};
use super::{Result, Store, StoreError, from_ms, to_ms};

/// What a new job is.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: RunType,
    pub created_by: String,
    pub root: String,
    pub nodes: Vec<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub order: DateOrder,
    pub parallelism: u32,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
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

impl Store {
    /// Creates a job and its instances (one batch per date, `gates` between dates) in one
    /// transaction; returns the job's id and how many instances it got.
    pub async fn create_job(
        &self,
        job: &NewJob,
        mut days: Vec<DayBatch>,
        gates: &[Gate],
        now: DateTime<Utc>,
    ) -> Result<(i64, u64)> {
        let mut tx = self.write.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (kind, created_at, created_by, root, nodes, from_date, to_date, \
             descending, parallelism) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
        )
        .bind(job.kind.as_str())
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
        sqlx::query("UPDATE jobs SET total = ?2 WHERE id = ?1")
            .bind(id)
            .bind(created as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((id, created))
    }

    /// Jobs of one kind, newest first, with their instances counted per state.
    pub async fn list_jobs(
        &self,
        kind: RunType,
        limit: u32,
        before: Option<i64>,
    ) -> Result<JobPage> {
        let limit = limit.clamp(1, app::model::MAX_PAGE_SIZE);
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT id, kind, created_at, created_by, root, nodes, from_date, to_date, descending, \
             parallelism, total FROM jobs WHERE kind = ",
        );
        query.push_bind(kind.as_str());
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

    pub async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        let row: Option<JobRow> = sqlx::query_as(
            "SELECT id, kind, created_at, created_by, root, nodes, from_date, to_date, descending, \
             parallelism, total FROM jobs WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut counts = self.job_counts(vec![row.id]).await?;
        let c = counts.remove(&row.id).unwrap_or_default();
        job_of(row, c).map(Some)
    }

    async fn job_counts(&self, ids: Vec<i64>) -> Result<HashMap<i64, StateCounts>> {
        let mut out: HashMap<i64, StateCounts> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT i.job_id, i.state, COUNT(*) FROM json_each(?1) j \
             CROSS JOIN instances i ON i.job_id = j.value GROUP BY i.job_id, i.state",
        )
        .bind(serde_json::to_string(&ids).expect("numbers"))
        .fetch_all(&self.read)
        .await?;
        for (job, state, count) in rows {
            let state: InstanceState = state.parse().map_err(|_| StoreError::Corrupt(state))?;
            out.entry(job).or_default().add(state, count as u64);
        }
        Ok(out)
    }

    /// The names of every live node downstream of `name` in the definitions.
    pub async fn node_descendants(&self, name: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "WITH RECURSIVE down (id) AS ( \
               SELECT nu.node_id FROM node_upstreams nu JOIN nodes n ON n.id = nu.upstream_id \
               WHERE n.name = ?1 AND n.deleted_at IS NULL \
               UNION SELECT nu.node_id FROM node_upstreams nu JOIN down ON nu.upstream_id = down.id) \
             SELECT n.name FROM down JOIN nodes n ON n.id = down.id \
             WHERE n.deleted_at IS NULL ORDER BY n.name",
        )
        .bind(name)
        .fetch_all(&self.read)
        .await?)
    }

    /// The names of the live nodes that depend on `name` directly.
    pub async fn node_downstream(&self, name: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT d.name FROM nodes u JOIN node_upstreams nu ON nu.upstream_id = u.id \
             JOIN nodes d ON d.id = nu.node_id \
             WHERE u.name = ?1 AND u.deleted_at IS NULL AND d.deleted_at IS NULL ORDER BY d.name",
        )
        .bind(name)
        .fetch_all(&self.read)
        .await?)
    }

    /// The live nodes of a workflow, by name.
    pub async fn workflow_nodes(&self, workflow: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT n.name FROM nodes n JOIN workflows w ON w.id = n.workflow_id \
             WHERE w.name = ?1 AND n.deleted_at IS NULL ORDER BY n.name",
        )
        .bind(workflow)
        .fetch_all(&self.read)
        .await?)
    }

    /// The live nodes with these names, as the planner needs them (unknown names are absent).
    pub async fn snapshot_nodes_named(&self, names: &[String]) -> Result<Vec<SnapshotNode>> {
        let wanted: std::collections::HashSet<&String> = names.iter().collect();
        Ok(self.snapshot_nodes().await?.into_iter().filter(|n| wanted.contains(&n.name)).collect())
    }
}

fn job_of(row: JobRow, counts: StateCounts) -> Result<Job> {
    Ok(Job {
        id: row.id,
        kind: row.kind.parse().map_err(|_| StoreError::Corrupt(row.kind.clone()))?,
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
