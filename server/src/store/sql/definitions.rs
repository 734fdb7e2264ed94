//! Definitions on SQLite: resource groups, workflows, nodes and their upstream edges.

use std::collections::{HashMap, HashSet};

use super::dialect;
use super::{Conn, Db};
use app::calendars::Calendar;
use app::model::NodeId;
use app::nodes::{DependsOnPrevious, Node, NodePage, NodeSpec, NodeVersion, ResourceGroup};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Transaction};

use super::SqlStore;
use super::audit::insert_audit;
use super::rows::{NODE_COLUMNS, NodeRow, previous_column, previous_from_column};
use crate::store::ListItem;
use crate::store::definitions::{
    DefinitionStore, DefinitionTx, LiveGraph, NodeListFilter, WorkflowGraph,
};
use crate::store::{AuditEntry, Result, StoreError, WriteLock, from_ms, to_ms};

async fn resource_groups(conn: &mut Conn) -> Result<Vec<ResourceGroup>> {
    let rows: Vec<(String, i64, Option<i64>)> =
        sqlx::query_as("SELECT name, slots, backfill_slots FROM resource_groups ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(name, slots, backfill)| ResourceGroup {
            name,
            slots: slots as u32,
            backfill_slots: backfill.map(|b| b as u32),
        })
        .collect())
}

/// Every calendar, by name (there are at most `app::calendars::MAX_CALENDARS`).
async fn calendars(conn: &mut Conn, name: Option<&str>) -> Result<Vec<Calendar>> {
    let rows: Vec<(String, String)> = match name {
        Some(name) => {
            sqlx::query_as("SELECT name, holidays FROM calendars WHERE name = $1")
                .bind(name)
                .fetch_all(&mut *conn)
                .await?
        }
        None => {
            sqlx::query_as("SELECT name, holidays FROM calendars ORDER BY name")
                .fetch_all(&mut *conn)
                .await?
        }
    };
    rows.into_iter()
        .map(|(name, holidays)| {
            let holidays = serde_json::from_str(&holidays)
                .map_err(|_| StoreError::Corrupt(format!("the holidays of calendar '{name}'")))?;
            Ok(Calendar { name, holidays })
        })
        .collect()
}

#[async_trait::async_trait]
impl DefinitionStore for SqlStore {
    async fn resource_groups(&self) -> Result<Vec<ResourceGroup>> {
        let mut conn = self.read.acquire().await?;
        resource_groups(&mut conn).await
    }

    async fn calendars(&self) -> Result<Vec<Calendar>> {
        let mut conn = self.read.acquire().await?;
        calendars(&mut conn, None).await
    }

    async fn calendar(&self, name: &str) -> Result<Option<Calendar>> {
        let mut conn = self.read.acquire().await?;
        Ok(calendars(&mut conn, Some(name)).await?.pop())
    }

    async fn begin_definitions(&self) -> Result<Box<dyn DefinitionTx>> {
        let tx = self.begin(WriteLock::Definitions).await?;
        Ok(Box::new(SqliteDefinitions { tx }))
    }

    async fn get_node(&self, name: &str) -> Result<Option<Node>> {
        let mut conn = self.read.acquire().await?;
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM nodes WHERE name = $1 AND deleted_at IS NULL")
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?;
        match id {
            Some(id) => node_by_id(&mut conn, id).await,
            None => Ok(None),
        }
    }

