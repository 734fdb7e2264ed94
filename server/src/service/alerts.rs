//! Alert rules (who may watch what, a rule checked whole before it is saved, audited in the
//! transaction that saves it) and the history of what fired.

use app::alerts::{Alert, AlertPage, AlertQuery, AlertRule, AlertRuleSpec, Channel};
use app::audit::FieldChange;
use app::error::AppError;
use app::model::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use app::people::{Actor, Role};
use app::reason::{Reason, Thing};
use app::rules::{self, Permission};
use app::usecases::{Alerts, Input};

use super::Service;
use crate::store::WatchTx;
use crate::store::alerts::AlertFilter;

fn no_rule(id: i64) -> AppError {
    AppError::because(Reason::NotFound { thing: Thing::AlertRule, name: id.to_string() })
}

/// The fields of a rule or baseline that differ between two versions of it (one side missing:
/// made or deleted).
pub(super) fn spec_changes<T: serde::Serialize>(
    before: Option<&T>,
    after: Option<&T>,
) -> Vec<FieldChange> {
    let fields = |spec: Option<&T>| -> serde_json::Map<String, serde_json::Value> {
        spec.and_then(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default()
    };
    let (mut before, mut after) = (fields(before), fields(after));
    // Webhook addresses often carry their secret, and the audit trail is open to every reader:
    // channels are recorded as their redacted selves.
    for fields in [&mut before, &mut after] {
        if let Some(channels) = fields.get_mut("channels") {
            let shown: Vec<Channel> = serde_json::from_value::<Vec<Channel>>(channels.clone())
                .unwrap_or_default()
                .iter()
                .map(Channel::redacted)
                .collect();
            *channels = serde_json::to_value(shown).unwrap_or_default();
        }
    }
    let text = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let (b, a) = (text(before.get(name)), text(after.get(name)));
            (b != a).then(|| FieldChange { field: name.clone(), before: b, after: a })
        })
        .collect()
}

impl Service {
    /// A rule as it will be saved: checked on its own, then against the database (the node and
    /// workflow exist) and the person (a developer watches their own nodes: a rule naming
    /// neither node nor owner watches the nodes they own).
    async fn checked_rule(
        &self,
        actor: &Actor,
        spec: Input<AlertRuleSpec>,
    ) -> Result<AlertRuleSpec, AppError> {
        let mut spec = spec?.normalized();
        spec.check()?;
        if let Some(name) = &spec.node {
            let node = self.store().get_node(name).await?.ok_or_else(|| {
                AppError::because(Reason::UnknownNode { field: "node".into(), name: name.clone() })
            })?;
            rules::authorize(actor, Permission::Watch { owner: &node.spec.owner })?;
        }
        if let Some(workflow) = &spec.workflow {
            let known = self.store().workflows().await?;
            if !known.iter().any(|(name, _)| name == workflow) {
                return Err(AppError::because(Reason::UnknownWorkflow { name: workflow.clone() }));
            }
        }
        match &spec.owner {
            Some(owner) => rules::authorize(actor, Permission::Watch { owner })?,
            None if spec.node.is_none() && actor.role != Role::Admin => {
                spec.owner = Some(actor.name.clone());
            }
            None => {}
        }
        Ok(spec)
    }

    /// Whether the person asking may change what `maker` made, and so see its webhook
    /// addresses whole (they often carry their secret).
    pub(super) fn may_change(&self, maker: &str) -> bool {
        self.actor()
            .is_ok_and(|actor| rules::authorize(actor, Permission::Watch { owner: maker }).is_ok())
    }

    /// Channels as the person asking may see them.
    pub(super) fn visible(&self, maker: &str, channels: Vec<Channel>) -> Vec<Channel> {
        if self.may_change(maker) {
            channels
        } else {
            channels.iter().map(Channel::redacted).collect()
        }
    }

    fn shown(&self, rule: AlertRule) -> AlertRule {
        AlertRule { channels: self.visible(&rule.created_by, rule.channels.clone()), ..rule }
    }

