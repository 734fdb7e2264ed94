//! Logging in and out, sessions and tokens that end, the login throttle, CSRF, the accounts
//! `--demo` makes, and passwords that never show up in a log, a response or the database.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;

use app::people::Role;
use common::http::{Api, send};
use common::{ADMIN_PASSWORD, add_user, live_server, start_server, wait_for_address};
use server::engine::clock::{ManualClock, SystemClock};

fn login_body(name: &str, password: &str) -> String {
    serde_json::json!({ "username": name, "password": password }).to_string()
}

#[tokio::test]
async fn a_session_signs_in_carries_its_csrf_token_and_ends_at_logout() {
    let (server, _dir, _) = live_server(Arc::new(SystemClock), &[]).await;
    let addr = server.addr;
    let login =
        send(addr, "POST", "/api/v1/login", Some(&login_body("admin", ADMIN_PASSWORD)), &[]).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let set_cookie = login.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert_eq!(login.json()["name"], "admin");
    assert_eq!(login.json()["role"], "admin");

    let admin = Api::session(addr, "admin", ADMIN_PASSWORD).await;
    let me = admin.get("/api/v1/me").await.json();
    assert_eq!((me["name"].as_str(), me["role"].as_str()), (Some("admin"), Some("admin")));
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    assert_eq!(admin.headers[1].1, csrf, "me tells the session's CSRF token");

    // A wrong CSRF token is as good as none.
    let wrong = admin.with("X-CSRF-Token", &"0".repeat(64));
    let refused = wrong.post("/api/v1/nodes", r#"{"name": "x", "command": "true"}"#).await;
    assert_eq!(refused.status, 403);
    assert_eq!(admin.get("/api/v1/nodes/x").await.status, 404);

    let out = admin.post("/api/v1/logout", "").await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(admin.get("/api/v1/me").await.status, 401, "the cookie is dead after logout");
    server.stop().await;
}

#[tokio::test]
async fn forged_revoked_and_expired_credentials_are_refused() {
    let clock = ManualClock::new("2026-03-10T12:00:00Z".parse().unwrap());
    let (server, _dir, admin_token) = live_server(clock.clone(), &[]).await;
    let addr = server.addr;

    // Forged: a made-up cookie and a made-up token.
    let forged_cookie =
        Api::anonymous(addr).with("Cookie", &format!("nightshift_session={}", "ab".repeat(32)));
    assert_eq!(forged_cookie.get("/api/v1/me").await.status, 401);
    let page = forged_cookie.get("/cycle?state=failed").await;
    assert_eq!(page.status, 303, "pages send strangers to the login page");
    assert_eq!(page.header("location"), Some("/login?next=%2Fcycle%3Fstate%3Dfailed"));
    let forged_token =
        Api::anonymous(addr).with("Authorization", &format!("Bearer ns_{}", "0".repeat(64)));
    let answer = forged_token.get("/api/v1/me").await;
    assert_eq!(answer.status, 401);
    assert!(answer.body.contains("not valid"), "{}", answer.body);
    assert_eq!(
        Api::anonymous(addr).with("Authorization", "Basic YWRtaW4=").get("/api/v1/me").await.status,
        401
    );
    assert_eq!(admin_token.get("/api/v1/me").await.status, 200);

    // Revoked.
    let session = Api::session(addr, "admin", ADMIN_PASSWORD).await;
    let created =
        session.post("/api/v1/tokens", r#"{"name": "short", "expires_in_days": 1}"#).await.json();
    let short = Api::anonymous(addr)
        .with("Authorization", &format!("Bearer {}", created["token"].as_str().unwrap()));
    assert_eq!(short.get("/api/v1/me").await.status, 200);
    let revocable = session.post("/api/v1/tokens", r#"{"name": "revoked"}"#).await.json();
    let revoked = Api::anonymous(addr)
        .with("Authorization", &format!("Bearer {}", revocable["token"].as_str().unwrap()));
    assert_eq!(revoked.get("/api/v1/me").await.status, 200);
    let listed = session.get("/api/v1/tokens").await.json();
    assert!(
        !listed.to_string().contains(revocable["token"].as_str().unwrap()),
        "the secret is shown once"
    );
    assert_eq!(session.delete(&format!("/api/v1/tokens/{}", revocable["id"])).await.status, 204);
    assert_eq!(revoked.get("/api/v1/me").await.status, 401);

    // Expired: the day-long token after a day, an idle session after 12 hours.
    clock.advance(chrono::Duration::hours(11));
    assert_eq!(session.get("/api/v1/me").await.status, 200, "still within the idle time");
    clock.advance(chrono::Duration::hours(13));
    assert_eq!(short.get("/api/v1/me").await.status, 401, "the token expired");
    assert_eq!(admin_token.get("/api/v1/me").await.status, 200, "a token without expiry lives on");
    assert_eq!(session.get("/api/v1/me").await.status, 401, "idle for 13 hours");

    // However busy, a session ends 7 days after its login.
    let busy = Api::session(addr, "admin", ADMIN_PASSWORD).await;
    for _ in 0..17 {
        assert_eq!(busy.get("/api/v1/me").await.status, 200);
        clock.advance(chrono::Duration::hours(10));
    }
    assert_eq!(busy.get("/api/v1/me").await.status, 401, "170 hours: past its 7 days");
    server.stop().await;
}

#[tokio::test]
async fn password_guessing_is_slowed_per_account_and_per_address() {
    let clock = ManualClock::new("2026-03-10T12:00:00Z".parse().unwrap());
    let (server, _dir, _) = live_server(clock.clone(), &[]).await;
    let addr = server.addr;
    add_user(&server, "dave", "dave-password", Role::Developer).await;
    let login = async |name: &str, password: &str| {
        send(addr, "POST", "/api/v1/login", Some(&login_body(name, password)), &[]).await
    };
    for attempt in 1..=5 {
        let wrong = login("dave", "guess").await;
        assert_eq!(wrong.status, 401, "attempt {attempt}");
        assert_eq!(wrong.json()["error"]["message"], "wrong user name or password");
    }
    // Locked: even the right password is refused, without saying whether it was right.
    let locked = login("dave", "dave-password").await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(locked.body.contains("too many failed logins; try again in 30 s"), "{}", locked.body);
    // Another account from the same address is not locked yet.
    assert_eq!(login("admin", ADMIN_PASSWORD).await.status, 200);
    clock.advance(chrono::Duration::seconds(31));
    assert_eq!(login("dave", "dave-password").await.status, 200, "the lock ended");

    // Unknown names count against the address: at 20 failures (dave's 5 among them) it is
    // locked for everyone.
    for n in 0..15 {
        assert_eq!(login(&format!("nobody{n}"), "guess").await.status, 401);
    }
    assert_eq!(login("admin", ADMIN_PASSWORD).await.status, 429);
    clock.advance(chrono::Duration::seconds(31));
    assert_eq!(login("admin", ADMIN_PASSWORD).await.status, 200);

    // The audit trail has the refusals, without the names that match no account.
    let admin = Api::session(addr, "admin", ADMIN_PASSWORD).await;
    let audit = admin.get("/api/v1/audit?action=login&outcome=refused&limit=100").await.json();
    let actors: Vec<&str> =
        audit["items"].as_array().unwrap().iter().filter_map(|e| e["actor"].as_str()).collect();
    assert!(actors.contains(&"dave") && actors.contains(&"(unknown account)"), "{actors:?}");
    assert!(!actors.iter().any(|a| a.starts_with("nobody")), "{actors:?}");
    server.stop().await;
}

#[tokio::test]
async fn forms_and_logins_from_other_sites_are_refused() {
    let (server, _dir, _) = live_server(Arc::new(SystemClock), &[]).await;
    let addr = server.addr;
    let form = |fields: &str| fields.to_string();
    let urlencoded = ("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string());

    // The login form: a cookie and a redirect to where the person was going.
    let body = form(&format!("username=admin&password={ADMIN_PASSWORD}&next=%2Fbackfill"));
    let ok = send(addr, "POST", "/login", Some(&body), std::slice::from_ref(&urlencoded)).await;
    assert_eq!((ok.status, ok.header("location")), (303, Some("/backfill")));
    let cookie = ok.cookie("nightshift_session").unwrap();
    // A wrong password goes back to the form with the reason, and no cookie.
    let body = form("username=admin&password=nope&next=%2F");
    let wrong = send(addr, "POST", "/login", Some(&body), std::slice::from_ref(&urlencoded)).await;
    assert_eq!(wrong.status, 303);
    assert!(wrong.header("location").unwrap().starts_with("/login?error=wrong_password&"));
    assert!(wrong.cookie("nightshift_session").is_none());
    // Somewhere else after login is refused: only paths of this site.
    let body =
        form(&format!("username=admin&password={ADMIN_PASSWORD}&next=https%3A%2F%2Fevil.example"));
    let away = send(addr, "POST", "/login", Some(&body), std::slice::from_ref(&urlencoded)).await;
    assert_eq!(away.header("location"), Some("/"));
    // A login posted by another site's page.
    let evil = ("Origin".to_string(), "http://evil.example".to_string());
    let body = form(&format!("username=admin&password={ADMIN_PASSWORD}"));
    let cross =
        send(addr, "POST", "/login", Some(&body), &[urlencoded.clone(), evil.clone()]).await;
    assert_eq!(cross.status, 403);
    let cross =
        send(addr, "POST", "/api/v1/login", Some(&login_body("admin", ADMIN_PASSWORD)), &[evil])
            .await;
    assert_eq!(cross.status, 403);

    // The logout form needs the session's CSRF token.
    let session = ("Cookie".to_string(), format!("nightshift_session={cookie}"));
    let me = send(addr, "GET", "/api/v1/me", None, std::slice::from_ref(&session)).await.json();
    let forged = send(
        addr,
        "POST",
        "/logout",
        Some("csrf_token=nope"),
        &[urlencoded.clone(), session.clone()],
    )
    .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        send(addr, "GET", "/api/v1/me", None, std::slice::from_ref(&session)).await.status,
        200
    );
    let body = format!("csrf_token={}", me["csrf_token"].as_str().unwrap());
    let out = send(addr, "POST", "/logout", Some(&body), &[urlencoded, session.clone()]).await;
    assert_eq!((out.status, out.header("location")), (303, Some("/login")));
    assert_eq!(send(addr, "GET", "/api/v1/me", None, &[session]).await.status, 401);
    server.stop().await;
}

#[tokio::test]
async fn people_change_their_password_and_administrators_disable_accounts() {
    let (server, _dir, _) = live_server(Arc::new(SystemClock), &[]).await;
    let addr = server.addr;
    add_user(&server, "dave", "dave-password", Role::Developer).await;
    let admin = Api::session(addr, "admin", ADMIN_PASSWORD).await;
    let dave = Api::session(addr, "dave", "dave-password").await;
    // Their own password, with the current one; their own role, no.
    let changed = dave
        .put(
            "/api/v1/users/dave",
            r#"{"password": "dave-new-password", "current_password": "dave-password"}"#,
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(dave.get("/api/v1/me").await.status, 401, "a new password ends the sessions");
    let dave = Api::session(addr, "dave", "dave-new-password").await;
    let dave_token = Api::token(addr, "dave", "dave-new-password").await;
    assert_eq!(dave.put("/api/v1/users/dave", r#"{"role": "admin"}"#).await.status, 403);
    let short = dave
        .put(
            "/api/v1/users/dave",
            r#"{"password": "short", "current_password": "dave-new-password"}"#,
        )
        .await;
    assert_eq!(short.status, 400);
    assert_eq!(short.json()["error"]["message"], "the password must have at least 8 characters");
    assert_eq!(admin.put("/api/v1/users/admin", r#"{"disabled": true}"#).await.status, 409);

    // Disabled: no login, no session, no token.
    let disabled = admin.put("/api/v1/users/dave", r#"{"disabled": true}"#).await;
    assert_eq!(disabled.json()["disabled"], true);
    assert_eq!(dave.get("/api/v1/me").await.status, 401);
    assert_eq!(dave_token.get("/api/v1/me").await.status, 401);
    let login =
        send(addr, "POST", "/api/v1/login", Some(&login_body("dave", "dave-new-password")), &[])
            .await;
    assert_eq!(login.status, 401);
    admin.put("/api/v1/users/dave", r#"{"disabled": false}"#).await;
    assert_eq!(
        dave_token.get("/api/v1/me").await.status,
        401,
        "enabled again, its tokens stay dead"
    );

    // Bad input is refused clearly and makes nobody.
    for (body, message) in [
        (
            r#"{"name": "Bad Name", "password": "long-enough", "role": "viewer"}"#,
            "user name 'Bad Name' must be",
        ),
        (r#"{"name": "ok", "password": "short", "role": "viewer"}"#, "at least 8 characters"),
        (r#"{"name": "ok", "password": "long-enough", "role": "boss"}"#, "unknown variant"),
        (r#"{"name": "dave", "password": "long-enough", "role": "viewer"}"#, "already exists"),
    ] {
        let refused = admin.post("/api/v1/users", body).await;
        assert!(matches!(refused.status, 400 | 409), "{body}: {}", refused.body);
        assert!(refused.body.contains(message), "{body}: {}", refused.body);
    }
    let users = admin.get("/api/v1/users").await.json();
    let names: Vec<&str> =
        users["items"].as_array().unwrap().iter().filter_map(|u| u["name"].as_str()).collect();
    assert_eq!(names, ["admin", "dave"]);
    server.stop().await;
}

/// What the login page's public server function says, asked anonymously.
async fn login_hints(addr: std::net::SocketAddr) -> common::http::Response {
    let path = <app::api::FetchLoginHints as server_fn::ServerFn>::PATH;
    send(addr, "POST", path, Some("{}"), &[]).await
}

#[tokio::test]
async fn demo_accounts_exist_only_with_demo() {
    let (plain, _plain_dir) = start_server(Arc::new(SystemClock), &[]).await;
    let hints = login_hints(plain.addr).await;
    assert_eq!(hints.json(), serde_json::json!({"demo": false, "no_accounts": true}));
    for (name, password, _, _) in app::people::DEMO_ACCOUNTS {
        let login =
            send(plain.addr, "POST", "/api/v1/login", Some(&login_body(name, password)), &[]).await;
        assert_eq!(login.status, 401, "no {name} without --demo");
    }
    plain.stop().await;

    let (demo, _demo_dir) = start_server(Arc::new(SystemClock), &["--demo"]).await;
    for (name, password, role, _) in app::people::DEMO_ACCOUNTS {
        let me = Api::session(demo.addr, name, password).await.get("/api/v1/me").await.json();
        assert_eq!(me["role"], role.as_str());
    }
    let hints = login_hints(demo.addr).await;
    assert_eq!(hints.json(), serde_json::json!({"demo": true, "no_accounts": false}));
    demo.stop().await;
}

/// Reads the server's output until it says where it serves.
#[tokio::test]
async fn passwords_never_appear_in_logs_responses_or_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_nightshift");
    let first = "first-secret-Xq7";
    let second = "second-secret-Zp9";
    let third = "third-secret-Wk4";
    // The first account, from the command line (password from the environment, then stdin).
    let added = Command::new(binary)
        .args(["user", "add", "--name", "root", "--role", "admin", "--data-dir"])
        .arg(dir.path())
        .env("NIGHTSHIFT_PASSWORD", first)
        .env("NIGHTSHIFT_LOG", "trace")
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let mut everything = String::from_utf8_lossy(&added.stdout).to_string();
    everything.push_str(&String::from_utf8_lossy(&added.stderr));
    assert!(everything.contains("added root as admin"), "{everything}");
    let mut child = Command::new(binary)
        .args(["user", "add", "--name", "piped", "--role", "viewer", "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(format!("{third}\n").as_bytes()).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success(), "{}", String::from_utf8_lossy(&piped.stderr));
    everything.push_str(&String::from_utf8_lossy(&piped.stdout));
    everything.push_str(&String::from_utf8_lossy(&piped.stderr));

    // The server, logging everything it can.
    let log = dir.path().join("server.log");
    let mut server = Command::new(binary)
        .args(["--listen", "127.0.0.1:0", "--site-root", "/nonexistent", "--data-dir"])
        .arg(dir.path())
        .env("NIGHTSHIFT_LOG", "trace")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.path().join("server.err")).unwrap())
        .spawn()
        .unwrap();
    let addr = wait_for_address(&log);
    let mut answers = Vec::new();
    let wrong = send(addr, "POST", "/api/v1/login", Some(&login_body("root", second)), &[]).await;
    assert_eq!(wrong.status, 401);
    // People type passwords into the name field.
    let swapped = send(addr, "POST", "/api/v1/login", Some(&login_body(first, "root")), &[]).await;
    assert_eq!(swapped.status, 401);
    answers.extend([wrong.body, swapped.body]);
    let root = Api::session(addr, "root", first).await;
    let piped_login = Api::session(addr, "piped", third).await;
    answers.push(piped_login.get("/api/v1/me").await.body);
    let body = serde_json::json!({ "name": "newbie", "password": second, "role": "developer" })
        .to_string();
    answers.push(root.post("/api/v1/users", &body).await.body);
    let body = serde_json::json!({ "password": format!("{second}-again") }).to_string();
    answers.push(root.put("/api/v1/users/newbie", &body).await.body);
    let form = format!("username=newbie&password={second}-again");
    let urlencoded = ("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string());
    let via_form = send(addr, "POST", "/login", Some(&form), &[urlencoded]).await;
    assert_eq!(via_form.status, 303);
    answers.push(via_form.headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect());
    for path in ["/api/v1/users", "/api/v1/me", "/api/v1/audit?limit=100", "/api/v1/tokens"] {
        answers.push(root.get(path).await.body);
    }
    let audit = root.get("/api/v1/audit?limit=100").await.json();
    assert!(audit["items"].as_array().unwrap().len() >= 5, "the logins and changes were audited");

    let _ = server.kill();
    let _ = server.wait();
    everything.push_str(&std::fs::read_to_string(&log).unwrap());
    everything.push_str(&std::fs::read_to_string(dir.path().join("server.err")).unwrap());
    assert!(everything.contains("signed in"), "the log is really there: {everything}");
    let mut database = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().contains("nightshift.db") {
            database.extend(std::fs::read(&path).unwrap());
        }
    }
    let database = String::from_utf8_lossy(&database);
    for secret in [first, second, third] {
        assert!(!everything.contains(secret), "{secret} is in the server's output");
        for answer in &answers {
            assert!(!answer.contains(secret), "{secret} is in a response: {answer}");
        }
        assert!(!database.contains(secret), "{secret} is in the database file");
    }
}
