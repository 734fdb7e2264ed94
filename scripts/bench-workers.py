"""Throughput of 1 and 3 worker processes (see bench-workers.sh)."""
import os
import subprocess
import sys
import tempfile
import time

from benchdb import psql

binary, count = sys.argv[1], int(sys.argv[2])
base = os.environ["NIGHTSHIFT_TEST_POSTGRES_URL"]


def run(workers):
    schema = f"bench_{workers}_{int(time.time())}"
    psql(base, f"CREATE SCHEMA {schema}")
    url = f"{base}?options[search_path]={schema}"
    data = tempfile.mkdtemp(prefix="nightshift-bench-")
    project = os.path.join(data, "bench.toml")
    with open(project, "w") as f:
        f.write('[[resource_groups]]\nname = "pool"\nslots = 24\n')
        for n in range(count):
            f.write(f'[[nodes]]\nname = "t{n}"\ncommand = "sleep 0.05"\n'
                    f'schedule = "0 1 2 1 *"\nresource_group = "pool"\n')
    common = ["--data-dir", data, "--database-url", url]
    subprocess.run([binary, "import", project, *common], check=True, capture_output=True)
    env = dict(os.environ, NIGHTSHIFT_LOG="error")
    procs = [subprocess.Popen([binary, "serve", "--role", "scheduler", "--worker-name", "s", *common],
                              env=env, stdout=subprocess.DEVNULL)]
    for w in range(workers):
        procs.append(subprocess.Popen(
            [binary, "serve", "--role", "worker", "--worker-name", f"w{w}", "--worker-slots", "8",
             *common], env=env, stdout=subprocess.DEVNULL))
    try:
        while psql(url, "SELECT COUNT(*) FROM workers") != str(workers + 1):
            time.sleep(0.05)
        started = time.monotonic()
        subprocess.run([binary, "snapshot", "--run-date", "2020-01-02", *common], check=True,
                       capture_output=True)
        while psql(url, "SELECT COUNT(*) FROM instances WHERE state = 'success'") != str(count):
            time.sleep(0.05)
        took = time.monotonic() - started
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
    spread = psql(url, "SELECT string_agg(host || '=' || n, ' ') FROM "
                       "(SELECT host, COUNT(*) AS n FROM instances GROUP BY host ORDER BY host) h")
    return count / took, took, spread


one, took1, spread1 = run(1)
print(f"1 worker : {count} tasks in {took1:.2f} s = {one:.0f} tasks/s ({spread1})")
three, took3, spread3 = run(3)
print(f"3 workers: {count} tasks in {took3:.2f} s = {three:.0f} tasks/s ({spread3})")
print(f"ratio {three / one:.2f}x (target >= 2.7x)")
