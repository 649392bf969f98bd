"""Turning data.py's frames into what a page shows: labels, units, formatted values, status.

Pure pandas, no Streamlit and no I/O, so the rules ("not available" is never zero, a target
can come from the mart or the tenant YAML) are unit-tested directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

NOT_AVAILABLE = "not available"
_PERCENT_UNITS = {"%", "percent", "pct", "rate", "ratio", "share", "fraction"}
_ACRONYMS = {"otif", "dso", "dpo", "dio", "sla", "csat", "nps", "po", "sku", "kpi", "ai", "erp",
             "crm", "eta"}
_LOWER_IS_BETTER_HINTS = ("cycle_time", "backorder", "exception", "manual_touches", "dso",
                          "dispute", "first_response", "failure", "slippage", "stockout",
                          "ticket", "days_sales")


def pretty(name: str) -> str:
    """``otif_rate`` -> ``OTIF rate``; short all-consonant words read as acronyms."""
    words = str(name).replace("-", "_").split("_")
    out = []
    for i, w in enumerate(words):
        if w.lower() in _ACRONYMS or (w and len(w) <= 4 and not any(c in "aeiou" for c in w)):
            out.append(w.upper())
        else:
            out.append(w.capitalize() if i == 0 else w)
    return " ".join(out)


def infer_unit(kpi_name: str) -> str:
    n = kpi_name.lower()
    if n.endswith(("_rate", "_share", "_ratio", "_pct", "_percent")) or "adherence" in n:
        return "percent"
    if n.endswith("_days") or "days_" in n:
        return "days"
    if n.endswith("_hours"):
        return "hours"
    return ""


def is_percent(unit: str) -> bool:
    return (unit or "").lower() in _PERCENT_UNITS


def fmt(value: object, unit: str = "", currency: str = "") -> str:
    """A KPI value for people; missing is "not available", never "0"."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return NOT_AVAILABLE
    v = float(value)
    u = (unit or "").lower()
    if u in _PERCENT_UNITS:
        return f"{v * 100:.1f}%" if abs(v) <= 1.5 else f"{v:.1f}%"
    if u in ("days", "day"):
        return f"{v:,.1f} days"
    if u in ("hours", "hour", "h"):
        return f"{v:,.1f} h"
    if u == "currency":
        return f"{v:,.0f} {currency}".rstrip()
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v):,}"


def fmt_delta(change: object, unit: str = "") -> str | None:
    if change is None or pd.isna(change):
        return None
    v = float(change)
    if (unit or "").lower() in _PERCENT_UNITS:
        return f"{v * 100:+.1f} pts" if abs(v) <= 1.5 else f"{v:+.1f} pts"
    text = fmt(abs(v), unit)
    return ("+" if v >= 0 else "-") + text


@dataclass(frozen=True)
class KpiCard:
    kpi_name: str
    label: str
    unit: str
    description: str
    #: None: neither direction is better; closest to target wins.
    higher_is_better: bool | None
    period_start: object
    domain: str
    #: Why a KPI is not available (the inputs the tenant does not send), when the mart says.
    missing_inputs: str
    currency: str
    #: Position in the KPI definitions (catalog order), for a stable, meaningful layout.
    rank: int
    value: float | None
    prior_value: float | None
    change: float | None
    target: float | None
    available: bool
    history: pd.DataFrame
    #: The running (incomplete) period to date against the same days of the prior period, as
    #: one line for people ("Dec to date (7 days): 56,140 EUR · same days of Nov: 61,000 EUR"),
    #: or "" when the headline period is the latest one.
    to_date_text: str = ""

    @property
    def value_text(self) -> str:
        return fmt(self.value, self.unit, self.currency) if self.available else NOT_AVAILABLE

    @property
    def target_text(self) -> str | None:
        return None if self.target is None else fmt(self.target, self.unit, self.currency)

    @property
    def delta_text(self) -> str | None:
        return fmt_delta(self.change, self.unit) if self.available else None

    @property
    def delta_color(self) -> str:
        return {True: "normal", False: "inverse"}.get(self.higher_is_better, "off")

    @property
    def target_status(self) -> str:
        """'on target', 'below target' / 'above target', or '' when there is nothing to compare."""
        if not self.available or self.target is None or pd.isna(self.target):
            return ""
        if self.higher_is_better is None:  # closest to target: within 5% counts as on target
            near = abs(self.value - self.target) <= 0.05 * max(abs(self.target), 1e-9)
            return "on target" if near else "off target"
        ok = self.value >= self.target if self.higher_is_better else self.value <= self.target
        if ok:
            return "on target"
        return "below target" if self.higher_is_better else "above target"


