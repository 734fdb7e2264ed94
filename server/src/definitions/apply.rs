//! Applying a change of definitions: in one unit of work, check the person may make it (as the
//! nodes are now and as the change makes them), validate it against the live graph, find what
//! differs field by field, write only that, and audit it with its before and after. All of it
//! or nothing.

use std::collections::{HashMap, HashSet};

use app::audit::{AuditOutcome, FieldChange};
use app::calendars::{Calendar, MAX_CALENDARS};
use app::error::AppError;
use app::model::NodeId;
pub use app::nodes::node_changes;
use app::nodes::{DEFAULT_OWNER, DependsOnPrevious, Node, NodeSpec, ResourceGroup};
use app::people::Actor;
use app::rules::{self, Permission};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::file::DefinitionFile;
use super::validate::{DefinitionError, check_graph, check_previous};
use crate::engine::schedule::Schedule;
use crate::limits::Limits;
use crate::store::{AuditEntry, Store};

/// What an import or upsert changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpsertReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub resource_groups: usize,
    pub calendars: usize,
}

/// Whether applying a definition may replace existing nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// Create or replace.
    Upsert,
    /// Refuse (409) if any node already exists.
    CreateOnly,
    /// Put back an earlier version of one node (audited as a rollback to it).
    Rollback(u32),
}

/// On whose behalf a change is made.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    /// A person, held to their role and to the administrator's limits.
    Person { actor: &'a Actor, limits: &'a Limits },
    /// The server's own command line or demo: whoever can run it owns the database anyway.
    System,
}

impl By<'_> {
    fn name(&self) -> &str {
        match self {
            By::Person { actor, .. } => &actor.name,
            By::System => "(system)",
        }
    }

    /// The owner of a new node whose owner was left out.
    fn default_owner(&self) -> &str {
        match self {
            By::Person { actor, .. } => &actor.name,
            By::System => DEFAULT_OWNER,
        }
    }

    fn may(&self, permission: Permission<'_>) -> Result<(), AppError> {
        match self {
            By::Person { actor, .. } => Ok(rules::authorize(actor, permission)?),
            By::System => Ok(()),
        }
    }

    /// The limits a person's change is held to: its size, and how often a node may fire.
    fn within_limits(&self, file: &DefinitionFile) -> Result<(), AppError> {
        let By::Person { limits, .. } = self else { return Ok(()) };
        if file.nodes.len() > limits.max_import_nodes {
            return Err(AppError::because(app::reason::Reason::TooManyNodes {
                count: file.nodes.len(),
                max: limits.max_import_nodes,
            }));
        }
        let minimum = chrono::Duration::minutes(limits.min_schedule_minutes.into());
        for spec in &file.nodes {
            let Ok(schedule) = Schedule::parse(&spec.schedule) else { continue };
            if schedule.shortest_gap().is_some_and(|gap| gap < minimum) {
                return Err(AppError::because(app::reason::Reason::TooFrequent {
                    node: spec.name.clone(),
                    schedule: spec.schedule.clone(),
                    minutes: limits.min_schedule_minutes,
                }));
            }
        }
        Ok(())
    }
}

/// A spec as it is stored: upstream in name order, schedule trimmed, an empty
/// `depends_on_previous` list as "none".
pub fn normalized(spec: &NodeSpec) -> NodeSpec {
    let mut spec = spec.clone();
    spec.upstream.sort();
    spec.schedule = spec.schedule.trim().to_string();
    if matches!(&spec.depends_on_previous, DependsOnPrevious::Nodes(names) if names.is_empty()) {
        spec.depends_on_previous = DependsOnPrevious::None;
    }
    spec
}

/// What differs between two versions of a resource group.
pub fn group_changes(before: Option<&ResourceGroup>, after: &ResourceGroup) -> Vec<FieldChange> {
    let text = |b: Option<u32>| b.map_or("default".to_string(), |b| b.to_string());
    let mut changes = Vec::new();
    let old_slots = before.map(|g| g.slots.to_string());
    if old_slots.as_deref() != Some(after.slots.to_string().as_str()) {
        changes.push(FieldChange {
            field: "slots".into(),
            before: old_slots,
            after: Some(after.slots.to_string()),
        });
    }
    let old_backfill = before.map(|g| text(g.backfill_slots));
    if old_backfill != Some(text(after.backfill_slots)) {
        changes.push(FieldChange {
            field: "backfill_slots".into(),
            before: old_backfill,
            after: Some(text(after.backfill_slots)),
        });
    }
    changes
}

/// What differs between two versions of a calendar: its holidays, as the form shows them.
pub fn calendar_changes(before: Option<&Calendar>, after: Option<&Calendar>) -> Vec<FieldChange> {
    let text = |c: &Calendar| c.holidays.iter().map(|h| h.to_text()).collect::<Vec<_>>().join(", ");
    let (before, after) = (before.map(text), after.map(text));
    if before == after {
        return Vec::new();
    }
    vec![FieldChange { field: "holidays".into(), before, after }]
}

