"""Benchmark: training and scoring time and peak memory of the predictive models.

Builds a synthetic warehouse (``models_ml.synthetic``, the same generator the tests use, at a
larger scale), then runs each phase in its own child process so that every peak RSS
(``VmHWM``) belongs to that phase alone:

* ``train``: features at every cut-off, rolling-origin backtest, final fit, MLflow logging and
  registration of the shared model (all tenants share);
* ``score``: features as of the newest date for one tenant, prediction, SHAP reasons, Parquet.

Prints a table (and ``--json``) of seconds, labelled rows and peak RSS per model and phase.

``--short-history`` instead compares each classifier, at the same cut-offs and folds (each
tenant alone, windows sized from its own history), with simple references: churn against
recency alone, a logistic regression on recency, frequency and monetary value, and its
planner's rule; the other models against their planner's rule. Tenants: the demo tenants of a
project home that has run ``make demo`` (``--demo-home``, default the project home, skipped
when it has no warehouse) and generated orders-only tenants with 12 and 18 months of history.

Example::

    .venv/bin/python benchmarks/models.py --tenants 4 --customers 2000 --skus 150
    .venv/bin/python benchmarks/models.py --models churn --customers 10000 --json out.json
    .venv/bin/python benchmarks/models.py --short-history --customers 1500
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

MODELS = ("stockout", "churn", "project_failure", "late_payment")


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


def _auc_by_fold(oof, col: str) -> float:
    """Mean over folds of the within-tenant ROC-AUC (the backtest table's definition)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    vals = [roc_auc_score(g["label"], g[col]) for _, g in oof.groupby("fold")
            if g["label"].nunique() == 2]
    return float(np.mean(vals)) if vals else float("nan")


RFM = ("days_since_last_order", "orders_365d", "revenue_365d")


def _rfm_logit(train, test):
    """Logistic regression on log recency, frequency and monetary value (a fold's rows)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def X(df):
        return np.log1p(df[list(RFM)].fillna(0).clip(lower=0).to_numpy(dtype=float))

    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    lr.fit(X(train), train["label"].to_numpy())
    return lr.predict_proba(X(test))[:, 1]


def _short_history_rows(home, tenants: dict, models: list[str], source: str) -> list[dict]:
    from models_ml import SPECS
    from models_ml import framework as fw

    rows = []
    for tid, cfg in tenants.items():
        for name in models:
            spec = SPECS[name]
            t0 = time.perf_counter()
            with fw.warehouse(home) as con:
                frame = fw.build_frame(spec, con, [tid],
                                       tparams=fw.tenant_params_of(spec, {tid: cfg}))
            w = frame.attrs.get("windows")
            row = {"tenant": tid, "source": source, "model": name,
                   "history_days": w.span_days if w else 0, "rows": len(frame)}
            if w is None:
                rows.append({**row, "status": "no data"})
                continue
            if w.span_days < fw.min_span_days(spec):
                rows.append({**row, "status": fw.short_history_reason(spec, w)})
                continue
            bt = fw.backtest(spec, frame)
            if len(bt.folds) < spec.min_folds:
                rows.append({**row, "status": bt.reason or "too few folds"})
                continue
            oof = bt.oof
            refs = {"baseline rule": _auc_by_fold(oof, "s_baseline")}
            if name == "churn":
                oof = oof.assign(recency=oof["days_since_last_order"].fillna(1e6))
                refs["recency alone"] = _auc_by_fold(oof, "recency")
                parts = []
                for i, idx in zip(sorted(oof["fold"].unique()), bt.train_rows):
                    test = oof[oof["fold"] == i].copy()
                    test["p_rfm"] = _rfm_logit(frame.loc[idx], test)
                    parts.append(test)
                import pandas as pd

                refs["logistic RFM"] = _auc_by_fold(pd.concat(parts), "p_rfm")
            model_auc = _auc_by_fold(oof, "p_model")
            rows.append({**row, "status": "ok", "folds": len(bt.folds),
                         "cutoff_every_days": w.cutoff_every_days, "model_auc": model_auc,
                         **{f"{k}": v for k, v in refs.items()},
                         "lift_vs_best_reference": model_auc - max(refs.values()),
                         "lift_ci_vs_rule": [bt.lift.get("ci_low"), bt.lift.get("ci_high")],
                         "seconds": time.perf_counter() - t0})
    return rows


def short_history(args: argparse.Namespace) -> int:
    """Classifiers against simple references on short and demo histories (see the docstring)."""
    import logging
    import shutil

    logging.disable(logging.WARNING)
    from models_ml.synthetic import Shape, build_warehouse
    from tenantlake.settings import Home, home as project_home
    from tenantlake.tenants import TenantConfig, load_tenants

    root = args.keep or Path(tempfile.mkdtemp(prefix="tl-bench-short-"))
    rows: list[dict] = []
    gen = Home(root / "generated").ensure()
    shapes = {f"orders-only-{m}m": Shape(customers=args.customers, orders_minimal=True,
                                         days=int(m * 30.44))
              for m in (12, 18)}
    build_warehouse(gen.warehouse, shapes, seed=args.seed)
    cfgs = {t: TenantConfig(id=t, display_name=t, partner={"id": "p", "name": "P"},
                            industry="distribution", reporting_currency="EUR")
            for t in shapes}
    rows += _short_history_rows(gen, cfgs, ["churn"], "generated")
    demo = Home(args.demo_home) if args.demo_home else project_home()
    if demo.warehouse.exists():
        copy = Home(root / "demo").ensure()  # never hold a lock on a running project's file
        shutil.copy(demo.warehouse, copy.warehouse)
        tenants = load_tenants()
        rows += _short_history_rows(copy, tenants, [m for m in args.models], "demo")
    else:
        print(f"no warehouse at {demo.warehouse}: demo tenants skipped (run `make demo`)")
    cols = ("model_auc", "baseline rule", "recency alone", "logistic RFM")
    print(f"\n{'tenant':<26}{'model':<16}{'days':>5}{'folds':>6}"
          + "".join(f"{c:>15}" for c in cols) + f"{'lift vs best':>14}  rule-lift 95% CI")
    for r in rows:
        head = f"{r['tenant']:<26}{r['model']:<16}{r['history_days']:>5}"
        if r["status"] != "ok":
            print(f"{head}{'-':>6}  {r['status']}")
            continue
        vals = "".join(f"{r[c]:>15.3f}" if c in r else f"{'-':>15}" for c in cols)
        ci = r["lift_ci_vs_rule"]
        ci_txt = f"{ci[0]:+.3f} to {ci[1]:+.3f}" if ci[0] is not None else "-"
        print(f"{head}{r['folds']:>6}{vals}{r['lift_vs_best_reference']:>+14.3f}  {ci_txt}")
    if args.json:
        args.json.write_text(json.dumps({"short_history": rows}, indent=1, default=str))
    return 0


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
    ap.add_argument("--short-history", action="store_true",
                    help="Compare each classifier with simple references on short histories "
                         "(generated 12- and 18-month orders-only tenants) and the demo tenants.")
    ap.add_argument("--demo-home", type=Path,
                    help="Project home whose warehouse holds the demo tenants (default: "
                         "TENANTLAKE_HOME or the project's .tenantlake).")
    ap.add_argument("--seed", type=int, default=7, help="Seed of the generated tenants.")
    # internal: one phase in a child process
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--phase", choices=("train", "score"), help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    if args.short_history:
        return short_history(args)

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
