"""The one training loop every predictive model goes through.

A model module (``stockout.py``, ``churn.py``, ``project_failure.py``) declares only what
differs, as a :class:`ModelSpec`: its feature SQL, its label SQL, its planner's baseline and its
horizon. Everything else happens here, once:

1. **Features as of a cut-off.** ``spec.features_sql`` is run once per cut-off date with bound
   parameters ``$tenants`` and ``$as_of``; it may only read rows dated on or before ``$as_of``
   (``tests/models_ml/test_point_in_time.py`` proves it by rewriting the future).
2. **Labels** come from ``spec.labels_sql`` (``$as_of``, ``$horizon_end``), which also says when
   each label became known (``label_known_date``), so training folds never see an outcome that
   was still in the future at the fold's start.
3. **Rolling-origin backtest**: ``spec.n_folds`` consecutive test windows at the end of the
   history; each fold trains on what was known before its window and scores the model and the
   baseline on the same rows.
4. **LightGBM** with fixed seeds; the final model is refit on every labelled row.
5. **MLflow**: one run per trained model (params, per-fold metrics, data window, tenants,
   features, plots, the model), registered under ``<model>`` (shared) or
   ``<model>__<tenant>`` (a tenant that keeps its data to itself); the ``champion`` alias moves
   only when a challenger beats the champion on the same backtest (:func:`promote`).
6. **Scoring** writes ``lake/predictions/<model>/tenant=<id>/date=<d>/part.parquet`` with
   probabilities, risk bands and the top three SHAP reasons in plain language.
7. **Drift**: :func:`drift_report` compares features and scores with the training reference (PSI).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import math
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tenantlake.lake import atomic_write, lake_path
from tenantlake.settings import Home, disable_telemetry
from tenantlake.tenants import TenantConfig, validate_tenant_id

log = logging.getLogger(__name__)

CHAMPION = "champion"
#: Default LightGBM parameters; a spec overrides what it needs. Deterministic on purpose.
DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,  # OpenMP spin-waits badly on a busy small box; data here is small
    "verbose": -1,
}
#: PSI above which a feature (or the score) counts as drifted.
PSI_FAIL = 0.25
#: Below this many rows PSI is mostly sampling noise: reported, but the check does not fail.
DRIFT_MIN_ROWS = 100
_ID_COLS = ("tenant_id", "as_of")
#: Name of the planner's rule among prediction reasons (models that start from the rule).
RULE_REASON = "planner_rule"


class NotEnoughData(RuntimeError):
    """Raised (or reported as a status) when a frame cannot support the backtest."""


class NoChampionError(LookupError):
    """No model with the ``champion`` alias exists yet for a tenant."""


class StaleChampionError(NoChampionError):
    """The champion needs features this code no longer computes (a feature was renamed or
    removed since it was trained): serving it would feed it blanks, so it is not served."""


# ------------------------------------------------------------------------------ the spec


@dataclass(frozen=True)
class RegressionTarget:
    """A companion regression trained in the same folds (e.g. 14-day demand).

    ``naive`` is a feature column holding the naive forecast it must beat (seasonal naive).
    """

    target: str
    naive: str
    name: str = "demand"
    params: Mapping[str, Any] = field(default_factory=lambda: {"objective": "poisson"})


@dataclass(frozen=True)
class ModelSpec:
    """What makes one model different from the others; the loop lives in this module.

    ``feature_labels`` is both the feature list (its keys, in order) and the readable label of
    each feature used in prediction reasons, so a feature cannot ship without one.
    """

    name: str
    question: str
    #: Entity key columns of one scored unit (besides ``tenant_id``).
    unit: tuple[str, ...]
    #: SELECT tenant_id, *unit, *features — params ``$tenants`` (VARCHAR[]) and ``$as_of`` (DATE).
    features_sql: str
    #: SELECT tenant_id, *unit, label, label_known_date[, regression target] — only units whose
    #: outcome is fully observed; params ``$tenants``, ``$as_of``, ``$horizon_end``.
    labels_sql: str
    #: SELECT tenant_id, first_date, last_date of the data the model depends on (``$tenants``).
    span_sql: str
    feature_labels: Mapping[str, str]
    #: The planner's rule as a risk score (higher = riskier) computed from the feature frame.
    baseline: Callable[[pd.DataFrame], pd.Series]
    baseline_name: str
    horizon_days: int
    cutoff_every_days: int
    fold_days: int
    min_history_days: int = 90
    n_folds: int = 3
    #: Share of units per tenant and date that the ops team can act on (precision@k).
    alert_budget: float = 0.1
    #: Probability thresholds for the ``medium`` and ``high`` risk bands.
    bands: tuple[float, float] = (0.3, 0.6)
    params: Mapping[str, Any] = field(default_factory=dict)
    num_boost_round: int = 250
    primary_metric: str = "roc_auc"
    regression: RegressionTarget | None = None
    min_rows: int = 150
    min_positives: int = 15
    #: Fewest distinct units (customers, items, projects, invoices) to learn from: rows of a
    #: dozen customers at many cut-offs are still a dozen customers.
    min_units: int = 50
    #: Optional SELECT tenant_id, *unit of units not to score today (e.g. cancelled projects);
    #: current state, so used only when scoring, never for training features.
    exclude_at_scoring_sql: str | None = None
    #: Boost from the planner's rule instead of from the base rate: the rule's calibrated
    #: probability is the starting score and the trees learn only where the rule is wrong.
    #: For models with few units (dozens of projects), where trees alone learn the rule's own
    #: signal back from too few rows.
    start_from_baseline: bool = False
    #: Features describing a group that many units share (a product category, the tenant):
    #: PSI over rows counts one category's value hundreds of times, so six categories turning
    #: with the season read as drift. Drift checks report them but do not fail on them.
    context_features: tuple[str, ...] = ()
    # --- windows sized from the data (see :func:`plan_cutoffs` and :func:`plan_folds`):
    # ``min_history_days``, ``cutoff_every_days``, ``fold_days`` and ``n_folds`` above are the
    # values used on a long history; a shorter one gets shorter windows down to these floors.
    #: Fewest days of data before the first cut-off.
    min_history_floor_days: int = 30
    #: Cut-offs never closer than this (consecutive rows of one unit would repeat each other).
    cutoff_every_floor_days: int = 7
    #: Fewest backtest folds that still count as a backtest.
    min_folds: int = 2
    #: The first fold trains on outcomes from at least this many cut-offs.
    min_train_cutoffs: int = 3
    #: Rows the model is asked about (True) at a cut-off; the others get ``scope_status`` at
    #: scoring and stay out of training and of the backtest's metrics (stockout: an item
    #: already at zero is "out of stock now", not a prediction).
    in_scope: Callable[[pd.DataFrame], pd.Series] | None = None
    scope_status: str = "out_of_scope"
    scope_reason: Callable[[pd.DataFrame], pd.Series] | None = None
    #: Plain-language reasons: feature -> templates tried in order; the first whose fields are
    #: all known is used. Fields: ``{v}`` (the row's value), ``{typ}`` (the tenant's typical
    #: value), any feature name (the row's value of it).
    reason_templates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: +1 when a higher value means more risk, -1 when lower does: a feature is given as a
    #: reason only when the row is on its risky side of typical (never "many orders" as a
    #: churn reason, whatever an interaction in the trees did with it).
    risk_direction: Mapping[str, int] = field(default_factory=dict)
    #: Features the baseline rule reads, used as its reasons when the rule is served.
    baseline_features: tuple[str, ...] = ()
    #: Per-tenant SQL parameters from its YAML (late payment: ``$late_days``).
    tenant_params: Callable[[TenantConfig], dict] | None = None
    #: Feature-frame columns copied into the predictions (besides the keys).
    output_columns: tuple[str, ...] = ()
    #: Marts the features read (what retraining in ``--train auto`` watches).
    marts: tuple[str, ...] = ()
    #: Feature column holding an amount: predictions then carry ``expected_overdue_amount``
    #: (amount x probability) and are ordered by it (the collections worklist).
    worklist_amount: str | None = None

    @property
    def features(self) -> list[str]:
        return list(self.feature_labels)

    @property
    def lgb_params(self) -> dict[str, Any]:
        return {**DEFAULT_PARAMS, **self.params}


def registered_name(spec: ModelSpec, tenant_id: str | None = None) -> str:
    """Registry name: ``churn`` for the shared model, ``churn__acme`` for a tenant's own."""
    return spec.name if tenant_id is None else f"{spec.name}__{validate_tenant_id(tenant_id)}"


# ------------------------------------------------------------------------------ warehouse

#: Every mart a feature query may read, with the entity whose contract gives its columns.
MARTS: dict[str, str] = {
    "fct_orders": "orders", "fct_order_lines": "order_lines", "fct_shipments": "shipments",
    "fct_inventory_daily": "inventory_snapshots", "fct_purchase_orders": "purchase_orders",
    "fct_invoices": "invoices", "fct_payments": "payments", "fct_tickets": "tickets",
    "fct_workflow_runs": "workflow_runs", "fct_opportunities": "opportunities",
    "fct_projects": "projects", "fct_milestones": "milestones", "dim_customers": "customers",
    "dim_products": "products", "dim_locations": "locations",
}


@contextlib.contextmanager
def warehouse(home: Home) -> Iterator[Any]:
    """A read-only DuckDB connection to the warehouse, held only while features are queried.

    DuckDB allows no reader beside a writer process, so the Dagster graph runs models after
    ``dbt build``; the connection is closed before any model is fitted or logged.

    A mart that does not exist yet (a fresh project, or a dbt build that skipped it) is stood in
    for by an empty, typed temp view, so a model degrades to "no rows" instead of failing.
    """
    import duckdb

    from tenantlake.contracts import CONTRACTS, SQL_TYPES

    if not home.warehouse.exists():
        raise FileNotFoundError(
            f"warehouse {home.warehouse} does not exist; run the pipeline (dbt build) first")
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        have = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()}
        for mart, entity in MARTS.items():
            if mart in have:
                continue
            cols = ", ".join(["CAST(NULL AS VARCHAR) AS tenant_id"] + [
                f'CAST(NULL AS {SQL_TYPES[c.dtype]}) AS "{c.name}"'
                for c in CONTRACTS[entity].columns])
            con.execute(f"CREATE TEMP VIEW {mart} AS SELECT {cols} WHERE false")
        yield con
    finally:
        con.close()


def _run(con: Any, sql: str, **params: Any) -> pd.DataFrame:
    """Run SQL binding only the ``$params`` it names (DuckDB rejects unused ones)."""
    used = set(re.findall(r"\$([a-z_]+)", sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used}).df()


