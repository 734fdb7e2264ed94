//! Who may do what, asked of a live server: every REST route and every server function, called
//! anonymously and by a viewer, a developer and an administrator. A call that is refused answers
//! 401 or 403 and changes nothing in the database; a state change without the session's CSRF
//! token is refused the same way. The tables must name every documented route and every
//! registered server function, so a new one cannot slip through unchecked.
//!
//! "Nothing" means every table but the audit trail (refused operations are recorded there, on
//! purpose), the sessions and the login throttle, and a token's last-use time.

mod common;

use std::collections::BTreeSet;

use app::people::Role;
use common::http::Api;
use common::{ADMIN_PASSWORD, add_user, eventually, live_server};
use server::engine::clock::ManualClock;
use server_fn::ServerFn;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

/// What a role gets from a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Done (any 2xx) or refused for a reason other than who is asking (404, 409, 400).
    Ok,
    /// Exactly this status, and the database unchanged.
    Refused(u16),
}

use Expect::{Ok, Refused};

const NO: Expect = Refused(403);
const NOT_YOURS: Expect = Refused(404);

/// One call: what it is, and what the viewer, developer and administrator get (anonymous callers
/// always get a 401, except on public routes).
struct Call {
    /// For the completeness check: `GET /nodes/{name}` or a server function's path.
    key: String,
    method: &'static str,
    path: String,
    body: Option<String>,
    public: bool,
    viewer: Expect,
    developer: Expect,
    admin: Expect,
}

fn call(method: &'static str, template: &str, path: String, body: Option<&str>) -> Call {
    Call {
        key: format!("{method} {template}"),
        method,
        path: format!("/api/v1{path}"),
        body: body.map(str::to_string),
        public: false,
        viewer: Ok,
        developer: Ok,
        admin: Ok,
    }
}

impl Call {
    fn expect(mut self, viewer: Expect, developer: Expect, admin: Expect) -> Call {
        (self.viewer, self.developer, self.admin) = (viewer, developer, admin);
        self
    }

    fn public(mut self) -> Call {
        self.public = true;
        self
    }
}

fn rpc<F: ServerFn>(body: &str) -> Call {
    Call {
        key: F::PATH.to_string(),
        method: "POST",
        path: F::PATH.to_string(),
        body: Some(body.to_string()),
        public: false,
        viewer: Ok,
        developer: Ok,
        admin: Ok,
    }
}

/// Tables whose rows a refusal may add to (it is audited; sign-ins make sessions) or that change
/// by themselves (running attempts' logs are shipped every second; the instance counts' changes
/// are folded into them every two seconds, and tests/counts.rs checks them).
const UNWATCHED: &str = "'audit', 'audit_instances', 'sessions', 'login_throttle', \
                         '_sqlx_migrations', 'attempt_logs', 'instance_counts_by_day', \
                         'instance_counts_by_node', 'instance_count_changes_by_day', \
                         'instance_count_changes_by_node'";

/// Columns that move by themselves: a token's last use, a process's heartbeat.
const MOVING: [(&str, &str); 2] = [("api_tokens", "last_used_at"), ("workers", "heartbeat_at")];

/// The database of a test, read-only, on either backend.
enum Reader {
    Sqlite(SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Every row of every table but the unwatched ones, as sorted text.
async fn fingerprint(db: &Reader) -> Vec<String> {
    let mut rows: Vec<String> = match db {
        Reader::Sqlite(db) => {
            let tables: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN \
                 ({UNWATCHED}) AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )))
            .fetch_all(db)
            .await
            .unwrap();
            let mut out = Vec::new();
            for table in tables {
                let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{table}')"
                )))
                .fetch_all(db)
                .await
                .unwrap();
                let columns: Vec<String> = columns
                    .into_iter()
                    .filter(|c| !MOVING.contains(&(table.as_str(), c.as_str())))
                    .map(|c| format!("quote({c})"))
                    .collect();
                out.extend(
                    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                        "SELECT '{table}: ' || {} FROM {table}",
                        columns.join(" || ',' || ")
                    )))
                    .fetch_all(db)
                    .await
                    .unwrap(),
                );
            }
            out
        }
        Reader::Postgres(db) => {
            let tables: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name NOT IN ({UNWATCHED}) \
                 ORDER BY table_name"
            )))
            .fetch_all(db)
            .await
            .unwrap();
            let mut out = Vec::new();
            for table in tables {
                let moving: String = MOVING
                    .iter()
                    .filter(|(t, _)| *t == table)
                    .map(|(_, c)| format!(" - '{c}'"))
                    .collect();
                out.extend(
                    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                        "SELECT '{table}: ' || (to_jsonb(t){moving})::text FROM {table} t"
                    )))
                    .fetch_all(db)
                    .await
                    .unwrap(),
                );
            }
            out
        }
    };
    rows.sort();
    rows
}

