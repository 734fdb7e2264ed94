//! The PostgreSQL store, for teams: several `nightshift` processes on several machines share one
//! database, which is what coordinates them. One pool serves reads and writes. Write
//! transactions that change instances' states serialize on one transaction-level advisory lock
//! (what SQLite's single writer gives for free): a success and the promotion of its downstream
//! must see every other success committed before it, or two upstreams finishing at once on
//! two workers would each leave their shared downstream waiting. Claims serialize per resource
//! group only, so a group's slot limit holds across workers while groups claim in parallel.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{Result, StoreOptions};

pub(crate) type Db = sqlx::Postgres;

// The same SQL as the other database, compiled for this one (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

pub use sql::SqlStore as PostgresStore;

/// Connects and brings the schema up to date: (read, write) pools, the same pool.
async fn connect(options: &StoreOptions) -> Result<(PgPool, PgPool)> {
    let connect = PgConnectOptions::from_str(&options.url)?;
    // One connection first, so a database that is not there says so at once (the pool would
    // retry until its timeout).
    sqlx::Connection::close(
        <sqlx::PgConnection as sqlx::Connection>::connect_with(&connect).await?,
    )
    .await?;
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(2))
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(connect)
        .await?;
    // Several processes may start at once: one migrates, the others wait for it (sqlx takes an
    // advisory lock around the migrations).
    sqlx::migrate!("../migrations/postgres").run(&pool).await?;
    Ok((pool.clone(), pool))
}

/// What PostgreSQL says differently.
pub(crate) mod dialect {
    use sqlx::{Pool, QueryBuilder, Transaction};

    use super::Db;
    use crate::store::{ListItem, Result, WriteLock, like_pattern};

    /// Whether several processes may share the database.
    pub const SHARED: bool = true;
    /// What holds every writer of instances off until the transaction ends (SQLite's write
    /// transaction already does).
    pub const HOLD_INSTANCE_WRITERS: Option<&str> = Some("LOCK TABLE instances IN SHARE MODE");
    pub const JOIN_FROM_LIST: &str = "JOIN";

    /// How a recursive query stops after `param` rows: PostgreSQL refuses a LIMIT in the
    /// recursion but computes a recursive query only as far as its reader fetches: (inside the
    /// recursion, on the outer read).
    pub fn recursion_limit(param: &str) -> (String, String) {
        (String::new(), format!("LIMIT {param}"))
    }

    /// The ids of the nodes whose name contains `text` (case-insensitively), as a subquery:
    /// ILIKE, which the trigram index `nodes_name_trigrams` (pg_trgm) serves.
    pub fn push_nodes_named(query: &mut QueryBuilder<Db>, text: &str) {
        query
            .push("(SELECT id FROM nodes WHERE name ILIKE ")
            .push_bind(like_pattern(text))
            .push(" ESCAPE '\\')");
    }

    /// A bound JSON array as the table `j (value)`: what goes before and after its parameter.
    pub fn list_parts(item: ListItem) -> (&'static str, &'static str) {
        match item {
            ListItem::Id => (
                "(SELECT CAST(value AS BIGINT) AS value FROM json_array_elements_text(CAST(",
                " AS JSON))) AS j",
            ),
            ListItem::Text => {
                ("(SELECT value FROM json_array_elements_text(CAST(", " AS JSON))) AS j")
            }
        }
    }

    /// The advisory-lock namespace of Nightshift's write locks ("NS").
    const NAMESPACE: i32 = 0x4e53;

    /// A write transaction under its lock, released at commit or rollback.
    pub async fn begin(pool: &Pool<Db>, lock: WriteLock<'_>) -> Result<Transaction<'static, Db>> {
        let mut tx = pool.begin().await?;
        match lock {
            WriteLock::Instances => {
                sqlx::query("SELECT pg_advisory_xact_lock($1, 1)")
                    .bind(NAMESPACE)
                    .execute(&mut *tx)
                    .await?;
            }
            WriteLock::Definitions => {
                sqlx::query("SELECT pg_advisory_xact_lock($1, 2)")
                    .bind(NAMESPACE)
                    .execute(&mut *tx)
                    .await?;
            }
            WriteLock::Alerts => {
                sqlx::query("SELECT pg_advisory_xact_lock($1, 3)")
                    .bind(NAMESPACE)
                    .execute(&mut *tx)
                    .await?;
            }
            WriteLock::Group(group) => {
                sqlx::query("SELECT pg_advisory_xact_lock($1 + 1, hashtext($2))")
                    .bind(NAMESPACE)
                    .bind(group)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        Ok(tx)
    }

    /// A bound JSON array of `[id, attempt]` pairs as the table `p (id, attempt)`.
    pub fn pairs(param: &str) -> String {
        format!(
            "(SELECT CAST(value->>0 AS BIGINT) AS id, CAST(value->>1 AS BIGINT) AS attempt \
             FROM json_array_elements(CAST({param} AS JSON))) AS p"
        )
    }

    /// The channel every process of this Nightshift listens on: one per schema, so several
    /// Nightshifts (or tests) in one database do not hear each other.
    const CHANNEL: &str = "'nightshift.' || current_schema()";

    /// NOTIFY on the channel (delivered at commit; this is its own transaction).
    pub async fn publish(pool: &Pool<Db>, message: &str) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT pg_notify({CHANNEL}, $1)")))
            .bind(message)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// LISTEN on the channel, on a connection of its own that sqlx re-establishes when it
    /// drops (what was published meanwhile is missed: listeners also poll as a fallback).
    pub async fn subscribe(
        pool: &Pool<Db>,
    ) -> Result<Option<futures_util::stream::BoxStream<'static, String>>> {
        let channel: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {CHANNEL}")))
            .fetch_one(pool)
            .await?;
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(&channel).await?;
        let stream = futures_util::stream::unfold(listener, |mut listener| async move {
            loop {
                match listener.recv().await {
                    Ok(notification) => {
                        return Some((notification.payload().to_string(), listener));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "lost the database's notifications; reconnecting");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(Box::pin(stream)))
    }
}
