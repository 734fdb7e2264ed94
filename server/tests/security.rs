//! What an outside probe of a `--demo` server found, each finding as a test: a small request
//! that exhausted the server, commands that reached the database, schedules that never fire,
//! no quotas, an open redirect, missing security headers, weak credential rules, no Host check,
//! names and text that should be refused, a throttle that locked anyone out, and bodies and
//! arguments answered inconsistently.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::people::Role;
use common::http::{Api, send, send_from};
use common::{ADMIN_PASSWORD, add_user, eventually, live_server, wait_for_address};
use serde_json::{Value, json};
use server::engine::clock::SystemClock;
use server_fn::ServerFn;

const FIXTURE: &str = r#"
[[resource_groups]]
name = "held"
slots = 1

[[nodes]]
name = "d_root"
owner = "dave"
command = "exit 1"
resource_group = "held"
schedule = "0 1 * * *"

[[nodes]]
name = "d_child"
owner = "dave"
command = "true"
resource_group = "held"
schedule = "0 1 * * *"
upstream = ["d_root"]
"#;

/// The size of the database and its write-ahead log.
fn database_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("nightshift.db"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

async fn root_of(api: &Api) -> i64 {
    eventually("d_root failed", async || {
        let page = api.get("/api/v1/instances?node=d_root").await.json();
        (page["items"][0]["state"] == "failed").then(|| page["items"][0]["id"].as_i64().unwrap())
    })
    .await
}

/// Finding 1: a refused rerun-downstream of 10,000 ids cost 8 s and 900 MB of audit rows.
#[tokio::test]
async fn a_refused_request_costs_no_more_than_its_size() {
    let (server, dir, admin) = live_server(Arc::new(SystemClock), &[]).await;
    add_user(&server, "dave", "dave-password", Role::Developer).await;
    add_user(&server, "vera", "vera-password", Role::Viewer).await;
    assert_eq!(admin.post("/api/v1/import", FIXTURE).await.status, 200);
    assert_eq!(admin.post("/api/v1/snapshots", r#"{"run_date": "2020-01-02"}"#).await.status, 200);
    let root = root_of(&admin).await;
    let dave = Api::token(server.addr, "dave", "dave-password").await;
    let vera = Api::token(server.addr, "vera", "vera-password").await;
    let ids: Vec<i64> = (1_000_000..1_010_000).collect();
    let body = json!({ "instance_ids": ids, "dry_run": false }).to_string();
    assert!(body.len() > 80_000);
    let before = database_bytes(dir.path());
    for (who, api, status) in [("vera", &vera, 403), ("dave", &dave, 400)] {
        let started = Instant::now();
        let answer = api.post(&format!("/api/v1/instances/{root}/rerun-downstream"), &body).await;
        assert!(started.elapsed() < Duration::from_secs(1), "{who}: {:?}", started.elapsed());
        assert_eq!(answer.status, status, "{who}: {}", answer.body);
        let by_rpc = api
            .post(
                app::api::RunRerunDownstream::PATH,
                &format!(r#"{{"root": {root}, "request": {body}}}"#),
            )
            .await;
        assert_eq!(by_rpc.status, status, "{who}: {}", by_rpc.body);
    }
    // Refused once each, with a short message, and nothing per id.
    let trail = admin.get("/api/v1/audit?action=rerun_downstream&limit=10").await.json();
    for entry in trail["items"].as_array().unwrap() {
        assert_eq!(entry["outcome"], "refused");
        assert!(entry["message"].as_str().unwrap().len() < 300, "{entry}");
        let id = entry["id"].as_i64().unwrap();
        let detail = admin.get(&format!("/api/v1/audit/{id}")).await;
        assert!(detail.body.len() < 2_000, "{}", detail.body.len());
    }
    assert!(database_bytes(dir.path()) < before + 1_000_000, "the database grew by a megabyte");
    server.stop().await;
}

/// A server process with secrets in its environment, an administrator, and its data directory.
struct Process {
    child: Child,
    addr: std::net::SocketAddr,
    admin: Api,
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SECRETS: [(&str, &str); 3] = [
    ("NIGHTSHIFT_PASSWORD", "server-password-Kq2"),
    ("AWS_SECRET_ACCESS_KEY", "cloud-secret-Vb8"),
    ("NIGHTSHIFT_SYNC_FULL", "true"),
];

async fn serve(extra: &[&str]) -> Process {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let binary = env!("CARGO_BIN_EXE_nightshift");
    let added = Command::new(binary)
        .args(["user", "add", "--name", "admin", "--role", "admin", "--data-dir"])
        .arg(&data)
        .env("NIGHTSHIFT_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let log = dir.path().join("server.log");
    let mut command = Command::new(binary);
    command
        .args(["--listen", "127.0.0.1:0", "--site-root", "/nonexistent", "--data-dir"])
        .arg(&data)
        .args(extra)
        .env("NIGHTSHIFT_LOG", "warn")
        .env(
            "NIGHTSHIFT_DATABASE_URL",
            format!("sqlite://{}", data.join("nightshift.db").display()),
        )
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null());
    for (name, value) in SECRETS {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    let addr = wait_for_address(&log);
    let admin = Api::token(addr, "admin", ADMIN_PASSWORD).await;
    Process { child, addr, admin, _dir: dir, data }
}

/// Runs `command` as a test of a new node and returns its log once it has ended.
async fn run(api: &Api, name: &str, command: &str) -> (String, String) {
    let node = json!({ "name": name, "owner": "admin", "command": command }).to_string();
    let created = api.post("/api/v1/nodes", &node).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let test = api
        .post("/api/v1/tests", &json!({ "node": name, "bizdate": "2026-01-05" }).to_string())
        .await;
    assert_eq!(test.status, 201, "{}", test.body);
    let job = test.json()["job"].as_i64().unwrap();
    let instance = eventually(&format!("{name} ended"), async || {
        let page = api.get(&format!("/api/v1/instances?job={job}&state=any")).await.json();
        let item = page["items"][0].clone();
        matches!(item["state"].as_str(), Some("success" | "failed")).then_some(item)
    })
    .await;
    let id = instance["id"].as_i64().unwrap();
    let log = api.get(&format!("/api/v1/instances/{id}/log")).await.body;
    (instance["state"].as_str().unwrap().to_string(), log)
}

/// Finding 2: a command's `env` printed the server's password, database URL and cloud secrets.
#[tokio::test]
async fn commands_see_a_clean_documented_environment() {
    let server = serve(&["--command-env", "TEAM=warehouse"]).await;
    let (state, log) = run(&server.admin, "n_env", "env | sort").await;
    assert_eq!(state, "success", "{log}");
    for (name, value) in SECRETS {
        assert!(!log.contains(value), "{name}'s value leaked into the command: {log}");
    }
    for name in [
        "NIGHTSHIFT_DATABASE_URL",
        "NIGHTSHIFT_LOG",
        "AWS_SECRET_ACCESS_KEY",
        "NIGHTSHIFT_PASSWORD",
    ] {
        assert!(!log.contains(&format!("{name}=")), "{name} leaked: {log}");
    }
    for expected in
        ["PATH=", "HOME=", "LANG=", "TZ=UTC", "NIGHTSHIFT_BIZDATE=20260105", "TEAM=warehouse"]
    {
        assert!(log.contains(expected), "{expected} is missing: {log}");
    }
    let _ = server.addr;
}

/// Finding 2: a developer's command opened the database and made her an administrator.
#[tokio::test]
async fn a_command_run_as_another_user_cannot_reach_the_database() {
    let user = nix::unistd::User::from_name("nightshift-run").unwrap();
    assert!(
        user.is_some() && nix::unistd::geteuid().is_root(),
        "this test runs as root with the user nightshift-run (scripts/test.sh makes it)"
    );
    let server = serve(&["--run-as", "nightshift-run"]).await;
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&server.data), 0o700, "the data directory is the server's alone");
    assert_eq!(mode(&server.data.join("nightshift.db")), 0o600);
    let db = server.data.join("nightshift.db");
    let escalate = format!(
        "id -un; cat {db} > /dev/null; ls /proc/$PPID/fd; \
         python3 -c \"import sqlite3; sqlite3.connect('{db}').execute(\\\"UPDATE project_members SET role = 'admin'\\\")\"",
        db = db.display()
    );
    let (state, log) = run(&server.admin, "n_escalate", &escalate).await;
    assert_eq!(state, "failed", "{log}");
    assert!(log.contains("nightshift-run\n"), "it ran as nightshift-run: {log}");
    assert!(log.contains("Permission denied"), "{log}");
    assert!(!log.contains("server.log"), "it could not list the server's files: {log}");
}

/// Finding 3: a schedule that never fires was accepted, and planning it blocked the server.
#[tokio::test]
async fn schedules_that_never_fire_and_insane_dates_are_refused_and_health_stays_quick() {
    let (server, _dir, admin) =
        live_server(Arc::new(SystemClock), &["--max-backfill-instances", "100000000"]).await;
    let never = admin
        .post(
            "/api/v1/nodes",
            r#"{"name": "n_never", "command": "true", "schedule": "0 0 31 2 *"}"#,
        )
        .await;
    assert_eq!(never.status, 400, "{}", never.body);
    assert!(never.body.contains("never fires"), "{}", never.body);
    assert_eq!(admin.get("/api/v1/nodes/n_never").await.status, 404);
    let ok = admin
        .post("/api/v1/nodes", r#"{"name": "n_leap", "command": "true", "schedule": "0 0 29 2 *"}"#)
        .await;
    assert_eq!(ok.status, 201, "a leap day fires: {}", ok.body);
    let ancient = admin
        .post(
            "/api/v1/backfills",
            r#"{"node": "n_leap", "from": "0000-01-01", "to": "0000-12-31", "dry_run": true}"#,
        )
        .await;
    assert_eq!(ancient.status, 400, "{}", ancient.body);

    // Heavy planning: 300 nodes every five minutes over a year, dry run.
    let mut toml = String::new();
    for n in 0..300 {
        toml.push_str(&format!("[[nodes]]\nname = \"h_{n}\"\nowner = \"admin\"\ncommand = \"true\"\nschedule = \"*/5 * * * *\"\n"));
        if n > 0 {
            toml.push_str(&format!("upstream = [\"h_{}\"]\n", n - 1));
        }
    }
    assert_eq!(admin.post("/api/v1/import", &toml).await.status, 200);
    let downstream: Vec<String> = (1..300).map(|n| format!("h_{n}")).collect();
    let heavy = json!({ "node": "h_0", "downstream": downstream, "from": "2025-01-01", "to": "2025-12-31", "dry_run": true }).to_string();
    let planning = tokio::spawn({
        let admin = admin.clone();
        async move { admin.post("/api/v1/backfills", &heavy).await }
    });
    let mut slowest = Duration::ZERO;
    let mut polls = 0;
    while !planning.is_finished() {
        let started = Instant::now();
        assert_eq!(admin.get("/api/v1/health").await.status, 200);
        slowest = slowest.max(started.elapsed());
        polls += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = planning.await.unwrap();
    assert!(polls > 3, "the planning was heavy enough to watch ({polls} polls): {}", answer.body);
    // Planning takes seconds; a blocked runtime would hold health that long, not a fraction.
    assert!(slowest < Duration::from_millis(400), "health took {slowest:?} during the planning");
    assert!(matches!(answer.status, 200 | 400), "{}", answer.body);
    server.stop().await;
}

/// Finding 4: no quotas.
#[tokio::test]
async fn quotas_bound_backfills_schedules_and_imports() {
    let (server, _dir, admin) = live_server(
        Arc::new(SystemClock),
        &[
            "--max-backfill-instances",
            "1000",
            "--min-schedule-minutes",
            "5",
            "--max-import-nodes",
            "3",
        ],
    )
    .await;
    let minutely = admin
        .post(
            "/api/v1/nodes",
            r#"{"name": "q_minutely", "command": "true", "schedule": "* * * * *"}"#,
        )
        .await;
    assert_eq!(minutely.status, 400, "{}", minutely.body);
    assert!(minutely.body.contains("at most every 5 minutes"), "{}", minutely.body);
    let hourly = admin
        .post(
            "/api/v1/nodes",
            r#"{"name": "q_hourly", "command": "true", "schedule": "0 * * * *"}"#,
        )
        .await;
    assert_eq!(hourly.status, 201, "{}", hourly.body);
    // 24 a day: 41 days are 984 instances, 42 are 1,008.
    let preview = admin
        .post(
            "/api/v1/backfills",
            r#"{"node": "q_hourly", "from": "2025-01-01", "to": "2025-02-10", "dry_run": true}"#,
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.json()["instances"], 984);
    assert_eq!(preview.json()["first"].as_array().unwrap().len(), 50, "the first page of it");
    let over = admin
        .post(
            "/api/v1/backfills",
            r#"{"node": "q_hourly", "from": "2025-01-01", "to": "2025-02-11", "dry_run": true}"#,
        )
        .await;
    assert_eq!(over.status, 400, "{}", over.body);
    assert!(over.body.contains("1000"), "{}", over.body);
    let nodes: String = (0..4)
        .map(|n| format!("[[nodes]]\nname = \"q_{n}\"\nowner = \"admin\"\ncommand = \"true\"\n"))
        .collect();
    let import = admin.post("/api/v1/import", &nodes).await;
    assert_eq!(import.status, 400, "{}", import.body);
    assert_eq!(admin.get("/api/v1/nodes/q_0").await.status, 404);
    server.stop().await;
}

/// Finding 5: `/login?next=%2F%09%2Fevil.example` landed on another site.
#[tokio::test]
async fn after_login_only_this_site_is_a_place_to_go_back_to() {
    let (server, _dir, _) = live_server(Arc::new(SystemClock), &[]).await;
    let form = ("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string());
    for (next, expected) in [
        ("%2F%09%2Fevil.example", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("%2F%0D%0A%2Fevil.example", "/"),
        ("%2Fcycle%3Fstate%3Dfailed", "/cycle?state=failed"),
    ] {
        let body = format!("username=admin&password={ADMIN_PASSWORD}&next={next}");
        let answer =
            send(server.addr, "POST", "/login", Some(&body), std::slice::from_ref(&form)).await;
        assert_eq!(answer.status, 303, "{next}");
        assert_eq!(answer.header("location"), Some(expected), "{next}");
    }
    server.stop().await;
}

/// Finding 6: no security headers; another site could frame a signed-in page.
#[tokio::test]
async fn pages_and_answers_carry_security_headers() {
    let (server, _dir, admin) = live_server(Arc::new(SystemClock), &[]).await;
    let session = Api::session(server.addr, "admin", ADMIN_PASSWORD).await;
    for (api, path) in [(&session, "/cycle"), (&session, "/login"), (&admin, "/api/v1/me")] {
        let answer = api.get(path).await;
        let header =
            |name: &str| answer.header(name).unwrap_or_else(|| panic!("{path}: no {name}"));
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src"), "{path}: {csp}");
        assert_eq!(header("x-frame-options"), "DENY");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert!(header("referrer-policy").contains("same-origin"), "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
    }
    let page = session.get("/cycle").await;
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
    // Every inline script of the page carries the nonce the policy names.
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).expect("a nonce");
    let scripts = page.body.matches("<script").count();
    assert!(scripts > 0);
    assert_eq!(page.body.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "{}", page.body);
    server.stop().await;
}

/// Finding 7: the own password changed without the current one; tokens outlived it and came
/// back with a re-enabled account; tokens that never expire.
#[tokio::test]
async fn credentials_need_the_current_password_and_tokens_end_with_it() {
    let (server, _dir, admin) =
        live_server(Arc::new(SystemClock), &["--max-token-days", "30"]).await;
    add_user(&server, "dave", "dave-password", Role::Developer).await;
    let dave = Api::session(server.addr, "dave", "dave-password").await;
    let token = Api::token(server.addr, "dave", "dave-password").await;
    let expires = token.get("/api/v1/tokens").await.json()["items"][0]["expires_at"].clone();
    assert!(expires.is_string(), "a token made without a lifetime gets the longest one: {expires}");
    let too_long =
        dave.post("/api/v1/tokens", r#"{"name": "forever", "expires_in_days": 31}"#).await;
    assert_eq!(too_long.status, 400, "{}", too_long.body);

    let bare = dave.put("/api/v1/users/dave", r#"{"password": "new-dave-password"}"#).await;
    assert_eq!(bare.status, 400, "{}", bare.body);
    let wrong = dave
        .put(
            "/api/v1/users/dave",
            r#"{"password": "new-dave-password", "current_password": "nope-nope"}"#,
        )
        .await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert_eq!(token.get("/api/v1/me").await.status, 200);
    let changed = dave
        .put(
            "/api/v1/users/dave",
            r#"{"password": "new-dave-password", "current_password": "dave-password"}"#,
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(token.get("/api/v1/me").await.status, 401, "tokens end with the password");

    let second = Api::token(server.addr, "dave", "new-dave-password").await;
    assert_eq!(admin.put("/api/v1/users/dave", r#"{"disabled": true}"#).await.status, 200);
    assert_eq!(admin.put("/api/v1/users/dave", r#"{"disabled": false}"#).await.status, 200);
    assert_eq!(second.get("/api/v1/me").await.status, 401, "a disabled account's tokens stay dead");
    // An administrator sets a password without knowing the old one.
    assert_eq!(
        admin.put("/api/v1/users/dave", r#"{"password": "reset-by-admin"}"#).await.status,
        200
    );
    server.stop().await;
}

/// Finding 8: the Host header was not checked (DNS rebinding).
#[tokio::test]
async fn requests_for_other_hosts_are_refused() {
    let (server, _dir, admin) = live_server(Arc::new(SystemClock), &[]).await;
    let port = server.addr.port();
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), "localhost".into()] {
        let answer = admin.with("Host", &host).get("/api/v1/me").await;
        assert_eq!(answer.status, 200, "{host}: {}", answer.body);
    }
    for host in [format!("evil.example:{port}"), "evil.example".to_string()] {
        let answer = admin.with("Host", &host).get("/api/v1/me").await;
        assert_eq!(answer.status, 421, "{host}: {}", answer.body);
        let page = send(server.addr, "GET", "/login", None, &[("Host".into(), host.clone())]).await;
        assert_eq!(page.status, 421, "{host}");
    }
    server.stop().await;
    let (server, _dir, admin) =
        live_server(Arc::new(SystemClock), &["--allowed-hosts", "nightshift.example"]).await;
    let answer = admin.with("Host", "nightshift.example").get("/api/v1/me").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    server.stop().await;
}

/// Finding 9: node names `.` and `..`, NUL in text, and bidirectional overrides in token names.
#[tokio::test]
async fn names_follow_their_character_set_and_text_has_no_nul() {
    let (server, _dir, admin) = live_server(Arc::new(SystemClock), &[]).await;
    for name in [".", "..", "-a", ".hidden"] {
        let answer = admin
            .post("/api/v1/nodes", &json!({ "name": name, "command": "true" }).to_string())
            .await;
        assert_eq!(answer.status, 400, "{name}: {}", answer.body);
    }
    let nul = admin
        .post("/api/v1/nodes", &json!({ "name": "n_nul", "command": "echo a\u{0}b" }).to_string())
        .await;
    assert_eq!(nul.status, 400, "{}", nul.body);
    assert!(nul.body.contains("command"), "{}", nul.body);
    let multi = admin
        .post(
            "/api/v1/nodes",
            &json!({ "name": "n_lines", "command": "echo a\n\techo b" }).to_string(),
        )
        .await;
    assert_eq!(multi.status, 201, "lines and tabs are fine: {}", multi.body);
    for name in ["a\u{0}b", "evil\u{202e}gnp.exe", "bell\u{7}"] {
        let answer = admin.post("/api/v1/tokens", &json!({ "name": name }).to_string()).await;
        assert_eq!(answer.status, 400, "{name:?}: {}", answer.body);
    }
    server.stop().await;
}

/// Finding 10: five wrong passwords from anywhere locked the administrator out for minutes.
#[tokio::test]
async fn guessing_from_one_address_does_not_lock_the_account_elsewhere() {
    let (server, _dir, _) = live_server(Arc::new(SystemClock), &[]).await;
    let login = |password: &str| json!({ "username": "admin", "password": password }).to_string();
    for _ in 0..8 {
        let answer = send_from(
            [127, 0, 0, 2],
            server.addr,
            "POST",
            "/api/v1/login",
            Some(&login("wrong-guess")),
            &[],
        )
        .await;
        assert!(matches!(answer.status, 401 | 429), "{}", answer.body);
    }
    let locked = send_from(
        [127, 0, 0, 2],
        server.addr,
        "POST",
        "/api/v1/login",
        Some(&login(ADMIN_PASSWORD)),
        &[],
    )
    .await;
    assert_eq!(locked.status, 429, "the guessing address is locked, right password or not");
    // The administrator, from her own address, waits a few seconds at most.
    let signed_in = eventually("the administrator signs in from elsewhere", async || {
        let answer = send_from(
            [127, 0, 0, 3],
            server.addr,
            "POST",
            "/api/v1/login",
            Some(&login(ADMIN_PASSWORD)),
            &[],
        )
        .await;
        (answer.status == 200).then_some(())
    });
    tokio::time::timeout(Duration::from_secs(8), signed_in).await.expect("in seconds, not minutes");
    server.stop().await;
}

/// Finding 11: oversized bodies answered 413, 400 or 500 depending on the route; malformed
/// server function arguments 500; viewers got 400 before 403.
#[tokio::test]
async fn bodies_and_arguments_are_refused_alike_everywhere() {
    let (server, _dir, admin) = live_server(Arc::new(SystemClock), &[]).await;
    add_user(&server, "vera", "vera-password", Role::Viewer).await;
    let vera = Api::token(server.addr, "vera", "vera-password").await;
    let big = format!(r#"{{"name": "n_big", "command": "{}"}}"#, "x".repeat(3 << 20));
    for path in ["/api/v1/nodes", "/api/v1/import", app::api::CreateNode::PATH, "/api/v1/backfills"]
    {
        let answer = admin.post(path, &big).await;
        assert_eq!(answer.status, 413, "{path}: {}", &answer.body[..answer.body.len().min(200)]);
    }
    let malformed = admin.post(app::api::RunOperation::PATH, r#"{"id": "x", "op": "kill"}"#).await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    let value: Value = serde_json::from_str(&malformed.body).unwrap();
    assert_eq!(value["code"], "bad_request");
    for (path, body) in [
        ("/api/v1/nodes", "not json"),
        ("/api/v1/instances/1/rerun-downstream", "{"),
        ("/api/v1/instances/batch/rerun", "[]"),
        ("/api/v1/backfills", r#"{"node": 1}"#),
        ("/api/v1/snapshots", "x"),
    ] {
        let answer = vera.post(path, body).await;
        assert_eq!(
            answer.status, 403,
            "a viewer is refused before her body is read: {path}: {}",
            answer.body
        );
        let answer = admin.post(path, body).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
    }
    server.stop().await;
}

/// What an API fuzzer found (issue 18), each refused with a 400 that changes nothing: a JSON
/// body that is not an object (serde would read an array as the fields in order), a page size
/// out of range on every list, an unknown field in a batch's filter (a typo must not widen it
/// to everything), a resource group without slots (it was a 500). And the health check says
/// that the database answers.
#[tokio::test]
async fn what_the_fuzzer_found_is_refused_and_changes_nothing() {
    let (server, _dir, admin) = live_server(Arc::new(SystemClock), &[]).await;
    let imported = admin
        .post("/api/v1/import", &common::node("fz_run", "sleep 30", "schedule = \"0 0 * * *\""))
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    let made = admin.post("/api/v1/snapshots", r#"{"run_date": "2020-01-02"}"#).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let id = eventually("the instance runs", async || {
        let list = admin.get("/api/v1/instances?state=running").await.json();
        list["items"][0]["id"].as_i64()
    })
    .await;
    for (method, path, body) in [
        ("POST", format!("/api/v1/instances/{id}/kill"), "[]"),
        ("POST", "/api/v1/instances/batch/kill".to_string(), "[[1]]"),
        ("POST", "/api/v1/tokens".to_string(), r#"["n"]"#),
        ("POST", "/api/v1/nodes".to_string(), r#"["n", "default", "", "echo hi"]"#),
        ("PUT", "/api/v1/users/admin".to_string(), "[null, null]"),
        ("POST", "/api/v1/snapshots".to_string(), "null"),
        (
            "POST",
            "/api/v1/instances/batch/kill".to_string(),
            r#"{"filter": {"stat": ["running"]}}"#,
        ),
        ("PUT", "/api/v1/resource-groups/none".to_string(), r#"{"slots": 0}"#),
    ] {
        let answer = match method {
            "POST" => admin.post(&path, body).await,
            _ => admin.put(&path, body).await,
        };
        assert_eq!(answer.status, 400, "{method} {path} {body}: {}", answer.body);
    }
    assert_eq!(admin.get(&format!("/api/v1/instances/{id}")).await.json()["state"], "running");
    assert_eq!(admin.get("/api/v1/nodes/n").await.status, 404);
    assert!(!admin.get("/api/v1/resource-groups").await.body.contains("none"));
    let not_object = admin.post(&format!("/api/v1/instances/{id}/kill"), "[]").await;
    assert!(not_object.body.contains("must be a JSON object"), "{}", not_object.body);
    for list in [
        "/api/v1/audit",
        "/api/v1/backfills",
        "/api/v1/users",
        "/api/v1/instances",
        "/api/v1/nodes",
        "/api/v1/alerts",
    ] {
        for limit in ["0", "501"] {
            let answer = admin.get(&format!("{list}?limit={limit}")).await;
            assert_eq!(answer.status, 400, "{list}?limit={limit}: {}", answer.body);
        }
        assert_eq!(admin.get(&format!("{list}?limit=500")).await.status, 200, "{list}");
    }
    let health = admin.get("/api/v1/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["database"], "ok");
    let _ = admin.post(&format!("/api/v1/instances/{id}/kill"), "").await;
    server.stop().await;
}
