//! Start-up reconciliation: every instance the database says is running was started by a
//! server that is gone (a crash, a restart, an upgrade). What became of its command is read
//! from the attempt's log ([`marks`]), never guessed:
//!
//! | the log says | the process | what recovery does |
//! |---|---|---|
//! | how the command ended | gone | records that outcome (a success stays a success) |
//! | its process | still the same process | adopts it: this server watches it to its end |
//! | its process, no end | gone | fails it (killed while nobody watched), retried by policy |
//! | no process, or "not started" | — | puts it back to waiting for a slot, no retry used, no attempt left behind |
//!
//! Nothing is stopped at restart, so a command runs once whatever happens to the server.

use std::path::Path;

use chrono::{DateTime, Utc};
use tokio::io::AsyncWriteExt;

use super::executor::{Attempt, NO_STATUS, ending, exited};
use super::marks::{self, End, Marks};
use super::process;
use crate::store::{OpenAttempt, Outcome, Result, StartedProcess, Store};

/// What recovery found of one attempt.
#[derive(Debug)]
pub enum Found {
    /// It ended while no server was there: this is how.
    Ended(Outcome),
    /// Still running: to be adopted.
    Running { pid: i64, pid_start: Option<i64> },
    /// Its command never started.
    NeverStarted,
}

/// What to do with an attempt, from its log and whether its process still lives.
pub fn judge(marks: Option<Marks>, alive: impl Fn(i64, Option<i64>) -> bool) -> Found {
    let Some(marks) = marks else { return Found::NeverStarted };
    match (marks.end, marks.process) {
        (Some(End::NotStarted), _) | (None, None) => Found::NeverStarted,
        (Some(End::Exited(code)), _) => Found::Ended(exited(code)),
        (None, Some((pid, pid_start))) if alive(pid, pid_start) => {
            Found::Running { pid, pid_start }
        }
        (None, Some(_)) => {
            Found::Ended(Outcome::Failed { exit_code: None, reason: NO_STATUS.to_string() })
        }
    }
}

/// What recovery did.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Attempts still running, for the engine to watch.
    pub adopt: Vec<(OpenAttempt, i64, Option<i64>)>,
    pub ended: usize,
    pub requeued: usize,
}

/// Recovers the running instances of `worker` (all of them when `None`: one process).
pub async fn recover(
    store: &Store,
    data_dir: &Path,
    worker: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Recovered> {
    let mut recovered = Recovered::default();
    // Written together at the end, in one transaction.
    let (mut started, mut finished) = (Vec::new(), Vec::new());
    for open in store.open_attempts(worker).await? {
        let log = open.log_path.as_ref().map(|log| data_dir.join(log));
        let read = match &log {
            Some(log) => {
                let log = log.clone();
                tokio::task::spawn_blocking(move || marks::read(&log))
                    .await
                    .ok()
                    .and_then(Result::ok)
            }
            None => None,
        };
        let (instance, attempt) = (open.instance_id.0, open.attempt);
        match judge(read, process::is_same_process) {
            Found::Running { pid, pid_start } => {
                tracing::warn!(
                    instance,
                    attempt,
                    pid,
                    "adopted an attempt a previous server started"
                );
                // The previous server may have died before it recorded the process.
                started.push(StartedProcess {
                    instance_id: open.instance_id,
                    attempt: open.attempt,
                    pid,
                    pid_start,
                });
                recovered.adopt.push((open, pid, pid_start));
            }
            Found::NeverStarted => {
                if store.requeue_unstarted(open.instance_id, open.attempt, now).await? {
                    tracing::warn!(instance, attempt, "an attempt that never started waits again");
                    if let Some(log) = &log {
                        let _ = tokio::fs::remove_file(log).await;
                    }
                    recovered.requeued += 1;
                }
            }
            Found::Ended(outcome) => {
                tracing::warn!(
                    instance,
                    attempt,
                    ?outcome,
                    "recorded an attempt that ended while no server ran"
                );
                if let Some(log) = &log
                    && let Ok(mut file) = tokio::fs::OpenOptions::new().append(true).open(log).await
                {
                    let line = format!(
                        "[nightshift] {} (ended while no server ran; recorded at restart)\n",
                        ending(&outcome)
                    );
                    let _ = file.write_all(line.as_bytes()).await;
                }
                finished.push(Attempt::from(&open).finished(outcome, now));
                recovered.ended += 1;
            }
        }
    }
    if !started.is_empty() || !finished.is_empty() {
        store.record_attempts(&started, &finished).await?;
    }
    Ok(recovered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_recovery_does_with_each_log() {
        let process = Some((7, Some(70)));
        let marks = |process, end| Some(Marks { process, end });
        let alive = |_: i64, _: Option<i64>| true;
        let gone = |_: i64, _: Option<i64>| false;
        let status = |found: Found| match found {
            Found::Ended(Outcome::Success) => "success".to_string(),
            Found::Ended(Outcome::Failed { exit_code, reason }) => {
                format!("failed {exit_code:?} {}", reason == NO_STATUS)
            }
            Found::Running { pid, pid_start } => format!("adopt {pid} {pid_start:?}"),
            Found::NeverStarted => "requeue".to_string(),
        };
        let table: [(Option<Marks>, bool, &str); 9] = [
            (None, false, "requeue"),
            (marks(None, None), true, "requeue"),
            (marks(process, Some(End::NotStarted)), true, "requeue"),
            (marks(process, Some(End::Exited(0))), false, "success"),
            (marks(process, Some(End::Exited(0))), true, "success"),
            (marks(process, Some(End::Exited(3))), false, "failed Some(3) false"),
            (marks(process, None), true, "adopt 7 Some(70)"),
            (marks(process, None), false, "failed None true"),
            (marks(None, Some(End::Exited(1))), false, "failed Some(1) false"),
        ];
        for (read, live, expected) in table {
            let found = if live { judge(read, alive) } else { judge(read, gone) };
            assert_eq!(status(found), expected, "{read:?}, alive: {live}");
        }
    }
}
