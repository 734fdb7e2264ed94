//! Faults (issue 18): the log directory full. (The database going away for 30 s is
//! `scripts/fault-db.sh`: it stops the PostgreSQL server itself.)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use app::model::InstanceState::*;
use app::report::Mode;
use app::rules::Operation;
use app::usecases::Operations;
use common::{Harness, node};

/// A small tmpfs mounted over a folder, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "mounting a tmpfs needs root (the test command runs as root)");
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test]
async fn a_full_log_directory_fails_the_attempt_with_the_reason_and_the_server_carries_on() {
    let h = Harness::start().await;
    let logs = Tmpfs::mount(&h.dir.path().join("logs"), "64k");
    // Fill it.
    let filler = logs.0.join("filler");
    let _ = std::fs::write(&filler, vec![b'x'; 128 * 1024]);
    h.define(
        &[node("full_a", "echo a", ""), node("full_b", "true", "upstream = [\"full_a\"]")].concat(),
    )
    .await;
    h.snapshot("2020-01-02").await;
    let failed = h.wait_state("full_a", Failed).await;
    let reason = failed.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("could not open the log") && reason.contains("No space left on device"),
        "{reason}"
    );
    assert_eq!(h.instance("full_b").await.state, NotRun, "its downstream waits");

    // Room again: a rerun runs, and the downstream follows. Nothing was lost meanwhile.
    std::fs::remove_file(&filler).unwrap();
    h.admin().operate(failed.id, Operation::Rerun, Ok(Mode::Apply)).await.unwrap();
    let a = h.wait_state("full_a", Success).await;
    assert_eq!(a.attempt, 2);
    h.wait_state("full_b", Success).await;
    let attempts = h.store().attempts(a.id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].outcome.as_deref(), Some("failed"));
    assert!(h.store().count_mismatches().await.unwrap().is_empty());
    h.stop().await;
    drop(logs);
}
