//! Retention (issue 18): what is older than the configured days goes, in batches, with
//! everything that belongs to it; an instance a waiting downstream still needs stays; the
//! statistics stay equal to a fresh count.

mod common;

use app::audit::AuditQuery;
use app::jobs::{BackfillRequest, DateOrder};
use app::model::{Instance, InstanceFilter, InstanceId, InstanceState, InstanceState::*, RunType};
use app::report::Mode;
use app::rules::Operation;
use app::usecases::{Jobs, Operations};
use common::{Harness, node};
use server::retention::{self, Purged, RetentionConfig};

async fn run_dates(h: &Harness) -> Vec<(String, String, InstanceId)> {
    let page = h.store().list_instances(&InstanceFilter::default(), None, 500).await.unwrap();
    let mut all: Vec<_> =
        page.items.into_iter().map(|i| (i.run_date.to_string(), i.node, i.id)).collect();
    all.sort();
    all
}

async fn audit_days(h: &Harness) -> Vec<String> {
    let page = h.store().list_audit(&AuditQuery { limit: Some(500), ..Default::default() }).await;
    let mut days: Vec<String> =
        page.unwrap().items.iter().map(|a| a.at.date_naive().to_string()).collect();
    days.sort();
    days.dedup();
    days
}

/// The state of `node`'s cycle instance of `day`, once it is `state`.
async fn wait_until(h: &Harness, node: &str, day: &str, state: InstanceState) -> Instance {
    common::eventually(&format!("{node} of {day} {state:?}"), async || {
        let all = h.instances_of(node).await;
        all.into_iter().find(|i| {
            i.run_date.to_string() == day && i.run_type == RunType::Cycle && i.state == state
        })
    })
    .await
}

/// Sets the modification time of a log folder and its fan-out folders to `then`.
fn age_folder(folder: &std::path::Path, then: chrono::DateTime<chrono::Utc>) {
    let then = std::time::SystemTime::from(then);
    let mut all = vec![folder.to_path_buf()];
    all.extend(std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().path()));
    for path in all {
        std::fs::File::open(&path).unwrap().set_modified(then).unwrap();
    }
}

