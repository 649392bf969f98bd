"""The planted causes are really in the files (read back through each tenant's YAML)."""

from __future__ import annotations

import pandas as pd

from .conftest import END
from .readback import read_entity

END_TS = pd.Timestamp(END)


def _orders(root, cfg):
    o = read_entity(cfg, root, "orders")
    return o[["order_id", "customer_id", "order_date"]]


def test_churners_order_less_and_less_before_they_stop(demo_small):
    """Orders (from the files) in the 90 days before churn vs 180-270 days before it.

    Churners come from the planted truth (``demo_truth``, abrupt churners excluded); loyal
    customers get the same reference dates, so seasonality cancels out.
    """
    root, cfgs, _ = demo_small
    start = END_TS - pd.Timedelta(days=539)
    recent = {"churn": 0, "keep": 0}
    before = {"churn": 0, "keep": 0}
    for tid in ("northwind-distribution", "harbor-wholesale", "bluepeak-outdoor"):
        o = _orders(root, cfgs[tid])
        tr = pd.read_csv(root / "demo_truth" / tid / "customers.csv", parse_dates=["churn_date"])
        ch = tr[tr.churner & ~tr.abrupt & tr.churn_date.between(
            start + pd.Timedelta(days=300), END_TS - pd.Timedelta(days=10))]
        refs = ch.churn_date.to_numpy()
        keep = tr[~tr.churner & ~tr.temporary_dip]
        keep = keep.assign(churn_date=[refs[i % len(refs)] for i in range(len(keep))])
        for kind, df in (("churn", ch), ("keep", keep)):
            d = o.merge(df[["customer_id", "churn_date"]], on="customer_id")
            age = (d.churn_date - d.order_date).dt.days
            recent[kind] += int(age.between(1, 90).sum())
            before[kind] += int(age.between(181, 270).sum())
    r_churn = recent["churn"] / before["churn"]
    r_keep = recent["keep"] / before["keep"]
    assert r_churn < 0.75 * r_keep, (r_churn, r_keep)


def test_observed_churners_fade_out(demo_small):
    """Without the truth: customers who stopped ordering had a falling order rate before."""
    root, cfgs, _ = demo_small
    o = _orders(root, cfgs["bluepeak-outdoor"])
    start = END_TS - pd.Timedelta(days=539)
    last = o.groupby("customer_id").order_date.max()
    first = o.groupby("customer_id").order_date.min()
    ok = (first < start + pd.Timedelta(days=60)) & (o.groupby("customer_id").size() >= 3)
    churned = last[ok & (last < END_TS - pd.Timedelta(days=180))].index
    kept = last[ok & (last > END_TS - pd.Timedelta(days=30))].index
    half = start + (END_TS - start) / 2

    def share_second_half(cust):
        d = o[o.customer_id.isin(cust)]
        return (d.order_date >= half).mean()

    assert share_second_half(churned) < share_second_half(kept)


def test_churners_raise_more_tickets_and_disputes_before_they_stop(demo_small):
    """In a churner's decline window: more tickets, lower CSAT, more disputed invoices."""
    root, cfgs, _ = demo_small
    cfg = cfgs["northwind-distribution"]
    tr = pd.read_csv(root / "demo_truth" / cfg.id / "customers.csv", parse_dates=["churn_date"])
    ch = tr[tr.churner & ~tr.abrupt & (tr.churn_date <= END_TS)].copy()
    ch["from"] = ch.churn_date - pd.to_timedelta(ch.decline_days, unit="D")
    loyal = set(tr[~tr.churner].customer_id)
    days_loyal = len(loyal) * 540

    def in_window(df, date_col):
        d = df.merge(ch[["customer_id", "from", "churn_date"]], on="customer_id")
        return d[(d[date_col] >= d["from"]) & (d[date_col] < d.churn_date)]

    t = read_entity(cfg, root, "tickets")
    t_ch = in_window(t, "created_at")
    rate_ch = len(t_ch) / (ch.churn_date - ch["from"]).dt.days.sum()
    t_lo = t[t.customer_id.isin(loyal)]
    assert rate_ch > 1.5 * len(t_lo) / days_loyal
    assert t_ch.csat.mean() < t_lo.csat.mean() - 0.2
    inv = read_entity(cfg, root, "invoices")
    d_ch = in_window(inv, "invoice_date").is_disputed.astype(bool).mean()
    d_lo = inv[inv.customer_id.isin(loyal)].is_disputed.astype(bool).mean()
    assert d_ch > 1.5 * d_lo, (d_ch, d_lo)


