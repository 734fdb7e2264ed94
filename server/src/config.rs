//! Command line and environment: every setting is a flag with a `NIGHTSHIFT_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveTime;
use chrono_tz::Tz;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "nightshift", version, about = "Workflow scheduler and operations center")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no subcommand, `nightshift` serves.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the scheduler and the web UI (the default).
    Serve(Box<ServeArgs>),
    /// Upsert definitions from a workflow-as-code TOML file or a directory of them.
    Import(ImportArgs),
    /// Generate the cycle instances of one run date now (idempotent).
    Snapshot(SnapshotArgs),
    /// Manage people: `user add --name NAME --role admin`, `user list`.
    #[command(subcommand)]
    User(UserCommand),
    /// Compare the maintained instance counts behind the statistics with a fresh count of the
    /// instances; exits 1 when they differ. `--repair` recomputes them.
    CheckCounts(CheckCountsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CheckCountsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Recompute the counts from the instances when they differ (writers wait meanwhile).
    #[arg(long)]
    pub repair: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account. The password comes from NIGHTSHIFT_PASSWORD, else a prompt (or the
    /// first line of standard input when it is not a terminal).
    Add(UserAddArgs),
    /// List the accounts with their roles.
    List(UserListArgs),
}

#[derive(Debug, Clone, Args)]
pub struct UserAddArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The user name (lower-case letters, digits, '_', '-', '.'); node owners are matched to it.
    #[arg(long)]
    pub name: String,
    /// admin, developer or viewer.
    #[arg(long, value_parser = parse_role)]
    pub role: app::people::Role,
}

#[derive(Debug, Clone, Args)]
pub struct UserListArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Where logs (and, by default, the database) live.
    #[arg(long, env = "NIGHTSHIFT_DATA_DIR", default_value = "nightshift-data")]
    pub data_dir: PathBuf,
    /// `sqlite://path/file.db` (default `<data-dir>/nightshift.db`), or
    /// `postgres://user:password@host:port/database` to share one database between processes.
    #[arg(long, env = "NIGHTSHIFT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The project time zone: schedules, the nightly snapshot and `${cyctime}` use it.
    #[arg(long, env = "NIGHTSHIFT_TIMEZONE", default_value = "UTC")]
    pub timezone: Tz,
    /// Fsync every commit (survives power loss, slower).
    #[arg(long, env = "NIGHTSHIFT_SYNC_FULL")]
    pub sync_full: bool,
    /// PostgreSQL: the most connections this process opens.
    #[arg(long, env = "NIGHTSHIFT_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,
}

