//! Several `nightshift` processes on one PostgreSQL database: one API, two schedulers and three
//! workers run 1,050 instances (fan-out and chains) while a worker and a scheduler are killed
//! with SIGKILL. Nothing is lost, nothing runs twice, the snapshot is made once, a kill on the
//! API process stops a command on a worker, and logs are read through the API from any worker.
//! On SQLite (one process only) the split roles are refused at start.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::http::EventStream;
use common::{database_url, eventually, on_postgres, open_store};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use server::definitions::{ApplyMode, By, DefinitionFile, apply};

/// Groups of 21 nodes: a root, ten nodes after it (fan-out), and one after each of those (chains).
const GROUPS: usize = 50;
const PER_GROUP: usize = 21;

/// A started `nightshift`, killed when dropped: a failed test leaves no server running.
struct Proc(Child);

impl std::ops::Deref for Proc {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Proc {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGKILL);
            let _ = self.0.wait();
        }
    }
}

fn nightshift(dir: &Path, url: &str, tz: &str, args: &[&str], log: &str) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_nightshift"))
        .args(["--site-root", "/nonexistent", "--kill-grace-secs", "1", "--lease-secs", "3"])
        .args(["--timezone", tz, "--data-dir"])
        .arg(dir.join(log))
        .args(["--database-url", url])
        .args(args)
        .env("NIGHTSHIFT_LOG", "warn")
        .stdout(std::fs::File::create(dir.join(format!("{log}.out"))).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("{log}.err"))).unwrap())
        .spawn()
        .expect("the nightshift binary starts");
    Proc(child)
}

/// Sends `signal` and waits for the process to end.
fn stop(child: &mut Child, signal: Signal) {
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    child.wait().unwrap();
}

fn sigkill(child: &mut Child) {
    stop(child, Signal::SIGKILL);
}

fn project(notes: &Path) -> String {
    let note = |body: &str| {
        format!(
            "echo START $NIGHTSHIFT_INSTANCE_ID $NIGHTSHIFT_ATTEMPT >> {n}; {body}; \
             echo END $NIGHTSHIFT_INSTANCE_ID $NIGHTSHIFT_ATTEMPT >> {n}",
            n = notes.display()
        )
    };
    let mut text = String::from(
        "[[resource_groups]]\nname = \"pool\"\nslots = 24\n\
         [[resource_groups]]\nname = \"solo\"\nslots = 1\n",
    );
    let node = |text: &mut String, name: String, upstream: Option<String>, body: &str| {
        let group = if name == "long" { "solo" } else { "pool" };
        text.push_str(&format!(
            "[[nodes]]\nname = \"{name}\"\ncommand = \"{}\"\nschedule = \"0 1 * * *\"\n\
             resource_group = \"{group}\"\nretries = 2\nretry_delay_secs = 0\n",
            note(body)
        ));
        if let Some(up) = upstream {
            text.push_str(&format!("upstream = [\"{up}\"]\n"));
        }
    };
    for g in 0..GROUPS {
        node(&mut text, format!("g{g}_root"), None, "sleep 0.05");
        for i in 0..10 {
            node(&mut text, format!("g{g}_fan{i}"), Some(format!("g{g}_root")), "true");
            node(&mut text, format!("g{g}_chain{i}"), Some(format!("g{g}_fan{i}")), "sleep 0.02");
        }
    }
    // One long command, killed through the API process.
    node(&mut text, "long".into(), None, "echo long started; sleep 60");
    text
}

