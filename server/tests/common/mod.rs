//! Test harness: a real engine on a temporary SQLite file, real child processes, and a way to
//! wait for a condition (with a deadline) instead of sleeping.
#![allow(dead_code)]

pub mod http;

use std::net::SocketAddr;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use app::model::{Instance, InstanceFilter, InstanceState};
use app::people::{NewUser, Role};
use chrono::NaiveDate;
use chrono_tz::Tz;
use clap::Parser;
use server::auth::{Auth, AuthConfig, Identity};
use server::definitions::DefinitionFile;
use server::definitions::{ApplyMode, By, apply};
use server::engine::clock::{ManualClock, SharedClock, SystemClock};
use server::engine::snapshot::NightlySchedule;
use server::engine::{Engine, EngineConfig};
use server::serve::Server;
use server::service::{Core, Service};
use server::store::{Store, StoreOptions};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

pub struct Harness {
    pub dir: TempDir,
    pub engine: Engine,
    pub manual: Option<Arc<ManualClock>>,
    cancel: CancellationToken,
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Which database the tests run on: PostgreSQL when `NIGHTSHIFT_TEST_BACKEND=postgres` (with
/// `NIGHTSHIFT_TEST_POSTGRES_URL`, a scratch database scripts/test.sh makes), else SQLite.
pub fn on_postgres() -> bool {
    std::env::var("NIGHTSHIFT_TEST_BACKEND").as_deref() == Ok("postgres")
}

/// The database of the test whose data directory is `dir`: its own SQLite file, or its own
/// schema of the scratch PostgreSQL database (made here; the run drops the whole database).
pub fn database_url(dir: &Path) -> String {
    // The server's errors on stderr while debugging a test: NIGHTSHIFT_TEST_LOG=error.
    if let Ok(filter) = std::env::var("NIGHTSHIFT_TEST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
    if !on_postgres() {
        return format!("sqlite://{}", dir.join("nightshift.db").display());
    }
    let base = std::env::var("NIGHTSHIFT_TEST_POSTGRES_URL")
        .expect("NIGHTSHIFT_TEST_BACKEND=postgres needs NIGHTSHIFT_TEST_POSTGRES_URL");
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&dir, &mut hasher);
    let schema = format!("t_{:016x}", std::hash::Hasher::finish(&hasher));
    let (admin, name) = (base.clone(), schema.clone());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            use sqlx::{Connection, Executor};
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("PostgreSQL answers");
            conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {name}")))
                .await
                .unwrap();
            conn.close().await.unwrap();
        })
    })
    .join()
    .unwrap();
    format!("{base}?options[search_path]={schema}")
}

/// Connections per store in a test: tests run side by side, and PostgreSQL serves 100 in all.
pub const TEST_CONNECTIONS: u32 = 4;

pub async fn open_store(dir: &TempDir) -> Store {
    let options = StoreOptions {
        max_connections: TEST_CONNECTIONS,
        ..StoreOptions::new(database_url(dir.path()))
    };
    Store::open(&options).await.unwrap()
}

pub fn engine_config(dir: &TempDir) -> EngineConfig {
    EngineConfig {
        data_dir: dir.path().to_path_buf(),
        host: "test-host".into(),
        roles: server::engine::Roles::ALL,
        worker: server::engine::WorkerSetup::default(),
        tz: Tz::UTC,
        nightly: NightlySchedule {
            tz: Tz::UTC,
            at: chrono::NaiveTime::from_hms_opt(22, 30, 0).unwrap(),
        },
        kill_grace: Duration::from_millis(500),
        commands: Default::default(),
    }
}

impl Harness {
    /// A started engine on the wall clock.
    pub async fn start() -> Harness {
        Harness::start_configured(Arc::new(SystemClock), None, |_| {}).await
    }

    /// A started engine on a manual clock set to `now`.
    pub async fn start_manual(now: &str) -> Harness {
        Harness::start_manual_configured(now, |_| {}).await
    }

    /// A started engine on a manual clock set to `now`, its configuration changed first (e.g.
    /// the worker's `--worker-slots`).
    pub async fn start_manual_configured(
        now: &str,
        configure: impl FnOnce(&mut EngineConfig),
    ) -> Harness {
        let manual = ManualClock::new(now.parse().unwrap());
        Harness::start_configured(manual.clone(), Some(manual), configure).await
    }

    async fn start_configured(
        clock: SharedClock,
        manual: Option<Arc<ManualClock>>,
        configure: impl FnOnce(&mut EngineConfig),
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(&dir).await;
        let mut config = engine_config(&dir);
        configure(&mut config);
        let engine = Engine::new(store, clock, config);
        let cancel = CancellationToken::new();
        engine.start(cancel.clone()).await.unwrap();
        Harness { dir, engine, manual, cancel }
    }

    pub fn store(&self) -> &Store {
        self.engine.store()
    }

    /// The use cases, asked by `actor` (as if with an API token).
    pub fn service(&self, actor: app::people::Actor) -> Service {
        let auth =
            Auth::new(self.store().clone(), self.engine.clock().clone(), AuthConfig::default());
        let core =
            Core { engine: self.engine.clone(), auth, demo: false, limits: Default::default() };
        Service::new(core, Identity::Token { actor, user_id: 0, token_id: 0 })
    }

    /// The use cases, asked by an administrator.
    pub fn admin(&self) -> Service {
        self.service(admin())
    }

    pub fn clock(&self) -> &ManualClock {
        self.manual.as_deref().expect("a manual clock")
    }

