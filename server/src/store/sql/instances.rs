//! Reading instances on SQLite.

use super::Db;
use super::dialect;
use app::flow::FlowInstance;
use app::model::{
    Attempt, HistoryPoint, Instance, InstanceFilter, InstanceId, InstancePage, InstanceState,
    RunType, StateCounts,
};
use sqlx::QueryBuilder;

use super::rows::{INSTANCE_COLUMNS, InstanceRow, date};
use super::scheduling::literal;
use super::{SqlStore, json_ids, push_in};
use crate::store::ListItem;
use crate::store::instances::{Flow, InstanceStore, WaitFacts};
use crate::store::{Result, from_ms};

pub(super) fn push_filter(query: &mut QueryBuilder<Db>, filter: &InstanceFilter) {
    push_filter_as(query, filter, "i.node_id");
}

/// [`push_filter`], with the node id of a name search written as `node_id` (`i.node_id + 0`
/// keeps it from choosing the node id's index).
fn push_filter_as(query: &mut QueryBuilder<Db>, filter: &InstanceFilter, node_id: &str) {
    query.push(" WHERE 1 = 1");
    if !filter.state.is_empty() {
        query.push(" AND i.state");
        push_in(query, filter.state.iter().copied());
    }
    if let Some(owner) = &filter.owner {
        query.push(" AND i.owner = ").push_bind(owner.clone());
    }
    if let Some(node) = &filter.node {
        query.push(format!(" AND {node_id} IN "));
        dialect::push_nodes_named(query, node);
    }
    if let Some(workflow) = &filter.workflow {
        query.push(" AND i.workflow = ").push_bind(workflow.clone());
    }
    if let Some(run_type) = filter.run_type {
        // Most instances are cycle instances: the run type narrows little, so next to a narrower
        // filter it is checked on the rows that filter finds (`|| ''` keeps it from choosing the
        // index; without statistics SQLite would walk the run type's index in id order).
        let narrower = filter.owner.is_some()
            || filter.node.is_some()
            || filter.workflow.is_some()
            || filter.bizdate.is_some()
            || filter.run_date.is_some()
            || filter.job.is_some();
        let column = if narrower { "i.run_type || ''" } else { "i.run_type" };
        query.push(format!(" AND {column} = ")).push_bind(run_type);
    }
    if let Some(date) = filter.bizdate {
        query.push(" AND i.bizdate = ").push_bind(date.to_string());
    }
    if let Some(date) = filter.run_date {
        query.push(" AND i.run_date = ").push_bind(date.to_string());
    }
    if let Some(job) = filter.job {
        query.push(" AND i.job_id = ").push_bind(job);
    }
}

/// The maintained counts that answer a filter's statistics without counting instances (see
/// the migration `instance_counts`): per run date, run type and state, or per node, run type and
/// state. Filters on anything else are counted through the instances' indexes.
enum Counted {
    ByDay,
    ByNode,
}

impl Counted {
    fn by(filter: &InstanceFilter) -> Option<Counted> {
        let InstanceFilter { state: _, owner, node, workflow, run_type: _, bizdate, run_date, job } =
            filter;
        if owner.is_some() || workflow.is_some() || bizdate.is_some() || job.is_some() {
            return None;
        }
        match (node, run_date) {
            (None, _) => Some(Counted::ByDay),
            (Some(_), None) => Some(Counted::ByNode),
            (Some(_), Some(_)) => None,
        }
    }

    /// The counts plus the changes not yet folded into them (see `fold_count_changes`), summed
    /// per state.
    fn query(&self, filter: &InstanceFilter) -> QueryBuilder<Db> {
        let (counts, changes) = match self {
            Counted::ByDay => ("instance_counts_by_day", "instance_count_changes_by_day"),
            Counted::ByNode => ("instance_counts_by_node", "instance_count_changes_by_node"),
        };
        let mut query = QueryBuilder::<Db>::new("SELECT c.state, CAST(SUM(c.n) AS BIGINT) FROM (");
        for (i, table) in [counts, changes].into_iter().enumerate() {
            if i > 0 {
                query.push(" UNION ALL ");
            }
            query.push(format!("SELECT t.state, t.n FROM {table} t WHERE 1 = 1"));
            if !filter.state.is_empty() {
                query.push(" AND t.state");
                push_in(&mut query, filter.state.iter().copied());
            }
            if let Some(run_type) = filter.run_type {
                query.push(" AND t.run_type = ").push_bind(run_type);
            }
            if let Some(date) = filter.run_date {
                query.push(" AND t.run_date = ").push_bind(date.to_string());
            }
            if let Some(node) = &filter.node {
                query.push(" AND t.node_id IN ");
                dialect::push_nodes_named(&mut query, node);
            }
        }
        query.push(") c GROUP BY c.state");
        query
    }
}

