"""The quality gate of one (tenant, entity) in one landing run.

Blocking checks (a failure blocks everything downstream for this tenant alone):

* ``required_columns`` — a unit lacks a required canonical column (its rows are quarantined
  with rule ``missing_required_column`` and it is not recorded, so it fails again until fixed);
* ``readable_units`` — a file was refused (symlink/glob escape) or could not be read;
* ``bad_share`` — quarantined / rows_in above ``quality.max_bad_share``;
* ``row_count`` — a new batch has fewer than ``quality.min_row_ratio`` x the median rows of the
  recent ledger batches (history before this run; no history, no verdict);
* ``freshness`` — the newest event date landed is older than the entity's limit in
  ``quality.freshness_hours`` (its own key, else ``default``). Freshness is an SLA the operator
  agrees with the tenant: where none is set, the age is reported but does not block (a
  historical export or a slow-moving entity is not an error by itself);
* ``great_expectations`` — the GX suite (contract + tenant extras) on each landed batch.

Non-blocking: ``schema_drift`` (new source columns, kept in the ``<entity>__drift`` sidecar) and
``missing_optional_columns`` (landed as typed nulls).

GX is slow per row, so it runs on every row of batches up to ``gx_sample_rows`` rows and on a
uniform random sample of that size above (bottom-k on a random key, bounded memory).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import polars as pl

from tenantlake.contracts import get_contract
from tenantlake.landing.report import CheckResult, EntityReport, GateResult

if TYPE_CHECKING:
    from tenantlake.tenants import TenantConfig


class GxSampler:
    """A uniform sample of at most ``size`` landed rows of one batch (bottom-k sampling)."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.seen = 0
        self.frame: pl.DataFrame | None = None
        self._seed = seed

    def add(self, rows: pl.DataFrame) -> None:
        if self.size <= 0 or rows.height == 0:
            return
        self.seen += rows.height
        self._seed += 1
        keyed = rows.with_columns(pl.int_range(pl.len()).shuffle(seed=self._seed)
                                  .cast(pl.Float64).alias("__k") / max(rows.height, 1))
        if rows.height > self.size:
            keyed = keyed.top_k(self.size, by="__k", reverse=True)
        merged = keyed if self.frame is None else pl.concat([self.frame, keyed])
        if merged.height > self.size:
            merged = merged.top_k(self.size, by="__k", reverse=True)
        self.frame = _owned(merged)

    @property
    def sampled(self) -> bool:
        return self.seen > self.size

    def sample(self) -> pl.DataFrame | None:
        return None if self.frame is None else self.frame.drop("__k")


def _owned(frame: pl.DataFrame) -> pl.DataFrame:
    """A copy of ``frame`` whose strings own their bytes.

    Why: polars strings are views into the buffers of the frame they were taken from, so a
    10k-row sample drawn from every frame of a batch kept every frame's string buffers alive
    (peak memory grew with the file: ~90 MB more at 6M rows). The copy costs ~1 ms per frame.
    """
    out = pl.from_arrow(frame.to_arrow())
    assert isinstance(out, pl.DataFrame)
    return out


