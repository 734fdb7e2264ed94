//! The server dies (SIGKILL, a crash at the worst moment) or stops (SIGTERM) while commands
//! run, then starts again: no command runs twice, no outcome is lost, nothing running is killed.
//! Real server processes on one data directory; every command notes `START`/`END` with its
//! instance and attempt in a file of the test's own.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use app::model::{Instance, InstanceState};
use common::{eventually, open_store, wait_for_address};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use server::definitions::{ApplyMode, By, DefinitionFile, apply};
use server::engine::executor::{NO_STATUS, STOPPED_AT_SHUTDOWN};
use server::engine::process;
use server::store::Store;

/// A data directory with `project` defined and the instances of 2020-01-02 made (all due).
/// The nodes fire on January 2nd only, so the day the server makes at start (it catches up
/// on a missed snapshot) adds none of theirs.
async fn prepared(project: &str) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir).await;
    let file = DefinitionFile::parse("crash.toml", project).unwrap();
    apply(&store, file, ApplyMode::Upsert, By::System, chrono::Utc::now()).await.unwrap();
    server::engine::snapshot::generate(
        &store,
        chrono_tz::Tz::UTC,
        common::date("2020-01-02"),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    (dir, store)
}

fn start_server(dir: &Path, fault: Option<&str>, extra: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nightshift"));
    command
        .args(["--listen", "127.0.0.1:0", "--site-root", "/nonexistent", "--kill-grace-secs", "1"])
        .args(extra)
        .arg("--data-dir")
        .arg(dir)
        .arg("--database-url")
        .arg(common::database_url(dir))
        // The same worker each time (on a shared database a worker adopts only its own).
        .args(["--worker-name", "crash-test"])
        .env("NIGHTSHIFT_LOG", "error")
        .stdout(std::fs::File::create(dir.join("server.out")).unwrap())
        .stderr(Stdio::null());
    if let Some(fault) = fault {
        command.env("NIGHTSHIFT_FAULT", fault);
    }
    command.spawn().expect("the nightshift binary starts")
}

/// A command that notes its start and end (instance and attempt) in `notes`.
fn noted(notes: &Path, body: &str) -> String {
    let notes = notes.display();
    format!(
        "echo START $NIGHTSHIFT_INSTANCE_ID $NIGHTSHIFT_ATTEMPT >> {notes}; {body}; \
         status=$?; echo END $NIGHTSHIFT_INSTANCE_ID $NIGHTSHIFT_ATTEMPT >> {notes}; exit $status"
    )
}

/// The `START` and `END` lines of the notes.
fn notes(path: &Path) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines = |mark: &str| {
        let mut found: Vec<String> =
            text.lines().filter_map(|line| line.strip_prefix(mark).map(str::to_string)).collect();
        found.sort();
        found
    };
    (lines("START "), lines("END "))
}

async fn instance(store: &Store, node: &str) -> Instance {
    let filter = app::model::InstanceFilter { node: Some(node.into()), ..Default::default() };
    let page = store.list_instances(&filter, None, 500).await.unwrap();
    page.items.into_iter().find(|i| i.node == node).unwrap()
}

async fn all_instances(store: &Store) -> Vec<Instance> {
    let filter = app::model::InstanceFilter::default();
    store.list_instances(&filter, None, 500).await.unwrap().items
}

fn log_of(dir: &Path, attempt: &app::model::Attempt) -> String {
    std::fs::read_to_string(dir.join(&attempt.log_path)).unwrap()
}

/// The process of a running attempt, as its log records it.
fn process_of(dir: &Path, attempt: &app::model::Attempt) -> Option<i64> {
    server::engine::marks::read(&dir.join(&attempt.log_path)).ok()?.process.map(|(pid, _)| pid)
}

fn stop(mut server: Child, signal: Signal) {
    kill(Pid::from_raw(server.id() as i32), signal).unwrap();
    server.wait().unwrap();
}