impl CommonArgs {
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", self.data_dir.join("nightshift.db").display())
        })
    }

    pub fn store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            url: self.database_url(),
            synchronous_full: self.sync_full,
            max_connections: self.db_max_connections,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address to listen on.
    #[arg(long, env = "NIGHTSHIFT_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Load the demo project and generate its instances.
    #[arg(long, env = "NIGHTSHIFT_DEMO")]
    pub demo: bool,
    /// The built site (pkg/nightshift.js, .wasm, .css).
    #[arg(long, env = "NIGHTSHIFT_SITE_ROOT", default_value = default_site_root())]
    pub site_root: String,
    /// Local time of the nightly snapshot (HH:MM).
    #[arg(long, env = "NIGHTSHIFT_SNAPSHOT_AT", default_value = "22:30", value_parser = parse_hhmm)]
    pub snapshot_at: NaiveTime,
    /// Minutes after which an unused session ends (every session ends 7 days after its login).
    #[arg(long, env = "NIGHTSHIFT_SESSION_IDLE_MINS", default_value_t = 720)]
    pub session_idle_mins: u32,
    /// Mark cookies `Secure` (only sent over HTTPS): set it behind a TLS proxy.
    #[arg(long, env = "NIGHTSHIFT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Seconds between SIGTERM and SIGKILL when a command is stopped.
    #[arg(long, env = "NIGHTSHIFT_KILL_GRACE_SECS", default_value_t = 5)]
    pub kill_grace_secs: u64,
    /// Run commands as this (unprivileged) OS user; the server must run as root.
    #[arg(long, env = "NIGHTSHIFT_RUN_AS")]
    pub run_as: Option<String>,
    /// A variable every command gets (`NAME=VALUE`; repeat it, or `;`-separate them in the
    /// environment variable). Commands get nothing else of the server's environment.
    #[arg(long, env = "NIGHTSHIFT_COMMAND_ENV", value_delimiter = ';', value_parser = parse_variable)]
    pub command_env: Vec<(String, String)>,
    /// Host names (with or without port) the server answers besides localhost and the listen
    /// address; comma-separated.
    #[arg(long, env = "NIGHTSHIFT_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// The most instances one backfill or test run may create.
    #[arg(long, env = "NIGHTSHIFT_MAX_BACKFILL_INSTANCES", default_value_t = 50_000)]
    pub max_backfill_instances: u64,
    /// The shortest interval, in minutes, at which a node may fire.
    #[arg(long, env = "NIGHTSHIFT_MIN_SCHEDULE_MINUTES", default_value_t = 5)]
    pub min_schedule_minutes: u32,
    /// The most nodes one import (or change) may hold.
    #[arg(long, env = "NIGHTSHIFT_MAX_IMPORT_NODES", default_value_t = 10_000)]
    pub max_import_nodes: usize,
    /// The longest lifetime of an API token, in days (a token asked for without one gets it).
    #[arg(long, env = "NIGHTSHIFT_MAX_TOKEN_DAYS", default_value_t = 90)]
    pub max_token_days: u32,
    /// What SIGTERM does to running commands: `keep` leaves them running for the next start to
    /// adopt (an upgrade: stop, replace the binary, start), `stop` stops them and records them
    /// as failed.
    #[arg(long, env = "NIGHTSHIFT_ON_SHUTDOWN", value_enum, default_value_t = OnShutdown::Keep)]
    pub on_shutdown: OnShutdown,
    /// What this process does: `api` (the UI and REST), `scheduler` (the nightly snapshot,
    /// promotions, lapsed leases), `worker` (runs commands), or `all`; comma-separated
    /// combinations. Roles other than `all` need a shared (PostgreSQL) database.
    #[arg(long, env = "NIGHTSHIFT_ROLE", value_enum, value_delimiter = ',', default_value = "all")]
    pub role: Vec<Role>,
    /// This process's name, shown as the host of the instances it runs (default `host:pid`). A
    /// worker that comes back under the same name adopts the commands it left running.
    #[arg(long, env = "NIGHTSHIFT_WORKER_NAME")]
    pub worker_name: Option<String>,
    /// The resource groups this worker runs (comma-separated; default: all).
    #[arg(long, env = "NIGHTSHIFT_RESOURCE_GROUPS", value_delimiter = ',')]
    pub resource_groups: Vec<String>,
    /// The most commands this worker runs at once, whatever the groups' slots (default: no
    /// limit of its own).
    #[arg(long, env = "NIGHTSHIFT_WORKER_SLOTS")]
    pub worker_slots: Option<u32>,
    /// Seconds a worker's running attempts stay its own without a heartbeat (it beats every
    /// third of it); then a scheduler fails them with the reason and retries them per policy.
    #[arg(long, env = "NIGHTSHIFT_LEASE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(3..=86_400))]
    pub lease_secs: u32,
    /// The address people open the UI at (behind a proxy, its public address): the links in
    /// alerts start with it. Default: `http://` and the listen address.
    #[arg(long, env = "NIGHTSHIFT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The mail server alerts are sent through: `smtp://host:port` (add `?tls=required` for
    /// STARTTLS) or `smtps://host:port`. Without it, e-mail channels fail (webhooks work).
    #[arg(long, env = "NIGHTSHIFT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of alert e-mails.
    #[arg(long, env = "NIGHTSHIFT_SMTP_FROM", default_value = "nightshift@localhost")]
    pub smtp_from: String,
    /// The mail server's user name, if it asks for one.
    #[arg(long, env = "NIGHTSHIFT_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// The mail server's password (prefer the environment variable: a flag is visible to
    /// every user of the machine).
    #[arg(long, env = "NIGHTSHIFT_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// Serve `GET /metrics` without an API token (for a Prometheus on a trusted network).
    #[arg(long, env = "NIGHTSHIFT_METRICS_PUBLIC")]
    pub metrics_public: bool,
    /// Days instances (with their attempts and alerts) are kept after their run date; 0: forever.
    #[arg(long, env = "NIGHTSHIFT_KEEP_INSTANCES_DAYS", default_value_t = 90)]
    pub keep_instances_days: u32,
    /// Days attempt logs are kept after their run date (never longer than their instances);
    /// 0: as long as their instances.
    #[arg(long, env = "NIGHTSHIFT_KEEP_LOGS_DAYS", default_value_t = 30)]
    pub keep_logs_days: u32,
    /// Days audit entries are kept; 0: forever.
    #[arg(long, env = "NIGHTSHIFT_KEEP_AUDIT_DAYS", default_value_t = 365)]
    pub keep_audit_days: u32,
}

