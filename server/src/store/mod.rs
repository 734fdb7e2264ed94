//! All persistence goes through [`Store`]: a handle to one database behind a small set of traits
//! that speak the domain (typed ids, typed states, records such as [`Target`] and [`Claim`]) and
//! carry no policy. What may happen, and what a change means, is decided by the caller (the
//! service, the engine, `app::rules`); the store reads, writes guarded updates and reports what
//! happened. One implementation, `sql/`, written once and compiled for each database:
//! [`sqlite`] (the embedded default) and [`postgres`] (several processes on one database).
//!
//! Every state change is a guarded update (`... WHERE state IN (...)`) and reports whether it
//! happened, so a person and the dispatcher racing on one instance end in one consistent state.
//! Work that must see and change the database atomically is a unit of work (a transaction
//! object: [`OperationTx`], [`DefinitionTx`], [`ClaimTx`]) that the caller drives and commits.

pub mod alerts;
mod audit;
pub mod counts;
mod definitions;
mod instances;
mod jobs;
mod operations;
mod people;
pub mod postgres;
pub mod retention;
mod scheduling;
mod snapshots;
pub mod sqlite;
pub mod workers;

use std::ops::Deref;
use std::sync::Arc;

use app::error::AppError;
use app::reason::{Reason, Thing};
use chrono::{DateTime, Utc};

pub use alerts::{AlertStore, AlertTx, WatchTx};
pub use audit::{AuditEntry, AuditStore};
pub use counts::{CountMismatch, CountStore};
pub use definitions::WorkflowGraph;
pub use definitions::{DefinitionStore, DefinitionTx, LiveGraph, NodeListFilter};
pub use instances::Flow;
pub use instances::{InstanceStore, WaitFacts};
pub use jobs::{JobStore, NewJob};
pub use operations::Guard;
pub use operations::{OperationStore, OperationTx, Target, Transition};
pub use people::{PeopleStore, SessionRecord, TokenRecord, UserUpdate};
pub use scheduling::{
    AfterAttempt, Claim, ClaimTx, Finish, FinishedAttempt, GroupLoad, NewAttempt, OpenAttempt,
    Outcome, Queued, RetryPolicy, SchedulingStore, StartedProcess,
};
pub use snapshots::{
    DayBatch, DayInstance, EarlierInstance, Gate, NewInstance, SnapshotNode, SnapshotStore,
};
pub use workers::{LapsedAttempt, WorkerRecord, WorkerStore};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in the store. Callers map these to HTTP by variant, never by message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique name is taken (a node, a user).
    #[error("{what} '{name}' already exists")]
    Taken { what: &'static str, name: String },
    /// The thing a change names does not exist.
    #[error("no {what} '{name}'")]
    Missing { what: &'static str, name: String },
    #[error("the database URL names no supported database (use sqlite://… or postgres://…)")]
    UnsupportedUrl,
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the database could not be reached (down, restarting, the network between): the
    /// same work may succeed later, unlike a refused or malformed statement.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(error) => match error {
                sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => true,
                // Connection exceptions (class 08) and the server shutting down or starting.
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
                }),
                _ => false,
            },
            _ => false,
        }
    }
}

/// The thing a store error names.
fn thing(what: &str) -> Thing {
    match what {
        "node" => Thing::Node,
        "user" => Thing::User,
        "resource group" => Thing::ResourceGroup,
        "instance" => Thing::Instance,
        "baseline" => Thing::Baseline,
        "alert rule" => Thing::AlertRule,
        _ => Thing::Node,
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Taken { what, name } => {
                AppError::because(Reason::Taken { thing: thing(what), name })
            }
            StoreError::Missing { what, name } => {
                AppError::because(Reason::NotFound { thing: thing(what), name })
            }
            other => {
                tracing::error!(error = %other, "store failure");
                AppError::internal("the database could not complete the request")
            }
        }
    }
}

/// Everything one database offers.
#[async_trait::async_trait]
pub trait Database:
    AlertStore
    + CountStore
    + retention::RetentionStore
    + DefinitionStore
    + InstanceStore
    + SchedulingStore
    + OperationStore
    + SnapshotStore
    + JobStore
    + PeopleStore
    + AuditStore
    + WorkerStore
    + Send
    + Sync
{
    /// Closes the connections (the end of a server or a test).
    async fn close(&self);

    /// Asks the database something trivial: whether it answers.
    async fn ping(&self) -> Result<()>;

    /// Whether several processes may share this database.
    fn is_shared(&self) -> bool;
}

/// How the database is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path/to/file.db` (created if missing) or `postgres://user:password@host/db`.
    pub url: String,
    /// `FULL` fsyncs every commit (survives power loss); `NORMAL` survives process crashes and
    /// is several times faster.
    pub synchronous_full: bool,
    /// PostgreSQL: the most connections this process opens.
    pub max_connections: u32,
}

impl StoreOptions {
    /// The options for `url` with the defaults.
    pub fn new(url: impl Into<String>) -> StoreOptions {
        StoreOptions { url: url.into(), synchronous_full: false, max_connections: 10 }
    }
}

/// `%text%` with LIKE's wildcards escaped (`ESCAPE '\'`).
pub(crate) fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// What a bound list holds (see `sql::list`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ListItem {
    Id,
    Text,
}

/// What a write transaction locks for its whole length, beyond the rows it updates. SQLite
/// has one writer, so every write transaction holds the whole database; PostgreSQL takes the
/// named lock (see `store/postgres.rs`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum WriteLock<'a> {
    /// Changes of instances' states that may promote their downstream.
    Instances,
    /// A change of definitions (validated against the graph it writes to).
    Definitions,
    /// Claiming slots of one resource group.
    Group(&'a str),
    /// Changing alert rules, firing alerts, recording deliveries.
    Alerts,
}

/// A cheap handle to the database (clone it freely).
#[derive(Clone)]
pub struct Store(Arc<dyn Database>);

impl Store {
    /// Opens (or creates) the database the URL names and brings its schema up to date.
    pub async fn open(options: &StoreOptions) -> Result<Store> {
        if options.url.starts_with("sqlite:") {
            Ok(Store(Arc::new(sqlite::SqliteStore::open(options).await?)))
        } else if options.url.starts_with("postgres:") || options.url.starts_with("postgresql:") {
            Ok(Store(Arc::new(postgres::PostgresStore::open(options).await?)))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

impl Deref for Store {
    type Target = dyn Database;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// Milliseconds since the epoch, the unit of every timestamp column.
pub(crate) fn to_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
