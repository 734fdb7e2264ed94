"""The database away for a while (see fault-db.sh): a release server on PostgreSQL runs a
project of short tasks; the PostgreSQL server is stopped for OUTAGE seconds (default 30) and
started again. Checks that /api/v1/health says unhealthy (503) while it is away and healthy again
after, that the server process never exited, and that nothing was lost: every instance ends in
success, no attempt stays open, every attempt has its outcome and the kept counts equal a fresh
count.

Usage: fault-db.py BINARY [OUTAGE]
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from benchdb import psql

binary = sys.argv[1]
OUTAGE = int(sys.argv[2]) if len(sys.argv) > 2 else 30
TASKS = 120
PASSWORD = "fault-password"
url = os.environ["NIGHTSHIFT_TEST_POSTGRES_URL"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data, response.getheader("Set-Cookie")


def health(port):
    try:
        return call(port, "GET", "/api/v1/health")[0]
    except OSError:
        return 0


def postgres(action):
    subprocess.run(["pg_ctlcluster", "15", "main", action], check=True)


def wait(what, check, limit):
    deadline = time.time() + limit
    while not check():
        if time.time() > deadline:
            sys.exit(f"FAILED: {what} within {limit} s")
        time.sleep(0.25)


def main():
    work = tempfile.mkdtemp(prefix="nightshift-fault-")
    toml = os.path.join(work, "project.toml")
    with open(toml, "w") as out:
        out.write('[[resource_groups]]\nname = "default"\nslots = 4\n\n')
        for k in range(TASKS):
            up = f'"fault_{k - 1:03d}"' if k % 10 else ""
            out.write(f'[[nodes]]\nname = "fault_{k:03d}"\nowner = "ops"\nschedule = "0 0 * * *"\n'
                      f'command = "sleep 1"\nretries = 3\nretry_delay_secs = 1\nupstream = [{up}]\n\n')
    env = dict(os.environ, NIGHTSHIFT_LOG="warn", NIGHTSHIFT_PASSWORD=PASSWORD)
    common = ["--data-dir", os.path.join(work, "data"), "--database-url", url]
    subprocess.run([binary, "import", toml] + common, env=env, check=True, capture_output=True)
    subprocess.run([binary, "user", "add", "--name", "admin", "--role", "admin"] + common, env=env,
                   check=True, capture_output=True)
    port = free_port()
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}"] + common, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        wait("the server starts", lambda: health(port) == 200, 60)
        # A token, made with a session (its CSRF token from /me).
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/v1/login", body=json.dumps({"username": "admin", "password": PASSWORD}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        cookie = response.getheader("Set-Cookie").split(";")[0]
        conn.request("GET", "/api/v1/me", headers={"Cookie": cookie})
        csrf = json.loads(conn.getresponse().read()).get("csrf_token")
        conn.request("POST", "/api/v1/tokens", body=json.dumps({"name": "fault"}),
                     headers={"Content-Type": "application/json", "Cookie": cookie, "x-csrf-token": csrf})
        token = json.loads(conn.getresponse().read())["token"]
        conn.close()

        status, body, _ = call(port, "POST", "/api/v1/snapshots", {"run_date": "2020-01-02"}, token)
        assert status in (200, 201), body
        time.sleep(3)  # let work be under way: some ran, some run, most wait
        stats = json.loads(call(port, "GET", "/api/v1/instances/stats", token=token)[1])
        print(f"before the outage: {stats.get('success', 0)} of {TASKS} done, "
              f"{stats.get('running', 0)} running")

        postgres("stop")
        stopped = time.time()
        try:
            wait("health says unhealthy", lambda: health(port) == 503, 10)
            print(f"health: 503 {time.time() - stopped:.1f} s after the database went away")
            while time.time() - stopped < OUTAGE:
                assert server.poll() is None, "the server exited during the outage"
                assert health(port) == 503, "health said healthy while the database was away"
                time.sleep(1)
        finally:
            postgres("start")
        started = time.time()
        wait("health says healthy again", lambda: health(port) == 200, 60)
        print(f"database away {started - stopped:.0f} s; healthy again {time.time() - started:.1f} s "
              "after it came back")

        def all_done():
            s = json.loads(call(port, "GET", "/api/v1/instances/stats", token=token)[1])
            return s.get("success", 0) + s.get("failed", 0) + s.get("stopped", 0) >= TASKS

        wait("every instance ends", all_done, 300)
        assert server.poll() is None, "the server exited"
        stats = json.loads(call(port, "GET", "/api/v1/instances/stats", token=token)[1])
        open_attempts = psql(url, "SELECT COUNT(*) FROM attempts WHERE ended_at IS NULL OR outcome IS NULL")
        instances = psql(url, "SELECT COUNT(*) FROM instances")
        retried = psql(url, "SELECT COUNT(*) FROM instances WHERE attempt > 1")
        check = subprocess.run([binary, "check-counts"] + common, env=env, capture_output=True, text=True)
        problems = []
        if int(instances) != TASKS:
            problems.append(f"{instances} instances, not {TASKS}")
        if stats.get("success", 0) != TASKS:
            problems.append(f"only {stats.get('success', 0)} of {TASKS} succeeded: {stats}")
        if int(open_attempts):
            problems.append(f"{open_attempts} attempts without an end")
        if check.returncode != 0:
            problems.append(f"check-counts: {check.stdout}{check.stderr}")
        print(f"after: {stats.get('success', 0)} of {TASKS} succeeded, {open_attempts} open attempts, "
              f"{retried} instances needed a retry (attempts cut off by the outage), counts "
              f"{'equal' if check.returncode == 0 else 'differ'}")
        if problems:
            sys.exit("FAILED: " + "; ".join(problems) + f" (server log: {log.name})")
        print("nothing lost")
    finally:
        server.terminate()
        server.wait(timeout=60)


main()
