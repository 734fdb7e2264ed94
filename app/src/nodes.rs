//! Definitions: what people schedule. They carry no state and no run information.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::FieldChange;
use crate::model::NodeId;

pub const DEFAULT_WORKFLOW: &str = "default";
pub const DEFAULT_RESOURCE_GROUP: &str = "default";
pub const DEFAULT_OWNER: &str = "nobody";
/// Daily at midnight.
pub const DEFAULT_SCHEDULE: &str = "0 0 * * *";
pub const DEFAULT_TIMEOUT_SECS: u32 = 24 * 3600;
pub const DEFAULT_RETRY_DELAY_SECS: u32 = 60;

fn default_workflow() -> String {
    DEFAULT_WORKFLOW.to_string()
}
fn default_schedule() -> String {
    DEFAULT_SCHEDULE.to_string()
}
fn default_resource_group() -> String {
    DEFAULT_RESOURCE_GROUP.to_string()
}
fn default_timeout() -> u32 {
    DEFAULT_TIMEOUT_SECS
}
fn default_retry_delay() -> u32 {
    DEFAULT_RETRY_DELAY_SECS
}

/// A node as people write it (JSON body or workflow-as-code file). Fields left out take the
/// defaults above; unknown fields are refused so a typo does not pass silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Empty when left out: `PUT /nodes/{name}` takes it from the path.
    #[serde(default)]
    pub name: String,
    #[serde(default = "default_workflow")]
    pub workflow: String,
    /// Empty when left out: a change keeps the node's owner, a new node belongs to the person
    /// who makes it ([`DEFAULT_OWNER`] when the server's command line imports it).
    #[serde(default)]
    pub owner: String,
    /// A shell command; `${bizdate}` and `${cyctime}` are substituted at run time.
    pub command: String,
    /// Standard 5-field cron, evaluated in the configured time zone.
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// Names of the nodes this one depends on (any workflow).
    #[serde(default)]
    pub upstream: Vec<String>,
    #[serde(default = "default_resource_group")]
    pub resource_group: String,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u32,
    #[serde(default)]
    pub retries: u32,
    #[serde(default = "default_retry_delay")]
    pub retry_delay_secs: u32,
    /// Permanent pause: instances are still made, but frozen.
    #[serde(default)]
    pub paused: bool,
    /// Cross-cycle dependency: what of the previous cycle each instance also waits for.
    #[serde(default)]
    pub depends_on_previous: DependsOnPrevious,
    /// The business calendar whose holidays make its instances dry runs (none: it always runs
    /// its command).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "calendar_name")]
    pub calendar: Option<String>,
}

/// A node's `calendar` when it is given: a name (left out, the node has none; `null` is
/// refused, as the TOML form cannot say it either).
fn calendar_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// A node's cross-cycle dependency (DataWorks' 跨周期依赖, Airflow's `depends_on_past`): what an
/// instance waits for besides its upstream of the same run date. Written `"none"`, `"self"`,
/// `"children"` or a list of node names.
///
/// - `self`: the node's own previous instance (the previous hour for an hourly node, the
///   previous day for a daily one, across run dates).
/// - `children`: the previous cycle of its first-level downstream nodes.
/// - a list: the previous cycle of the named nodes.
///
/// Another node's previous cycle is every instance of its latest run date before this one.
/// A node's first instance ever has nothing to wait for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DependsOnPrevious {
    #[default]
    None,
    Own,
    Children,
    Nodes(Vec<String>),
}

impl DependsOnPrevious {
    pub fn is_none(&self) -> bool {
        matches!(self, DependsOnPrevious::None)
    }

    /// The keyword, or the names joined by ", " (the form's text and the audit's field value).
    pub fn to_text(&self) -> String {
        match self {
            DependsOnPrevious::None => "none".into(),
            DependsOnPrevious::Own => "self".into(),
            DependsOnPrevious::Children => "children".into(),
            DependsOnPrevious::Nodes(names) => names.join(", "),
        }
    }

    /// Reads the form's text: a keyword, or node names separated by commas (blank: none).
    pub fn from_text(text: &str) -> DependsOnPrevious {
        match text.trim() {
            "" => DependsOnPrevious::None,
            text => DependsOnPrevious::keyword(text).unwrap_or_else(|| {
                DependsOnPrevious::Nodes(
                    text.split(',')
                        .map(|n| n.trim().to_string())
                        .filter(|n| !n.is_empty())
                        .collect(),
                )
            }),
        }
    }

    /// `"none"`, `"self"` or `"children"`: the one place the keywords are read.
    fn keyword(text: &str) -> Option<DependsOnPrevious> {
        match text {
            "none" => Some(DependsOnPrevious::None),
            "self" => Some(DependsOnPrevious::Own),
            "children" => Some(DependsOnPrevious::Children),
            _ => None,
        }
    }
}

const PREVIOUS_EXPECTED: &str = "\"none\", \"self\", \"children\" or a list of node names";

