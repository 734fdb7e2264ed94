//! Definitions: resource groups, workflows, nodes and their upstream edges.

use std::collections::{BTreeMap, HashMap, HashSet};

use app::definition::{Node, NodePage, NodeSpec, ResourceGroup};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::rows::{NODE_COLUMNS, NodeRow};
use super::{Result, Store, StoreError, to_ms};
use crate::definitions::{DefinitionError, DefinitionFile, check_graph};

/// Node name → upstream node names, for every live node.
pub type DefinitionGraph = BTreeMap<String, Vec<String>>;

/// What an import or upsert changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpsertReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub resource_groups: usize,
}

#[derive(Debug, Clone, Default)]
pub struct NodeListFilter {
    /// Substring of the name.
    pub name: Option<String>,
    pub owner: Option<String>,
    pub workflow: Option<String>,
    pub limit: u32,
    /// The name the previous page ended with.
    pub after: Option<String>,
}

/// Whether applying a definition may replace existing nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// Create or replace.
    Upsert,
    /// Refuse (409) if any node already exists.
    CreateOnly,
}

impl Store {
    pub async fn resource_groups(&self) -> Result<Vec<ResourceGroup>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, slots FROM resource_groups ORDER BY name")
                .fetch_all(&self.read)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(name, slots)| ResourceGroup { name, slots: slots as u32 })
            .collect())
    }

    /// Validates and writes a set of definitions in one transaction: all of it or nothing.
    pub async fn apply_definitions(
        &self,
        file: &DefinitionFile,
        mode: ApplyMode,
        now: DateTime<Utc>,
    ) -> Result<UpsertReport> {
        file.check()?;
        let now = to_ms(now);
        let mut tx = self.write.begin().await?;
        let mut report = UpsertReport::default();

        for group in &file.resource_groups {
            sqlx::query(
                "INSERT INTO resource_groups (name, slots) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET slots = excluded.slots",
            )
            .bind(&group.name)
            .bind(group.slots as i64)
            .execute(&mut *tx)
            .await?;
            report.resource_groups += 1;
        }
        let groups: HashSet<String> = sqlx::query_scalar("SELECT name FROM resource_groups")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();

        let (mut graph, ids) = load_graph(&mut tx).await?;
        if mode == ApplyMode::CreateOnly
            && let Some(existing) = file.nodes.iter().find(|s| ids.contains_key(&s.name))
        {
            return Err(StoreError::Conflict(format!("node '{}' already exists", existing.name)));
        }
        for spec in &file.nodes {
            if !groups.contains(&spec.resource_group) {
                return Err(DefinitionError::UnknownResourceGroup {
                    node: spec.name.clone(),
                    group: spec.resource_group.clone(),
                }
                .into());
            }
            graph.insert(spec.name.clone(), spec.upstream.clone());
        }
        let changed: Vec<&str> = file.nodes.iter().map(|s| s.name.as_str()).collect();
        check_graph(&graph, &changed)?;

        let mut ids = ids;
        for spec in &file.nodes {
            let workflow_id = ensure_workflow(&mut tx, &spec.workflow, now).await?;
            match ids.get(&spec.name) {
                Some(&id) => {
                    let current = node_by_id(&mut tx, id).await?;
                    if current.as_ref().is_some_and(|n| n.spec == normalized(spec)) {
                        report.unchanged.push(spec.name.clone());
                        continue;
                    }
                    update_node(&mut tx, id, workflow_id, spec, now).await?;
                    report.updated.push(spec.name.clone());
                }
                None => {
                    let id = insert_node(&mut tx, workflow_id, spec, now).await?;
                    ids.insert(spec.name.clone(), id);
                    report.created.push(spec.name.clone());
                }
            }
        }
        let changed: HashSet<&String> = report.created.iter().chain(&report.updated).collect();
        for spec in file.nodes.iter().filter(|s| changed.contains(&s.name)) {
            let id = ids[&spec.name];
            sqlx::query("DELETE FROM node_upstreams WHERE node_id = ?1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for upstream in &spec.upstream {
                sqlx::query("INSERT INTO node_upstreams (node_id, upstream_id) VALUES (?1, ?2)")
                    .bind(id)
                    .bind(ids[upstream])
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(report)
    }

    /// Marks a node deleted. Refused while live nodes depend on it.
    pub async fn delete_node(&self, name: &str, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM nodes WHERE name = ?1 AND deleted_at IS NULL")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(id) = id else {
            return Err(StoreError::NotFound(format!("no node named '{name}'")));
        };
        let downstream: Vec<String> = sqlx::query_scalar(
            "SELECT n.name FROM node_upstreams nu JOIN nodes n ON n.id = nu.node_id \
             WHERE nu.upstream_id = ?1 AND n.deleted_at IS NULL ORDER BY n.name",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        if !downstream.is_empty() {
            return Err(DefinitionError::StillNeeded { node: name.to_string(), downstream }.into());
        }
        sqlx::query("UPDATE nodes SET deleted_at = ?1, updated_at = ?1 WHERE id = ?2")
            .bind(to_ms(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM node_upstreams WHERE node_id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_node(&self, name: &str) -> Result<Option<Node>> {
        let mut conn = self.read.acquire().await?;
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM nodes WHERE name = ?1 AND deleted_at IS NULL")
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?;
        match id {
            Some(id) => node_by_id(&mut conn, id).await,
            None => Ok(None),
        }
    }

    /// Live nodes in name order, keyset-paged by name.
    pub async fn list_nodes(&self, filter: &NodeListFilter) -> Result<NodePage> {
        let limit = filter.limit.clamp(1, app::model::MAX_PAGE_SIZE);
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {NODE_COLUMNS} FROM nodes n JOIN workflows w ON w.id = n.workflow_id \
             WHERE n.deleted_at IS NULL"
        ));
        if let Some(name) = &filter.name {
            query.push(" AND n.name LIKE ").push_bind(like_pattern(name)).push(" ESCAPE '\\'");
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
}

/// A spec as the store gives it back: upstream in name order, schedule trimmed.
fn normalized(spec: &NodeSpec) -> NodeSpec {
    let mut spec = spec.clone();
    spec.upstream.sort();
    spec.schedule = spec.schedule.trim().to_string();
    spec
}

/// `%text%` with LIKE's wildcards escaped.
pub(super) fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

async fn load_graph(
    conn: &mut SqliteConnection,
) -> Result<(DefinitionGraph, HashMap<String, i64>)> {
    let nodes: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM nodes WHERE deleted_at IS NULL")
            .fetch_all(&mut *conn)
            .await?;
    let edges: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT nu.node_id, nu.upstream_id FROM node_upstreams nu \
         JOIN nodes n ON n.id = nu.node_id WHERE n.deleted_at IS NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    let names: HashMap<i64, &String> = nodes.iter().map(|(id, name)| (*id, name)).collect();
    let mut graph: DefinitionGraph =
        nodes.iter().map(|(_, name)| (name.clone(), Vec::new())).collect();
    for (node, upstream) in edges {
        if let (Some(node), Some(upstream)) = (names.get(&node), names.get(&upstream)) {
            graph.get_mut(*node).expect("listed").push((*upstream).clone());
        }
    }
    let ids = nodes.into_iter().map(|(id, name)| (name, id)).collect();
    Ok((graph, ids))
}

async fn ensure_workflow(conn: &mut SqliteConnection, name: &str, now: i64) -> Result<i64> {
    sqlx::query(
        "INSERT INTO workflows (project_id, name, created_at) VALUES (1, ?1, ?2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar("SELECT id FROM workflows WHERE name = ?1")
        .bind(name)
        .fetch_one(&mut *conn)
        .await?)
}

async fn insert_node(
    conn: &mut SqliteConnection,
    workflow_id: i64,
    spec: &NodeSpec,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO nodes (name, workflow_id, owner, command, schedule, resource_group, \
         timeout_secs, retries, retry_delay_secs, paused, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) RETURNING id",
    )
    .bind(&spec.name)
    .bind(workflow_id)
    .bind(&spec.owner)
    .bind(&spec.command)
    .bind(spec.schedule.trim())
    .bind(&spec.resource_group)
    .bind(spec.timeout_secs as i64)
    .bind(spec.retries as i64)
    .bind(spec.retry_delay_secs as i64)
    .bind(spec.paused)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?)
}

async fn update_node(
    conn: &mut SqliteConnection,
    id: i64,
    workflow_id: i64,
    spec: &NodeSpec,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE nodes SET workflow_id = ?2, owner = ?3, command = ?4, schedule = ?5, \
         resource_group = ?6, timeout_secs = ?7, retries = ?8, retry_delay_secs = ?9, \
         paused = ?10, updated_at = ?11 WHERE id = ?1",
    )
    .bind(id)
    .bind(workflow_id)
    .bind(&spec.owner)
    .bind(&spec.command)
    .bind(spec.schedule.trim())
    .bind(&spec.resource_group)
    .bind(spec.timeout_secs as i64)
    .bind(spec.retries as i64)
    .bind(spec.retry_delay_secs as i64)
    .bind(spec.paused)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn node_by_id(conn: &mut SqliteConnection, id: i64) -> Result<Option<Node>> {
    let row: Option<NodeRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {NODE_COLUMNS} FROM nodes n JOIN workflows w ON w.id = n.workflow_id \
         WHERE n.id = ?1"
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
    conn: &mut SqliteConnection,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, Vec<String>>> {
    let ids: Vec<i64> = ids.into_iter().collect();
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT nu.node_id, u.name FROM node_upstreams nu JOIN nodes u ON u.id = nu.upstream_id \
         WHERE nu.node_id IN (",
    );
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    query.push(") ORDER BY u.name");
    let rows: Vec<(i64, String)> = query.build_query_as().fetch_all(&mut *conn).await?;
    for (node, name) in rows {
        out.entry(node).or_default().push(name);
    }
    Ok(out)
}

impl Store {
    /// Workflow names, alphabetically, with how many live nodes each has.
    pub async fn workflows(&self) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT w.name, COUNT(n.id) FROM workflows w \
             JOIN nodes n ON n.workflow_id = w.id AND n.deleted_at IS NULL \
             GROUP BY w.name ORDER BY w.name",
        )
        .fetch_all(&self.read)
        .await?)
    }

    /// A workflow's live nodes (at most `limit`) plus the upstream nodes they have in other
    /// workflows, as (name, workflow, owner, paused), with the edges among them by name;
    /// `true` if some were left out.
    #[allow(clippy::type_complexity)]
    pub async fn workflow_graph(
        &self,
        workflow: &str,
        limit: u32,
    ) -> Result<(Vec<(String, String, String, bool)>, Vec<(String, String)>, bool)> {
        let mut nodes: Vec<(i64, String, String, String, bool)> = sqlx::query_as(
            "SELECT n.id, n.name, w.name, n.owner, n.paused FROM nodes n \
             JOIN workflows w ON w.id = n.workflow_id \
             WHERE w.name = ?1 AND n.deleted_at IS NULL ORDER BY n.name LIMIT ?2",
        )
        .bind(workflow)
        .bind(limit as i64 + 1)
        .fetch_all(&self.read)
        .await?;
        let truncated = nodes.len() > limit as usize;
        nodes.truncate(limit as usize);
        let ids: Vec<i64> = nodes.iter().map(|n| n.0).collect();
        let edges: Vec<(i64, String, i64, String)> = sqlx::query_as(
            "SELECT u.id, u.name, d.id, d.name FROM json_each(?1) j \
             CROSS JOIN node_upstreams nu ON nu.node_id = j.value \
             JOIN nodes u ON u.id = nu.upstream_id JOIN nodes d ON d.id = nu.node_id \
             WHERE u.deleted_at IS NULL",
        )
        .bind(serde_json::to_string(&ids).expect("numbers"))
        .fetch_all(&self.read)
        .await?;
        let known: HashSet<i64> = ids.iter().copied().collect();
        let outside: Vec<i64> = edges.iter().map(|e| e.0).filter(|u| !known.contains(u)).collect();
        if !outside.is_empty() {
            let more: Vec<(i64, String, String, String, bool)> = sqlx::query_as(
                "SELECT n.id, n.name, w.name, n.owner, n.paused FROM json_each(?1) j \
                 CROSS JOIN nodes n ON n.id = j.value JOIN workflows w ON w.id = n.workflow_id",
            )
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

    /// Sets a node's permanent pause (its scheduling status).
    pub async fn set_node_paused(
        &self,
        name: &str,
        paused: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE nodes SET paused = ?2, updated_at = ?3 WHERE name = ?1 AND deleted_at IS NULL",
        )
        .bind(name)
        .bind(paused)
        .bind(to_ms(now))
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no node named '{name}'")));
        }
        Ok(())
    }
}

impl Store {
    /// The owners of those of `names` that are live nodes.
    pub async fn node_owners(
        &self,
        names: &[String],
    ) -> Result<std::collections::HashMap<String, String>> {
        let mut out = std::collections::HashMap::new();
        for chunk in names.chunks(10_000) {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT n.name, n.owner FROM json_each(?1) j \
                 CROSS JOIN nodes n ON n.name = j.value WHERE n.deleted_at IS NULL",
            )
            .bind(serde_json::to_string(chunk).expect("strings"))
            .fetch_all(&self.read)
            .await?;
            out.extend(rows);
        }
        Ok(out)
    }
}