def test_stockouts_follow_promotions_and_long_lead_times(demo_small):
    root, cfgs, _ = demo_small
    for tid in ("northwind-distribution", "harbor-wholesale", "bluepeak-outdoor"):
        cfg = cfgs[tid]
        inv = read_entity(cfg, root, "inventory_snapshots")
        inv["out"] = inv.on_hand_qty - inv.allocated_qty <= 0
        lines = read_entity(cfg, root, "order_lines")
        promo = lines[lines.is_promo.astype(bool)][["sku", "order_date"]].drop_duplicates()
        promo["promo"] = True
        x = inv.merge(promo, left_on=["sku", "snapshot_date"], right_on=["sku", "order_date"],
                      how="left")
        rates = x.promo.fillna(False).astype(bool).groupby(x.out).mean()
        by_promo = x.groupby(x.promo.fillna(False).astype(bool)).out.mean()
        assert by_promo[True] > 1.5 * by_promo[False], (tid, by_promo.to_dict(), rates)
        prod = read_entity(cfg, root, "products")[["sku", "lead_time_days"]]
        y = inv.merge(prod, on="sku")
        q = y.lead_time_days.rank(pct=True)
        assert y[q > 0.75].out.mean() > y[q <= 0.25].out.mean(), tid


def test_short_shipments_happen_only_when_stock_is_out(demo_small):
    root, cfgs, _ = demo_small
    cfg = cfgs["northwind-distribution"]
    lines = read_entity(cfg, root, "order_lines")
    shipped = lines[lines["_raw_LieferscheinNr"].notna()]
    short = shipped[shipped.quantity_shipped < shipped.quantity_ordered]
    assert len(short) > 100 and (shipped.quantity_shipped <= shipped.quantity_ordered).all()
    inv = read_entity(cfg, root, "inventory_snapshots")
    inv["avail"] = inv.on_hand_qty - inv.allocated_qty
    j = short.merge(inv, left_on=["sku", "location_id", "order_date"],
                    right_on=["sku", "location_id", "snapshot_date"])
    assert len(j) == len(short) and (j.avail <= 0).all()


def test_inventory_balances_with_receipts_and_shipments(demo_small):
    root, cfgs, _ = demo_small
    cfg = cfgs["northwind-distribution"]
    inv = read_entity(cfg, root, "inventory_snapshots").sort_values(
        ["sku", "location_id", "snapshot_date"])
    assert (inv.on_hand_qty >= 0).all() and (inv.allocated_qty <= inv.on_hand_qty).all()
    inv["delta"] = inv.groupby(["sku", "location_id"]).on_hand_qty.diff()
    lines = read_entity(cfg, root, "order_lines")
    ship = lines.assign(d=pd.to_datetime(lines["_raw_Versanddatum"], format="%d.%m.%Y")) \
        .dropna(subset=["d"]).groupby(["sku", "location_id", "d"]).quantity_shipped.sum()
    po = read_entity(cfg, root, "purchase_orders").dropna(subset=["received_date"]) \
        .groupby(["sku", "location_id", "received_date"]).quantity_received.sum()
    key = pd.MultiIndex.from_frame(inv[["sku", "location_id", "snapshot_date"]])
    expect = po.reindex(key, fill_value=0).to_numpy() - ship.reindex(key, fill_value=0).to_numpy()
    got = inv.delta.to_numpy()
    ok = pd.isna(got) | (abs(got - expect) < 1e-6)
    assert ok.all(), f"{(~ok).sum()} pair-days do not balance"


def test_failing_projects_slip_early_overrun_and_raise_tickets(demo_small):
    root, cfgs, _ = demo_small
    p, m, t = [], [], []
    for cfg in cfgs.values():
        p.append(read_entity(cfg, root, "projects").assign(tenant=cfg.id))
        m.append(read_entity(cfg, root, "milestones").assign(tenant=cfg.id))
        t.append(read_entity(cfg, root, "tickets").assign(tenant=cfg.id))
    p, m, t = (pd.concat(x, ignore_index=True) for x in (p, m, t))
    done = p[p.status.isin(["live", "cancelled"])].copy()
    late = (done.actual_go_live_date - done.planned_go_live_date).dt.days > 30
    done["failed"] = (done.status == "cancelled") | late
    assert 0.15 < done.failed.mean() < 0.6 and len(done) >= 40
    first = m[m.sequence == 1].set_index(["tenant", "project_id"])
    slip = (first.actual_date - first.planned_date).dt.days
    done["slip1"] = slip.reindex(pd.MultiIndex.from_frame(done[["tenant", "project_id"]])) \
        .to_numpy()
    g = done.groupby("failed")
    assert g.slip1.mean()[True] > g.slip1.mean()[False] + 5
    over = (done.spent_hours / done.budget_hours)
    assert over[done.failed].median() > over[~done.failed].median()
    assert g.scope_changes.mean()[True] > g.scope_changes.mean()[False]
    tk = t[t.project_id.notna()].groupby(["tenant", "project_id"]).size()
    days = (done.planned_go_live_date - done.start_date).dt.days.clip(lower=1)
    done["tickets_per_30d"] = tk.reindex(pd.MultiIndex.from_frame(
        done[["tenant", "project_id"]]), fill_value=0).to_numpy() / days * 30
    assert g.tickets_per_30d.mean()[True] > g.tickets_per_30d.mean()[False]
    weak = done.partner_id.isin(["rapidedi-services", "bayline-integrations"])
    assert done[weak].failed.mean() > done[~weak].failed.mean()
