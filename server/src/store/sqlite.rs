//! The SQLite store, the embedded default: WAL mode, one writer connection (the "one writer
//! path": writes queue in the pool instead of fighting over the lock, and every write
//! transaction is `BEGIN IMMEDIATE`), a few read-only connections, and sqlx's per-connection
//! prepared-statement cache. One process only: the server refuses roles other than `all` on it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{Result, StoreError, StoreOptions};

pub(crate) type Db = sqlx::Sqlite;

// The same SQL as the other database, compiled for this one (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;

pub use sql::SqlStore as SqliteStore;

/// Opens (or creates) the database file and brings its schema up to date: (read, write) pools.
async fn connect(options: &StoreOptions) -> Result<(SqlitePool, SqlitePool)> {
    let connect = SqliteConnectOptions::from_str(&options.url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(if options.synchronous_full {
            SqliteSynchronous::Full
        } else {
            SqliteSynchronous::Normal
        })
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("temp_store", "memory")
        .pragma("cache_size", "-32000");
    if let Some(parent) = Path::new(connect.get_filename()).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Db(sqlx::Error::Configuration(
                format!("cannot create the database directory {}: {e}", parent.display()).into(),
            ))
        })?;
    }
    let write = SqlitePoolOptions::new().max_connections(1).connect_with(connect.clone()).await?;
    sqlx::migrate!("../migrations/sqlite").run(&write).await?;
    private_files(connect.get_filename()).map_err(|e| {
        StoreError::Db(sqlx::Error::Configuration(
            format!("cannot make the database private: {e}").into(),
        ))
    })?;
    let read =
        SqlitePoolOptions::new().max_connections(4).connect_with(connect.read_only(true)).await?;
    Ok((read, write))
}

/// The database and its journal files are the server's alone (0600): a command run as another
/// user cannot open them.
fn private_files(database: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let mut path = database.as_os_str().to_owned();
        path.push(suffix);
        let path = Path::new(&path);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// What SQLite says differently.
pub(crate) mod dialect {
    use sqlx::{Pool, QueryBuilder, Transaction};

    use super::Db;
    use crate::store::{ListItem, Result, WriteLock, like_pattern};

    /// Whether several processes may share the database.
    pub const SHARED: bool = false;
    /// What holds every writer of instances off until the transaction ends (SQLite's write
    /// transaction already does).
    pub const HOLD_INSTANCE_WRITERS: Option<&str> = None;
    /// A join SQLite must drive from its left side (a bound list, or the few rows an index
    /// gives) through the right side's key.
    pub const JOIN_FROM_LIST: &str = "CROSS JOIN";

    /// How a recursive query stops after `param` rows: SQLite stops the recursion itself when its
    /// recursive step carries the LIMIT: (inside the recursion, on the outer read).
    pub fn recursion_limit(param: &str) -> (String, String) {
        (format!("LIMIT {param}"), String::new())
    }

    /// The ids of the nodes whose name contains `text` (case-insensitively), as a subquery:
    /// through the trigram index of `node_names` when the text has the three characters a
    /// trigram needs, else by reading the names (a table of nodes, not of instances).
    pub fn push_nodes_named(query: &mut QueryBuilder<Db>, text: &str) {
        if text.chars().count() >= 3 {
            let phrase = format!("\"{}\"", text.replace('"', "\"\""));
            query
                .push("(SELECT rowid FROM node_names WHERE node_names MATCH ")
                .push_bind(phrase)
                .push(")");
        } else {
            query
                .push("(SELECT id FROM nodes WHERE name LIKE ")
                .push_bind(like_pattern(text))
                .push(" ESCAPE '\\')");
        }
    }

    /// A bound JSON array as the table `j (value)`: what goes before and after its parameter.
    pub fn list_parts(_item: ListItem) -> (&'static str, &'static str) {
        ("json_each(", ") AS j")
    }

    /// Every write transaction holds the database's write lock from its start, so what it reads
    /// is still true when it writes.
    pub async fn begin(pool: &Pool<Db>, _lock: WriteLock<'_>) -> Result<Transaction<'static, Db>> {
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// A bound JSON array of `[id, attempt]` pairs as the table `p (id, attempt)`.
    pub fn pairs(param: &str) -> String {
        format!(
            "(SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS attempt \
             FROM json_each({param})) AS p"
        )
    }

    /// One process: nobody else to tell.
    pub async fn publish(_pool: &Pool<Db>, _message: &str) -> Result<()> {
        Ok(())
    }

    pub async fn subscribe(
        _pool: &Pool<Db>,
    ) -> Result<Option<futures_util::stream::BoxStream<'static, String>>> {
        Ok(None)
    }
}