def _as_float(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    for c in cols:
        if c not in df.columns:
            df[c] = np.nan
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


TenantParams = Mapping[str, Mapping[str, Any]]


def tenant_params_of(spec: ModelSpec, tenants: Mapping[str, TenantConfig] | None) -> dict:
    """``{tenant_id: {param: value}}`` from each tenant's YAML (empty for most models)."""
    if spec.tenant_params is None or not tenants:
        return {}
    return {tid: dict(spec.tenant_params(cfg)) for tid, cfg in tenants.items()}


def _grouped(spec: ModelSpec, con: Any, sql: str, tenant_ids: list[str],
             tparams: TenantParams | None, **params: Any) -> pd.DataFrame:
    """Run ``sql`` once per group of tenants sharing the same YAML parameters."""
    if spec.tenant_params is None:
        return _run(con, sql, tenants=list(tenant_ids), **params)
    default = dict(spec.tenant_params(None))
    groups: dict[str, list[str]] = {}
    for t in tenant_ids:
        key = json.dumps({**default, **dict((tparams or {}).get(t, {}))}, sort_keys=True)
        groups.setdefault(key, []).append(t)
    parts = [_run(con, sql, tenants=ids, **json.loads(key), **params)
             for key, ids in sorted(groups.items())]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else _run(
        con, sql, tenants=[], **default, **params)


def features_at(spec: ModelSpec, con: Any, tenant_ids: list[str], as_of: dt.date,
                tparams: TenantParams | None = None) -> pd.DataFrame:
    """Feature rows of every unit as of ``as_of``, from data dated on or before it only.

    Features of entities a tenant does not send come back as NaN; LightGBM treats them as
    missing rather than as zero (an absent ticket system is not "no tickets").
    """
    df = _grouped(spec, con, spec.features_sql, tenant_ids, tparams, as_of=as_of)
    df.insert(1, "as_of", as_of)
    return _as_float(df, spec.features)


def labels_at(spec: ModelSpec, con: Any, tenant_ids: list[str], as_of: dt.date,
              tparams: TenantParams | None = None) -> pd.DataFrame:
    horizon_end = as_of + dt.timedelta(days=spec.horizon_days)
    df = _grouped(spec, con, spec.labels_sql, tenant_ids, tparams, as_of=as_of,
                  horizon_end=horizon_end)
    df["label_known_date"] = pd.to_datetime(df["label_known_date"]).dt.date
    return df


def data_span(spec: ModelSpec, con: Any, tenant_ids: list[str]) -> pd.DataFrame:
    df = _run(con, spec.span_sql, tenants=list(tenant_ids)).dropna()
    for c in ("first_date", "last_date"):
        df[c] = pd.to_datetime(df[c]).dt.date
    return df


@dataclass(frozen=True)
class Windows:
    """Cut-off windows sized from one frame's history (see :func:`plan_cutoffs`)."""

    first_date: dt.date
    last_date: dt.date
    min_history_days: int
    cutoff_every_days: int

    @property
    def span_days(self) -> int:
        return (self.last_date - self.first_date).days

    def to_dict(self) -> dict:
        return {"first_date": self.first_date.isoformat(), "last_date": self.last_date.isoformat(),
                "span_days": self.span_days, "min_history_days": self.min_history_days,
                "cutoff_every_days": self.cutoff_every_days}


#: Cut-offs aimed at per history: enough rows per unit to learn how it changes over time, not
#: so many that consecutive rows of one unit repeat each other (and training time doubles).
TARGET_CUTOFFS = 26
#: Share of the history kept before the first cut-off (features need some past to look at).
HISTORY_SHARE = 0.15


def plan_cutoffs(spec: ModelSpec, first: dt.date, last: dt.date) -> Windows:
    """Minimum history and cut-off spacing from a history's span (``first`` to ``last``).

    * minimum history: ``HISTORY_SHARE`` of the span, between ``spec.min_history_floor_days``
      and ``spec.min_history_days`` (a two-year history keeps the model's full look-back);
    * spacing: the labelled part of the span (after the minimum history, before the last
      horizon) divided into about ``TARGET_CUTOFFS`` cut-offs, between
      ``spec.cutoff_every_floor_days`` (weekly) and ``spec.cutoff_every_days``.
    """
    span = (last - first).days
    min_hist = int(min(max(round(span * HISTORY_SHARE), spec.min_history_floor_days),
                       spec.min_history_days))
    labelled = span - min_hist - spec.horizon_days
    every = int(min(max(round(labelled / TARGET_CUTOFFS), spec.cutoff_every_floor_days),
                    spec.cutoff_every_days))
    return Windows(first, last, min_hist, every)


def min_span_days(spec: ModelSpec) -> int:
    """The shortest history that can give a backtest at the floors (documented in the README):
    the minimum history, the horizon (outcomes known), the cut-offs the first fold trains on
    and ``min_folds`` test folds of one spacing each."""
    every = spec.cutoff_every_floor_days
    return (spec.min_history_floor_days + (spec.min_train_cutoffs - 1) * every
            + spec.horizon_days + spec.min_folds * every)


def windows_for(spec: ModelSpec, con: Any, tenant_ids: list[str],
                until: dt.date | None = None) -> Windows | None:
    span = data_span(spec, con, tenant_ids)
    if span.empty:
        return None
    last = max(span["last_date"])
    if until is not None:
        last = min(last, until)
    first = min(span["first_date"])
    if first > last:
        return None
    return plan_cutoffs(spec, first, last)


def cutoff_dates(spec: ModelSpec, con: Any, tenant_ids: list[str],
                 until: dt.date | None = None, windows: Windows | None = None) -> list[dt.date]:
    """Cut-offs every ``cutoff_every_days`` (sized from the history), counted back from the
    newest data (or from ``until``).

    Counting back (rather than forward from the start) makes the newest cut-off the date a
    model would score today, so the last folds look like production.
    """
    w = windows or windows_for(spec, con, tenant_ids, until)
    if w is None:
        return []
    first = w.first_date + dt.timedelta(days=w.min_history_days)
    out, d = [], w.last_date
    while d >= first:
        out.append(d)
        d -= dt.timedelta(days=w.cutoff_every_days)
    return sorted(out)


def _scope_mask(spec: ModelSpec, feats: pd.DataFrame) -> np.ndarray:
    if spec.in_scope is None or feats.empty:
        return np.ones(len(feats), dtype=bool)
    return spec.in_scope(feats).fillna(False).to_numpy(dtype=bool)


def build_frame(spec: ModelSpec, con: Any, tenant_ids: list[str], until: dt.date | None = None,
                tparams: TenantParams | None = None) -> pd.DataFrame:
    """Labelled training rows: features at each cut-off joined to the outcome after it.

    ``until`` (training "as of" a date): cut-offs up to it, and only outcomes known by then
    (``label_known_date <= until``), so the frame is what one could have built on that day.
    Rows outside the model's scope at their cut-off (``spec.in_scope``) are left out.
    The frame's :class:`Windows` are in ``frame.attrs["windows"]``.
    """
    keys = ["tenant_id", *spec.unit]
    w = windows_for(spec, con, tenant_ids, until)
    parts = []
    for as_of in cutoff_dates(spec, con, tenant_ids, until, windows=w):
        lab = labels_at(spec, con, tenant_ids, as_of, tparams)
        if until is not None and len(lab):
            lab = lab[lab["label_known_date"] <= until]
        if lab.empty:
            continue
        feats = features_at(spec, con, tenant_ids, as_of, tparams)
        feats = feats[_scope_mask(spec, feats)]
        parts.append(feats.merge(lab, on=keys, how="inner"))
    if not parts:
        frame = pd.DataFrame(columns=[*_ID_COLS, *spec.unit, *spec.features, "label",
                                      "label_known_date"])
    else:
        frame = pd.concat(parts, ignore_index=True)
        frame["label"] = frame["label"].astype(int)
        frame = frame.sort_values(["as_of", *keys], kind="stable").reset_index(drop=True)
    frame.attrs["windows"] = w
    return frame


# ------------------------------------------------------------------------------ metrics


def precision_at_budget(df: pd.DataFrame, score: str, budget: float) -> float:
    """Precision of the top ``budget`` share of units per tenant and date (at least one)."""
    hits = flagged = 0
    for _, g in df.groupby(["tenant_id", "as_of"], sort=False):
        k = max(1, math.ceil(budget * len(g)))
        top = g.nlargest(k, score)
        hits += int(top["label"].sum())
        flagged += len(top)
    return hits / flagged if flagged else float("nan")


def _within_tenant(df: pd.DataFrame, score: str, metric) -> float:
    """Mean over tenants of a ranking metric computed inside each tenant.

    Scores are used inside one tenant (its ops team works its own list), so ranking customers
    of different tenants against each other measures nothing anyone acts on, and a pooled
    figure is dominated by the largest tenant. Each tenant with both outcomes counts once.
    """
    vals = [metric(g["label"].to_numpy(), g[score].to_numpy())
            for _, g in df.groupby("tenant_id", sort=True) if g["label"].nunique() == 2]
    return float(np.mean(vals)) if vals else float("nan")


def classification_metrics(df: pd.DataFrame, score: str, prob: str, budget: float) -> dict:
    """ROC-AUC and PR-AUC within tenant (mean over tenants), plus the pooled ROC-AUC for
    reference; Brier score on all rows (calibration is absolute); precision in the top
    ``budget`` share per tenant and date (the alert budget)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = df["label"].to_numpy()
    return {
        "roc_auc": _within_tenant(df, score, roc_auc_score),
        "pr_auc": _within_tenant(df, score, average_precision_score),
        "brier": float(brier_score_loss(y, df[prob])),
        "precision_at_k": float(precision_at_budget(df, score, budget)),
        "roc_auc_pooled": float(roc_auc_score(y, df[score])),
    }


def wape(y: np.ndarray, yhat: np.ndarray) -> float:
    return float(np.abs(y - yhat).sum() / max(np.abs(y).sum(), 1e-9))


def mase(y: np.ndarray, yhat: np.ndarray, scale: float) -> float:
    """MAE scaled by the in-sample (training fold) MAE of the seasonal-naive forecast."""
    return float(np.abs(y - yhat).mean() / max(scale, 1e-9))


#: Metrics where a lower value is better (everything else: higher is better).
LOWER_IS_BETTER = {"brier", "wape", "mase"}


def lower_is_better(metric: str) -> bool:
    """``brier``, ``demand_wape``, ``demand_mase``...: the suffix decides."""
    return metric.rsplit("_", 1)[-1] in LOWER_IS_BETTER


# ------------------------------------------------------------------------------ backtest


@dataclass
class Backtest:
    """Per-fold metrics of model and baseline, plus the out-of-fold predictions.

    ``train_rows[i]`` holds the frame index of the rows fold ``i`` was trained on (what the
    label cut-off test checks); ``lift`` the bootstrap interval of the primary metric's lift
    over the baseline; ``reason`` why there are no folds, if there are none.
    """

    folds: list[dict]
    oof: pd.DataFrame
    features: list[str]
    train_rows: list[np.ndarray] = field(default_factory=list)
    lift: dict = field(default_factory=dict)
    reason: str = ""

    def mean(self, who: str, metric: str) -> float:
        vals = [f[who][metric] for f in self.folds if metric in f[who]]
        return float(np.mean(vals)) if vals else float("nan")

    def table(self) -> list[dict]:
        """Rows ``metric, model, baseline, delta, better`` averaged over folds."""
        metrics = [m for m in self.folds[0]["model"]] if self.folds else []
        rows = []
        for m in metrics:
            a, b = self.mean("model", m), self.mean("baseline", m)
            better = a < b if lower_is_better(m) else a > b
            rows.append({"metric": m, "model": round(a, 4), "baseline": round(b, 4),
                         "delta": round(a - b, 4), "model_better": bool(better),
                         "per_fold_model": [round(f["model"].get(m, np.nan), 4)
                                            for f in self.folds],
                         "per_fold_baseline": [round(f["baseline"].get(m, np.nan), 4)
                                               for f in self.folds]})
        return rows


#: Bootstrap draws for the lift interval, and its level.
N_BOOT = 200
CI_LEVEL = 0.95


def _boot_auc(y: np.ndarray, score: np.ndarray, W: np.ndarray) -> np.ndarray:
    """ROC-AUC of ``score`` under each row of weights ``W`` (draws x rows), ties counted half:
    one sort, then per draw only weighted counts per distinct score."""
    _, lev = np.unique(score, return_inverse=True)
    U, B = int(lev.max()) + 1, W.shape[0]
    idx = (np.arange(B)[:, None] * U + lev[None, :]).ravel()
    pos = np.bincount(idx, weights=(W * y).ravel(), minlength=B * U).reshape(B, U)
    neg = np.bincount(idx, weights=(W * (1 - y)).ravel(), minlength=B * U).reshape(B, U)
    below = np.cumsum(neg, axis=1) - neg
    P, N = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(axis=1) / (P * N)


def lift_interval(spec: ModelSpec, oof: pd.DataFrame, seed: int = 0,
                  n_boot: int = N_BOOT) -> dict:
    """Bootstrap interval of the model's ROC-AUC lift over the baseline.

    Resamples *entities* (a customer, an item: all its rows together, since one unit's rows
    at consecutive cut-offs are not independent) within each fold and tenant, recomputes both
    scores' within-tenant AUC on the same draw, and averages the lift the way the backtest
    table does (tenants within a fold, then folds). Seeded: the same backtest gives the same
    interval.
    """
    if oof.empty or spec.primary_metric != "roc_auc":
        return {}
    rng = np.random.default_rng(seed)
    per_fold = []
    for _, f in oof.groupby("fold", sort=True):
        per_tenant = []
        for _, g in f.groupby("tenant_id", sort=True):
            y = g["label"].to_numpy(dtype=float)
            if len(np.unique(y)) < 2:
                continue
            ent = g.groupby(list(spec.unit), sort=True).ngroup().to_numpy()
            n_ent = int(ent.max()) + 1
            counts = rng.multinomial(n_ent, np.full(n_ent, 1.0 / n_ent), size=n_boot)
            W = counts[:, ent].astype(float)
            d = (_boot_auc(y, g["p_model"].to_numpy(), W)
                 - _boot_auc(y, g["s_baseline"].to_numpy(), W))
            per_tenant.append(d)
        if per_tenant:  # a draw that lost one outcome in a tenant is NaN there: skipped
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                per_fold.append(np.nanmean(np.vstack(per_tenant), axis=0))
    if not per_fold:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        draws = np.nanmean(np.vstack(per_fold), axis=0)
    a = (1 - CI_LEVEL) / 2
    lo, hi = np.nanquantile(draws, [a, 1 - a])
    return {"metric": "roc_auc", "ci_low": round(float(lo), 4), "ci_high": round(float(hi), 4),
            "level": CI_LEVEL, "n_boot": n_boot, "resampled": "entities within fold and tenant"}


def plan_folds(spec: ModelSpec, frame: pd.DataFrame,
               every: int | None = None) -> tuple[list[tuple[dt.date, dt.date]], str]:
    """Consecutive test windows ``[start, end)`` ending after the newest cut-off, sized from
    the frame: the first window opens once enough outcomes are known to train on (at least
    ``min_rows`` rows and ``min_positives`` positives from ``min_train_cutoffs`` cut-offs);
    the rest of the labelled cut-offs are split into up to ``n_folds`` folds of at most
    ``fold_days``, never shorter than one cut-off spacing nor fewer than ``min_folds``.

    Returns the windows, or no windows and the reason (what is missing).
    """
    if every is None:
        w = frame.attrs.get("windows")
        every = w.cutoff_every_days if w is not None else spec.cutoff_every_days
    if frame.empty:
        return [], "no labelled rows (no cut-off has an outcome known yet)"
    end = max(frame["as_of"]) + dt.timedelta(days=1)
    by_known = frame.sort_values("label_known_date", kind="stable")
    rows = np.arange(1, len(by_known) + 1)
    pos = by_known["label"].cumsum().to_numpy()
    cut = (~by_known["as_of"].duplicated()).cumsum().to_numpy()
    ok = (rows >= spec.min_rows) & (pos >= spec.min_positives) & (cut >= spec.min_train_cutoffs)
    if not ok.any():
        return [], (f"{len(frame)} labelled rows with {int(frame['label'].sum())} positives "
                    f"from {frame['as_of'].nunique()} cut-offs; the first fold needs "
                    f"{spec.min_rows} rows, {spec.min_positives} positives and "
                    f"{spec.min_train_cutoffs} cut-offs to train on, plus later cut-offs to test")
    first_start = max(by_known["label_known_date"].iloc[int(np.argmax(ok))],
                      min(frame["as_of"]) + dt.timedelta(days=1))
    test_days = (end - first_start).days
    for n in range(spec.n_folds, spec.min_folds - 1, -1):
        length = min(spec.fold_days, test_days // n)
        if length >= every:
            return [(end - dt.timedelta(days=(i + 1) * length), end - dt.timedelta(days=i * length))
                    for i in range(n - 1, -1, -1)], ""
    return [], (f"only {max(test_days, 0)} days of cut-offs remain after the first "
                f"{spec.min_rows} training outcomes are known ({first_start}); "
                f"{spec.min_folds} test folds need at least {spec.min_folds * every} days")


def fold_windows(spec: ModelSpec, frame: pd.DataFrame) -> list[tuple[dt.date, dt.date]]:
    return plan_folds(spec, frame)[0]


def _fit(params: Mapping[str, Any], X: pd.DataFrame, y: np.ndarray, rounds: int,
         init_score: np.ndarray | None = None):
    import lightgbm as lgb

    ds = lgb.Dataset(X, y, init_score=init_score, free_raw_data=True)
    return lgb.train(dict(params), ds, num_boost_round=rounds)


#: Bounds of the rule's probability when a model boosts from it, so no start is infinite.
START_BOUNDS = (0.02, 0.98)
_NO_RULE_SCORE = -1e9


@dataclass(frozen=True)
class RulePrior:
    """The planner's rule as a probability: an isotonic fit of its risk score to the label on
    training rows, kept as the fit's breakpoints (``IsotonicRegression.predict`` is linear
    interpolation between them), so it travels in ``reference.json`` without a pickle.

    Used twice: the baseline's probability in every backtest fold (bounds [0, 1]), and the
    starting log-odds of a model that boosts from the rule (bounds ``START_BOUNDS``).
    """

    x: tuple[float, ...]
    y: tuple[float, ...]
    lo: float = 0.0
    hi: float = 1.0

    @classmethod
    def fit(cls, scores: np.ndarray, labels: np.ndarray, lo: float = 0.0,
            hi: float = 1.0) -> RulePrior:
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=lo, y_max=hi).fit(scores, labels)
        return cls(tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_)),
                   lo, hi)

    def proba(self, scores: np.ndarray) -> np.ndarray:
        return np.clip(np.interp(scores, self.x, self.y), self.lo, self.hi)

    def logit(self, scores: np.ndarray) -> np.ndarray:
        p = self.proba(scores)
        return np.log(p / (1 - p))

    def to_dict(self) -> dict:
        return {"x": list(self.x), "y": list(self.y), "lo": self.lo, "hi": self.hi}


def _rule_score(spec: ModelSpec, frame: pd.DataFrame) -> np.ndarray:
    """The planner's rule as a risk score per row (a rule that cannot score a row: lowest)."""
    return spec.baseline(frame).fillna(_NO_RULE_SCORE).to_numpy(dtype="float64")


