#!/usr/bin/env python3
"""Reliability check (not part of the test command): a 321-instance project with fan-out, chains
and fan-in runs on the release server, which is killed with SIGKILL at random moments and right
after spawns, and started again each time. Then, from outside (the database file, the logs, the
process table and a notes file every command appends `START id attempt` / `END id attempt` to),
it counts what must be zero:

  lost        instances of the day that did not end in success
  double      instances whose command ran more than once (any second START)
  overlap     a START of an instance while an earlier run of it had not ended
  order       a downstream START before its upstream's END
  unreadable  attempts whose log file is missing, unreadable or empty
  open        attempts still open in the database after the end
  orphans     command processes left after the server's last stop

Usage: scripts/chaos.py BINARY [--kills N] [--seed S]. Prints one line of counts and exits
non-zero if any is not zero."""

import argparse
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

RUN_DATE = "2020-01-02"
SCHEDULE = "0 1 2 1 *"  # January 2nd only: the day the server catches up on adds none of these


def project(notes: str) -> tuple[str, list[tuple[str, str]]]:
    """The definitions, and the edges (upstream, downstream) by node name."""
    nodes: list[tuple[str, list[str]]] = []
    roots = [f"r{i}" for i in range(10)]
    nodes += [(r, []) for r in roots]
    mids = [f"m{i}" for i in range(100)]
    nodes += [(m, [roots[i % 10]]) for i, m in enumerate(mids)]
    for i in range(100):
        nodes.append((f"c{i}_1", [mids[i]]))
        nodes.append((f"c{i}_2", [f"c{i}_1"]))
    fans = [f"f{j}" for j in range(10)]
    nodes += [(f, [f"c{i}_2" for i in range(100) if i % 10 == j]) for j, f in enumerate(fans)]
    nodes.append(("z", fans))
    command = (
        f"echo START $NIGHTSHIFT_INSTANCE_ID $NIGHTSHIFT_ATTEMPT >> {notes}; "
        "sleep 0.$(( NIGHTSHIFT_INSTANCE_ID % 7 + 3 )); "
        f"echo END $NIGHTSHIFT_INSTANCE_ID $NIGHTSHIFT_ATTEMPT >> {notes}"
    )
    toml = '[[resource_groups]]\nname = "default"\nslots = 16\n'
    edges = []
    for name, upstream in nodes:
        ups = ", ".join(f'"{u}"' for u in upstream)
        toml += (
            f'[[nodes]]\nname = "{name}"\ncommand = "{command}"\nschedule = "{SCHEDULE}"\n'
            f"upstream = [{ups}]\nretries = 2\nretry_delay_secs = 1\n"
        )
        edges += [(u, name) for u in upstream]
    return toml, edges


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary: str, data: str, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [binary, "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--site-root", "/nonexistent",
         "--kill-grace-secs", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "NIGHTSHIFT_LOG": "error"},
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.02)
    raise SystemExit("the server did not come up")


def starts(notes: str) -> int:
    try:
        with open(notes) as f:
            return sum(1 for line in f if line.startswith("START"))
    except FileNotFoundError:
        return 0


def database(data: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data}/nightshift.db?mode=ro", uri=True, timeout=30)


def unfinished(data: str) -> int:
    """Instances of the day that run or wait to (not those left behind a failed upstream)."""
    with database(data) as db:
        return db.execute(
            "SELECT COUNT(*) FROM instances WHERE run_date = ? "
            "AND state IN ('running', 'waiting_resources', 'waiting_time')", (RUN_DATE,)
        ).fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    scratch = tempfile.mkdtemp(prefix="nightshift-chaos-")
    data, notes = os.path.join(scratch, "data"), os.path.join(scratch, "notes")
    toml, edges = project(notes)
    with open(os.path.join(scratch, "project.toml"), "w") as f:
        f.write(toml)
    subprocess.run([args.binary, "import", "--data-dir", data, os.path.join(scratch, "project.toml")],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([args.binary, "snapshot", "--data-dir", data, "--run-date", RUN_DATE],
                   check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    began = time.time()
    server = start(args.binary, data, port)
    kills = 0
    for k in range(args.kills):
        if unfinished(data) == 0:
            break
        if k % 3 == 0:
            # Right after a spawn: as soon as one more command has started.
            seen = starts(notes)
            deadline = time.time() + 5
            while starts(notes) == seen and time.time() < deadline:
                time.sleep(0.001)
        else:
            time.sleep(rng.uniform(0.1, 1.0))
        server.send_signal(signal.SIGKILL)
        server.wait()
        kills += 1
        server = start(args.binary, data, port)
    deadline = time.time() + 300
    quiet = 0
    while quiet < 10 and time.time() < deadline:
        quiet = quiet + 1 if unfinished(data) == 0 else 0
        time.sleep(0.2)
    server.send_signal(signal.SIGTERM)
    server.wait()
    took = time.time() - began

    with database(data) as db:
        instances = dict(db.execute(
            "SELECT n.name, i.id FROM instances i JOIN nodes n ON n.id = i.node_id WHERE i.run_date = ?",
            (RUN_DATE,)).fetchall())
        lost = db.execute(
            "SELECT COUNT(*) FROM instances WHERE run_date = ? AND state != 'success'", (RUN_DATE,)
        ).fetchone()[0]
        attempts = db.execute(
            "SELECT a.instance_id, a.attempt, a.log_path, a.ended_at FROM attempts a "
            "JOIN instances i ON i.id = a.instance_id WHERE i.run_date = ?", (RUN_DATE,)).fetchall()
    counts = {"instances": len(instances), "kills": kills}
    counts["lost"] = lost + max(0, 321 - len(instances))

    runs: dict[int, list[str]] = {}
    first_start: dict[int, int] = {}
    last_end: dict[int, int] = {}
    overlap = 0
    with open(notes) as f:
        for n, line in enumerate(f):
            mark, ident, _attempt = line.split()
            ident = int(ident)
            events = runs.setdefault(ident, [])
            if mark == "START":
                if events and events[-1] == "START":
                    overlap += 1
                first_start.setdefault(ident, n)
            else:
                last_end[ident] = n
            events.append(mark)
    counts["double"] = sum(1 for events in runs.values() if events.count("START") > 1)
    counts["overlap"] = overlap
    counts["order"] = sum(
        1 for up, down in edges
        if instances.get(down) in first_start
        and first_start[instances[down]] < last_end.get(instances.get(up), 1 << 60)
    )
    unreadable = 0
    for _id, _attempt, log_path, _ended in attempts:
        try:
            with open(os.path.join(data, log_path)) as f:
                if not f.read():
                    unreadable += 1
        except OSError:
            unreadable += 1
    counts["unreadable"] = unreadable
    counts["open"] = sum(1 for a in attempts if a[3] is None)
    orphans = subprocess.run(["pgrep", "-f", notes], capture_output=True, text=True).stdout.split()
    counts["orphans"] = len(orphans)
    bad = [k for k in ("lost", "double", "overlap", "order", "unreadable", "open", "orphans") if counts[k]]
    print(" ".join(f"{k}={v}" for k, v in counts.items()) + f" attempts={len(attempts)} "
          f"seconds={took:.0f} seed={seed}" + (f" kept={scratch}" if bad else ""))
    if not bad:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