    async fn list_nodes(&self, filter: &NodeListFilter) -> Result<NodePage> {
        let limit = filter.limit.clamp(1, app::model::MAX_PAGE_SIZE);
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {NODE_COLUMNS} FROM nodes n JOIN workflows w ON w.id = n.workflow_id \
             WHERE n.deleted_at IS NULL"
        ));
        if let Some(name) = &filter.name {
            query.push(" AND n.id IN ");
            dialect::push_nodes_named(&mut query, name);
        }
        if let Some(owner) = &filter.owner {
            query.push(" AND n.owner = ").push_bind(owner.clone());
        }
        if let Some(workflow) = &filter.workflow {
            query.push(" AND w.name = ").push_bind(workflow.clone());
        }
        if let Some(after) = &filter.after {
            query.push(" AND n.name > ").push_bind(after.clone());
        }
        query.push(" ORDER BY n.name LIMIT ").push_bind(limit as i64 + 1);
        let mut conn = self.read.acquire().await?;
        let mut rows: Vec<NodeRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let mut upstream = upstream_names(&mut conn, rows.iter().map(|r| r.id)).await?;
        let items: Vec<Node> = rows
            .into_iter()
            .map(|row| {
                let ups = upstream.remove(&row.id).unwrap_or_default();
                row.into_node(ups)
            })
            .collect();
        let next_cursor = more.then(|| items.last().map(|n| n.spec.name.clone())).flatten();
        Ok(NodePage { items, next_cursor })
    }

    async fn workflows(&self) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT w.name, COUNT(n.id) FROM workflows w \
             JOIN nodes n ON n.workflow_id = w.id AND n.deleted_at IS NULL \
             GROUP BY w.name ORDER BY w.name",
        )
        .fetch_all(&self.read)
        .await?)
    }

    async fn workflow_graph(&self, workflow: &str, limit: u32) -> Result<WorkflowGraph> {
        let mut nodes: Vec<(i64, String, String, String, bool)> = sqlx::query_as(
            "SELECT n.id, n.name, w.name, n.owner, n.paused FROM nodes n \
             JOIN workflows w ON w.id = n.workflow_id \
             WHERE w.name = $1 AND n.deleted_at IS NULL ORDER BY n.name LIMIT $2",
        )
        .bind(workflow)
        .bind(limit as i64 + 1)
        .fetch_all(&self.read)
        .await?;
        let truncated = nodes.len() > limit as usize;
        nodes.truncate(limit as usize);
        let ids: Vec<i64> = nodes.iter().map(|n| n.0).collect();
        let edges: Vec<(i64, String, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT u.id, u.name, d.id, d.name FROM {list} \
             {join} node_upstreams nu ON nu.node_id = j.value \
             JOIN nodes u ON u.id = nu.upstream_id JOIN nodes d ON d.id = nu.node_id \
             WHERE u.deleted_at IS NULL",
            list = super::list("$1", ListItem::Id),
            join = dialect::JOIN_FROM_LIST
        )))
        .bind(serde_json::to_string(&ids).expect("numbers"))
        .fetch_all(&self.read)
        .await?;
        let known: HashSet<i64> = ids.iter().copied().collect();
        let outside: Vec<i64> = edges.iter().map(|e| e.0).filter(|u| !known.contains(u)).collect();
        if !outside.is_empty() {
            let more: Vec<(i64, String, String, String, bool)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT n.id, n.name, w.name, n.owner, n.paused FROM {list} \
                 {join} nodes n ON n.id = j.value JOIN workflows w ON w.id = n.workflow_id",
                    list = super::list("$1", ListItem::Id),
                    join = dialect::JOIN_FROM_LIST
                )))
                .bind(serde_json::to_string(&outside).expect("numbers"))
                .fetch_all(&self.read)
                .await?;
            let mut seen = HashSet::new();
            nodes.extend(more.into_iter().filter(|n| seen.insert(n.0)));
        }
        Ok((
            nodes
                .into_iter()
                .map(|(_, name, workflow, owner, paused)| (name, workflow, owner, paused))
                .collect(),
            edges.into_iter().map(|(_, up, _, down)| (up, down)).collect(),
            truncated,
        ))
    }

    async fn node_owners(&self, names: &[String]) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for chunk in names.chunks(10_000) {
            let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT n.name, n.owner FROM {list} \
                 {join} nodes n ON n.name = j.value WHERE n.deleted_at IS NULL",
                list = super::list("$1", ListItem::Text),
                join = dialect::JOIN_FROM_LIST
            )))
            .bind(serde_json::to_string(chunk).expect("strings"))
            .fetch_all(&self.read)
            .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    async fn node_descendants(&self, name: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "WITH RECURSIVE down (id) AS ( \
               SELECT nu.node_id FROM node_upstreams nu JOIN nodes n ON n.id = nu.upstream_id \
               WHERE n.name = $1 AND n.deleted_at IS NULL \
               UNION SELECT nu.node_id FROM node_upstreams nu JOIN down ON nu.upstream_id = down.id) \
             SELECT n.name FROM down JOIN nodes n ON n.id = down.id \
             WHERE n.deleted_at IS NULL ORDER BY n.name",
        )
        .bind(name)
        .fetch_all(&self.read)
        .await?)
    }

    async fn node_downstream(&self, name: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT d.name FROM nodes u JOIN node_upstreams nu ON nu.upstream_id = u.id \
             JOIN nodes d ON d.id = nu.node_id \
             WHERE u.name = $1 AND u.deleted_at IS NULL AND d.deleted_at IS NULL ORDER BY d.name",
        )
        .bind(name)
        .fetch_all(&self.read)
        .await?)
    }

    async fn workflow_nodes(&self, workflow: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT n.name FROM nodes n JOIN workflows w ON w.id = n.workflow_id \
             WHERE w.name = $1 AND n.deleted_at IS NULL ORDER BY n.name",
        )
        .bind(workflow)
        .fetch_all(&self.read)
        .await?)
    }

    async fn node_versions(
        &self,
        id: NodeId,
        limit: u32,
        before: Option<u32>,
    ) -> Result<Vec<NodeVersion>> {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT version, spec, changed_by, changed_at FROM node_versions \
             WHERE node_id = $1 AND version < $2 ORDER BY version DESC LIMIT $3",
        )
        .bind(id.0)
        .bind(before.map_or(i64::MAX, i64::from))
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(version, spec, changed_by, changed_at)| {
                Ok(NodeVersion {
                    version: version as u32,
                    spec: serde_json::from_str(&spec).map_err(|_| StoreError::Corrupt(spec))?,
                    changed_by,
                    changed_at: from_ms(changed_at),
                })
            })
            .collect()
    }
}

