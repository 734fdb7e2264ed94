#!/usr/bin/env bash
# Definitions at scale (not part of the test command): a generated project of 100,000 nodes and
# about 200,000 edges; times the import, the snapshot, the Tasks page and a 2,000-node workflow
# graph, and the server's RSS, on SQLite and then on PostgreSQL (release binary; a scratch
# PostgreSQL database). `scripts/bench-scale.sh 20000` for a smaller project;
# NIGHTSHIFT_BENCH_ONLY=sqlite or =postgres for one database.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
bench_on_both_databases scripts/bench-scale.py "${1:-100000}"
