//! What an attempt's log says about its process, so that a server started after a crash or an
//! upgrade knows what happened while it was gone. Two kinds of line, besides the command's
//! output:
//!
//! - `[nightshift] process <pid> start <ticks>`: written by the server into the log right after
//!   the spawn and *before* the command may run (the shell waits for the server's word, see
//!   [`WRAPPER`]). A command never runs without this record.
//! - `[nightshift] exit <code>` (or `[nightshift] not started …`): written by the shell itself
//!   as it exits, so the outcome is on record even when no server is there to see it.
//!
//! The log is the durable record because it exists for every attempt anyway (no second file to
//! create per attempt) and survives the server's death; a power loss can take both it and the
//! database's last commits, which `--sync-full` narrows.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The shell that runs a command (`/bin/sh -c WRAPPER nightshift-attempt COMMAND`). It waits for
/// the server's "go" on its standard input (sent once the process is on record in the log); if
/// the server dies first, it reads the end of the pipe and runs nothing. The command then reads
/// the end of that pipe too, as it would read an empty `/dev/null`. Then it runs the
/// command in itself (`eval`: no second shell) and, on its way out, writes how it ended into
/// the log through its own descriptor 3, whatever the command did with its output.
pub const WRAPPER: &str = r#"IFS= read -r go || go=
exec 3>&1
if [ "$go" != go ]; then printf '%s\n' '[nightshift] not started: the server stopped before the start' >&3; exit 125; fi
trap 'printf "\n[nightshift] exit %s\n" "$?" >&3' EXIT
eval "$1"
"#;

/// The shell's name for itself (`$0`), which `ps` shows.
pub const WRAPPER_NAME: &str = "nightshift-attempt";

const PROCESS: &str = "[nightshift] process ";
const EXIT: &str = "[nightshift] exit ";
const NOT_STARTED: &str = "[nightshift] not started";

/// How far from the start the process line is looked for (it follows the two header lines).
const HEAD: u64 = 64 * 1024;
/// How far from the end the exit line is looked for (it is the shell's last word; a command's
/// leftover children may still write a little after it).
const TAIL: u64 = 64 * 1024;

/// The record of the process, written before the command may run.
pub fn process_line(pid: i64, start: Option<i64>) -> String {
    match start {
        Some(start) => format!("{PROCESS}{pid} start {start}\n"),
        None => format!("{PROCESS}{pid} start -\n"),
    }
}

/// What a log says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Marks {
    /// The process (its pid and start time) that runs or ran the command.
    pub process: Option<(i64, Option<i64>)>,
    pub end: Option<End>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The command ended with this status (`128 + n` when signal `n` ended it).
    Exited(i32),
    /// The shell never ran the command: the server was gone before its word.
    NotStarted,
}

/// Reads the marks of a log: its process line near the start, its last end line near the end.
pub fn read(path: &Path) -> std::io::Result<Marks> {
    let mut file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    let mut head = Vec::new();
    (&mut file).take(HEAD).read_to_end(&mut head)?;
    let mut marks = Marks::default();
    for line in String::from_utf8_lossy(&head).lines() {
        if let Some(rest) = line.strip_prefix(PROCESS) {
            marks.process = parse_process(rest);
            break;
        }
    }
    let from = length.saturating_sub(TAIL);
    let tail = if from == 0 {
        head
    } else {
        file.seek(SeekFrom::Start(from))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        tail
    };
    for line in String::from_utf8_lossy(&tail).lines().rev() {
        if let Some(code) = line.strip_prefix(EXIT) {
            if let Ok(code) = code.trim().parse() {
                marks.end = Some(End::Exited(code));
                break;
            }
        } else if line.starts_with(NOT_STARTED) {
            marks.end = Some(End::NotStarted);
            break;
        }
    }
    Ok(marks)
}

fn parse_process(rest: &str) -> Option<(i64, Option<i64>)> {
    let mut words = rest.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    let start = match (words.next(), words.next()) {
        (Some("start"), Some(start)) => start.parse().ok(),
        _ => None,
    };
    Some((pid, start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Runs the wrapper as the executor does, with `input` on its standard input, and returns
    /// its status and what its log says.
    fn run(command: &str, input: &str) -> (Option<i32>, Marks, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let mut log = std::fs::File::create(&path).unwrap();
        log.write_all(process_line(42, Some(7)).as_bytes()).unwrap();
        let mut child = Command::new("/bin/sh")
            .args(["-c", WRAPPER, WRAPPER_NAME, command])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let status = child.wait().unwrap();
        (status.code(), read(&path).unwrap(), std::fs::read_to_string(&path).unwrap())
    }

    #[test]
    fn the_shell_writes_how_the_command_ended() {
        let table = [
            ("echo hello", 0),
            ("exit 3", 3),
            ("false", 1),
            ("set -e; false; echo never", 1),
            ("exec >/dev/null 2>&1; echo hidden; exit 4", 4),
            ("sh -c 'kill -KILL $$'", 137),
            ("if", 2),
        ];
        for (command, code) in table {
            let (status, marks, log) = run(command, "go\n");
            assert_eq!(status, Some(code), "{command}: {log}");
            assert_eq!(marks.end, Some(End::Exited(code)), "{command}: {log}");
            assert_eq!(marks.process, Some((42, Some(7))));
        }
    }

    #[test]
    fn without_the_servers_word_nothing_runs() {
        for input in ["", "no\n"] {
            let (status, marks, log) = run("echo ran", input);
            assert_eq!(status, Some(125));
            assert_eq!(marks.end, Some(End::NotStarted));
            assert!(!log.contains("ran\n"), "{log}");
        }
    }

    #[test]
    fn the_last_end_line_counts_and_a_missing_one_says_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.log");
        let filler = "x".repeat(100) + "\n";
        let text = format!(
            "header\n{}{}\n[nightshift] exit 1\n{}[nightshift] exit 0\n",
            process_line(9, None),
            filler.repeat(2000),
            filler
        );
        std::fs::write(&path, text).unwrap();
        assert_eq!(
            read(&path).unwrap(),
            Marks { process: Some((9, None)), end: Some(End::Exited(0)) }
        );
        std::fs::write(&path, "header\nno marks\n").unwrap();
        assert_eq!(read(&path).unwrap(), Marks::default());
    }
}