    /// A scratch file path for commands to write to.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Applies a workflow-as-code TOML text.
    pub async fn define(&self, toml: &str) {
        let file = DefinitionFile::parse("test.toml", toml).unwrap();
        apply(self.store(), file, ApplyMode::Upsert, By::System, self.engine.clock().now())
            .await
            .unwrap();
    }

    pub async fn snapshot(&self, run_date: &str) -> u64 {
        self.engine.snapshot(date(run_date)).await.unwrap()
    }

    /// Every instance of a node (exact name), oldest first.
    pub async fn instances_of(&self, node: &str) -> Vec<Instance> {
        let filter = InstanceFilter { node: Some(node.to_string()), ..Default::default() };
        let mut items: Vec<Instance> = self
            .store()
            .list_instances(&filter, None, 500)
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|i| i.node == node)
            .collect();
        items.reverse();
        items
    }

    pub async fn instance(&self, node: &str) -> Instance {
        let mut all = self.instances_of(node).await;
        assert_eq!(all.len(), 1, "expected one instance of {node}");
        all.remove(0)
    }

    /// Waits (up to 20 s) until the node's single instance satisfies `check`.
    pub async fn wait_for(
        &self,
        node: &str,
        what: &str,
        check: impl Fn(&Instance) -> bool,
    ) -> Instance {
        eventually(&format!("{node} {what}"), async || {
            let instance = self.instance(node).await;
            check(&instance).then_some(instance)
        })
        .await
    }

    /// The instances of a test or backfill job, newest first.
    pub async fn job_instances(&self, job: i64) -> Vec<Instance> {
        let filter = InstanceFilter { job: Some(job), ..Default::default() };
        self.store().list_instances(&filter, None, 500).await.unwrap().items
    }

    /// Waits (up to 20 s) until every instance of the job succeeded.
    pub async fn all_succeed(&self, job: i64) -> Vec<Instance> {
        eventually("every instance of the job succeeded", async || {
            let all = self.job_instances(job).await;
            all.iter().all(|i| i.state == InstanceState::Success).then_some(all)
        })
        .await
    }

    pub async fn wait_state(&self, node: &str, state: InstanceState) -> Instance {
        self.wait_for(node, state.as_str(), |i| i.state == state).await
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        self.engine.wait_attempts_idle().await;
    }
}

/// Runs `sql` on a test's database directly, past the store (the database `url` names).
pub async fn run_sql(url: &str, sql: &'static str) {
    if on_postgres() {
        let db = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&db).await.unwrap();
        db.close().await;
    } else {
        let db = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(sql).execute(&db).await.unwrap();
        db.close().await;
    }
}

/// Re-checks a condition until it holds, failing the test after 20 seconds.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A command that waits until `path` exists (a gate the test opens), giving up after a minute
/// so that a failed test leaves nothing running.
pub fn wait_for_file(path: &std::path::Path) -> String {
    format!(
        "i=0; while [ ! -f {} ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done",
        path.display()
    )
}

/// The password of the `admin` account every live test server starts with.
pub const ADMIN_PASSWORD: &str = "admin-password";

/// Adds an account to a live server (straight through the people service).
pub async fn add_user(server: &Server, name: &str, password: &str, role: Role) {
    let new = NewUser { name: name.into(), password: password.into(), role };
    server.auth.create_user(&new).await.unwrap();
}

/// A real server (store, engine, REST API, pages) on an ephemeral port of a temporary data
/// directory, with no account yet; `extra` are more command-line flags.
pub async fn start_server(clock: SharedClock, extra: &[&str]) -> (Server, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (start_server_in(&dir, clock, extra).await, dir)
}

/// [`start_server`] on the data directory (and database) of an earlier one: a restart.
pub async fn start_server_in(dir: &TempDir, clock: SharedClock, extra: &[&str]) -> Server {
    let url = database_url(dir.path());
    let mut args = vec![
        "nightshift",
        "--listen",
        "127.0.0.1:0",
        "--site-root",
        "/nonexistent",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--database-url",
        &url,
        "--db-max-connections",
        "4",
    ];
    args.extend_from_slice(extra);
    let cli = server::config::Cli::parse_from(args);
    Server::start(&cli.serve, clock).await.unwrap()
}

/// [`start_server`] with an administrator `admin`, and an API client signed in as them.
pub async fn live_server(clock: SharedClock, extra: &[&str]) -> (Server, TempDir, http::Api) {
    let (server, dir) = start_server(clock, extra).await;
    add_user(&server, "admin", ADMIN_PASSWORD, Role::Admin).await;
    let api = http::Api::token(server.addr, "admin", ADMIN_PASSWORD).await;
    (server, dir, api)
}

/// A client of a live server signed in as `name` with a session.
pub async fn session(addr: SocketAddr, name: &str, password: &str) -> http::Api {
    http::Api::session(addr, name, password).await
}

/// An administrator acting straight on the engine.
pub fn admin() -> app::people::Actor {
    app::people::Actor { name: "root".into(), role: Role::Admin }
}

/// A node of alice's in TOML, planned daily at 01:00 unless `extra` gives another schedule.
pub fn node(name: &str, command: &str, extra: &str) -> String {
    let schedule = if extra.contains("schedule") { "" } else { "schedule = \"0 1 * * *\"\n" };
    format!(
        "[[nodes]]\nname = \"{name}\"\nowner = \"alice\"\n{schedule}command = '''{command}'''\n{extra}\n"
    )
}

/// The address a server started as a process listens on, read from its output (the line
/// "Nightshift is serving http://…").
pub fn wait_for_address(log: &std::path::Path) -> SocketAddr {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(rest) = text.split("serving http://").nth(1) {
            return rest.split_whitespace().next().unwrap().parse().unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "the server did not start: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