/// Fails, naming the rows that differ, when the database is no longer as `before`.
async fn unchanged(db: &Reader, before: &[String], what: &str) {
    let after = fingerprint(db).await;
    if after != before {
        let gone: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
        let new: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
        panic!("{what} changed the database:\n  before: {gone:#?}\n  after: {new:#?}");
    }
}

impl Reader {
    async fn close(&self) {
        match self {
            Reader::Sqlite(db) => db.close().await,
            Reader::Postgres(db) => db.close().await,
        }
    }
}

async fn reader(dir: &tempfile::TempDir) -> Reader {
    if common::on_postgres() {
        let url = common::database_url(dir.path());
        return Reader::Postgres(
            sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap(),
        );
    }
    let options =
        SqliteConnectOptions::new().filename(dir.path().join("nightshift.db")).read_only(true);
    Reader::Sqlite(SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap())
}

const FIXTURE: &str = r#"
[[resource_groups]]
name = "held"
slots = 1

[[nodes]]
name = "d_own"
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
upstream = ["d_own"]

[[nodes]]
name = "o_other"
owner = "olga"
command = "exit 1"
resource_group = "held"
schedule = "0 1 * * *"

[[nodes]]
name = "o_leaf"
owner = "olga"
command = "true"
resource_group = "held"
schedule = "0 3 * * *"

[[nodes]]
name = "blocker"
owner = "olga"
command = "sleep 600"
resource_group = "held"
schedule = "0 2 * * *"
"#;

async fn instance_id(api: &Api, node: &str) -> i64 {
    let page = api.get(&format!("/api/v1/instances?node={node}&run_date=2026-03-10")).await;
    page.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["node"] == node)
        .unwrap_or_else(|| panic!("an instance of {node}: {}", page.body))["id"]
        .as_i64()
        .unwrap()
}

