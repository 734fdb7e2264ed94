//! Runs one attempt: the command as a child process in its own process group, stdout and stderr
//! written straight into the attempt's log file (so the log survives a crash of the server and
//! can be read while it grows), a timeout that stops the whole group, and the outcome recorded.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono_tz::Tz;
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;

use super::clock::SharedClock;
use super::params::RunParams;
use super::process;
use crate::store::{Claim, Outcome, Store};

#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// Logs go to `<data_dir>/logs/<instance>/<attempt>.log`.
    pub data_dir: PathBuf,
    pub host: String,
    pub tz: Tz,
    /// How long a command may take to stop after SIGTERM before it gets SIGKILL.
    pub kill_grace: Duration,
}

/// The log of an attempt, relative to the data directory (as stored in the database).
pub fn log_relative_path(instance: i64, attempt: i32) -> String {
    format!("logs/{instance}/{attempt}.log")
}

pub struct Executor {
    store: Store,
    clock: SharedClock,
    config: ExecutorConfig,
    wake: Arc<Notify>,
}

impl Executor {
    pub fn new(
        store: Store,
        clock: SharedClock,
        config: ExecutorConfig,
        wake: Arc<Notify>,
    ) -> Self {
        Executor {
            store,
            clock,
            config,
            wake,
        }
    }

    pub fn config(&self) -> &ExecutorConfig {
        &self.config
    }

    /// Runs a claimed attempt to its end and records the outcome. Never panics: every failure
    /// becomes a failed outcome with its reason.
    pub async fn run(&self, claim: Claim) {
        let id = claim.instance_id;
        let span = tracing::info_span!("attempt", instance = id.0, attempt = claim.attempt, node = %claim.node_name);
        let _enter = span.enter();
        let outcome = self.execute(&claim).await;
        let now = self.clock.now();
        match self
            .store
            .finish_attempt(id, claim.attempt, &outcome, claim.retry, now)
            .await
        {
            Ok(finish) => {
                tracing::debug!(?outcome, state = ?finish.state, promoted = finish.promoted, "attempt finished")
            }
            Err(e) => tracing::error!(error = %e, "could not record the end of an attempt"),
        }
        self.wake.notify_one();
    }

    async fn execute(&self, claim: &Claim) -> Outcome {
        let relative = log_relative_path(claim.instance_id.0, claim.attempt);
        let path = self.config.data_dir.join(&relative);
        let started = self.clock.now();
        if let Err(e) = self
            .store
            .record_start(
                claim.instance_id,
                claim.attempt,
                &self.config.host,
                &relative,
                started,
            )
            .await
        {
            return failed(None, format!("could not record the start: {e}"));
        }
        let mut log = match open_log(&path).await {
            Ok(log) => log,
            Err(e) => {
                return failed(
                    None,
                    format!("could not open the log {}: {e}", path.display()),
                );
            }
        };
        let params = RunParams {
            bizdate: claim.bizdate,
            planned_at: claim.planned_at,
            tz: self.config.tz,
        };
        let command = params.substitute(&claim.command);
        let header = format!(
            "[nightshift] {} attempt {} of instance {} ({}, {}), bizdate {}, on {}\n[nightshift] $ {}\n",
            started.format("%Y-%m-%d %H:%M:%S UTC"),
            claim.attempt,
            claim.instance_id,
            claim.node_name,
            claim.run_type,
            claim.bizdate,
            self.config.host,
            command
        );
        let _ = log.write_all(header.as_bytes()).await;
        let _ = log.flush().await;

        let (stdout, stderr) = match (log.try_clone().await, log.try_clone().await) {
            (Ok(out), Ok(err)) => (out.into_std().await, err.into_std().await),
            _ => return failed(None, "could not attach the log to the command".into()),
        };
        let mut child = tokio::process::Command::new("/bin/sh");
        child
            .arg("-c")
            .arg(&command)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
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
                footer(&mut log, &outcome, clock_start.elapsed()).await;
                return outcome;
            }
        };
        let pid = child.id().map(i64::from).unwrap_or_default();
        if let Err(e) = self
            .store
            .record_pid(
                claim.instance_id,
                claim.attempt,
                pid,
                process::start_time(pid),
            )
            .await
        {
            tracing::error!(error = %e, pid, "could not record the pid");
        }

        let timeout = Duration::from_secs(claim.timeout_secs as u64);
        let outcome = match tokio::time::timeout(timeout, child.wait()).await {
            Ok(Ok(status)) => match status.code() {
                Some(0) => Outcome::Success,
                Some(code) => failed(Some(code), format!("exited with code {code}")),
                None => {
                    use std::os::unix::process::ExitStatusExt;
                    let signal = status.signal().unwrap_or_default();
                    failed(None, format!("killed by signal {signal}"))
                }
            },
            Ok(Err(e)) => failed(None, format!("lost track of the command: {e}")),
            Err(_) => {
                process::stop_group(pid, self.config.kill_grace).await;
                let _ = child.wait().await;
                failed(
                    None,
                    format!("timed out after {}s and was stopped", claim.timeout_secs),
                )
            }
        };
        // Whatever the command left running in its group ends with it.
        process::kill_group_now(pid);
        footer(&mut log, &outcome, clock_start.elapsed()).await;
        outcome
    }
}

fn failed(exit_code: Option<i32>, reason: String) -> Outcome {
    Outcome::Failed { exit_code, reason }
}

async fn open_log(path: &Path) -> std::io::Result<tokio::fs::File> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
}

async fn footer(log: &mut tokio::fs::File, outcome: &Outcome, took: Duration) {
    let what = match outcome {
        Outcome::Success => "succeeded".to_string(),
        Outcome::Failed { reason, .. } => format!("failed: {reason}"),
    };
    let line = format!("[nightshift] {what} after {:.3}s\n", took.as_secs_f64());
    let _ = log.write_all(line.as_bytes()).await;
    let _ = log.flush().await;
}
