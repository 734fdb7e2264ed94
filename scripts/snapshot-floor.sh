#!/usr/bin/env bash
# The floor under the 100,000-node snapshot on SQLite (not part of the test command): how long
# SQLite itself takes to insert 100,000 instance rows in one transaction, with one statement and
# no Rust in the way, on the real schema (the release binary's migrations; one node id per row,
# as in a real day: the sqlite3 command line does not check foreign keys), then without the
# count trigger, then also without the six indexes only the instance list's filters use. Needs
# the sqlite3 command line (installed with apt-get where missing) and target/release/nightshift.
#   scripts/snapshot-floor.sh [ROWS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
rows="${1:-100000}"
binary="$root/target/release/nightshift"
[ -x "$binary" ] || { echo "no $binary: run scripts/build-site.sh first" >&2; exit 1; }
if ! command -v sqlite3 >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q sqlite3 >&2
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/nightshift-floor.XXXXXX")"
trap 'rm -rf "$work"' EXIT
NIGHTSHIFT_LOG=warn "$binary" import examples/ --data-dir "$work" >/dev/null

insert="BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO instances (node_id, node_name, workflow, owner, run_type, job_id, bizdate, run_date,
                       planned_at, ready_at, state, paused, priority, created_at, updated_at)
SELECT i, 'node_' || i, 'wf_' || (i % 500), 'owner_' || (i % 50),
       'cycle', 0, '2026-12-01', '2026-12-02', 1764633600000 + i, 1764633600000 + i, 'not_run',
       0, 0, 1, 1
FROM n;
COMMIT;"
time_it() {
  local label="$1" before="$2"
  cp "$work/nightshift.db" "$work/floor.db"
  rm -f "$work/floor.db-wal" "$work/floor.db-shm"
  local start end
  sqlite3 "$work/floor.db" "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; $before" >/dev/null
  start="$EPOCHREALTIME"
  sqlite3 "$work/floor.db" "PRAGMA synchronous = NORMAL; $insert"
  end="$EPOCHREALTIME"
  python3 -c 'import sys; print(f"{sys.argv[1]:<58} {float(sys.argv[3]) - float(sys.argv[2]):6.3f} s")' \
    "$label" "$start" "$end"
}
sqlite3 "$work/nightshift.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
say "$rows instance rows in one INSERT … SELECT on SQLite"
time_it "the real schema (12 indexes, the count trigger)" ""
time_it "without the count trigger" "DROP TRIGGER instances_counted;"
time_it "without the trigger and the list filters' 6 indexes" \
  "DROP TRIGGER instances_counted; DROP INDEX instances_owner; DROP INDEX instances_workflow;
   DROP INDEX instances_bizdate; DROP INDEX instances_workflow_bizdate;
   DROP INDEX instances_run_date; DROP INDEX instances_run_type;"