impl Serialize for DependsOnPrevious {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DependsOnPrevious::Nodes(names) => names.serialize(serializer),
            keyword => serializer.serialize_str(&keyword.to_text()),
        }
    }
}

impl<'de> Deserialize<'de> for DependsOnPrevious {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = DependsOnPrevious;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(PREVIOUS_EXPECTED)
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                DependsOnPrevious::keyword(value).ok_or_else(|| {
                    E::custom(format!(
                        "depends_on_previous '{value}' is not valid: use {PREVIOUS_EXPECTED}"
                    ))
                })
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(DependsOnPrevious::Nodes(names))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A stored node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: NodeId,
    #[serde(flatten)]
    pub spec: NodeSpec,
    /// The number of its current definition version (1 when made; each change adds one).
    #[serde(default)]
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One numbered version of a node's definition: what it was, who made it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeVersion {
    pub version: u32,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
    pub spec: NodeSpec,
}

/// A node's versions, newest first; `next_cursor` is the version the next page starts below.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeVersionPage {
    pub items: Vec<NodeVersion>,
    pub next_cursor: Option<u32>,
}

/// `POST /nodes/{name}/rollback`: make this version the current one again (as a new version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    pub version: u32,
}

/// The fields of a node as text, in a fixed order (the audit's and the history's diff).
fn fields(spec: &NodeSpec) -> [(&'static str, String); FIELDS] {
    [
        ("workflow", spec.workflow.clone()),
        ("owner", spec.owner.clone()),
        ("command", spec.command.clone()),
        ("schedule", spec.schedule.clone()),
        ("upstream", spec.upstream.join(", ")),
        ("resource_group", spec.resource_group.clone()),
        ("timeout_secs", spec.timeout_secs.to_string()),
        ("retries", spec.retries.to_string()),
        ("retry_delay_secs", spec.retry_delay_secs.to_string()),
        ("paused", spec.paused.to_string()),
        ("depends_on_previous", spec.depends_on_previous.to_text()),
        ("calendar", spec.calendar.clone().unwrap_or_default()),
    ]
}

/// How many fields [`fields`] compares.
const FIELDS: usize = 12;

/// Field by field, what differs between two versions of a node (`None`: it did not exist, or
/// no longer does). `prefix` names the node when one change covers several.
pub fn node_changes(
    before: Option<&NodeSpec>,
    after: Option<&NodeSpec>,
    prefix: Option<&str>,
) -> Vec<FieldChange> {
    let before = before.map(fields);
    let after = after.map(fields);
    let field = |name: &str| match prefix {
        Some(node) => format!("{node}.{name}"),
        None => name.to_string(),
    };
    (0..FIELDS)
        .filter_map(|i| {
            let b = before.as_ref().map(|f| &f[i]);
            let a = after.as_ref().map(|f| &f[i]);
            let name = b.or(a)?.0;
            (b.map(|f| &f.1) != a.map(|f| &f.1)).then(|| FieldChange {
                field: field(name),
                before: b.map(|f| f.1.clone()),
                after: a.map(|f| f.1.clone()),
            })
        })
        .collect()
}

/// A node as `PUT /nodes/{name}` left it: replaced, or created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedNode {
    pub node: Node,
    pub created: bool,
}

/// A node's scheduling status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheduling {
    Normal,
    /// Permanently paused: its instances are still made, but frozen.
    Paused,
}

impl Scheduling {
    pub fn of(paused: bool) -> Scheduling {
        if paused { Scheduling::Paused } else { Scheduling::Normal }
    }

    pub fn is_paused(self) -> bool {
        self == Scheduling::Paused
    }
}

/// A pool of execution slots shared by the nodes that name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceGroup {
    pub name: String,
    pub slots: u32,
    /// How many of the slots backfill instances may hold at most (left out: the default,
    /// [`ResourceGroup::backfill_limit`]). A backfill instance starts only while the slots in
    /// use, counting it, stay within this number, so the rest are always left for cycle and test
    /// work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill_slots: Option<u32>,
}

impl ResourceGroup {
    /// The backfill share in effect: the setting, or by default every slot but one (a one-slot
    /// group lets a backfill run while it is idle; 0 forbids backfills in the group).
    pub fn backfill_limit(slots: u32, backfill_slots: Option<u32>) -> u32 {
        match backfill_slots {
            Some(limit) => limit.min(slots),
            None => slots.saturating_sub(1).max(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodePage {
    pub items: Vec<Node>,
    pub next_cursor: Option<String>,
}

/// A node as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    pub node: Node,
    /// Nodes that depend on it directly.
    pub downstream: Vec<String>,
    /// Every node downstream of it, for the backfill dialog.
    pub descendants: Vec<String>,
    /// The schedule in words.
    pub schedule_words: String,
}

/// Filters of the node list; paged by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeQuery {
    pub name: Option<String>,
    pub owner: Option<String>,
    pub workflow: Option<String>,
    /// The name the previous page ended with.
    pub after: Option<String>,
    /// How many per page (default 50, at most 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}