def _direction(v: object, default: bool, known: bool) -> bool | None:
    """higher_is_better from a definition (None there means neither), else a name heuristic."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None if known else default
    return bool(v)


def _text(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _num(v: object) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def headline(kpis: pd.DataFrame, days: pd.DataFrame, grain: str):
    """The scorecard's headline period and the running period's to-date rows.

    The headline is the latest *complete* period (``tenantlake.kpi.scorecard``: the last one that
    ends on or before the tenant's last day of data), never a two-day month against a full one;
    the running period is compared "to date" with the same days of the prior period. Returns
    ``(headline_start, to_date)`` where ``to_date`` maps kpi_name to its to-date row; ``(None,
    {})`` when the day grain is not published (the latest period then heads the scorecard).
    """
    from tenantlake.kpi import scorecard

    if kpis.empty or days is None or days.empty:
        return None, {}
    sc = scorecard(kpis, days, grain)
    if sc.empty:
        return None, {}
    complete = sc[sc["period_status"] == "complete"]
    if complete.empty:  # no complete period yet: the running one heads, as it is
        return None, {}
    start = complete["period_start"].iloc[0]
    running = sc[sc["period_status"] == "to_date"]
    return start, {r["kpi_name"]: r for r in running.to_dict("records")}


def _to_date_text(row: dict | None, unit: str, currency: str, grain: str) -> str:
    if not row or not row.get("is_available") or row.get("value") is None:
        return ""
    start = pd.Timestamp(row["period_start"])
    label = start.strftime("%b %Y") if grain == "month" else f"{grain} of {start.date()}"
    days = row.get("days_compared")
    n = "" if days is None or pd.isna(days) else f" ({int(days)} day{'s' if days != 1 else ''})"
    text = f"{label} to date{n}: {fmt(row['value'], unit, currency)}"
    if row.get("prior_value") is not None and not pd.isna(row["prior_value"]):
        text += f" · same days of the prior {grain}: {fmt(row['prior_value'], unit, currency)}"
    return text


def kpi_cards(kpis: pd.DataFrame, definitions: pd.DataFrame,
              yaml_targets: dict[str, float] | None = None,
              currency: str = "", *, headline_period=None,
              to_date: dict | None = None, grain: str = "month") -> list[KpiCard]:
    """One card per KPI at the headline period (default: the latest period with a row); KPIs
    defined but absent show as not available. Periods after ``headline_period`` (the running,
    incomplete one) are left out of the card's value and sparkline and shown as ``to_date``."""
    yaml_targets = yaml_targets or {}
    to_date = to_date or {}
    if headline_period is not None and not kpis.empty:
        kpis = kpis[kpis["period_start"] <= headline_period]
    defs = {r["kpi_name"]: r for r in definitions.to_dict("records")} if not definitions.empty \
        else {}
    listed = [k for k, d in defs.items() if d.get("source", "mart") == "mart"]
    names = list(dict.fromkeys([*listed, *kpis["kpi_name"].dropna().unique().tolist()]))
    latest_period = kpis["period_start"].max() if not kpis.empty else None
    rank = {k: i for i, k in enumerate(defs)}
    cards = []
    for name in names:
        d = defs.get(name, {})
        hist = kpis[kpis["kpi_name"] == name].sort_values("period_start")
        row = hist.iloc[-1] if not hist.empty else None
        unit = _text(d.get("unit")) or infer_unit(name)
        hib_default = not any(h in name.lower() for h in _LOWER_IS_BETTER_HINTS)
        target = _num(row["target"]) if row is not None else None
        if target is None:
            target = yaml_targets.get(name)
        available = row is not None and bool(row["is_available"]) and \
            row["period_start"] == latest_period
        missing = _text(row.get("missing_inputs")) if row is not None else ""
        cards.append(KpiCard(
            kpi_name=name, label=_text(d.get("label")) or pretty(name), unit=_text(unit),
            description=_text(d.get("description")),
            higher_is_better=_direction(d.get("higher_is_better"), hib_default, name in defs),
            period_start=row["period_start"] if row is not None else latest_period,
            domain=_text(d.get("domain")).replace("_", " ").capitalize() or "KPIs",
            missing_inputs=missing, currency=currency, rank=rank.get(name, len(rank)),
            value=_num(row["value"]) if available else None,
            prior_value=_num(row["prior_value"]) if row is not None else None,
            change=_num(row["change"]) if available else None,
            target=target, available=available, history=hist,
            to_date_text=_to_date_text(to_date.get(name), _text(unit), currency, grain)))
    # Available KPIs first, then by label, so the top row is never a wall of gaps.
    return sorted(cards, key=lambda c: (not c.available, c.rank, c.label.lower()))


def by_domain(cards: list[KpiCard]) -> dict[str, list[KpiCard]]:
    """Cards grouped by domain; domains with an available KPI first, in catalog order."""
    groups: dict[str, list[KpiCard]] = {}
    for c in cards:
        groups.setdefault(c.domain, []).append(c)
    order = sorted(groups, key=lambda d: (not any(c.available for c in groups[d]),
                                          min(c.rank for c in groups[d])))
    return {d: groups[d] for d in order}


def scorecard_table(cards: list[KpiCard]) -> pd.DataFrame:
    return pd.DataFrame([{
        "KPI": c.label,
        "Value": c.value_text,
        "Target": c.target_text or "—",
        "Status": c.target_status or ("—" if c.available else NOT_AVAILABLE),
        "Prior period": fmt(c.prior_value, c.unit, c.currency) if c.prior_value is not None
        else "—",
        "Change": c.delta_text or "—",
    } for c in cards])


def reasons(df: pd.DataFrame) -> pd.Series:
    """The top reasons of each prediction as one readable string."""
    cols = [c for c in ("reason_1", "reason_2", "reason_3") if c in df.columns]
    if not cols:
        return pd.Series([""] * len(df), index=df.index)
    return df[cols].apply(lambda r: " · ".join(str(x) for x in r if x is not None
                                               and not pd.isna(x) and str(x)), axis=1)


# --------------------------------------------------------------------------- data health

NO_LIMIT = "no limit set"


def freshness_status(age: object, limit: object) -> str:
    """'fresh' / 'stale' against the tenant's limit; 'no limit set' when the YAML sets none."""
    if limit is None or pd.isna(limit):
        return NO_LIMIT
    if age is None or pd.isna(age):
        return "never landed"
    return "stale" if float(age) > float(limit) else "fresh"


def freshness_table(fresh: pd.DataFrame) -> pd.DataFrame:
    """Freshness rows for people: ages as hours, the limit as text (never ``None``)."""
    out = pd.DataFrame({
        "Entity": fresh["entity"],
        "Landing date": fresh["landing_date"],
        "Hours since landing": fresh["age_hours"],
        "Rows (last landing)": fresh["rows_in_last_partition"],
        "Stale after": [NO_LIMIT if lim is None or pd.isna(lim) else f"{float(lim):g} h"
                        for lim in fresh.get("limit_hours", [None] * len(fresh))],
        "Status": fresh.get("status", [""] * len(fresh)),
    })
    if "tenant" in fresh.columns:
        out.insert(0, "Tenant", fresh["tenant"])
    return out


STORE_LABELS = {
    "entity": "Entity", "source": "Source", "source_label": "Source file",
    "batch_id": "Batch", "landing_date": "Landing date", "rows_in": "Rows in",
    "rows_landed": "Rows landed", "rows_quarantined": "Rows quarantined",
    "landed_at": "Landed at", "gate": "Gate", "passed": "Passed", "reason": "Reason",
    "blocked_at": "Blocked at", "bad_share": "Bad share", "threshold": "Threshold",
    "last_landed_at": "Last landed at", "batches": "Batches",
    "gate_result": "Gate result", "reasons_text": "Reason",
}
BLOCKED_COLUMNS = ["entity", "source_label", "batch_id", "landing_date", "rows_in",
                   "rows_quarantined", "landed_at", "reasons_text"]


def _reasons_text(raw: object) -> str:
    """The gate's reasons (JSON list of {check, description}) as one readable line."""
    import json

    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw == "":
        return ""
    try:
        items = json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)
    if not isinstance(items, list):
        return str(items)
    return " · ".join(str(i.get("description") or i.get("check") or i) if isinstance(i, dict)
                      else str(i) for i in items)


