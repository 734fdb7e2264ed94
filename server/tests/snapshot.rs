//! The nightly snapshot: idempotence, the day a change shows up, the instance dependency rule,
//! and the 22:30 trigger on the injected clock.

mod common;

use app::model::InstanceState;
use common::{Harness, date};
use server::engine::EngineEvent;

fn node(name: &str, schedule: &str, upstream: &[&str]) -> String {
    let upstream: Vec<String> = upstream.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        "[[nodes]]\nname = \"{name}\"\ncommand = \"true\"\nschedule = \"{schedule}\"\nupstream = [{}]\n",
        upstream.join(", ")
    )
}

#[tokio::test]
async fn running_the_snapshot_again_creates_nothing() {
    // A manual clock well before the run date: nothing starts running underneath the test.
    let h = Harness::start_manual("2026-01-01T00:00:00Z").await;
    h.define(&[node("i_a", "0 1 * * *", &[]), node("i_b", "0 * * * *", &["i_a"])].concat()).await;
    assert_eq!(h.snapshot("2026-03-10").await, 25);
    assert_eq!(h.snapshot("2026-03-10").await, 0);
    assert_eq!(h.instances_of("i_a").await.len(), 1);
    assert_eq!(h.instances_of("i_b").await.len(), 24);
    let b = &h.instances_of("i_b").await[0];
    let (upstream, _) = h.store().neighbors(b.id).await.unwrap();
    assert_eq!(upstream.len(), 1, "no duplicated edges");
    h.stop().await;
}

#[tokio::test]
async fn a_node_added_after_the_snapshot_appears_the_next_day() {
    let h = Harness::start_manual("2026-01-01T00:00:00Z").await;
    h.define(&node("l_old", "0 1 * * *", &[])).await;
    h.snapshot("2026-03-10").await;
    h.define(&node("l_new", "0 2 * * *", &["l_old"])).await;
    h.snapshot("2026-03-11").await;
    let new: Vec<_> = h.instances_of("l_new").await.into_iter().map(|i| i.run_date).collect();
    assert_eq!(new, vec![date("2026-03-11")]);
    assert_eq!(h.instances_of("l_old").await.len(), 2);
    h.stop().await;
}

#[tokio::test]
async fn dependencies_between_hourly_and_daily_instances() {
    let h = Harness::start_manual("2026-01-01T00:00:00Z").await;
    h.define(
        &[
            node("h_hourly", "0 * * * *", &[]),
            node("h_daily_after_hourly", "0 2 * * *", &["h_hourly"]),
            node("h_hourly_after_hourly", "30 * * * *", &["h_hourly"]),
            node("h_daily", "0 1 * * *", &[]),
            node("h_daily_after_daily", "0 3 * * *", &["h_daily"]),
            node("h_hourly_after_daily", "15 * * * *", &["h_daily"]),
        ]
        .concat(),
    )
    .await;
    h.snapshot("2026-03-10").await;
    let upstream_of = async |id| h.store().neighbors(id).await.unwrap().0;

    // Daily after hourly: waits for all 24 hours.
    let daily = &h.instances_of("h_daily_after_hourly").await[0];
    assert_eq!(upstream_of(daily.id).await.len(), 24);
    assert_eq!(daily.state, InstanceState::NotRun);

    // Hourly after hourly: each hour waits for the same hour.
    for instance in h.instances_of("h_hourly_after_hourly").await {
        let ups = upstream_of(instance.id).await;
        assert_eq!(ups.len(), 1);
        assert_eq!(ups[0].node, "h_hourly");
        assert_eq!(
            ups[0].planned_at.format("%H").to_string(),
            instance.planned_at.format("%H").to_string()
        );
    }

    // Daily after daily: one to one. Hourly after daily: every hour waits for the day's one.
    let dd = &h.instances_of("h_daily_after_daily").await[0];
    assert_eq!(upstream_of(dd.id).await.len(), 1);
    let the_daily = h.instance("h_daily").await.id;
    for instance in h.instances_of("h_hourly_after_daily").await {
        let ups = upstream_of(instance.id).await;
        assert_eq!(ups.iter().map(|u| u.id).collect::<Vec<_>>(), vec![the_daily]);
    }
    // Roots start by waiting for their time; everything else waits for its upstream.
    assert_eq!(h.instance("h_daily").await.state, InstanceState::WaitingTime);
    h.stop().await;
}

/// The next snapshot event (others, such as instances starting, are skipped).
async fn next_snapshot(events: &mut tokio::sync::broadcast::Receiver<EngineEvent>) -> EngineEvent {
    let wait = async {
        loop {
            let event = events.recv().await.unwrap();
            if matches!(event, EngineEvent::SnapshotMade { .. }) {
                return event;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), wait).await.expect("a snapshot")
}

#[tokio::test]
async fn at_22_30_the_next_day_is_generated() {
    let h = Harness::start_manual("2026-03-10T22:29:59Z").await;
    h.define(&node("n_nightly", "0 6 * * *", &[])).await;
    let mut events = h.engine.subscribe();
    assert!(h.instances_of("n_nightly").await.is_empty());
    h.clock().advance(chrono::Duration::seconds(1));
    let event = next_snapshot(&mut events).await;
    assert!(matches!(event, EngineEvent::SnapshotMade { run_date, created: 1, .. }
        if run_date == date("2026-03-11")));
    let instance = h.instance("n_nightly").await;
    assert_eq!(instance.run_date, date("2026-03-11"));
    assert_eq!(instance.bizdate, date("2026-03-10"));
    assert_eq!(instance.state, InstanceState::WaitingTime);
    // And again the next night.
    h.clock().advance(chrono::Duration::days(1));
    let event = next_snapshot(&mut events).await;
    assert!(matches!(event, EngineEvent::SnapshotMade { run_date, created: 1, .. }
        if run_date == date("2026-03-12")));
    h.stop().await;
}

#[tokio::test]
async fn a_restart_after_a_missed_night_catches_up_but_a_new_project_does_not_start_alone() {
    use server::engine::Engine;
    use server::engine::clock::ManualClock;

    for (operating, expect_catch_up) in [(true, true), (false, false)] {
        let dir = tempfile::tempdir().unwrap();
        let store = common::open_store(&dir).await;
        let file =
            server::definitions::DefinitionFile::parse("t.toml", &node("m_node", "0 6 * * *", &[]))
                .unwrap();
        let by = server::definitions::By::System;
        server::definitions::apply(
            &store,
            file,
            server::definitions::ApplyMode::Upsert,
            by,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        if operating {
            // The server made the 9th's snapshot, then was down over 22:30 on the 10th.
            server::engine::snapshot::generate(
                &store,
                chrono_tz::Tz::UTC,
                date("2026-03-09"),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        }
        let clock = ManualClock::new("2026-03-10T23:00:00Z".parse().unwrap());
        let engine = Engine::new(store.clone(), clock, common::engine_config(&dir));
        let cancel = tokio_util::sync::CancellationToken::new();
        // The catch-up is part of start-up: when start returns, it has happened or it will not.
        engine.start(cancel.clone()).await.unwrap();
        assert_eq!(
            store.has_snapshot(date("2026-03-11")).await.unwrap(),
            expect_catch_up,
            "operating = {operating}"
        );
        assert!(
            !store.has_snapshot(date("2026-03-10")).await.unwrap(),
            "only the latest missed night"
        );
        cancel.cancel();
    }
}
