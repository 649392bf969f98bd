"""Benchmark: training and scoring time and peak memory of the predictive models.

Builds a synthetic warehouse (``models_ml.synthetic``, the same generator the tests use, at a
larger scale), then runs each phase in its own child process so that every peak RSS
(``VmHWM``) belongs to that phase alone:

* ``train``: features at every cut-off, rolling-origin backtest, final fit, MLflow logging and
  registration of the shared model (all tenants share);
* ``score``: features as of the newest date for one tenant, prediction, SHAP reasons, Parquet.

Prints a table (and ``--json``) of seconds, labelled rows and peak RSS per model and phase.

Example::

    .venv/bin/python benchmarks/models.py --tenants 4 --customers 2000 --skus 150
    .venv/bin/python benchmarks/models.py --models churn --customers 10000 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODELS = ("stockout", "churn", "project_failure")


def _tenants(n: int) -> dict:
    from tenantlake.tenants import TenantConfig

    return {f"bench-{i:02d}": TenantConfig(
        id=f"bench-{i:02d}", display_name=f"Bench {i}", partner={"id": "p", "name": "P"},
        industry="distribution", reporting_currency="EUR", share_training_data=True)
        for i in range(n)}


def _peak_rss_mb() -> float:
    """This process's peak RSS. ``VmHWM`` rather than ``ru_maxrss``: Linux carries
    ``ru_maxrss`` over ``fork``/``exec``, so a child would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(args: argparse.Namespace) -> None:
    """Run one phase in this process and print its measurements as JSON on stdout."""
    import datetime as dt
    import logging

    logging.disable(logging.WARNING)
    from models_ml import SPECS
    from models_ml import framework as fw
    from tenantlake.settings import Home

    home = Home(Path(args.home))
    spec = SPECS[args.model]
    params = {"num_threads": args.threads}
    tenants = _tenants(args.tenants)
    t0 = time.perf_counter()
    out: dict = {"model": args.model, "phase": args.phase}
    if args.phase == "train":
        res = fw.train(spec, home, tenants, params=params)
        run = res.runs[0]
        out.update(rows=run.rows, status=run.status, reason=run.reason)
        out["seconds"] = time.perf_counter() - t0
        if run.status == "trained":
            d = fw.promote(spec, home)
            out.update(promoted=d.promoted, roc_auc_model=d.challenger,
                       roc_auc_baseline=d.baseline)
    else:
        tenant = next(iter(tenants.values()))
        as_of = fw.latest_data_date(spec, home, tenant.id) or dt.date.today()
        try:
            res = fw.score(spec, home, tenant, as_of)
        except fw.NoChampionError:
            out.update(rows=0, seconds=0.0, status="no champion")
        else:
            out.update(rows=res.rows, seconds=time.perf_counter() - t0)
    out["peak_rss_mb"] = _peak_rss_mb()
    print("RESULT " + json.dumps(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("Example::")[1])
    ap.add_argument("--tenants", type=int, default=3, help="Synthetic tenants (all sharing).")
    ap.add_argument("--customers", type=int, default=2000, help="Customers per tenant (churn).")
    ap.add_argument("--skus", type=int, default=100, help="SKUs per tenant (stockout).")
    ap.add_argument("--locations", type=int, default=3, help="Locations per tenant (stockout).")
    ap.add_argument("--projects", type=int, default=200, help="Projects per tenant.")
    ap.add_argument("--days", type=int, default=730, help="Days of history.")
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS),
                    help="Models to benchmark.")
    ap.add_argument("--threads", type=int, default=1, help="LightGBM threads.")
    ap.add_argument("--keep", type=Path, help="Keep the benchmark home here (default: temp).")
    ap.add_argument("--json", type=Path, help="Also write the results to this JSON file.")
    # internal: one phase in a child process
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--phase", choices=("train", "score"), help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args)
        return 0

    from models_ml.synthetic import Shape, build_warehouse
    from tenantlake.settings import TELEMETRY_OFF, Home

    root = args.keep or Path(tempfile.mkdtemp(prefix="tl-bench-models-"))
    home = Home(root / "home").ensure()
    shape = Shape(customers=args.customers, skus=args.skus, locations=args.locations,
                  projects=args.projects, days=args.days)
    t0 = time.perf_counter()
    build_warehouse(home.warehouse, {t: shape for t in _tenants(args.tenants)})
    gen_s = time.perf_counter() - t0
    size_mb = home.warehouse.stat().st_size / 2**20
    print(f"warehouse: {args.tenants} tenants x ({args.customers} customers, "
          f"{args.skus}x{args.locations} SKU-locations, {args.projects} projects, "
          f"{args.days} days) = {size_mb:.0f} MB in {gen_s:.1f}s  [{home.root}]")
    env = {**os.environ, **TELEMETRY_OFF, "PYTHONPATH": str(ROOT)}
    results = []
    for model in args.models:
        for phase in ("train", "score"):
            cmd = [sys.executable, __file__, "--child", "--phase", phase, "--model", model,
                   "--home", str(home.root), "--tenants", str(args.tenants),
                   "--threads", str(args.threads)]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if proc.returncode or line is None:
                print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
                return 1
            results.append(json.loads(line[7:]))
    print(f"\n{'model':<16}{'phase':<7}{'rows':>10}{'seconds':>10}{'peak RSS MB':>13}  notes")
    for r in results:
        note = (f"ROC-AUC {r['roc_auc_model']:.3f} vs baseline {r['roc_auc_baseline']:.3f}"
                if "roc_auc_model" in r else r.get("reason") or r.get("status", ""))
        print(f"{r['model']:<16}{r['phase']:<7}{r['rows']:>10}{r['seconds']:>10.1f}"
              f"{r['peak_rss_mb']:>13.0f}  {note}")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "warehouse_mb": size_mb, "generate_s": gen_s,
                                         "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
