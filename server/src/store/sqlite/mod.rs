//! The SQLite store, the embedded default: WAL mode, one writer connection (the "one writer
//! path": writes queue in the pool instead of fighting over the lock), a few reader
//! connections, and sqlx's per-connection prepared-statement cache. States and run types are
//! bound as typed values (`sqlx::Type`), timestamps are integer milliseconds.

mod audit;
mod definitions;
mod instances;
mod jobs;
mod operations;
mod people;
mod rows;
mod scheduling;
mod snapshots;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use super::{Database, Result, StoreError, StoreOptions};
use app::model::InstanceId;

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    /// Opens (or creates) the database file and brings its schema up to date.
    pub async fn open(options: &StoreOptions) -> Result<SqliteStore> {
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
                    format!("cannot create the database directory {}: {e}", parent.display())
                        .into(),
                ))
            })?;
        }
        let write =
            SqlitePoolOptions::new().max_connections(1).connect_with(connect.clone()).await?;
        sqlx::migrate!("../migrations/sqlite").run(&write).await?;
        private_files(connect.get_filename()).map_err(|e| {
            StoreError::Db(sqlx::Error::Configuration(
                format!("cannot make the database private: {e}").into(),
            ))
        })?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(connect.read_only(true))
            .await?;
        Ok(SqliteStore { read, write })
    }
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

#[async_trait::async_trait]
impl Database for SqliteStore {
    async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Rows per multi-row statement (well under SQLite's bound-parameter limit).
const CHUNK: usize = 400;

/// A list of ids as one bound JSON array, for `IN (SELECT value FROM json_each(?))`.
fn json_ids(ids: &[InstanceId]) -> String {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    serde_json::to_string(&ids).expect("numbers serialize")
}

/// ` IN (SELECT value FROM json_each(?))` with the ids bound as one JSON array: one statement
/// text for any number of ids, so the prepared-statement cache keeps it.
fn push_ids(query: &mut QueryBuilder<Sqlite>, ids: &[InstanceId]) {
    query.push(" IN (SELECT value FROM json_each(").push_bind(json_ids(ids)).push("))");
}

/// ` IN (?, ?, …)` with each value bound as itself (for short lists of few shapes: states).
fn push_in<T>(query: &mut QueryBuilder<Sqlite>, values: impl IntoIterator<Item = T>)
where
    T: for<'t> sqlx::Encode<'t, Sqlite> + sqlx::Type<Sqlite>,
{
    query.push(" IN (");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    list.push_unseparated(")");
}
