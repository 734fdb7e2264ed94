//! Alert rules, the journal of attempt ends, alerts and their deliveries (see `store::alerts`).

use std::collections::HashMap;

use app::alerts::{Alert, AlertEvent, AlertRule, AlertRuleSpec, AlertStatus, Channel, Delivery};
use app::baselines::{Baseline, BaselineSpec};
use app::model::{Instance, InstanceId, InstanceState};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{QueryBuilder, Transaction};

use super::audit::insert_audit;
use super::rows::{INSTANCE_COLUMNS, InstanceRow};
use super::scheduling::literal;
use super::{Conn, Db, SqlStore, dialect, push_ids, push_in, push_list};
use crate::store::ListItem;
use crate::store::alerts::{
    AlertFilter, AlertStore, AlertTx, AttemptEnd, DeliveryResult, DueDelivery, NewAlert, WatchTx,
    Watched, WatchedRule,
};
use crate::store::{AuditEntry, Result, StoreError, WriteLock, from_ms, to_ms};

const RULE_COLUMNS: &str = "id, name, workflow, node, owner, event, at, minutes, channels, \
    cooldown_mins, created_by, created_at, updated_at, checked_until";

/// The most rules (and baselines) read at once: all of them (see `app::alerts::MAX_RULES`).
const MAX_RULES: u64 = app::alerts::MAX_RULES;

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    name: String,
    workflow: Option<String>,
    node: Option<String>,
    owner: Option<String>,
    event: String,
    at: Option<String>,
    minutes: Option<i64>,
    channels: String,
    cooldown_mins: i64,
    created_by: String,
    created_at: i64,
    updated_at: i64,
    checked_until: i64,
}

fn event(value: &str) -> Result<AlertEvent> {
    AlertEvent::parse(value).ok_or_else(|| StoreError::Corrupt(format!("alert event '{value}'")))
}

fn channels(value: &str) -> Result<Vec<Channel>> {
    serde_json::from_str(value).map_err(|_| StoreError::Corrupt("alert channels".into()))
}

fn status(value: &str) -> Result<AlertStatus> {
    AlertStatus::parse(value).ok_or_else(|| StoreError::Corrupt(format!("alert status '{value}'")))
}

impl RuleRow {
    fn into_watched(self) -> Result<WatchedRule> {
        Ok(WatchedRule {
            checked_until: from_ms(self.checked_until),
            rule: AlertRule {
                id: self.id,
                name: self.name,
                workflow: self.workflow,
                node: self.node,
                owner: self.owner,
                event: event(&self.event)?,
                at: self.at,
                minutes: self.minutes.map(|m| m as u32),
                channels: channels(&self.channels)?,
                cooldown_mins: self.cooldown_mins as u32,
                created_by: self.created_by,
                created_at: from_ms(self.created_at),
                updated_at: from_ms(self.updated_at),
            },
        })
    }
}

async fn rule_by_id(conn: &mut Conn, id: i64) -> Result<Option<AlertRule>> {
    let row: Option<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| r.into_watched().map(|w| w.rule)).transpose()
}

/// A statement's query with a rule's fields bound as `$1` to `$9`: name, workflow, node, owner,
/// event, at, minutes, channels, cooldown.
fn bind_rule<'q>(
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
    spec: &'q AlertRuleSpec,
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments> {
    query
        .bind(&spec.name)
        .bind(&spec.workflow)
        .bind(&spec.node)
        .bind(&spec.owner)
        .bind(spec.event.as_str())
        .bind(&spec.at)
        .bind(spec.minutes.map(i64::from))
        .bind(json_list(&spec.channels))
        .bind(i64::from(spec.cooldown_mins.unwrap_or(0)))
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    rule_id: Option<i64>,
    rule: String,
    baseline: Option<String>,
    event: String,
    instance_id: Option<i64>,
    node: Option<String>,
    run_date: Option<String>,
    attempt: Option<i64>,
    fired_at: i64,
    status: String,
}

/// An instance row followed by the columns of a query's own.
#[derive(sqlx::FromRow)]
struct EndRow {
    seq: i64,
    end_attempt: i64,
    failed: bool,
    end_state: InstanceState,
    previous_failed: bool,
    end_at: i64,
    end_reason: Option<String>,
    #[sqlx(flatten)]
    instance: InstanceRow,
}