def _fit_classifier(spec: ModelSpec, params: Mapping[str, Any], train: pd.DataFrame,
                    features: list[str], rule: np.ndarray) -> tuple[Any, RulePrior | None]:
    """The booster, and the rule prior it boosts from when the spec starts from the rule
    (``rule``: the rule's scores of ``train``)."""
    prior = (RulePrior.fit(rule, train["label"].to_numpy(), *START_BOUNDS)
             if spec.start_from_baseline else None)
    booster = _fit(params, train[features], train["label"].to_numpy(), spec.num_boost_round,
                   init_score=prior.logit(rule) if prior is not None else None)
    return booster, prior


def predict_proba(booster: Any, prior: RulePrior | None, X: pd.DataFrame,
                  rule: np.ndarray | None) -> np.ndarray:
    """Probabilities of a fitted classifier; with a prior, ``rule`` holds the rows' rule
    scores and the trees' output is a correction to the rule's log-odds."""
    if prior is None:
        return booster.predict(X)
    raw = booster.predict(X, raw_score=True) + prior.logit(rule)
    return 1.0 / (1.0 + np.exp(-raw))


def backtest(spec: ModelSpec, frame: pd.DataFrame, params: Mapping[str, Any] | None = None,
             features: list[str] | None = None) -> Backtest:
    """Rolling-origin backtest of model and baseline on the same rows of every fold.

    A fold trains only on rows whose label was known before its test window opens
    (``label_known_date <= start``): a churn label needs 90 days of future, so rows from the
    last 90 days before the window would otherwise leak the test period into training.
    """
    params = {**spec.lgb_params, **(params or {})}
    features = features or spec.features
    folds, oof, used = [], [], []
    windows, reason = plan_folds(spec, frame)
    for i, (start, stop) in enumerate(windows):
        train = frame[frame["label_known_date"] <= start]
        test = frame[(frame["as_of"] >= start) & (frame["as_of"] < stop)].copy()
        if (len(train) < spec.min_rows or train["label"].nunique() < 2
                or test["label"].nunique() < 2 or train["label"].sum() < spec.min_positives):
            log.info("model=%s fold %d [%s, %s): skipped (train=%d rows, test=%d rows)",
                     spec.name, i, start, stop, len(train), len(test))
            continue
        base_train = _rule_score(spec, train)
        test["s_baseline"] = _rule_score(spec, test)
        booster, prior = _fit_classifier(spec, params, train, features, base_train)
        used.append(train.index.to_numpy())
        test["p_model"] = predict_proba(booster, prior, test[features],
                                        test["s_baseline"].to_numpy())
        # the rule's score becomes a probability the fair way: fitted on the training fold
        rule_p = RulePrior.fit(base_train, train["label"].to_numpy())
        test["p_baseline"] = rule_p.proba(test["s_baseline"].to_numpy())
        fold = {"fold": i, "test_start": start.isoformat(), "test_end": stop.isoformat(),
                "n_train": int(len(train)), "n_test": int(len(test)),
                "positives_test": int(test["label"].sum()),
                "train_label_known_max": max(train["label_known_date"]).isoformat(),
                "model": classification_metrics(test, "p_model", "p_model", spec.alert_budget),
                "baseline": classification_metrics(test, "s_baseline", "p_baseline",
                                                   spec.alert_budget)}
        if spec.regression is not None:
            fold["model"].update(_regression_fold(spec, params, train, test, features))
            fold["baseline"].update(_naive_fold(spec, train, test))
        folds.append(fold)
        test["fold"] = i
        oof.append(test)
    oof_df = pd.concat(oof, ignore_index=True) if oof else pd.DataFrame()
    if windows and len(folds) < spec.min_folds:
        reason = (f"only {len(folds)} of {len(windows)} backtest folds have enough history and "
                  f"both outcomes (need {spec.min_folds})")
    lift = lift_interval(spec, oof_df, seed=int(params.get("seed", 0)))
    return Backtest(folds=folds, oof=oof_df, features=list(features), train_rows=used,
                    lift=lift, reason=reason)