async fn state(api: &Api, node: &str) -> String {
    let page = api.get(&format!("/api/v1/instances?node={node}&run_date=2026-03-10")).await;
    page.json()["items"][0]["state"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn every_route_and_server_function_answers_each_role_and_refusals_change_nothing() {
    let clock = ManualClock::new("2026-03-10T12:00:00Z".parse().unwrap());
    let (server, dir, admin_token) = live_server(clock.clone(), &[]).await;
    let addr = server.addr;
    add_user(&server, "dave", "dave-password", Role::Developer).await;
    add_user(&server, "vera", "vera-password", Role::Viewer).await;
    add_user(&server, "extra", "extra-password", Role::Viewer).await;

    // The fixture: failed instances of dave's and olga's nodes, and a blocker holding the only
    // slot of their resource group, so that nothing an allowed call starts ever runs (the
    // database stays still between the calls that are compared).
    assert_eq!(admin_token.post("/api/v1/import", FIXTURE).await.status, 200);
    let made = admin_token.post("/api/v1/snapshots", r#"{"run_date": "2026-03-10"}"#).await;
    assert_eq!(made.status, 200, "{}", made.body);
    for (node, wanted) in [("d_own", "failed"), ("o_other", "failed"), ("blocker", "running")] {
        eventually(&format!("{node} {wanted}"), async || {
            (state(&admin_token, node).await == wanted).then_some(())
        })
        .await;
    }
    // The blocker's process id is recorded a moment after it starts running; wait for it too.
    let blocker = instance_id(&admin_token, "blocker").await;
    eventually("the blocker's pid recorded", async || {
        let detail = admin_token.get(&format!("/api/v1/instances/{blocker}")).await.json();
        detail["attempts"][0]["pid"].as_i64()
    })
    .await;
    let own = instance_id(&admin_token, "d_own").await;
    let other = instance_id(&admin_token, "o_other").await;
    let child = instance_id(&admin_token, "d_child").await;
    let audit_id = admin_token.get("/api/v1/audit?limit=1").await.json()["items"][0]["id"]
        .as_i64()
        .unwrap_or(1);
    let admins_token =
        admin_token.get("/api/v1/tokens").await.json()["items"][0]["id"].as_i64().unwrap();

    // Rules that never fire while the table runs (the clock stays at noon).
    let watch = |node: &str| {
        format!(
            r#"{{"name": "w", "node": "{node}", "event": "not_finished_by", "at": "23:59", "channels": [{{"webhook": "http://127.0.0.1:9/"}}]}}"#
        )
    };
    let made = admin_token.post("/api/v1/alert-rules", &watch("o_other")).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let rule = made.json()["id"].as_i64().unwrap();
    // Baselines that never fire while the table runs: their nodes failed (which would put them
    // at risk), but today's commitment passed before they were made, and tomorrow has no
    // instances.
    let promise = |name: &str, node: &str| {
        format!(r#"{{"name": "{name}", "nodes": ["{node}"], "commit_by": "00:01"}}"#)
    };
    for name in ["held", "held_rpc"] {
        let made = admin_token.post("/api/v1/baselines", &promise(name, "o_other")).await;
        assert_eq!(made.status, 201, "{}", made.body);
    }
    let made = admin_token.post("/api/v1/alert-rules", &watch("o_other")).await;
    let rpc_rule = made.json()["id"].as_i64().unwrap();
    let calendar = |name: &str| format!(r#"{{"name": "{name}", "holidays": ["2026-01-01"]}}"#);
    for name in ["held", "gone", "gone_rpc"] {
        let made = admin_token.post("/api/v1/calendars", &calendar(name)).await;
        assert_eq!(made.status, 201, "{}", made.body);
    }

    let anonymous = Api::anonymous(addr);
    let viewer = Api::session(addr, "vera", "vera-password").await;
    let developer = Api::session(addr, "dave", "dave-password").await;
    let admin = Api::session(addr, "admin", ADMIN_PASSWORD).await;

    let olgas_node =
        r#"{"name": "o_new", "owner": "olga", "command": "true", "resource_group": "held"}"#;
    let daves_node =
        r#"{"name": "d_new", "owner": "dave", "command": "true", "resource_group": "held"}"#;
    let bf =
        |node: &str| format!(r#"{{"node": "{node}", "from": "2026-01-01", "to": "2026-01-01"}}"#);
    let rest = vec![
        call("GET", "/health", "/health".into(), None).public(),
        call("GET", "/openapi.json", "/openapi.json".into(), None).public(),
        call("POST", "/login", "/login".into(), Some(r#"{"username": "extra", "password": "extra-password"}"#)).public(),
        call("GET", "/me", "/me".into(), None),
        call("GET", "/nodes", "/nodes".into(), None),
        call("POST", "/nodes", "/nodes".into(), Some(olgas_node)).expect(NO, NO, Ok),
        call("POST", "/nodes", "/nodes".into(), Some(daves_node)).expect(NO, Ok, Ok),
        call("GET", "/nodes/{name}", "/nodes/d_own".into(), None),
        call("PUT", "/nodes/{name}", "/nodes/o_other".into(), Some(r#"{"owner": "olga", "command": "exit 1", "resource_group": "held", "schedule": "0 1 * * *"}"#)).expect(NO, NO, Ok),
        call("PUT", "/nodes/{name}", "/nodes/d_own".into(), Some(r#"{"owner": "dave", "command": "exit 1", "resource_group": "held", "schedule": "0 1 * * *"}"#)).expect(NO, Ok, Ok),
        // A developer may not give their node away (nor take someone else's).
        call("PUT", "/nodes/{name}", "/nodes/d_new".into(), Some(r#"{"owner": "olga", "command": "true", "resource_group": "held"}"#)).expect(NO, NO, Ok),
        call("DELETE", "/nodes/{name}", "/nodes/o_leaf".into(), None).expect(NO, NO, Ok),
        call("POST", "/import", "/import".into(), Some("[[nodes]]\nname = \"o_imported\"\nowner = \"olga\"\ncommand = \"true\"\nresource_group = \"held\"\n")).expect(NO, NO, Ok),
        call("POST", "/import", "/import".into(), Some("[[resource_groups]]\nname = \"more\"\nslots = 2\n")).expect(NO, NO, Ok),
        call("GET", "/nodes/{name}/versions", "/nodes/d_own/versions".into(), None),
        call("GET", "/nodes/{name}/versions/{version}", "/nodes/d_own/versions/1".into(), None),
        // A rollback is a change of olga's node (to the version it is: nothing changes).
        call("POST", "/nodes/{name}/rollback", "/nodes/o_imported/rollback".into(), Some(r#"{"version": 1}"#)).expect(NO, NO, Ok),
        call("GET", "/resource-groups", "/resource-groups".into(), None),
        call("PUT", "/resource-groups/{name}", "/resource-groups/default".into(), Some(r#"{"slots": 8}"#)).expect(NO, NO, Ok),
        call("POST", "/snapshots", "/snapshots".into(), Some(r#"{"run_date": "2031-01-01"}"#)).expect(NO, NO, Ok),
        call("GET", "/instances", "/instances".into(), None),
        call("GET", "/instances/stats", "/instances/stats".into(), None),
        call("GET", "/instances/{id}", format!("/instances/{own}"), None),
        call("GET", "/instances/{id}/log", format!("/instances/{own}/log"), None),
        call("GET", "/instances/{id}/neighbors", format!("/instances/{own}/neighbors"), None),
        call("GET", "/instances/{id}/descendants", format!("/instances/{own}/descendants"), None),
        call("POST", "/instances/{id}/pause", format!("/instances/{other}/pause"), Some("{}")).expect(NO, NO, Ok),
        call("POST", "/instances/{id}/resume", format!("/instances/{other}/resume"), Some("{}")).expect(NO, NO, Ok),
        call("POST", "/instances/{id}/pause", format!("/instances/{own}/pause"), Some("{}")).expect(NO, Ok, Ok),
        call("POST", "/instances/{id}/resume", format!("/instances/{own}/resume"), Some("{}")).expect(NO, Ok, Ok),
        call("POST", "/instances/{id}/set-success", format!("/instances/{other}/set-success"), Some("{}")).expect(NO, NO, Ok),
        call("POST", "/instances/{id}/rerun", format!("/instances/{other}/rerun"), Some("{}")).expect(NO, NO, Ok),
        call("POST", "/instances/{id}/kill", format!("/instances/{other}/kill"), Some("{}")).expect(NO, NO, Ok),
        call("POST", "/instances/{id}/rerun-downstream", format!("/instances/{own}/rerun-downstream"), Some(&format!(r#"{{"instance_ids": [{own}, {child}]}}"#))).expect(NO, Ok, Ok),
        call("POST", "/instances/{id}/rerun-downstream", format!("/instances/{other}/rerun-downstream"), Some(&format!(r#"{{"instance_ids": [{other}]}}"#))).expect(NO, NO, Ok),
        call("POST", "/instances/batch/kill", "/instances/batch/kill".into(), Some(&format!(r#"{{"ids": [{own}]}}"#))).expect(NO, NO, Ok),
        // A developer's batch is judged per instance: someone else's is refused inside a 200.
        call("POST", "/instances/batch/rerun", "/instances/batch/rerun".into(), Some(&format!(r#"{{"ids": [{other}]}}"#))).expect(NO, Refused(200), Ok),
        call("GET", "/audit", "/audit".into(), None),
        call("GET", "/workers", "/workers".into(), None),
        call("GET", "/audit/{id}", format!("/audit/{audit_id}"), None),
        call("POST", "/tests", "/tests".into(), Some(r#"{"node": "o_other", "bizdate": "2026-01-05"}"#)).expect(NO, NO, Ok),
        call("POST", "/tests", "/tests".into(), Some(r#"{"node": "d_own", "bizdate": "2026-01-05"}"#)).expect(NO, Ok, Ok),
        call("POST", "/backfills", "/backfills".into(), Some(&bf("o_other"))).expect(NO, NO, Ok),
        call("POST", "/backfills", "/backfills".into(), Some(&bf("d_own"))).expect(NO, Ok, Ok),
        call("GET", "/backfills", "/backfills".into(), None),
        call("GET", "/backfills/{id}", "/backfills/1".into(), None),
        call("GET", "/tokens", "/tokens".into(), None),
        call("POST", "/tokens", "/tokens".into(), Some(r#"{"name": "script"}"#)),
        call("DELETE", "/tokens/{id}", format!("/tokens/{admins_token}"), None).expect(NOT_YOURS, NOT_YOURS, Ok),
        call("GET", "/users", "/users".into(), None).expect(NO, NO, Ok),
        call("POST", "/users", "/users".into(), Some(r#"{"name": "newbie", "password": "newbie-password", "role": "viewer"}"#)).expect(NO, NO, Ok),
        call("PUT", "/users/{name}", "/users/extra".into(), Some(r#"{"role": "developer"}"#)).expect(NO, NO, Ok),
        call("GET", "/alert-rules", "/alert-rules".into(), None),
        call("POST", "/alert-rules", "/alert-rules".into(), Some(&watch("o_other"))).expect(NO, NO, Ok),
        call("POST", "/alert-rules", "/alert-rules".into(), Some(&watch("d_own"))).expect(NO, Ok, Ok),
        call("GET", "/alert-rules/{id}", format!("/alert-rules/{rule}"), None),
        call("PUT", "/alert-rules/{id}", format!("/alert-rules/{rule}"), Some(&watch("o_other"))).expect(NO, NO, Ok),
        call("DELETE", "/alert-rules/{id}", format!("/alert-rules/{rule}"), None).expect(NO, NO, Ok),
        call("GET", "/alerts", "/alerts".into(), None),
        call("GET", "/baselines", "/baselines".into(), None),
        call("POST", "/baselines", "/baselines".into(), Some(&promise("o_b", "o_other"))).expect(NO, NO, Ok),
        call("POST", "/baselines", "/baselines".into(), Some(&promise("d_b", "d_own"))).expect(NO, Ok, Ok),
        call("GET", "/baselines/{name}", "/baselines/held".into(), None),
        call("GET", "/baselines/{name}/status", "/baselines/held/status?run_date=2026-03-10".into(), None),
        call("PUT", "/baselines/{name}", "/baselines/held".into(), Some(&promise("held", "o_other"))).expect(NO, NO, Ok),
        call("DELETE", "/baselines/{name}", "/baselines/held".into(), None).expect(NO, NO, Ok),
        call("GET", "/calendars", "/calendars".into(), None),
        call("POST", "/calendars", "/calendars".into(), Some(&calendar("made"))).expect(NO, NO, Ok),
        call("GET", "/calendars/{name}", "/calendars/held".into(), None),
        call("PUT", "/calendars/{name}", "/calendars/held".into(), Some(r#"{"holidays": []}"#)).expect(NO, NO, Ok),
        call("DELETE", "/calendars/{name}", "/calendars/gone".into(), None).expect(NO, NO, Ok),
    ];

    use app::api as f;
    let filter = r#"{"filter": {}, "page": {"limit": 5, "cursor": null}}"#;
    let server_fns = vec![
        rpc::<f::FetchLoginHints>("{}").public(),
        rpc::<f::Whoami>("{}"),
        rpc::<f::ListInstances>(filter),
        rpc::<f::InstanceStats>(r#"{"filter": {}}"#),
        rpc::<f::InstancesByIds>(&format!(r#"{{"ids": [{own}]}}"#)),
        rpc::<f::FetchDetail>(&format!(r#"{{"id": {own}}}"#)),
        rpc::<f::FetchFlow>(&format!(r#"{{"id": {own}}}"#)),
        rpc::<f::FetchDescendants>(&format!(r#"{{"id": {own}}}"#)),
        rpc::<f::FetchLog>(&format!(
            r#"{{"id": {own}, "request": {{"attempt": null, "offset": 0}}}}"#
        )),
        rpc::<f::RunOperation>(&format!(r#"{{"id": {other}, "op": "pause", "mode": "apply"}}"#))
            .expect(NO, NO, Ok),
        rpc::<f::RunOperation>(&format!(r#"{{"id": {own}, "op": "resume", "mode": "apply"}}"#))
            .expect(NO, Ok, Ok),
        rpc::<f::RunRerunDownstream>(&format!(
            r#"{{"root": {other}, "request": {{"instance_ids": [{other}]}}}}"#
        ))
        .expect(NO, NO, Ok),
        rpc::<f::RunBatch>(&format!(r#"{{"kind": "kill", "request": {{"ids": [{own}]}}}}"#))
            .expect(NO, NO, Ok),
        rpc::<f::RunBatch>(&format!(r#"{{"kind": "rerun", "request": {{"ids": [{other}]}}}}"#))
            .expect(NO, Refused(200), Ok),
        rpc::<f::FetchNodes>(r#"{"query": {}}"#),
        rpc::<f::FetchNode>(r#"{"name": "d_own"}"#),
        rpc::<f::FetchDefinitionGraph>(r#"{"workflow": "default"}"#),
        rpc::<f::FetchWorkflows>("{}"),
        rpc::<f::FetchWorkers>("{}"),
        rpc::<f::FetchResourceGroups>("{}"),
        rpc::<f::CreateNode>(&format!(r#"{{"spec": {olgas_node}}}"#).replace("o_new", "o_rpc"))
            .expect(NO, NO, Ok),
        rpc::<f::CreateNode>(&format!(r#"{{"spec": {daves_node}}}"#).replace("d_new", "d_rpc"))
            .expect(NO, Ok, Ok),
        rpc::<f::PutNode>(
            &format!(r#"{{"name": "o_put", "spec": {olgas_node}}}"#).replace("o_new", "o_put"),
        )
        .expect(NO, NO, Ok),
        rpc::<f::PutNode>(
            &format!(r#"{{"name": "d_put", "spec": {daves_node}}}"#).replace("d_new", "d_put"),
        )
        .expect(NO, Ok, Ok),
        rpc::<f::SetScheduling>(r#"{"name": "o_other", "scheduling": "paused"}"#)
            .expect(NO, NO, Ok),
        rpc::<f::SetScheduling>(r#"{"name": "d_own", "scheduling": "normal"}"#).expect(NO, Ok, Ok),
        rpc::<f::FetchNodeVersions>(r#"{"name": "d_own"}"#),
        rpc::<f::RollbackNode>(r#"{"name": "o_imported", "version": 1}"#).expect(NO, NO, Ok),
        rpc::<f::RunTest>(r#"{"request": {"node": "o_other", "bizdate": "2026-01-06"}}"#)
            .expect(NO, NO, Ok),
        rpc::<f::RunBackfill>(&format!(
            r#"{{"request": {}}}"#,
            bf("o_other").replace("01-01", "02-01")
        ))
        .expect(NO, NO, Ok),
        rpc::<f::FetchJobs>(r#"{"query": {"kind": "backfill"}}"#),
        rpc::<f::FetchAudit>(r#"{"query": {}}"#),
        rpc::<f::FetchAuditEntry>(&format!(r#"{{"id": {audit_id}, "cursor": null}}"#)),
        rpc::<f::FetchUsers>(r#"{"query": {}}"#).expect(NO, NO, Ok),
        rpc::<f::AddUser>(
            r#"{"user": {"name": "rpc_user", "password": "rpc-password", "role": "viewer"}}"#,
        )
        .expect(NO, NO, Ok),
        rpc::<f::ChangeUser>(r#"{"name": "extra", "change": {"role": "viewer"}}"#)
            .expect(NO, NO, Ok),
        rpc::<f::FetchTokens>("{}"),
        rpc::<f::CreateToken>(r#"{"token": {"name": "from the page"}}"#),
        rpc::<f::RevokeToken>(&format!(r#"{{"id": {admins_token}}}"#))
            .expect(NOT_YOURS, NOT_YOURS, NOT_YOURS),
        rpc::<f::FetchAlertRules>("{}"),
        rpc::<f::FetchAlerts>(r#"{"query": {}}"#),
        rpc::<f::SaveAlertRule>(&format!(r#"{{"id": null, "spec": {}}}"#, watch("o_other")))
            .expect(NO, NO, Ok),
        rpc::<f::SaveAlertRule>(&format!(r#"{{"id": null, "spec": {}}}"#, watch("d_own")))
            .expect(NO, Ok, Ok),
        rpc::<f::SaveAlertRule>(&format!(r#"{{"id": {rpc_rule}, "spec": {}}}"#, watch("o_other")))
            .expect(NO, NO, Ok),
        rpc::<f::DeleteAlertRule>(&format!(r#"{{"id": {rpc_rule}}}"#)).expect(NO, NO, Ok),
        rpc::<f::FetchBaselines>("{}"),
        rpc::<f::FetchBaselineStatus>(r#"{"name": "held_rpc", "run_date": "2026-03-10"}"#),
        rpc::<f::SaveBaseline>(&format!(
            r#"{{"creating": true, "spec": {}}}"#,
            promise("o_rpc_b", "o_other")
        ))
        .expect(NO, NO, Ok),
        rpc::<f::SaveBaseline>(&format!(
            r#"{{"creating": true, "spec": {}}}"#,
            promise("d_rpc_b", "d_own")
        ))
        .expect(NO, Ok, Ok),
        rpc::<f::SaveBaseline>(&format!(
            r#"{{"creating": false, "spec": {}}}"#,
            promise("held_rpc", "o_other")
        ))
        .expect(NO, NO, Ok),
        rpc::<f::DeleteBaseline>(r#"{"name": "held_rpc"}"#).expect(NO, NO, Ok),
        rpc::<f::FetchCalendars>("{}"),
        rpc::<f::SaveCalendar>(&format!(
            r#"{{"creating": true, "calendar": {}}}"#,
            calendar("made_rpc")
        ))
        .expect(NO, NO, Ok),
        rpc::<f::SaveCalendar>(&format!(
            r#"{{"creating": false, "calendar": {}}}"#,
            calendar("held")
        ))
        .expect(NO, NO, Ok),
        rpc::<f::DeleteCalendar>(r#"{"name": "gone_rpc"}"#).expect(NO, NO, Ok),
    ];

    // Completeness: every documented route and every server function has a row.
    let doc: serde_json::Value = serde_json::from_str(server::http::OPENAPI).unwrap();
    let covered: BTreeSet<&str> = rest.iter().map(|c| c.key.as_str()).collect();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete"] {
            let key = format!("{} {path}", method.to_uppercase());
            if item.get(method).is_some() && path != "/events" && key != "POST /logout" {
                assert!(covered.contains(key.as_str()), "{key} has no row in the table");
            }
        }
    }
    let covered: BTreeSet<&str> = server_fns.iter().map(|c| c.key.as_str()).collect();
    for (path, _) in server_fn::axum::server_fn_paths() {
        assert!(covered.contains(path), "server function {path} has no row in the table");
    }

    let db = reader(&dir).await;
    let mut checked = 0;
    for call in rest.iter().chain(&server_fns) {
        let anonymous_gets = if call.public { Ok } else { Refused(401) };
        let changes_state = call.method != "GET";
        for (who, api, expect) in [
            ("anonymous", &anonymous, anonymous_gets),
            ("viewer", &viewer, call.viewer),
            ("developer", &developer, call.developer),
            ("admin", &admin, call.admin),
        ] {
            let what = format!("{} {} as {who}", call.method, call.path);
            // Without the CSRF token, a session changes nothing (the public login aside).
            if changes_state && !call.public && who != "anonymous" {
                let before = fingerprint(&db).await;
                let forged = api
                    .without("X-CSRF-Token")
                    .request(call.method, &call.path, call.body.as_deref())
                    .await;
                assert_eq!(forged.status, 403, "{what} without a CSRF token: {}", forged.body);
                assert!(forged.body.contains("CSRF"), "{what}: {}", forged.body);
                unchanged(&db, &before, &format!("{what} without a CSRF token")).await;
                checked += 1;
            }
            let before = fingerprint(&db).await;
            let answer = api.request(call.method, &call.path, call.body.as_deref()).await;
            match expect {
                Ok => assert!(
                    !matches!(answer.status, 401 | 403) && answer.status < 500,
                    "{what} should be allowed: {} {}",
                    answer.status,
                    answer.body
                ),
                Refused(status) => {
                    assert_eq!(answer.status, status, "{what}: {}", answer.body);
                    unchanged(&db, &before, &format!("{what}, refused,")).await;
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 150, "{checked} refusals checked");

    // Tidy up: the blocker's `sleep 600` goes.
    assert_eq!(admin.post(&format!("/api/v1/instances/{blocker}/kill"), "{}").await.status, 200);
    db.close().await;
    server.stop().await;
}
