//! Writing the instances of one run date (the nightly snapshot; later tests and backfills):
//! idempotent inserts on the unique key, instance-level edges, and the first promotion of the
//! instances whose upstream is already done.

use std::collections::HashMap;

use app::model::{InstanceState, RunType};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{AssertSqlSafe, QueryBuilder, Sqlite, SqliteConnection};

use super::scheduling::PROMOTE;
use super::{Result, Store, to_ms};

/// A live node as the snapshot needs it.
#[derive(Debug, Clone)]
pub struct SnapshotNode {
    pub id: i64,
    pub name: String,
    pub workflow: String,
    pub owner: String,
    pub schedule: String,
    pub paused: bool,
    pub upstream: Vec<i64>,
}

/// One instance to create: a node at a planned time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    pub node_id: i64,
    pub node_name: String,
    pub workflow: String,
    pub owner: String,
    pub planned_at: DateTime<Utc>,
    pub paused: bool,
}

/// Instances of one run date and the edges between them (indexes into `instances`:
/// `(downstream, upstream)`).
#[derive(Debug, Clone)]
pub struct DayBatch {
    pub run_type: RunType,
    pub job_id: i64,
    pub run_date: NaiveDate,
    pub bizdate: NaiveDate,
    pub priority: i64,
    pub instances: Vec<NewInstance>,
    pub edges: Vec<(usize, usize)>,
}

/// Rows per multi-row INSERT (well under SQLite's bound-parameter limit).
const CHUNK: usize = 400;

impl Store {
    /// Every live node with its schedule and upstream ids.
    pub async fn snapshot_nodes(&self) -> Result<Vec<SnapshotNode>> {
        let rows: Vec<(i64, String, String, String, String, bool)> = sqlx::query_as(
            "SELECT n.id, n.name, w.name, n.owner, n.schedule, n.paused FROM nodes n \
             JOIN workflows w ON w.id = n.workflow_id WHERE n.deleted_at IS NULL ORDER BY n.id",
        )
        .fetch_all(&self.read)
        .await?;
        let edges: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT nu.node_id, nu.upstream_id FROM node_upstreams nu \
             JOIN nodes n ON n.id = nu.upstream_id WHERE n.deleted_at IS NULL",
        )
        .fetch_all(&self.read)
        .await?;
        let mut upstream: HashMap<i64, Vec<i64>> = HashMap::new();
        for (node, up) in edges {
            upstream.entry(node).or_default().push(up);
        }
        Ok(rows
            .into_iter()
            .map(|(id, name, workflow, owner, schedule, paused)| SnapshotNode {
                upstream: upstream.remove(&id).unwrap_or_default(),
                id,
                name,
                workflow,
                owner,
                schedule,
                paused,
            })
            .collect())
    }

    /// Whether the nightly snapshot of `run_date` has been made.
    pub async fn has_snapshot(&self, run_date: NaiveDate) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM snapshots WHERE run_date = ?1")
            .bind(run_date.to_string())
            .fetch_optional(&self.read)
            .await?;
        Ok(found.is_some())
    }

    /// Inserts a day's instances in one transaction and returns how many were new. Instances
    /// that exist already (same node, run type, job and planned time) are left alone, and so
    /// are their edges: re-running a day creates nothing twice.
    pub async fn insert_day(&self, batch: &DayBatch, now: DateTime<Utc>) -> Result<u64> {
        let now = to_ms(now);
        let run_date = batch.run_date.to_string();
        let mut tx = self.write.begin().await?;
        let mut created: HashMap<(i64, i64), i64> = HashMap::new();
        for chunk in batch.instances.chunks(CHUNK) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO instances (node_id, node_name, workflow, owner, run_type, job_id, \
                 bizdate, run_date, planned_at, ready_at, state, paused, priority, created_at, \
                 updated_at) ",
            );
            query.push_values(chunk, |mut row, new| {
                let planned = to_ms(new.planned_at);
                row.push_bind(new.node_id)
                    .push_bind(new.node_name.clone())
                    .push_bind(new.workflow.clone())
                    .push_bind(new.owner.clone())
                    .push_bind(batch.run_type.as_str())
                    .push_bind(batch.job_id)
                    .push_bind(batch.bizdate.to_string())
                    .push_bind(run_date.clone())
                    .push_bind(planned)
                    .push_bind(planned)
                    .push_bind(InstanceState::NotRun.as_str())
                    .push_bind(new.paused)
                    .push_bind(batch.priority)
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(
                " ON CONFLICT (node_id, run_type, job_id, planned_at) DO NOTHING \
                 RETURNING id, node_id, planned_at",
            );
            let rows: Vec<(i64, i64, i64)> = query.build_query_as().fetch_all(&mut *tx).await?;
            for (id, node, planned) in rows {
                created.insert((node, planned), id);
            }
        }
        if !batch.edges.is_empty() {
            let ids = day_ids(&mut tx, batch, &run_date).await?;
            let key = |i: usize| {
                let new = &batch.instances[i];
                (new.node_id, to_ms(new.planned_at))
            };
            let edges: Vec<(i64, i64)> = batch
                .edges
                .iter()
                .filter_map(|&(down, up)| {
                    let down_id = *created.get(&key(down))?;
                    let up_id = *ids.get(&key(up))?;
                    Some((down_id, up_id))
                })
                .collect();
            for chunk in edges.chunks(CHUNK) {
                let mut query = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO instance_deps (instance_id, upstream_id) ",
                );
                query.push_values(chunk, |mut row, (down, up)| {
                    row.push_bind(*down).push_bind(*up);
                });
                query.push(" ON CONFLICT DO NOTHING");
                query.build().execute(&mut *tx).await?;
            }
        }
        // The first promotion: whatever has nothing left to wait for moves on.
        sqlx::query(AssertSqlSafe(format!(
            "{PROMOTE} AND run_type = ?2 AND job_id = ?3 AND run_date = ?4"
        )))
        .bind(now)
        .bind(batch.run_type.as_str())
        .bind(batch.job_id)
        .bind(&run_date)
        .execute(&mut *tx)
        .await?;
        if batch.run_type == RunType::Cycle {
            sqlx::query(
                "INSERT INTO snapshots (run_date, created_at, instances) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (run_date) DO UPDATE SET instances = instances + excluded.instances",
            )
            .bind(&run_date)
            .bind(now)
            .bind(created.len() as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(created.len() as u64)
    }
}

/// Ids of every instance of the batch's day, keyed by (node, planned time).
async fn day_ids(
    conn: &mut SqliteConnection,
    batch: &DayBatch,
    run_date: &str,
) -> Result<HashMap<(i64, i64), i64>> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, node_id, planned_at FROM instances \
         WHERE run_type = ?1 AND job_id = ?2 AND run_date = ?3",
    )
    .bind(batch.run_type.as_str())
    .bind(batch.job_id)
    .bind(run_date)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(id, node, planned)| ((node, planned), id)).collect())
}

impl Store {
    /// Whether any snapshot older than `run_date` exists (the server has been in operation).
    pub async fn has_any_snapshot_before(&self, run_date: NaiveDate) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM snapshots WHERE run_date < ?1 LIMIT 1")
                .bind(run_date.to_string())
                .fetch_optional(&self.read)
                .await?;
        Ok(found.is_some())
    }
}