def _naive_scale(spec: ModelSpec, train: pd.DataFrame) -> float:
    r = spec.regression
    return float(np.abs(train[r.target] - train[r.naive].fillna(0)).mean())


def _regression_fold(spec, params, train, test, features) -> dict:
    r = spec.regression
    booster = _fit({**params, **r.params}, train[features], train[r.target].to_numpy(),
                   spec.num_boost_round)
    pred = booster.predict(test[features])
    test[f"{r.name}_pred"] = pred
    y = test[r.target].to_numpy()
    scale = _naive_scale(spec, train)
    return {f"{r.name}_wape": wape(y, pred), f"{r.name}_mase": mase(y, pred, scale)}


def _naive_fold(spec, train, test) -> dict:
    r = spec.regression
    y, naive = test[r.target].to_numpy(), test[r.naive].fillna(0).to_numpy()
    scale = _naive_scale(spec, train)
    return {f"{r.name}_wape": wape(y, naive), f"{r.name}_mase": mase(y, naive, scale)}


# ------------------------------------------------------------------------------ reference & reasons


def _bins(values: pd.Series, n: int = 10) -> list[float]:
    v = values.dropna().to_numpy()
    if len(v) == 0:
        return []
    return sorted(set(np.quantile(v, np.linspace(0, 1, n + 1)[1:-1]).round(10).tolist()))


def _distribution(values: pd.Series | np.ndarray, edges: list[float]) -> list[float]:
    """Share of values per bin (``len(edges)+1`` bins) plus a final bin for missing values."""
    v = pd.Series(values, dtype="float64")
    miss = v.isna().to_numpy()
    idx = np.searchsorted(np.asarray(edges, dtype=float), v[~miss].to_numpy(), side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, miss.sum())
    return (counts / max(counts.sum(), 1)).tolist()


