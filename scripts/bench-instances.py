"""The instance list and its statistics at millions of instances (see bench-instances.sh).

Usage: bench-instances.py BINARY sqlite|postgres COUNT
"""
import datetime
import http.client
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

from benchdb import psql

binary, backend, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
NODES = 10_000
DAYS = max(count // NODES, 3)
LAYERS = ["ods", "dwd", "dws", "ads"]
DOMAINS = ["trade", "order", "user", "item", "shop", "pay", "refund", "logistics", "coupon",
           "search", "click", "cart", "review", "stock", "price", "ad", "risk", "crm", "vip",
           "live", "video", "msg", "push", "sku", "brand", "region", "store", "staff", "hr",
           "finance", "tax", "invoice", "budget", "supplier", "contract", "device", "app",
           "web", "mini", "sms", "mail", "call", "ticket", "survey", "growth", "churn", "ltv",
           "cohort", "funnel", "session"]
PASSWORD = "bench-password"


def node_name(k):
    return f"{LAYERS[k % 4]}_{DOMAINS[(k // 4) % len(DOMAINS)]}_{k:05d}"


def seed_sql(start, last_run):
    """The instances, newest ids on the newest run dates, in SQL both databases accept around
    their date functions."""
    if backend == "sqlite":
        days = (f"WITH RECURSIVE d(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM d WHERE x < {DAYS - 1})"
                ", s AS (SELECT x, n.id AS node_id, n.name, w.name AS workflow, n.owner, "
                "(n.id * 2654435761 + x * 40503) % 1000 AS h, "
                f"date('{start}', x || ' days') AS run_date, "
                f"date('{start}', (x - 1) || ' days') AS bizdate, "
                f"(CAST(strftime('%s', '{start}') AS INTEGER) + x * 86400 + 3600) * 1000 AS planned "
                "FROM d CROSS JOIN nodes n JOIN workflows w ON w.id = n.workflow_id) ")
        source = "s"
    else:
        days = ""
        source = ("(SELECT x, n.id AS node_id, n.name, w.name AS workflow, n.owner, "
                  "(n.id * 2654435761 + x * 40503) % 1000 AS h, "
                  f"to_char(DATE '{start}' + x, 'YYYY-MM-DD') AS run_date, "
                  f"to_char(DATE '{start}' + x - 1, 'YYYY-MM-DD') AS bizdate, "
                  f"(EXTRACT(EPOCH FROM DATE '{start}')::bigint + x * 86400 + 3600) * 1000 "
                  f"AS planned FROM generate_series(0, {DAYS - 1}) AS x CROSS JOIN nodes n "
                  "JOIN workflows w ON w.id = n.workflow_id ORDER BY x, n.id) s")
    future = f"x >= {last_run}"
    return (
        f"{days}INSERT INTO instances (node_id, node_name, workflow, owner, run_type, job_id, "
        "bizdate, run_date, planned_at, ready_at, state, paused, priority, attempt, auto_retries, "
        "created_at, updated_at, started_at, ended_at, exit_code, host, reason) "
        "SELECT node_id, name, workflow, owner, "
        "CASE WHEN h % 100 < 92 THEN 'cycle' WHEN h % 100 < 98 THEN 'backfill' ELSE 'test' END, "
        "CASE WHEN h % 100 < 92 THEN 0 WHEN h % 100 < 98 THEN 1 + x % 20 ELSE 21 + x % 20 END, "
        "bizdate, run_date, planned, planned, "
        f"CASE WHEN {future} THEN 'waiting_time' WHEN h < 40 THEN 'failed' "
        "WHEN h < 55 THEN 'stopped' ELSE 'success' END, "
        f"FALSE, 0, CASE WHEN {future} THEN 0 ELSE 1 END, 0, planned, planned, "
        f"CASE WHEN {future} THEN NULL ELSE planned + 1000 END, "
        f"CASE WHEN {future} THEN NULL ELSE planned + 60000 + h * 100 END, "
        f"CASE WHEN {future} THEN NULL WHEN h < 40 THEN 1 WHEN h < 55 THEN NULL ELSE 0 END, "
        f"CASE WHEN {future} THEN NULL ELSE 'bench-host' END, NULL FROM {source}"
    )


def prepare():
    data = tempfile.mkdtemp(prefix=f"nightshift-bench-{backend}-")
    common = ["--data-dir", data]
    url = None
    if backend == "postgres":
        schema = f"bench_instances_{int(time.time())}"
        base = os.environ["NIGHTSHIFT_TEST_POSTGRES_URL"]
        psql(base, f"CREATE SCHEMA {schema}")
        url = f"{base}?options[search_path]={schema}"
        common += ["--database-url", url]
    env = dict(os.environ, NIGHTSHIFT_PASSWORD=PASSWORD)
    subprocess.run([binary, "user", "add", "--name", "bench", "--role", "admin", *common],
                   check=True, capture_output=True, env=env)
    project = os.path.join(data, "bench.toml")
    with open(project, "w") as f:
        for k in range(NODES):
            # Scheduled on 2 January only: no snapshot of today adds to the seeded instances.
            f.write(f'[[nodes]]\nname = "{node_name(k)}"\nowner = "owner_{k % 200:03d}"\n'
                    f'workflow = "wf_{k % 100:03d}"\ncommand = "true"\n'
                    'schedule = "0 1 2 1 *"\n')
    started = time.monotonic()
    subprocess.run([binary, "import", project, *common], check=True, capture_output=True)
    today = datetime.date.today()
    # The last two run dates are tomorrow's and the day after's: instances waiting for their time.
    start = today - datetime.timedelta(days=DAYS - 3)
    sql = seed_sql(start.isoformat(), DAYS - 2)
    if backend == "sqlite":
        db = sqlite3.connect(os.path.join(data, "nightshift.db"))
        db.execute("PRAGMA cache_size = -2000000")
        db.execute("PRAGMA synchronous = OFF")
        db.execute(sql)
        db.commit()
        db.close()
    else:
        psql(url, sql)
        psql(url, "VACUUM ANALYZE")
    seeded = time.monotonic() - started
    return data, common, url, seeded, start


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        body = json.dumps({"username": "bench", "password": PASSWORD})
        self.conn.request("POST", "/api/v1/login", body, {"Content-Type": "application/json"})
        answer = self.conn.getresponse()
        answer.read()
        if answer.status != 200:
            sys.exit(f"login refused: {answer.status}")
        cookies = [v.split(";")[0] for k, v in answer.getheaders() if k.lower() == "set-cookie"]
        self.cookie = "; ".join(cookies)

    def get(self, path):
        started = time.perf_counter()
        self.conn.request("GET", path, headers={"Cookie": self.cookie})
        answer = self.conn.getresponse()
        body = answer.read()
        took = (time.perf_counter() - started) * 1000
        if answer.status != 200:
            sys.exit(f"GET {path}: {answer.status} {body[:200]!r}")
        return took, json.loads(body)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    data, common, url, seeded, start = prepare()
    port = free_port()
    env = dict(os.environ, NIGHTSHIFT_LOG="error")
    server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", *common],
                              env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        client = Client(port)
        rng = random.Random(16)
        date = lambda: (start + datetime.timedelta(days=rng.randrange(DAYS - 2))).isoformat()
        states = ["failed", "stopped", "success", "waiting_time"]
        shapes = {
            "default (owner + failed/stopped)":
                lambda i: {"owner": f"owner_{rng.randrange(200):03d}",
                           "state": "failed,stopped", "run_type": "cycle"},
            "everything (state=any)": lambda i: {"state": "any"},
            "one state": lambda i: {"state": states[i % len(states)]},
            "workflow + business date":
                lambda i: {"workflow": f"wf_{rng.randrange(100):03d}", "bizdate": date()},
            "business date + state": lambda i: {"bizdate": date(), "state": "failed"},
            "node name contains":
                lambda i: {"node": (DOMAINS[rng.randrange(len(DOMAINS))] if i % 2
                                    else f"{rng.randrange(NODES):05d}")},
            "run type": lambda i: {"run_type": ["backfill", "test", "cycle"][i % 3]},
        }
        runs = 40
        rows = []
        for name, make in shapes.items():
            lists, stats = [], []
            for i in range(runs + 3):
                filter = make(i)
                query = urllib.parse.urlencode(filter)
                took_list, _ = client.get(f"/api/v1/instances?{query}")
                # The statistics as the instance page asks for them: the filter but its states
                # (each counter then stays meaningful, and clicking one narrows to it).
                query = urllib.parse.urlencode({k: v for k, v in filter.items() if k != "state"})
                took_stats, _ = client.get(f"/api/v1/instances/stats?{query}")
                if i >= 3:
                    lists.append(took_list)
                    stats.append(took_stats)
            rows.append((name, lists, stats))
        # 40 pages deep: the cursors of pages 40 of a few filters, then each page read again.
        deep, deep_stats = [], []
        for query in [{"state": "any"}, {"run_type": "cycle"}, {"state": "success"},
                      {"run_type": "backfill"}]:
            query = urllib.parse.urlencode(query)
            cursor = None
            for _ in range(39):
                extra = f"&cursor={cursor}" if cursor else ""
                _, page = client.get(f"/api/v1/instances?{query}{extra}")
                cursor = page["next_cursor"]
            for _ in range(10):
                took, _ = client.get(f"/api/v1/instances?{query}&cursor={cursor}")
                deep.append(took)
                took, _ = client.get(f"/api/v1/instances/stats?{query}")
                deep_stats.append(took)
        rows.append(("40 pages deep", deep, deep_stats))
        _, total = client.get("/api/v1/instances/stats?state=any")
    finally:
        server.terminate()
        server.wait()
    print(f"\n{backend}: {total['total']:,} instances, {NODES:,} nodes, seeded and indexed in "
          f"{seeded:.0f} s")
    print("| filter | list p50 | list p95 | stats p50 | stats p95 |")
    print("|---|---|---|---|---|")
    for name, lists, stats in rows:
        print(f"| {name} | {percentile(lists, 50):.1f} ms | {percentile(lists, 95):.1f} ms | "
              f"{percentile(stats, 50):.1f} ms | {percentile(stats, 95):.1f} ms |")
    if not os.environ.get("NIGHTSHIFT_BENCH_KEEP"):
        subprocess.run(["rm", "-rf", data])
    else:
        print(f"data: {data}")


main()
