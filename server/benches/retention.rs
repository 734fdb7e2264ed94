//! The engine while retention purges a million old instances (issue 18): a 40-task chain of
//! no-op tasks, run before and during the purge, with the dispatch delay of each start (ready →
//! started) and the purge's own pace. SQLite by default; PostgreSQL with
//! `NIGHTSHIFT_BENCH_POSTGRES_URL`. Run: `cargo bench -p server --bench retention`
//! (`NIGHTSHIFT_BENCH_OLD` sets the number of old instances, default 1,000,000).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{InstanceFilter, InstanceState};
use chrono::{Days, Utc};
use chrono_tz::Tz;
use server::definitions::{ApplyMode, By, DefinitionFile, apply};
use server::engine::clock::SystemClock;
use server::engine::snapshot::NightlySchedule;
use server::engine::{Engine, EngineConfig, EngineEvent};
use server::retention::{self, Purged, RetentionConfig};
use server::store::{Store, StoreOptions};
use tokio_util::sync::CancellationToken;

const CHAIN: usize = 40;

async fn database_url(dir: &std::path::Path) -> String {
    let Ok(base) = std::env::var("NIGHTSHIFT_BENCH_POSTGRES_URL") else {
        return format!("sqlite://{}", dir.join("bench.db").display());
    };
    use sqlx::{Connection, Executor};
    let schema = format!("bench_retention_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).await.unwrap();
    conn.close().await.unwrap();
    format!("{base}?options[search_path]={schema}")
}

/// `count` finished instances of a node that no longer runs, on run dates a year back (made
/// then too), each with one attempt, inserted in one statement per 100,000.
async fn fill_old(url: &str, count: u64) {
    let old_ms = (Utc::now() - chrono::Duration::days(400)).timestamp_millis();
    let batches = count.div_ceil(100_000);
    for b in 0..batches {
        let from = b * 100_000;
        let to = ((b + 1) * 100_000).min(count);
        let sqlite = format!(
            "WITH RECURSIVE seq(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < {to}) \
             INSERT INTO instances (node_id, node_name, workflow, owner, run_type, bizdate, run_date, \
               planned_at, ready_at, state, created_at, updated_at, started_at, ended_at, attempt) \
             SELECT (SELECT id FROM nodes WHERE name = 'old'), 'old', 'w', 'o', 'cycle', \
               date('2025-01-01', '+' || (n / 3000) || ' days'), date('2025-01-02', '+' || (n / 3000) || ' days'), \
               {old_ms} + n * 1000, {old_ms} + n * 1000, 'success', {old_ms}, {old_ms}, {old_ms}, {old_ms}, 1 FROM seq"
        );
        let postgres = format!(
            "INSERT INTO instances (node_id, node_name, workflow, owner, run_type, bizdate, run_date, \
               planned_at, ready_at, state, created_at, updated_at, started_at, ended_at, attempt) \
             SELECT (SELECT id FROM nodes WHERE name = 'old'), 'old', 'w', 'o', 'cycle', \
               to_char(DATE '2025-01-01' + (n / 3000)::int, 'YYYY-MM-DD'), \
               to_char(DATE '2025-01-02' + (n / 3000)::int, 'YYYY-MM-DD'), \
               {old_ms} + n * 1000, {old_ms} + n * 1000, 'success', {old_ms}, {old_ms}, {old_ms}, {old_ms}, 1 \
             FROM generate_series({from}, {to} - 1) AS n"
        );
        let attempts = "INSERT INTO attempts (instance_id, attempt, started_at, ended_at, host, log_path, outcome) \
             SELECT id, 1, started_at, ended_at, 'old', 'logs/old.log', 'success' FROM instances \
             WHERE node_name = 'old' AND id > (SELECT COALESCE(MAX(instance_id), 0) FROM attempts)";
        if url.starts_with("sqlite:") {
            let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sqlite)).execute(&mut db).await.unwrap();
            sqlx::query(attempts).execute(&mut db).await.unwrap();
        } else {
            let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(postgres)).execute(&mut db).await.unwrap();
            sqlx::query(attempts).execute(&mut db).await.unwrap();
        }
    }
}

/// Runs the chain's instances of `run_date` and returns the end-to-end time and the dispatch
/// delays (ms) of its starts.
async fn run_chain(engine: &Engine, run_date: chrono::NaiveDate) -> (Duration, Vec<u64>) {
    let mut events = engine.subscribe();
    let started = Instant::now();
    engine.snapshot(run_date).await.unwrap();
    let mut done = 0;
    let mut delays = Vec::new();
    while done < CHAIN {
        match events.recv().await.unwrap() {
            EngineEvent::Started { waited_ms, .. } => delays.extend(waited_ms),
            EngineEvent::AttemptFinished { state: Some(InstanceState::Success), .. } => done += 1,
            EngineEvent::AttemptFinished { state, instance, .. } => {
                panic!("instance {instance} ended {state:?}")
            }
            _ => {}
        }
    }
    (started.elapsed(), delays)
}

