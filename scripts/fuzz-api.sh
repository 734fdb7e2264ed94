#!/usr/bin/env bash
# API fuzzing (a bounded run is part of scripts/test.sh): schemathesis, pinned, in a virtualenv under
# target/, against a freshly started release server on its own scratch data directory and port.
# The project is examples/ with today's snapshot, the client an administrator's API token. Runs
# every phase (examples, coverage, fuzzing, stateful) with schemathesis' default checks and
# exits non-zero on any failure. Run after scripts/build-site.sh (it needs
# target/release/nightshift).
#
#   scripts/fuzz-api.sh [MAX_EXAMPLES [ST_RUN_OPTIONS...]]
#                                          examples per operation: default 25 (about 2 minutes);
#                                          NIGHTSHIFT_FUZZ_MAX_EXAMPLES works too. Further
#                                          arguments go to `st run` (--continue-on-failure, ...)
#   NIGHTSHIFT_FUZZ_SPEC=server/src/http/openapi.json scripts/fuzz-api.sh
#                                          test the spec on disk instead of the one the binary
#                                          serves (no rebuild needed after editing it)
#   NIGHTSHIFT_FUZZ_SEED=N                 repeat a run; NIGHTSHIFT_FUZZ_KEEP=1 keeps the data dir
#
# Reports (JUnit, NDJSON) and schemathesis' replay data go to target/fuzz-api/; `st replay ID`
# works from there with target/schemathesis-venv/bin/st.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/tools.sh

SCHEMATHESIS_VERSION=4.32.5
venv="$root/target/schemathesis-venv"
work="$root/target/fuzz-api"
binary="$root/target/release/nightshift"
max_examples="${1:-${NIGHTSHIFT_FUZZ_MAX_EXAMPLES:-25}}"
shift $(( $# > 0 ? 1 : 0 ))

ensure_schemathesis() {
  if [ "$("$venv/bin/st" --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
    say "installing schemathesis $SCHEMATHESIS_VERSION into target/schemathesis-venv (once)"
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
      if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2 \
          || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2; }
      else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >&2
      fi
    fi
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
  fi
}

if [ ! -x "$binary" ]; then
  echo "no $binary: run scripts/build-site.sh first" >&2
  exit 1
fi
ensure_schemathesis
ensure_run_user

data="$(mktemp -d "${TMPDIR:-/tmp}/nightshift-fuzz.XXXXXX")"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
server=
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  if [ -n "${NIGHTSHIFT_FUZZ_KEEP:-}" ]; then
    echo "data: $data" >&2
  else
    rm -rf "$data"
  fi
}
trap cleanup EXIT

say "a scratch server on 127.0.0.1:$port: examples/, today's snapshot, an administrator"
# The password and the token live only in this environment and the scratch directory.
password="$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
NIGHTSHIFT_PASSWORD="$password" "$binary" user add --name fuzz-admin --role admin \
  --data-dir "$data" >/dev/null
NIGHTSHIFT_LOG=warn "$binary" import examples/ --data-dir "$data" >/dev/null
NIGHTSHIFT_LOG=warn "$binary" snapshot --run-date "$(date -u +%F)" --data-dir "$data" >/dev/null
# The fuzzer makes nodes with commands of its own (random text) and runs them: tests,
# backfills, reruns, snapshots. They find no program (PATH leads nowhere: shell builtins only),
# run as the unprivileged user of --run-as when this is root (in /, which it cannot write), and
# are stopped with the server.
run_as=()
if [ "$(id -u)" = 0 ]; then run_as=(--run-as "$RUN_AS_USER"); fi
NIGHTSHIFT_LOG=warn "$binary" --listen "127.0.0.1:$port" --data-dir "$data" \
  --site-root "$root/target/site" "${run_as[@]}" --command-env PATH=/nonexistent \
  --on-shutdown stop --kill-grace-secs 1 >"$data/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port/api/v1"
for _ in $(seq 150); do
  curl -sf "$base/health" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$data/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -sf "$base/health" >/dev/null

# Sign in, make an API token (its id too: the fuzzer must not revoke the token it runs with).
token_json="$(NIGHTSHIFT_FUZZ_PASSWORD="$password" python3 - "$base" <<'PY'
import http.cookiejar, json, os, sys, urllib.request
base = sys.argv[1]
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
def post(path, body, headers={}):
    request = urllib.request.Request(base + path, json.dumps(body).encode(),
                                     {"content-type": "application/json", **headers})
    return json.load(opener.open(request))
me = post("/login", {"username": "fuzz-admin", "password": os.environ["NIGHTSHIFT_FUZZ_PASSWORD"]})
token = post("/tokens", {"name": "schemathesis"}, {"x-csrf-token": me["csrf_token"]})
print(json.dumps({"id": token["id"], "token": token["token"]}))
PY
)"
export NIGHTSHIFT_FUZZ_TOKEN_ID NIGHTSHIFT_FUZZ_TOKEN
NIGHTSHIFT_FUZZ_TOKEN_ID="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<<"$token_json")"
NIGHTSHIFT_FUZZ_TOKEN="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<<"$token_json")"
unset token_json password

