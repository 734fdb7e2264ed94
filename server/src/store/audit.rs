//! Reading the audit trail, and writing the entries that concern no instance (logins, people,
//! tokens). Operations on instances write theirs in their own transaction
//! ([`super::OperationTx::audit`]).

use app::audit::{AuditPage, AuditQuery, AuditRecord, AuditResult};
use app::model::{DEFAULT_PAGE_SIZE, InstanceId, MAX_PAGE_SIZE};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};

use super::{Result, Store, from_ms, to_ms};

/// An entry about an account rather than instances.
#[derive(Debug, Clone)]
pub struct AccountEvent<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub ok: bool,
    pub message: Option<&'a str>,
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    dry_run: bool,
    outcome: String,
    message: Option<String>,
    requested: i64,
    changed: i64,
}

impl From<AuditRow> for AuditRecord {
    fn from(r: AuditRow) -> Self {
        AuditRecord {
            id: r.id,
            at: from_ms(r.at),
            actor: r.actor,
            action: r.action,
            dry_run: r.dry_run,
            outcome: r.outcome,
            message: r.message,
            requested: r.requested,
            changed: r.changed,
        }
    }
}

const COLUMNS: &str =
    "a.id, a.at, a.actor, a.action, a.dry_run, a.outcome, a.message, a.requested, a.changed";

impl Store {
    pub async fn list_audit(&self, filter: &AuditQuery) -> Result<AuditPage> {
        let limit = filter.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM audit a"));
        if let Some(instance) = filter.instance {
            query
                .push(" JOIN audit_instances ai ON ai.audit_id = a.id AND ai.instance_id = ")
                .push_bind(instance.0);
        }
        query.push(" WHERE 1 = 1");
        if let Some(actor) = &filter.actor {
            query.push(" AND a.actor = ").push_bind(actor.clone());
        }
        if let Some(action) = &filter.action {
            query.push(" AND a.action = ").push_bind(action.clone());
        }
        if let Some(outcome) = &filter.outcome {
            query.push(" AND a.outcome = ").push_bind(outcome.clone());
        }
        if let Some(before) = filter.before {
            query.push(" AND a.id < ").push_bind(before);
        }
        query.push(" ORDER BY a.id DESC LIMIT ").push_bind(limit as i64 + 1);
        let rows: Vec<AuditRow> = query.build_query_as().fetch_all(&self.read).await?;
        let more = rows.len() > limit as usize;
        let items: Vec<AuditRecord> =
            rows.into_iter().take(limit as usize).map(Into::into).collect();
        let next_cursor = more.then(|| items.last().map(|a| a.id.to_string())).flatten();
        Ok(AuditPage { items, next_cursor })
    }

    /// One entry with (up to `limit`) per-instance results.
    pub async fn audit_entry(
        &self,
        id: i64,
        limit: u32,
    ) -> Result<Option<(AuditRecord, Vec<AuditResult>)>> {
        let row: Option<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit a WHERE a.id = ?1"
        )))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let results: Vec<(i64, String)> = sqlx::query_as(
            "SELECT instance_id, result FROM audit_instances WHERE audit_id = ?1 \
             ORDER BY instance_id LIMIT ?2",
        )
        .bind(id)
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        let results = results
            .into_iter()
            .map(|(instance, result)| AuditResult { instance_id: InstanceId(instance), result })
            .collect();
        Ok(Some((row.into(), results)))
    }
}

impl Store {
    /// Records a login, a change to a person or a token.
    pub async fn record_account_event(&self, event: &AccountEvent<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit (at, actor, action, dry_run, outcome, message, requested, changed) \
             VALUES (?1, ?2, ?3, 0, ?4, ?5, 0, ?6)",
        )
        .bind(to_ms(event.at))
        .bind(event.actor)
        .bind(event.action)
        .bind(if event.ok { "ok" } else { "refused" })
        .bind(event.message)
        .bind(event.ok as i64)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