async fn instances(read: &sqlx::Pool<Db>, mut query: QueryBuilder<Db>) -> Result<Vec<Instance>> {
    let rows: Vec<InstanceRow> = query.build_query_as().fetch_all(read).await?;
    rows.into_iter().map(Instance::try_from).collect()
}

#[async_trait::async_trait]
impl AlertStore for SqlStore {
    async fn alert_rules(&self) -> Result<Vec<WatchedRule>> {
        let rows: Vec<RuleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules ORDER BY id LIMIT {MAX_RULES}"
        )))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(RuleRow::into_watched).collect()
    }

    async fn alert_rule(&self, id: i64) -> Result<Option<AlertRule>> {
        let mut conn = self.read.acquire().await?;
        rule_by_id(&mut conn, id).await
    }

    async fn watch_counts(&self) -> Result<(u64, u64)> {
        let (rules, baselines): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM alert_rules), (SELECT COUNT(*) FROM baselines)",
        )
        .fetch_one(&self.read)
        .await?;
        Ok((rules as u64, baselines as u64))
    }

    async fn begin_watch(&self) -> Result<Box<dyn WatchTx>> {
        let tx = self.begin(WriteLock::Alerts).await?;
        Ok(Box::new(SqlWatch { tx }))
    }

    async fn attempt_ends(&self, limit: u32) -> Result<Vec<AttemptEnd>> {
        let rows: Vec<EndRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT e.id AS seq, e.attempt AS end_attempt, e.failed, e.state AS end_state, \
               e.at AS end_at, (SELECT a.reason FROM attempts a WHERE a.instance_id = \
                 e.instance_id AND a.attempt = e.attempt) AS end_reason, EXISTS (SELECT 1 FROM attempts p WHERE p.instance_id = \
                 e.instance_id AND p.attempt = e.attempt - 1 AND p.outcome = 'failed') \
                 AS previous_failed, {INSTANCE_COLUMNS} \
             FROM attempt_ends e JOIN instances i ON i.id = e.instance_id \
               JOIN nodes n ON n.id = i.node_id \
             ORDER BY e.id LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(AttemptEnd {
                    seq: row.seq,
                    attempt: row.end_attempt as i32,
                    failed: row.failed,
                    state: row.end_state,
                    previous_failed: row.previous_failed,
                    at: from_ms(row.end_at),
                    reason: row.end_reason,
                    instance: Instance::try_from(row.instance)?,
                })
            })
            .collect()
    }

    async fn running_since(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<Instance>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances i JOIN nodes n ON n.id = i.node_id \
             WHERE i.state = {} AND i.started_at <= ",
            literal(InstanceState::Running)
        ));
        query.push_bind(to_ms(before)).push(" ORDER BY i.id LIMIT ").push_bind(i64::from(limit));
        instances(&self.read, query).await
    }

    async fn unfinished(
        &self,
        run_date: NaiveDate,
        watched: Watched<'_>,
        limit: u32,
    ) -> Result<Vec<Instance>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances i JOIN nodes n ON n.id = i.node_id \
             WHERE i.run_type = 'cycle' AND i.state <> {} AND i.run_date = ",
            literal(InstanceState::Success)
        ));
        query.push_bind(run_date.to_string());
        for (column, value) in [
            ("i.workflow", watched.workflow),
            ("i.node_name", watched.node),
            ("i.owner", watched.owner),
        ] {
            if let Some(value) = value {
                query.push(format!(" AND {column} = ")).push_bind(value.to_string());
            }
        }
        query.push(" ORDER BY i.id LIMIT ").push_bind(i64::from(limit));
        instances(&self.read, query).await
    }

    async fn fired(&self, keys: &[String]) -> Result<Vec<String>> {
        let mut known = Vec::new();
        for chunk in keys.chunks(super::CHUNK) {
            let mut query = QueryBuilder::<Db>::new("SELECT key FROM alerts WHERE key");
            push_in(&mut query, chunk.iter().cloned());
            known.extend(query.build_query_scalar::<String>().fetch_all(&self.read).await?);
        }
        Ok(known)
    }

    async fn begin_alerts(&self) -> Result<Box<dyn AlertTx>> {
        let tx = self.begin(WriteLock::Alerts).await?;
        Ok(Box::new(SqlAlerts { tx }))
    }

    async fn claim_deliveries(
        &self,
        by: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DueDelivery>> {
        // The outer conditions repeat the inner ones: a process that lost the race for a row
        // (PostgreSQL re-reads it after the winner commits) finds it taken and leaves it.
        let free = "status = 'pending' AND next_at <= $2 \
                    AND (claimed_until IS NULL OR claimed_until < $2)";
        let claimed: Vec<(i64, i64, String, String, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE alert_deliveries SET claimed_by = $1, claimed_until = $3 \
                 WHERE id IN (SELECT id FROM alert_deliveries WHERE {free} \
                   ORDER BY next_at LIMIT $4) AND {free} \
                 RETURNING id, alert_id, channel, target, tries"
            )))
            .bind(by)
            .bind(to_ms(now))
            .bind(to_ms(until))
            .bind(i64::from(limit))
            .fetch_all(&self.write)
            .await?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = QueryBuilder::<Db>::new(
            "SELECT id, fired_at, rule, event, payload FROM alerts WHERE id",
        );
        push_in(&mut query, claimed.iter().map(|c| c.1));
        let alerts: HashMap<i64, (i64, String, String, String)> = query
            .build_query_as::<(i64, i64, String, String, String)>()
            .fetch_all(&self.write)
            .await?
            .into_iter()
            .map(|(id, fired_at, rule, event, payload)| (id, (fired_at, rule, event, payload)))
            .collect();
        let mut due = Vec::new();
        for (id, alert_id, kind, target, tries) in claimed {
            // An alert is never deleted while a delivery of it exists.
            let Some((fired_at, rule, event_name, payload)) = alerts.get(&alert_id) else {
                continue;
            };
            due.push(DueDelivery {
                id,
                alert_id,
                channel: channel(&kind, target)?,
                tries: tries as u32,
                fired_at: from_ms(*fired_at),
                rule: rule.clone(),
                event: event(event_name)?,
                payload: payload.clone(),
            });
        }
        Ok(due)
    }

    async fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_at) FROM alert_deliveries WHERE status = 'pending'",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(next.map(from_ms))
    }

    async fn finish_delivery(
        &self,
        id: i64,
        by: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin(WriteLock::Alerts).await?;
        let (status, next_at, error, delivered_at) = match result {
            DeliveryResult::Delivered => ("delivered", None, None, Some(to_ms(now))),
            DeliveryResult::RetryAt { at, error } => {
                ("pending", Some(to_ms(*at)), Some(error.as_str()), None)
            }
            DeliveryResult::GaveUp { error } => ("failed", None, Some(error.as_str()), None),
        };
        let mine = sqlx::query(
            "UPDATE alert_deliveries SET status = $2, tries = tries + 1, \
               next_at = COALESCE($3, next_at), last_error = $4, delivered_at = $5, \
               claimed_by = NULL, claimed_until = NULL \
             WHERE id = $1 AND claimed_by = $6",
        )
        .bind(id)
        .bind(status)
        .bind(next_at)
        .bind(error)
        .bind(delivered_at)
        .bind(by)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if mine == 0 {
            // Another process took it over (this one was too slow): its record stands.
            return Ok(());
        }
        sqlx::query(
            "UPDATE alerts SET status = CASE \
               WHEN EXISTS (SELECT 1 FROM alert_deliveries d \
                 WHERE d.alert_id = alerts.id AND d.status = 'pending') THEN 'pending' \
               WHEN EXISTS (SELECT 1 FROM alert_deliveries d \
                 WHERE d.alert_id = alerts.id AND d.status = 'failed') THEN 'failed' \
               ELSE 'delivered' END \
             WHERE id = (SELECT alert_id FROM alert_deliveries WHERE id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_alerts(&self, filter: &AlertFilter) -> Result<(Vec<Alert>, bool)> {
        let mut query = QueryBuilder::<Db>::new(
            "SELECT id, rule_id, rule, baseline, event, instance_id, node, run_date, attempt, \
             fired_at, status FROM alerts WHERE TRUE",
        );
        if let Some(rule) = filter.rule {
            query.push(" AND rule_id = ").push_bind(rule);
        }
        if let Some(instance) = filter.instance {
            query.push(" AND instance_id = ").push_bind(instance.0);
        }
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(before) = filter.before {
            query.push(" AND id < ").push_bind(before);
        }
        query.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(filter.limit) + 1);
        let mut rows: Vec<AlertRow> = query.build_query_as().fetch_all(&self.read).await?;
        let more = rows.len() > filter.limit as usize;
        rows.truncate(filter.limit as usize);
        let mut deliveries: HashMap<i64, Vec<Delivery>> = HashMap::new();
        if !rows.is_empty() {
            let mut query = QueryBuilder::<Db>::new(
                "SELECT alert_id, channel, target, status, tries, last_error, next_at, \
                 delivered_at FROM alert_deliveries WHERE alert_id",
            );
            push_in(&mut query, rows.iter().map(|r| r.id));
            query.push(" ORDER BY id");
            type DeliveryRow = (i64, String, String, String, i64, Option<String>, i64, Option<i64>);
            let found: Vec<DeliveryRow> = query.build_query_as().fetch_all(&self.read).await?;
            for (alert, kind, target, state, tries, last_error, next_at, delivered_at) in found {
                let status = status(&state)?;
                deliveries.entry(alert).or_default().push(Delivery {
                    channel: channel(&kind, target)?,
                    status,
                    tries: tries as u32,
                    last_error,
                    next_try_at: (status == AlertStatus::Pending).then(|| from_ms(next_at)),
                    delivered_at: delivered_at.map(from_ms),
                });
            }
        }
        let alerts = rows
            .into_iter()
            .map(|row| {
                Ok(Alert {
                    id: row.id,
                    rule_id: row.rule_id,
                    rule: row.rule,
                    baseline: row.baseline,
                    event: event(&row.event)?,
                    instance_id: row.instance_id.map(InstanceId),
                    node: row.node,
                    run_date: row.run_date,
                    attempt: row.attempt.map(|a| a as i32),
                    fired_at: from_ms(row.fired_at),
                    status: status(&row.status)?,
                    deliveries: deliveries.remove(&row.id).unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<Alert>>>()?;
        Ok((alerts, more))
    }

    async fn baselines(&self) -> Result<Vec<Baseline>> {
        let rows: Vec<BaselineRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {BASELINE_COLUMNS} FROM baselines ORDER BY name LIMIT {MAX_RULES}"
        )))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(baseline_of).collect()
    }

    async fn baseline(&self, name: &str) -> Result<Option<Baseline>> {
        let mut conn = self.read.acquire().await?;
        baseline_by_name(&mut conn, name).await
    }

    async fn upstream_closure(
        &self,
        run_date: NaiveDate,
        nodes: &[String],
        limit: u32,
    ) -> Result<(Vec<Instance>, Vec<(InstanceId, InstanceId)>)> {
        let (inner, outer) = dialect::recursion_limit("$3");
        let mut query = QueryBuilder::<Db>::new(format!(
            "WITH RECURSIVE up (id) AS (SELECT i.id FROM instances i \
               WHERE i.run_type = 'cycle' AND i.run_date = $1 AND i.node_id IN \
                 (SELECT n.id FROM nodes n WHERE n.deleted_at IS NULL AND n.name IN \
                   (SELECT value FROM {})) \
               UNION SELECT d.upstream_id FROM instance_deps d JOIN up ON d.instance_id = up.id \
               {inner}) \
             SELECT {INSTANCE_COLUMNS} FROM instances i JOIN nodes n ON n.id = i.node_id \
             WHERE i.id IN (SELECT id FROM (SELECT id FROM up {outer}) AS u) ORDER BY i.id",
            super::list("$2", ListItem::Text)
        ));
        let rows: Vec<InstanceRow> = query
            .build_query_as()
            .bind(run_date.to_string())
            .bind(json_list(nodes))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        let found = rows.into_iter().map(Instance::try_from).collect::<Result<Vec<_>>>()?;
        let ids: Vec<InstanceId> = found.iter().map(|i| i.id).collect();
        let mut edges = Vec::new();
        for chunk in ids.chunks(super::CHUNK) {
            let mut query = QueryBuilder::<Db>::new(
                "SELECT instance_id, upstream_id FROM instance_deps WHERE instance_id",
            );
            push_ids(&mut query, chunk);
            let pairs: Vec<(i64, i64)> = query.build_query_as().fetch_all(&self.read).await?;
            edges.extend(pairs.into_iter().map(|(i, u)| (InstanceId(i), InstanceId(u))));
        }
        Ok((found, edges))
    }

    async fn recent_durations(
        &self,
        nodes: &[String],
        since: DateTime<Utc>,
        per_node: u32,
    ) -> Result<Vec<(String, i64)>> {
        let mut query = QueryBuilder::<Db>::new(
            "SELECT node_name, dur FROM (SELECT i.node_name, a.ended_at - a.started_at AS dur, \
               ROW_NUMBER() OVER (PARTITION BY i.node_id \
                 ORDER BY i.planned_at DESC, a.attempt DESC) AS rn \
             FROM instances i JOIN attempts a ON a.instance_id = i.id \
             WHERE a.outcome = 'success' AND a.ended_at IS NOT NULL AND i.dry_run = FALSE \
               AND i.planned_at >= ",
        );
        query.push_bind(to_ms(since)).push(
            " AND i.node_id IN (SELECT n.id FROM nodes n WHERE n.deleted_at IS NULL AND n.name IN \
               (SELECT value FROM ",
        );
        push_list(&mut query, json_list(nodes), ListItem::Text);
        query.push("))) AS t WHERE rn <= ").push_bind(i64::from(per_node));
        Ok(query.build_query_as().fetch_all(&self.read).await?)
    }
}

