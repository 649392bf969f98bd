"""Benchmark: tenantlake landing vs a plain DuckDB CSV -> Parquet copy of the same exports.

Generates ``--rows`` order lines spread over ``--tenants`` tenants (one CSV export per tenant,
written in streaming chunks), then, each in its own child process:

* ``tenantlake``: ``land_tenant`` for every tenant (mapping, coercion, row validation,
  quarantine, dedup, atomic writes, ledger, quality gate, GX on a sample);
* ``duckdb``: ``COPY (SELECT * FROM read_csv(?)) TO ? (FORMAT parquet)`` per file.

Prints rows/s of both, the ratio and each child's peak RSS (``ru_maxrss``).

Example::

    .venv/bin/python benchmarks/landing.py --rows 3000000 --tenants 10
    .venv/bin/python benchmarks/landing.py --rows 200000 --keep /tmp/bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHUNK = 500_000


def generate(drops: Path, rows: int, tenants: int, bad_every: int, seed: int = 1) -> list[Path]:
    """Write one order-lines CSV per tenant, in chunks (memory independent of ``rows``)."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    today = dt.date.today()
    files = []
    per = rows // tenants
    for t in range(tenants):
        n_t = per + (rows - per * tenants if t == tenants - 1 else 0)
        folder = drops / f"bench-{t:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "order_lines.csv"
        with open(path, "wb") as fh:
            done = 0
            while done < n_t:
                n = min(CHUNK, n_t - done)
                idx = np.arange(done, done + n)
                qty = rng.integers(1, 50, n).astype(float)
                if bad_every:
                    qty[(idx % bad_every) == bad_every - 1] = -1  # a few rows break min_value
                days = rng.integers(0, 30, n)
                frame = pl.DataFrame({
                    "order_no": [f"SO{t:02d}-{i // 4:09d}" for i in idx.tolist()],
                    "line": (idx % 4 + 1),
                    "sku": [f"SKU-{s:05d}" for s in rng.integers(0, 20_000, n).tolist()],
                    "qty": qty,
                    "shipped": rng.integers(0, 50, n),
                    "price": np.round(rng.uniform(1, 500, n), 2),
                    "discount": np.round(rng.uniform(0, 0.3, n), 3),
                    "location": [f"WH{s}" for s in rng.integers(0, 8, n).tolist()],
                    "order_date": pl.Series([today - dt.timedelta(days=int(d))
                                             for d in days.tolist()]),
                    "promo": rng.integers(0, 2, n).astype(bool),
                })
                frame.write_csv(fh, include_header=(done == 0))
                done += n
        files.append(path)
    return files


def _tenant(i: int):
    from tenantlake.tenants import TenantConfig

    return TenantConfig.model_validate({
        "id": f"bench-{i:02d}", "display_name": f"Bench {i}", "industry": "distribution",
        "partner": {"id": "bench", "name": "Bench"}, "reporting_currency": "EUR",
        "quality": {"max_bad_share": 0.05},
        "sources": {"erp": {"kind": "file", "path": "order_lines.csv", "format": "csv",
                            "entities": {"order_lines": {"columns": {
                                "order_id": "order_no", "line_number": "line", "sku": "sku",
                                "quantity_ordered": "qty", "quantity_shipped": "shipped",
                                "unit_price": "price", "discount_pct": "discount",
                                "location_id": "location", "order_date": "order_date",
                                "is_promo": "promo"},
                                "expressions": {"net_amount":
                                                "qty * price * (1 - discount)"}}}}}})


def child_land(work: Path, tenants: int, run_gx: bool = True) -> dict:
    from tenantlake.landing import land_tenant
    from tenantlake.settings import Home

    home = Home(work / "home").ensure()
    shutil.rmtree(home.lake, ignore_errors=True)  # a kept work folder re-lands from scratch
    (home.root / "ops.db").unlink(missing_ok=True)
    import_seconds = 0.0
    if run_gx:
        # A Dagster worker imports Great Expectations once per process; measure that one-time
        # cost separately from the landing throughput.
        t_imp = time.perf_counter()
        from tenantlake.landing.gate import load_expectations

        load_expectations()._get_context()
        import_seconds = time.perf_counter() - t_imp
    t0, c0 = time.perf_counter(), time.process_time()
    rows = landed = quarantined = 0
    gates = []
    gx_seconds = 0.0
    for i in range(tenants):
        rep = land_tenant(_tenant(i), home, run_gx=run_gx).entities["order_lines"]
        gx_seconds += sum(c.metadata.get("seconds", 0) for c in rep.gate.checks
                          if c.name == "great_expectations")
        rows += rep.rows_in
        landed += rep.rows_landed
        quarantined += rep.rows_quarantined
        gates.append(rep.gate.passed)
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0,
            "rows": rows, "landed": landed,
            "quarantined": quarantined, "gates_passed": all(gates), "gx_seconds": gx_seconds,
            "gx_import_seconds": import_seconds}