def psi(expected: list[float], actual: list[float], eps: float = 1e-4) -> float:
    e = np.clip(np.asarray(expected), eps, None)
    a = np.clip(np.asarray(actual), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def build_reference(features: list[str], oof: pd.DataFrame) -> dict:
    """What scoring and drift checks need from training: medians and binned distributions.

    Taken from the backtest's test windows (the newest part of the training history, scored
    out of fold): features that summarise history (a year-ago demand, a partner's track
    record, tenure) are still filling up in the oldest cut-offs, so comparing today with the
    whole history would flag the calendar, not drift. Distributions are kept pooled and per
    training tenant: a shared model learns from tenants that differ (an ecommerce brand churns
    more than a distributor), so a tenant is compared with its own rows, and only a tenant the
    model never saw with the pool. Each is kept as deciles, and as quintiles for a small tenant,
    where ten bins over a few dozen rows would report sampling noise as drift.
    """
    ref: dict[str, Any] = {"features": features}
    ref.update(_profile(features, oof, oof["p_model"]))
    ref["by_tenant"] = {
        tid: _profile(features, oof[oof["tenant_id"] == tid],
                      oof.loc[oof["tenant_id"] == tid, "p_model"])
        for tid in sorted(oof["tenant_id"].unique())}
    return ref


def _profile(features: list[str], frame: pd.DataFrame, scores: pd.Series) -> dict:
    meds = frame[features].median()
    return {"bins": {f: _binned(frame[f]) for f in features},
            "score": _binned(pd.Series(scores, dtype="float64")),
            "medians": {f: None if pd.isna(meds[f]) else float(meds[f]) for f in features}}


def _binned(values: pd.Series) -> dict:
    out = {}
    for n in (10, 5):
        edges = _bins(values, n)
        out[str(n)] = {"edges": edges, "expected": _distribution(values, edges)}
    return out


def _psi_of(binned: dict, values: pd.Series | np.ndarray, n_bins: int) -> float:
    b = binned[str(n_bins)]
    return round(psi(b["expected"], _distribution(values, b["edges"])), 4)


def _fmt(name: str, v: float | None) -> str:
    if v is None or pd.isna(v):
        return "n/a"
    if "_share" in name or name.endswith("_rate"):
        return f"{v:.0%}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}".rstrip("0").rstrip(".") if abs(v) < 10 else f"{v:.0f}"


def reason_text(feature: str, label: str, value: float, median: float | None) -> str:
    """One plain-language reason, e.g. ``Days since last order is high (64; typical 21)``."""
    if value is None or pd.isna(value):
        return f"{label}: not available"
    if median is None or pd.isna(median) or value == median:
        return f"{label}: {_fmt(feature, value)}"
    word = "high" if value > median else "low"
    return f"{label} is {word} ({_fmt(feature, value)}; typical {_fmt(feature, median)})"


_FIELD = re.compile(r"\{(\w+)")


def _known(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def ops_reason(spec: ModelSpec, feature: str, row: Mapping[str, Any], median: float | None,
               label: str | None = None) -> str:
    """A reason in the words an ops person uses (``spec.reason_templates``), e.g. ``no order
    for 74 days; usually every 21 days``; the generic sentence when no template fits."""
    value = row.get(feature)
    for tpl in spec.reason_templates.get(feature, ()):
        vals = {"v": value, "typ": median}
        for f in _FIELD.findall(tpl):
            if f not in vals:
                vals[f] = row.get(f)
        if all(_known(vals[f]) for f in _FIELD.findall(tpl)):
            return tpl.format(**vals)
    return reason_text(feature, label or spec.feature_labels.get(feature, feature), value, median)


def _risky_side(spec: ModelSpec, feature: str, value: Any, median: Any) -> bool:
    """False when the spec says which side of typical is risky and the row is not on it."""
    d = spec.risk_direction.get(feature)
    if not d or not _known(value) or not _known(median):
        return True
    return d * (float(value) - float(median)) > 0


def top_reasons(spec: ModelSpec, X: pd.DataFrame, contrib: np.ndarray, medians: dict,
                n: int = 3, labels: Mapping[str, str] | None = None,
                rows: pd.DataFrame | None = None) -> list[list[str]]:
    """Top ``n`` features pushing each prediction up (positive SHAP value), as sentences.

    ``contrib`` is LightGBM's ``pred_contrib`` output: exact TreeSHAP values per feature (the
    same numbers ``shap.TreeExplainer`` gives, without its per-call overhead), last column the
    expected value. "Typical" is the median of the tenant's own training rows when it has any.
    Only features that push this row's risk up are given, and only when the row is on the
    feature's risky side of typical (``spec.risk_direction``). ``rows`` holds the values the
    templates may name besides the features (defaults to ``X``).
    """
    feats = list(X.columns)
    labels = spec.feature_labels if labels is None else labels
    out = []
    shap_vals = contrib[:, : len(feats)]
    recs = (rows if rows is not None else X).to_dict("records")
    xrecs = X.to_dict("records")
    for i in range(len(X)):
        row = {**recs[i], **xrecs[i]}
        order = np.argsort(-shap_vals[i], kind="stable")
        picked = []
        for j in order:
            if len(picked) == n or shap_vals[i, j] <= 0:
                break
            f = feats[j]
            if _risky_side(spec, f, row.get(f), medians.get(f)):
                text = ops_reason(spec, f, row, medians.get(f), labels.get(f, f))
                if text not in picked:  # two features can say the same thing
                    picked.append(text)
        out.append(picked)
    return out


def rule_reasons(spec: ModelSpec, F: pd.DataFrame, medians: dict, n: int = 3) -> list[list[str]]:
    """Reasons when the baseline rule is served: the rule's own inputs on their risky side of
    typical, the furthest from typical first."""
    feats = [f for f in spec.baseline_features if f in F.columns]
    if not feats:
        return [[] for _ in range(len(F))]
    X = F[feats]
    push = np.column_stack([
        spec.risk_direction.get(f, 1) * (X[f].to_numpy(dtype=float) - (medians.get(f) or 0.0))
        / (abs(medians.get(f) or 0.0) + 1.0) for f in feats])
    push = np.nan_to_num(push, nan=0.0)
    return top_reasons(spec, X, np.column_stack([push, np.zeros(len(F))]), medians, n,
                       rows=F)


def band_thresholds(df: pd.DataFrame, prob: str, budget: float) -> dict:
    """Risk bands of one tenant (or the pool) from its backtest rows.

    ``high``: the top ``budget`` share of rows (the alert budget), and never below twice the
    base rate's odds (a "high" risk is clearly above normal for this tenant); ``medium``: the
    top three budgets and above the base rate. Each band keeps the share of its backtest rows
    that really had the outcome (its precision), shown next to every prediction.
    """
    p = df[prob].to_numpy(dtype=float)
    y = df["label"].to_numpy(dtype=float)
    if len(p) == 0:
        return {}
    base = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    odds2 = 2 * base / (1 - base)
    high = max(float(np.quantile(p, 1 - budget)), odds2 / (1 + odds2))
    medium = min(max(float(np.quantile(p, max(0.0, 1 - 3 * budget))), base), high)
    band = _band_of(p, medium, high)
    prec = {b: (round(float(y[band == b].mean()), 4) if (band == b).any() else None)
            for b in ("low", "medium", "high")}
    share = {b: round(float((band == b).mean()), 4) for b in ("low", "medium", "high")}
    return {"base_rate": round(float(y.mean()), 4), "medium": medium, "high": high,
            "precision": prec, "share": share, "rows": int(len(p))}


def _band_of(p: np.ndarray, medium: float, high: float) -> np.ndarray:
    return np.where(p >= high, "high", np.where(p >= medium, "medium", "low")).astype(object)


def band_table(oof: pd.DataFrame, prob: str, budget: float) -> dict:
    return {"pooled": band_thresholds(oof, prob, budget),
            "by_tenant": {tid: band_thresholds(g, prob, budget)
                          for tid, g in oof.groupby("tenant_id", sort=True)}}


def risk_band(spec: ModelSpec, p: np.ndarray, bands: Mapping[str, Any] | None = None,
              tenant_id: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Band and the band's backtest precision per probability (the tenant's own thresholds
    when it has backtest rows, else the pool's; the spec's fixed thresholds without either)."""
    b = ((bands or {}).get("by_tenant", {}).get(tenant_id) or (bands or {}).get("pooled"))
    if not b:
        medium, high = spec.bands
        return _band_of(p, medium, high), np.full(len(p), np.nan)
    band = _band_of(p, b["medium"], b["high"])
    prec = np.array([np.nan if b["precision"].get(x) is None else b["precision"][x]
                     for x in band], dtype=float)
    return band, prec


# ------------------------------------------------------------------------------ MLflow


def _mlflow(home: Home):
    """MLflow pointed at the project's own sqlite store; nothing may reach the network."""
    disable_telemetry()
    os.environ["MLFLOW_ENABLE_TELEMETRY"] = "false"
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    home.ensure()
    mlflow.set_tracking_uri(home.mlflow_uri)
    mlflow.set_registry_uri(home.mlflow_uri)
    return mlflow


def ensure_store(home: Home) -> None:
    """Create the MLflow store's tables now, before trainings run side by side in separate
    processes (two processes creating a fresh SQLite store at once would race)."""
    mlflow = _mlflow(home)
    quiet = [logging.getLogger(n) for n in ("mlflow.store.db.utils", "alembic")]
    levels = [q.level for q in quiet]
    for q in quiet:  # "Creating initial MLflow database tables" is not news on a terminal
        q.setLevel(logging.WARNING)
    try:
        mlflow.MlflowClient(home.mlflow_uri).search_experiments(max_results=1)
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)


def _experiment_id(mlflow, home: Home, spec: ModelSpec) -> str:
    name = f"tenantlake-{spec.name}"
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    loc = (home.mlflow_artifacts / spec.name).resolve()
    loc.mkdir(parents=True, exist_ok=True)
    return mlflow.create_experiment(name, artifact_location=loc.as_uri())


def _pip_requirements() -> list[str]:
    """Pinned explicitly so MLflow does not spawn a process to infer them (slow, noisy)."""
    from importlib.metadata import version

    return [f"lightgbm=={version('lightgbm')}", f"pandas=={version('pandas')}",
            f"numpy=={version('numpy')}"]


def _plot_calibration(oof: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
    for col, name in (("p_model", "model"), ("p_baseline", "baseline")):
        frac, mean = calibration_curve(oof["label"], oof[col], n_bins=10, strategy="quantile")
        ax.plot(mean, frac, marker="o", label=name)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title("Calibration (out-of-fold)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_importance(booster, path: Path, spec: ModelSpec) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gain = pd.Series(booster.feature_importance("gain"), index=booster.feature_name())
    gain = gain.sort_values().tail(20)
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(gain) + 1.2))
    ax.barh([spec.feature_labels.get(f, f) for f in gain.index], gain.to_numpy())
    ax.set_xlabel("total gain")
    ax.set_title(f"{spec.name}: feature importance")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _frame_fingerprint(frame: pd.DataFrame, features: list[str]) -> str:
    cols = [*_ID_COLS, "label", *features]
    h = pd.util.hash_pandas_object(frame[cols].astype({"as_of": str}), index=False)
    return hashlib.sha256(h.to_numpy().tobytes()).hexdigest()[:16]


def backtest_key(spec: ModelSpec, frame: pd.DataFrame) -> str:
    """Identifies a backtest: same key means the same rows, labels and fold windows."""
    windows = [(a.isoformat(), b.isoformat()) for a, b in fold_windows(spec, frame)]
    raw = json.dumps({"windows": windows, "rows": _frame_fingerprint(frame, [])})
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------ training


@dataclass
class RunSummary:
    """One trained (or not trained) model: shared, or one tenant's own."""

    registered_model: str
    scope: str  # "shared" | "tenant"
    tenants: list[str]
    status: str  # "trained" | "not_enough_data"
    reason: str = ""
    run_id: str | None = None
    version: str | None = None
    rows: int = 0
    positives: int = 0
    table: list[dict] = field(default_factory=list)
    #: Windows sized from this frame's history, the folds' test windows, the lift interval.
    windows: dict = field(default_factory=dict)
    lift: dict = field(default_factory=dict)
    as_of: str | None = None


@dataclass
class TrainResult:
    model: str
    runs: list[RunSummary]
    #: tenant id -> "shared" | "own_model" | "not_enough_data" | "no_data"
    tenant_status: dict[str, str]
    #: tenant id -> why it has no model ("" when it has one)
    tenant_reason: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def short_history_reason(spec: ModelSpec, w: Windows) -> str:
    need = min_span_days(spec)
    every = spec.cutoff_every_floor_days
    return (f"history spans {w.span_days} days ({w.first_date} to {w.last_date}); {spec.name} "
            f"needs at least {need}: {spec.min_history_floor_days} days before the first "
            f"cut-off, the {spec.horizon_days}-day horizon for outcomes to be known, "
            f"{spec.min_train_cutoffs} cut-offs to learn from and {spec.min_folds} test folds "
            f"of {every} days")


def _fit_and_log(spec: ModelSpec, home: Home, frame: pd.DataFrame, name: str, scope: str,
                 params: Mapping[str, Any] | None, until: dt.date | None = None) -> RunSummary:
    tenants = sorted(frame["tenant_id"].unique().tolist()) if len(frame) else []
    w: Windows | None = frame.attrs.get("windows")
    summary = RunSummary(registered_model=name, scope=scope, tenants=tenants,
                         status="not_enough_data", rows=int(len(frame)),
                         positives=int(frame["label"].sum()) if len(frame) else 0,
                         windows=w.to_dict() if w else {},
                         as_of=until.isoformat() if until else None)
    if w is None:
        summary.status, summary.reason = "no_data", f"no {spec.name} data"
        return summary
    if w.span_days < min_span_days(spec):
        summary.reason = short_history_reason(spec, w)
        return summary
    units = int(frame.groupby(["tenant_id", *spec.unit]).ngroups) if len(frame) else 0
    if len(frame) < spec.min_rows or summary.positives < spec.min_positives \
            or units < spec.min_units:
        summary.reason = (f"{len(frame)} labelled rows of {units} units, "
                          f"{summary.positives} positives (need {spec.min_rows} rows of "
                          f"{spec.min_units} units and {spec.min_positives} positives)")
        return summary
    all_params = {**spec.lgb_params, **(params or {})}
    bt = backtest(spec, frame, all_params)
    if len(bt.folds) < spec.min_folds:
        summary.reason = bt.reason or (f"only {len(bt.folds)} backtest folds have both "
                                       f"outcomes (need {spec.min_folds})")
        return summary
    summary.windows.update({"fold_days": (dt.date.fromisoformat(bt.folds[0]["test_end"])
                                          - dt.date.fromisoformat(bt.folds[0]["test_start"])).days,
                            "n_folds": len(bt.folds)})
    summary.lift = bt.lift
    rule = _rule_score(spec, frame)
    booster, prior = _fit_classifier(spec, all_params, frame, spec.features, rule)
    reference = build_reference(spec.features, bt.oof)
    if prior is not None:  # scoring adds the rule's start back to the trees' output
        reference["baseline_prior"] = {**prior.to_dict(),
                                       "mean_logit": float(prior.logit(rule).mean()),
                                       "median_score": float(np.median(rule))}
    # what serving the rule instead needs: its calibration on every labelled row, its bands
    reference["baseline_calibration"] = RulePrior.fit(rule, frame["label"].to_numpy()).to_dict()
    reference["bands"] = band_table(bt.oof, "p_model", spec.alert_budget)
    reference["baseline_bands"] = band_table(bt.oof, "p_baseline", spec.alert_budget)
    demand = None
    if spec.regression is not None:
        r = spec.regression
        demand = _fit({**all_params, **r.params}, frame[spec.features],
                      frame[r.target].to_numpy(), spec.num_boost_round)
    summary.table = bt.table()
    mlflow = _mlflow(home)
    from mlflow.models import infer_signature

    exp = _experiment_id(mlflow, home, spec)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    with mlflow.start_run(experiment_id=exp, run_name=f"{name}-{stamp}") as run:
        mlflow.log_params({f"lgb.{k}": v for k, v in all_params.items()})
        mlflow.log_params({
            "model": spec.name, "scope": scope, "horizon_days": spec.horizon_days,
            "n_folds": summary.windows["n_folds"], "fold_days": summary.windows["fold_days"],
            "cutoff_every_days": w.cutoff_every_days, "min_history_days": w.min_history_days,
            "span_days": w.span_days, "trained_as_of": str(until) if until else "latest",
            "num_boost_round": spec.num_boost_round,
            "n_features": len(spec.features), "rows": len(frame),
            "positives": summary.positives, "baseline": spec.baseline_name,
            "data_window_start": str(min(frame["as_of"])),
            "data_window_end": str(max(frame["as_of"])),
            "tenants": ",".join(tenants)[:500],
        })
        mlflow.set_tags({"tenantlake.model": spec.name, "tenantlake.scope": scope,
                         "tenantlake.tenants": ",".join(tenants),
                         "tenantlake.backtest_key": backtest_key(spec, frame),
                         "tenantlake.primary_metric": spec.primary_metric,
                         # the logged booster alone gives the trees' correction to the rule;
                         # reference.json holds the rule's start (see predict_proba)
                         "tenantlake.starts_from_baseline": str(prior is not None).lower()})
        for f in bt.folds:
            for who in ("model", "baseline"):
                for m, v in f[who].items():
                    mlflow.log_metric(f"{who}_{m}", v, step=f["fold"])
        for row in summary.table:
            mlflow.log_metric(f"mean_model_{row['metric']}", row["model"])
            mlflow.log_metric(f"mean_baseline_{row['metric']}", row["baseline"])
        if bt.lift:
            mlflow.log_metric("lift_ci_low", bt.lift["ci_low"])
            mlflow.log_metric("lift_ci_high", bt.lift["ci_high"])
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            (t / "backtest.json").write_text(json.dumps(
                {"folds": bt.folds, "table": summary.table, "lift": bt.lift,
                 "windows": summary.windows}, indent=1, default=str))
            (t / "features.json").write_text(json.dumps(
                {"features": spec.features, "labels": dict(spec.feature_labels)}, indent=1))
            (t / "params.json").write_text(json.dumps(all_params, indent=1, default=str))
            (t / "reference.json").write_text(json.dumps(reference))
            _plot_calibration(bt.oof, t / "calibration.png")
            _plot_importance(booster, t / "importance.png", spec)
            mlflow.log_artifacts(tmp)
        X = frame[spec.features].head(20)
        info = mlflow.lightgbm.log_model(
            booster, name="model", registered_model_name=name,
            signature=infer_signature(X, booster.predict(X)), pip_requirements=_pip_requirements())
        if demand is not None:
            mlflow.lightgbm.log_model(demand, name=f"{spec.regression.name}_model",
                                      pip_requirements=_pip_requirements())
        summary.run_id = run.info.run_id
        summary.version = str(info.registered_model_version)
    summary.status = "trained"
    log.info("model=%s registered=%s version=%s tenants=%s rows=%d",
             spec.name, name, summary.version, ",".join(tenants), len(frame))
    return summary


def train(spec: ModelSpec, home: Home, tenants: Mapping[str, TenantConfig],
          params: Mapping[str, Any] | None = None, until: dt.date | None = None) -> TrainResult:
    """Train the shared model on consenting tenants and an own model per other tenant.

    Governance: a tenant with ``share_training_data: false`` is never queried for the shared
    frame (its id is not even bound into the SQL), and the frame's tenant set is asserted.
    ``until``: train as of that date, with only the data (and outcomes) known then.
    Every tenant's status and reason is kept in ``<home>/state/models/<model>.json`` (what
    ``models evaluate`` and ``--train auto`` read).
    """
    fingerprint = training_fingerprint(spec, home, tenants, until)
    sharing = sorted(t.id for t in tenants.values() if t.share_training_data)
    private = sorted(t.id for t in tenants.values() if not t.share_training_data)
    tparams = tenant_params_of(spec, tenants)
    runs: list[RunSummary] = []
    status: dict[str, str] = {}
    reasons: dict[str, str] = {}
    with warehouse(home) as con:
        frames = {}
        if sharing:
            frames[None] = build_frame(spec, con, sharing, until, tparams)
            leaked = set(frames[None]["tenant_id"]) - set(sharing)
            if leaked:  # the SQL must filter by $tenants; refuse to train if it did not
                raise RuntimeError(f"model={spec.name}: shared frame holds non-sharing "
                                   f"tenants {sorted(leaked)}")
        for tid in private:
            frames[tid] = build_frame(spec, con, [tid], until, tparams)
    for tid, frame in frames.items():
        scope = "shared" if tid is None else "tenant"
        s = _fit_and_log(spec, home, frame, registered_name(spec, tid), scope, params, until)
        if tid is not None:
            s.tenants = [tid]
        if s.status != "trained":
            log.warning("model=%s tenant_id=%s: not enough data: %s", spec.name,
                        tid or ",".join(sharing), s.reason)
        runs.append(s)
    shared = runs[0] if sharing and runs else None
    present = set(shared.tenants) if shared else set()
    for tid in sharing:
        if tid not in present:
            status[tid], reasons[tid] = "no_data", _no_data_reason(spec)
        elif shared.status == "trained":
            status[tid], reasons[tid] = "shared", ""
        else:
            status[tid], reasons[tid] = "not_enough_data", shared.reason
    for s in runs:
        if s.scope == "tenant":
            tid = s.registered_model.split("__", 1)[1]
            if s.status == "trained":
                status[tid], reasons[tid] = "own_model", ""
            elif s.rows == 0 and not s.windows:
                status[tid], reasons[tid] = "no_data", _no_data_reason(spec)
            else:
                status[tid], reasons[tid] = "not_enough_data", s.reason
    result = TrainResult(model=spec.name, runs=runs, tenant_status=status)
    result.tenant_reason = reasons
    _write_state(spec, home, {
        "model": spec.name, "fingerprint": fingerprint,
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "as_of": until.isoformat() if until else None,
        "tenant_status": status, "tenant_reason": reasons,
        "runs": [{"registered_model": r.registered_model, "scope": r.scope, "status": r.status,
                  "reason": r.reason, "version": r.version, "tenants": r.tenants,
                  "windows": r.windows, "lift": r.lift} for r in runs]})
    return result


def _no_data_reason(spec: ModelSpec) -> str:
    marts = ", ".join(spec.marts) if spec.marts else "its source data"
    return f"no {spec.name} data: nothing to learn from in what it reads ({marts})"


def state_path(spec: ModelSpec, home: Home) -> Path:
    return home.root / "state" / "models" / f"{spec.name}.json"


def _write_state(spec: ModelSpec, home: Home, state: dict) -> None:
    with atomic_write(state_path(spec, home)) as tmp:
        tmp.write_text(json.dumps(state, indent=1, default=str))


def read_state(spec: ModelSpec, home: Home) -> dict | None:
    p = state_path(spec, home)
    return json.loads(p.read_text()) if p.exists() else None


def training_fingerprint(spec: ModelSpec, home: Home, tenants: Mapping[str, TenantConfig],
                         until: dt.date | None = None) -> str:
    """What a training run depends on: the model code (every ``models_ml`` module), each
    tenant's sharing choice and model parameters from its YAML, and the data in the marts the
    model reads (row count and a hash of every row, per tenant). Equal fingerprints mean
    retraining would give the same model, so ``--train auto`` skips it."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    tparams = tenant_params_of(spec, tenants)
    h.update(json.dumps({tid: [cfg.share_training_data, tparams.get(tid, {})]
                         for tid, cfg in sorted(tenants.items())}, sort_keys=True).encode())
    h.update(str(until).encode())
    ids = sorted(tenants)
    if home.warehouse.exists():
        with warehouse(home) as con:
            for mart in spec.marts or tuple(MARTS):
                rows = con.execute(  # mart names come from the spec, never from input
                    f"SELECT tenant_id, count(*), bit_xor(hash(m)) FROM {mart} AS m "
                    "WHERE list_contains($t, tenant_id) GROUP BY 1 ORDER BY 1",
                    {"t": ids}).fetchall()
                h.update(f"{mart}:{rows!r}".encode())
    return h.hexdigest()[:24]


def needs_training(home: Home, tenants: Mapping[str, TenantConfig],
                   specs: Mapping[str, ModelSpec] | None = None) -> dict[str, str]:
    """Models that ``--train auto`` must retrain, each with why (empty: nothing changed).

    A model is retrained when it was never trained here, when its data, code or the tenants'
    configuration changed since (:func:`training_fingerprint`), or when its champion needs
    features the code no longer computes. A tenant that keeps its data to itself, or whose
    history gave no model, is no reason to retrain by itself.
    """
    if specs is None:
        from models_ml import SPECS as specs
    out = {}
    for name, spec in specs.items():
        state = read_state(spec, home)
        if state is None:
            out[name] = "never trained"
        elif state.get("as_of"):
            out[name] = f"last trained as of {state['as_of']}, not on the newest data"
        elif state.get("fingerprint") != training_fingerprint(spec, home, tenants):
            out[name] = "data, model code or tenant configuration changed"
        elif stale_champions(spec, home):
            out[name] = "champion needs features the code no longer computes"
    return out


# ------------------------------------------------------------------------------ evaluate & promote


def _client(home: Home):
    mlflow = _mlflow(home)
    return mlflow, mlflow.MlflowClient()


def _version(client, name: str, version: str | None):
    if version is not None:
        return client.get_model_version(name, str(version))
    versions = client.search_model_versions(f"name = '{_quote(name)}'")
    if not versions:
        raise LookupError(f"no registered versions of {name!r}; run `tenantlake models train`")
    return max(versions, key=lambda v: int(v.version))


def _quote(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9_-]+", name):
        raise ValueError(f"invalid registered model name {name!r}")
    return name


def _missing_features(spec: ModelSpec, features: list[str]) -> list[str]:
    return [f for f in features if f not in spec.feature_labels]


def _champion(client, name: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def champion_version(spec: ModelSpec, home: Home, tenant_id: str | None = None) -> str | None:
    """The version behind the ``champion`` alias (shared, or a tenant's own), if any."""
    _, client = _client(home)
    champ = _champion(client, registered_name(spec, tenant_id))
    return str(champ.version) if champ else None


def latest_version(spec: ModelSpec, home: Home, tenant_id: str | None = None) -> str | None:
    """The newest registered version (trained, promoted or not), if any."""
    _, client = _client(home)
    try:
        return str(_version(client, registered_name(spec, tenant_id), None).version)
    except LookupError:
        return None


def stale_champions(spec: ModelSpec, home: Home) -> list[str]:
    """Registered models of ``spec`` (shared and tenants' own) whose champion needs features
    this code no longer computes: they must be retrained before anything is scored."""
    mlflow, client = _client(home)
    out = []
    for rm in client.search_registered_models(f"name LIKE '{_quote(spec.name)}%'"):
        if rm.name != spec.name and not rm.name.startswith(f"{spec.name}__"):
            continue
        champ = _champion(client, rm.name)
        if champ is not None and _missing_features(
                spec, _load_json(mlflow, champ.run_id, "features.json")["features"]):
            out.append(rm.name)
    return sorted(out)


def _load_json(mlflow, run_id: str, artifact: str) -> dict:
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact)
    return json.loads(Path(path).read_text())


def evaluate(spec: ModelSpec, home: Home, tenant_id: str | None = None,
             version: str | None = None) -> dict:
    """The backtest table of a registered version (default: the newest) from MLflow."""
    mlflow, client = _client(home)
    name = registered_name(spec, tenant_id)
    mv = _version(client, name, version)
    return _report(spec, mlflow, client, name, mv)


def _report(spec: ModelSpec, mlflow, client, name: str, mv) -> dict:
    champ = _champion(client, name)
    bt = _load_json(mlflow, mv.run_id, "backtest.json")
    run = client.get_run(mv.run_id)
    tags = client.get_model_version(name, mv.version).tags
    return {"model": spec.name, "registered_model": name, "version": mv.version,
            "champion_version": champ.version if champ else None,
            "baseline": spec.baseline_name, "run_id": mv.run_id,
            "tenants": run.data.tags.get("tenantlake.tenants", "").split(","),
            "data_window": [run.data.params.get("data_window_start"),
                            run.data.params.get("data_window_end")],
            "trained_as_of": run.data.params.get("trained_as_of"),
            "windows": bt.get("windows", {}), "lift": bt.get("lift", {}),
            "promotion": {k: tags.get(k) for k in ("promotion_decision", "promotion_reason",
                                                   "lift_ci_low", "lift_ci_high")},
            "table": bt["table"], "folds": bt["folds"]}


def evaluate_tenants(spec: ModelSpec, home: Home, tenant_ids: list[str]) -> list[dict]:
    """For every tenant: what it is served and that version's backtest, or the reason there
    is none (``status``: ``model`` | ``baseline`` | ``not_enough_data`` | ``no_data`` |
    ``not_trained`` | ``stale``)."""
    mlflow, client = _client(home)
    state = read_state(spec, home) or {}
    out = []
    for tid in sorted(tenant_ids):
        validate_tenant_id(tid)
        rep: dict[str, Any] = {"model": spec.name, "tenant_id": tid}
        if state.get("tenant_status", {}).get(tid) == "no_data":
            out.append({**rep, "status": "no_data", "reason": tenant_reason(spec, home, tid),
                        "backtest": None})
            continue
        try:
            served = load_served(spec, home, tid)
        except StaleChampionError as exc:
            out.append({**rep, "status": "stale", "reason": str(exc), "backtest": None})
            continue
        except NoChampionError:
            st = state.get("tenant_status", {}).get(tid)
            status = {"no_data": "no_data", None: "not_trained"}.get(st, "not_enough_data")
            out.append({**rep, "status": status, "reason": tenant_reason(spec, home, tid),
                        "backtest": None})
            continue
        version = served.version.split("@v")[-1]
        mv = client.get_model_version(served.registered_model, version)
        bt = _report(spec, mlflow, client, served.registered_model, mv)
        out.append({**rep, "status": served.kind, "registered_model": served.registered_model,
                    "version": served.version,
                    "reason": served.reason or f"champion v{served.version}", "backtest": bt})
    return out


@dataclass(frozen=True)
class PromotionDecision:
    registered_model: str
    challenger_version: str
    champion_version: str | None
    metric: str
    challenger: float
    champion: float | None
    baseline: float
    promoted: bool
    reason: str
    #: Bootstrap interval of the challenger's lift over the baseline (low, high).
    lift_ci: tuple[float, float] | None = None


def decide(challenger: float, champion: float | None, baseline: float,
           min_gain: float = 0.0, lower_is_better: bool = False,
           lift_ci: tuple[float, float] | None = None) -> tuple[bool, str]:
    """The promotion rule, on one metric of the same backtest.

    The challenger must beat the planner's baseline with skill, not luck: its lift must be
    positive and, when the backtest gave a bootstrap interval of the lift (``lift_ci``, over
    entities within folds), the whole interval must lie above zero. It must also beat the
    champion, if there is one, by more than ``min_gain``. Ties keep the champion.
    """
    sign = -1 if lower_is_better else 1
    if sign * (challenger - baseline) <= 0:
        return False, f"does not beat the baseline ({challenger:.4f} vs {baseline:.4f})"
    if lift_ci is not None and not lift_ci[0] > 0:
        return False, (f"lift over the baseline is not clearly above zero ({challenger:.4f} vs "
                       f"{baseline:.4f}; 95% interval of the lift {lift_ci[0]:+.4f} to "
                       f"{lift_ci[1]:+.4f})")
    ci = (f"; lift interval {lift_ci[0]:+.4f} to {lift_ci[1]:+.4f}" if lift_ci else "")
    if champion is None:
        return True, (f"beats the baseline ({challenger:.4f} vs {baseline:.4f}{ci}); "
                      "no champion yet")
    ok = sign * (challenger - champion) > min_gain
    return ok, ("beats" if ok else "does not beat") + \
        f" the champion ({challenger:.4f} vs {champion:.4f}, min gain {min_gain}{ci})"


def promote(spec: ModelSpec, home: Home, tenant_id: str | None = None,
            version: str | None = None, min_gain: float = 0.0) -> PromotionDecision:
    """Move the ``champion`` alias to a challenger only if it wins on the same backtest.

    When the champion was backtested on other data (an older run), its recipe (params and
    feature list) is re-run on the challenger's rows, so the two are compared like for like.
    The decision, its reason and the lift interval are kept as tags on the challenger's
    version (the promotion record).
    """
    mlflow, client = _client(home)
    name = registered_name(spec, tenant_id)
    chall = _version(client, name, version)
    champ = _champion(client, name)
    metric = spec.primary_metric
    lower = lower_is_better(metric)
    c_run = client.get_run(chall.run_id)
    c_val = c_run.data.metrics[f"mean_model_{metric}"]
    b_val = c_run.data.metrics[f"mean_baseline_{metric}"]
    ci = ((c_run.data.metrics["lift_ci_low"], c_run.data.metrics["lift_ci_high"])
          if "lift_ci_low" in c_run.data.metrics else None)
    champ_val = None
    if champ is not None and champ.version == chall.version:
        return PromotionDecision(name, str(chall.version), str(champ.version), metric, c_val,
                                 c_val, b_val, False, "already champion", ci)
    champ_features = (_load_json(mlflow, champ.run_id, "features.json")["features"]
                      if champ is not None else [])
    stale = _missing_features(spec, champ_features)
    if champ is not None and not stale:
        k_run = client.get_run(champ.run_id)
        same = (k_run.data.tags.get("tenantlake.backtest_key")
                == c_run.data.tags.get("tenantlake.backtest_key"))
        if same:
            champ_val = k_run.data.metrics[f"mean_model_{metric}"]
        else:
            champ_val = _rerun_champion(spec, home, mlflow, champ.run_id, champ_features,
                                        c_run.data.tags["tenantlake.tenants"].split(","))
    ok, reason = decide(c_val, champ_val, b_val, min_gain, lower, ci)
    if stale:  # the champion cannot be served by this code: only the baseline is to beat
        reason = reason.replace("; no champion yet", "") + (
            f"; champion v{champ.version} is stale: it needs features this code no longer "
            f"computes ({', '.join(stale)})")
    if ok:
        client.set_registered_model_alias(name, CHAMPION, chall.version)
        client.set_model_version_tag(name, chall.version, "promoted_at",
                                     dt.datetime.now(dt.timezone.utc).isoformat())
    for k, v in (("promotion_decision", "promoted" if ok else "not_promoted"),
                 ("promotion_reason", reason[:4000]),
                 ("lift_ci_low", "" if ci is None else f"{ci[0]:.4f}"),
                 ("lift_ci_high", "" if ci is None else f"{ci[1]:.4f}")):
        client.set_model_version_tag(name, chall.version, k, v)
    log.info("model=%s registered=%s challenger=v%s champion=%s promoted=%s: %s", spec.name,
             name, chall.version, champ.version if champ else None, ok, reason)
    return PromotionDecision(name, str(chall.version), str(champ.version) if champ else None,
                             metric, c_val, champ_val, b_val, ok, reason, ci)


def _rerun_champion(spec, home, mlflow, run_id: str, features: list[str],
                    tenant_ids: list[str]) -> float:
    params = _load_json(mlflow, run_id, "params.json")
    with warehouse(home) as con:  # every feature is computed: promote() checked staleness
        frame = build_frame(spec, con, tenant_ids)
    return backtest(spec, frame, params, features).mean("model", spec.primary_metric)


# ------------------------------------------------------------------------------ scoring


@dataclass(frozen=True)
class ScoreResult:
    path: Path
    rows: int
    model_version: str
    registered_model: str = ""
    #: "model" (the champion) or "baseline" (the rule, because no model showed skill)
    served: str = "model"
    reason: str = ""


@dataclass(frozen=True)
class LoadedModel:
    registered_model: str
    version: str
    run_id: str
    booster: Any
    reference: dict
    #: "model", or "baseline": the planner's rule, calibrated on the newest trained version's
    #: rows, served because no version showed skill over it (``reason`` says why).
    kind: str = "model"
    reason: str = ""

    @property
    def prior(self) -> RulePrior | None:
        d = self.reference.get("baseline_prior")
        return (RulePrior(tuple(d["x"]), tuple(d["y"]), *(d.get(k, b) for k, b in
                                                         zip(("lo", "hi"), START_BOUNDS)))
                if d else None)

    @property
    def calibration(self) -> RulePrior:
        d = self.reference["baseline_calibration"]
        return RulePrior(tuple(d["x"]), tuple(d["y"]), d.get("lo", 0.0), d.get("hi", 1.0))

    @property
    def bands(self) -> dict:
        return self.reference.get("bands" if self.kind == "model" else "baseline_bands", {})

    def predict(self, spec: ModelSpec, X: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
        """Probabilities; ``frame`` carries the rule's inputs when the model starts from it."""
        if self.kind == "baseline":
            return self.calibration.proba(_rule_score(spec, frame))
        prior = self.prior
        rule = _rule_score(spec, frame) if prior is not None else None
        return predict_proba(self.booster, prior, X, rule)


def load_champion(spec: ModelSpec, home: Home, tenant_id: str) -> LoadedModel:
    """The tenant's own champion if it has one, else the shared champion.

    A tenant that keeps its data to itself may still be *scored* by the shared model (no
    data leaves the tenant at scoring); its own model wins as soon as it has one.
    """
    mlflow, client = _client(home)
    for name in (registered_name(spec, tenant_id), registered_name(spec)):
        champ = _champion(client, name)
        if champ is not None:
            return _load_version(spec, mlflow, name, champ, tenant_id)
    raise NoChampionError(
        f"tenant_id={tenant_id}: no champion for model {spec.name!r} (shared or own); "
        f"run `tenantlake models train --model {spec.name}` then `tenantlake models promote`")


def tenant_reason(spec: ModelSpec, home: Home, tenant_id: str) -> str:
    """Why the last training gave this tenant no model (from the training state)."""
    state = read_state(spec, home) or {}
    why = state.get("tenant_reason", {}).get(tenant_id)
    if why:
        return why
    return ("never trained" if not state else
            f"the tenant was not in the last training ({state.get('trained_at')})")


def load_served(spec: ModelSpec, home: Home, tenant_id: str) -> LoadedModel:
    """What this tenant is served, in this order:

    1. its own champion;
    2. its own rule, when it has an own backtest but no version showed skill over the
       planner's rule there (calibrated on that version's rows, labelled, with the reason);
    3. the shared champion: for a tenant the shared model was backtested on, or, labelled as
       such, for a tenant without an own backtest (its skill there is not measured);
    4. the shared rule, for a tenant the shared model was backtested on.

    Otherwise (no data, or not enough data and no shared model) it raises
    :class:`NoChampionError` naming what is missing ("not enough data: ...").
    """
    mlflow, client = _client(home)
    own, shared = registered_name(spec, tenant_id), registered_name(spec)

    def newest(name):
        try:
            return _version(client, name, None)
        except LookupError:
            return None

    def champion(name):
        champ = _champion(client, name)
        if champ is None:
            return None
        return _load_version(spec, mlflow, name, champ, tenant_id)

    def rule(name, mv):
        ref = _load_json(mlflow, mv.run_id, "reference.json")
        if "baseline_calibration" not in ref:
            return None
        why = client.get_model_version(name, mv.version).tags.get("promotion_reason") or \
            "not promoted yet (run `tenantlake models promote`)"
        return LoadedModel(name, f"baseline@v{mv.version}", mv.run_id, None, ref,
                           kind="baseline",
                           reason=f"{spec.baseline_name} served: v{mv.version} {why}")

    got = champion(own)
    if got is not None:
        return got
    mv = newest(own)
    if mv is not None and (got := rule(own, mv)) is not None:
        return got
    got = champion(shared)
    if got is not None:
        tenants = client.get_run(got.run_id).data.tags.get("tenantlake.tenants", "").split(",")
        if tenant_id not in tenants:
            got = dataclasses.replace(got, reason=(
                f"shared model v{got.version}, not backtested on this tenant "
                f"({tenant_reason(spec, home, tenant_id)})"))
        return got
    mv = newest(shared)
    if mv is not None and tenant_id in client.get_run(mv.run_id).data.tags.get(
            "tenantlake.tenants", "").split(","):
        got = rule(shared, mv)
        if got is not None:
            return got
    raise NoChampionError(f"tenant_id={tenant_id}: {spec.name}: not enough data: "
                          f"{tenant_reason(spec, home, tenant_id)}")


def _load_version(spec: ModelSpec, mlflow, name: str, champ, tenant_id: str) -> LoadedModel:
    """Load the champion version ``champ`` of registered model ``name``; refuse a stale one."""
    ref = _load_json(mlflow, champ.run_id, "reference.json")
    stale = _missing_features(spec, ref["features"])
    if stale:
        raise StaleChampionError(
            f"tenant_id={tenant_id}: champion v{champ.version} of {name!r} needs features "
            f"this code no longer computes ({', '.join(stale)}); retrain and promote: "
            f"`tenantlake models train --model {spec.name}` then "
            f"`tenantlake models promote --model {spec.name}`")
    booster = mlflow.lightgbm.load_model(f"models:/{name}@{CHAMPION}")
    return LoadedModel(name, str(champ.version), champ.run_id, booster, ref)


OUTPUT_COLUMNS = ["probability", "risk_band", "horizon_days", "model_name", "model_version",
                  "reason_1", "reason_2", "reason_3", "status", "band_precision", "served_by",
                  "serving_note"]


def score_frame(spec: ModelSpec, model: LoadedModel, feats: pd.DataFrame) -> pd.DataFrame:
    """Probabilities, risk bands and reasons for a feature frame (pure; no I/O).

    Rows outside the model's scope (``spec.in_scope``) get ``spec.scope_status`` as status and
    band, no probability, and the status's reason (e.g. "out of stock now").
    """
    features = model.reference["features"]
    F = _as_float(feats.copy(), features).reset_index(drop=True)
    keys = ["tenant_id", *spec.unit]
    out = F[keys].copy()
    out["as_of"] = pd.to_datetime(F["as_of"]).dt.date
    n = len(F)
    scope = _scope_mask(spec, F)
    p = np.full(n, np.nan)
    band = np.full(n, spec.scope_status, dtype=object)
    prec = np.full(n, np.nan)
    reasons: list[list[str]] = [[] for _ in range(n)]
    if not scope.all() and spec.scope_reason is not None:
        why = spec.scope_reason(F[~scope]).tolist()
        for i, r in zip(np.nonzero(~scope)[0], why):
            reasons[i] = [r]
    tenants = F["tenant_id"].unique()
    tid = tenants[0] if len(tenants) == 1 else None
    if scope.any():
        Fi = F[scope].reset_index(drop=True)
        X = Fi[features]
        prof = model.reference.get("by_tenant", {}).get(tid) if tid else None
        medians = dict((prof or model.reference)["medians"])
        if model.kind == "baseline":
            pi = model.predict(spec, X, Fi)
            ri = rule_reasons(spec, Fi, medians)
        else:
            prior = model.prior
            rule = _rule_score(spec, Fi) if prior is not None else None
            pi = predict_proba(model.booster, prior, X, rule)
            contrib = model.booster.predict(X, pred_contrib=True)
            labels = dict(spec.feature_labels)
            if prior is not None:  # the rule's start is a reason too, measured like a feature's
                ref = model.reference["baseline_prior"]
                X = X.assign(**{RULE_REASON: np.where(rule == _NO_RULE_SCORE, np.nan, rule)})
                push = prior.logit(rule) - ref["mean_logit"]
                contrib = np.column_stack([contrib[:, :-1], push, contrib[:, -1]])
                medians[RULE_REASON] = ref["median_score"]
                labels[RULE_REASON] = f"The {spec.baseline_name}"
            ri = top_reasons(spec, X, contrib, medians, labels=labels, rows=Fi)
        bi, preci = risk_band(spec, pi, model.bands, tid)
        idx = np.nonzero(scope)[0]
        p[idx], band[idx], prec[idx] = pi, bi, preci
        for i, r in zip(idx, ri):
            reasons[i] = r
    out["probability"] = p.astype("float64")
    out["risk_band"] = band
    out["horizon_days"] = spec.horizon_days
    out["model_name"] = model.registered_model
    out["model_version"] = model.version
    for i in range(3):
        out[f"reason_{i + 1}"] = [r[i] if len(r) > i else None for r in reasons]
    out["status"] = np.where(scope, "scored" if model.kind == "model" else "baseline",
                             spec.scope_status)
    out["band_precision"] = prec
    out["served_by"] = "model" if model.kind == "model" else "baseline"
    out["serving_note"] = model.reason or f"champion v{model.version}"
    for c in spec.output_columns:
        out[c] = F[c].to_numpy() if c in F.columns else None
    if spec.worklist_amount:
        out["expected_overdue_amount"] = (F[spec.worklist_amount].to_numpy(dtype=float)
                                          * out["probability"].to_numpy())
        order = ["expected_overdue_amount", "probability"]
    else:
        order = ["probability"]
    return out.sort_values([*order, *keys], ascending=[False] * len(order) + [True] * len(keys),
                           kind="stable", na_position="last").reset_index(drop=True)


def write_table(df: pd.DataFrame, target: Path) -> Path:
    """CSV or Parquet by the file's suffix, written to a temp name and renamed into place."""
    target = Path(target)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"{target}: the output must end in .csv or .parquet")
    with atomic_write(target) as tmp:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    return target


def score(spec: ModelSpec, home: Home, tenant: TenantConfig, as_of: dt.date,
          output: Path | None = None) -> ScoreResult:
    """Score every unit of one tenant as of a date, from data dated on or before it only, and
    publish the partition atomically (or write ``output``, CSV or Parquet, instead).

    Current-state exclusions (a customer blocked today) apply only when scoring the newest
    data: a past date is scored as it was.
    """
    model = load_served(spec, home, tenant.id)
    tparams = tenant_params_of(spec, {tenant.id: tenant})
    with warehouse(home) as con:
        feats = features_at(spec, con, [tenant.id], as_of, tparams)
        span = data_span(spec, con, [tenant.id])
        newest = span.empty or as_of >= max(span["last_date"])
        if spec.exclude_at_scoring_sql and len(feats) and newest:
            drop = _run(con, spec.exclude_at_scoring_sql, tenants=[tenant.id])
            if len(drop):
                keys = ["tenant_id", *spec.unit]
                m = feats.merge(drop.drop_duplicates().assign(_drop=1), on=keys, how="left")
                feats = feats[m["_drop"].isna().to_numpy()]
    out = score_frame(spec, model, feats)
    if output is not None:
        target = write_table(out, output)
    else:
        target = lake_path(home.lake, "predictions", spec.name, tenant.id, as_of) / "part.parquet"
        with atomic_write(target) as tmp:
            out.to_parquet(tmp, index=False)
    log.info("model=%s tenant_id=%s as_of=%s rows=%d served=%s version=%s path=%s", spec.name,
             tenant.id, as_of, len(out), model.kind, model.version, target)
    return ScoreResult(path=target, rows=len(out), model_version=model.version,
                       registered_model=model.registered_model, served=model.kind,
                       reason=model.reason)


def latest_data_date(spec: ModelSpec, home: Home, tenant_id: str) -> dt.date | None:
    """Newest date of the data the model reads for a tenant (the natural scoring date)."""
    with warehouse(home) as con:
        span = data_span(spec, con, [validate_tenant_id(tenant_id)])
    return None if span.empty else max(span["last_date"])


# ------------------------------------------------------------------------------ drift


def drift_report(model: str | ModelSpec, tenant_id: str, home: Home,
                 as_of: dt.date | None = None, threshold: float = PSI_FAIL,
                 n_cutoffs: int = 4) -> dict:
    """PSI of each feature and of the score, this tenant now vs the champion's training data.

    Meant as a Dagster asset check: ``passed`` is false when the score or any feature drifts
    past ``threshold`` (0.25, the usual "significant shift"); ``failing`` names them. "Now" is
    the last ``n_cutoffs`` cut-offs up to ``as_of`` (default: the tenant's newest data), so a
    tenant with few units still gives a sample worth binning; under 300 rows, quintiles are
    compared instead of deciles, and under ``DRIFT_MIN_ROWS`` (a handful of projects) the PSI
    values are reported with status ``too_few_rows`` but do not fail the check.
    """
    if isinstance(model, str):
        from models_ml import SPECS

        spec = SPECS[model]
    else:
        spec = model
    validate_tenant_id(tenant_id)
    loaded = load_champion(spec, home, tenant_id)
    as_of = as_of or latest_data_date(spec, home, tenant_id)
    base = {"model": spec.name, "tenant_id": tenant_id,
            "registered_model": loaded.registered_model, "model_version": loaded.version,
            "threshold": threshold, "features": {}, "score_psi": None, "failing": []}
    if as_of is None:
        return {**base, "as_of": None, "rows": 0, "passed": True, "status": "no_data"}
    with warehouse(home) as con:
        parts = [features_at(spec, con, [tenant_id],
                             as_of - dt.timedelta(days=k * spec.cutoff_every_days))
                 for k in range(n_cutoffs)]
    feats = pd.concat(parts, ignore_index=True)
    feats = feats[_scope_mask(spec, feats)]  # compared like the training rows: in scope only
    if feats.empty:
        return {**base, "as_of": as_of.isoformat(), "rows": 0, "passed": True,
                "status": "no_rows"}
    ref = loaded.reference
    own = ref.get("by_tenant", {}).get(tenant_id)
    prof = own if own and own["score"]["10"]["edges"] else ref
    n_bins = 10 if len(feats) >= 300 else 5
    F = _as_float(feats.copy(), ref["features"])
    X = F[ref["features"]]
    per_feature = {f: _psi_of(prof["bins"][f], X[f], n_bins) for f in ref["features"]}
    score_psi = _psi_of(prof["score"], loaded.predict(spec, X, F), n_bins)
    failing = sorted(f for f, v in per_feature.items()
                     if v > threshold and f not in spec.context_features)
    if score_psi > threshold:
        failing = ["<score>", *failing]
    small = len(feats) < DRIFT_MIN_ROWS
    status = "too_few_rows" if small else ("drift" if failing else "ok")
    if failing:
        log.warning("model=%s tenant_id=%s drift (%s, %d rows): %s", spec.name, tenant_id,
                    status, len(feats), ", ".join(failing))
    return {**base, "as_of": as_of.isoformat(), "rows": int(len(feats)), "bins": n_bins,
            "reference": "tenant" if prof is own else "pooled",
            "features": per_feature, "context": list(spec.context_features),
            "score_psi": score_psi, "failing": failing,
            "passed": small or not failing, "status": status}
