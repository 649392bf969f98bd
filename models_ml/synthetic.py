"""A small synthetic warehouse with planted signal, for tests and benchmarks.

Why it exists: the models must be provable without the demo generator or dbt. This module
writes the marts the feature SQL reads (``fct_*``/``dim_*``, schema ``main``) straight into a
DuckDB file, with the columns taken from :data:`tenantlake.contracts.CONTRACTS` so a contract
change shows up here too. The signal planted mirrors the demo's story, with noise on purpose:

* churn: a churner goes through a decline phase before it stops ordering: fewer orders,
  smaller baskets, more tickets with worse CSAT, more disputes and late deliveries. Healthy
  customers with bursty ordering make a pure recency rule raise false alarms.
* stockout: promotions multiply demand, some suppliers deliver late and erratically, some
  SKUs carry little safety stock; the planner's reorder point ignores all three.
* project failure: weak partners and early milestone slippage lead to late go-lives.

Everything is seeded; the same arguments give the same warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models_ml.framework import MARTS as FRAMEWORK_MARTS
from tenantlake.contracts import CONTRACTS, SQL_TYPES

#: Mart name -> canonical entity whose contract columns it carries (plus ``tenant_id``).
MARTS = FRAMEWORK_MARTS


def mart_columns(mart: str) -> dict[str, str]:
    """``{column: duckdb type}`` of a mart: ``tenant_id`` then the entity's contract columns."""
    entity = CONTRACTS[MARTS[mart]]
    return {"tenant_id": "VARCHAR", **{c.name: SQL_TYPES[c.dtype].upper() for c in entity.columns}}


@dataclass(frozen=True)
class Shape:
    """How big one synthetic tenant is, and which entities it sends (None = all)."""

    customers: int = 250
    skus: int = 20
    locations: int = 2
    projects: int = 120
    days: int = 730
    start: dt.date = dt.date(2024, 1, 1)
    entities: frozenset[str] | None = None
    #: Only order headers with customer, date and amount (the "orders only" tenant).
    orders_minimal: bool = False
    extra: dict = field(default_factory=dict)


def _days(start: dt.date, offsets: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(start) + pd.to_timedelta(offsets, unit="D")).dt.date


# ------------------------------------------------------------------------------ customers


