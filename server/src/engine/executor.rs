//! Runs one attempt: the command as a child process in its own process group, stdout and stderr
//! written straight into the attempt's log file (so the log survives a crash of the server and
//! can be read while it grows), a timeout that stops the whole group, and the outcome recorded.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono_tz::Tz;
use tokio::sync::{Notify, broadcast};
use tracing::Instrument;

use super::EngineEvent;
use super::clock::SharedClock;
use super::params::RunParams;
use super::process;
use super::recorder::Recorder;
use super::retry;
use super::running::RunningGuard;
use super::sandbox::CommandSetup;
use crate::store::{Claim, FinishedAttempt, Outcome, StartedProcess};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Logs go to `<data_dir>/logs/<run date>/<instance % 64>/<instance>.<attempt>.log` (the
    /// fan-out keeps concurrent file creation from queueing on one directory lock).
    pub data_dir: PathBuf,
    pub host: String,
    pub tz: Tz,
    /// How long a command may take to stop after SIGTERM before it gets SIGKILL.
    pub kill_grace: Duration,
    /// Its environment and the user it runs as.
    pub setup: CommandSetup,
}

pub struct Executor {
    recorder: Recorder,
    clock: SharedClock,
    config: ExecutorConfig,
    wake: Arc<Notify>,
    events: broadcast::Sender<EngineEvent>,
}

impl Executor {
    pub fn new(
        recorder: Recorder,
        clock: SharedClock,
        config: ExecutorConfig,
        wake: Arc<Notify>,
        events: broadcast::Sender<EngineEvent>,
    ) -> Self {
        Executor { recorder, clock, config, wake, events }
    }

    pub fn config(&self) -> &ExecutorConfig {
        &self.config
    }

    /// Runs a claimed attempt to its end and records the outcome. Never panics: every failure
    /// becomes a failed outcome with its reason.
    pub async fn run(&self, claim: Claim, guard: RunningGuard) {
        let span = tracing::info_span!(
            "attempt",
            instance = claim.instance_id.0,
            attempt = claim.attempt,
            node = %claim.node_name
        );
        self.run_traced(claim, guard).instrument(span).await
    }

    async fn run_traced(&self, claim: Claim, guard: RunningGuard) {
        let (id, attempt) = (claim.instance_id, claim.attempt);
        let outcome = self.execute(&claim, &guard.stop).await;
        let now = self.clock.now();
        let next = retry::after_attempt(&outcome, claim.retry, claim.auto_retries, now);
        let finished = FinishedAttempt { instance_id: id, attempt, outcome, next, at: now };
        let state = match self.recorder.finished(finished).await {
            Ok(finish) => {
                tracing::debug!(state = ?finish.state, promoted = finish.promoted, "attempt finished");
                finish.state
            }
            Err(e) => {
                tracing::error!(error = %e, "could not record the end of an attempt");
                None
            }
        };
        self.wake.notify_one();
        let _ = self.events.send(EngineEvent::AttemptFinished { instance: id, attempt, state });
    }

