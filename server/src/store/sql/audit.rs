//! The audit trail on SQLite.

use super::{Conn, Db};
use app::audit::{
    AuditOutcome, AuditPage, AuditQuery, AuditRecord, AuditResult, AuditResultPage, FieldChange,
};
use app::model::{DEFAULT_PAGE_SIZE, InstanceId, MAX_PAGE_SIZE};
use sqlx::QueryBuilder;

use super::{CHUNK, SqlStore, json_ids};
use crate::store::ListItem;
use crate::store::audit::{AuditEntry, AuditStore};
use crate::store::{Result, StoreError, from_ms, to_ms};

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    dry_run: bool,
    outcome: AuditOutcome,
    subject: Option<String>,
    message: Option<String>,
    requested: i64,
    changed: i64,
    changes: Option<String>,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> Result<Self> {
        let changes: Vec<FieldChange> = match &r.changes {
            Some(text) => serde_json::from_str(text)
                .map_err(|_| StoreError::Corrupt(format!("audit changes of entry {}", r.id)))?,
            None => Vec::new(),
        };
        Ok(AuditRecord {
            id: r.id,
            at: from_ms(r.at),
            actor: r.actor,
            action: r.action,
            dry_run: r.dry_run,
            outcome: r.outcome,
            subject: r.subject,
            message: r.message,
            requested: r.requested,
            changed: r.changed,
            changes,
        })
    }
}

const COLUMNS: &str = "a.id, a.at, a.actor, a.action, a.dry_run, a.outcome, a.subject, \
    a.message, a.requested, a.changed, a.changes";

/// Writes an entry and its per-instance results on `conn` (inside the caller's transaction).
pub(super) async fn insert_audit(conn: &mut Conn, entry: &AuditEntry<'_>) -> Result<i64> {
    let changes = (!entry.changes.is_empty())
        .then(|| serde_json::to_string(entry.changes).expect("strings serialize"));
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit (at, actor, action, dry_run, outcome, subject, message, requested, \
         changed, changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(to_ms(entry.at))
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.dry_run)
    .bind(entry.outcome)
    .bind(entry.subject.as_deref())
    .bind(entry.message)
    .bind(entry.requested as i64)
    .bind(entry.changed as i64)
    .bind(changes)
    .fetch_one(&mut *conn)
    .await?;
    // All the ok ones in one statement, the refused ones (with their reasons) in chunks.
    let ok: Vec<InstanceId> =
        entry.results.iter().filter(|(_, r)| r.is_ok()).map(|(id, _)| *id).collect();
    if !ok.is_empty() {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO audit_instances (audit_id, instance_id, result) \
             SELECT $1, value, 'ok' FROM {list} WHERE TRUE ON CONFLICT DO NOTHING",
            list = super::list("$2", ListItem::Id)
        )))
        .bind(id)
        .bind(json_ids(&ok))
        .execute(&mut *conn)
        .await?;
    }
    let failed: Vec<(InstanceId, &String)> = entry
        .results
        .iter()
        .filter_map(|(id, r)| r.as_ref().err().map(|reason| (*id, reason)))
        .collect();
    for chunk in failed.chunks(CHUNK) {
        let mut query =
            QueryBuilder::<Db>::new("INSERT INTO audit_instances (audit_id, instance_id, result) ");
        query.push_values(chunk, |mut row, (instance, reason)| {
            row.push_bind(id).push_bind(instance.0).push_bind((*reason).clone());
        });
        query.push(" ON CONFLICT DO NOTHING");
        query.build().execute(&mut *conn).await?;
    }
    Ok(id)
}

#[async_trait::async_trait]
impl AuditStore for SqlStore {
    async fn record_audit(&self, entry: &AuditEntry<'_>) -> Result<i64> {
        let mut tx = self.write.begin().await?;
        let id = insert_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn list_audit(&self, filter: &AuditQuery) -> Result<AuditPage> {
        let limit = filter.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        let mut query = QueryBuilder::<Db>::new(format!("SELECT {COLUMNS} FROM audit a"));
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
        if let Some(outcome) = filter.outcome {
            query.push(" AND a.outcome = ").push_bind(outcome);
        }
        if let Some(subject) = &filter.subject {
            query.push(" AND a.subject = ").push_bind(subject.clone());
        }
        if let Some(before) = filter.before {
            query.push(" AND a.id < ").push_bind(before);
        }
        query.push(" ORDER BY a.id DESC LIMIT ").push_bind(limit as i64 + 1);
        let rows: Vec<AuditRow> = query.build_query_as().fetch_all(&self.read).await?;
        let more = rows.len() > limit as usize;
        let items = rows
            .into_iter()
            .take(limit as usize)
            .map(AuditRecord::try_from)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = more.then(|| items.last().map(|a| a.id.to_string())).flatten();
        Ok(AuditPage { items, next_cursor })
    }

    async fn audit_record(&self, id: i64) -> Result<Option<AuditRecord>> {
        let row: Option<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit a WHERE a.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.map(AuditRecord::try_from).transpose()
    }

    async fn audit_results(
        &self,
        id: i64,
        after: Option<InstanceId>,
        limit: u32,
    ) -> Result<AuditResultPage> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT instance_id, result FROM audit_instances WHERE audit_id = $1 \
             AND instance_id > $2 ORDER BY instance_id LIMIT $3",
        )
        .bind(id)
        .bind(after.map_or(i64::MIN, |a| a.0))
        .bind(limit as i64 + 1)
        .fetch_all(&self.read)
        .await?;
        let more = rows.len() > limit as usize;
        let items: Vec<AuditResult> = rows
            .into_iter()
            .take(limit as usize)
            .map(|(instance, result)| AuditResult { instance_id: InstanceId(instance), result })
            .collect();
        let next_cursor = more.then(|| items.last().map(|r| r.instance_id.to_string())).flatten();
        Ok(AuditResultPage { items, next_cursor })
    }
}
