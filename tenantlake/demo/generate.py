"""Write the demo tenants' exports into their drop folders (see :mod:`tenantlake.demo`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.machinery
import json
import logging
import multiprocessing as mp
import shutil
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tenantlake.demo import tenant_yaml
from tenantlake.demo.dialects import DIALECTS, write_frame
from tenantlake.demo.profiles import DEMO_TENANTS, PROFILES, scaled
from tenantlake.demo.sim import TenantSim
from tenantlake.tenants import TenantConfig, validate_tenant_id

log = logging.getLogger(__name__)

DEFAULT_DAYS = 730
_DIALECT_CYCLE = ("northwind", "bluepeak", "harbor")


@dataclass(frozen=True)
class TenantPlan:
    tenant_id: str
    dialect: str
    index: int


def plan_tenants(n: int | None = None) -> list[TenantPlan]:
    """The three demo tenants, then ``scale-0004``... cycling through the three dialects."""
    n = 3 if n is None else n
    if n < 1:
        raise ValueError("--tenants must be at least 1")
    out = []
    for i in range(n):
        if i < 3:
            tid = list(DEMO_TENANTS)[i]
            out.append(TenantPlan(tid, DEMO_TENANTS[tid], i))
        else:
            out.append(TenantPlan(f"scale-{i + 1:04d}", _DIALECT_CYCLE[i % 3], i))
    return out


def generate(home: Path, tenants_dir: Path | None = None, seed: int = 7,
             end_date: dt.date | None = None, scale: float = 1.0, *,
             tenants: int | None = None, customers: int | None = None,
             skus: int | None = None, days: int | None = None,
             workers: int = 1) -> dict[str, dict[str, int]]:
    """Generate demo tenants' exports; return rows written per tenant and entity.

    ``home`` is the project home: files go to ``TenantConfig.drop_dir(home)``
    (``<home>/drops/<tenant_id>/``), replacing what an earlier run left there. ``tenants_dir``
    receives every generated tenant's YAML; when it is ``None`` the three demo tenants use the
    repository's ``tenants/`` files (not rewritten) and extra scale tenants go to
    ``<home>/tenants``. Output is byte-identical for the same (seed, end_date, sizes).

    Example::

        generate(Path(".tenantlake"), seed=7, end_date=date(2026, 11, 24), scale=0.2)
    """
    home = Path(home)
    end = end_date or dt.date.today()
    n_days = days or DEFAULT_DAYS
    if n_days < 60:
        raise ValueError("--days must be at least 60 (churn and lead times need history)")
    plans = plan_tenants(tenants)
    extra_dir = Path(tenants_dir) if tenants_dir else home / "tenants"
    jobs = []
    for pl_ in plans:
        validate_tenant_id(pl_.tenant_id)
        if tenants_dir is not None or pl_.tenant_id not in DEMO_TENANTS:
            tenant_yaml.write(extra_dir, pl_.tenant_id, pl_.dialect)
        cfg = TenantConfig.model_validate(tenant_yaml.tenant_dict(pl_.tenant_id, pl_.dialect))
        jobs.append((pl_, cfg.drop_dir(home), seed, end, n_days, scale, customers, skus,
                     home / "demo_truth" / pl_.tenant_id))
    t0 = time.perf_counter()
    results: dict[str, dict[str, int]] = {}
    if workers > 1 and len(jobs) > 1:
        # spawn, not fork: forking a process whose polars/Arrow thread pools are running can
        # deadlock the child.
        with _main_not_rerun(), ProcessPoolExecutor(
                max_workers=workers, mp_context=mp.get_context("spawn")) as ex:
            for tid, counts in ex.map(_generate_one, jobs):
                results[tid] = counts
    else:
        for job in jobs:
            tid, counts = _generate_one(job)
            results[tid] = counts
    log.info("demo: %d tenant(s) generated in %.1fs", len(results), time.perf_counter() - t0)
    return results


@contextlib.contextmanager
def _main_not_rerun() -> Iterator[None]:
    """Keep spawned workers from re-running the parent's ``__main__`` file.

    A spawned worker re-imports the parent's main script unless ``__main__.__spec__`` names
    ``__main__``. Hosts that leave some script as ``__main__`` (Streamlit's AppTest leaves the
    app page there; a notebook) would have every worker run that script and die. The workers
    only need this module, so the parent's main is marked "nothing to re-run" while they start.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)
    try:
        yield
    finally:
        main.__spec__ = None


def _generate_one(job) -> tuple[str, dict[str, int]]:
    plan, drop, seed, end, n_days, scale, customers, skus, truth = job
    t0 = time.perf_counter()
    prof = scaled(PROFILES[plan.dialect], scale, customers, skus)
    dialect = DIALECTS[plan.dialect]
    if drop.exists():
        shutil.rmtree(drop)
    drop.mkdir(parents=True)
    sim = TenantSim(plan.tenant_id, prof, end, n_days, seed, timezone=dialect.timezone)
    specs = {s.frame: s for s in dialect.files if s.frame in prof.entities}
    counts: dict[str, int] = {e: 0 for e in prof.entities}

    def emit(frames: dict, month: str | None) -> None:
        for entity, df in frames.items():
            spec = specs.get(entity)
            if spec is None or not len(df):
                continue
            rel = spec.out
            if spec.monthly:
                label = dt.datetime.strptime(month, "%Y-%m-%d").strftime(dialect.month_fmt)
                rel = rel.replace("{month}", label)
            write_frame(dialect, spec, df, drop / rel)
            counts[entity] += len(df)
            if spec.frame == "order_lines" and "shipments" in spec.fed():
                counts["shipments"] += int(df["_shipment_id"].notna().groupby(
                    df["order_id"]).any().sum())

    emit(sim.master(), None)
    for month, frames in sim.months():
        emit(frames, month)
    emit(sim.final(), None)
    _write_truth(truth, sim)
    log.info("tenant %s: demo exports (%s dialect) written to %s in %.1fs: %s", plan.tenant_id,
             plan.dialect, drop, time.perf_counter() - t0,
             ", ".join(f"{k}={v}" for k, v in counts.items()))
    return plan.tenant_id, counts


def _write_truth(folder: Path, sim: TenantSim) -> None:
    """The planted ground truth (for checking models and tests; never landed)."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    c = pd.DataFrame({
        "customer_id": sim.c_id, "churner": sim.c_churn,
        "churn_date": sim.day_to_date(pd.Series(sim.c_churn_day).where(sim.c_churn)),
        "decline_days": sim.c_decline_len, "abrupt": sim.c_abrupt & sim.c_churn,
        "temporary_dip": sim.c_dip_start < 10 ** 8,
    })
    c.to_csv(folder / "customers.csv", index=False)
    s = pd.DataFrame({
        "sku": sim.s_id, "lead_time_days": sim.s_lead,
        "supplier_lead_cv": sim.sup_cv[sim.s_sup], "supplier_late_prob": sim.sup_late[sim.s_sup],
        "low_safety_stock": sim.s_lowss, "promo_days": sim.is_promo.sum(axis=1),
    })
    s.to_csv(folder / "skus.csv", index=False)
    p = sim.projects[["project_id", "_risk", "_fail", "_delay", "status"]].rename(
        columns=lambda x: x.lstrip("_"))
    p.to_csv(folder / "projects.csv", index=False)
    (folder / "README.json").write_text(json.dumps({
        "tenant_id": sim.tenant_id, "start": sim.start.isoformat(), "end": sim.end.isoformat(),
        "note": "planted causes; see tenantlake.demo module docstring"}, indent=1))
