"""Definitions at scale (see bench-scale.sh): a generated project of NODES nodes (default
100,000) in workflows of 2,000, each node with two upstream nodes of its workflow (about 200,000
edges). Times `nightshift import` of its TOML, the snapshot of a day (`POST /api/v1/snapshots`),
the server's RSS while serving it, the node list of the Tasks page and the graph of one
2,000-node workflow (the server functions the page calls), and the pages themselves.

Usage: bench-scale.py BINARY sqlite|postgres [NODES]
"""
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time

binary, backend = sys.argv[1], sys.argv[2]
NODES = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
PER_WORKFLOW = 2_000
PASSWORD = "bench-password"


def generate(path):
    rng = random.Random(18)
    edges = 0
    with open(path, "w") as out:
        out.write('[[resource_groups]]\nname = "default"\nslots = 8\n\n')
        for k in range(NODES):
            w, i = divmod(k, PER_WORKFLOW)
            ups = []
            if i > 0:
                ups = sorted({w * PER_WORKFLOW + rng.randrange(max(0, i - 200), i) for _ in range(2)})
            edges += len(ups)
            up = ", ".join(f'"n{u:06d}"' for u in ups)
            out.write(
                f'[[nodes]]\nname = "n{k:06d}"\nworkflow = "wf{w:03d}"\nowner = "owner{k % 200:03d}"\n'
                f'schedule = "0 {k % 24} * * *"\ncommand = "true"\npaused = false\nupstream = [{up}]\n\n'
            )
    return edges


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, token=None, cookie=None, csrf=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    if csrf:
        headers["x-csrf-token"] = csrf
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if cookie:
        headers["Cookie"] = cookie
    started = time.perf_counter()
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    took = time.perf_counter() - started
    conn.close()
    return response.status, data, took, response.getheader("Set-Cookie")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def hwm_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    work = tempfile.mkdtemp(prefix="nightshift-scale-")
    toml = os.path.join(work, "project.toml")
    edges = generate(toml)
    size = os.path.getsize(toml) / 1e6
    env = dict(os.environ, NIGHTSHIFT_LOG="warn", NIGHTSHIFT_PASSWORD=PASSWORD)
    data = os.path.join(work, "data")
    url = [] if backend == "sqlite" else ["--database-url", os.environ["NIGHTSHIFT_TEST_POSTGRES_URL"]]
    common = ["--data-dir", data] + url
    print(f"definitions at scale ({backend}): {NODES} nodes, {edges} edges, {size:.1f} MB of TOML")

    started = time.perf_counter()
    imp = subprocess.run([binary, "import", toml] + common, env=env, capture_output=True, text=True)
    took = time.perf_counter() - started
    if imp.returncode != 0:
        sys.exit(f"import failed: {imp.stderr[-2000:]}")
    print(f"import: {took:.2f} s (target <= 10 s)")
    subprocess.run([binary, "user", "add", "--name", "admin", "--role", "admin"] + common,
                   env=env, check=True, capture_output=True)

    port = free_port()
    server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"] + common,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if request(port, "GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("the server did not start")
            time.sleep(0.1)
        status, body, _, cookie = request(port, "POST", "/api/v1/login",
                                          {"username": "admin", "password": PASSWORD})
        assert status == 200, body
        cookie = cookie.split(";")[0]
        me = json.loads(request(port, "GET", "/api/v1/me", cookie=cookie)[1])
        csrf = me.get("csrf_token")
        status, body, _, _ = request(port, "POST", "/api/v1/tokens", {"name": "bench"}, cookie=cookie,
                                     csrf=csrf)
        assert status in (200, 201), body
        token = json.loads(body)["token"]
        print(f"server RSS after start: {rss_mib(server.pid):.0f} MiB")

        times = []
        for day in ["2030-01-01", "2030-01-02", "2030-01-03"]:
            status, body, took, _ = request(port, "POST", "/api/v1/snapshots", {"run_date": day}, token=token)
            assert status in (200, 201), body
            times.append(took)
        print(f"snapshot of {NODES} instances: {', '.join(f'{t:.2f}' for t in times)} s (target <= 0.5 s)")

        def timed(label, path, target, runs=5, **kw):
            samples = []
            for _ in range(runs):
                status, body, took, _ = request(port, "GET", path, **kw)
                assert status == 200, (path, status, body[:300])
                samples.append(took)
            print(f"{label}: median {median(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms "
                  f"({len(body) / 1024:.0f} KiB; target <= {target} ms)")

        timed("GET /api/v1/nodes (first page)", "/api/v1/nodes", 1000, token=token)
        workflow = f"wf{NODES // PER_WORKFLOW // 2:03d}"
        timed(f"GET /api/v1/nodes?workflow={workflow}", f"/api/v1/nodes?workflow={workflow}", 1000, token=token)
        timed("Tasks page (server-rendered)", "/tasks", 1000, cookie=cookie)
        timed("Tasks page of a 2,000-node workflow", f"/tasks?workflow={workflow}", 1000, cookie=cookie)
        # The graph the page draws: the server function behind it.
        # Its path carries a hash Leptos makes at build time: read it from the binary.
        with open(binary, "rb") as f:
            rpc = re.search(rb"/rpc/fetch_definition_graph[0-9]*", f.read()).group().decode()
        samples = []
        for _ in range(3):
            status, graph, took, _ = request(port, "POST", rpc, {"workflow": workflow}, token=token)
            assert status == 200, (status, graph[:300])
            samples.append(took)
        print(f"graph of a 2,000-node workflow (layout): median {median(samples) * 1000:.0f} ms "
              f"({len(graph) / 1024:.0f} KiB; target <= 1000 ms)")
        print(f"server RSS while serving it: {rss_mib(server.pid):.0f} MiB, peak {hwm_mib(server.pid):.0f} MiB "
              "(target <= 300 MiB)")
    finally:
        server.terminate()
        server.wait(timeout=30)


main()