def _customers(rng: np.random.Generator, tid: str, s: Shape) -> dict[str, pd.DataFrame]:
    n, days = s.customers, s.days
    base_rate = rng.lognormal(np.log(1 / 9), 0.5, n)  # orders per day
    basket = rng.lognormal(np.log(600), 0.5, n)
    churner = rng.random(n) < 0.4
    churn_day = np.where(churner, rng.uniform(120, days + 150, n), np.inf)
    decline_len = rng.uniform(90, 180, n)
    bursty = rng.random(n) < 0.35
    # progress through the decline phase for every (customer, day): 0 healthy .. 1 gone
    t = np.arange(days)[None, :]
    prog = np.clip((t - (churn_day - decline_len)[:, None]) / decline_len[:, None], 0, 1)
    gone = t >= churn_day[:, None]
    # bursty healthy customers: monthly multipliers that make gaps irregular
    month_mult = rng.gamma(0.8, 1 / 0.8, (n, days // 30 + 1))
    burst = np.where(bursty[:, None], month_mult[:, (t[0] // 30)], 1.0)
    rate = base_rate[:, None] * (1 - 0.35 * prog) * burst * np.where(gone, 0.02, 1.0)
    counts = rng.poisson(rate)
    ci, di = np.nonzero(counts)
    reps = counts[ci, di]
    ci, di = np.repeat(ci, reps), np.repeat(di, reps)
    p = prog[ci, di]
    amount = basket[ci] * (1 - 0.6 * p) * rng.lognormal(0, 0.35, len(ci))
    cust_ids = np.array([f"C{i:05d}" for i in range(n)])
    orders = pd.DataFrame({
        "tenant_id": tid,
        "order_id": [f"O{k:07d}" for k in range(len(ci))],
        "customer_id": cust_ids[ci],
        "order_date": _days(s.start, di),
        "order_amount": amount.round(2),
    })
    out: dict[str, pd.DataFrame] = {"fct_orders": orders}
    if s.orders_minimal:
        return out
    orders["currency"] = "EUR"
    orders["channel"] = rng.choice(["web", "edi", "email", "phone"], len(ci))
    orders["status"] = "delivered"
    orders["location_id"] = "L00"
    orders["promised_date"] = _days(s.start, di + 5)
    orders["requested_date"] = orders["promised_date"]
    orders["manual_touches"] = rng.poisson(0.3 + 1.5 * p)
    orders["has_exception"] = rng.random(len(ci)) < 0.05 + 0.2 * p

    ship_off = di + rng.integers(1, 3, len(ci))
    late = rng.random(len(ci)) < 0.06 + 0.5 * p
    jitter = np.where(late, rng.integers(3, 12, len(ci)), rng.integers(-1, 2, len(ci)))
    deliv_off = ship_off + 2 + jitter
    keep = deliv_off < days
    out["fct_shipments"] = pd.DataFrame({
        "tenant_id": tid, "shipment_id": [f"S{k:07d}" for k in range(len(ci))],
        "order_id": orders["order_id"], "ship_date": _days(s.start, ship_off),
        "delivered_date": _days(s.start, np.where(keep, deliv_off, 0)).where(keep, None),
        "promised_date": orders["promised_date"], "carrier": "dhl", "location_id": "L00",
        "is_complete": True,
    })[ship_off < days]

    disputed = rng.random(len(ci)) < 0.03 + 0.35 * p
    out["fct_invoices"] = pd.DataFrame({
        "tenant_id": tid, "invoice_id": [f"I{k:07d}" for k in range(len(ci))],
        "customer_id": orders["customer_id"], "order_id": orders["order_id"],
        "invoice_date": orders["order_date"], "due_date": _days(s.start, di + 30),
        "amount": orders["order_amount"], "currency": "EUR",
        "status": np.where(disputed, "disputed", "paid"), "is_disputed": disputed,
    })
    pay_off = di + rng.integers(15, 40, len(ci)) + (30 * p).astype(int)
    paid = pay_off < days
    out["fct_payments"] = pd.DataFrame({
        "tenant_id": tid, "payment_id": [f"P{k:07d}" for k in range(len(ci))],
        "invoice_id": out["fct_invoices"]["invoice_id"], "customer_id": orders["customer_id"],
        "payment_date": _days(s.start, pay_off), "amount": orders["order_amount"],
    })[paid]

    trate = 0.008 * (1 + 7 * prog) * np.where(gone, 0.1, 1.0)
    tc = rng.poisson(trate)
    ti, tdi = np.nonzero(tc)
    tp = prog[ti, tdi]
    created = pd.to_datetime(s.start) + pd.to_timedelta(tdi, unit="D") + pd.to_timedelta(
        rng.integers(0, 86400, len(ti)), unit="s")
    out["fct_tickets"] = pd.DataFrame({
        "tenant_id": tid, "ticket_id": [f"T{k:07d}" for k in range(len(ti))],
        "customer_id": cust_ids[ti], "created_at": created,
        "first_response_at": created + pd.to_timedelta(2, unit="h"),
        "resolved_at": created + pd.to_timedelta(1 + 3 * tp, unit="D"),
        "priority": np.where(rng.random(len(ti)) < 0.1 + 0.4 * tp, "high", "normal"),
        "channel": "email", "category": "delivery",
        "contacts_to_resolve": 1 + rng.poisson(1 + 2 * tp),
        "sla_due_at": created + pd.to_timedelta(2, unit="D"),
        "csat": np.clip(np.round(4.4 - 2.2 * tp + rng.normal(0, 0.7, len(ti))), 1, 5),
        "project_id": None,
    })
    out["dim_customers"] = pd.DataFrame({
        "tenant_id": tid, "customer_id": cust_ids, "customer_name": cust_ids,
        "segment": rng.choice(["key_account", "smb", "mid_market"], n),
        "region": rng.choice(["north", "south"], n), "created_date": s.start - dt.timedelta(400),
        "status": "active",
    })
    return out


# ------------------------------------------------------------------------------ inventory


def _inventory(rng: np.random.Generator, tid: str, s: Shape) -> dict[str, pd.DataFrame]:
    skus = [f"SKU{i:04d}" for i in range(s.skus)]
    locs = [f"L{i:02d}" for i in range(s.locations)]
    u = s.skus * s.locations
    sku_i = np.repeat(np.arange(s.skus), s.locations)
    loc_i = np.tile(np.arange(s.locations), s.skus)
    mu = rng.lognormal(np.log(1.8), 0.6, s.skus)[sku_i] * rng.uniform(0.7, 1.3, u)
    lead = rng.choice([7.0, 14.0, 21.0, 28.0], s.skus)[sku_i]
    sigma = rng.uniform(0.05, 0.8, s.skus)[sku_i]  # supplier reliability (log-sd of lead time)
    late_bias = rng.uniform(0.85, 1.4, s.skus)[sku_i]
    z = rng.uniform(0.2, 2.4, u)
    safety = np.round(z * mu * np.sqrt(lead))
    rop = mu * lead + safety
    qty = np.maximum(np.round(mu * 28), 1)
    weekly = np.array([1.15, 1.1, 1.05, 1.0, 1.2, 0.8, 0.7])
    on_hand = np.round(rop + qty * 0.5)
    promo_left = np.zeros(u, int)
    promo_mult = np.ones(u)
    pos: list[tuple] = []  # (unit, order_day, arrival_day, qty)
    open_arrivals: dict[int, list[tuple[int, float]]] = {}
    on_order = np.zeros(u)
    snaps_oh = np.zeros((s.days, u))
    snaps_oo = np.zeros((s.days, u))
    line_rows: list[np.ndarray] = []
    start_dow = s.start.weekday()
    for t in range(s.days):
        for unit, q in open_arrivals.pop(t, []):
            on_hand[unit] += q
            on_order[unit] -= q
        start = (promo_left == 0) & (rng.random(u) < 1 / 75)
        promo_left = np.where(start, rng.integers(10, 22, u), promo_left)
        promo_mult = np.where(start, rng.uniform(2.0, 4.0, u), promo_mult)
        in_promo = promo_left > 0
        lam = mu * weekly[(start_dow + t) % 7] * np.where(in_promo, promo_mult, 1.0)
        demand = rng.poisson(lam).astype(float)
        shipped = np.minimum(demand, on_hand)
        on_hand -= shipped
        promo_left = np.maximum(promo_left - 1, 0)
        has = demand > 0
        if has.any():
            idx = np.nonzero(has)[0]
            line_rows.append(np.column_stack([idx, np.full(len(idx), t), demand[idx],
                                              shipped[idx], in_promo[idx]]))
        reorder = (on_hand + on_order) <= rop
        for unit in np.nonzero(reorder)[0]:
            lt = max(1, int(round(lead[unit] * late_bias[unit] * rng.lognormal(0, sigma[unit]))))
            pos.append((unit, t, t + lt, qty[unit]))
            open_arrivals.setdefault(t + lt, []).append((unit, qty[unit]))
            on_order[unit] += qty[unit]
        snaps_oh[t] = on_hand
        snaps_oo[t] = on_order
    lines = np.concatenate(line_rows)
    lu = lines[:, 0].astype(int)
    ld = lines[:, 1].astype(int)
    n_lines = len(lines)
    out: dict[str, pd.DataFrame] = {}
    out["fct_order_lines"] = pd.DataFrame({
        "tenant_id": tid, "order_id": [f"LO{k:08d}" for k in range(n_lines)], "line_number": 1,
        "sku": np.array(skus)[sku_i[lu]], "quantity_ordered": lines[:, 2],
        "quantity_shipped": lines[:, 3], "unit_price": 10.0, "discount_pct": 0.0,
        "net_amount": lines[:, 2] * 10.0, "location_id": np.array(locs)[loc_i[lu]],
        "order_date": _days(s.start, ld), "promised_date": _days(s.start, ld + 3),
        "is_promo": lines[:, 4].astype(bool),
    })
    t_idx, u_idx = np.meshgrid(np.arange(s.days), np.arange(u), indexing="ij")
    t_idx, u_idx = t_idx.ravel(), u_idx.ravel()
    out["fct_inventory_daily"] = pd.DataFrame({
        "tenant_id": tid, "snapshot_date": _days(s.start, t_idx),
        "sku": np.array(skus)[sku_i[u_idx]], "location_id": np.array(locs)[loc_i[u_idx]],
        "on_hand_qty": snaps_oh.ravel(), "allocated_qty": 0.0, "on_order_qty": snaps_oo.ravel(),
        "safety_stock_qty": safety[u_idx],
    })
    po = np.array(pos, dtype=float).reshape(-1, 4)
    pu, pod, arr = po[:, 0].astype(int), po[:, 1].astype(int), po[:, 2].astype(int)
    received = arr < s.days
    out["fct_purchase_orders"] = pd.DataFrame({
        "tenant_id": tid, "po_id": [f"PO{k:07d}" for k in range(len(po))], "line_number": 1,
        "supplier_id": "SUP", "sku": np.array(skus)[sku_i[pu]],
        "location_id": np.array(locs)[loc_i[pu]], "order_date": _days(s.start, pod),
        "expected_date": _days(s.start, pod + lead[pu].astype(int)),
        "acknowledged_date": _days(s.start, pod + 1),
        "received_date": _days(s.start, np.where(received, arr, 0)).where(received, None),
        "quantity_ordered": po[:, 3], "quantity_received": np.where(received, po[:, 3], 0.0),
        "unit_cost": 6.0, "status": np.where(received, "received", "open"),
    })
    out["dim_products"] = pd.DataFrame({
        "tenant_id": tid, "sku": skus, "product_name": skus, "category": "general",
        "supplier_id": "SUP", "unit_cost": 6.0, "list_price": 10.0,
        "lead_time_days": lead[::s.locations], "is_active": True,
    })
    out["dim_locations"] = pd.DataFrame({
        "tenant_id": tid, "location_id": locs, "location_name": locs,
        "location_type": "warehouse", "region": "north",
    })
    return out


# ------------------------------------------------------------------------------ projects


def _projects(rng: np.random.Generator, tid: str, s: Shape) -> dict[str, pd.DataFrame]:
    n = s.projects
    partner_q = rng.uniform(-1, 1, 4)  # >0 weak partner
    partner = rng.integers(0, 4, n)
    start = rng.integers(0, max(1, s.days - 250), n)
    planned = rng.integers(120, 300, n)
    risk = 1.1 * partner_q[partner] + rng.normal(0, 0.7, n)
    early = np.maximum(0, 5 + 6 * risk + rng.normal(0, 10, n))
    late_part = np.maximum(0, 8 + 30 * risk + rng.normal(0, 15, n))  # shows only at the end
    end_delay = np.round(early + late_part)
    cancelled = (risk > 1.2) & (rng.random(n) < 0.4)
    go_live = start + planned + end_delay
    today = s.days - 1
    live = (go_live <= today) & ~cancelled
    status = np.where(cancelled, "cancelled", np.where(live, "live", "in_progress"))
    out = {"fct_projects": pd.DataFrame({
        "tenant_id": tid, "project_id": [f"PR{i:04d}" for i in range(n)],
        "partner_id": [f"partner-{k}" for k in partner], "project_name": "go-live",
        "project_type": "erp_go_live", "start_date": _days(s.start, start),
        "planned_go_live_date": _days(s.start, start + planned),
        "actual_go_live_date": _days(s.start, np.minimum(go_live, today)).where(live, None),
        "status": status, "budget_hours": 800.0,
        "spent_hours": 800.0 * (1 + 0.3 * np.maximum(risk, 0)),
        "scope_changes": rng.poisson(1 + 2 * np.maximum(risk, 0)),
    })}
    ms = []
    for i in range(n):
        for k in range(1, 6):
            p_day = start[i] + planned[i] * k / 5
            slip = max(0.0, early[i] * k / 5 + (late_part[i] if k == 5 else 0) + rng.normal(0, 6))
            a_day = int(p_day + slip)
            done = a_day <= today and not (cancelled[i] and k > 2)
            ms.append((f"M{i:04d}-{k}", f"PR{i:04d}", k, int(p_day), a_day if done else -1))
    m = pd.DataFrame(ms, columns=["milestone_id", "project_id", "sequence", "p", "a"])
    out["fct_milestones"] = pd.DataFrame({
        "tenant_id": tid, "milestone_id": m["milestone_id"], "project_id": m["project_id"],
        "milestone_name": "phase", "sequence": m["sequence"],
        "planned_date": _days(s.start, m["p"].to_numpy()),
        "actual_date": _days(s.start, m["a"].clip(lower=0).to_numpy()).where(m["a"] >= 0, None),
        "status": np.where(m["a"] >= 0, "done", "pending"),
    })
    # project tickets: more of them on risky projects, spread over the project's life
    tk = []
    for i in range(n):
        k = rng.poisson(2 + 8 * max(risk[i], 0))
        last = min(today, go_live[i])
        days = rng.integers(start[i], last + 1, k) if last > start[i] else []
        tk += [(f"PT{i:04d}-{j}", f"PR{i:04d}", int(d)) for j, d in enumerate(days)]
    t = pd.DataFrame(tk, columns=["ticket_id", "project_id", "d"])
    created = pd.to_datetime(s.start) + pd.to_timedelta(t["d"], unit="D")
    out["fct_tickets"] = pd.DataFrame({
        "tenant_id": tid, "ticket_id": t["ticket_id"], "customer_id": None, "created_at": created,
        "first_response_at": created, "resolved_at": created, "priority": "normal",
        "channel": "portal", "category": "project", "contacts_to_resolve": 1,
        "sla_due_at": created, "csat": 4.0, "project_id": t["project_id"],
    })
    return out


# ------------------------------------------------------------------------------ writing


def generate(tenant_id: str, shape: Shape, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Frames per mart for one tenant (only the entities ``shape`` says it sends)."""
    rng = np.random.default_rng([seed, sum(map(ord, tenant_id))])
    frames: dict[str, pd.DataFrame] = {}
    parts = [_customers(rng, tenant_id, shape)]
    if not shape.orders_minimal:
        parts += [_inventory(rng, tenant_id, shape), _projects(rng, tenant_id, shape)]
    for part in parts:
        for mart, df in part.items():
            frames[mart] = pd.concat([frames[mart], df]) if mart in frames else df
    if shape.entities is not None:
        frames = {m: f for m, f in frames.items() if MARTS[m] in shape.entities}
    return frames


def write_warehouse(path: Path, frames_by_tenant: dict[str, dict[str, pd.DataFrame]]) -> Path:
    """Create every mart (typed, possibly empty) in a DuckDB file and load the frames."""
    import duckdb

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        for mart in MARTS:
            cols = mart_columns(mart)
            ddl = ", ".join(f'"{c}" {t}' for c, t in cols.items())
            con.execute(f"CREATE OR REPLACE TABLE main.{mart} ({ddl})")  # names from MARTS only
            for frames in frames_by_tenant.values():
                df = frames.get(mart)
                if df is None or df.empty:
                    continue
                df = df.reindex(columns=list(cols))
                con.register("_incoming", df)
                select = ", ".join(f'CAST("{c}" AS {t})' for c, t in cols.items())
                con.execute(f"INSERT INTO main.{mart} SELECT {select} FROM _incoming")
                con.unregister("_incoming")
    finally:
        con.close()
    return path


def build_warehouse(path: Path, shapes: dict[str, Shape], seed: int = 7) -> Path:
    """Generate every tenant in ``shapes`` and write them to one warehouse file."""
    return write_warehouse(path, {tid: generate(tid, sh, seed) for tid, sh in shapes.items()})