#[tokio::test]
async fn old_instances_logs_and_audit_go_in_batches_and_what_a_waiting_downstream_needs_stays() {
    let h = Harness::start_manual("2026-04-11T12:00:00Z").await;
    let toml = [
        node("r_a", "echo a", ""),
        node("r_b", "echo b", "upstream = [\"r_a\"]"),
        node("r_c", "echo c; exit 1", ""),
        node("r_d", "true", "upstream = [\"r_c\"]"),
    ]
    .concat();
    h.define(&toml).await;
    let admin = h.admin();

    // Two old run dates (100 and 40 days ago) and a backfill of older dates, all run; today's
    // too (the engine makes it at its start).
    for day in ["2026-01-01", "2026-03-02", "2026-04-11"] {
        h.snapshot(day).await;
        wait_until(&h, "r_b", day, Success).await;
        wait_until(&h, "r_c", day, Failed).await;
    }
    let backfill = BackfillRequest {
        node: "r_a".into(),
        downstream: Vec::new(),
        from: "2025-12-01".into(),
        to: "2025-12-02".into(),
        order: DateOrder::default(),
        parallelism: 2,
        dry_run: false,
    };
    let job = admin.backfill(Ok(backfill)).await.unwrap().job.unwrap();
    common::eventually("the backfill ran", async || {
        let filter = InstanceFilter { job: Some(job), ..Default::default() };
        let page = h.store().list_instances(&filter, None, 10).await.unwrap();
        page.items.iter().all(|i| i.state == Success).then_some(())
    })
    .await;
    let old_c = wait_until(&h, "r_c", "2026-01-01", Failed).await;
    admin.operate(old_c.id, Operation::Pause, Ok(Mode::Apply)).await.unwrap();
    // The old days are made as old as they would be: the instances made the night before their
    // run date, their logs written then, the audit entries so far (the backfill, the pause) 400
    // days old. The backfill is of old dates but was made today.
    let url = common::database_url(h.dir.path());
    common::run_sql(&url, "UPDATE audit SET at = at - 34560000000").await;
    common::run_sql(
        &url,
        "UPDATE instances SET created_at = created_at - 8640000000 \
         WHERE run_type = 'cycle' AND run_date = '2026-01-01'",
    )
    .await;
    common::run_sql(
        &url,
        "UPDATE instances SET created_at = created_at - 3456000000 \
         WHERE run_type = 'cycle' AND run_date = '2026-03-02'",
    )
    .await;
    let now = h.engine.clock().now();
    age_folder(&h.dir.path().join("logs/2026-01-01"), now - chrono::Duration::days(100));
    age_folder(&h.dir.path().join("logs/2026-03-02"), now - chrono::Duration::days(40));

    // Tomorrow's instances, whose r_b also waits for 2026-01-01's r_a (as a cross-cycle
    // dependency would), and an operation today.
    h.snapshot("2026-04-12").await;
    common::run_sql(
        &url,
        "INSERT INTO instance_deps (instance_id, upstream_id) \
         SELECT n.id, o.id FROM instances n, instances o \
         WHERE n.node_name = 'r_b' AND n.run_date = '2026-04-12' AND n.run_type = 'cycle' \
           AND o.node_name = 'r_a' AND o.run_date = '2026-01-01' AND o.run_type = 'cycle'",
    )
    .await;
    let tomorrow_d = wait_until(&h, "r_d", "2026-04-12", NotRun).await;
    admin.operate(tomorrow_d.id, Operation::Pause, Ok(Mode::Apply)).await.unwrap();
    let mid_run = wait_until(&h, "r_a", "2026-03-02", Success).await;
    let shipped_before = h.store().shipped_log(mid_run.id, 1, 0, 1024).await.unwrap();
    assert_eq!(
        shipped_before.is_some(),
        h.store().is_shared(),
        "logs are shipped on a shared database"
    );
    let before = run_dates(&h).await;
    let old_audit = audit_days(&h).await;
    assert_eq!(old_audit.len(), 2, "{old_audit:?}");

    // A pass with the defaults (90 / 30 / 365 days) and one row per transaction.
    let config =
        RetentionConfig { batch: 1, pause: std::time::Duration::ZERO, ..Default::default() };
    let today = "2026-04-11".parse().unwrap();
    let cutoffs = config.cutoffs(today, h.engine.clock().now());
    assert_eq!(cutoffs.instances.unwrap().date.to_string(), "2026-01-11");
    assert_eq!(cutoffs.logs.unwrap().date.to_string(), "2026-03-12");
    let mut purged = Purged::default();
    let next = retention::purge_database(h.store(), &cutoffs, &config, None, &mut purged).await;
    assert_eq!(next.unwrap(), cutoffs.logs.map(|b| b.date));
    retention::purge_log_folders(h.dir.path(), cutoffs.logs.unwrap(), &mut purged).await;

    // Of 2026-01-01 only r_a stays: tomorrow's r_b waits for it. The backfill (of 2025's dates,
    // made today) stays whole.
    let after = run_dates(&h).await;
    let old: Vec<&str> = after
        .iter()
        .filter(|(day, _, _)| day.as_str() < "2026-01-11")
        .map(|(_, node, _)| node.as_str())
        .collect();
    assert_eq!(old, ["r_a", "r_a", "r_a"], "{after:?}");
    let newer = |all: &[(String, String, InstanceId)]| -> Vec<(String, String, InstanceId)> {
        all.iter().filter(|(day, _, _)| day.as_str() >= "2026-01-11").cloned().collect()
    };
    assert_eq!(newer(&after), newer(&before));
    // 2026-01-01: 4 cycle instances, 1 kept.
    assert_eq!(purged.instances, 3, "{purged:?}");
    assert_eq!(purged.jobs, 0);
    assert_eq!(h.store().get_job(job).await.unwrap().unwrap().total, 2);
    assert!(h.store().get_instance(old_c.id).await.unwrap().is_none());
    assert!(h.store().attempts(old_c.id).await.unwrap().is_empty(), "its attempts went with it");
    assert!(h.store().count_mismatches().await.unwrap().is_empty());
    let old_day =
        InstanceFilter { run_date: Some("2026-01-01".parse().unwrap()), ..Default::default() };
    assert_eq!(h.store().instance_stats(&old_day).await.unwrap().total, 1);
    // The aged audit entries are gone, today's stays.
    assert_eq!(audit_days(&h).await, ["2026-04-11"]);
    assert!(purged.audit >= 2, "{purged:?}");
    // The logs of run dates older than 30 days went from disk and from the database; newer ones
    // stay, and so do the backfill's (run dates 2025-12-02 and 2025-12-03, written today).
    let mut folders: Vec<String> = std::fs::read_dir(h.dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    folders.sort();
    assert_eq!(folders, ["2025-12-02", "2025-12-03", "2026-04-11"]);
    assert_eq!(purged.log_days, 2);
    assert!(h.store().get_instance(mid_run.id).await.unwrap().is_some(), "its instance stays");
    assert_eq!(h.store().shipped_log(mid_run.id, 1, 0, 1024).await.unwrap(), None);
    // Shipped: r_a, r_b and r_c of 2026-03-02, and the kept r_a of 2026-01-01.
    assert_eq!(purged.shipped_logs, u64::from(h.store().is_shared()) * 4);

    // A second pass finds nothing; once tomorrow's r_b no longer waits, the old r_a goes too.
    let next_from = cutoffs.logs.map(|b| b.date);
    let mut again = Purged::default();
    retention::purge_database(h.store(), &cutoffs, &config, next_from, &mut again).await.unwrap();
    assert_eq!(again, Purged::default());
    let new_b = wait_until(&h, "r_b", "2026-04-12", NotRun).await;
    admin.operate(new_b.id, Operation::Rerun, Ok(Mode::Apply)).await.unwrap();
    wait_until(&h, "r_b", "2026-04-12", Success).await;
    retention::purge_database(h.store(), &cutoffs, &config, next_from, &mut again).await.unwrap();
    assert_eq!(again.instances, 1);
    let left = run_dates(&h).await;
    assert_eq!(left.iter().filter(|(day, _, _)| day.as_str() < "2026-01-11").count(), 2);
    assert!(h.store().count_mismatches().await.unwrap().is_empty());

    // 0 days keeps everything.
    let forever = RetentionConfig {
        keep_instances_days: 0,
        keep_logs_days: 0,
        keep_audit_days: 0,
        ..config.clone()
    };
    let far = h.engine.clock().now() + chrono::Duration::days(4000);
    let mut none = Purged::default();
    let cut = forever.cutoffs(far.date_naive(), far);
    retention::purge_database(h.store(), &cut, &forever, None, &mut none).await.unwrap();
    assert_eq!(none, Purged::default());
    h.stop().await;
}
