//! Writing the instances of run dates on SQLite: idempotent inserts on the unique key,
//! instance-level edges, and the first promotion.

use std::collections::HashMap;

use super::rows::previous_from_column;
use super::{Conn, Db, dialect};
use crate::store::ListItem;
use app::model::{InstanceState, RunType};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::QueryBuilder;

use super::scheduling::promotion;
use super::{CHUNK, SqlStore};
use crate::store::snapshots::{
    DayBatch, DayInstance, EarlierInstance, Gate, SnapshotNode, SnapshotStore,
};
use crate::store::{Result, WriteLock, from_ms, to_ms};

#[async_trait::async_trait]
impl SnapshotStore for SqlStore {
    async fn snapshot_nodes(&self) -> Result<Vec<SnapshotNode>> {
        type Row = (i64, String, String, String, String, bool, String, i64, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT n.id, n.name, w.name, n.owner, n.schedule, n.paused, n.depends_on_previous, \
             n.version, n.calendar \
             FROM nodes n \
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
            .map(|(id, name, workflow, owner, schedule, paused, previous, version, calendar)| {
                SnapshotNode {
                    upstream: upstream.remove(&id).unwrap_or_default(),
                    previous: previous_from_column(&previous),
                    version: version as u32,
                    id,
                    name,
                    workflow,
                    owner,
                    schedule,
                    paused,
                    calendar,
                }
            })
            .collect())
    }

    async fn previous_cycle(
        &self,
        nodes: &[i64],
        run_date: NaiveDate,
    ) -> Result<Vec<EarlierInstance>> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        // Each node's latest cycle instance before the run date (the index on (node, planned
        // time), read backwards), then its instances of the two days up to it: those of the
        // same run date are its previous cycle.
        let rows: Vec<(i64, i64, i64, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT i.id, i.node_id, i.planned_at, i.run_date, l.latest FROM \
             (SELECT j.value AS node_id, (SELECT p.planned_at FROM instances p \
               WHERE p.node_id = j.value AND p.run_type = $2 AND p.run_date < $3 \
               ORDER BY p.planned_at DESC LIMIT 1) AS latest FROM {list}) l \
             {join} instances i ON i.node_id = l.node_id AND i.run_type = $2 \
             AND i.planned_at <= l.latest AND i.planned_at > l.latest - $4",
            list = super::list("$1", ListItem::Id),
            join = dialect::JOIN_FROM_LIST,
        )))
        .bind(serde_json::to_string(nodes).expect("numbers"))
        .bind(RunType::Cycle)
        .bind(run_date.to_string())
        .bind(2 * 86_400_000_i64)
        .fetch_all(&self.read)
        .await?;
        let latest_day: HashMap<i64, String> = rows
            .iter()
            .filter(|(_, _, planned, _, latest)| planned == latest)
            .map(|(_, node, _, day, _)| (*node, day.clone()))
            .collect();
        Ok(rows
            .into_iter()
            .filter(|(_, node, _, day, _)| latest_day.get(node) == Some(day))
            .map(|(id, node_id, planned, _, _)| EarlierInstance {
                id,
                node_id,
                planned_at: from_ms(planned),
            })
            .collect())
    }

    async fn has_snapshot(&self, run_date: NaiveDate) -> Result<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM snapshots WHERE run_date = $1)")
            .bind(run_date.to_string())
            .fetch_one(&self.read)
            .await?)
    }

    async fn insert_day(&self, batch: &DayBatch, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin(WriteLock::Instances).await?;
        let created = insert_days_in(&mut tx, std::slice::from_ref(batch), &[], to_ms(now)).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn has_any_snapshot_before(&self, run_date: NaiveDate) -> Result<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM snapshots WHERE run_date < $1)")
            .bind(run_date.to_string())
            .fetch_one(&self.read)
            .await?)
    }
}