    async fn execute(&self, claim: &Claim, stop: &CancellationToken) -> Outcome {
        if stop.is_cancelled() {
            return failed(None, STOPPED.to_string());
        }
        let path = self.config.data_dir.join(&claim.log_path);
        let params =
            RunParams { bizdate: claim.bizdate, planned_at: claim.planned_at, tz: self.config.tz };
        let command = params.substitute(&claim.command);
        let header = format!(
            "[nightshift] {} attempt {} of instance {} ({}, {}), bizdate {}, on {}\n[nightshift] $ {}\n",
            self.clock.now().format("%Y-%m-%d %H:%M:%S UTC"),
            claim.attempt,
            claim.instance_id,
            claim.node_name,
            claim.run_type,
            claim.bizdate,
            self.config.host,
            command
        );
        let opened = tokio::task::spawn_blocking(move || open_log(&path, &header)).await;
        let (log, stdout, stderr) = match opened {
            Ok(Ok(files)) => files,
            Ok(Err(e)) => {
                return failed(None, format!("could not open the log {}: {e}", claim.log_path));
            }
            Err(e) => return failed(None, format!("could not open the log: {e}")),
        };
        let mut child = tokio::process::Command::new("/bin/sh");
        self.config.setup.apply(&mut child, self.config.tz);
        child
            .arg("-c")
            .arg(&command)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .env("NIGHTSHIFT_INSTANCE_ID", claim.instance_id.to_string())
            .env("NIGHTSHIFT_ATTEMPT", claim.attempt.to_string())
            .env("NIGHTSHIFT_NODE", &claim.node_name);
        for (name, value) in params.values() {
            child.env(format!("NIGHTSHIFT_{}", name.to_uppercase()), value);
        }
        let clock_start = Instant::now();
        let mut child = match child.spawn() {
            Ok(child) => child,
            Err(e) => {
                let outcome = failed(None, format!("could not start the command: {e}"));
                footer(log, &outcome, clock_start.elapsed()).await;
                return outcome;
            }
        };
        let pid = child.id().map(i64::from).unwrap_or_default();
        self.recorder.started(StartedProcess {
            instance_id: claim.instance_id,
            attempt: claim.attempt,
            pid,
            pid_start: process::start_time(pid),
        });

        let timeout = Duration::from_secs(claim.timeout_secs as u64);
        let ended = tokio::select! {
            status = child.wait() => Ended::Exited(status),
            _ = tokio::time::sleep(timeout) => Ended::TimedOut,
            _ = stop.cancelled() => Ended::Stopped,
        };
        let outcome = match ended {
            Ended::Exited(Ok(status)) => match status.code() {
                Some(0) => Outcome::Success,
                Some(code) => failed(Some(code), format!("exited with code {code}")),
                None => {
                    use std::os::unix::process::ExitStatusExt;
                    let signal = status.signal().unwrap_or_default();
                    failed(None, format!("killed by signal {signal}"))
                }
            },
            Ended::Exited(Err(e)) => failed(None, format!("lost track of the command: {e}")),
            Ended::TimedOut | Ended::Stopped => {
                process::stop_group(pid, self.config.kill_grace).await;
                let _ = child.wait().await;
                if matches!(ended, Ended::Stopped) {
                    failed(None, STOPPED.to_string())
                } else {
                    failed(None, format!("timed out after {}s and was stopped", claim.timeout_secs))
                }
            }
        };
        // Whatever the command left running in its group ends with it.
        process::kill_group_now(pid);
        footer(log, &outcome, clock_start.elapsed()).await;
        outcome
    }
}

/// The attempt's reason when a person stopped it.
pub const STOPPED: &str = "stopped on request";

enum Ended {
    Exited(std::io::Result<std::process::ExitStatus>),
    TimedOut,
    Stopped,
}

fn failed(exit_code: Option<i32>, reason: String) -> Outcome {
    Outcome::Failed { exit_code, reason }
}

/// Creates the log with its header and returns it with two handles for the command's stdout and
/// stderr. Every handle appends, so the command's output and our lines never overwrite each
/// other.
fn open_log(path: &Path, header: &str) -> std::io::Result<(std::fs::File, Stdio, Stdio)> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    log.write_all(header.as_bytes())?;
    let stdout = Stdio::from(log.try_clone()?);
    let stderr = Stdio::from(log.try_clone()?);
    Ok((log, stdout, stderr))
}

async fn footer(mut log: std::fs::File, outcome: &Outcome, took: Duration) {
    let what = match outcome {
        Outcome::Success => "succeeded".to_string(),
        Outcome::Failed { reason, .. } => format!("failed: {reason}"),
    };
    let line = format!("[nightshift] {what} after {:.3}s\n", took.as_secs_f64());
    let _ = tokio::task::spawn_blocking(move || log.write_all(line.as_bytes())).await;
}
