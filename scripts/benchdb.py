"""What the benchmark scripts share: psql on a sqlx-style URL."""
import os
import subprocess
import sys


def psql(url, sql):
    """`sql` in the schema the URL names (psql does not read sqlx's options[search_path]; the
    schema goes in as a connection option, not a SET, since VACUUM refuses a transaction block)."""
    base_url, _, schema = url.partition("?options[search_path]=")
    env = dict(os.environ)
    if schema:
        env["PGOPTIONS"] = f"-c search_path={schema}"
    out = subprocess.run(["psql", base_url, "-v", "ON_ERROR_STOP=1", "-tAqc", sql],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        # Never the URL: it holds the password.
        sys.exit(f"psql failed: {out.stderr.strip()}")
    return out.stdout.strip()
