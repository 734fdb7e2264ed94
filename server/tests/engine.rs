//! The engine end to end: real SQLite files, real child processes.

mod common;

use app::model::InstanceState::*;
use common::{Harness, eventually};
use server::engine::process;

/// A node definition in TOML.
fn node(name: &str, command: &str, extra: &str) -> String {
    format!(
        "[[nodes]]\nname = \"{name}\"\nworkflow = \"w\"\nowner = \"alice\"\nschedule = \"0 1 * * *\"\ncommand = '''{command}'''\n{extra}\n"
    )
}

#[tokio::test]
async fn a_diamond_runs_in_dependency_order() {
    let h = Harness::start().await;
    let order = h.path("order");
    let step = |name: &str| format!("echo {name} >> {}", order.display());
    let toml = [
        node("d_a", &step("a"), ""),
        node("d_b", &step("b"), "upstream = [\"d_a\"]"),
        node("d_c", &step("c"), "upstream = [\"d_a\"]"),
        node("d_d", &step("d"), "upstream = [\"d_b\", \"d_c\"]"),
    ]
    .concat();
    h.define(&toml).await;
    assert_eq!(h.snapshot("2020-01-02").await, 4);
    let d = h.wait_state("d_d", Success).await;
    let (a, b, c) = (h.instance("d_a").await, h.instance("d_b").await, h.instance("d_c").await);
    for parent in [&b, &c] {
        assert!(
            a.ended_at.unwrap() <= parent.started_at.unwrap(),
            "a ends before its children start"
        );
        assert!(parent.ended_at.unwrap() <= d.started_at.unwrap(), "d starts after both parents");
    }
    let written = std::fs::read_to_string(&order).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.first(), Some(&"a"));
    assert_eq!(lines.last(), Some(&"d"));
    assert_eq!(lines.len(), 4);
    assert_eq!(d.bizdate.to_string(), "2020-01-01");
    assert_eq!(d.attempt, 1);
    assert_eq!(d.host.as_deref(), Some("test-host"));
    assert_eq!(d.exit_code, Some(0));
    h.stop().await;
}

#[tokio::test]
async fn a_failure_leaves_the_downstream_not_run_and_the_log_says_why() {
    let h = Harness::start().await;
    let toml = [
        node("f_up", "echo going to fail; echo oops >&2; exit 3", ""),
        node("f_down", "true", "upstream = [\"f_up\"]"),
    ]
    .concat();
    h.define(&toml).await;
    h.snapshot("2020-01-02").await;
    let up = h.wait_state("f_up", Failed).await;
    assert_eq!(up.exit_code, Some(3));
    assert_eq!(up.reason.as_deref(), Some("exited with code 3"));
    // The downstream was never promoted: the finish and the promotion are one transaction.
    assert_eq!(h.instance("f_down").await.state, NotRun);
    let attempts = h.store().attempts(up.id).await.unwrap();
    let log = std::fs::read_to_string(h.dir.path().join(&attempts[0].log_path)).unwrap();
    assert!(log.contains("going to fail\noops\n"), "stdout and stderr in order: {log}");
    assert!(log.contains("[nightshift] failed: exited with code 3"), "{log}");
    h.stop().await;
}

#[tokio::test]
async fn full_slots_leave_the_rest_waiting_for_resources() {
    let h = Harness::start().await;
    let gate = h.path("gate");
    let wait_gate = common::wait_for_file(&gate);
    let toml = format!(
        "[[resource_groups]]\nname = \"narrow\"\nslots = 1\n{}{}",
        node("s_one", &wait_gate, "resource_group = \"narrow\""),
        node("s_two", &wait_gate, "resource_group = \"narrow\"")
    );
    h.define(&toml).await;
    h.snapshot("2020-01-02").await;
    let (running, waiting) = eventually("one running, one queued", async || {
        let one = h.instance("s_one").await;
        let two = h.instance("s_two").await;
        match (one.state, two.state) {
            (Running, WaitingResources) => Some((one, two)),
            (WaitingResources, Running) => Some((two, one)),
            _ => None,
        }
    })
    .await;
    assert_eq!(running.attempt, 1);
    assert_eq!(waiting.attempt, 0);
    std::fs::write(&gate, "").unwrap();
    h.wait_state("s_one", Success).await;
    h.wait_state("s_two", Success).await;
    h.stop().await;
}

