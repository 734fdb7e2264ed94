//! Runs one attempt: the command as a child process in its own process group, stdout and stderr
//! written straight into the attempt's log file (so the log survives a crash of the server and
//! can be read while it grows), a timeout that stops the whole group, and the outcome recorded.
//! The process is on record in the log before the command may run, and the command's shell
//! writes its end there too ([`marks`]): a restarted server adopts what still runs
//! ([`Executor::adopt`]) and records what ended meanwhile.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::Notify;
use tracing::Instrument;

use super::EngineEvent;
use super::bus::Events;
use super::clock::SharedClock;
use super::marks::{self, End};
use super::params::RunParams;
use super::process;
use super::recorder::Recorder;
use super::retry;
use super::running::RunningGuard;
use super::sandbox::CommandSetup;
use super::shipping;
use crate::store::{
    Claim, FinishedAttempt, OpenAttempt, Outcome, RetryPolicy, StartedProcess, Store,
};
use app::model::InstanceId;
use tokio_util::sync::CancellationToken;

/// A fault to inject, for the tests that prove a crash at the worst moment loses nothing:
/// `NIGHTSHIFT_FAULT=abort-after-spawn` ends the server right after it let a command start
/// (before the process reaches the database), `abort-before-start` right after the spawn,
/// before the command may start. Never set in production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    AbortAfterSpawn,
    AbortBeforeStart,
}

fn fault() -> Option<Fault> {
    static FAULT: std::sync::LazyLock<Option<Fault>> =
        std::sync::LazyLock::new(|| match std::env::var("NIGHTSHIFT_FAULT").as_deref() {
            Ok("abort-after-spawn") => Some(Fault::AbortAfterSpawn),
            Ok("abort-before-start") => Some(Fault::AbortBeforeStart),
            _ => None,
        });
    *FAULT
}

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
    /// Set once the server stops its commands on its way out (`--on-shutdown stop`).
    shutting_down: std::sync::atomic::AtomicBool,
    recorder: Recorder,
    clock: SharedClock,
    config: ExecutorConfig,
    wake: Arc<Notify>,
    events: Events,
    /// On a shared database, where logs are shipped (see [`shipping`]).
    shipping: Option<Store>,
}

impl Executor {
    pub fn new(
        recorder: Recorder,
        shipping: Option<Store>,
        clock: SharedClock,
        config: ExecutorConfig,
        wake: Arc<Notify>,
        events: Events,
    ) -> Self {
        let shutting_down = std::sync::atomic::AtomicBool::new(false);
        Executor { shutting_down, recorder, clock, config, wake, events, shipping }
    }

    /// Ships the log of an attempt while it runs (on a shared database); the returned handle
    /// ships the rest once the attempt is over.
    fn ship(
        &self,
        id: InstanceId,
        attempt: i32,
        log_path: &str,
        resume: bool,
    ) -> Option<shipping::Shipping> {
        let store = self.shipping.clone()?;
        let path = self.config.data_dir.join(log_path);
        Some(shipping::Shipping::start(store, path, id, attempt, resume))
    }

    /// From now on, a stopped attempt was stopped by the server's shutdown, not by a person.
    pub fn shutting_down(&self) {
        self.shutting_down.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn stopped_reason(&self) -> String {
        if self.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
            STOPPED_AT_SHUTDOWN.to_string()
        } else {
            STOPPED.to_string()
        }
    }

