//! Batch operations on 10,000 instances: batch repair rerun (and its dry run), by id list and by
//! filter, through the real store and audit trail. Run: `cargo bench -p server --bench operations`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::model::{InstanceFilter, InstanceState};
use app::people::{Actor, Role};
use app::report::{BatchKind, BatchRequest};
use app::usecases::Operations;
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use server::auth::{Auth, AuthConfig, Identity};
use server::definitions::{ApplyMode, By, DefinitionFile, apply};
use server::engine::clock::SystemClock;
use server::engine::snapshot::NightlySchedule;
use server::engine::{Engine, EngineConfig};
use server::service::{Core, Service};
use server::store::{Store, StoreOptions};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::open(&StoreOptions::new(url)).await.unwrap();
        // One node every minute, seven future days: 10,080 instances waiting for their time,
        // and a daily rollup downstream of each day's 1,440.
        let toml = "[[nodes]]\nname = \"minutely\"\ncommand = \"true\"\nschedule = \"* * * * *\"\n\
                    [[nodes]]\nname = \"rollup\"\ncommand = \"true\"\nupstream = [\"minutely\"]\n";
        let file = DefinitionFile::parse("b.toml", toml).unwrap();
        apply(&store, file, ApplyMode::Upsert, By::System, Utc::now()).await.unwrap();
        let config = EngineConfig {
            data_dir: dir.path().to_path_buf(),
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
        // Not started: no dispatcher runs the instances; the operations are what is measured.
        let engine = Engine::new(store.clone(), Arc::new(SystemClock), config);
        for day in 1..=7 {
            engine.snapshot(NaiveDate::from_ymd_opt(2031, 1, day).unwrap()).await.unwrap();
        }
        let admin = Actor { name: "bench".into(), role: Role::Admin };
        let auth = Auth::new(store.clone(), engine.clock().clone(), AuthConfig::default());
        let core = Core { engine: engine.clone(), auth, demo: false, limits: Default::default() };
        let service = Service::new(core, Identity::Token { actor: admin, user_id: 0, token_id: 0 });
        let all = InstanceFilter { node: Some("minutely".into()), ..Default::default() };
        let timed = async |label: &str, kind: BatchKind, request: BatchRequest| {
            let started = Instant::now();
            let report = service.batch(kind, Ok(request)).await.unwrap();
            let took = started.elapsed();
            println!(
                "{label:<44} {:>6} instances  {:>7.1} ms  ({} changes, {} downstream listed)",
                report.results.len(),
                took.as_secs_f64() * 1000.0,
                report.changes.len(),
                report.downstream.len()
            );
            took
        };
        println!("nightshift batch operations (SQLite, 10,080 instances)");
        timed(
            "batch kill by filter (waiting → stopped)",
            BatchKind::Kill,
            BatchRequest { ids: None, filter: Some(all.clone()), dry_run: false },
        )
        .await;
        let failed = InstanceFilter { state: vec![InstanceState::Stopped], ..all.clone() };
        let ids: Vec<_> = {
            let mut tx = store.begin_operation().await.unwrap();
            let targets = tx.targets_matching(&failed, 20_000).await.unwrap();
            tx.commit().await.unwrap();
            targets.into_iter().map(|t| t.id).collect()
        };
        timed(
            "batch repair rerun, dry run, by 10k ids",
            BatchKind::Rerun,
            BatchRequest { ids: Some(ids.clone()), filter: None, dry_run: true },
        )
        .await;
        timed(
            "batch repair rerun, dry run, by filter",
            BatchKind::Rerun,
            BatchRequest { ids: None, filter: Some(failed.clone()), dry_run: true },
        )
        .await;
        let real = timed(
            "batch repair rerun by 10k ids (target <= 1 s)",
            BatchKind::Rerun,
            BatchRequest { ids: Some(ids), filter: None, dry_run: false },
        )
        .await;
        let stats = store.instance_stats(&all).await.unwrap();
        assert_eq!(stats.waiting_resources as usize, 10_080, "all of them were rerun");
        assert!(real < Duration::from_secs(5));
    });
}