#[tokio::test]
async fn a_planned_time_in_the_future_waits_for_time_then_runs() {
    // 00:59:00 on the run date; the node is planned at 01:00.
    let h = Harness::start_manual("2026-03-10T00:59:00Z").await;
    h.define(&node("t_later", "true", "")).await;
    h.snapshot("2026-03-10").await;
    let waiting = h.instance("t_later").await;
    assert_eq!(waiting.state, WaitingTime);
    assert_eq!(waiting.planned_at.to_rfc3339(), "2026-03-10T01:00:00+00:00");
    h.clock().advance(chrono::Duration::seconds(59));
    // Still a second early: nothing moves (the store decides with the injected clock).
    h.engine.wake();
    h.store().release_due(h.engine.clock().now()).await.unwrap();
    assert_eq!(h.instance("t_later").await.state, WaitingTime);
    h.clock().advance(chrono::Duration::seconds(1));
    h.wait_state("t_later", Success).await;
    h.stop().await;
}

#[tokio::test]
async fn a_timeout_stops_the_whole_process_group() {
    let h = Harness::start().await;
    // The command starts a grandchild; both must end.
    h.define(&node("to_slow", "sleep 30 & sleep 30; wait", "timeout_secs = 1")).await;
    h.snapshot("2020-01-02").await;
    let failed = h.wait_state("to_slow", Failed).await;
    assert_eq!(failed.reason.as_deref(), Some("timed out after 1s and was stopped"));
    let attempt = &h.store().attempts(failed.id).await.unwrap()[0];
    let pid = attempt.pid.expect("the pid was recorded");
    assert!(!process::group_alive(pid), "no process of group {pid} is left");
    h.stop().await;
}

#[tokio::test]
async fn a_failed_attempt_is_retried_after_its_delay() {
    let h = Harness::start_manual("2026-03-10T12:00:00Z").await;
    let marker = h.path("tried");
    let flaky = format!(
        "if [ -f {m} ]; then echo second; else touch {m}; echo first; exit 1; fi",
        m = marker.display()
    );
    h.define(&node("r_flaky", &flaky, "retries = 1\nretry_delay_secs = 60")).await;
    h.snapshot("2026-03-10").await;
    // The first attempt fails and waits 60 s (of the injected clock) for its retry.
    let waiting = h
        .wait_for("r_flaky", "waiting for its retry", |i| i.state == WaitingTime && i.attempt == 1)
        .await;
    assert_eq!(waiting.reason.as_deref(), Some("exited with code 1"));
    h.clock().advance(chrono::Duration::seconds(60));
    let done = h.wait_state("r_flaky", Success).await;
    assert_eq!(done.attempt, 2);
    let attempts = h.store().attempts(done.id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].outcome.as_deref(), Some("failed"));
    assert_eq!(attempts[1].outcome.as_deref(), Some("success"));
    // Each attempt keeps its own log.
    let first = std::fs::read_to_string(h.dir.path().join(&attempts[0].log_path)).unwrap();
    let second = std::fs::read_to_string(h.dir.path().join(&attempts[1].log_path)).unwrap();
    assert!(first.contains("\nfirst\n") && !first.contains("\nsecond\n"), "{first}");
    assert!(second.contains("\nsecond\n"), "{second}");
    h.stop().await;
}

#[tokio::test]
async fn retries_run_out_and_the_instance_fails() {
    let h = Harness::start().await;
    h.define(&node("r_always", "exit 1", "retries = 2\nretry_delay_secs = 0")).await;
    h.snapshot("2020-01-02").await;
    let failed = h.wait_state("r_always", Failed).await;
    assert_eq!(failed.attempt, 3, "one run and two retries");
    h.stop().await;
}

#[tokio::test]
async fn parameters_are_substituted_in_the_command() {
    let h = Harness::start().await;
    let out = h.path("params");
    h.define(&node(
        "p_node",
        &format!("echo ${{bizdate}} ${{cyctime}} $NIGHTSHIFT_BIZDATE > {}", out.display()),
        "",
    ))
    .await;
    h.snapshot("2020-01-02").await;
    h.wait_state("p_node", Success).await;
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "20200101 20200102010000 20200101\n");
    h.stop().await;
}

#[tokio::test]
async fn a_paused_node_gets_frozen_instances_and_its_downstream_waits() {
    let h = Harness::start().await;
    let toml = [
        node("z_frozen", "true", "paused = true"),
        node("z_after", "true", "upstream = [\"z_frozen\"]"),
        node("z_free", "true", ""),
    ]
    .concat();
    h.define(&toml).await;
    h.snapshot("2020-01-02").await;
    h.wait_state("z_free", Success).await;
    let frozen = h.instance("z_frozen").await;
    assert!(frozen.paused);
    assert_eq!(frozen.state, NotRun);
    assert_eq!(frozen.attempt, 0);
    assert_eq!(h.instance("z_after").await.state, NotRun);
    h.stop().await;
}