/// A change of definitions: `BEGIN IMMEDIATE`, so the graph read is the graph written to.
struct SqliteDefinitions {
    tx: Transaction<'static, Db>,
}

#[async_trait::async_trait]
impl DefinitionTx for SqliteDefinitions {
    async fn graph(&mut self) -> Result<LiveGraph> {
        let nodes: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM nodes WHERE deleted_at IS NULL")
                .fetch_all(&mut *self.tx)
                .await?;
        let edges: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT nu.node_id, nu.upstream_id FROM node_upstreams nu \
             JOIN nodes n ON n.id = nu.node_id WHERE n.deleted_at IS NULL",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        let names: HashMap<i64, &String> = nodes.iter().map(|(id, name)| (*id, name)).collect();
        let mut graph = LiveGraph::default();
        for (_, name) in &nodes {
            graph.upstream.insert(name.clone(), Vec::new());
        }
        for (node, upstream) in edges {
            if let (Some(node), Some(upstream)) = (names.get(&node), names.get(&upstream)) {
                graph.upstream.get_mut(*node).expect("listed").push((*upstream).clone());
            }
        }
        graph.ids = nodes.into_iter().map(|(id, name)| (name, NodeId(id))).collect();
        Ok(graph)
    }

    async fn resource_groups(&mut self) -> Result<Vec<ResourceGroup>> {
        resource_groups(&mut self.tx).await
    }