    /// Audits a change of a rule in its transaction.
    async fn audit_rule(
        &self,
        tx: &mut Box<dyn WatchTx>,
        action: &str,
        id: i64,
        changes: &[FieldChange],
    ) -> Result<(), AppError> {
        let entry = self.change_entry(self.actor()?, action, format!("alert_rule:{id}"), changes);
        tx.audit(&entry).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Alerts for Service {
    async fn alert_rules(&self) -> Result<Vec<AlertRule>, AppError> {
        self.allowed(Permission::Read)?;
        let rules = self.store().alert_rules().await?;
        Ok(rules.into_iter().map(|w| self.shown(w.rule)).collect())
    }

    async fn alert_rule(&self, id: i64) -> Result<AlertRule, AppError> {
        self.allowed(Permission::Read)?;
        let rule = self.store().alert_rule(id).await?.ok_or_else(|| no_rule(id))?;
        Ok(self.shown(rule))
    }

    async fn create_alert_rule(&self, spec: Input<AlertRuleSpec>) -> Result<AlertRule, AppError> {
        let actor = self.allowed(Permission::Operate)?;
        let spec = self.checked_rule(actor, spec).await?;
        if self.store().watch_counts().await?.0 >= app::alerts::MAX_RULES {
            return Err(AppError::because(Reason::TooManyRules { max: app::alerts::MAX_RULES }));
        }
        let mut tx = self.store().begin_watch().await?;
        let rule = tx.insert_rule(&spec, &actor.name, self.now()).await?;
        let changes = spec_changes(None, Some(&rule.spec()));
        self.audit_rule(&mut tx, "alert_rule.create", rule.id, &changes).await?;
        tx.commit().await?;
        Ok(rule)
    }

    async fn update_alert_rule(
        &self,
        id: i64,
        spec: Input<AlertRuleSpec>,
    ) -> Result<AlertRule, AppError> {
        let actor = self.allowed(Permission::Operate)?;
        let mut tx = self.store().begin_watch().await?;
        let before = tx.rule(id).await?.ok_or_else(|| no_rule(id))?;
        rules::authorize(actor, Permission::Watch { owner: &before.created_by })?;
        let spec = self.checked_rule(actor, spec).await?;
        let rule = tx.update_rule(id, &spec, self.now()).await?;
        let changes = spec_changes(Some(&before.spec()), Some(&rule.spec()));
        self.audit_rule(&mut tx, "alert_rule.update", id, &changes).await?;
        tx.commit().await?;
        Ok(rule)
    }

    async fn delete_alert_rule(&self, id: i64) -> Result<(), AppError> {
        let actor = self.allowed(Permission::Operate)?;
        let mut tx = self.store().begin_watch().await?;
        let rule = tx.rule(id).await?.ok_or_else(|| no_rule(id))?;
        rules::authorize(actor, Permission::Watch { owner: &rule.created_by })?;
        tx.delete_rule(id).await?;
        let changes = spec_changes(Some(&rule.spec()), None);
        self.audit_rule(&mut tx, "alert_rule.delete", id, &changes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn alerts(&self, query: AlertQuery) -> Result<AlertPage, AppError> {
        self.allowed(Permission::Read)?;
        let before = match query.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(cursor) => Some(super::parse_id("a valid cursor", cursor)?),
            None => None,
        };
        let filter = AlertFilter {
            rule: query.rule,
            instance: query.instance,
            status: query.status,
            before,
            limit: query.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE),
        };
        let (items, more) = self.store().list_alerts(&filter).await?;
        let next_cursor = more.then(|| items.last().map(|a| a.id.to_string())).flatten();
        // Where an alert went is shown by host only: a hook's path is its secret.
        let items = items
            .into_iter()
            .map(|alert| Alert {
                deliveries: alert
                    .deliveries
                    .into_iter()
                    .map(|d| app::alerts::Delivery { channel: d.channel.redacted(), ..d })
                    .collect(),
                ..alert
            })
            .collect();
        Ok(AlertPage { items, next_cursor })
    }
}