fn project_of_sleepers(notes: &Path, count: usize) -> String {
    let mut project = String::from("[[resource_groups]]\nname = \"default\"\nslots = 30\n");
    for n in 0..count {
        project.push_str(&format!(
            "[[nodes]]\nname = \"s{n:02}\"\ncommand = \"{}\"\nschedule = \"0 1 2 1 *\"\nretries = 2\n",
            noted(notes, "sleep 3; echo done-sleeping")
        ));
    }
    project
}

/// 20 commands of three seconds run; the server goes; the next one finds them running, adopts
/// them, and each ends in success with its first attempt and its whole log.
async fn restart_while_running(signal: Signal) {
    let scratch = tempfile::tempdir().unwrap();
    let notes_path: PathBuf = scratch.path().join("notes");
    let (dir, store) = prepared(&project_of_sleepers(&notes_path, 20)).await;

    let first = start_server(dir.path(), None, &[]);
    let pids = eventually("20 commands running, each on record", async || {
        let running = all_instances(&store).await;
        if running.iter().filter(|i| i.state == InstanceState::Running).count() < 20 {
            return None;
        }
        let mut pids = Vec::new();
        for i in &running {
            let attempt = store.attempts(i.id).await.unwrap().pop()?;
            pids.push(process_of(dir.path(), &attempt)?);
        }
        Some(pids)
    })
    .await;
    stop(first, signal);
    for pid in &pids {
        assert!(process::group_alive(*pid), "the server's {signal} left command {pid} running");
    }

    let second = start_server(dir.path(), None, &[]);
    let done = eventually("all 20 ended", async || {
        let all = all_instances(&store).await;
        all.iter().all(|i| i.state != InstanceState::Running).then_some(all)
    })
    .await;
    for i in &done {
        assert_eq!((i.state, i.attempt), (InstanceState::Success, 1), "{i:?}");
        let attempts = store.attempts(i.id).await.unwrap();
        assert_eq!(attempts.len(), 1, "{attempts:?}");
        let log = log_of(dir.path(), &attempts[0]);
        assert!(log.contains("done-sleeping\n"), "{log}");
        assert!(log.contains("[nightshift] exit 0\n"), "{log}");
        assert!(
            log.contains("[nightshift] succeeded"),
            "the closing line, written at the end: {log}"
        );
    }
    let (starts, ends) = notes(&notes_path);
    assert_eq!(starts.len(), 20, "every command started once: {starts:?}");
    assert_eq!(starts, ends, "and ended once");
    stop(second, Signal::SIGKILL);
}

#[tokio::test]
async fn sigterm_leaves_commands_running_and_the_next_start_adopts_them() {
    restart_while_running(Signal::SIGTERM).await;
}

#[tokio::test]
async fn sigkill_leaves_commands_running_and_the_next_start_adopts_them() {
    restart_while_running(Signal::SIGKILL).await;
}