    /// The recorder, for recovery to put an adopted process on record.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
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
        let shipping = self.ship(claim.instance_id, claim.attempt, &claim.log_path, false);
        let outcome = self.execute(&claim, &guard.stop).await;
        if let Some(shipping) = shipping {
            shipping.finish().await;
        }
        self.conclude(Attempt::from(&claim), outcome, guard).await;
    }

    /// Records how an attempt ended, wakes the dispatcher and tells the listeners; then lets
    /// go of the attempt (the guard), so a kill waiting for it sees it over.
    async fn conclude(&self, attempt: Attempt, outcome: Outcome, guard: RunningGuard) {
        let (id, number) = (attempt.id, attempt.attempt);
        let finished = attempt.finished(outcome, self.clock.now());
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
        self.events.send(EngineEvent::AttemptFinished { instance: id, attempt: number, state });
        drop(guard);
    }

    /// Watches an attempt that a previous server started and that still runs (see
    /// `recovery`): it ends as it would have under this server, its end recorded and its log
    /// closed; `kill` and its timeout stop its process group. It is never started again.
    pub async fn adopt(
        &self,
        open: OpenAttempt,
        pid: i64,
        pid_start: Option<i64>,
        guard: RunningGuard,
    ) {
        let span =
            tracing::info_span!("adopted", instance = open.instance_id.0, attempt = open.attempt);
        async move {
            let shipping = open
                .log_path
                .as_deref()
                .and_then(|log| self.ship(open.instance_id, open.attempt, log, true));
            let outcome = self.watch(&open, pid, pid_start, &guard.stop).await;
            if let Some(shipping) = shipping {
                shipping.finish().await;
            }
            self.conclude(Attempt::from(&open), outcome, guard).await;
        }
        .instrument(span)
        .await
    }

    async fn watch(
        &self,
        open: &OpenAttempt,
        pid: i64,
        pid_start: Option<i64>,
        stop: &CancellationToken,
    ) -> Outcome {
        let watching = Instant::now();
        let deadline = open.started_at + chrono::Duration::seconds(i64::from(open.timeout_secs));
        let left = (deadline - self.clock.now()).to_std().unwrap_or_default();
        let timeout = tokio::time::sleep(left);
        tokio::pin!(timeout);
        let watched = loop {
            if !process::is_same_process(pid, pid_start) {
                break Watched::Gone;
            }
            tokio::select! {
                _ = tokio::time::sleep(ADOPTED_POLL) => {}
                _ = &mut timeout => break Watched::TimedOut,
                _ = stop.cancelled() => break Watched::Stopped,
            }
        };
        let path = open.log_path.as_ref().map(|log| self.config.data_dir.join(log));
        let outcome = match watched {
            Watched::Gone => {
                let end = path.as_deref().and_then(|path| marks::read(path).ok()?.end);
                match end {
                    Some(End::Exited(code)) => exited(code),
                    _ => failed(None, NO_STATUS.to_string()),
                }
            }
            Watched::TimedOut | Watched::Stopped => {
                process::stop_group(pid, self.config.kill_grace).await;
                if matches!(watched, Watched::Stopped) {
                    failed(None, self.stopped_reason())
                } else {
                    failed(None, format!("timed out after {}s and was stopped", open.timeout_secs))
                }
            }
        };
        process::kill_group_now(pid);
        if let Some(path) = path
            && let Ok(log) = std::fs::OpenOptions::new().append(true).open(path)
        {
            footer(log, &outcome, watching.elapsed()).await;
        }
        outcome
    }

    async fn execute(&self, claim: &Claim, stop: &CancellationToken) -> Outcome {
        if stop.is_cancelled() {
            return failed(None, self.stopped_reason());
        }
        let path = self.config.data_dir.join(&claim.log_path);
        let params =
            RunParams { bizdate: claim.bizdate, planned_at: claim.planned_at, tz: self.config.tz };
        let command = params.substitute(&claim.command);
        let what = if claim.dry_run {
            format!(
                "dry run: {} is a holiday of the node's business calendar, so this command is \
                 not run: {command}",
                claim.run_date
            )
        } else {
            format!("$ {command}")
        };
        let header = format!(
            "[nightshift] {} attempt {} of instance {} ({}, {}), bizdate {}, on {}\n[nightshift] {}\n",
            self.clock.now().format("%Y-%m-%d %H:%M:%S UTC"),
            claim.attempt,
            claim.instance_id,
            claim.node_name,
            claim.run_type,
            claim.bizdate,
            self.config.host,
            what
        );
        let opened = tokio::task::spawn_blocking(move || open_log(&path, &header)).await;
        let (log, stdout, stderr) = match opened {
            Ok(Ok(files)) => files,
            Ok(Err(e)) => {
                return failed(None, format!("could not open the log {}: {e}", claim.log_path));
            }
            Err(e) => return failed(None, format!("could not open the log: {e}")),
        };
        if claim.dry_run {
            // Nothing is started: a crash before its end is recorded puts it back in the queue
            // (its log has no process), and it is a dry run again.
            footer(log, &Outcome::Success, Duration::ZERO).await;
            return Outcome::Success;
        }
        // The word to start goes through a pipe of its own (both ends close on exec, so no other
        // command inherits the writing end and the shell sees its end when the server dies).
        let (word_read, mut word) = match std::io::pipe() {
            Ok(pipe) => pipe,
            Err(e) => return failed(None, format!("could not start the command: {e}")),
        };
        let mut child = tokio::process::Command::new("/bin/sh");
        self.config.setup.apply(&mut child, self.config.tz);
        child
            .arg("-c")
            .arg(marks::WRAPPER)
            .arg(marks::WRAPPER_NAME)
            .arg(&command)
            .process_group(0)
            .stdin(word_read)
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
        let pid_start = process::start_time(pid);
        // On record before it may run: the process line in the log, then the word to start
        // (three bytes into an empty pipe: the write does not block).
        if fault() == Some(Fault::AbortBeforeStart) {
            std::process::abort();
        }
        let started = (&log)
            .write_all(marks::process_line(pid, pid_start).as_bytes())
            .map_err(|e| format!("could not record the process in the log: {e}"))
            .and_then(|()| word.write_all(b"go\n").map_err(|e| e.to_string()));
        drop(word);
        if let Err(reason) = started {
            // The shell reads the end of the pipe and exits without running the command.
            let _ = child.wait().await;
            let outcome = failed(None, format!("could not start the command: {reason}"));
            footer(log, &outcome, clock_start.elapsed()).await;
            return outcome;
        }
        if fault() == Some(Fault::AbortAfterSpawn) {
            std::process::abort();
        }
        self.recorder.started(StartedProcess {
            instance_id: claim.instance_id,
            attempt: claim.attempt,
            pid,
            pid_start,
        });

        let timeout = Duration::from_secs(claim.timeout_secs as u64);
        let ended = tokio::select! {
            status = child.wait() => Ended::Exited(status),
            _ = tokio::time::sleep(timeout) => Ended::TimedOut,
            _ = stop.cancelled() => Ended::Stopped,
        };
        let outcome = match ended {
            Ended::Exited(Ok(status)) => match status.code() {
                Some(code) => exited(code),
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
                    failed(None, self.stopped_reason())
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
/// The attempt's reason when the server stopped it on its way out (`--on-shutdown stop`).
pub const STOPPED_AT_SHUTDOWN: &str = "stopped because the server shut down";

/// Which attempt, and what its retries allow.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempt {
    id: InstanceId,
    attempt: i32,
    retry: RetryPolicy,
    auto_retries: u32,
}

impl Attempt {
    /// Its end as the store records it: the outcome and what it leads to (`retry`).
    pub(super) fn finished(self, outcome: Outcome, now: DateTime<Utc>) -> FinishedAttempt {
        let next = retry::after_attempt(&outcome, self.retry, self.auto_retries, now);
        FinishedAttempt { instance_id: self.id, attempt: self.attempt, outcome, next, at: now }
    }
}

impl From<&Claim> for Attempt {
    fn from(claim: &Claim) -> Self {
        let (id, attempt) = (claim.instance_id, claim.attempt);
        Attempt { id, attempt, retry: claim.retry, auto_retries: claim.auto_retries }
    }
}

impl From<&OpenAttempt> for Attempt {
    fn from(open: &OpenAttempt) -> Self {
        let (id, attempt) = (open.instance_id, open.attempt);
        Attempt { id, attempt, retry: open.retry, auto_retries: open.auto_retries }
    }
}

/// How an attempt ended, in the words of the log's closing line.
pub(super) fn ending(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Success => "succeeded".to_string(),
        Outcome::Failed { reason, .. } => format!("failed: {reason}"),
    }
}

/// The outcome of a command that exited with `code` (as the shell reports it).
pub fn exited(code: i32) -> Outcome {
    if code == 0 {
        Outcome::Success
    } else {
        failed(Some(code), format!("exited with code {code}"))
    }
}

/// How often an adopted attempt's process is looked at (it is not this server's child, so
/// there is no exit to wait for).
const ADOPTED_POLL: Duration = Duration::from_millis(100);

/// The reason of an attempt whose process is gone without a word of how it ended.
pub const NO_STATUS: &str =
    "the command ended without an exit status (its process was killed while no server watched it)";

enum Watched {
    Gone,
    TimedOut,
    Stopped,
}

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
    let line = format!("[nightshift] {} after {:.3}s\n", ending(outcome), took.as_secs_f64());
    let _ = tokio::task::spawn_blocking(move || log.write_all(line.as_bytes())).await;
}
