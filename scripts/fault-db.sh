#!/usr/bin/env bash
# Fault check (not part of the test command: it stops the machine's PostgreSQL server): a release
# server on PostgreSQL runs 120 one-second tasks, PostgreSQL is stopped for 30 s (or $1) and started
# again; /api/v1/health must say 503 meanwhile and 200 after, the server must stay up, and every
# instance must end in success with no attempt left open and the counts equal a fresh count.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh
ensure_cargo_path
postgres_scratch_database
cargo build --quiet --release -p server --bin nightshift
python3 scripts/fault-db.py target/release/nightshift "${1:-30}"
