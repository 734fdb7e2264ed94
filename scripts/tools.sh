# Sourced by the other scripts: installs what the build and the tests need, once, quietly.
# Every function is idempotent: it checks first and does nothing when the tool is there.

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen version in Cargo.lock

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_cargo_path() {
  case ":$PATH:" in *":$HOME/.cargo/bin:"*) ;; *) export PATH="$HOME/.cargo/bin:$PATH" ;; esac
}

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown >&2
  fi
}

ensure_wasm_bindgen() {
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes, once)"
    # --locked fails: its lockfile wants a crate version the registry lacks.
    cargo install --quiet --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" >&2
  fi
}

ensure_npm_packages() {
  local dir="$1/end2end"
  if [ ! -x "$dir/node_modules/.bin/wasm-opt" ] || [ ! -x "$dir/node_modules/.bin/playwright" ] \
     || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "installing npm packages of end2end/ (binaryen's wasm-opt, Playwright)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  # npm binaryen, never Debian's (its wasm-opt 108 breaks hydration).
  export PATH="$dir/node_modules/.bin:$PATH"
}

ensure_apt_package() {
  local command="$1" package="$2"
  if ! command -v "$command" >/dev/null 2>&1; then
    say "installing Debian's $package"
    if [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >&2; }
    else
      sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >&2
    fi
  fi
}

# A font with Chinese characters, so the browser tests (and their screenshots) show the zh-CN
# pages as people see them, not as empty boxes.
ensure_cjk_font() {
  if ! fc-list :lang=zh-cn 2>/dev/null | grep -q .; then
    say "installing Debian's fonts-noto-cjk"
    if [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >&2; }
    else
      sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-cjk >&2
    fi
  fi
}

# The unprivileged user commands run as when the server runs as root (`--run-as`): no home, no
# shell, its own group. Only root can make it; others run commands as themselves.
RUN_AS_USER=nightshift-run

ensure_run_user() {
  if [ "$(id -u)" = 0 ] && ! id -u "$RUN_AS_USER" >/dev/null 2>&1; then
    say "adding the user $RUN_AS_USER that commands run as"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$RUN_AS_USER" >&2
  fi
}

ensure_build_tools() {
  ensure_cargo_path
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_npm_packages "$1"
  ensure_apt_package zopfli zopfli
}

# A running PostgreSQL on 127.0.0.1:5432 (Debian's, installed where missing) and a scratch
# database for this run: exports NIGHTSHIFT_TEST_POSTGRES_URL and drops the database when the
# calling shell exits. The role `nightshift_test` gets a fresh random password every run (it
# lives only in this environment and is never printed).
ensure_postgres() {
  ensure_apt_package pg_ctlcluster postgresql
  local version
  version="$(ls /etc/postgresql | sort -n | tail -1)"
  if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
    say "starting PostgreSQL $version"
    pg_ctlcluster "$version" main start
  fi
  local i
  for i in $(seq 1 30); do
    su postgres -c "psql -q -tAc 'SELECT 1'" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "PostgreSQL $version did not come up" >&2
  return 1
}

postgres_scratch_database() {
  ensure_postgres
  local password database
  password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  database="nightshift_test_$$_$(date +%s)"
  su postgres -c "psql -q -v ON_ERROR_STOP=1" >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'nightshift_test') THEN
    CREATE ROLE nightshift_test LOGIN;
  END IF;
END \$\$;
ALTER ROLE nightshift_test WITH LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE $database OWNER nightshift_test;
SQL
  export NIGHTSHIFT_TEST_POSTGRES_URL="postgres://nightshift_test:$password@127.0.0.1:5432/$database"
  POSTGRES_SCRATCH_DATABASE="$database"
  trap 'drop_postgres_scratch_database' EXIT
}

drop_postgres_scratch_database() {
  if [ -n "${POSTGRES_SCRATCH_DATABASE:-}" ]; then
    su postgres -c "psql -q -c 'DROP DATABASE IF EXISTS $POSTGRES_SCRATCH_DATABASE WITH (FORCE)'" >/dev/null 2>&1 || true
  fi
}

# Runs a benchmark script on SQLite and then on a scratch PostgreSQL database (or only on the
# one NIGHTSHIFT_BENCH_ONLY=sqlite|postgres names), after building the release binary:
# `bench_on_both_databases scripts/X.py ARGS...` runs `python3 scripts/X.py BINARY BACKEND ARGS...`.
bench_on_both_databases() {
  local script="$1"
  shift
  ensure_cargo_path
  cargo build --quiet --release -p server --bin nightshift
  local only="${NIGHTSHIFT_BENCH_ONLY:-}"
  if [ "$only" != "postgres" ]; then
    python3 "$script" target/release/nightshift sqlite "$@"
  fi
  if [ "$only" != "sqlite" ]; then
    postgres_scratch_database
    python3 "$script" target/release/nightshift postgres "$@"
  fi
}