/// Inserts several days at once (a day of the snapshot, or a test or backfill job), with
/// `gates` between days (`(downstream, upstream)` as `(day, instance)` indexes), inside a
/// transaction the caller commits. The first promotion runs after every edge is in place.
pub(super) async fn insert_days_in(
    tx: &mut Conn,
    days: &[DayBatch],
    gates: &[Gate],
    now: i64,
) -> Result<u64> {
    {
        let mut created_total = 0;
        // Per day: (node, planned) → id of every instance of the day, new or old.
        let mut ids: Vec<HashMap<(i64, i64), i64>> = Vec::with_capacity(days.len());
        for batch in days {
            let created = insert_instances(tx, batch, now).await?;
            created_total += created.len() as u64;
            let all = if batch.edges.is_empty() && gates.is_empty() {
                // Edges to earlier days need only the new instances' ids.
                HashMap::new()
            } else if created.len() == batch.instances.len() {
                // All of them are new: no need to read the day back.
                created.clone()
            } else {
                day_ids(tx, batch).await?
            };
            let key = |i: usize| {
                let new = &batch.instances[i];
                (new.node_id, to_ms(new.planned_at))
            };
            // The previous cycle was read before this transaction: what retention purged since
            // is not waited for.
            let still_there = existing(tx, batch.earlier.iter().map(|&(_, up)| up)).await?;
            let edges: Vec<(i64, i64)> = batch
                .edges
                .iter()
                .filter_map(|&(down, up)| Some((*created.get(&key(down))?, *all.get(&key(up))?)))
                .chain(
                    batch
                        .earlier
                        .iter()
                        .filter(|(_, up)| still_there.contains(up))
                        .filter_map(|&(down, up)| Some((*created.get(&key(down))?, up))),
                )
                .collect();
            insert_edges(tx, &edges).await?;
            ids.push(all);
        }
        let id_of = |(day, i): DayInstance| {
            let new = &days.get(day)?.instances.get(i)?;
            ids[day].get(&(new.node_id, to_ms(new.planned_at))).copied()
        };
        let gate_edges: Vec<(i64, i64)> =
            gates.iter().filter_map(|&(down, up)| Some((id_of(down)?, id_of(up)?))).collect();
        insert_edges(tx, &gate_edges).await?;
        for batch in days {
            // The first promotion: whatever has nothing left to wait for moves on.
            let mut query = promotion(now);
            query
                .push(" AND run_type = ")
                .push_bind(batch.run_type)
                .push(" AND job_id = ")
                .push_bind(batch.job_id)
                .push(" AND run_date = ")
                .push_bind(batch.run_date.to_string());
            query.build().execute(&mut *tx).await?;
        }
        if let Some(batch) = days.first().filter(|b| b.run_type == RunType::Cycle) {
            sqlx::query(
                "INSERT INTO snapshots (run_date, created_at, instances) VALUES ($1, $2, $3) \
                 ON CONFLICT (run_date) DO UPDATE SET instances = snapshots.instances + excluded.instances",
            )
            .bind(batch.run_date.to_string())
            .bind(now)
            .bind(created_total as i64)
            .execute(&mut *tx)
            .await?;
        }
        Ok(created_total)
    }
}

/// Inserts a day's instances (skipping existing ones) and returns the new ones by
/// (node, planned time).
async fn insert_instances(
    conn: &mut Conn,
    batch: &DayBatch,
    now: i64,
) -> Result<HashMap<(i64, i64), i64>> {
    let run_date = batch.run_date.to_string();
    let mut created = HashMap::new();
    for chunk in batch.instances.chunks(CHUNK) {
        let mut query = QueryBuilder::<Db>::new(
            "INSERT INTO instances (node_id, node_name, workflow, owner, run_type, job_id, \
             bizdate, run_date, planned_at, ready_at, state, paused, priority, created_at, \
             updated_at, definition_version, dry_run) ",
        );
        query.push_values(chunk, |mut row, new| {
            let planned = to_ms(new.planned_at);
            // Job instances run now; cycle instances wait for their planned time.
            let ready = if batch.run_now { now } else { planned };
            row.push_bind(new.node_id)
                .push_bind(new.node_name.clone())
                .push_bind(new.workflow.clone())
                .push_bind(new.owner.clone())
                .push_bind(batch.run_type)
                .push_bind(batch.job_id)
                .push_bind(batch.bizdate.to_string())
                .push_bind(run_date.clone())
                .push_bind(planned)
                .push_bind(ready)
                .push_bind(InstanceState::NotRun)
                .push_bind(new.paused)
                .push_bind(batch.priority)
                .push_bind(now)
                .push_bind(now)
                .push_bind(new.version as i64)
                .push_bind(new.dry_run);
        });
        query.push(
            " ON CONFLICT (node_id, run_type, job_id, planned_at) DO NOTHING \
             RETURNING id, node_id, planned_at",
        );
        let rows: Vec<(i64, i64, i64)> = query.build_query_as().fetch_all(&mut *conn).await?;
        for (id, node, planned) in rows {
            created.insert((node, planned), id);
        }
    }
    Ok(created)
}

async fn insert_edges(conn: &mut Conn, edges: &[(i64, i64)]) -> Result<()> {
    for chunk in edges.chunks(CHUNK) {
        let mut query =
            QueryBuilder::<Db>::new("INSERT INTO instance_deps (instance_id, upstream_id) ");
        query.push_values(chunk, |mut row, (down, up)| {
            row.push_bind(*down).push_bind(*up);
        });
        query.push(" ON CONFLICT DO NOTHING");
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Those of `ids` that are instances (in the transaction's view).
async fn existing(
    conn: &mut Conn,
    ids: impl Iterator<Item = i64>,
) -> Result<std::collections::HashSet<i64>> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let found: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT i.id FROM {list} {join} instances i ON i.id = j.value",
        list = super::list("$1", ListItem::Id),
        join = dialect::JOIN_FROM_LIST,
    )))
    .bind(serde_json::to_string(&ids).expect("numbers"))
    .fetch_all(&mut *conn)
    .await?;
    Ok(found.into_iter().collect())
}

/// Ids of every instance of the batch's day, keyed by (node, planned time).
async fn day_ids(conn: &mut Conn, batch: &DayBatch) -> Result<HashMap<(i64, i64), i64>> {
    let run_date = batch.run_date.to_string();
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, node_id, planned_at FROM instances \
         WHERE run_type = $1 AND job_id = $2 AND run_date = $3",
    )
    .bind(batch.run_type)
    .bind(batch.job_id)
    .bind(&run_date)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(id, node, planned)| ((node, planned), id)).collect())
}