def load_expectations():
    """The project's top-level ``expectations`` package (contract-derived GX suites).

    It ships with the project (pyproject includes ``expectations*``), but an editable install
    made before the folder existed does not map it, and a test folder of the same name on
    ``sys.path`` would import as an empty namespace package; in both cases load it from the
    checkout by path.
    """
    import importlib
    import importlib.util
    import sys

    try:
        mod = importlib.import_module("expectations")
        if hasattr(mod, "run_suite"):
            return mod
    except ModuleNotFoundError as exc:
        if exc.name != "expectations":
            raise
    from tenantlake.settings import PROJECT_ROOT

    init = PROJECT_ROOT / "expectations" / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "expectations", init, submodule_search_locations=[str(init.parent)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["expectations"] = mod
    spec.loader.exec_module(mod)
    return mod


#: Small batches are validated together, up to this many rows per GX run (GX costs ~0.2 s per
#: run whatever its size: 200 monthly files were 50 s of suite overhead one by one).
GX_GROUP_ROWS = 100_000


def _groups(frames: list[tuple[str, pl.DataFrame]]) -> list[list[tuple[str, pl.DataFrame]]]:
    groups: list[list[tuple[str, pl.DataFrame]]] = [[]]
    rows = 0
    for item in frames:
        if groups[-1] and rows + item[1].height > GX_GROUP_ROWS:
            groups.append([])
            rows = 0
        groups[-1].append(item)
        rows += item[1].height
    return [g for g in groups if g]


def run_gx_check(tenant: TenantConfig, entity: str, batches: list[tuple[str, GxSampler]]
                 ) -> CheckResult:
    """Run the GX suite on each batch's rows (or sample) and summarise it as one check.

    Without tenant extras, the contract suite holds row by row (not-null, allowed values,
    ranges) or per key (uniqueness), so batches that pass together pass one by one: small
    batches are validated in groups, and only a failing group is re-run batch by batch to
    name the batch. A tenant's extra expectations may be aggregates (a mean, a row count), so
    with extras every batch is validated on its own.
    """
    gxmod = load_expectations()
    ExpectationConfigError, run_suite = gxmod.ExpectationConfigError, gxmod.run_suite
    import time

    started = time.perf_counter()
    extra = tenant.quality.extra_expectations.get(entity, [])
    failures: list[dict[str, Any]] = []
    kept = [(bid, s) for bid, s in batches if s.frame is not None]
    frames = [(bid, s.sample()) for bid, s in kept]
    evaluated = len(frames)
    sampled = sum(int(s.sampled) for _, s in kept)
    groups = _groups(frames) if not extra else [[f] for f in frames]
    gx_runs = 0
    try:
        for group in groups:
            if len(group) > 1:
                gx_runs += 1
                together = pl.concat([df for _, df in group], how="vertical_relaxed")
                if run_suite(entity, together.to_pandas(), extra=extra).success:
                    continue
            for batch_id, df in group:  # one batch, or a failing group: name the batch
                gx_runs += 1
                res = run_suite(entity, df.to_pandas(), extra=extra)
                failures.extend({"batch_id": batch_id, **f} for f in res.failed)
    except ExpectationConfigError as exc:
        return CheckResult("great_expectations", False, True,
                           f"tenant {tenant.id!r}: quality.extra_expectations.{entity}: {exc}")
    desc = (f"GX suite on {evaluated} batch(es) ({sampled} on a sample of "
            f"{batches[0][1].size if batches else 0} rows) in {gx_runs} run(s)")
    if failures:
        desc += ": failed " + "; ".join(
            f"{f['type']}({f['kwargs'].get('column') or f['kwargs'].get('column_list')}) "
            f"unexpected={f['unexpected_count']}" for f in failures[:5])
    return CheckResult("great_expectations", not failures, True, desc,
                       {"batches": evaluated, "sampled_batches": sampled, "gx_runs": gx_runs,
                        "seconds": round(time.perf_counter() - started, 3),
                        "failures": failures[:20]})


def _batch_checks(tenant: TenantConfig, entity: str, new_batches: list[dict],
                  history_median: float | None, max_event: object,
                  gx: CheckResult | None, now: dt.datetime) -> dict[str, dict[str, str]]:
    """Blocking failures per new batch: ``{batch_id: {check: description}}``.

    Why per batch: a batch counts as landed only when its own gate passes, so one bad file is
    held back while the good files of the same run land. Freshness is the exception: it is a
    property of the entity (is its newest event recent enough?); when it fails, every new
    batch of the run is stale with it.
    """
    q = tenant.quality
    out: dict[str, dict[str, str]] = {}

    def fail(b: dict, check: str, desc: str) -> None:
        out.setdefault(b["batch_id"], {})[check] = desc

    for b in new_batches:
        if b.get("missing_required"):
            fail(b, "required_columns",
                 f"tenant {tenant.id!r}, entity {entity!r}, {b['label']}: required column(s) "
                 f"missing: {', '.join(b['missing_required'])}")
        n, bad = b["rows_in"], b.get("rows_quarantined", 0)
        share = bad / n if n else 0.0
        if share > q.max_bad_share:
            fail(b, "bad_share", f"{b['label']}: {bad} of {n} rows quarantined ({share:.1%}; "
                                 f"limit {q.max_bad_share:.1%} in quality.max_bad_share)")
        if history_median and n < q.min_row_ratio * history_median:
            fail(b, "row_count", f"{b['label']} ({n} rows) collapsed below "
                                 f"{q.min_row_ratio:.0%} of the recent median "
                                 f"{history_median:g} rows (quality.min_row_ratio)")
    ev = get_contract(entity).event_date
    limit = q.freshness_limit(entity)
    if ev and max_event is not None and limit is not None:
        age = _age_hours(max_event, now)
        if age > limit:
            for b in new_batches:
                if b.get("rows_landed", 1):
                    fail(b, "freshness", f"newest {ev} landed is {max_event} ({age:.0f} h old; "
                                         f"limit {limit:g} h in quality.freshness_hours)")
    if gx is not None:
        labels = {b["batch_id"]: b["label"] for b in new_batches}
        per: dict[str, list[str]] = {}
        for f in gx.metadata.get("failures", []):
            per.setdefault(f["batch_id"], []).append(
                f"{f['type']}({f['kwargs'].get('column') or f['kwargs'].get('column_list')}) "
                f"unexpected={f['unexpected_count']}")
        if not gx.passed and not per:  # a suite that could not run fails every batch
            per = {b["batch_id"]: [gx.description] for b in new_batches}
        for bid, items in per.items():
            if bid in labels:
                fail({"batch_id": bid}, "great_expectations",
                     f"{labels[bid]}: GX suite failed: " + "; ".join(items[:5]))
    return out


def _age_hours(max_event: object, now: dt.datetime) -> float:
    latest = max_event if isinstance(max_event, dt.datetime) else dt.datetime.combine(
        max_event, dt.time()) + dt.timedelta(days=1)
    return (now - latest).total_seconds() / 3600


def evaluate_gate(tenant: TenantConfig, rep: EntityReport, *, new_batches: list[dict],
                  history_median: float | None, max_event: object, unit_errors: list[str],
                  gx: CheckResult | None, now: dt.datetime,
                  blocked_before: list[dict] | None = None,
                  missing_required: dict[str, list[str]] | None = None) -> GateResult:
    """Build the gate of one entity from what the run saw (see module docstring).

    ``new_batches`` are this run's batches (``batch_id``, ``label``, ``rows_in``,
    ``rows_quarantined``, ``rows_landed``, ``missing_required``); ``blocked_before`` the batches
    earlier runs blocked and nobody released or replaced (``batch_id``, ``label``, ``reasons``:
    [{check, description}]). The result's ``blocked`` maps each new batch that failed to its
    reasons; the blocking checks fail while any batch, new or earlier, is blocked for them,
    with the same words every run.
    """
    q = tenant.quality
    gate = GateResult()
    per_batch = _batch_checks(tenant, rep.entity, new_batches, history_median, max_event, gx,
                              now)
    gate.blocked = {bid: [{"check": c, "description": d} for c, d in fails.items()]
                    for bid, fails in per_batch.items()}
    failing: dict[str, list[str]] = {}
    for b in blocked_before or []:
        for r in b["reasons"]:
            failing.setdefault(r["check"], []).append(r["description"])
    for fails in per_batch.values():
        for c, d in fails.items():
            failing.setdefault(c, []).append(d)
    held = [b["batch_id"] for b in blocked_before or []]

    def add(name: str, ok_desc: str, metadata: dict | None = None) -> None:
        descs = list(dict.fromkeys(failing.get(name, [])))
        gate.add(CheckResult(name, not descs, True, "; ".join(descs) if descs else ok_desc,
                             {**(metadata or {}), **({"blocked_batches": held} if held else {})}))

    add("required_columns", "every unit has the required columns",
        {"units": missing_required or {}})
    gate.add(CheckResult(
        "readable_units", not unit_errors, True,
        "every unit was readable" if not unit_errors else "; ".join(unit_errors[:5]),
        {"errors": unit_errors[:20]}))
    share = rep.rows_quarantined / rep.rows_in if rep.rows_in else 0.0
    add("bad_share", f"every batch within the bad-row limit {q.max_bad_share:.1%} (this run: "
                     f"{rep.rows_quarantined} of {rep.rows_in} rows quarantined)",
        {"bad_share": share, "max_bad_share": q.max_bad_share})
    add("row_count", f"batch sizes within {q.min_row_ratio:.0%} of the recent median "
                     f"{history_median:g}" if history_median and new_batches else
        "no history or no new batch: nothing to compare",
        {"median_rows": history_median, "batches": [b["rows_in"] for b in new_batches]})
    ev = get_contract(rep.entity).event_date
    limit = q.freshness_limit(rep.entity)
    if ev and max_event is not None:
        age = _age_hours(max_event, now)
        sla = (f"limit {limit:g} h" if limit is not None else
               f"no freshness SLA set for {rep.entity} in quality.freshness_hours, so not blocking")
        desc = f"newest {ev} landed is {max_event} ({max(age, 0):.0f} h old; {sla})"
        meta = {"max_event": str(max_event), "age_hours": age, "limit_hours": limit}
        if limit is None and "freshness" not in failing:
            gate.add(CheckResult("freshness", True, False, desc, meta))
        else:
            add("freshness", desc, meta)
    else:
        add("freshness", "no event date or no new rows landed: not evaluated")
    gate.add(CheckResult(
        "schema_drift", not rep.drift_columns, False,
        "no new source columns" if not rep.drift_columns else
        f"new source column(s) kept in the {rep.entity}__drift sidecar: "
        f"{', '.join(rep.drift_columns)}", {"columns": rep.drift_columns}))
    gate.add(CheckResult(
        "missing_optional_columns", True, False,
        "all optional columns present" if not rep.missing_optional_columns else
        f"landed as nulls: {', '.join(rep.missing_optional_columns)}",
        {"columns": rep.missing_optional_columns}))
    if gx is not None or "great_expectations" in failing:
        descs = list(dict.fromkeys(failing.get("great_expectations", [])))
        base = gx or CheckResult("great_expectations", True, True, "")
        gate.add(CheckResult("great_expectations", not descs, True,
                             "; ".join(descs) if descs else base.description, base.metadata))
    return gate