impl ServeArgs {
    /// How long things are kept (the retention job's settings).
    pub fn retention(&self) -> crate::retention::RetentionConfig {
        crate::retention::RetentionConfig {
            keep_instances_days: self.keep_instances_days,
            keep_logs_days: self.keep_logs_days,
            keep_audit_days: self.keep_audit_days,
            ..Default::default()
        }
    }

    /// The alert watcher's settings; `listen` is the address the server listens on.
    pub fn alert_config(&self, listen: SocketAddr) -> crate::alerts::AlertConfig {
        crate::alerts::AlertConfig {
            public_url: self.public_url.clone().unwrap_or_else(|| format!("http://{listen}")),
            smtp: self.smtp_url.as_ref().map(|url| crate::alerts::SmtpConfig {
                url: url.clone(),
                from: self.smtp_from.clone(),
                user: self.smtp_user.clone(),
                password: self.smtp_password.clone(),
            }),
        }
    }
}

/// What one `nightshift serve` process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    All,
    Api,
    Scheduler,
    Worker,
}

impl ServeArgs {
    /// The roles this process takes.
    pub fn roles(&self) -> crate::engine::Roles {
        let has = |role| self.role.contains(&Role::All) || self.role.contains(&role);
        crate::engine::Roles {
            api: has(Role::Api),
            scheduler: has(Role::Scheduler),
            worker: has(Role::Worker),
        }
    }
}

/// What a shutdown does to running commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnShutdown {
    Keep,
    Stop,
}

impl ServeArgs {
    pub fn limits(&self) -> crate::limits::Limits {
        crate::limits::Limits {
            max_job_instances: self.max_backfill_instances,
            min_schedule_minutes: self.min_schedule_minutes,
            max_import_nodes: self.max_import_nodes,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// A `.toml` file or a directory of them.
    pub path: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The run date (YYYY-MM-DD); its business date is the day before.
    #[arg(long, value_parser = parse_date)]
    pub run_date: chrono::NaiveDate,
}

fn default_site_root() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site")
}

fn parse_role(value: &str) -> Result<app::people::Role, String> {
    value.parse().map_err(|e: app::error::AppError| e.message)
}

fn parse_variable(value: &str) -> Result<(String, String), String> {
    let (name, value) =
        value.split_once('=').ok_or_else(|| format!("'{value}' is not NAME=VALUE"))?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid || value.contains('\0') {
        return Err(format!("'{name}' is not a variable name (letters, digits and '_')"));
    }
    Ok((name.to_string(), value.to_string()))
}

fn parse_hhmm(value: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(value, "%H:%M")
        .map_err(|_| format!("'{value}' is not a time of the form HH:MM"))
}

fn parse_date(value: &str) -> Result<chrono::NaiveDate, String> {
    app::model::parse_date("run date", value).map_err(|e| e.message)
}
