//! Starting and stopping a whole server: store, engine, HTTP. Used by `main` and by tests that
//! want a real server on an ephemeral port.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::{Auth, AuthConfig};
use crate::config::ServeArgs;
use crate::engine::clock::SharedClock;
use crate::engine::sandbox::{CommandSetup, RunAs, private_dir};
use crate::engine::snapshot::NightlySchedule;
use crate::engine::{Engine, EngineConfig, WorkerSetup};
use crate::http::guard::AllowedHosts;
use crate::service::Core;
use crate::store::{Store, StoreError};

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the demo project could not be loaded: {0}")]
    Demo(app::error::AppError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: std::net::SocketAddr, source: std::io::Error },
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub engine: Engine,
    pub auth: Auth,
    cancel: CancellationToken,
    tasks: TaskTracker,
    on_shutdown: crate::config::OnShutdown,
}

pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".to_string())
}

pub fn auth_config(args: &ServeArgs) -> AuthConfig {
    AuthConfig {
        session_idle: chrono::Duration::minutes(args.session_idle_mins.into()),
        secure_cookies: args.secure_cookies,
        max_token_days: args.max_token_days,
        ..AuthConfig::default()
    }
}

pub fn engine_config(args: &ServeArgs) -> Result<EngineConfig, StartError> {
    let run_as = match &args.run_as {
        Some(name) => Some(RunAs::lookup(name).map_err(StartError::Config)?),
        None => None,
    };
    let roles = args.roles();
    if !roles.worker && (!args.resource_groups.is_empty() || args.worker_slots.is_some()) {
        return Err(StartError::Config(
            "--resource-groups and --worker-slots are for workers (--role worker)".into(),
        ));
    }
    let name = args
        .worker_name
        .clone()
        .unwrap_or_else(|| format!("{}:{}", host_name(), std::process::id()));
    if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(StartError::Config(
            "--worker-name must be 1 to 200 printable characters".into(),
        ));
    }
    Ok(EngineConfig {
        data_dir: args.common.data_dir.clone(),
        host: name,
        roles,
        worker: WorkerSetup {
            groups: (!args.resource_groups.is_empty()).then(|| args.resource_groups.clone()),
            slots: args.worker_slots,
            lease: Duration::from_secs(args.lease_secs.into()),
        },
        tz: args.common.timezone,
        nightly: NightlySchedule { tz: args.common.timezone, at: args.snapshot_at },
        kill_grace: Duration::from_secs(args.kill_grace_secs),
        commands: CommandSetup { run_as, variables: args.command_env.clone() },
    })
}

/// Refuses what cannot work: several roles apart on a database of one process (SQLite), a
/// worker for resource groups that do not exist.
async fn check_roles(store: &Store, config: &EngineConfig) -> Result<(), StartError> {
    if config.roles != crate::engine::Roles::ALL && !store.is_shared() {
        return Err(StartError::Config(
            "SQLite serves one process: use --role all (the default), or a shared database              (--database-url postgres://…) for separate api, scheduler and worker processes"
                .into(),
        ));
    }
    if let Some(groups) = &config.worker.groups {
        let known: Vec<String> =
            store.resource_groups().await?.into_iter().map(|g| g.name).collect();
        let unknown: Vec<&str> =
            groups.iter().filter(|g| !known.contains(g)).map(String::as_str).collect();
        if !unknown.is_empty() {
            return Err(StartError::Config(format!(
                "--resource-groups names groups that do not exist: {} (known: {})",
                unknown.join(", "),
                known.join(", ")
            )));
        }
    }
    Ok(())
}

