//! Start-up reconciliation after a crash: every instance the database says is running belongs
//! to a server that is gone. Its process group is stopped if it is still alive, its log gets a
//! closing line, and it is failed with a clear reason (and retried if its policy allows).
//! Nothing else changes.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::AsyncWriteExt;

use super::{process, retry};
use crate::store::{FinishedAttempt, Outcome, Result, Store};

pub const LOST_REASON: &str =
    "the server stopped while this attempt was running; it was stopped at restart";

/// Returns how many running instances were reconciled.
pub async fn recover(
    store: &Store,
    data_dir: &Path,
    grace: Duration,
    now: DateTime<Utc>,
) -> Result<usize> {
    let open = store.open_attempts().await?;
    for attempt in &open {
        let mut note = String::new();
        if let Some(pid) = attempt.pid
            && (process::is_same_process(pid, attempt.pid_start) || process::group_alive(pid))
        {
            let killed = process::stop_group(pid, grace).await;
            note = format!(
                " (process group {pid} was still running and was {})",
                if killed { "killed" } else { "terminated" }
            );
        }
        let reason = format!("{LOST_REASON}{note}");
        if let Some(log) = &attempt.log_path {
            let log = data_dir.join(log);
            if let Ok(mut file) = tokio::fs::OpenOptions::new().append(true).open(&log).await {
                let line = format!("[nightshift] failed: {reason}\n");
                let _ = file.write_all(line.as_bytes()).await;
            }
        }
        let outcome = Outcome::Failed { exit_code: None, reason };
        let next = retry::after_attempt(&outcome, attempt.retry, attempt.auto_retries, now);
        let finished = FinishedAttempt {
            instance_id: attempt.instance_id,
            attempt: attempt.attempt,
            outcome,
            next,
            at: now,
        };
        store.record_attempts(&[], &[finished]).await?;
        tracing::warn!(
            instance = attempt.instance_id.0,
            attempt = attempt.attempt,
            "recovered an attempt lost in a crash"
        );
    }
    Ok(open.len())
}