def child_duckdb(work: Path, tenants: int) -> dict:
    import duckdb

    out = work / "duckdb"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(exist_ok=True)
    con = duckdb.connect()
    t0, c0 = time.perf_counter(), time.process_time()
    rows = 0
    for i in range(tenants):
        src = work / "home" / "drops" / f"bench-{i:02d}" / "order_lines.csv"
        dst = out / f"bench-{i:02d}.parquet"
        con.execute("COPY (SELECT * FROM read_csv(?)) TO '" + str(dst).replace("'", "''")
                    + "' (FORMAT parquet)", [str(src)])
        rows += con.execute("SELECT count(*) FROM read_parquet(?)", [str(dst)]).fetchone()[0]
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "rows": rows}


def _run_child(kind: str, work: Path, tenants: int, no_gx: bool = False) -> dict:
    env = {**os.environ, "TENANTLAKE_HOME": str(work / "home")}
    env.pop("TENANTLAKE_STORE_URL", None)
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--work", str(work),
                           "--tenants", str(tenants)] + (["--no-gx"] if no_gx else []), env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{kind} child failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--rows", type=int, default=3_000_000, help="order lines in total")
    ap.add_argument("--tenants", type=int, default=10, help="tenants (one CSV each)")
    ap.add_argument("--bad-every", type=int, default=1000,
                    help="every Nth row has a negative quantity (0: none)")
    ap.add_argument("--no-gx", action="store_true",
                    help="land without the Great Expectations suite (default: GX on a sample of "
                         "10,000 rows per batch)")
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: temp, removed)")
    ap.add_argument("--child", choices=["land", "duckdb"], help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        res = (child_land(args.work, args.tenants, run_gx=not args.no_gx)
               if args.child == "land" else child_duckdb(args.work, args.tenants))
        res["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(res))
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="tl-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        files = generate(work / "home" / "drops", args.rows, args.tenants, args.bad_every)
        size = sum(f.stat().st_size for f in files)
        print(f"generated {args.rows:,} rows in {len(files)} CSV files ({size / 1e6:,.0f} MB) "
              f"in {time.perf_counter() - t0:.1f}s")
        load0 = os.getloadavg()[0]
        duck = _run_child("duckdb", work, args.tenants)
        land = _run_child("land", work, args.tenants, args.no_gx)
        load1 = os.getloadavg()[0]
        d_rps = duck["rows"] / duck["seconds"]
        l_rps = land["rows"] / land["seconds"]
        print(f"duckdb     : {duck['rows']:>12,} rows in {duck['seconds']:7.2f}s = "
              f"{d_rps:>12,.0f} rows/s, peak RSS {duck['max_rss_mb']:,.0f} MB")
        print(f"tenantlake : {land['rows']:>12,} rows in {land['seconds']:7.2f}s = "
              f"{l_rps:>12,.0f} rows/s, peak RSS {land['max_rss_mb']:,.0f} MB "
              f"(landed {land['landed']:,}, quarantined {land['quarantined']:,}, "
              f"gates passed: {land['gates_passed']}; GX suites {land['gx_seconds']:.1f}s of it; "
              f"one-time GX import before the clock: {land['gx_import_seconds']:.1f}s)")
        print(f"ratio      : {l_rps / d_rps:.2f}x DuckDB throughput")
        # On a shared machine wall-clock throughput depends on what else runs; CPU seconds
        # (all threads of each child) show the work each one needs.
        print(f"cpu        : duckdb {duck['cpu']:.1f} s, tenantlake {land['cpu']:.1f} s "
              f"(GX included); rows per CPU-second ratio {duck['cpu'] / land['cpu']:.2f}x; "
              f"load average {load0:.1f} -> {load1:.1f} on {os.cpu_count()} CPUs")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