#[tokio::test]
async fn an_outcome_reached_while_no_server_ran_is_recorded_and_not_rerun() {
    let scratch = tempfile::tempdir().unwrap();
    let notes_path = scratch.path().join("notes");
    let project = format!(
        "[[nodes]]\nname = \"d_ok\"\ncommand = \"{}\"\nschedule = \"0 1 2 1 *\"\nretries = 2\n\
         [[nodes]]\nname = \"d_bad\"\ncommand = \"{}\"\nschedule = \"0 1 2 1 *\"\n\
         [[nodes]]\nname = \"d_after\"\ncommand = \"true\"\nschedule = \"0 2 2 1 *\"\nupstream = [\"d_ok\"]\n\
         [[nodes]]\nname = \"d_killed\"\ncommand = \"sleep 600\"\nschedule = \"0 1 2 1 *\"\n",
        noted(&notes_path, "sleep 1; echo fine"),
        noted(&notes_path, "sleep 1; (exit 3)"),
    );
    let (dir, store) = prepared(&project).await;
    let first = start_server(dir.path(), None, &[]);
    let pids = eventually("three commands running, on record", async || {
        let mut pids = Vec::new();
        for node in ["d_ok", "d_bad", "d_killed"] {
            let i = instance(&store, node).await;
            let attempt = store.attempts(i.id).await.unwrap().pop()?;
            pids.push(process_of(dir.path(), &attempt)?);
        }
        Some(pids)
    })
    .await;
    stop(first, Signal::SIGKILL);
    // d_killed is killed by someone else while no server runs: nobody saw how it ended.
    nix::sys::signal::killpg(Pid::from_raw(pids[2] as i32), Signal::SIGKILL).unwrap();
    eventually("every command over", async || {
        pids.iter().all(|pid| !process::group_alive(*pid)).then_some(())
    })
    .await;

    let second = start_server(dir.path(), None, &[]);
    eventually("all three recorded", async || {
        for node in ["d_ok", "d_bad", "d_killed"] {
            if instance(&store, node).await.state == InstanceState::Running {
                return None;
            }
        }
        Some(())
    })
    .await;
    let ok = instance(&store, "d_ok").await;
    assert_eq!((ok.state, ok.attempt), (InstanceState::Success, 1));
    let bad = instance(&store, "d_bad").await;
    assert_eq!((bad.state, bad.attempt, bad.exit_code), (InstanceState::Failed, 1, Some(3)));
    let killed = instance(&store, "d_killed").await;
    assert_eq!((killed.state, killed.reason.as_deref()), (InstanceState::Failed, Some(NO_STATUS)));
    let (starts, ends) = notes(&notes_path);
    assert_eq!((starts.len(), ends.len()), (2, 2), "nothing ran again: {starts:?}");
    let attempt = store.attempts(ok.id).await.unwrap().pop().unwrap();
    assert!(log_of(dir.path(), &attempt).contains("recorded at restart"));
    // The success lets the downstream run.
    eventually("d_after ran", async || {
        (instance(&store, "d_after").await.state == InstanceState::Success).then_some(())
    })
    .await;
    stop(second, Signal::SIGKILL);
}

/// A one-node project whose command (`body`, noted) is started by a server that crashes at
/// `fault`; returns the notes' path (in the scratch directory kept alive) and the data.
async fn crashed_at(
    fault: &str,
    body: &str,
    extra: &str,
) -> (tempfile::TempDir, PathBuf, tempfile::TempDir, Store) {
    let scratch = tempfile::tempdir().unwrap();
    let notes_path = scratch.path().join("notes");
    let project = format!(
        "[[nodes]]\nname = \"one\"\ncommand = \"{}\"\nschedule = \"0 1 2 1 *\"\n{extra}",
        noted(&notes_path, body)
    );
    let (dir, store) = prepared(&project).await;
    let mut first = start_server(dir.path(), Some(fault), &[]);
    first.wait().unwrap();
    assert_eq!(instance(&store, "one").await.state, InstanceState::Running);
    (scratch, notes_path, dir, store)
}

/// The outside test's double run: the server dies right after a spawn, before the process
/// reaches the database. The process is on record in its log before it may run, so the next
/// start adopts it instead of starting a second copy.
#[tokio::test]
async fn a_crash_right_after_a_spawn_runs_nothing_twice() {
    let (_scratch, notes_path, dir, store) =
        crashed_at("abort-after-spawn", "sleep 2", "retries = 3\n").await;
    let w = instance(&store, "one").await;
    let attempt = store.attempts(w.id).await.unwrap().pop().unwrap();
    assert_eq!(attempt.pid, None, "the crash came before the process reached the database");

    let second = start_server(dir.path(), None, &[]);
    let w = eventually("w ended", async || {
        let w = instance(&store, "one").await;
        (w.state != InstanceState::Running).then_some(w)
    })
    .await;
    assert_eq!((w.state, w.attempt), (InstanceState::Success, 1));
    let (starts, ends) = notes(&notes_path);
    assert_eq!(starts, vec![format!("{} 1", w.id.0)], "one run, not two");
    assert_eq!(ends, starts);
    stop(second, Signal::SIGKILL);
}

