"""Crash safety: landing is SIGKILLed at named points, then re-run on the damaged lake.

The kill points are hooks in the landing code (``$TENANTLAKE_CRASH_AT=stage:n``, see
:func:`tenantlake.landing.core.crash_point`), so each kill lands exactly where it is meant to —
no sleeps, no timing: mid-read (after the n-th frame), mid-Parquet-write (after the n-th row
group of a raw file), between write and rename (footer written, temp name), between rename and
ledger. After every kill each Parquet file in the lake must be readable and no key may appear
twice; the final uninterrupted run must leave the source's distinct keys exactly once, the
ledger and the lake consistent, and the counts equal to the source lines.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq
import pytest
from landing_helpers import D1, csv_source, make_tenant

from tenantlake import store

CHILD = r"""
import json, os, pathlib
from tenantlake.landing import core, land_tenant
from tenantlake.landing.sources import files
from tenantlake.settings import Home
from tenantlake.tenants import TenantConfig
files.CSV_BLOCK_BYTES = 1 << 16      # ~2,000 rows per frame: several frames per file
core.ROW_GROUP_ROWS = 1500           # several row groups per raw file
tenant = TenantConfig.model_validate(json.loads(os.environ["TL_TENANT"]))
rep = land_tenant(tenant, Home(pathlib.Path(os.environ["TENANTLAKE_HOME"])), run_gx=False)
e = rep.entities["order_lines"]
print(json.dumps({"in": e.rows_in, "landed": e.rows_landed, "held": e.rows_held,
                  "q": e.rows_quarantined, "dropped": e.rows_duplicate_dropped}))