/// Validates and writes a set of definitions in one transaction, and audits what changed. A
/// node whose owner is left out keeps its owner, or (new) belongs to whoever makes it.
pub async fn apply(
    store: &Store,
    mut file: DefinitionFile,
    mode: ApplyMode,
    by: By<'_>,
    now: DateTime<Utc>,
) -> Result<UpsertReport, AppError> {
    if !file.resource_groups.is_empty() || !file.calendars.is_empty() {
        by.may(Permission::ManageProject)?;
    }
    by.within_limits(&file)?;
    file.check_groups()?;
    file.check_calendars()?;
    let mut tx = store.begin_definitions().await?;
    let mut report = UpsertReport::default();
    let mut changes: Vec<FieldChange> = Vec::new();
    let several = file.nodes.len() + file.resource_groups.len() + file.calendars.len() > 1;

    let groups_before: HashMap<String, ResourceGroup> =
        tx.resource_groups().await?.into_iter().map(|g| (g.name.clone(), g)).collect();
    for group in &file.resource_groups {
        let diff = group_changes(groups_before.get(&group.name), group);
        if !diff.is_empty() {
            tx.put_resource_group(group).await?;
        }
        changes.extend(diff.into_iter().map(|c| FieldChange {
            field: if several { format!("{}.{}", group.name, c.field) } else { c.field },
            ..c
        }));
        report.resource_groups += 1;
    }
    let groups: HashSet<&str> = groups_before
        .keys()
        .map(String::as_str)
        .chain(file.resource_groups.iter().map(|g| g.name.as_str()))
        .collect();

    let calendars_before: HashMap<String, Calendar> =
        tx.calendars().await?.into_iter().map(|c| (c.name.clone(), c)).collect();
    if mode == ApplyMode::CreateOnly
        && let Some(taken) = file.calendars.iter().find(|c| calendars_before.contains_key(&c.name))
    {
        return Err(AppError::because(app::reason::Reason::Taken {
            thing: app::reason::Thing::Calendar,
            name: taken.name.clone(),
        }));
    }
    let added = file.calendars.iter().filter(|c| !calendars_before.contains_key(&c.name)).count();
    if added > 0 && (calendars_before.len() + added) as u64 > MAX_CALENDARS {
        return Err(AppError::because(app::reason::Reason::TooManyCalendars {
            max: MAX_CALENDARS,
        }));
    }
    for calendar in &file.calendars {
        let diff = calendar_changes(calendars_before.get(&calendar.name), Some(calendar));
        if !diff.is_empty() || !calendars_before.contains_key(&calendar.name) {
            tx.put_calendar(calendar, now).await?;
        }
        changes.extend(diff.into_iter().map(|c| FieldChange {
            field: if several { format!("{}.{}", calendar.name, c.field) } else { c.field },
            ..c
        }));
        report.calendars += 1;
    }
    let calendars: HashSet<&str> = calendars_before
        .keys()
        .map(String::as_str)
        .chain(file.calendars.iter().map(|c| c.name.as_str()))
        .collect();

    let names: Vec<String> = file.nodes.iter().map(|n| n.name.clone()).collect();
    let existing: HashMap<String, Node> =
        tx.nodes_named(&names).await?.into_iter().map(|n| (n.spec.name.clone(), n)).collect();
    if mode == ApplyMode::CreateOnly
        && let Some(taken) = file.nodes.iter().find(|s| existing.contains_key(&s.name))
    {
        return Err(AppError::because(app::reason::Reason::Taken {
            thing: app::reason::Thing::Node,
            name: taken.name.clone(),
        }));
    }
    for spec in &mut file.nodes {
        let current = existing.get(&spec.name);
        if let Some(node) = current {
            by.may(Permission::Define { owner: &node.spec.owner })?;
        }
        if spec.owner.is_empty() {
            spec.owner = current.map_or(by.default_owner(), |n| &n.spec.owner).to_string();
        }
        by.may(Permission::Define { owner: &spec.owner })?;
    }
    file.check()?;
    let mut graph = tx.graph().await?;
    for spec in &file.nodes {
        if !groups.contains(spec.resource_group.as_str()) {
            return Err(DefinitionError::UnknownResourceGroup {
                node: spec.name.clone(),
                group: spec.resource_group.clone(),
            }
            .into());
        }
        if let Some(calendar) = &spec.calendar
            && !calendars.contains(calendar.as_str())
        {
            return Err(DefinitionError::UnknownCalendar {
                node: spec.name.clone(),
                calendar: calendar.clone(),
            }
            .into());
        }
        graph.upstream.insert(spec.name.clone(), spec.upstream.clone());
    }
    let changed: Vec<&str> = file.nodes.iter().map(|s| s.name.as_str()).collect();
    check_graph(&graph.upstream, &changed)?;
    for spec in &file.nodes {
        check_previous(spec, &graph.upstream)?;
    }

    let mut ids: HashMap<String, NodeId> = graph.ids;
    let mut rewired = Vec::new();
    let mut new = Vec::new();
    // Every node changed or made gets a numbered version of its definition.
    let mut versions: Vec<(NodeId, u32, NodeSpec)> = Vec::new();
    for spec in &file.nodes {
        let spec = normalized(spec);
        let before = existing.get(&spec.name).map(|n| &n.spec);
        let prefix = several.then_some(spec.name.as_str());
        match before {
            Some(before) if *before == spec => {
                report.unchanged.push(spec.name.clone());
                continue;
            }
            Some(before) => {
                let id = ids[&spec.name];
                let version = tx.update_node(id, &spec, now).await?;
                versions.push((id, version, spec.clone()));
                changes.extend(node_changes(Some(before), Some(&spec), prefix));
                report.updated.push(spec.name.clone());
            }
            None => {
                changes.extend(node_changes(None, Some(&spec), prefix));
                report.created.push(spec.name.clone());
                new.push(rewired.len());
            }
        }
        rewired.push(spec);
    }
    // The new nodes in a few statements (an import of 100,000 is one transaction of a few
    // hundred statements, not of half a million).
    let specs: Vec<&NodeSpec> = new.iter().map(|&k| &rewired[k]).collect();
    for (spec, id) in specs.iter().zip(tx.insert_nodes(&specs, now).await?) {
        ids.insert(spec.name.clone(), id);
        versions.push((id, 1, (*spec).clone()));
    }
    tx.insert_versions(&versions, by.name(), now).await?;
    let wiring: Vec<(NodeId, Vec<NodeId>)> = rewired
        .iter()
        .map(|spec| (ids[&spec.name], spec.upstream.iter().map(|u| ids[u]).collect()))
        .collect();
    tx.set_upstreams(&wiring).await?;
    if !changes.is_empty() {
        let parts = (&file.nodes[..], &file.resource_groups[..], &file.calendars[..]);
        let (action, subject) = match parts {
            ([node], [], []) if matches!(mode, ApplyMode::Rollback(_)) => {
                ("node.rollback", Some(format!("node:{}", node.name)))
            }
            ([node], [], []) if report.created.is_empty() => {
                ("node.update", Some(format!("node:{}", node.name)))
            }
            ([node], [], []) => ("node.create", Some(format!("node:{}", node.name))),
            ([], [group], []) => {
                ("resource_group.change", Some(format!("resource_group:{}", group.name)))
            }
            ([], [], [calendar]) => {
                ("calendar.change", Some(format!("calendar:{}", calendar.name)))
            }
            _ => ("node.import", None),
        };
        let message = if let ApplyMode::Rollback(version) = mode {
            Some(format!("back to version {version}"))
        } else {
            several.then(|| {
                format!(
                    "{} created, {} updated, {} unchanged, {} resource groups, {} calendars",
                    report.created.len(),
                    report.updated.len(),
                    report.unchanged.len(),
                    report.resource_groups,
                    report.calendars
                )
            })
        };
        tx.audit(&AuditEntry {
            actor: by.name(),
            action,
            dry_run: false,
            outcome: AuditOutcome::Ok,
            subject,
            message: message.as_deref(),
            requested: 0,
            changed: 0,
            results: &[],
            changes: &changes,
            at: now,
        })
        .await?;
    }
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> NodeSpec {
        DefinitionFile::parse("t", "[[nodes]]\nname = \"n\"\ncommand = \"true\"\n")
            .unwrap()
            .nodes
            .remove(0)
    }

    #[test]
    fn a_change_lists_only_the_fields_that_differ() {
        let before = spec();
        let mut after = spec();
        after.command = "false".into();
        after.upstream = vec!["a".into(), "b".into()];
        assert_eq!(
            node_changes(Some(&before), Some(&after), None),
            vec![
                FieldChange {
                    field: "command".into(),
                    before: Some("true".into()),
                    after: Some("false".into())
                },
                FieldChange {
                    field: "upstream".into(),
                    before: Some(String::new()),
                    after: Some("a, b".into())
                },
            ]
        );
        assert!(node_changes(Some(&before), Some(&before), None).is_empty());
    }

    #[test]
    fn creation_and_deletion_list_every_field() {
        let created = node_changes(None, Some(&spec()), Some("n"));
        assert_eq!(created.len(), 12);
        assert_eq!(created[2].field, "n.command");
        assert!(created.iter().all(|c| c.before.is_none() && c.after.is_some()));
        let deleted = node_changes(Some(&spec()), None, None);
        assert!(deleted.iter().all(|c| c.before.is_some() && c.after.is_none()));
    }

    #[test]
    fn group_changes_name_slots_and_the_backfill_share() {
        let old = ResourceGroup { name: "etl".into(), slots: 4, backfill_slots: None };
        let new = ResourceGroup { backfill_slots: Some(2), ..old.clone() };
        assert_eq!(
            group_changes(Some(&old), &new),
            vec![FieldChange {
                field: "backfill_slots".into(),
                before: Some("default".into()),
                after: Some("2".into())
            }]
        );
        assert_eq!(group_changes(None, &old).len(), 2);
        assert!(group_changes(Some(&old), &old).is_empty());
    }
}
