"""The rule builder: a tenant's alert rules over its scored predictions and KPI values.

Everything is read through :func:`read_predictions` / :func:`read_kpis`, the one tenant-scoped
read path of the alert builder: the tenant's own partition (validated by
:func:`tenantlake.lake.lake_path`) *and* a bound ``tenant_id`` filter, so a stray row of
another tenant can never become an alert. Predictions are read generically by model name (any
model scored under ``lake/predictions/<model>/``), newest scoring date first.

A candidate's window is its scoring date (models) or KPI period; with the rule and entity it
makes the idempotency key, so building the same day twice changes nothing. Per entity, a rule
stays quiet for ``cooldown_days`` after it alerted; per day it creates at most ``max_per_day``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tenantlake.alerts import outbox
from tenantlake.alerts.outbox import Candidate
from tenantlake.lake import lake_path
from tenantlake.settings import Home
from tenantlake.tenants import AlertFilter, AlertRule, TenantConfig, validate_tenant_id

log = logging.getLogger(__name__)

_DATE_DIR_RE = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
#: Columns of a predictions file that are not part of the entity key.
PREDICTION_META = {"tenant_id", "as_of", "as_of_date", "probability", "risk_band", "band",
                   "horizon_days", "model_name", "model_version", "registered_model",
                   "scored_at", "prediction", "score"}
#: Known entity keys (used when a file's column order does not reveal them).
MODEL_UNITS = {"stockout": ("sku", "location_id"), "churn": ("customer_id",),
               "project_failure": ("project_id",), "late_payment": ("invoice_id",)}


class RuleError(ValueError):
    """A rule that cannot be evaluated on this tenant's data (names tenant, rule, field)."""


@dataclass
class Predictions:
    model: str
    date: str
    path: str
    frame: pd.DataFrame


def latest_prediction_date(home: Home, tenant_id: str, model: str) -> str | None:
    folder = lake_path(home.lake, "predictions", model, tenant_id)
    if not folder.is_dir():
        return None
    dates = sorted(m.group(1) for p in folder.iterdir()
                   if (m := _DATE_DIR_RE.fullmatch(p.name)) and (p / "part.parquet").is_file())
    return dates[-1] if dates else None


def read_predictions(home: Home, tenant_id: str, model: str,
                     date: str | None = None) -> Predictions | None:
    """One tenant's scored predictions of ``model`` (latest scoring date unless given)."""
    import duckdb

    validate_tenant_id(tenant_id)
    date = date or latest_prediction_date(home, tenant_id, model)
    if date is None:
        return None
    path = lake_path(home.lake, "predictions", model, tenant_id, date) / "part.parquet"
    if not path.is_file():
        return None
    with duckdb.connect(":memory:") as con:
        df = con.execute("SELECT * FROM read_parquet($path, hive_partitioning = false) "
                         "WHERE tenant_id = $tenant", {"path": str(path),
                                                       "tenant": tenant_id}).df()
    return Predictions(model, date, str(path.relative_to(home.lake)), df)


def read_kpis(home: Home, tenant_id: str, kpi: str, grain: str) -> pd.DataFrame | None:
    """One tenant's values of one KPI at one grain (serving Parquet, tenant-scoped)."""
    from tenantlake.serving import kpi_values

    return kpi_values(home, validate_tenant_id(tenant_id), grain=grain, kpis=[kpi])


def entity_columns(frame: pd.DataFrame, model: str, rule: AlertRule) -> list[str]:
    """The entity key: the rule's ``entity``, else the columns the scorer writes between
    ``tenant_id`` and the first non-key column, else the model's known unit."""
    if rule.entity:
        missing = [c for c in rule.entity if c not in frame.columns]
        if missing:
            raise RuleError(f"rule {rule.name!r}: entity column(s) {', '.join(missing)} not in "
                            f"the {model} predictions (columns: {', '.join(frame.columns)})")
        return list(rule.entity)
    cols = list(frame.columns)
    keys: list[str] = []
    for c in cols[1:] if cols and cols[0] == "tenant_id" else []:
        if c in PREDICTION_META or c.startswith("reason_"):
            break
        keys.append(c)
    if keys:
        return keys
    known = [c for c in MODEL_UNITS.get(model, ()) if c in frame.columns]
    if known:
        return known
    raise RuleError(f"rule {rule.name!r}: cannot tell the entity columns of the {model} "
                    "predictions; set 'entity: [column, ...]' on the rule")


_OPS = {
    "eq": lambda s, v: s == v, "ne": lambda s, v: s != v,
    "in": lambda s, v: s.isin(v if isinstance(v, list) else [v]),
    "not_in": lambda s, v: ~s.isin(v if isinstance(v, list) else [v]),
    "gt": lambda s, v: s > v, "ge": lambda s, v: s >= v,
    "lt": lambda s, v: s < v, "le": lambda s, v: s <= v,
}