def ledger_with_gate(ledger: pd.DataFrame) -> pd.DataFrame:
    """The landing ledger with its gate reasons as text (a ledger without gate state: all
    batches count as landed)."""
    out = ledger.copy()
    if out.empty:
        return out
    if "status" not in out.columns:
        out["status"] = "landed"
    out["reasons_text"] = [_reasons_text(r) for r in out.get("reasons", [None] * len(out))]
    return out


def last_landings(ledger: pd.DataFrame, n: int = 50) -> pd.DataFrame:
    """The newest ``n`` landings with a gate result per batch: quarantined share of its rows."""
    cols = [c for c in ("entity", "source_label", "batch_id", "landing_date", "rows_in",
                        "rows_landed", "rows_quarantined", "landed_at") if c in ledger.columns]
    top = ledger.sort_values(["landed_at", "batch_id"], ascending=[False, True]).head(n)
    out = top[cols].copy()
    if {"rows_in", "rows_quarantined"} <= set(out.columns):
        share = out["rows_quarantined"] / out["rows_in"].where(out["rows_in"] > 0)
        status = top["status"] if "status" in top.columns else pd.Series("landed",
                                                                         index=top.index)
        out["gate_result"] = [
            ("blocked" if st_ == "blocked" else "released by an operator" if st_ == "released"
             else "passed") + ("" if pd.isna(s) or s == 0 else f" · {s:.1%} quarantined")
            for s, st_ in zip(share, status, strict=True)]
    if "reasons_text" in top.columns:
        out["reasons_text"] = top["reasons_text"]
    return out.reset_index(drop=True)
