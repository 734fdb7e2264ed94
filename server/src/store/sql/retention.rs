//! Purging old rows in small transactions (see `store/retention.rs`).

use app::model::{InstanceId, InstanceState};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::QueryBuilder;

use super::scheduling::literal;
use super::{Db, SqlStore, push_ids};
use crate::store::retention::{Before, PurgeStep, RetentionStore};
use crate::store::{Result, WriteLock, to_ms};

fn literals(states: &[InstanceState]) -> String {
    states.iter().map(|s| literal(*s)).collect::<Vec<_>>().join(", ")
}

#[async_trait::async_trait]
impl RetentionStore for SqlStore {
    async fn oldest_run_date(&self) -> Result<Option<NaiveDate>> {
        let oldest: Option<String> =
            sqlx::query_scalar("SELECT MIN(run_date) FROM instances").fetch_one(&self.read).await?;
        Ok(oldest.and_then(|d| d.parse().ok()))
    }

    async fn purge_instances(
        &self,
        before: Before,
        after: InstanceId,
        window: u32,
        states: &[InstanceState],
        waiting: &[InstanceState],
    ) -> Result<PurgeStep> {
        // Chosen and deleted under the lock of every change of instances: what is chosen is
        // still true when it goes (nobody reruns it, nobody starts waiting for it meanwhile).
        let mut tx = self.begin(WriteLock::Instances).await?;
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, created_at FROM instances WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.0)
        .bind(i64::from(window))
        .fetch_all(&mut *tx)
        .await?;
        let made = to_ms(before.made);
        let step = |purged| PurgeStep {
            purged,
            last: rows.last().map(|(id, _)| InstanceId(*id)),
            reached_new: rows.iter().any(|(_, at)| *at >= made),
        };
        let old: Vec<InstanceId> =
            rows.iter().filter(|(_, at)| *at < made).map(|(id, _)| InstanceId(*id)).collect();
        if old.is_empty() {
            return Ok(step(0));
        }
        let mut query = QueryBuilder::<Db>::new("SELECT i.id FROM instances i WHERE i.id");
        push_ids(&mut query, &old);
        query.push(" AND i.run_date < ").push_bind(before.date.to_string());
        query.push(format!(
            " AND i.state IN ({}) AND NOT EXISTS (SELECT 1 FROM instance_deps d \
             JOIN instances w ON w.id = d.instance_id WHERE d.upstream_id = i.id AND w.state IN ({}))",
            literals(states),
            literals(waiting),
        ));
        let chosen: Vec<i64> = query.build_query_scalar().fetch_all(&mut *tx).await?;
        if chosen.is_empty() {
            return Ok(step(0));
        }
        let ids: Vec<InstanceId> = chosen.into_iter().map(InstanceId).collect();
        for (table, column) in [
            ("instance_deps", "instance_id"),
            ("instance_deps", "upstream_id"),
            ("attempts", "instance_id"),
            ("attempt_logs", "instance_id"),
            ("attempt_ends", "instance_id"),
        ] {
            let mut query = QueryBuilder::<Db>::new(format!("DELETE FROM {table} WHERE {column}"));
            push_ids(&mut query, &ids);
            query.build().execute(&mut *tx).await?;
        }
        let mut query = QueryBuilder::<Db>::new(
            "DELETE FROM alert_deliveries WHERE alert_id IN (SELECT id FROM alerts WHERE instance_id",
        );
        push_ids(&mut query, &ids);
        query.push(")");
        query.build().execute(&mut *tx).await?;
        let mut query = QueryBuilder::<Db>::new("DELETE FROM alerts WHERE instance_id");
        push_ids(&mut query, &ids);
        query.build().execute(&mut *tx).await?;
        let mut query = QueryBuilder::<Db>::new("DELETE FROM instances WHERE id");
        push_ids(&mut query, &ids);
        let purged = query.build().execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(step(purged))
    }

    async fn purge_empty_jobs(&self, before: DateTime<Utc>, limit: u32) -> Result<u64> {
        let mut tx = self.begin(WriteLock::Instances).await?;
        let purged = sqlx::query(
            "DELETE FROM jobs WHERE id IN (SELECT j.id FROM jobs j WHERE j.created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.job_id = j.id) \
             ORDER BY j.id LIMIT $2)",
        )
        .bind(to_ms(before))
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(purged)
    }

    async fn purge_audit(&self, before: DateTime<Utc>, limit: u32) -> Result<u64> {
        // The oldest entries by id (entries are written in time order), those of them older
        // than `before`: never a scan past the first `limit` rows.
        let mut tx = self.begin(WriteLock::Instances).await?;
        let oldest = "SELECT id FROM (SELECT id, at FROM audit ORDER BY id LIMIT $2) AS o \
                      WHERE o.at < $1";
        // The entries' instance lists first, then the entries (the last count is returned).
        let mut purged = 0;
        for (table, column) in [("audit_instances", "audit_id"), ("audit", "id")] {
            purged = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE {column} IN ({oldest})"
            )))
            .bind(to_ms(before))
            .bind(i64::from(limit))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(purged)
    }

    async fn purge_shipped_logs(
        &self,
        run_date: NaiveDate,
        made: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64> {
        let mut tx = self.begin(WriteLock::Instances).await?;
        let chosen: Vec<i64> = sqlx::query_scalar(
            "SELECT i.id FROM instances i WHERE i.run_date = $1 AND i.created_at < $2 \
             AND EXISTS (SELECT 1 FROM attempt_logs l WHERE l.instance_id = i.id) \
             ORDER BY i.id LIMIT $3",
        )
        .bind(run_date.to_string())
        .bind(to_ms(made))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        if chosen.is_empty() {
            return Ok(0);
        }
        let ids: Vec<InstanceId> = chosen.into_iter().map(InstanceId).collect();
        let mut query = QueryBuilder::<Db>::new("DELETE FROM attempt_logs WHERE instance_id");
        push_ids(&mut query, &ids);
        query.build().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(ids.len() as u64)
    }
}