impl Server {
    /// Opens the store, recovers, loads the demo if asked, starts the engine and listens.
    pub async fn start(args: &ServeArgs, clock: SharedClock) -> Result<Server, StartError> {
        private_dir(&args.common.data_dir).map_err(|source| StartError::DataDir {
            path: args.common.data_dir.display().to_string(),
            source,
        })?;
        let config = engine_config(args)?;
        let store = Store::open(&args.common.store_options()).await?;
        check_roles(&store, &config).await?;
        let engine = Engine::new(store, clock, config);
        let cancel = CancellationToken::new();
        let tasks = engine.start(cancel.clone()).await?;
        let auth = Auth::new(engine.store().clone(), engine.clock().clone(), auth_config(args));
        if args.demo {
            crate::demo::load(&engine).await.map_err(StartError::Demo)?;
            auth.ensure_demo_accounts().await.map_err(StartError::Demo)?;
        }
        let (addr, http) = if engine.config().roles.api {
            serve_http(args, &engine, &auth, cancel.clone()).await?
        } else {
            let http = TaskTracker::new();
            http.close();
            (args.listen, http)
        };
        let watch = TaskTracker::new();
        if engine.config().roles.scheduler {
            // Links to an address nobody can open: 0.0.0.0, or a process that does not listen.
            let unreachable = addr.ip().is_unspecified() || !engine.config().roles.api;
            if args.public_url.is_none() && unreachable {
                tracing::warn!(
                    "alert links start with http://{addr}: set --public-url to the address \
                     people open the UI at"
                );
            }
            let watcher = crate::alerts::Watcher::new(&engine, &args.alert_config(addr))
                .map_err(StartError::Config)?;
            watch.spawn(watcher.run(cancel.clone()));
        }
        watch.spawn(crate::retention::run(engine.clone(), args.retention(), cancel.clone()));
        watch.close();
        tracing::info!(
            name = %engine.config().host,
            roles = %engine.config().roles.names(),
            "nightshift is running"
        );
        let all = TaskTracker::new();
        all.spawn(async move {
            tasks.wait().await;
            http.wait().await;
            watch.wait().await;
        });
        all.close();
        Ok(Server { addr, engine, auth, cancel, tasks: all, on_shutdown: args.on_shutdown })
    }

    /// Stops accepting work and waits for the HTTP server and the engine loops to end. Running
    /// commands keep running for the next start to adopt, unless `--on-shutdown stop`.
    pub async fn stop(self) {
        self.cancel.cancel();
        self.tasks.wait().await;
        if self.on_shutdown == crate::config::OnShutdown::Stop {
            self.engine.stop_all_attempts().await;
        }
        // A worker that leaves commands running stays registered: its lease lapses unless it
        // comes back (under the same name) in time to adopt them.
        if self.engine.running().is_empty() {
            self.engine.unregister().await;
        }
        self.engine.store().close().await;
    }

    /// Runs until SIGTERM or Ctrl-C (listened to from before the start, see [`Signals`]).
    pub async fn wait_for_signal(self, mut signals: Signals) {
        tokio::select! {
            _ = signals.interrupt.recv() => {}
            _ = signals.terminate.recv() => {}
        }
        tracing::info!("shutting down");
        self.stop().await;
    }
}

/// The UI and the REST API on `args.listen` (an `api` process).
async fn serve_http(
    args: &ServeArgs,
    engine: &Engine,
    auth: &Auth,
    cancel: CancellationToken,
) -> Result<(SocketAddr, TaskTracker), StartError> {
    let listen = |source| StartError::Listen { address: args.listen, source };
    let listener = TcpListener::bind(args.listen).await.map_err(listen)?;
    let addr = listener.local_addr().map_err(listen)?;
    let options = crate::web::leptos_options(&args.site_root, addr);
    let core =
        Core { engine: engine.clone(), auth: auth.clone(), demo: args.demo, limits: args.limits() };
    let metrics = crate::metrics::Metrics::new(engine.clone(), args.metrics_public);
    let http = TaskTracker::new();
    http.spawn(metrics.clone().listen(cancel.clone()));
    let scrape = axum::Router::new()
        .route("/metrics", axum::routing::get(crate::metrics::serve))
        .with_state(metrics.clone());
    let app = axum::Router::new()
        .nest("/api/v1", crate::http::router(core.clone()))
        .merge(scrape)
        .merge(crate::web::router(core, options))
        .layer(axum::middleware::from_fn_with_state(metrics, crate::metrics::time_requests))
        .layer(axum::middleware::from_fn_with_state(auth.clone(), crate::http::language::language))
        .layer(axum::middleware::from_fn_with_state(auth.clone(), crate::http::auth::authenticate))
        .layer(axum::middleware::from_fn(crate::http::guard::secure_response))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(AllowedHosts::new(addr, &args.allowed_hosts)),
            crate::http::guard::check_request,
        ))
        .into_make_service_with_connect_info::<SocketAddr>();
    let shutdown = cancel.clone();
    http.spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            shutdown.cancelled().await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    http.close();
    tracing::info!(%addr, "nightshift is listening");
    Ok((addr, http))
}

/// SIGTERM and SIGINT, caught from before the server starts: one that arrives while it starts
/// (its commands may already run) still gets the orderly shutdown, not the default death.
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn catch() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }
}