const BASELINE_COLUMNS: &str =
    "name, nodes, commit_by, margin_mins, channels, created_by, created_at, updated_at";

type BaselineRow = (String, String, String, i64, String, String, i64, i64);

fn baseline_of(row: BaselineRow) -> Result<Baseline> {
    let (name, nodes, commit_by, margin, channel_list, created_by, created_at, updated_at) = row;
    Ok(Baseline {
        name,
        nodes: serde_json::from_str(&nodes)
            .map_err(|_| StoreError::Corrupt("baseline nodes".into()))?,
        commit_by,
        margin_mins: margin as u32,
        channels: channels(&channel_list)?,
        created_by,
        created_at: from_ms(created_at),
        updated_at: from_ms(updated_at),
    })
}

async fn baseline_by_name(conn: &mut Conn, name: &str) -> Result<Option<Baseline>> {
    let row: Option<BaselineRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {BASELINE_COLUMNS} FROM baselines WHERE name = $1"
    )))
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(baseline_of).transpose()
}

fn json_list(items: &[impl serde::Serialize]) -> String {
    serde_json::to_string(items).expect("lists serialize")
}

fn channel(kind: &str, target: String) -> Result<Channel> {
    match kind {
        "webhook" => Ok(Channel::Webhook(target)),
        "email" => Ok(Channel::Email(target)),
        other => Err(StoreError::Corrupt(format!("alert channel '{other}'"))),
    }
}