def apply_filters(frame: pd.DataFrame, filters: list[AlertFilter], rule: str) -> pd.DataFrame:
    for f in filters:
        if f.field not in frame.columns:
            raise RuleError(f"rule {rule!r}: filter field {f.field!r} is not a column "
                            f"(columns: {', '.join(frame.columns)})")
        frame = frame[_OPS[f.op](frame[f.field], f.value).fillna(False).astype(bool)]
    return frame


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, (dt.datetime, pd.Timestamp)):  # a date read back as midnight stays a date
        return v.date().isoformat() if v == pd.Timestamp(v).normalize() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return round(v, 6)
    return v


@dataclass
class BuildResult:
    tenant_id: str
    candidates: list[Candidate] = field(default_factory=list)
    #: rule -> what happened (e.g. "no predictions yet", "12 over threshold, 3 in cooldown").
    notes: dict[str, str] = field(default_factory=dict)


def build_candidates(home: Home, tenant: TenantConfig, *, now: dt.datetime,
                     url: str | None = None) -> BuildResult:
    """Every candidate alert of every rule of ``tenant`` (before the outbox dedupes them)."""
    res = BuildResult(tenant.id)
    for rule in tenant.alerts.rules:
        try:
            if rule.model:
                cands, note = _model_rule(home, tenant, rule, now, url)
            else:
                cands, note = _kpi_rule(home, tenant, rule, now, url)
        except RuleError as exc:
            log.warning("tenant_id=%s rule=%s: %s", tenant.id, rule.name, exc)
            res.notes[rule.name] = f"error: {exc}"
            continue
        res.candidates += cands
        res.notes[rule.name] = note
    return res


def _budget(tenant: TenantConfig, rule: AlertRule, now: dt.datetime, url: str | None,
            ranked: list[tuple[dict, str, Any]]) -> tuple[list[tuple[dict, str, Any]], str]:
    """Apply cooldown (per entity) and the daily budget to ranked (entity, window, row)."""
    since = now - dt.timedelta(days=rule.cooldown_days)
    recent = outbox.recent_entities(tenant.id, rule.name, since, url=url) \
        if rule.cooldown_days else set()
    recent_entities = {e for e, w in recent}
    same_window = {(e, w) for e, w in recent}
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    left = rule.max_per_day - outbox.created_count(tenant.id, rule.name, day_start, url=url)
    kept, cooled = [], 0
    for entity, window, row in ranked:
        key = outbox.entity_key(entity)
        if (key, window) in same_window:
            kept.append((entity, window, row))  # already in the outbox: rebuild (dedupe there)
            continue
        if key in recent_entities:
            cooled += 1
            continue
        if left <= 0:
            continue
        left -= 1
        kept.append((entity, window, row))
    return kept, f"{len(ranked)} matched, {cooled} in cooldown, {len(kept)} kept"


def _model_rule(home: Home, tenant: TenantConfig, rule: AlertRule, now: dt.datetime,
                url: str | None) -> tuple[list[Candidate], str]:
    assert rule.model is not None
    preds = read_predictions(home, tenant.id, rule.model)
    if preds is None or preds.frame.empty:
        return [], f"no {rule.model} predictions for this tenant yet"
    df = preds.frame
    if "probability" not in df.columns:
        raise RuleError(f"rule {rule.name!r}: the {rule.model} predictions have no probability "
                        "column")
    keys = entity_columns(df, rule.model, rule)
    df = apply_filters(df, rule.filters, rule.name)
    df = df[df["probability"].notna()]
    if rule.min_probability is not None:
        df = df[df["probability"] >= rule.min_probability]
    df = df.sort_values(["probability", *keys], ascending=[False] + [True] * len(keys),
                        kind="stable")
    if rule.top_k is not None:
        df = df.head(rule.top_k)
    window = preds.date
    ranked = []
    for row in df.to_dict("records"):
        entity = {k: _clean(row[k]) for k in keys}
        ranked.append((entity, window, row))
    kept, note = _budget(tenant, rule, now, url, ranked)
    requires = tenant.approval_policy.required_for(rule)
    out = []
    for entity, window, row in kept:
        reasons = tuple(str(row[c]) for c in sorted(df.columns)
                        if c.startswith("reason_") and row.get(c) not in (None, "")
                        and not (isinstance(row.get(c), float) and math.isnan(row[c])))
        version = _clean(row.get("model_version"))
        who = ", ".join(f"{k} {v}" for k, v in entity.items())
        for ch in rule.channel_names:
            key = outbox.idempotency_key(tenant.id, rule.name, entity, window)
            payload = {
                "alert_id": outbox.make_alert_id(key, ch),
                "idempotency_key": key,
                "tenant_id": tenant.id,
                "rule": rule.name,
                "title": f"{rule.name.replace('_', ' ')}: {who}",
                "model": rule.model,
                "model_version": None if version is None else str(version),
                "registered_model": _clean(row.get("model_name")),
                "entity": entity,
                "window": window,
                "as_of": _clean(row.get("as_of", window)),
                "probability": _clean(row["probability"]),
                "risk_band": _clean(row.get("risk_band")),
                "horizon_days": _clean(row.get("horizon_days")),
                "reasons": list(reasons),
            }
            out.append(Candidate(
                tenant_id=tenant.id, rule=rule.name, channel=ch, entity=entity, window=window,
                subject="model", model_name=rule.model,
                model_version=None if version is None else str(version),
                source_ref=f"{preds.path}#{outbox.entity_key(entity)}",
                score=float(row["probability"]), reasons=reasons, payload=payload,
                requires_approval=requires))
    return out, note


