//! The store's SQL, written once and compiled for each database: `store/sqlite.rs` and
//! `store/postgres.rs` each include this module with their own `Db` (the sqlx database) and
//! `dialect` (the few fragments that differ: how a bound list becomes a table, how a write
//! transaction takes its lock, case-insensitive LIKE). Everything else is SQL both accept:
//! numbered `$N` parameters, `ON CONFLICT`, `RETURNING`, `UPDATE … FROM`, recursive CTEs,
//! `TRUE`/`FALSE`. States and run types are bound as typed values (`sqlx::Type`, TEXT columns),
//! timestamps are integer milliseconds, dates `YYYY-MM-DD` text.

mod alerts;
mod audit;
mod counts;
mod definitions;
mod instances;
mod jobs;
mod operations;
mod people;
mod retention;
mod rows;
mod scheduling;
mod snapshots;
mod workers;

use sqlx::{Pool, QueryBuilder, Transaction};

pub(super) use super::{Db, dialect};
use crate::store::{Database, ListItem, Result, StoreOptions, WriteLock};
use app::model::InstanceId;

/// A connection of this database.
pub(super) type Conn = <Db as sqlx::Database>::Connection;

pub struct SqlStore {
    /// Reads (on SQLite a separate read-only pool; on PostgreSQL the same pool as `write`).
    read: Pool<Db>,
    write: Pool<Db>,
}

impl SqlStore {
    /// Connects, brings the schema up to date and checks the database answers.
    pub async fn open(options: &StoreOptions) -> Result<SqlStore> {
        let (read, write) = super::connect(options).await?;
        Ok(SqlStore { read, write })
    }

    /// A write transaction holding `lock` (see [`WriteLock`]).
    async fn begin(&self, lock: WriteLock<'_>) -> Result<Transaction<'static, Db>> {
        dialect::begin(&self.write, lock).await
    }
}

#[async_trait::async_trait]
impl Database for SqlStore {
    async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    fn is_shared(&self) -> bool {
        dialect::SHARED
    }
}

/// Rows per multi-row statement (well under SQLite's bound-parameter limit).
const CHUNK: usize = 400;

/// A bound JSON array (the parameter `param`) as the table `j (value)`.
fn list(param: &str, item: ListItem) -> String {
    let (before, after) = dialect::list_parts(item);
    format!("{before}{param}{after}")
}

/// [`list`] with the JSON array bound here.
fn push_list(query: &mut QueryBuilder<Db>, json: String, item: ListItem) {
    let (before, after) = dialect::list_parts(item);
    query.push(before).push_bind(json).push(after);
}

/// A list of ids as one bound JSON array (see [`list`]).
fn json_ids(ids: &[InstanceId]) -> String {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    serde_json::to_string(&ids).expect("numbers serialize")
}

/// ` IN (SELECT value FROM <the ids>)` with the ids bound as one JSON array: one statement text
/// for any number of ids, so the prepared-statement cache keeps it.
fn push_ids(query: &mut QueryBuilder<Db>, ids: &[InstanceId]) {
    query.push(" IN (SELECT value FROM ");
    push_list(query, json_ids(ids), ListItem::Id);
    query.push(")");
}

/// ` IN (?, ?, …)` with each value bound as itself (for short lists of few shapes: states).
fn push_in<T>(query: &mut QueryBuilder<Db>, values: impl IntoIterator<Item = T>)
where
    T: for<'t> sqlx::Encode<'t, Db> + sqlx::Type<Db>,
{
    query.push(" IN (");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    list.push_unseparated(")");
}
