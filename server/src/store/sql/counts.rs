//! The maintained instance counts: fold, check, recount.

use super::{SqlStore, dialect};
use crate::store::counts::{CountMismatch, CountStore};
use crate::store::{Result, WriteLock};

/// The two sets of counts: name, key columns, the key as text.
const COUNTS: [(&str, &str, &str); 2] = [
    ("by_day", "run_date, run_type, state", "run_date || ' ' || run_type || ' ' || state"),
    (
        "by_node",
        "node_id, run_type, state",
        "CAST(node_id AS TEXT) || ' ' || run_type || ' ' || state",
    ),
];

#[async_trait::async_trait]
impl CountStore for SqlStore {
    async fn fold_count_changes(&self) -> Result<u64> {
        // Only a shared database's triggers append changes (PostgreSQL: concurrent writers never
        // wait on a counter row); SQLite's, with one writer, add to the counts directly.
        if !dialect::SHARED {
            return Ok(0);
        }
        let mut tx = self.begin(WriteLock::Instances).await?;
        let mut folded = 0;
        for (name, key, _) in COUNTS {
            folded += sqlx::query(sqlx::AssertSqlSafe(format!(
                "WITH moved AS (DELETE FROM instance_count_changes_{name} RETURNING {key}, n) \
                 INSERT INTO instance_counts_{name} ({key}, n) \
                 SELECT {key}, SUM(n) FROM moved GROUP BY {key} \
                 ON CONFLICT ({key}) DO UPDATE SET n = instance_counts_{name}.n + excluded.n"
            )))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(folded)
    }

    async fn count_mismatches(&self) -> Result<Vec<CountMismatch>> {
        let mut out = Vec::new();
        for (name, key, text) in COUNTS {
            // One statement (one consistent view), aggregation only: the kept counts, their
            // pending changes and a fresh count side by side, summed per key. (A FULL JOIN on
            // the keys took SQLite minutes at 600,000 instances: it joined row by row.)
            let rows: Vec<(String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {text}, CAST(SUM(kept) AS BIGINT), CAST(SUM(counted) AS BIGINT) FROM ( \
                   SELECT {key}, n AS kept, 0 AS counted FROM instance_counts_{name} \
                   UNION ALL SELECT {key}, n, 0 FROM instance_count_changes_{name} \
                   UNION ALL SELECT {key}, 0, COUNT(*) FROM instances GROUP BY {key}) t \
                 GROUP BY {key} HAVING SUM(kept) <> SUM(counted)"
            )))
            .fetch_all(&self.read)
            .await?;
            out.extend(rows.into_iter().map(|(key, kept, counted)| CountMismatch {
                counts: name,
                key,
                kept,
                counted,
            }));
        }
        out.sort_by(|a, b| (a.counts, &a.key).cmp(&(b.counts, &b.key)));
        Ok(out)
    }

    async fn recount(&self) -> Result<()> {
        let mut tx = self.begin(WriteLock::Instances).await?;
        // Claims change states without the instances' lock: hold every writer off meanwhile.
        if let Some(freeze) = dialect::HOLD_INSTANCE_WRITERS {
            sqlx::query(freeze).execute(&mut *tx).await?;
        }
        for (name, key, _) in COUNTS {
            for statement in [
                format!("DELETE FROM instance_count_changes_{name}"),
                format!("DELETE FROM instance_counts_{name}"),
                format!(
                    "INSERT INTO instance_counts_{name} ({key}, n) \
                     SELECT {key}, COUNT(*) FROM instances GROUP BY {key}"
                ),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
