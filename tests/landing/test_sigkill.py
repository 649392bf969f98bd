"""Crash safety: SIGKILL a landing at random moments, then check the lake and land exactly once.

A child process lands three largish CSV files; it is killed at random points many times. After
every kill DuckDB must still read the whole lake glob (no file without a footer is visible), and
a final uninterrupted run must leave exactly the source's rows (no duplicates, nothing lost).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import duckdb
import pytest
from landing_helpers import csv_source, lines_csv, make_tenant

CHILD = r"""
import json, os, sys
from tenantlake.landing import land_tenant
from tenantlake.settings import Home
from tenantlake.tenants import TenantConfig
tenant = TenantConfig.model_validate(json.loads(os.environ["TL_TENANT"]))
rep = land_tenant(tenant, Home(__import__("pathlib").Path(os.environ["TENANTLAKE_HOME"])),
                  run_gx=False)
e = rep.entities["order_lines"]
print(json.dumps({"in": e.rows_in, "landed": e.rows_landed, "q": e.rows_quarantined}))
"""

FILES, ROWS = 3, 60_000


def _readable(home) -> int:
    glob = str(home.lake / "raw" / "order_lines" / "**" / "*.parquet")
    if not list((home.lake / "raw").rglob("*.parquet")):
        return 0
    return duckdb.sql("SELECT count(*) FROM read_parquet(?)", params=[glob]).fetchone()[0]


@pytest.mark.timeout(300)
def test_sigkill_at_random_points_then_land_exactly_once(tl_home, drop):
    for i in range(FILES):
        (drop / f"part{i}.csv").write_text(lines_csv(ROWS, start=i * ROWS))
    tenant = make_tenant({"erp": csv_source()})
    env = {**os.environ, "TENANTLAKE_HOME": str(tl_home.root),
           "TL_TENANT": json.dumps(tenant.model_dump(mode="json"))}
    rnd = random.Random(42)
    kills = 0
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", CHILD], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rnd.uniform(0.3, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
        n = _readable(tl_home)  # DuckDB reads every visible file: all have footers
        assert 0 <= n <= FILES * ROWS
        if n == FILES * ROWS:  # everything landed; start over to keep killing mid-write
            for p in (tl_home.lake).rglob("*.parquet"):
                p.unlink()
            (tl_home.root / "ops.db").unlink()
    assert kills >= 5
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert _readable(tl_home) == FILES * ROWS
    assert not list(tl_home.lake.rglob(".tmp-*"))
    # and once more: a no-op
    again = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                           text=True, timeout=120)
    assert json.loads(again.stdout.strip().splitlines()[-1])["in"] == 0
    assert _readable(tl_home) == FILES * ROWS
