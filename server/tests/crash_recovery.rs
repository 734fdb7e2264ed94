//! A real `kill -9` of the server while a command runs, then a restart.

mod common;

use std::process::{Child, Command, Stdio};

use app::model::{Instance, InstanceState};
use common::{eventually, open_store};
use server::definitions::{ApplyMode, By, DefinitionFile, apply};
use server::engine::process;
use server::engine::recovery::LOST_REASON;
use server::store::Store;

const PROJECT: &str = r#"
[[nodes]]
name = "c_quick"
command = "echo quick"
schedule = "0 1 * * *"

[[nodes]]
name = "c_long"
command = "echo before-crash; sleep 600"
schedule = "0 1 * * *"
retries = 1
retry_delay_secs = 3600

[[nodes]]
name = "c_after"
command = "true"
schedule = "0 2 * * *"
upstream = ["c_long"]
"#;

fn start_server(dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nightshift"))
        .args(["--listen", "127.0.0.1:0", "--site-root", "/nonexistent", "--kill-grace-secs", "1"])
        .arg("--data-dir")
        .arg(dir)
        .env("NIGHTSHIFT_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("the nightshift binary starts")
}

async fn instance(store: &Store, node: &str) -> Instance {
    let filter = app::model::InstanceFilter { node: Some(node.into()), ..Default::default() };
    let page = store.list_instances(&filter, None, 50).await.unwrap();
    page.items.into_iter().find(|i| i.node == node).unwrap()
}

#[tokio::test]
async fn kill_9_then_restart_fails_the_lost_attempt_and_changes_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    let file = DefinitionFile::parse("crash.toml", PROJECT).unwrap();
    apply(&store, file, ApplyMode::Upsert, By::System, chrono::Utc::now()).await.unwrap();
    server::engine::snapshot::generate(
        &store,
        chrono_tz::Tz::UTC,
        common::date("2020-01-02"),
        chrono::Utc::now(),
    )
    .await
    .unwrap();

    let mut first = start_server(dir.path());
    let (long, pid) = eventually("c_long running and logging", async || {
        let long = instance(&store, "c_long").await;
        let quick = instance(&store, "c_quick").await;
        if long.state != InstanceState::Running || quick.state != InstanceState::Success {
            return None;
        }
        let attempt = store.attempts(long.id).await.unwrap().pop()?;
        let log = std::fs::read_to_string(dir.path().join(&attempt.log_path)).ok()?;
        log.contains("before-crash").then_some((long, attempt.pid?))
    })
    .await;
    assert!(process::group_alive(pid));

    first.kill().unwrap(); // SIGKILL: no shutdown code runs
    first.wait().unwrap();
    assert!(process::group_alive(pid), "the command outlives the server; recovery must stop it");
    let quick_before = instance(&store, "c_quick").await;
    let after_before = instance(&store, "c_after").await;

    let mut second = start_server(dir.path());
    let recovered = eventually("c_long reconciled", async || {
        let long = instance(&store, "c_long").await;
        (long.state != InstanceState::Running).then_some(long)
    })
    .await;
    // Failed with the reason, and back to waiting for time because its policy allows a retry.
    assert_eq!(recovered.state, InstanceState::WaitingTime);
    assert_eq!(recovered.attempt, long.attempt);
    assert!(
        recovered.reason.as_deref().unwrap().starts_with(LOST_REASON),
        "{:?}",
        recovered.reason
    );
    assert!(!process::group_alive(pid), "the orphaned command was stopped");
    let attempt = store.attempts(long.id).await.unwrap().pop().unwrap();
    assert_eq!(attempt.outcome.as_deref(), Some("failed"));
    let log = std::fs::read_to_string(dir.path().join(&attempt.log_path)).unwrap();
    assert!(log.contains("before-crash\n"), "the log written before the crash is kept: {log}");
    assert!(log.contains(&format!("[nightshift] failed: {LOST_REASON}")), "{log}");
    // Nothing else changed.
    assert_eq!(instance(&store, "c_quick").await, quick_before);
    assert_eq!(instance(&store, "c_after").await, after_before);

    second.kill().unwrap();
    second.wait().unwrap();
}
