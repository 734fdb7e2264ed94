//! Operations on instances with real processes: kill, rerun, set success, pause/resume, rerun
//! downstream, the batches, their previews and the audit trail.

mod common;

use app::audit::AuditQuery;
use app::model::InstanceState::*;
use app::model::{InstanceFilter, InstanceId};
use app::people::{Actor, Role};
use app::report::{BatchKind, BatchRequest, ItemResult};
use app::report::{Mode, RerunDownstreamRequest};
use app::rules::Operation;
use app::usecases::Operations;
use common::{Harness, eventually, node};

fn checked(ids: &[InstanceId], dry_run: bool) -> RerunDownstreamRequest {
    RerunDownstreamRequest { instance_ids: ids.to_vec(), dry_run }
}
use server::engine::process;

/// A command that fails until the file `marker` exists.
fn fails_until(marker: &std::path::Path) -> String {
    format!("test -f {}", marker.display())
}

#[tokio::test]
async fn kill_of_a_running_command_returns_once_its_process_group_is_gone() {
    let h = Harness::start().await;
    h.define(&node("k_sleep", "sleep 600 & sleep 600", "")).await;
    h.snapshot("2020-01-02").await;
    let running = h.wait_state("k_sleep", Running).await;
    let pid =
        eventually("the pid", async || h.store().attempts(running.id).await.unwrap().pop()?.pid)
            .await;
    assert!(process::group_alive(pid));

    let report = h.admin().operate(running.id, Operation::Kill, Ok(Mode::Apply)).await.unwrap();
    // The answer comes only after the whole group (both sleeps) has ended.
    assert!(!process::group_alive(pid), "no process of group {pid} is left");
    assert_eq!(report.changes[0].from, Running);
    assert_eq!(report.changes[0].to, Stopped);
    let killed = h.instance("k_sleep").await;
    assert_eq!(killed.state, Stopped);
    assert_eq!(killed.reason.as_deref(), Some("killed by root"));
    let attempt = h.store().attempts(killed.id).await.unwrap().pop().unwrap();
    assert_eq!(attempt.reason.as_deref(), Some(server::engine::executor::STOPPED));
    assert!(attempt.ended_at.is_some());
    let audit =
        h.store().list_audit(&AuditQuery { limit: Some(10), ..Default::default() }).await.unwrap();
    assert_eq!((audit.items[0].action.as_str(), audit.items[0].outcome.as_str()), ("kill", "ok"));
    h.stop().await;
}

#[tokio::test]
async fn a_killed_waiting_instance_never_runs() {
    let h = Harness::start_manual("2026-03-10T00:30:00Z").await;
    h.define(&node("k_later", "true", "")).await;
    h.snapshot("2026-03-10").await;
    let waiting = h.instance("k_later").await;
    assert_eq!(waiting.state, WaitingTime);
    h.admin().operate(waiting.id, Operation::Kill, Ok(Mode::Apply)).await.unwrap();
    h.clock().advance(chrono::Duration::hours(2));
    h.engine.wake();
    let after = h.instance("k_later").await;
    assert_eq!((after.state, after.attempt), (Stopped, 0));
    // Killing it again is refused by the rule, with the reason.
    let again = h.admin().operate(waiting.id, Operation::Kill, Ok(Mode::Apply)).await.unwrap_err();
    assert_eq!(again.code, app::error::ErrorCode::Conflict);
    assert!(again.message.ends_with("this one is manually stopped"), "{}", again.message);
    h.stop().await;
}

