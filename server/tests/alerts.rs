//! Alerts against real receivers: an HTTP server and an SMTP server this test starts on
//! 127.0.0.1, a live Nightshift server on a manual clock, real failing commands. What fired is
//! read back from `GET /api/v1/alerts`; what arrived, from the receivers.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::people::Role;
use axum::extract::State;
use axum::http::HeaderMap;
use common::http::Api;
use common::{ADMIN_PASSWORD, add_user, eventually, live_server, node, start_server_in};
use serde_json::{Value, json};
use server::engine::clock::ManualClock;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What a receiver got: the JSON body, the alert id header, and when.
#[derive(Debug, Clone)]
struct Received {
    body: Value,
    alert_id: String,
    at: Instant,
}

type Inbox = Arc<Mutex<Vec<Received>>>;

/// A webhook receiver: `POST /hook` answers 200 and keeps what it got.
struct Receiver {
    addr: SocketAddr,
    inbox: Inbox,
    stop: tokio_util::sync::CancellationToken,
}

impl Receiver {
    async fn start() -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").await.unwrap()).await
    }

    async fn on(listener: TcpListener) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let inbox = Inbox::default();
        let app = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(
                    |State(inbox): State<Inbox>, headers: HeaderMap, body: String| async move {
                        let alert_id = headers
                            .get("x-nightshift-alert")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        let body = serde_json::from_str(&body).unwrap_or(Value::Null);
                        inbox.lock().unwrap().push(Received { body, alert_id, at: Instant::now() });
                        "ok"
                    },
                ),
            )
            .with_state(inbox.clone());
        let stop = tokio_util::sync::CancellationToken::new();
        let cancelled = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { cancelled.cancelled().await })
                .await
                .unwrap();
        });
        Receiver { addr, inbox, stop }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn got(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    /// What arrived about `event`.
    fn of(&self, event: &str) -> Vec<Received> {
        self.got().into_iter().filter(|r| r.body["event"] == event).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A small SMTP server (EHLO, MAIL, RCPT, DATA, QUIT) that keeps every message it is given.
async fn smtp_server() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let messages: Arc<Mutex<Vec<String>>> = Arc::default();
    let kept = messages.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-test\r\n250 8BITMIME\r\n",
                        "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
                        "DATA" => {
                            write.write_all(b"354 end with .\r\n").await.unwrap();
                            let mut message = String::new();
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                                message.push_str(&line);
                                message.push('\n');
                            }
                            kept.lock().unwrap().push(message);
                            b"250 OK queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"500 what?\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (addr, messages)
}

const START: &str = "2026-12-01T00:00:00Z";

fn clock() -> Arc<ManualClock> {
    ManualClock::new(START.parse().unwrap())
}

fn at(time: &str) -> chrono::DateTime<chrono::Utc> {
    format!("2026-12-01T{time}Z").parse().unwrap()
}

async fn import(api: &Api, toml: &str) {
    let response = api.post("/api/v1/import", toml).await;
    assert_eq!(response.status, 200, "{}", response.body);
}

async fn snapshot(api: &Api) {
    let response = api.post("/api/v1/snapshots", r#"{"run_date": "2026-12-01"}"#).await;
    assert_eq!(response.status, 200, "{}", response.body);
}

async fn rule(api: &Api, body: Value) -> i64 {
    let response = api.post("/api/v1/alert-rules", &body.to_string()).await;
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()["id"].as_i64().unwrap()
}

/// The node's instance of 2026-12-01 (there is one).
async fn instance(api: &Api, node: &str) -> Value {
    let page = api.get(&format!("/api/v1/instances?node={node}")).await.json();
    page["items"].as_array().unwrap().iter().find(|i| i["node"] == node).unwrap().clone()
}

async fn wait_state(api: &Api, node: &str, state: &str) -> Value {
    eventually(&format!("{node} {state}"), async || {
        let instance = instance(api, node).await;
        (instance["state"] == state).then_some(instance)
    })
    .await
}

async fn alerts(api: &Api, query: &str) -> Vec<Value> {
    let page = api.get(&format!("/api/v1/alerts?{query}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.json()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn failures_recoveries_and_cooldowns_reach_a_webhook_with_every_field() {
    let clock = clock();
    let (_server, dir, api) =
        live_server(clock.clone(), &["--public-url", "http://ops.test"]).await;
    let hook = Receiver::start().await;
    let marker = dir.path().join("fixed");
    let fail_once = format!("test -f {}", marker.display());
    import(&api, &(node("a_bad", &fail_once, "") + &node("b_bad", "exit 3", ""))).await;
    let channels = json!([{ "webhook": hook.url() }]);
    let failed = rule(
        &api,
        json!({"name": "a fails", "node": "a_bad", "event": "failed",
        "channels": channels}),
    )
    .await;
    let exhausted = rule(
        &api,
        json!({"name": "alice's, for good", "owner": "alice",
        "event": "retries_exhausted", "channels": channels, "cooldown_mins": 60}),
    )
    .await;
    let recovered = rule(
        &api,
        json!({"name": "a recovers", "node": "a_bad",
        "event": "recovered", "channels": channels}),
    )
    .await;
    snapshot(&api).await;

    clock.set(at("01:00:00"));
    let a = wait_state(&api, "a_bad", "failed").await;
    let seen = Instant::now();
    wait_state(&api, "b_bad", "failed").await;
    let posted = eventually("the failed alert", async || hook.of("failed").pop()).await;
    assert!(
        posted.at.saturating_duration_since(seen) < Duration::from_secs(2),
        "the alert arrived {:?} after the failure",
        posted.at.saturating_duration_since(seen)
    );
    let id = a["id"].as_i64().unwrap();
    let body = &posted.body;
    assert_eq!(body["rule"], "a fails");
    assert_eq!(body["rule_id"], failed);
    assert_eq!(body["event"], "failed");
    let expected = json!({
        "id": id, "node": "a_bad", "workflow": "default", "owner": "alice", "state": "failed",
        "run_type": "cycle", "bizdate": "2026-11-30", "run_date": "2026-12-01", "attempt": 1,
        "reason": a["reason"], "url": format!("http://ops.test/instances/{id}"),
    });
    assert_eq!(body["instance"], expected);
    assert!(body["at"].as_str().unwrap().starts_with("2026-12-01T01:00:00"), "{body}");
    assert!(!posted.alert_id.is_empty());

    // Both nodes failed for good: the rule with a cooldown sent the first and folded the second.
    let folded = eventually("the second exhausted alert recorded", async || {
        let fired = alerts(&api, &format!("rule={exhausted}")).await;
        (fired.len() == 2).then_some(fired)
    })
    .await;
    let statuses: Vec<&str> = folded.iter().map(|a| a["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"folded"), "{statuses:?}");
    eventually("the first exhausted alert delivered", async || {
        let fired = alerts(&api, &format!("rule={exhausted}&status=delivered")).await;
        (fired.len() == 1).then_some(())
    })
    .await;
    assert_eq!(hook.of("retries_exhausted").len(), 1);

    // Fixed and rerun: it recovered, once.
    std::fs::write(&marker, "").unwrap();
    let rerun = api.post(&format!("/api/v1/instances/{id}/rerun"), "{}").await;
    assert_eq!(rerun.status, 200, "{}", rerun.body);
    wait_state(&api, "a_bad", "success").await;
    let back = eventually("the recovered alert", async || hook.of("recovered").pop()).await;
    assert_eq!(back.body["rule_id"], recovered);
    assert_eq!(back.body["instance"]["attempt"], 2);
    let history = alerts(&api, &format!("instance={id}")).await;
    let events: Vec<&str> = history.iter().map(|a| a["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["recovered", "retries_exhausted", "failed"], "newest first");
    eventually("every delivery recorded", async || {
        let delivered = alerts(&api, "status=delivered").await;
        (delivered.len() == 3).then_some(())
    })
    .await;
    let delivered = alerts(&api, &format!("rule={failed}")).await;
    let delivery = &delivered[0]["deliveries"][0];
    assert_eq!(delivery["status"], "delivered");
    assert_eq!(delivery["tries"], 1);
    // The history shows where it went by host only (a hook's path may be its secret).
    assert_eq!(delivery["channel"]["webhook"], format!("http://{}/…", hook.addr));
    assert_eq!(hook.got().len(), 3, "nothing twice, nothing folded sent");
}

#[tokio::test]
async fn a_delivery_is_retried_until_the_receiver_is_back_also_across_a_restart() {
    let clock = clock();
    let (server, dir, api) = live_server(clock.clone(), &[]).await;
    // An address where nothing listens yet.
    let address = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    import(&api, &node("bad", "exit 1", "")).await;
    let url = format!("http://{address}/hook");
    rule(
        &api,
        json!({"name": "r", "node": "bad", "event": "failed",
        "channels": [{"webhook": url}]}),
    )
    .await;
    snapshot(&api).await;
    clock.set(at("01:00:00"));
    wait_state(&api, "bad", "failed").await;
    // Tries back off in the clock's time (1 s, 2 s, …): move it on while waiting.
    let pending = eventually("two failed tries", async || {
        clock.advance(chrono::Duration::seconds(5));
        let fired = alerts(&api, "").await;
        let delivery = fired.first()?["deliveries"][0].clone();
        (delivery["tries"].as_u64()? >= 2).then_some(fired)
    })
    .await;
    assert_eq!(pending[0]["status"], "pending");
    let error = pending[0]["deliveries"][0]["last_error"].as_str().unwrap();
    assert!(error.contains("could not reach the receiver"), "{error}");
    assert!(!error.contains("/hook"), "no address in the error: {error}");
    server.stop().await;

    // The receiver comes back while the server is down; the server comes back and delivers.
    let hook = Receiver::on(TcpListener::bind(address).await.unwrap()).await;
    clock.advance(chrono::Duration::minutes(10));
    let server = start_server_in(&dir, clock.clone(), &[]).await;
    let api = Api::token(server.addr, "admin", ADMIN_PASSWORD).await;
    eventually("delivered after the restart", async || {
        let fired = alerts(&api, "status=delivered").await;
        (fired.len() == 1).then_some(())
    })
    .await;
    let got = hook.got();
    assert_eq!(got.len(), 1, "arrived once: {got:?}");
    assert_eq!(got[0].body["instance"]["node"], "bad");
    server.stop().await;
}

#[tokio::test]
async fn deadlines_and_slow_runs_fire_on_the_clock_once() {
    let clock = clock();
    let (_server, dir, api) = live_server(clock.clone(), &["--timezone", "Asia/Shanghai"]).await;
    let hook = Receiver::start().await;
    let gate = dir.path().join("gate");
    import(&api, &node("slow", &common::wait_for_file(&gate), "schedule = \"0 9 * * *\"")).await;
    let channels = json!([{ "webhook": hook.url() }]);
    // 09:00 in Shanghai is 01:00 UTC: the node starts then.
    rule(
        &api,
        json!({"name": "late", "node": "slow", "event": "not_finished_by",
        "at": "10:00", "channels": channels}),
    )
    .await;
    let long_rule = rule(
        &api,
        json!({"name": "long", "workflow": "default", "event": "running_longer_than",
        "minutes": 30, "channels": channels}),
    )
    .await;
    // A shorter limit on the same run: the look that fires it is the look at 01:29.
    rule(
        &api,
        json!({"name": "shorter", "node": "slow", "event": "running_longer_than",
        "minutes": 20, "channels": channels}),
    )
    .await;
    let response = api.post("/api/v1/snapshots", r#"{"run_date": "2026-12-01"}"#).await;
    assert_eq!(response.status, 200);
    clock.set(at("01:00:00"));
    wait_state(&api, "slow", "running").await;
    clock.set(at("01:29:00"));
    // One look sees both rules at one moment: the 20-minute one fires, the 30-minute one not.
    let shorter = eventually("running longer than 20 minutes", async || {
        hook.of("running_longer_than").into_iter().find(|r| r.body["rule"] == "shorter")
    })
    .await;
    assert_eq!(shorter.body["at"], "2026-12-01T01:29:00.000Z");
    assert!(alerts(&api, &format!("rule={long_rule}")).await.is_empty());
    clock.set(at("01:31:00"));
    let long = eventually("running longer than 30 minutes", async || {
        hook.of("running_longer_than").into_iter().find(|r| r.body["rule"] == "long")
    })
    .await;
    assert_eq!(long.body["instance"]["state"], "running");
    assert_eq!(long.body["at"], "2026-12-01T01:31:00.000Z");
    clock.set(at("02:00:00"));
    let late = eventually("not finished by 10:00", async || hook.of("not_finished_by").pop()).await;
    assert_eq!(late.body["instance"]["node"], "slow");
    assert_eq!(late.body["at"], "2026-12-01T02:00:00.000Z");
    std::fs::write(&gate, "").unwrap();
    wait_state(&api, "slow", "success").await;
    clock.set(at("03:00:00"));
    eventually("every alert recorded and sent", async || {
        (alerts(&api, "status=delivered").await.len() == 3).then_some(())
    })
    .await;
    assert_eq!(hook.got().len(), 3, "each once: {:?}", hook.got());
}

#[tokio::test]
async fn an_email_alert_arrives_at_an_smtp_server() {
    let (smtp, messages) = smtp_server().await;
    let smtp_url = format!("smtp://{smtp}");
    let clock = clock();
    let (_server, _dir, api) = live_server(
        clock.clone(),
        &["--smtp-url", &smtp_url, "--smtp-from", "nightshift@example.com"],
    )
    .await;
    import(&api, &node("mailed", "echo boom >&2; exit 4", "")).await;
    rule(
        &api,
        json!({"name": "mail me", "event": "failed",
        "channels": [{"email": "oncall@example.com"}]}),
    )
    .await;
    snapshot(&api).await;
    clock.set(at("01:00:00"));
    wait_state(&api, "mailed", "failed").await;
    let message =
        eventually("the e-mail", async || messages.lock().unwrap().first().cloned()).await;
    assert!(message.contains("Subject: [Nightshift] failed: mailed (2026-11-30)"), "{message}");
    assert!(message.contains("To: oncall@example.com"), "{message}");
    assert!(message.contains("From: nightshift@example.com"), "{message}");
    assert!(message.contains("Node: mailed"), "{message}");
    eventually("the delivery recorded", async || {
        (alerts(&api, "status=delivered").await.len() == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn bad_rules_are_refused_field_by_field_and_nothing_is_saved() {
    let (server, dir, api) = live_server(ManualClock::new(START.parse().unwrap()), &[]).await;
    import(&api, &node("mine", "true", "")).await;
    let hook = json!([{"webhook": "http://127.0.0.1:9/hook"}]);
    let base = json!({"name": "r", "event": "failed", "channels": hook});
    let with = |changes: Value| {
        let mut body = base.clone();
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let cases = [
        (with(json!({"node": "nope"})), Some("node")),
        (with(json!({"workflow": "nope"})), Some("workflow")),
        (with(json!({"event": "not_finished_by"})), Some("at")),
        (with(json!({"event": "not_finished_by", "at": "25:00"})), Some("at")),
        (with(json!({"event": "running_longer_than"})), Some("minutes")),
        (with(json!({"event": "running_longer_than", "minutes": 0})), Some("minutes")),
        (with(json!({"channels": []})), Some("channels")),
        (with(json!({"channels": [{"webhook": "ftp://host/x"}]})), Some("channels")),
        (with(json!({"channels": [{"webhook": "javascript:alert(1)"}]})), Some("channels")),
        (with(json!({"channels": [{"email": "not an address"}]})), Some("channels")),
        (with(json!({"channels": [{"sms": "123"}]})), None),
        (with(json!({"event": "exploded"})), None),
        (with(json!({"name": ""})), Some("name")),
        (with(json!({"cooldown_mins": -1})), None),
        (with(json!({"unknown": 1})), None),
        (json!("not an object"), None),
    ];
    for (body, field) in cases {
        let response = api.post("/api/v1/alert-rules", &body.to_string()).await;
        assert_eq!(response.status, 400, "{body}: {}", response.body);
        assert_eq!(response.json()["error"]["field"].as_str(), field, "{body}: {}", response.body);
    }
    let rules = api.get("/api/v1/alert-rules").await.json();
    assert_eq!(rules["items"], json!([]), "nothing saved");

    // Developers watch their own nodes; viewers only look.
    add_user(&server, "alice", "alice-password", Role::Developer).await;
    add_user(&server, "bob", "bob-password", Role::Developer).await;
    add_user(&server, "vic", "vic-password", Role::Viewer).await;
    let alice = Api::token(server.addr, "alice", "alice-password").await;
    let bob = Api::token(server.addr, "bob", "bob-password").await;
    let vic = Api::token(server.addr, "vic", "vic-password").await;
    assert_eq!(vic.post("/api/v1/alert-rules", &base.to_string()).await.status, 403);
    let theirs = with(json!({"node": "mine"}));
    assert_eq!(bob.post("/api/v1/alert-rules", &theirs.to_string()).await.status, 403);
    let owner = with(json!({"owner": "alice"}));
    assert_eq!(bob.post("/api/v1/alert-rules", &owner.to_string()).await.status, 403);
    let made = alice.post("/api/v1/alert-rules", &theirs.to_string()).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_i64().unwrap();
    // Without a node or owner, a developer's rule watches their own nodes.
    let broad = bob.post("/api/v1/alert-rules", &base.to_string()).await;
    assert_eq!(broad.json()["owner"], "bob");
    // Others read alice's rule without the hook's path; she and administrators see it whole.
    let seen = |api: Api| async move { api.get(&format!("/api/v1/alert-rules/{id}")).await.json() };
    assert_eq!(seen(vic.clone()).await["channels"][0]["webhook"], "http://127.0.0.1:9/…");
    assert_eq!(seen(alice.clone()).await["channels"][0]["webhook"], "http://127.0.0.1:9/hook");
    assert_eq!(seen(api.clone()).await["channels"][0]["webhook"], "http://127.0.0.1:9/hook");
    let path = format!("/api/v1/alert-rules/{id}");
    assert_eq!(bob.delete(&path).await.status, 403);
    assert_eq!(vic.put(&path, &theirs.to_string()).await.status, 403);
    let bad_change = with(json!({"node": "mine", "event": "not_finished_by"}));
    let refused = alice.put(&path, &bad_change.to_string()).await;
    assert_eq!(refused.status, 400);
    let renamed = with(json!({"node": "mine", "name": "renamed"}));
    let changed = alice.put(&path, &renamed.to_string()).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.json()["name"], "renamed");
    assert_eq!(alice.delete(&path).await.status, 204);
    assert_eq!(api.get(&path).await.status, 404);
    assert_eq!(api.get("/api/v1/alert-rules/abc").await.status, 400);
    assert_eq!(api.get("/api/v1/alerts?status=lost").await.status, 400);
    assert_eq!(api.get("/api/v1/alerts?colour=red").await.status, 400);
    // Each change is in the audit trail.
    let trail = api.get(&format!("/api/v1/audit?subject=alert_rule:{id}")).await.json();
    let actions: Vec<&str> =
        trail["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["alert_rule.delete", "alert_rule.update", "alert_rule.create"]);
    // The trail is open to every reader: it records the hook by host only.
    let recorded = trail.to_string();
    assert!(recorded.contains("http://127.0.0.1:9/…"), "{recorded}");
    assert!(!recorded.contains("9/hook"), "a webhook's path is not in the audit trail: {recorded}");

    // A project holds at most 10,000 rules (the watcher reads them all): 9,998 more are written
    // past the API, the 10,000th is made, the next refused (409), and nothing more is saved.
    let url = common::database_url(dir.path());
    common::run_sql(
        &url,
        "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9998) \
         INSERT INTO alert_rules (name, event, channels, cooldown_mins, created_by, created_at, \
           updated_at, checked_until) \
         SELECT 'bulk', 'failed', '[{\"email\": \"a@b\"}]', 0, 'admin', 0, 0, 0 FROM n",
    )
    .await;
    assert_eq!(api.post("/api/v1/alert-rules", &base.to_string()).await.status, 201);
    let refused = api.post("/api/v1/alert-rules", &base.to_string()).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("10000 alert rules"), "{}", refused.body);
    let all = api.get("/api/v1/alert-rules").await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 10_000);
}

#[tokio::test]
async fn metrics_count_what_happened_and_read_as_prometheus_text() {
    let clock = clock();
    let (server, _dir, api) = live_server(clock.clone(), &[]).await;
    let hook = Receiver::start().await;
    import(&api, &(node("ok", "true", "") + &node("bad", "exit 2", ""))).await;
    rule(
        &api,
        json!({"name": "r", "node": "bad", "event": "failed",
        "channels": [{"webhook": hook.url()}]}),
    )
    .await;
    snapshot(&api).await;
    clock.set(at("01:00:00"));
    wait_state(&api, "ok", "success").await;
    wait_state(&api, "bad", "failed").await;
    eventually("the alert delivered", async || hook.got().pop()).await;

    assert_eq!(Api::anonymous(server.addr).get("/metrics").await.status, 401);
    let scrape = async || {
        let response = api.get("/metrics").await;
        assert_eq!(response.status, 200, "{}", response.body);
        assert!(response.content_type.starts_with("text/plain"), "{}", response.content_type);
        let lines = response.body.lines().map(|l| Ok(l.to_string()));
        prometheus_parse::Scrape::parse(lines).expect("Prometheus text")
    };
    let value = |scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]| {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match &s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                prometheus_parse::Value::Histogram(buckets) => {
                    buckets.iter().map(|b| b.count).fold(0.0, f64::max)
                }
                other => panic!("{name}: {other:?}"),
            })
            .sum::<f64>()
    };
    // The delivery is counted when its end is heard; wait for that, then read everything.
    let scraped = eventually("the delivery counted", async || {
        let scraped = scrape().await;
        let delivered = [("channel", "webhook"), ("outcome", "delivered")];
        (value(&scraped, "nightshift_alert_deliveries_total", &delivered) == 1.0).then_some(scraped)
    })
    .await;
    let cycle = |state| [("state", state), ("run_type", "cycle")];
    assert_eq!(value(&scraped, "nightshift_instances", &cycle("success")), 1.0);
    assert_eq!(value(&scraped, "nightshift_instances", &cycle("failed")), 1.0);
    assert_eq!(value(&scraped, "nightshift_instances", &cycle("running")), 0.0);
    let outcome = |o| [("outcome", o)];
    assert_eq!(value(&scraped, "nightshift_attempts_total", &outcome("success")), 1.0);
    assert_eq!(value(&scraped, "nightshift_attempts_total", &outcome("failed")), 1.0);
    // Histograms: the count of observations (the +Inf bucket).
    assert_eq!(value(&scraped, "nightshift_dispatch_delay_seconds", &[]), 2.0);
    assert_eq!(value(&scraped, "nightshift_snapshot_duration_seconds", &[]), 1.0);
    let route = [("route", "/api/v1/instances")];
    assert!(value(&scraped, "nightshift_http_request_duration_seconds", &route) >= 1.0);
    server.stop().await;

    let (public, _dir) = common::start_server(clock.clone(), &["--metrics-public"]).await;
    let response = Api::anonymous(public.addr).get("/metrics").await;
    assert_eq!(response.status, 200, "{}", response.body);
}

/// The instance of `node` on `run_date`.
async fn instance_on(api: &Api, node: &str, run_date: &str) -> Value {
    let page = api.get(&format!("/api/v1/instances?node={node}&run_date={run_date}")).await;
    let items = page.json()["items"].as_array().unwrap().clone();
    items.into_iter().find(|i| i["node"] == node).unwrap_or(Value::Null)
}

async fn wait_on(api: &Api, node: &str, run_date: &str, state: &str) {
    eventually(&format!("{node} of {run_date} {state}"), async || {
        (instance_on(api, node, run_date).await["state"] == state).then_some(())
    })
    .await
}

fn time(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_baseline_predicts_a_chain_warns_when_a_node_runs_slow_and_is_done_when_it_finished() {
    let clock = clock();
    let (_server, dir, api) = live_server(clock.clone(), &[]).await;
    let hook = Receiver::start().await;
    // A chain c0 → c1 → … → c9, each running until the test opens its gate.
    let gate = |k: usize| dir.path().join(format!("gate{k}"));
    let mut toml = String::new();
    for k in 0..10 {
        let upstream = if k == 0 { String::new() } else { format!("upstream = [\"c{}\"]", k - 1) };
        toml += &node(&format!("c{k}"), &common::wait_for_file(&gate(k)), &upstream);
    }
    import(&api, &toml).await;
    // Runs a day's chain: each node takes `minutes[k]` on the clock.
    let run_day = async |run_date: &str, minutes: [i64; 10]| {
        for (k, took) in minutes.into_iter().enumerate() {
            let name = format!("c{k}");
            wait_on(&api, &name, run_date, "running").await;
            clock.advance(chrono::Duration::minutes(took));
            std::fs::write(gate(k), "").unwrap();
            wait_on(&api, &name, run_date, "success").await;
            std::fs::remove_file(gate(k)).unwrap();
        }
    };
    let status = async |run_date: &str| {
        let response =
            api.get(&format!("/api/v1/baselines/chain/status?run_date={run_date}")).await;
        assert_eq!(response.status, 200, "{}", response.body);
        response.json()
    };
    let day = |run_date: &str| format!(r#"{{"run_date": "{run_date}"}}"#);

    // Day 1 makes the history: ten minutes each.
    assert_eq!(api.post("/api/v1/snapshots", &day("2026-12-01")).await.status, 200);
    clock.set(time("2026-12-01T01:00:00Z"));
    run_day("2026-12-01", [10; 10]).await;

    let made = api
        .post(
            "/api/v1/baselines",
            &json!({"name": "chain", "nodes": ["c9"], "commit_by": "03:30", "margin_mins": 30,
                    "channels": [{"webhook": hook.url()}]})
            .to_string(),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    // The same promise with no channel: its status is only shown, its alerts need no sending.
    let quiet = json!({"name": "quiet", "nodes": ["c9"], "commit_by": "03:30", "margin_mins": 30});
    assert_eq!(api.post("/api/v1/baselines", &quiet.to_string()).await.status, 201);

    // Day 2: predicted at the start, compared with the real finish.
    assert_eq!(api.post("/api/v1/snapshots", &day("2026-12-02")).await.status, 200);
    let before = status("2026-12-02").await;
    assert_eq!(before["status"], "on_time", "{before}");
    clock.set(time("2026-12-02T01:00:00Z"));
    wait_on(&api, "c0", "2026-12-02", "running").await;
    let start = clock_now(&clock);
    let predicted = status("2026-12-02").await;
    assert_eq!(predicted["status"], "on_time", "{predicted}");
    assert_eq!(predicted["commit_by"], "2026-12-02T03:30:00Z");
    assert_eq!(predicted["critical_path"].as_array().unwrap().len(), 10, "{predicted}");
    let predicted_finish = time(predicted["predicted_finish"].as_str().unwrap());
    run_day("2026-12-02", [10; 10]).await;
    let done = status("2026-12-02").await;
    assert_eq!(done["status"], "done", "{done}");
    let finish = time(done["predicted_finish"].as_str().unwrap());
    let error = (predicted_finish - finish).num_seconds().abs() as f64;
    let took = (finish - start).num_seconds() as f64;
    assert!(error <= 0.1 * took, "predicted {predicted_finish}, finished {finish}");
    assert!(hook.got().is_empty(), "nothing to say on time: {:?}", hook.got());

    // Day 3: c0 runs 40 minutes instead of 10. Seen at 01:40, the chain ends at 03:10, past
    // 03:30 less the 30 minutes' margin: at risk, said once, before the commitment.
    assert_eq!(api.post("/api/v1/snapshots", &day("2026-12-03")).await.status, 200);
    clock.set(time("2026-12-03T01:00:00Z"));
    let slow = |k: usize| if k == 0 { 40 } else { 10 };
    for k in 0..10 {
        let name = format!("c{k}");
        wait_on(&api, &name, "2026-12-03", "running").await;
        clock.advance(chrono::Duration::minutes(slow(k)));
        if k == 0 {
            let risky = status("2026-12-03").await;
            assert_eq!(risky["status"], "at_risk", "{risky}");
            assert_eq!(risky["predicted_finish"], "2026-12-03T03:10:00Z");
            let said = eventually("the at-risk alert", async || hook.of("at_risk").pop()).await;
            assert_eq!(said.body["baseline"], "chain");
            assert_eq!(said.body["run_date"], "2026-12-03");
            assert!(clock_now(&clock) < time("2026-12-03T03:30:00Z"));
        }
        std::fs::write(gate(k), "").unwrap();
        wait_on(&api, &name, "2026-12-03", "success").await;
        std::fs::remove_file(gate(k)).unwrap();
    }
    let done = status("2026-12-03").await;
    assert_eq!(done["status"], "done");
    assert_eq!(done["predicted_finish"], "2026-12-03T03:10:00Z");
    clock.set(time("2026-12-03T04:00:00Z"));
    eventually("the at-risk alerts delivered", async || {
        (alerts(&api, "status=delivered").await.len() == 2).then_some(())
    })
    .await;
    let fired = alerts(&api, "").await;
    assert_eq!(fired.len(), 2, "at risk once each, never late: {fired:?}");
    let by = |name: &str| fired.iter().find(|a| a["baseline"] == name).unwrap().clone();
    assert_eq!(by("chain")["event"], "at_risk");
    assert_eq!(by("quiet")["deliveries"], json!([]), "nothing to send, nothing pending");

    // What cannot be said is refused.
    let no_day = api.get("/api/v1/baselines/chain/status?run_date=2030-01-01").await;
    assert_eq!(no_day.status, 404, "{}", no_day.body);
    assert_eq!(api.get("/api/v1/baselines/chain/status?run_date=soon").await.status, 400);
    assert_eq!(api.get("/api/v1/baselines/nope/status").await.status, 404);
    for (body, field) in [
        (json!({"name": "x", "nodes": ["nope"], "commit_by": "03:00"}), "nodes"),
        (json!({"name": "x", "nodes": [], "commit_by": "03:00"}), "nodes"),
        (json!({"name": "x", "nodes": ["c1"], "commit_by": "3pm"}), "commit_by"),
        (json!({"name": "x y", "nodes": ["c1"], "commit_by": "03:00"}), "name"),
        (json!({"name": "chain", "nodes": ["c1"], "commit_by": "03:00"}), "name"),
    ] {
        let response = api.post("/api/v1/baselines", &body.to_string()).await;
        assert!(matches!(response.status, 400 | 409), "{body}: {}", response.body);
        assert_eq!(response.json()["error"]["field"], field, "{body}: {}", response.body);
    }
    let renamed = api
        .put(
            "/api/v1/baselines/chain",
            r#"{"name": "other", "nodes": ["c1"], "commit_by": "03:00"}"#,
        )
        .await;
    assert_eq!(renamed.status, 400);
    let changed =
        api.put("/api/v1/baselines/chain", r#"{"nodes": ["c1"], "commit_by": "04:00"}"#).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.json()["commit_by"], "04:00");
    assert_eq!(api.delete("/api/v1/baselines/chain").await.status, 204);
    assert_eq!(api.delete("/api/v1/baselines/quiet").await.status, 204);
    assert_eq!(api.get("/api/v1/baselines/chain").await.status, 404);
}

fn clock_now(clock: &ManualClock) -> chrono::DateTime<chrono::Utc> {
    use server::engine::clock::Clock;
    clock.now()
}