# schemathesis' configuration: the token from the environment (never on a command line).
cat >"$data/schemathesis.toml" <<'TOML'
headers = { Authorization = "Bearer ${NIGHTSHIFT_FUZZ_TOKEN}" }
request-timeout = 10
# GET /events never ends: judge its first events, then stop reading.
max-stream-events = 5

[phases.stateful.inference]
# Links are inferred from the schema only: the API sends no Location headers, and scanning
# response bodies for URLs crashes schemathesis 4.32.5 on a webhook like "http://[x".
algorithms = ["dependency-analysis"]
TOML

# Hooks: what schemathesis cannot know from the schema alone.
cat >"$data/hooks.py" <<'PY'
import json
import math
import os
import re

import schemathesis

OWN_TOKEN = os.environ["NIGHTSHIFT_FUZZ_TOKEN_ID"]


@schemathesis.hook
def before_call(context, case, kwargs):
    """Never revoke the token the run signs in with (the stateful phase revokes the ones it made)."""
    if case.method.upper() == "DELETE" and case.operation.path == "/tokens/{id}":
        if str((case.path_parameters or {}).get("id")) == OWN_TOKEN:
            case.path_parameters["id"] = 2**62


# POST /import takes TOML; the schema describes the document it parses into.
class NotToml(Exception):
    pass


BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_string(value):
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise NotToml
    out = []
    for c in value:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def toml_key(key):
    return key if BARE_KEY.match(key) else toml_string(key)


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise NotToml  # null has no TOML form


def to_toml(document):
    if not isinstance(document, dict):
        raise NotToml
    lines, tables = [], []
    for key, value in document.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, items in tables:
        for item in items:
            lines.append(f"\n[[{toml_key(key)}]]")
            lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in item.items())
    return "\n".join(lines) + "\n"


@schemathesis.serializer("application/toml")
def toml_serializer(ctx, value):
    if isinstance(value, bytes):
        return value
    try:
        return to_toml(value).encode()
    except NotToml:
        # What TOML cannot say (null, a list at the top) goes as JSON text: not TOML either.
        return json.dumps(value).encode("utf-8", "surrogatepass")


# Refusals of schema-valid requests that the schema cannot express: they depend on the
# database (a name that must exist, a cycle) or tie two fields together (from <= to), or on a
# cron expression's meaning. Anything else a schema-valid request gets refused for fails.
SEMANTIC = {
    "unknown_upstream", "cycle", "unknown_resource_group", "duplicate_node", "bad_schedule",
    "too_frequent", "unknown_node", "unknown_workflow", "not_downstream_node", "from_after_to",
    "too_many_dates", "rename", "current_password_missing", "test_too_large",
    "backfill_too_large", "planning_too_slow", "unknown_previous_node", "unknown_calendar",
}


def refusal(response):
    try:
        error = json.loads(response.content)["error"]
    except Exception:
        return None, None
    reason = error.get("reason") or {}
    return reason.get("code"), reason


def semantic(code, reason):
    if code in SEMANTIC:
        return True
    if code == "bad_resource_group" and "more than its slots" in reason.get("detail", ""):
        return True
    return code == "selection" and (reason.get("refusal") or {}).get("code") == "not_downstream"


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if getattr(failure, "code", None) != "ST202" or response is None or response.status_code != 400:
        return True
    code, reason = refusal(response)
    if not semantic(code, reason):
        return True
    with open(os.environ["NIGHTSHIFT_FUZZ_FILTERED"], "a") as log:
        log.write(f"{case.operation.label}: {code}\n")
    return False
PY

mkdir -p "$work"
# What the hooks let pass as "refused for a reason the schema cannot say", for a look after.
export NIGHTSHIFT_FUZZ_FILTERED="$work/filtered.txt"
: >"$NIGHTSHIFT_FUZZ_FILTERED"
spec="${NIGHTSHIFT_FUZZ_SPEC:-$base/openapi.json}"
case "$spec" in http*) ;; *) spec="$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")" ;; esac
seed=()
if [ -n "${NIGHTSHIFT_FUZZ_SEED:-}" ]; then seed=(--seed "$NIGHTSHIFT_FUZZ_SEED"); fi
say "schemathesis: every operation and phase, $max_examples examples per operation"
status=0
(
  cd "$work"
  SCHEMATHESIS_HOOKS="$data/hooks.py" "$venv/bin/st" --config-file "$data/schemathesis.toml" \
    run "$spec" --url "$base" --max-examples "$max_examples" "${seed[@]}" \
    --generation-database "$work/examples.db" \
    --report junit,ndjson --report-dir "$work/report" "$@"
) || status=$?
if [ "$status" != 0 ]; then
  echo "the server's log (warnings and errors):" >&2
  tail -n 40 "$data/server.log" >&2
fi
exit "$status"