#[tokio::test]
async fn rerun_after_a_failure_lets_the_downstream_run() {
    let h = Harness::start().await;
    let fixed = h.path("fixed");
    h.define(
        &[
            node("rr_up", &fails_until(&fixed), ""),
            node("rr_down", "true", "upstream = [\"rr_up\"]"),
        ]
        .concat(),
    )
    .await;
    h.snapshot("2020-01-02").await;
    let failed = h.wait_state("rr_up", Failed).await;
    assert_eq!(h.instance("rr_down").await.state, NotRun);

    std::fs::write(&fixed, "").unwrap(); // the fix
    let preview = h.admin().operate(failed.id, Operation::Rerun, Ok(Mode::DryRun)).await.unwrap();
    assert_eq!(preview.changes[0].to, WaitingResources);
    assert_eq!(preview.downstream.iter().map(|d| d.node.as_str()).collect::<Vec<_>>(), ["rr_down"]);
    assert_eq!(h.instance("rr_up").await.state, Failed, "a dry run changes nothing");

    h.admin().operate(failed.id, Operation::Rerun, Ok(Mode::Apply)).await.unwrap();
    let up = h.wait_state("rr_up", Success).await;
    assert_eq!(up.attempt, 2);
    let down = h.wait_state("rr_down", Success).await;
    assert!(down.started_at.unwrap() >= up.ended_at.unwrap());
    // Both attempts keep their logs.
    let attempts = h.store().attempts(up.id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_ne!(attempts[0].log_path, attempts[1].log_path);
    h.stop().await;
}

#[tokio::test]
async fn set_success_resumes_the_downstream() {
    let h = Harness::start().await;
    h.define(
        &[node("ss_up", "exit 1", ""), node("ss_down", "true", "upstream = [\"ss_up\"]")].concat(),
    )
    .await;
    h.snapshot("2020-01-02").await;
    let failed = h.wait_state("ss_up", Failed).await;
    let report =
        h.admin().operate(failed.id, Operation::SetSuccess, Ok(Mode::Apply)).await.unwrap();
    assert_eq!((report.changes[0].from, report.changes[0].to), (Failed, Success));
    let down = h.wait_state("ss_down", Success).await;
    assert_eq!(down.attempt, 1);
    let up = h.instance("ss_up").await;
    assert_eq!((up.state, up.attempt), (Success, 1), "set success does not run the command");
    h.stop().await;
}

#[tokio::test]
async fn pause_freezes_this_cycle_only_and_resume_releases_it() {
    let h = Harness::start_manual("2026-03-10T00:30:00Z").await;
    h.define(
        &[
            node("p_up", "true", ""),
            node("p_down", "true", "upstream = [\"p_up\"]\nschedule = \"0 2 * * *\""),
        ]
        .concat(),
    )
    .await;
    h.snapshot("2026-03-10").await;
    let up = h.instance("p_up").await;
    let report = h.admin().operate(up.id, Operation::Pause, Ok(Mode::Apply)).await.unwrap();
    assert!(report.changes[0].paused);
    h.clock().advance(chrono::Duration::hours(3));
    h.engine.wake();
    h.snapshot("2026-03-11").await;
    let tomorrow = h.instances_of("p_up").await.pop().unwrap();
    assert_eq!(tomorrow.run_date.to_string(), "2026-03-11");
    assert!(!tomorrow.paused, "the next cycle is not paused");
    let frozen = h.instances_of("p_up").await.remove(0);
    assert!(frozen.paused);
    assert_eq!(
        (frozen.state, frozen.attempt),
        (WaitingTime, 0),
        "a paused instance is not released"
    );

    h.admin().operate(up.id, Operation::Resume, Ok(Mode::Apply)).await.unwrap();
    eventually("p_up ran after resume", async || {
        let i = h.instances_of("p_up").await.remove(0);
        (i.state == Success).then_some(())
    })
    .await;
    eventually("p_down followed", async || {
        let i = h.instances_of("p_down").await.remove(0);
        (i.state == Success).then_some(())
    })
    .await;
    h.stop().await;
}

/// a → b → c (c planned later, so it waits for its time when a and b are done).
async fn chain(h: &Harness) -> (InstanceId, InstanceId, InstanceId) {
    h.define(
        &[
            node("rd_a", "true", ""),
            node("rd_b", "true", "upstream = [\"rd_a\"]"),
            node("rd_c", "true", "upstream = [\"rd_b\"]\nschedule = \"0 9 * * *\""),
        ]
        .concat(),
    )
    .await;
    h.snapshot("2026-03-10").await;
    h.wait_state("rd_b", Success).await;
    let c = h.wait_state("rd_c", WaitingTime).await;
    (h.instance("rd_a").await.id, h.instance("rd_b").await.id, c.id)
}

#[tokio::test]
async fn rerun_downstream_with_an_ineligible_selection_changes_nothing() {
    let h = Harness::start_manual("2026-03-10T02:00:00Z").await;
    let (a, b, c) = chain(&h).await;
    let before: Vec<_> =
        [h.instance("rd_a").await, h.instance("rd_b").await, h.instance("rd_c").await].into();

    let refused = h.admin().rerun_downstream(a, Ok(checked(&[a, b, c], false))).await.unwrap_err();
    assert_eq!(refused.code, app::error::ErrorCode::Conflict);
    assert_eq!(
        refused.message,
        format!("the selection contains nodes that are not eligible to run (instances {c})")
    );
    let after: Vec<_> =
        [h.instance("rd_a").await, h.instance("rd_b").await, h.instance("rd_c").await].into();
    assert_eq!(before, after, "nothing changed");
    let audit =
        h.store().list_audit(&AuditQuery { limit: Some(1), ..Default::default() }).await.unwrap();
    assert_eq!(audit.items[0].outcome, app::audit::AuditOutcome::Refused);

    let outsider = h.admin().rerun_downstream(b, Ok(checked(&[a], false))).await.unwrap_err();
    assert_eq!(outsider.code, app::error::ErrorCode::BadRequest);
    h.stop().await;
}

#[tokio::test]
async fn rerun_downstream_runs_the_checked_ones_in_dependency_order() {
    let h = Harness::start_manual("2026-03-10T02:00:00Z").await;
    let (a, b, _c) = chain(&h).await;
    let preview = h.admin().rerun_downstream(a, Ok(checked(&[a, b], true))).await.unwrap();
    let planned: Vec<_> = preview.changes.iter().map(|c| (c.id, c.from, c.to)).collect();
    assert_eq!(planned, vec![(a, Success, WaitingResources), (b, Success, NotRun)]);

    h.admin().rerun_downstream(a, Ok(checked(&[a, b], false))).await.unwrap();
    let b2 = h.wait_for("rd_b", "second run", |i| i.state == Success && i.attempt == 2).await;
    let a2 = h.instance("rd_a").await;
    assert_eq!(a2.attempt, 2);
    assert!(b2.started_at.unwrap() >= a2.ended_at.unwrap(), "b reran after a");
    assert_eq!(h.instance("rd_c").await.state, WaitingTime, "unchecked c is untouched");
    h.stop().await;
}

#[tokio::test]
async fn batch_repair_over_a_diamond_runs_the_shared_child_once() {
    let h = Harness::start().await;
    let fixed = h.path("fixed");
    h.define(
        &[
            node("br_left", &fails_until(&fixed), ""),
            node("br_right", &fails_until(&fixed), ""),
            node("br_child", "true", "upstream = [\"br_left\", \"br_right\"]"),
            node("br_ok", "true", ""),
        ]
        .concat(),
    )
    .await;
    h.snapshot("2020-01-02").await;
    let left = h.wait_state("br_left", Failed).await.id;
    let right = h.wait_state("br_right", Failed).await.id;
    let ok = h.wait_state("br_ok", Success).await.id;
    std::fs::write(&fixed, "").unwrap();

    let request = |dry_run| BatchRequest {
        ids: Some(vec![left, right, ok, InstanceId(999_999)]),
        filter: None,
        dry_run,
    };
    let preview = h.admin().batch(BatchKind::Rerun, Ok(request(true))).await.unwrap();
    assert_eq!(preview.results[&left.to_string()], ItemResult::ok());
    // Each refusal in English, and as a reason the UI says in its language.
    let refused = &preview.results[&ok.to_string()];
    assert_eq!(
        refused.error(),
        Some("repair rerun is only for failed instances; this one is success")
    );
    assert_eq!(
        refused.describe(app::lang::Locale::zh_CN).as_deref(),
        Some("修复重跑只适用于运行失败的实例；该实例为运行成功")
    );
    assert_eq!(preview.results["999999"].error(), Some("no instance 999999"));
    assert_eq!(
        preview.results["999999"].describe(app::lang::Locale::zh_CN).as_deref(),
        Some("实例 999999 不存在")
    );
    assert_eq!(preview.changes.len(), 2);
    assert_eq!(
        preview.downstream.iter().map(|d| d.node.as_str()).collect::<Vec<_>>(),
        ["br_child"]
    );
    assert_eq!(h.instance("br_left").await.state, Failed, "a dry run changes nothing");

    h.admin().batch(BatchKind::Rerun, Ok(request(false))).await.unwrap();
    let child = h.wait_state("br_child", Success).await;
    assert_eq!(child.attempt, 1, "the shared child ran once");
    let (l, r) = (h.instance("br_left").await, h.instance("br_right").await);
    assert!(child.started_at.unwrap() >= l.ended_at.unwrap().max(r.ended_at.unwrap()));
    assert_eq!(h.instance("br_ok").await.attempt, 1, "the ineligible one was not rerun");
    h.stop().await;
}

#[tokio::test]
async fn batches_by_filter_and_batch_kill_for_administrators_only() {
    let h = Harness::start().await;
    h.define(
        &[node("bf_a", "exit 1", ""), node("bf_b", "exit 1", ""), node("bf_c", "true", "")]
            .concat(),
    )
    .await;
    h.snapshot("2020-01-02").await;
    for n in ["bf_a", "bf_b"] {
        h.wait_state(n, Failed).await;
    }
    h.wait_state("bf_c", Success).await;
    let filter =
        InstanceFilter { state: vec![Failed], node: Some("bf_".into()), ..Default::default() };
    let preview = h
        .admin()
        .batch(
            BatchKind::Rerun,
            Ok(BatchRequest { ids: None, filter: Some(filter), dry_run: true }),
        )
        .await
        .unwrap();
    assert_eq!(preview.results.len(), 2, "every failed instance matching the filter, no paging");

    let developer = Actor { name: "alice".into(), role: Role::Developer };
    let all = h.instances_of("bf_c").await;
    let kill = BatchRequest { ids: Some(vec![all[0].id]), filter: None, dry_run: false };
    let refused = h.service(developer).batch(BatchKind::Kill, Ok(kill)).await.unwrap_err();
    assert_eq!(refused.code, app::error::ErrorCode::Forbidden);
    assert_eq!(refused.message, "batch kill is for project administrators only");
    let audit = h
        .store()
        .list_audit(&AuditQuery {
            actor: Some("alice".into()),
            limit: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (audit.items[0].action.as_str(), audit.items[0].outcome.as_str()),
        ("batch_kill", "refused")
    );
    h.stop().await;
}

#[tokio::test]
async fn concurrent_kills_and_dispatch_end_consistent() {
    let h = Harness::start().await;
    let mut toml = String::from("[[resource_groups]]\nname = \"few\"\nslots = 3\n");
    for i in 0..24 {
        toml.push_str(&node(&format!("cc_{i:02}"), "sleep 0.05", "resource_group = \"few\""));
    }
    h.define(&toml).await;
    h.snapshot("2020-01-02").await;
    let all = h
        .store()
        .list_instances(
            &InstanceFilter { node: Some("cc_".into()), ..Default::default() },
            None,
            500,
        )
        .await
        .unwrap()
        .items;
    // Kill every instance at once while the dispatcher is claiming and running them.
    let kills = all.iter().map(|i| {
        let service = h.admin();
        let id = i.id;
        tokio::spawn(async move { service.operate(id, Operation::Kill, Ok(Mode::Apply)).await })
    });
    let outcomes = futures_join(kills).await;
    let settled = eventually("every instance settled", async || {
        let items = h
            .store()
            .list_instances(
                &InstanceFilter { node: Some("cc_".into()), ..Default::default() },
                None,
                500,
            )
            .await
            .unwrap()
            .items;
        items.iter().all(|i| matches!(i.state, Stopped | Success)).then_some(items)
    })
    .await;
    for (instance, outcome) in settled.iter().zip(&outcomes) {
        match outcome {
            Ok(_) => assert_eq!(instance.state, Stopped, "a kill that was accepted wins"),
            Err(e) => assert!(e.message.contains("this one is success"), "{}", e.message),
        }
        for attempt in h.store().attempts(instance.id).await.unwrap() {
            let pid = attempt.pid;
            eventually("the attempt ended", async || {
                let a = h.store().attempts(instance.id).await.unwrap();
                a.iter().find(|x| x.attempt == attempt.attempt)?.ended_at.map(|_| ())
            })
            .await;
            if let Some(pid) = pid {
                assert!(
                    !process::group_alive(pid),
                    "instance {} left process group {pid}",
                    instance.id
                );
            }
        }
    }
    h.stop().await;
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}