def _kpi_rule(home: Home, tenant: TenantConfig, rule: AlertRule, now: dt.datetime,
              url: str | None) -> tuple[list[Candidate], str]:
    assert rule.kpi is not None
    from tenantlake.kpi import kpi_definitions

    df = read_kpis(home, tenant.id, rule.kpi, rule.grain)
    if df is None or df.empty:
        return [], f"no {rule.kpi} values for this tenant yet"
    if "is_available" in df.columns:
        df = df[df["is_available"].fillna(False).astype(bool)]
    df = df[df["value"].notna()]
    if df.empty:
        return [], f"{rule.kpi} is not available for this tenant"
    row = df.sort_values("period_start").iloc[-1].to_dict()
    value = float(row["value"])
    target = tenant.kpi_targets.get(rule.kpi)
    if target is None and row.get("target") is not None and not pd.isna(row.get("target")):
        target = float(row["target"])
    prior = row.get("prior_value")
    prior = None if prior is None or pd.isna(prior) else float(prior)
    why: list[str] = []
    if rule.below is not None and value < rule.below:
        why.append(f"{rule.kpi} {value:.4g} is below {rule.below:g}")
    if rule.above is not None and value > rule.above:
        why.append(f"{rule.kpi} {value:.4g} is above {rule.above:g}")
    if rule.breach_target and target is not None:
        d = kpi_definitions().get(rule.kpi)
        hib = d.higher_is_better if d else None
        if (hib is True and value < target) or (hib is False and value > target):
            why.append(f"{rule.kpi} {value:.4g} misses its target {target:g}")
    if rule.change_above is not None and prior not in (None, 0.0):
        change = (value - prior) / abs(prior)
        if abs(change) > rule.change_above:
            why.append(f"{rule.kpi} changed {change:+.1%} vs the prior period "
                       f"(limit {rule.change_above:.0%})")
    if not why:
        return [], f"{rule.kpi} {value:.4g}: no breach"
    period = pd.Timestamp(row["period_start"]).date().isoformat()
    window = f"{rule.grain}:{period}"
    entity = {"kpi": rule.kpi}
    kept, note = _budget(tenant, rule, now, url, [(entity, window, row)])
    requires = tenant.approval_policy.required_for(rule)
    out = []
    for entity, window, _ in kept:
        key = outbox.idempotency_key(tenant.id, rule.name, entity, window)
        for ch in rule.channel_names:
            payload = {
                "alert_id": outbox.make_alert_id(key, ch), "idempotency_key": key,
                "tenant_id": tenant.id, "rule": rule.name,
                "title": f"{rule.kpi.replace('_', ' ')} breach", "kpi": rule.kpi,
                "entity": entity, "window": window, "grain": rule.grain,
                "period_start": period, "value": round(value, 6),
                "target": target, "prior_value": prior, "reasons": why,
            }
            out.append(Candidate(
                tenant_id=tenant.id, rule=rule.name, channel=ch, entity=entity, window=window,
                subject="kpi", source_ref=f"serving/fct_kpi_values/tenant={tenant.id}"
                f"#{rule.kpi}@{window}", score=value, reasons=tuple(why), payload=payload,
                requires_approval=requires))
    return out, note


def build(home: Home, tenant: TenantConfig, *, now: dt.datetime | None = None,
          url: str | None = None) -> tuple[BuildResult, outbox.EnqueueResult]:
    """Build a tenant's candidates and put them in the outbox."""
    now = outbox._naive(now)
    res = build_candidates(home, tenant, now=now, url=url)
    enq = outbox.enqueue(res.candidates, now=now, url=url)
    log.info("tenant_id=%s alerts built: %d candidates, %d new, %d need re-approval",
             tenant.id, len(res.candidates), len(enq.created), len(enq.reapproval))
    return res, enq