    async fn nodes_named(&mut self, names: &[String]) -> Result<Vec<Node>> {
        let mut out = Vec::new();
        for chunk in names.chunks(10_000) {
            let rows: Vec<NodeRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {NODE_COLUMNS} FROM {list} \
                 {join} nodes n ON n.name = j.value JOIN workflows w ON w.id = n.workflow_id \
                 WHERE n.deleted_at IS NULL",
                list = super::list("$1", ListItem::Text),
                join = dialect::JOIN_FROM_LIST
            )))
            .bind(serde_json::to_string(chunk).expect("strings"))
            .fetch_all(&mut *self.tx)
            .await?;
            let mut upstream = upstream_names(&mut self.tx, rows.iter().map(|r| r.id)).await?;
            out.extend(rows.into_iter().map(|row| {
                let ups = upstream.remove(&row.id).unwrap_or_default();
                row.into_node(ups)
            }));
        }
        Ok(out)
    }

    async fn calendars(&mut self) -> Result<Vec<Calendar>> {
        calendars(&mut self.tx, None).await
    }

    async fn put_calendar(&mut self, calendar: &Calendar, now: DateTime<Utc>) -> Result<()> {
        let holidays = serde_json::to_string(&calendar.holidays).expect("dates are JSON");
        sqlx::query(
            "INSERT INTO calendars (name, holidays, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holidays = excluded.holidays, \
             updated_at = excluded.updated_at",
        )
        .bind(&calendar.name)
        .bind(holidays)
        .bind(to_ms(now))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn calendar_users(&mut self, name: &str, limit: u32) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT name FROM nodes WHERE calendar = $1 AND deleted_at IS NULL \
             ORDER BY name LIMIT $2",
        )
        .bind(name)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn delete_calendar(&mut self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM calendars WHERE name = $1")
            .bind(name)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn put_resource_group(&mut self, group: &ResourceGroup) -> Result<()> {
        sqlx::query(
            "INSERT INTO resource_groups (name, slots, backfill_slots) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET slots = excluded.slots, \
             backfill_slots = excluded.backfill_slots",
        )
        .bind(&group.name)
        .bind(group.slots as i64)
        .bind(group.backfill_slots.map(|b| b as i64))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_nodes(
        &mut self,
        specs: &[&NodeSpec],
        now: DateTime<Utc>,
    ) -> Result<Vec<NodeId>> {
        let now = to_ms(now);
        let workflows =
            ensure_workflows(&mut self.tx, specs.iter().map(|s| s.workflow.as_str()), now).await?;
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(specs.len());
        // 14 parameters a row: well under either database's limit per statement.
        for chunk in specs.chunks(super::CHUNK) {
            let mut query = QueryBuilder::<Db>::new(
                "INSERT INTO nodes (name, workflow_id, owner, command, schedule, resource_group, \
                 timeout_secs, retries, retry_delay_secs, paused, depends_on_previous, calendar, \
                 created_at, updated_at) ",
            );
            query.push_values(chunk, |mut row, spec| {
                row.push_bind(spec.name.clone())
                    .push_bind(workflows[&spec.workflow])
                    .push_bind(spec.owner.clone())
                    .push_bind(spec.command.clone())
                    .push_bind(spec.schedule.clone())
                    .push_bind(spec.resource_group.clone())
                    .push_bind(spec.timeout_secs as i64)
                    .push_bind(spec.retries as i64)
                    .push_bind(spec.retry_delay_secs as i64)
                    .push_bind(spec.paused)
                    .push_bind(previous_column(&spec.depends_on_previous))
                    .push_bind(spec.calendar.clone())
                    .push_bind(now)
                    .push_bind(now);
            });
            query.push(" ON CONFLICT DO NOTHING RETURNING id, name");
            let rows: Vec<(i64, String)> = query.build_query_as().fetch_all(&mut *self.tx).await?;
            ids.extend(rows.into_iter().map(|(id, name)| (name, id)));
        }
        specs
            .iter()
            .map(|spec| {
                ids.get(&spec.name)
                    .map(|id| NodeId(*id))
                    .ok_or(StoreError::Taken { what: "node", name: spec.name.clone() })
            })
            .collect()
    }

    async fn update_node(
        &mut self,
        id: NodeId,
        spec: &NodeSpec,
        now: DateTime<Utc>,
    ) -> Result<u32> {
        let now = to_ms(now);
        let workflows = ensure_workflows(&mut self.tx, [spec.workflow.as_str()], now).await?;
        let workflow_id = workflows[&spec.workflow];
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE nodes SET workflow_id = $2, owner = $3, command = $4, schedule = $5, \
             resource_group = $6, timeout_secs = $7, retries = $8, retry_delay_secs = $9, \
             paused = $10, updated_at = $11, depends_on_previous = $12, calendar = $13, \
             version = version + 1 \
             WHERE id = $1 AND deleted_at IS NULL RETURNING version",
        )
        .bind(id.0)
        .bind(workflow_id)
        .bind(&spec.owner)
        .bind(&spec.command)
        .bind(&spec.schedule)
        .bind(&spec.resource_group)
        .bind(spec.timeout_secs as i64)
        .bind(spec.retries as i64)
        .bind(spec.retry_delay_secs as i64)
        .bind(spec.paused)
        .bind(now)
        .bind(previous_column(&spec.depends_on_previous))
        .bind(&spec.calendar)
        .fetch_optional(&mut *self.tx)
        .await?;
        match version {
            Some(version) => Ok(version as u32),
            None => Err(StoreError::Missing { what: "node", name: spec.name.clone() }),
        }
    }

    async fn set_upstreams(&mut self, nodes: &[(NodeId, Vec<NodeId>)]) -> Result<()> {
        for chunk in nodes.chunks(super::CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|(id, _)| id.0).collect();
            let mut query = QueryBuilder::<Db>::new(
                "DELETE FROM node_upstreams WHERE node_id IN (SELECT value FROM ",
            );
            super::push_list(
                &mut query,
                serde_json::to_string(&ids).expect("numbers"),
                ListItem::Id,
            );
            query.push(")");
            query.build().execute(&mut *self.tx).await?;
        }
        let edges: Vec<(i64, i64)> = nodes
            .iter()
            .flat_map(|(id, upstream)| upstream.iter().map(move |up| (id.0, up.0)))
            .collect();
        for chunk in edges.chunks(super::CHUNK) {
            let mut query =
                QueryBuilder::<Db>::new("INSERT INTO node_upstreams (node_id, upstream_id) ");
            query.push_values(chunk, |mut row, (node, up)| {
                row.push_bind(*node).push_bind(*up);
            });
            query.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn live_downstream(&mut self, id: NodeId) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT n.name FROM node_upstreams nu JOIN nodes n ON n.id = nu.node_id \
             WHERE nu.upstream_id = $1 AND n.deleted_at IS NULL ORDER BY n.name",
        )
        .bind(id.0)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn previous_dependents(&mut self, name: &str) -> Result<Vec<String>> {
        // Lists are JSON arrays: find the quoted name, then read each list to be sure ('_' is
        // a wildcard of LIKE). A deletion is rare; this reads only the nodes that have a list.
        let quoted = serde_json::to_string(name).expect("a name is JSON");
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, depends_on_previous FROM nodes \
             WHERE deleted_at IS NULL AND depends_on_previous LIKE $1 ORDER BY name",
        )
        .bind(format!("[%{quoted}%"))
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(rows
            .into_iter()
            .filter(|(node, list)| {
                node != name
                    && matches!(previous_from_column(list),
                        DependsOnPrevious::Nodes(names) if names.iter().any(|n| n == name))
            })
            .map(|(node, _)| node)
            .collect())
    }

    async fn delete_node(&mut self, id: NodeId, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE nodes SET deleted_at = $1, updated_at = $1 WHERE id = $2")
            .bind(to_ms(now))
            .bind(id.0)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM node_upstreams WHERE node_id = $1")
            .bind(id.0)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn set_node_paused(
        &mut self,
        id: NodeId,
        paused: bool,
        now: DateTime<Utc>,
    ) -> Result<u32> {
        let version: i64 = sqlx::query_scalar(
            "UPDATE nodes SET paused = $2, updated_at = $3, version = version + 1 WHERE id = $1 \
             RETURNING version",
        )
        .bind(id.0)
        .bind(paused)
        .bind(to_ms(now))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(version as u32)
    }

    async fn insert_versions(
        &mut self,
        versions: &[(NodeId, u32, NodeSpec)],
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        for chunk in versions.chunks(super::CHUNK) {
            let mut query = QueryBuilder::<Db>::new(
                "INSERT INTO node_versions (node_id, version, spec, changed_by, changed_at) ",
            );
            query.push_values(chunk, |mut row, (id, version, spec)| {
                row.push_bind(id.0)
                    .push_bind(*version as i64)
                    .push_bind(serde_json::to_string(spec).expect("a spec is JSON"))
                    .push_bind(by.to_string())
                    .push_bind(to_ms(now));
            });
            query.push(" ON CONFLICT DO NOTHING");
            query.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn audit(&mut self, entry: &AuditEntry<'_>) -> Result<i64> {
        insert_audit(&mut self.tx, entry).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// The ids of these workflows, made where they are new (one statement each way per chunk).
async fn ensure_workflows<'a>(
    conn: &mut Conn,
    names: impl IntoIterator<Item = &'a str>,
    now: i64,
) -> Result<HashMap<String, i64>> {
    let names: Vec<&str> = names.into_iter().collect::<HashSet<_>>().into_iter().collect();
    let mut ids = HashMap::with_capacity(names.len());
    for chunk in names.chunks(super::CHUNK) {
        let mut query =
            QueryBuilder::<Db>::new("INSERT INTO workflows (project_id, name, created_at) ");
        query.push_values(chunk, |mut row, name| {
            row.push_bind(1_i64).push_bind(name.to_string()).push_bind(now);
        });
        query.push(" ON CONFLICT (name) DO NOTHING");
        query.build().execute(&mut *conn).await?;
        let mut query = QueryBuilder::<Db>::new(
            "SELECT id, name FROM workflows WHERE name IN (SELECT value FROM ",
        );
        super::push_list(
            &mut query,
            serde_json::to_string(chunk).expect("strings"),
            ListItem::Text,
        );
        query.push(")");
        let rows: Vec<(i64, String)> = query.build_query_as().fetch_all(&mut *conn).await?;
        ids.extend(rows.into_iter().map(|(id, name)| (name, id)));
    }
    Ok(ids)
}

async fn node_by_id(conn: &mut Conn, id: i64) -> Result<Option<Node>> {
    let row: Option<NodeRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {NODE_COLUMNS} FROM nodes n JOIN workflows w ON w.id = n.workflow_id \
         WHERE n.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut upstream = upstream_names(conn, [row.id]).await?;
    Ok(Some(row.into_node(upstream.remove(&id).unwrap_or_default())))
}

/// Upstream names (in name order) of the given nodes.
async fn upstream_names(
    conn: &mut Conn,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, Vec<String>>> {
    let ids: Vec<i64> = ids.into_iter().collect();
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(super::CHUNK) {
        let mut query = QueryBuilder::<Db>::new(
            "SELECT nu.node_id, u.name FROM node_upstreams nu JOIN nodes u ON u.id = nu.upstream_id \
             WHERE nu.node_id",
        );
        super::push_in(&mut query, chunk.iter().copied());
        query.push(" ORDER BY u.name");
        let rows: Vec<(i64, String)> = query.build_query_as().fetch_all(&mut *conn).await?;
        for (node, name) in rows {
            out.entry(node).or_default().push(name);
        }
    }
    Ok(out)
}
