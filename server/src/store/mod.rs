//! All persistence goes through [`Store`]: a narrow, domain-level interface (no SQL leaves this
//! module). SQLite is the embedded backend: WAL mode, one writer connection (the "one writer
//! path": writes queue in the pool instead of fighting over the lock), a few reader connections,
//! and sqlx's per-connection prepared-statement cache.
//!
//! Every state change is a guarded update (`... WHERE state IN (...)`) and reports whether it
//! happened, so a person and the dispatcher racing on one instance end in one consistent state.

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

use app::error::AppError;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use audit::AccountEvent;
pub use definitions::{ApplyMode, DefinitionGraph, NodeListFilter, UpsertReport};
pub use instances::WaitFacts;
pub use jobs::NewJob;
pub use operations::{AuditEntry, OperationTx, Target, Transition};
pub use people::{SessionRecord, TokenRecord, UserUpdate};
pub use scheduling::{
    Claim, Finish, FinishedAttempt, FreeSlots, OpenAttempt, Outcome, RetryPolicy, StartedProcess,
};
pub use snapshots::{DayBatch, NewInstance, SnapshotNode};

use crate::definitions::DefinitionError;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Definition(e @ DefinitionError::StillNeeded { .. }) => {
                AppError::conflict(e.to_string())
            }
            StoreError::Definition(e) => {
                let error = AppError::bad_request(e.to_string());
                match e.field() {
                    Some(field) => error.on_field(field),
                    None => error,
                }
            }
            StoreError::Invalid(m) => AppError::bad_request(m),
            StoreError::NotFound(m) => AppError::not_found(m),
            StoreError::Conflict(m) if m.starts_with("node '") && m.ends_with("already exists") => {
                AppError::conflict(m).on_field("name")
            }
            StoreError::Conflict(m) => AppError::conflict(m),
            other => {
                tracing::error!(error = %other, "store failure");
                AppError::internal("the database could not complete the request")
            }
        }
    }
}

/// How the database is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path/to/file.db` (created if missing).
    pub url: String,
    /// `FULL` fsyncs every commit (survives power loss); `NORMAL` survives process crashes and
    /// is several times faster.
    pub synchronous_full: bool,
}

#[derive(Clone)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
}

impl Store {
    /// Opens (or creates) the database and brings its schema up to date.
    pub async fn open(options: &StoreOptions) -> Result<Store> {
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
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(connect.read_only(true))
            .await?;
        Ok(Store { read, write })
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Milliseconds since the epoch, the unit of every timestamp column.
pub(crate) fn to_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