/// A crash between the spawn and the word to start: the command never runs then; the next
/// start puts it back in the queue without using a retry and leaves no half attempt.
#[tokio::test]
async fn a_crash_before_the_start_runs_the_command_once_later() {
    let (_scratch, notes_path, dir, store) = crashed_at("abort-before-start", "echo ran", "").await;
    assert_eq!(notes(&notes_path).0.len(), 0, "the command did not run");

    let second = start_server(dir.path(), None, &[]);
    let v = eventually("v ended", async || {
        let v = instance(&store, "one").await;
        (v.state != InstanceState::Running && v.state != InstanceState::WaitingResources)
            .then_some(v)
    })
    .await;
    assert_eq!((v.state, v.attempt), (InstanceState::Success, 1));
    let attempts = store.attempts(v.id).await.unwrap();
    assert_eq!(attempts.len(), 1, "no half attempt listed: {attempts:?}");
    let log = log_of(dir.path(), &attempts[0]);
    assert!(log.contains("ran\n") && !log.contains("not started"), "{log}");
    assert_eq!(notes(&notes_path).0.len(), 1);
    stop(second, Signal::SIGKILL);
}

#[tokio::test]
async fn on_shutdown_stop_stops_the_commands_and_says_so() {
    let project = "[[nodes]]\nname = \"long\"\ncommand = \"sleep 600\"\nschedule = \"0 1 2 1 *\"\n";
    let (dir, store) = prepared(project).await;
    let first = start_server(dir.path(), None, &["--on-shutdown", "stop"]);
    let pid = eventually("long running, on record", async || {
        let i = instance(&store, "long").await;
        let attempt = store.attempts(i.id).await.unwrap().pop()?;
        process_of(dir.path(), &attempt)
    })
    .await;
    stop(first, Signal::SIGTERM);
    assert!(!process::group_alive(pid), "the command was stopped with the server");
    let long = instance(&store, "long").await;
    assert_eq!(
        (long.state, long.reason.as_deref()),
        (InstanceState::Failed, Some(STOPPED_AT_SHUTDOWN))
    );
}

/// An adopted command is the server's like any other: `kill` stops its whole group and says so.
#[tokio::test]
async fn an_adopted_command_can_be_killed() {
    let project = "[[nodes]]\nname = \"held\"\ncommand = \"sleep 600\"\nschedule = \"0 1 2 1 *\"\n";
    let (dir, store) = prepared(project).await;
    let added = Command::new(env!("CARGO_BIN_EXE_nightshift"))
        .args(["user", "add", "--name", "root", "--role", "admin", "--data-dir"])
        .arg(dir.path())
        .arg("--database-url")
        .arg(common::database_url(dir.path()))
        .env("NIGHTSHIFT_PASSWORD", "root-password")
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let first = start_server(dir.path(), None, &[]);
    let pid = eventually("held running, on record", async || {
        let i = instance(&store, "held").await;
        let attempt = store.attempts(i.id).await.unwrap().pop()?;
        process_of(dir.path(), &attempt)
    })
    .await;
    stop(first, Signal::SIGKILL);
    std::fs::remove_file(dir.path().join("server.out")).unwrap();

    let second = start_server(dir.path(), None, &[]);
    let api =
        common::session(wait_for_address(&dir.path().join("server.out")), "root", "root-password")
            .await;
    let held = instance(&store, "held").await;
    assert_eq!(held.state, InstanceState::Running, "adopted, still running");
    assert!(process::group_alive(pid));
    let killed = api.post(&format!("/api/v1/instances/{}/kill", held.id.0), "{}").await;
    assert_eq!(killed.status, 200, "{}", killed.body);
    assert!(!process::group_alive(pid), "kill answers once the whole group is gone");
    let held = instance(&store, "held").await;
    assert_eq!((held.state, held.attempt), (InstanceState::Stopped, 1));
    stop(second, Signal::SIGKILL);
}
