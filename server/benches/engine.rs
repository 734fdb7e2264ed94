//! Engine throughput: no-op (`true`) tasks through the real store, dispatcher and executor.
//! Prints the end-to-end time of a 40-task chain and of 1,000 tasks as 100 chains × 10, the
//! scheduler's overhead per task, and the process's peak RSS. Run: `cargo bench -p server`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{InstanceFilter, InstanceState};
use chrono::Utc;
use chrono_tz::Tz;
use server::definitions::{ApplyMode, By, DefinitionFile, apply};
use server::engine::clock::SystemClock;
use server::engine::snapshot::NightlySchedule;
use server::engine::{Engine, EngineConfig, EngineEvent};
use server::store::{Store, StoreOptions};
use tokio_util::sync::CancellationToken;

struct Run {
    total: Duration,
    in_commands: Duration,
    tasks: usize,
}

/// SQLite in `dir`, or a fresh schema of the PostgreSQL database `NIGHTSHIFT_BENCH_POSTGRES_URL`
/// names.
async fn database_url(dir: &Path) -> String {
    let Ok(base) = std::env::var("NIGHTSHIFT_BENCH_POSTGRES_URL") else {
        return format!("sqlite://{}", dir.join("bench.db").display());
    };
    use sqlx::{Connection, Executor};
    let schema = format!(
        "bench_{}_{}",
        std::process::id(),
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).await.unwrap();
    conn.close().await.unwrap();
    format!("{base}?options[search_path]={schema}")
}

async fn run_chains(dir: &Path, chains: usize, length: usize) -> Run {
    std::fs::create_dir_all(dir).unwrap();
    let url = database_url(dir).await;
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let mut toml = format!("[[resource_groups]]\nname = \"default\"\nslots = {}\n", chains.max(1));
    for c in 0..chains {
        for k in 0..length {
            let upstream = if k == 0 { String::new() } else { format!("\"c{c}_{}\"", k - 1) };
            toml.push_str(&format!(
                "[[nodes]]\nname = \"c{c}_{k}\"\ncommand = \"true\"\nschedule = \"0 0 * * *\"\nupstream = [{upstream}]\n"
            ));
        }
    }
    let file = DefinitionFile::parse("bench.toml", &toml).unwrap();
    apply(&store, file, ApplyMode::Upsert, By::System, Utc::now()).await.unwrap();
    let config = EngineConfig {
        data_dir: dir.to_path_buf(),
        host: "bench".into(),
        roles: server::engine::Roles::ALL,
        worker: server::engine::WorkerSetup::default(),
        tz: Tz::UTC,
        nightly: NightlySchedule {
            tz: Tz::UTC,
            at: chrono::NaiveTime::from_hms_opt(22, 30, 0).unwrap(),
        },
        kill_grace: Duration::from_secs(1),
        commands: Default::default(),
    };
    let engine = Engine::new(store.clone(), Arc::new(SystemClock), config);
    let cancel = CancellationToken::new();
    engine.start(cancel.clone()).await.unwrap();
    let tasks = chains * length;
    let mut events = engine.subscribe();
    let started = Instant::now();
    engine.snapshot(Utc::now().date_naive()).await.unwrap();
    let mut succeeded = 0;
    while succeeded < tasks {
        match events.recv().await {
            Ok(EngineEvent::AttemptFinished { state: Some(InstanceState::Success), .. }) => {
                succeeded += 1
            }
            Ok(EngineEvent::AttemptFinished { state, instance, .. })
                if state != Some(InstanceState::Success) =>
            {
                panic!("instance {instance} ended {state:?}")
            }
            Ok(_) => {}
            Err(_lagged) => {
                let stats = store.instance_stats(&InstanceFilter::default()).await.unwrap();
                succeeded = stats.success as usize;
            }
        }
    }
    let total = started.elapsed();
    let mut in_commands = Duration::ZERO;
    let mut page = app::model::PageRequest { limit: Some(500), cursor: None };
    loop {
        let before = page.before_id().unwrap();
        let list = store.list_instances(&InstanceFilter::default(), before, 500).await.unwrap();
        for i in &list.items {
            in_commands += (i.ended_at.unwrap() - i.started_at.unwrap()).to_std().unwrap();
        }
        match list.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => break,
        }
    }
    cancel.cancel();
    engine.wait_attempts_idle().await;
    store.close().await;
    Run { total, in_commands, tasks }
}

/// A fresh directory under `target/bench-data` (or `$NIGHTSHIFT_BENCH_DIR`). Runs are kept for
/// an hour rather than deleted at once: ext4 allocates new inodes slowly right after thousands
/// were deleted (it skips recently freed ones), which would make each run slow down the next.
fn bench_dir() -> PathBuf {
    let root = std::env::var_os("NIGHTSHIFT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data"));
    std::fs::create_dir_all(&root).unwrap();
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let old = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if old.is_some_and(|age| age > Duration::from_secs(3600)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let stamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    root.join(format!("run-{stamp}"))
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    // `NIGHTSHIFT_LOG=sqlx::query=debug` shows every statement the engine sends.
    if let Ok(filter) = std::env::var("NIGHTSHIFT_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // Warm up: first process spawns and SQLite file creation are slower.
        let base = bench_dir();
        run_chains(&base.join("warmup"), 1, 5).await;
        let backend = if std::env::var("NIGHTSHIFT_BENCH_POSTGRES_URL").is_ok() { "PostgreSQL" } else { "SQLite" };
        let chain = run_chains(&base.join("chain"), 1, 40).await;
        let wide = run_chains(&base.join("wide"), 100, 10).await;
        println!("nightshift engine benchmark (no-op `true` tasks, {backend}, {} cores)", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        for (name, run, target) in [("40 tasks in a chain", &chain, 0.2), ("1,000 tasks as 100 chains x 10", &wide, 1.0)] {
            let per_task = run.total.as_secs_f64() * 1000.0 / run.tasks as f64;
            println!(
                "{name:<32} end-to-end {:>7.3} s (target <= {target} s)   {per_task:.2} ms/task",
                run.total.as_secs_f64()
            );
        }
        let chain_overhead = (chain.total.saturating_sub(chain.in_commands)).as_secs_f64() * 1000.0 / chain.tasks as f64;
        let chain_command = chain.in_commands.as_secs_f64() * 1000.0 / chain.tasks as f64;
        println!(
            "chain: scheduler overhead {chain_overhead:.2} ms/task between tasks, {chain_command:.2} ms/task inside the attempt (spawn, run, record)"
        );
        println!("peak RSS of the process: {:.1} MiB (target <= 100 MiB)", peak_rss_mib());
    });
}