"""

GOOD_FILES, ROWS, BAD_EVERY, COPIES = 3, 6000, 500, 20
HEADER = "order_id,line,sku,qty,price,order_date"


def _write_sources(drop) -> tuple[set[str], int, int]:
    """Three good files (a bad row every 500 and 20 exact copies each) and one file whose bad
    share blocks it. Returns (distinct good keys, bad rows of the good files, copies)."""
    keys: set[str] = set()
    bad = copies = 0
    for f in range(GOOD_FILES):
        lines = [HEADER]
        for i in range(f * ROWS, (f + 1) * ROWS):
            qty = "-1" if i % BAD_EVERY == 0 else str(i % 5 + 1)
            lines.append(f"O{i},1,SKU{i % 7},{qty},9.5,{D1}")
            if qty == "-1":
                bad += 1
            else:
                keys.add(f"O{i}")
        lines += lines[1:COPIES + 1]  # exact copies of the first rows
        # a copy of a bad row is quarantined like its original; of a good row, dropped
        bad += sum(",-1," in ln for ln in lines[1:COPIES + 1])
        copies += sum(",-1," not in ln for ln in lines[1:COPIES + 1])
        (drop / f"part{f}.csv").write_text("\n".join(lines) + "\n")
    blocked = [HEADER] + [f"X{i},1,S,{-1 if i % 2 else 1},1,{D1}" for i in range(400)]
    (drop / "zz-blocked.csv").write_text("\n".join(blocked) + "\n")
    return keys, bad, copies


def _run(env: dict, crash: str | None) -> subprocess.CompletedProcess:
    env = dict(env)
    env.pop("TENANTLAKE_CRASH_AT", None)
    if crash:
        env["TENANTLAKE_CRASH_AT"] = crash
    return subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=240)


def _parquet_files(home) -> list:
    return sorted(home.lake.rglob("*.parquet"))


def _check_lake(home) -> None:
    """Every visible Parquet file has its footer; no key is in raw twice."""
    for f in _parquet_files(home):
        pq.read_metadata(f)  # raises on a file without a footer
    raw = [str(f) for f in (home.lake / "raw" / "order_lines").rglob("*.parquet")]
    if raw:
        n, distinct = duckdb.sql("SELECT count(*), count(DISTINCT order_id) FROM "
                                 "read_parquet(?)", params=[raw]).fetchone()
        assert n == distinct, f"{n - distinct} duplicated key(s) in raw"


def _crash_and_recover(tl_home, drop, kills: list[str]) -> None:
    keys, bad, copies = _write_sources(drop)
    tenant = make_tenant({"erp": csv_source()}, quality={"max_bad_share": 0.3})
    env = {**os.environ, "TENANTLAKE_HOME": str(tl_home.root),
           "TL_TENANT": json.dumps(tenant.model_dump(mode="json"))}
    for kill in kills:
        res = _run(env, kill)
        assert res.returncode == -signal.SIGKILL, (kill, res.returncode, res.stderr[-2000:])
        _check_lake(tl_home)
    final = _run(env, None)
    assert final.returncode == 0, final.stderr[-3000:]
    _check_lake(tl_home)
    assert not list(tl_home.lake.rglob(".tmp-*"))

    # distinct keys in raw = the source's good keys, each once
    raw = [str(f) for f in (tl_home.lake / "raw" / "order_lines").rglob("*.parquet")]
    got = {k for (k,) in duckdb.sql("SELECT DISTINCT order_id FROM read_parquet(?)",
                                    params=[raw]).fetchall()}
    assert got == keys
    # the ledger and the lake agree: one row per file, landed ones in raw, the blocked in held
    entries = store.ledger_recent("acme", "order_lines", limit=100, url=tl_home.store_url)
    by_label = {e.source_label: e for e in entries}
    assert sorted(by_label) == [f"part{f}.csv" for f in range(GOOD_FILES)] + ["zz-blocked.csv"]
    assert len(entries) == GOOD_FILES + 1
    raw_batches = {f.stem for f in (tl_home.lake / "raw" / "order_lines").rglob("*.parquet")}
    held_batches = {f.stem for f in (tl_home.lake / "held" / "order_lines").rglob("*.parquet")}
    landed = {e.batch_id for e in entries if e.status == "landed"}
    blocked = {by_label["zz-blocked.csv"].batch_id}
    assert by_label["zz-blocked.csv"].status == "blocked"
    assert raw_batches == landed and held_batches == blocked
    # counts against the source lines: in = landed + quarantined + exact copies dropped
    good = [e for e in entries if e.status == "landed"]
    assert sum(e.rows_in for e in good) == GOOD_FILES * (ROWS + COPIES)
    assert sum(e.rows_landed for e in good) == len(keys)
    assert sum(e.rows_quarantined for e in good) == bad
    q = [str(f) for f in (tl_home.lake / "quarantine" / "order_lines").rglob("*.parquet")]
    assert duckdb.sql("SELECT count(*) FROM read_parquet(?)", params=[q]).fetchone()[0] == \
        bad + 200


#: A fresh run reaches mid_read 10 times (frames), mid_write 10 times (raw row groups),
#: before_rename and before_ledger 4 times (batches). Nothing is in the ledger before the gate
#: (all units are read first), so every kill before ``before_ledger`` meets the same state;
#: ``before_ledger:n`` records n-1 batches first, so the later kills count what is left.
CI_KILLS = ["mid_read:2", "mid_write:3", "before_rename:2", "before_ledger:2", "before_ledger:1"]
SLOW_KILLS = ([f"mid_read:{n}" for n in (1, 3, 5, 7, 10)]
              + [f"mid_write:{n}" for n in (1, 2, 4, 6, 8, 10)]
              + [f"before_rename:{n}" for n in (1, 2, 3, 4)]
              + ["mid_read:6", "mid_write:9"]
              # pending batches: 4 -> 4 -> 3 -> 3 -> 2 -> 1 -> 1
              + [f"before_ledger:{n}" for n in (1, 2, 1, 2, 2, 1)])


def test_crash_at_each_stage_then_recover(tl_home, drop):
    _crash_and_recover(tl_home, drop, CI_KILLS)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_crash_many_times_at_every_stage_then_recover(tl_home, drop):
    assert len(SLOW_KILLS) >= 20
    _crash_and_recover(tl_home, drop, SLOW_KILLS)
