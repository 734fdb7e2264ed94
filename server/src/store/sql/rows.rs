//! Rows as SQLite returns them, and their conversion into the shared models.

use app::model::{Instance, InstanceId, InstanceState, NodeId, RunType};
use app::nodes::{DependsOnPrevious, Node, NodeSpec};
use chrono::NaiveDate;

use crate::store::{StoreError, from_ms};

/// The columns of [`InstanceRow`], for `SELECT {INSTANCE_COLUMNS} FROM instances i JOIN nodes n
/// ON n.id = i.node_id`.
pub const INSTANCE_COLUMNS: &str = "i.id, i.node_name, i.workflow, i.owner, i.state, i.paused, \
    i.run_type, i.bizdate, i.run_date, i.planned_at, i.created_at, i.started_at, i.ended_at, \
    i.attempt, i.exit_code, i.host, n.resource_group, i.reason, i.definition_version, i.dry_run";

#[derive(sqlx::FromRow)]
pub struct InstanceRow {
    id: i64,
    node_name: String,
    workflow: String,
    owner: String,
    state: InstanceState,
    paused: bool,
    run_type: RunType,
    bizdate: String,
    run_date: String,
    planned_at: i64,
    created_at: i64,
    started_at: Option<i64>,
    ended_at: Option<i64>,
    attempt: i64,
    exit_code: Option<i64>,
    host: Option<String>,
    resource_group: String,
    reason: Option<String>,
    definition_version: Option<i64>,
    dry_run: bool,
}

pub fn date(value: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| StoreError::Corrupt(format!("date '{value}'")))
}

impl TryFrom<InstanceRow> for Instance {
    type Error = StoreError;

    fn try_from(row: InstanceRow) -> Result<Instance, StoreError> {
        Ok(Instance {
            id: InstanceId(row.id),
            node: row.node_name,
            workflow: row.workflow,
            owner: row.owner,
            state: row.state,
            paused: row.paused,
            run_type: row.run_type,
            bizdate: date(&row.bizdate)?,
            run_date: date(&row.run_date)?,
            planned_at: from_ms(row.planned_at),
            created_at: from_ms(row.created_at),
            started_at: row.started_at.map(from_ms),
            ended_at: row.ended_at.map(from_ms),
            attempt: row.attempt as i32,
            exit_code: row.exit_code.map(|c| c as i32),
            host: row.host,
            resource_group: row.resource_group,
            reason: row.reason,
            definition_version: row.definition_version.map(|v| v as u32),
            dry_run: row.dry_run,
        })
    }
}

pub const NODE_COLUMNS: &str = "n.id, n.name, w.name AS workflow, n.owner, n.command, \
    n.schedule, n.resource_group, n.timeout_secs, n.retries, n.retry_delay_secs, n.paused, \
    n.depends_on_previous, n.calendar, n.version, n.created_at, n.updated_at";

#[derive(sqlx::FromRow)]
pub struct NodeRow {
    pub id: i64,
    name: String,
    workflow: String,
    owner: String,
    command: String,
    schedule: String,
    resource_group: String,
    timeout_secs: i64,
    retries: i64,
    retry_delay_secs: i64,
    paused: bool,
    depends_on_previous: String,
    calendar: Option<String>,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl NodeRow {
    pub fn into_node(self, upstream: Vec<String>) -> Node {
        Node {
            id: NodeId(self.id),
            spec: NodeSpec {
                name: self.name,
                workflow: self.workflow,
                owner: self.owner,
                command: self.command,
                schedule: self.schedule,
                upstream,
                resource_group: self.resource_group,
                timeout_secs: self.timeout_secs as u32,
                retries: self.retries as u32,
                retry_delay_secs: self.retry_delay_secs as u32,
                paused: self.paused,
                depends_on_previous: previous_from_column(&self.depends_on_previous),
                calendar: self.calendar,
            },
            version: self.version as u32,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        }
    }
}

/// `depends_on_previous` as its column holds it: the keyword, or the names as a JSON array.
pub fn previous_column(previous: &DependsOnPrevious) -> String {
    match previous {
        DependsOnPrevious::Nodes(names) => {
            serde_json::to_string(names).unwrap_or_else(|_| "none".into())
        }
        keyword => keyword.to_text(),
    }
}

/// The inverse of [`previous_column`]; anything unreadable is "none".
pub fn previous_from_column(column: &str) -> DependsOnPrevious {
    if column.starts_with('[') {
        serde_json::from_str(column).map(DependsOnPrevious::Nodes).unwrap_or_default()
    } else {
        DependsOnPrevious::from_text(column)
    }
}