fn percentile(values: &mut [u64], p: f64) -> u64 {
    values.sort_unstable();
    if values.is_empty() {
        return 0;
    }
    values[((values.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let old: u64 = std::env::var("NIGHTSHIFT_BENCH_OLD")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let stamp = Utc::now().timestamp_millis();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../target/bench-data/retention-{stamp}"));
        std::fs::create_dir_all(&dir).unwrap();
        let url = database_url(&dir).await;
        let store = Store::open(&StoreOptions::new(url.clone())).await.unwrap();
        let mut toml = String::from(
            "[[resource_groups]]\nname = \"default\"\nslots = 4\n\
             [[nodes]]\nname = \"old\"\ncommand = \"true\"\nschedule = \"0 0 * * *\"\npaused = true\n",
        );
        for k in 0..CHAIN {
            let upstream = if k == 0 { String::new() } else { format!("\"c{}\"", k - 1) };
            toml.push_str(&format!(
                "[[nodes]]\nname = \"c{k}\"\ncommand = \"true\"\nschedule = \"0 0 * * *\"\nupstream = [{upstream}]\n"
            ));
        }
        let file = DefinitionFile::parse("bench.toml", &toml).unwrap();
        apply(&store, file, ApplyMode::Upsert, By::System, Utc::now()).await.unwrap();
        let filling = Instant::now();
        fill_old(&url, old).await;
        let fill = filling.elapsed();

        let config = EngineConfig {
            data_dir: dir.clone(),
            host: "bench".into(),
            roles: server::engine::Roles::ALL,
            worker: server::engine::WorkerSetup::default(),
            tz: Tz::UTC,
            nightly: NightlySchedule {
                tz: Tz::UTC,
                at: chrono::NaiveTime::from_hms_opt(23, 59, 0).unwrap(),
            },
            kill_grace: Duration::from_secs(1),
            commands: Default::default(),
        };
        let engine = Engine::new(store.clone(), Arc::new(SystemClock), config);
        let cancel = CancellationToken::new();
        engine.start(cancel.clone()).await.unwrap();
        let today = Utc::now().date_naive();
        let backend = if url.starts_with("sqlite:") { "SQLite" } else { "PostgreSQL" };
        println!(
            "retention benchmark ({backend}): {old} old instances with their attempts, filled in {:.1} s",
            fill.as_secs_f64()
        );

        // Before: ten chains with nothing else going on.
        let mut quiet = Vec::new();
        let mut quiet_delays = Vec::new();
        for k in 1..=10 {
            let (took, delays) = run_chain(&engine, today - Days::new(k)).await;
            quiet.push(took.as_secs_f64());
            quiet_delays.extend(delays);
        }

        // During: the purge with the defaults, chains one after another until it ends.
        let purge_store = store.clone();
        let purging = tokio::spawn(async move {
            let config = RetentionConfig::default();
            let now = Utc::now();
            let cutoffs = config.cutoffs(now.date_naive(), now);
            let started = Instant::now();
            let mut purged = Purged::default();
            retention::purge_database(&purge_store, &cutoffs, &config, None, &mut purged)
                .await
                .unwrap();
            (started.elapsed(), purged)
        });
        let mut busy = Vec::new();
        let mut busy_delays = Vec::new();
        let mut k = 11;
        while !purging.is_finished() {
            let (took, delays) = run_chain(&engine, today - Days::new(k)).await;
            busy.push(took.as_secs_f64());
            busy_delays.extend(delays);
            k += 1;
        }
        let (purge_time, purged) = purging.await.unwrap();
        let left = store.instance_stats(&InstanceFilter::default()).await.unwrap().total;

        let median = |v: &mut Vec<f64>| {
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v[v.len() / 2]
        };
        println!(
            "purge: {} instances in {:.1} s ({:.0}/s, batches of 500 with 20 ms pauses); {left} instances left",
            purged.instances,
            purge_time.as_secs_f64(),
            purged.instances as f64 / purge_time.as_secs_f64()
        );
        println!(
            "40-task chain without a purge: median {:.3} s over {} runs; dispatch delay p50 {} ms, p99 {} ms, max {} ms",
            median(&mut quiet),
            quiet.len(),
            percentile(&mut quiet_delays, 0.5),
            percentile(&mut quiet_delays, 0.99),
            percentile(&mut quiet_delays, 1.0),
        );
        println!(
            "40-task chain during the purge: median {:.3} s over {} runs; dispatch delay p50 {} ms, p99 {} ms, max {} ms",
            median(&mut busy),
            busy.len(),
            percentile(&mut busy_delays, 0.5),
            percentile(&mut busy_delays, 0.99),
            percentile(&mut busy_delays, 1.0),
        );
        cancel.cancel();
        engine.wait_attempts_idle().await;
        store.close().await;
    });
}