/// A time zone in which it is around noon now, so that today's run date is due (after its
/// 01:00 planned times) and the nightly moment far away, whenever the test runs.
fn noon_zone() -> String {
    use chrono::Timelike;
    let hour = chrono::Utc::now().hour() as i32;
    let offset = 12 - hour; // local = UTC + offset
    // Etc/GMT-N is N hours ahead of UTC.
    match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_roles_apart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nightshift.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_nightshift"))
        .args(["--role", "worker", "--data-dir"])
        .arg(dir.path())
        .args(["--database-url", &url])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("SQLite serves one process"), "{said}");
    // A wrong URL says which databases there are, and never echoes the URL (it may hold a
    // password).
    let out = Command::new(env!("CARGO_BIN_EXE_nightshift"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["--database-url", "mysql://root:s3cret@127.0.0.1/x"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains("sqlite://") && said.contains("postgres://"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configurations_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_nightshift"))
            .args(["--listen", "127.0.0.1:0", "--site-root", "/nonexistent", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Nothing listens on port 1.
    let said = refused(&["--database-url", "postgres://nightshift:hush@127.0.0.1:1/nightshift"]);
    assert!(said.contains("database error") && !said.contains("hush"), "{said}");
    if on_postgres() {
        let url = database_url(dir.path());
        let said =
            refused(&["--database-url", &url, "--role", "worker", "--resource-groups", "gpu"]);
        assert!(said.contains("groups that do not exist: gpu"), "{said}");
        let said = refused(&["--database-url", &url, "--role", "api", "--worker-slots", "3"]);
        assert!(said.contains("for workers"), "{said}");
        // A name a live process holds is not taken over.
        let mut first = nightshift(
            dir.path(),
            &url,
            "UTC",
            &["--role", "worker", "--worker-name", "dup"],
            "dup",
        );
        let store = open_store(&dir).await;
        eventually("dup registered", async || {
            let workers = store.workers().await.unwrap();
            workers.iter().any(|(w, _)| w.name == "dup").then_some(())
        })
        .await;
        let said = refused(&["--database-url", &url, "--role", "worker", "--worker-name", "dup"]);
        assert!(said.contains("live process named 'dup"), "{said}");
        stop(&mut first, Signal::SIGTERM);
        store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_api_two_schedulers_three_workers_lose_nothing_and_run_nothing_twice() {
    if !on_postgres() {
        eprintln!("runs on PostgreSQL only (NIGHTSHIFT_TEST_BACKEND=postgres)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path());
    let tz = noon_zone();
    let zone: chrono_tz::Tz = tz.parse().unwrap();
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let notes: PathBuf = dir.path().join("notes");
    let store = open_store(&dir).await;
    let file = DefinitionFile::parse("cluster.toml", &project(&notes)).unwrap();
    apply(&store, file, ApplyMode::Upsert, By::System, chrono::Utc::now()).await.unwrap();
    // A project that has made snapshots before: a scheduler starting now catches today up.
    let db = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    sqlx::query("INSERT INTO snapshots (run_date, created_at, instances) VALUES ($1, 0, 0)")
        .bind((today - chrono::Duration::days(1)).to_string())
        .execute(&db)
        .await
        .unwrap();
    let added = Command::new(env!("CARGO_BIN_EXE_nightshift"))
        .args(["user", "add", "--name", "root", "--role", "admin", "--data-dir"])
        .arg(dir.path().join("api"))
        .args(["--database-url", &url])
        .env("NIGHTSHIFT_PASSWORD", "root-password")
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));

    let d = dir.path();
    let mut api = nightshift(d, &url, &tz, &["--role", "api", "--listen", "127.0.0.1:0"], "api");
    let mut schedulers = vec![
        nightshift(d, &url, &tz, &["--role", "scheduler", "--worker-name", "s1"], "s1"),
        nightshift(d, &url, &tz, &["--role", "scheduler", "--worker-name", "s2"], "s2"),
    ];
    // w1 (killed below) runs only the pool; the long command goes to w2 or w3.
    let mut workers = vec![
        nightshift(
            d,
            &url,
            &tz,
            &["--role", "worker", "--worker-name", "w1", "--resource-groups", "pool"],
            "w1",
        ),
        nightshift(d, &url, &tz, &["--role", "worker", "--worker-name", "w2"], "w2"),
        nightshift(d, &url, &tz, &["--role", "worker", "--worker-name", "w3"], "w3"),
    ];
    let addr = common::wait_for_address(&d.join("api.out"));
    let client = common::http::Api::token(addr, "root", "root-password").await;

    // Every process is registered, with its roles.
    eventually("six processes registered", async || {
        let list = client.get("/api/v1/workers").await.json();
        (list.as_array().map(Vec::len) == Some(6)).then_some(())
    })
    .await;
    let list = client.get("/api/v1/workers").await.json();
    let roles: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|w| format!("{}={}", w["name"].as_str().unwrap(), w["roles"][0].as_str().unwrap()))
        .filter(|r| !r.contains(':'))
        .collect();
    assert_eq!(roles, ["s1=scheduler", "s2=scheduler", "w1=worker", "w2=worker", "w3=worker"]);

    // Work under way: kill a worker and a scheduler in the middle of it.
    let total = GROUPS * PER_GROUP + 1;
    let started = |notes: &Path| {
        std::fs::read_to_string(notes)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("START"))
            .count()
    };
    let waited = std::time::Instant::now();
    while started(&notes) < total / 4 {
        assert!(waited.elapsed() < Duration::from_secs(60), "no progress: {}", started(&notes));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // w1 is killed while it runs something.
    eventually("w1 running something", async || {
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM instances WHERE state = 'running' AND host = 'w1'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        (running > 0).then_some(())
    })
    .await;
    sigkill(&mut workers[0]);
    sigkill(&mut schedulers[0]);

    // The long command runs on a worker; a kill on the API process returns once it is gone.
    let long = eventually("the long command running", async || {
        let page = client.get("/api/v1/instances?node=long&state=running").await.json();
        page["items"][0]["id"].as_i64()
    })
    .await;
    eventually("the long command started", async || {
        let log = client.get(&format!("/api/v1/instances/{long}/log")).await;
        (log.status == 200 && log.body.contains("long started")).then_some(())
    })
    .await;
    let host = client.get(&format!("/api/v1/instances/{long}")).await.json()["host"].clone();
    let killed = client.post(&format!("/api/v1/instances/{long}/kill"), "{}").await;
    assert_eq!(killed.status, 200, "{}", killed.json());
    let detail = client.get(&format!("/api/v1/instances/{long}")).await.json();
    assert_eq!(detail["state"], "stopped", "{detail}");
    let last = detail["attempts"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["ended_at"].is_string(),
        "the kill returned before the worker recorded the end: {last}"
    );
    // Its log, written on the worker, is read through the API process.
    let log = client.get(&format!("/api/v1/instances/{long}/log")).await;
    assert_eq!(log.status, 200, "{host}");
    assert!(log.body.contains("long started"), "{}", log.body);

    // Everything else ends in success: a lapsed attempt failed with its reason and was retried.
    let db2 = db.clone();
    let finished = tokio::time::timeout(Duration::from_secs(240), async move {
        loop {
            let open: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM instances WHERE state <> 'success' AND node_name <> 'long'",
            )
            .fetch_one(&db2)
            .await
            .unwrap();
            if open == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let states: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM instances GROUP BY state ORDER BY state")
            .fetch_all(&db)
            .await
            .unwrap();
    assert!(finished.is_ok(), "not everything ended in success: {states:?}");

    // The snapshot was made once: one row that counts every instance, every node once.
    let (made, count): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT instances FROM snapshots WHERE run_date = $1), \
           (SELECT COUNT(*) FROM instances WHERE run_date = $1)",
    )
    .bind(today.to_string())
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((made, count), (total as i64, total as i64));

    // None lost, none run twice: every (instance, attempt) started at most once, and every
    // instance's successful attempt is in the notes.
    let text = std::fs::read_to_string(&notes).unwrap();
    let mut starts: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("START ")).collect();
    let all = starts.len();
    starts.sort();
    starts.dedup();
    assert_eq!(starts.len(), all, "an attempt started twice");
    let succeeded: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, attempt FROM instances WHERE state = 'success' ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(succeeded.len(), total - 1);
    for (id, attempt) in &succeeded {
        assert!(starts.contains(&format!("{id} {attempt}").as_str()), "{id} {attempt} never ran");
    }
    // The killed worker's attempts were taken back with the reason.
    let lapsed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM attempts WHERE host = 'w1' AND reason LIKE '%stopped renewing its lease%'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let w1_open: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM attempts WHERE host = 'w1' AND ended_at IS NULL")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(w1_open, 0, "attempts of the killed worker left open ({lapsed} taken back)");
    assert!(lapsed > 0, "no attempt of the killed worker was taken back");
    let retried: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM instances i JOIN attempts a ON a.instance_id = i.id \
         AND a.attempt = i.attempt - 1 WHERE i.state = 'success' AND a.host = 'w1' \
         AND a.reason LIKE '%stopped renewing its lease%'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(retried > 0, "no lapsed attempt was retried to success");

    // The API process's live view hears what another process does: a snapshot made by the
    // `snapshot` command (nothing else happens now).
    {
        let mut events = EventStream::open(&client, Duration::from_secs(20)).await;
        events.until(": connected", "the stream's greeting").await;
        let tomorrow = (today + chrono::Duration::days(1)).to_string();
        let made = Command::new(env!("CARGO_BIN_EXE_nightshift"))
            .args(["snapshot", "--run-date", &tomorrow, "--timezone", &tz, "--data-dir"])
            .arg(d.join("cli"))
            .args(["--database-url", &url])
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        events.until("event: changed", "the API process heard of the snapshot").await;
    }

    for mut child in workers.into_iter().skip(1).chain(schedulers.into_iter().skip(1)) {
        stop(&mut child, Signal::SIGTERM);
    }
    stop(&mut api, Signal::SIGTERM);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_back_under_a_new_name_adopts_what_it_left_on_its_machine() {
    if !on_postgres() {
        eprintln!("runs on PostgreSQL only (NIGHTSHIFT_TEST_BACKEND=postgres)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(dir.path());
    let store = open_store(&dir).await;
    let (gate, started) = (dir.path().join("gate"), dir.path().join("started"));
    let project = format!(
        "[[nodes]]\nname = \"held\"\ncommand = \"touch {}; {}\"\nschedule = \"0 1 2 1 *\"\n",
        started.display(),
        common::wait_for_file(&gate)
    );
    let file = DefinitionFile::parse("held.toml", &project).unwrap();
    apply(&store, file, ApplyMode::Upsert, By::System, chrono::Utc::now()).await.unwrap();
    let today = common::date("2020-01-02");
    server::engine::snapshot::generate(&store, chrono_tz::Tz::UTC, today, chrono::Utc::now())
        .await
        .unwrap();
    let held = async || {
        let filter = app::model::InstanceFilter { node: Some("held".into()), ..Default::default() };
        store.list_instances(&filter, None, 5).await.unwrap().items.remove(0)
    };
    // No --worker-name: each start is `host:pid`, a new name.
    // The same data directory each time (where the logs are).
    let start = || nightshift(dir.path(), &url, "UTC", &["--listen", "127.0.0.1:0"], "node");
    let mut first = start();
    let first_name = eventually("held running its command", async || {
        let i = held().await;
        (i.state == app::model::InstanceState::Running && started.exists()).then(|| i.host.unwrap())
    })
    .await;
    sigkill(&mut first);
    let mut second = start();
    let taken = eventually("held taken over, still running", async || {
        let i = held().await;
        (i.state == app::model::InstanceState::Running && i.host.as_deref() != Some(&first_name))
            .then_some(i)
    })
    .await;
    assert_eq!(taken.attempt, 1);
    std::fs::write(&gate, "").unwrap();
    let done = eventually("held ended", async || {
        let i = held().await;
        (i.state != app::model::InstanceState::Running).then_some(i)
    })
    .await;
    assert_eq!(done.state, app::model::InstanceState::Success, "{done:?}");
    assert_eq!(done.attempt, 1, "run once, adopted, not retried");
    stop(&mut second, Signal::SIGTERM);
}