/// Up to how many instances a name search reads through the node id and sorts (past it, walking
/// the id order finds a page sooner: at 5 million instances, 20,000 matches come every 250 rows).
const FEW_BY_NAME: i64 = 20_000;

#[async_trait::async_trait]
impl InstanceStore for SqlStore {
    async fn list_instances(
        &self,
        filter: &InstanceFilter,
        before: Option<InstanceId>,
        limit: u32,
    ) -> Result<InstancePage> {
        // A name search matching few instances reads them through the node id and sorts them
        // (`i.id + 0` keeps the planner from walking the whole id order looking for them); one
        // matching many walks the id order, where they come often (`i.node_id + 0` keeps it from
        // reading them all to sort them). Chosen here from the counts, because the planners'
        // guesses of how many names a pattern matches were off by hundreds of times.
        let few = match &filter.node {
            Some(node) => {
                let matching = InstanceFilter {
                    node: Some(node.clone()),
                    run_type: filter.run_type,
                    ..Default::default()
                };
                let counts: Vec<(InstanceState, i64)> = Counted::ByNode
                    .query(&matching)
                    .build_query_as()
                    .persistent(false)
                    .fetch_all(&self.read)
                    .await?;
                counts.iter().map(|(_, n)| n).sum::<i64>() <= FEW_BY_NAME
            }
            None => false,
        };
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances i JOIN nodes n ON n.id = i.node_id"
        ));
        let many = filter.node.is_some() && !few;
        push_filter_as(&mut query, filter, if many { "i.node_id + 0" } else { "i.node_id" });
        if let Some(before) = before {
            query.push(" AND i.id < ").push_bind(before.0);
        }
        let order = if few { "i.id + 0" } else { "i.id" };
        query.push(format!(" ORDER BY {order} DESC LIMIT ")).push_bind(limit as i64 + 1);
        // Planned for these values each time, not once for any (PostgreSQL's generic plan of a
        // prepared statement cannot know that a name matches one node and not a thousand).
        let rows: Vec<InstanceRow> =
            query.build_query_as().persistent(false).fetch_all(&self.read).await?;
        let more = rows.len() > limit as usize;
        let items = rows
            .into_iter()
            .take(limit as usize)
            .map(Instance::try_from)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = more.then(|| items.last().map(|i| i.id.to_string())).flatten();
        Ok(InstancePage { items, next_cursor })
    }

    async fn instance_stats(&self, filter: &InstanceFilter) -> Result<StateCounts> {
        let mut query = match Counted::by(filter) {
            Some(counted) => counted.query(filter),
            None => {
                let mut query =
                    QueryBuilder::<Db>::new("SELECT i.state, COUNT(*) FROM instances i");
                push_filter(&mut query, filter);
                query.push(" GROUP BY i.state");
                query
            }
        };
        let rows: Vec<(InstanceState, i64)> =
            query.build_query_as().persistent(false).fetch_all(&self.read).await?;
        let mut counts = StateCounts::default();
        for (state, count) in rows {
            counts.add(state, count as u64);
        }
        Ok(counts)
    }

    async fn get_instance(&self, id: InstanceId) -> Result<Option<Instance>> {
        let row: Option<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances i JOIN nodes n ON n.id = i.node_id \
             WHERE i.id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.read)
        .await?;
        row.map(Instance::try_from).transpose()
    }

    async fn attempts(&self, id: InstanceId) -> Result<Vec<Attempt>> {
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
                 reason FROM attempts WHERE instance_id = $1 ORDER BY attempt",
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
    async fn descendants(&self, id: InstanceId, limit: u32) -> Result<Vec<Instance>> {
        let rows: Vec<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH RECURSIVE down (id) AS ( \
               SELECT instance_id FROM instance_deps WHERE upstream_id = $1 \
               UNION SELECT d.instance_id FROM instance_deps d JOIN down ON d.upstream_id = down.id) \
             SELECT {INSTANCE_COLUMNS} FROM down JOIN instances i ON i.id = down.id \
             JOIN nodes n ON n.id = i.node_id ORDER BY i.id LIMIT $2"
        )))
        .bind(id.0)
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Instance::try_from).collect()
    }

    /// The instances this one waits for, and the ones that wait for it.
    async fn neighbors(&self, id: InstanceId) -> Result<(Vec<Instance>, Vec<Instance>)> {
        let upstream: Vec<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instance_deps d JOIN instances i ON i.id = d.upstream_id \
             JOIN nodes n ON n.id = i.node_id WHERE d.instance_id = $1 ORDER BY i.id"
        )))
        .bind(id.0)
        .fetch_all(&self.read)
        .await?;
        let downstream: Vec<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instance_deps d JOIN instances i ON i.id = d.instance_id \
             JOIN nodes n ON n.id = i.node_id WHERE d.upstream_id = $1 ORDER BY i.id"
        )))
        .bind(id.0)
        .fetch_all(&self.read)
        .await?;
        let convert = |rows: Vec<InstanceRow>| {
            rows.into_iter().map(Instance::try_from).collect::<Result<Vec<_>>>()
        };
        Ok((convert(upstream)?, convert(downstream)?))
    }

    async fn instances_by_ids(&self, ids: &[InstanceId]) -> Result<Vec<Instance>> {
        let rows: Vec<InstanceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances i JOIN nodes n ON n.id = i.node_id \
             WHERE i.id IN (SELECT value FROM {list}) ORDER BY i.id DESC",
            list = super::list("$1", ListItem::Id)
        )))
        .bind(json_ids(ids))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Instance::try_from).collect()
    }

    async fn history(&self, id: InstanceId, limit: u32) -> Result<Vec<HistoryPoint>> {
        let rows: Vec<(i64, String, RunType, InstanceState, i64, Option<i64>)> = sqlx::query_as(
            "SELECT h.id, h.bizdate, h.run_type, h.state, h.started_at, h.ended_at \
             FROM instances h WHERE h.node_id = (SELECT node_id FROM instances WHERE id = $1) \
             AND h.started_at IS NOT NULL ORDER BY h.planned_at DESC, h.id DESC LIMIT $2",
        )
        .bind(id.0)
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(id, bizdate, run_type, state, started, ended)| {
                let finished = !matches!(state, InstanceState::Running);
                Ok(HistoryPoint {
                    id: InstanceId(id),
                    bizdate: super::rows::date(&bizdate)?,
                    run_type,
                    state,
                    started_at: from_ms(started),
                    millis: ended.filter(|_| finished).map(|e| (e - started).max(0)),
                })
            })
            .collect()
    }

    async fn flow_around(&self, id: InstanceId, limit: u32) -> Result<Flow> {
        let Some(run_date): Option<String> =
            sqlx::query_scalar("SELECT run_date FROM instances WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&self.read)
                .await?
        else {
            return Ok((Vec::new(), Vec::new(), false));
        };
        // Up and down within the run date; cross-cycle edges lead out of it and are followed
        // one step below (or the flow of a self-dependent node would be its whole history).
        let (inner, outer) = dialect::recursion_limit("$2");
        let rows: Vec<FlowRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH RECURSIVE \
               up (id) AS (SELECT CAST($1 AS BIGINT) UNION SELECT d.upstream_id \
                 FROM instance_deps d JOIN up ON d.instance_id = up.id \
                 JOIN instances x ON x.id = d.upstream_id AND x.run_date = $3 {inner}), \
               down (id) AS (SELECT CAST($1 AS BIGINT) UNION SELECT d.instance_id \
                 FROM instance_deps d JOIN down ON d.upstream_id = down.id \
                 JOIN instances x ON x.id = d.instance_id AND x.run_date = $3 {inner}) \
             SELECT {FLOW_COLUMNS} FROM instances i \
             WHERE i.id IN (SELECT id FROM (SELECT id FROM up {outer}) AS u \
               UNION SELECT id FROM (SELECT id FROM down {outer}) AS d) ORDER BY i.id",
        )))
        .bind(id.0)
        .bind(limit as i64 + 1)
        .bind(&run_date)
        .fetch_all(&self.read)
        .await?;
        let truncated = rows.len() > 2 * limit as usize;
        let mut instances: Vec<FlowInstance> =
            rows.into_iter().map(|row| row.into_instance(&run_date)).collect::<Result<_>>()?;
        let ids: Vec<i64> = instances.iter().map(|i| i.id.0).collect();
        let members: std::collections::HashSet<i64> = ids.iter().copied().collect();
        // Every upstream edge of the members, driven through the primary key (CROSS JOIN keeps
        // SQLite from scanning the edge table), and the members' downstream in other cycles
        // (at most `limit`: a root's same-day downstream can be a whole day).
        let list = super::list("$1", ListItem::Id);
        let join = dialect::JOIN_FROM_LIST;
        let mut all_edges: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT d.upstream_id, d.instance_id FROM {list} \
             {join} instance_deps d ON d.instance_id = j.value"
        )))
        .bind(serde_json::to_string(&ids).expect("numbers"))
        .fetch_all(&self.read)
        .await?;
        let later: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT d.upstream_id, d.instance_id FROM {list} \
             {join} instance_deps d ON d.upstream_id = j.value \
             JOIN instances x ON x.id = d.instance_id AND x.run_date <> $2 LIMIT $3"
        )))
        .bind(serde_json::to_string(&ids).expect("numbers"))
        .bind(&run_date)
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        all_edges.extend(later);
        all_edges.sort_unstable();
        all_edges.dedup();
        // The other cycles one step away: the previous cycle it waits for, the next that waits.
        let mut outside: Vec<i64> =
            all_edges.iter().flat_map(|&(u, d)| [u, d]).filter(|i| !members.contains(i)).collect();
        outside.sort_unstable();
        outside.dedup();
        let truncated = truncated || outside.len() > limit as usize;
        outside.truncate(limit as usize);
        if !outside.is_empty() {
            // Only other cycles: same-day instances left out are left out (`truncated`).
            let rows: Vec<FlowRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {FLOW_COLUMNS} FROM {list} {join} instances i ON i.id = j.value \
                 WHERE i.run_date <> $2"
            )))
            .bind(serde_json::to_string(&outside).expect("numbers"))
            .bind(&run_date)
            .fetch_all(&self.read)
            .await?;
            for row in rows {
                instances.push(row.into_instance(&run_date)?);
            }
            instances.sort_by_key(|i| i.id);
        }
        let shown: std::collections::HashSet<i64> = instances.iter().map(|i| i.id.0).collect();
        let edges = all_edges
            .into_iter()
            .filter(|(u, d)| shown.contains(u) && shown.contains(d))
            .map(|(u, d)| (InstanceId(u), InstanceId(d)))
            .collect();
        Ok((instances, edges, truncated))
    }

    async fn wait_facts(&self, id: InstanceId) -> Result<Option<WaitFacts>> {
        let row: Option<(i64, i64, String, i64, bool, String)> = sqlx::query_as(
            "SELECT i.ready_at, i.planned_at, n.resource_group, i.priority, n.paused, i.run_date \
             FROM instances i JOIN nodes n ON n.id = i.node_id WHERE i.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.read)
        .await?;
        let Some((ready_at, planned_at, group, priority, node_paused, own_day)) = row else {
            return Ok(None);
        };
        let pending: Vec<(i64, String, InstanceState, bool, String)> = sqlx::query_as(
            "SELECT u.id, u.node_name, u.state, u.paused, u.run_date \
             FROM instance_deps d JOIN instances u ON u.id = d.upstream_id \
             WHERE d.instance_id = $1 AND (u.state <> $2 OR u.paused <> FALSE) ORDER BY u.id",
        )
        .bind(id.0)
        .bind(InstanceState::Success)
        .fetch_all(&self.read)
        .await?;
        let (slots, backfill_slots, running): (i64, Option<i64>, i64) = sqlx::query_as(
            "SELECT COALESCE((SELECT slots FROM resource_groups WHERE name = $1), 0), \
               (SELECT backfill_slots FROM resource_groups WHERE name = $1), \
               (SELECT COUNT(*) FROM instances i JOIN nodes n ON n.id = i.node_id \
                WHERE i.state = $2 AND n.resource_group = $1)",
        )
        .bind(&group)
        .bind(InstanceState::Running)
        .fetch_one(&self.read)
        .await?;
        let ahead: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM instances i JOIN nodes n ON n.id = i.node_id \
             WHERE i.state = {} AND i.paused = FALSE AND n.resource_group = $1 \
             AND (i.priority, i.ready_at, i.id) < ($2, $3, $4)",
            literal(InstanceState::WaitingResources)
        )))
        .bind(&group)
        .bind(priority)
        .bind(ready_at)
        .bind(id.0)
        .fetch_one(&self.read)
        .await?;
        let pending_upstream = pending
            .into_iter()
            .map(|(id, node, state, paused, day)| {
                let earlier = if day == own_day { None } else { Some(date(&day)?) };
                Ok((InstanceId(id), node, state, paused, earlier))
            })
            .collect::<Result<_>>()?;
        Ok(Some(WaitFacts {
            ready_at: from_ms(ready_at),
            planned_at: from_ms(planned_at),
            pending_upstream,
            resource_group: group,
            slots,
            backfill_slots: backfill_slots.map(|b| b as u32),
            running_in_group: running,
            queued_ahead: ahead,
            node_paused,
        }))
    }
}

const FLOW_COLUMNS: &str = "i.id, i.node_name, i.owner, i.state, i.paused, i.run_date";

#[derive(sqlx::FromRow)]
struct FlowRow {
    id: i64,
    node_name: String,
    owner: String,
    state: InstanceState,
    paused: bool,
    run_date: String,
}

impl FlowRow {
    /// The instance, with its run date when it is not `center_day` (another cycle).
    fn into_instance(self, center_day: &str) -> Result<FlowInstance> {
        let run_date = if self.run_date == center_day { None } else { Some(date(&self.run_date)?) };
        Ok(FlowInstance {
            id: InstanceId(self.id),
            node: self.node_name,
            owner: self.owner,
            state: self.state,
            paused: self.paused,
            run_date,
        })
    }
}
