//! Process groups: what the executor and recovery need to stop a command and everything it
//! started, and to be sure it is gone. Linux `/proc` is read for start times (so a recycled pid
//! is never signalled) and for the live members of a group (zombies count as gone).

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Fields of `/proc/PID/stat` after the command name.
struct Stat {
    state: char,
    pgrp: i64,
    start_time: i64,
}

fn stat(pid: i64) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); pgrp is field 5, starttime field 22.
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// The start time of a process (clock ticks since boot), to recognise it later.
pub fn start_time(pid: i64) -> Option<i64> {
    stat(pid).map(|s| s.start_time)
}

/// Whether `pid` is still the very process that started at `start_time` (and not a zombie).
pub fn is_same_process(pid: i64, start_time: Option<i64>) -> bool {
    match stat(pid) {
        Some(stat) => stat.state != 'Z' && start_time.is_none_or(|t| t == stat.start_time),
        None => false,
    }
}

/// Whether any live (non-zombie) process is in group `pgid`.
pub fn group_alive(pgid: i64) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i64>().ok())
        .filter_map(stat)
        .any(|s| s.pgrp == pgid && s.state != 'Z')
}

fn signal_group(pgid: i64, signal: Signal) {
    match killpg(Pid::from_raw(pgid as i32), signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pgid, %signal, error = %e, "could not signal process group"),
    }
}

/// Stops a process group: SIGTERM, then SIGKILL after `grace`, and waits until no member is
/// left. Returns whether SIGKILL was needed.
pub async fn stop_group(pgid: i64, grace: Duration) -> bool {
    if !group_alive(pgid) {
        return false;
    }
    signal_group(pgid, Signal::SIGTERM);
    if wait_gone(pgid, grace).await {
        return false;
    }
    signal_group(pgid, Signal::SIGKILL);
    wait_gone(pgid, Duration::from_secs(10)).await;
    true
}

/// Kills whatever is left of a group at once (stragglers after the leader exited).
pub fn kill_group_now(pgid: i64) {
    signal_group(pgid, Signal::SIGKILL);
}

async fn wait_gone(pgid: i64, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    let mut pause = Duration::from_millis(2);
    loop {
        if !group_alive(pgid) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}
