"""Load (see bench-load.sh): 50 concurrent clients read lists, statistics, details and logs
through the REST API while the scheduler runs 10,000 instances; prints p50/p95/p99 latency per
route, the number of errors, and the scheduler's throughput under that load against without it.

Usage: bench-load.py BINARY sqlite|postgres [INSTANCES] [CLIENTS]
"""
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import functools
print = functools.partial(print, flush=True)

binary, backend = sys.argv[1], sys.argv[2]
INSTANCES = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
CLIENTS = int(sys.argv[4]) if len(sys.argv) > 4 else 50
CHAIN = 10
PASSWORD = "bench-password"
LIMIT_SECS = 600


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port, token=None, cookie=None, csrf=None):
        self.port, self.token, self.cookie, self.csrf = port, token, cookie, csrf
        self.conn = None

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.cookie:
            headers["Cookie"] = self.cookie
        if self.csrf:
            headers["x-csrf-token"] = self.csrf
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=None if body is None else json.dumps(body),
                                  headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read(), response.getheader("Set-Cookie")
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise


def project(path):
    """INSTANCES no-op nodes as chains of CHAIN in one 16-slot group, daily at 00:00."""
    with open(path, "w") as out:
        out.write('[[resource_groups]]\nname = "default"\nslots = 16\n\n')
        for k in range(INSTANCES):
            chain, step = divmod(k, CHAIN)
            up = f'"load_{chain:05d}_{step - 1}"' if step else ""
            out.write(f'[[nodes]]\nname = "load_{chain:05d}_{step}"\nworkflow = "w{chain % 20:02d}"\n'
                      f'owner = "owner{chain % 50:02d}"\nschedule = "0 0 * * *"\ncommand = "true"\n'
                      f'upstream = [{up}]\n\n')


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round((len(values) - 1) * p)))] if values else float("nan")


def run_day(admin, day):
    """Makes `day` and waits until every instance of it ended; returns seconds."""
    started = time.perf_counter()
    status, body, _ = admin.call("POST", "/api/v1/snapshots", {"run_date": day})
    assert status in (200, 201), body
    while True:
        status, body, _ = admin.call("GET", f"/api/v1/instances/stats?run_date={day}")
        stats = json.loads(body)
        done = stats.get("success", 0) + stats.get("failed", 0)
        if done >= INSTANCES:
            return time.perf_counter() - started
        if time.perf_counter() - started > LIMIT_SECS:
            sys.exit(f"{day}: only {done} of {INSTANCES} ended in {LIMIT_SECS} s")
        time.sleep(0.2)


def main():
    work = tempfile.mkdtemp(prefix="nightshift-load-")
    toml = os.path.join(work, "project.toml")
    project(toml)
    env = dict(os.environ, NIGHTSHIFT_LOG="warn", NIGHTSHIFT_PASSWORD=PASSWORD)
    url = [] if backend == "sqlite" else ["--database-url", os.environ["NIGHTSHIFT_TEST_POSTGRES_URL"]]
    common = ["--data-dir", os.path.join(work, "data")] + url
    subprocess.run([binary, "import", toml] + common, env=env, check=True, capture_output=True)
    subprocess.run([binary, "user", "add", "--name", "admin", "--role", "admin"] + common, env=env,
                   check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"] + common, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        session = Client(port)
        deadline = time.time() + 60
        while True:
            try:
                if session.call("GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("the server did not start")
            time.sleep(0.1)
        status, body, cookie = session.call("POST", "/api/v1/login",
                                            {"username": "admin", "password": PASSWORD})
        assert status == 200, body
        session.cookie = cookie.split(";")[0]
        session.csrf = json.loads(session.call("GET", "/api/v1/me")[1]).get("csrf_token")
        status, body, _ = session.call("POST", "/api/v1/tokens", {"name": "load"})
        assert status in (200, 201), body
        token = json.loads(body)["token"]
        admin = Client(port, token=token)

        quiet = run_day(admin, "2020-01-02")
        print(f"load ({backend}): {INSTANCES} instances ({INSTANCES // CHAIN} chains of {CHAIN}, "
              f"16 slots), {CLIENTS} clients")
        print(f"scheduler without load: {quiet:.1f} s, {INSTANCES / quiet:.0f} instances/s")

        # Ids and attempts to read (of the quiet day, whose logs exist).
        status, body, _ = admin.call("GET", "/api/v1/instances?run_date=2020-01-02&limit=200")
        ids = [i["id"] for i in json.loads(body)["items"]]
        routes = {
            "GET /instances (page)": lambda r: "/api/v1/instances?limit=50",
            "GET /instances (filtered)": lambda r: f"/api/v1/instances?owner=owner{r.randrange(50):02d}&state=success&limit=50",
            "GET /instances/stats": lambda r: "/api/v1/instances/stats",
            "GET /instances/stats (day)": lambda r: "/api/v1/instances/stats?run_date=2020-01-03",
            "GET /instances/{id}": lambda r: f"/api/v1/instances/{r.choice(ids)}",
            "GET /instances/{id}/log": lambda r: f"/api/v1/instances/{r.choice(ids)}/log",
        }
        names = list(routes)
        latencies = {name: [] for name in names}
        errors = {name: 0 for name in names}
        stop = threading.Event()
        lock = threading.Lock()

        def client(seed):
            r = random.Random(seed)
            me = Client(port, token=token)
            while not stop.is_set():
                name = r.choice(names)
                started = time.perf_counter()
                try:
                    status, _, _ = me.call("GET", routes[name](r))
                except OSError:
                    status = 0
                took = time.perf_counter() - started
                with lock:
                    latencies[name].append(took)
                    if status != 200:
                        errors[name] += 1

        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        loaded = run_day(admin, "2020-01-03")
        stop.set()
        for t in threads:
            t.join(timeout=70)
        print(f"scheduler under load: {loaded:.1f} s, {INSTANCES / loaded:.0f} instances/s "
              f"({quiet / loaded:.2f} of the throughput without load)")
        total = sum(len(v) for v in latencies.values())
        print(f"{total} requests in {loaded:.1f} s ({total / loaded:.0f}/s), "
              f"{sum(errors.values())} errors")
        for name in names:
            v = latencies[name]
            print(f"  {name:<28} n={len(v):>6}  p50 {percentile(v, 0.5) * 1000:6.1f} ms  "
                  f"p95 {percentile(v, 0.95) * 1000:6.1f} ms  p99 {percentile(v, 0.99) * 1000:6.1f} ms"
                  f"  errors {errors[name]}")
        if sum(errors.values()):
            sys.exit("some requests failed")
    finally:
        server.terminate()
        server.wait(timeout=60)


main()
