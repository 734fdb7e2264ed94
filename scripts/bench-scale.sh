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
ensure_cargo_path
cargo build --quiet --release -p server --bin nightshift
nodes="${1:-100000}"
only="${NIGHTSHIFT_BENCH_ONLY:-}"
if [ "$only" != "postgres" ]; then
  python3 scripts/bench-scale.py target/release/nightshift sqlite "$nodes"
fi
if [ "$only" != "sqlite" ]; then
  postgres_scratch_database
  python3 scripts/bench-scale.py target/release/nightshift postgres "$nodes"
fi