struct SqlWatch {
    tx: Transaction<'static, Db>,
}

#[async_trait::async_trait]
impl WatchTx for SqlWatch {
    async fn rule(&mut self, id: i64) -> Result<Option<AlertRule>> {
        rule_by_id(&mut self.tx, id).await
    }

    async fn insert_rule(
        &mut self,
        spec: &AlertRuleSpec,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<AlertRule> {
        let insert = sqlx::query(
            "INSERT INTO alert_rules (name, workflow, node, owner, event, at, minutes, channels, \
               cooldown_mins, created_by, created_at, updated_at, checked_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11) RETURNING id",
        );
        let row =
            bind_rule(insert, spec).bind(by).bind(to_ms(now)).fetch_one(&mut *self.tx).await?;
        let id: i64 = sqlx::Row::try_get(&row, 0)?;
        rule_by_id(&mut self.tx, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a rule just saved is gone".into()))
    }

    async fn update_rule(
        &mut self,
        id: i64,
        spec: &AlertRuleSpec,
        now: DateTime<Utc>,
    ) -> Result<AlertRule> {
        let update = sqlx::query(
            "UPDATE alert_rules SET name = $1, workflow = $2, node = $3, owner = $4, event = $5, \
               at = $6, minutes = $7, channels = $8, cooldown_mins = $9, updated_at = $10, \
               checked_until = CASE WHEN event = $5 AND COALESCE(at, '') = COALESCE($6, '') \
                 THEN checked_until ELSE $10 END \
             WHERE id = $11",
        );
        bind_rule(update, spec).bind(to_ms(now)).bind(id).execute(&mut *self.tx).await?;
        rule_by_id(&mut self.tx, id)
            .await?
            .ok_or_else(|| StoreError::Missing { what: "alert rule", name: id.to_string() })
    }

    async fn delete_rule(&mut self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM alert_rules WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn baseline(&mut self, name: &str) -> Result<Option<Baseline>> {
        baseline_by_name(&mut self.tx, name).await
    }

    async fn insert_baseline(
        &mut self,
        spec: &BaselineSpec,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Baseline> {
        let inserted = sqlx::query(
            "INSERT INTO baselines (name, nodes, commit_by, margin_mins, channels, created_by, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&spec.name)
        .bind(json_list(&spec.nodes))
        .bind(&spec.commit_by)
        .bind(i64::from(spec.margin_mins))
        .bind(json_list(&spec.channels))
        .bind(by)
        .bind(to_ms(now))
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Taken { what: "baseline", name: spec.name.clone() });
        }
        baseline_by_name(&mut self.tx, &spec.name)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a baseline just saved is gone".into()))
    }

    async fn update_baseline(
        &mut self,
        spec: &BaselineSpec,
        now: DateTime<Utc>,
    ) -> Result<Baseline> {
        sqlx::query(
            "UPDATE baselines SET nodes = $2, commit_by = $3, margin_mins = $4, channels = $5, \
               updated_at = $6 WHERE name = $1",
        )
        .bind(&spec.name)
        .bind(json_list(&spec.nodes))
        .bind(&spec.commit_by)
        .bind(i64::from(spec.margin_mins))
        .bind(json_list(&spec.channels))
        .bind(to_ms(now))
        .execute(&mut *self.tx)
        .await?;
        baseline_by_name(&mut self.tx, &spec.name)
            .await?
            .ok_or_else(|| StoreError::Missing { what: "baseline", name: spec.name.clone() })
    }

    async fn delete_baseline(&mut self, name: &str) -> Result<()> {
        sqlx::query("DELETE FROM baselines WHERE name = $1")
            .bind(name)
            .execute(&mut *self.tx)
            .await?;
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

struct SqlAlerts {
    tx: Transaction<'static, Db>,
}

#[async_trait::async_trait]
impl AlertTx for SqlAlerts {
    async fn last_sent(&mut self, rule_id: i64) -> Result<Option<DateTime<Utc>>> {
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(fired_at) FROM alerts WHERE rule_id = $1 AND status <> 'folded'",
        )
        .bind(rule_id)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(last.map(from_ms))
    }

    async fn fire(&mut self, alert: &NewAlert<'_>) -> Result<Option<i64>> {
        // Nothing to send (a baseline without channels) is as delivered as it will be.
        let status = match (alert.folded, alert.channels.is_empty()) {
            (true, _) => "folded",
            (false, true) => "delivered",
            (false, false) => "pending",
        };
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO alerts (key, rule_id, rule, baseline, event, instance_id, node, \
               run_date, attempt, fired_at, status, payload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (key) DO NOTHING RETURNING id",
        )
        .bind(&alert.key)
        .bind(alert.rule_id)
        .bind(alert.rule)
        .bind(alert.baseline)
        .bind(alert.event.as_str())
        .bind(alert.instance_id.map(|i| i.0))
        .bind(alert.node)
        .bind(alert.run_date.map(|d| d.to_string()))
        .bind(alert.attempt.map(i64::from))
        .bind(to_ms(alert.at))
        .bind(status)
        .bind(&alert.payload)
        .fetch_optional(&mut *self.tx)
        .await?;
        let Some(id) = id else { return Ok(None) };
        if !alert.folded && !alert.channels.is_empty() {
            let mut query = QueryBuilder::<Db>::new(
                "INSERT INTO alert_deliveries (alert_id, channel, target, status, tries, next_at) ",
            );
            query.push_values(alert.channels, |mut row, channel| {
                row.push_bind(id)
                    .push_bind(channel.kind())
                    .push_bind(channel.target().to_string())
                    .push_bind("pending")
                    .push_bind(0_i64)
                    .push_bind(to_ms(alert.at));
            });
            query.build().execute(&mut *self.tx).await?;
        }
        Ok(Some(id))
    }

    async fn forget_ends(&mut self, seqs: &[i64]) -> Result<()> {
        for chunk in seqs.chunks(super::CHUNK) {
            let mut query = QueryBuilder::<Db>::new("DELETE FROM attempt_ends WHERE id");
            push_in(&mut query, chunk.iter().copied());
            query.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn checked(&mut self, rule_id: i64, until: DateTime<Utc>) -> Result<()> {
        // Never backwards (two schedulers may commit in either order).
        sqlx::query(
            "UPDATE alert_rules SET checked_until = CASE WHEN checked_until > $2 \
             THEN checked_until ELSE $2 END WHERE id = $1",
        )
        .bind(rule_id)
        .bind(to_ms(until))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
