"""Simulation of one demo tenant's business, month by month, in canonical column names.

:class:`TenantSim` draws the tenant's master data once (customers, SKUs, suppliers, locations,
promotions, partners, projects), then :meth:`TenantSim.months` yields, per month, the
transactions of that monthly export period (ending on the end date's day of month) as pandas
frames keyed by canonical entity name. Memory is bounded by one month of one tenant, so the
scale knob can produce millions of order lines.

Everything is drawn from one ``numpy`` generator seeded by (seed, tenant id) in a fixed order,
so (seed, end date, sizes) determine every byte. See :mod:`tenantlake.demo` for the planted
causes; the comments here say where each one is implemented.
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tenantlake.demo import names
from tenantlake.demo.profiles import Profile

log = logging.getLogger(__name__)

MINUTES_PER_DAY = 24 * 60


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _fmt_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.array([f"{prefix}{n:0{width}d}" for n in numbers.tolist()], dtype=object)


def _group_rank(keys: np.ndarray) -> np.ndarray:
    """1-based position of each row within its run of equal (sorted) keys."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, keys[1:] != keys[:-1]]
    idx = np.arange(n)
    first = np.maximum.accumulate(np.where(starts, idx, 0))
    return idx - first + 1


@dataclass
class _Carry:
    """Rows dated after the current month wait here until their month is emitted."""

    frames: dict[str, list[pd.DataFrame]]

    def add(self, entity: str, df: pd.DataFrame) -> None:
        if len(df):
            self.frames.setdefault(entity, []).append(df)

    def take(self, entity: str, day_col: str, upto: int) -> pd.DataFrame | None:
        parts = self.frames.get(entity)
        if not parts:
            return None
        df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        now = df[df[day_col] <= upto]
        later = df[df[day_col] > upto]
        self.frames[entity] = [later] if len(later) else []
        return now


class TenantSim:
    """The business of one tenant over ``[start, end]``; see the module docstring."""

    def __init__(self, tenant_id: str, profile: Profile, end: dt.date, days: int, seed: int,
                 timezone: str | None = None):
        self.tenant_id = tenant_id
        #: Local time zone of the exported timestamps (wall times in DST gaps don't exist).
        self.tz = timezone
        self.p = profile
        self.end = end
        self.n_days = days
        self.start = end - dt.timedelta(days=days - 1)
        self.E = days - 1  # day index of the end date ("today" of the export)
        self.rng = np.random.default_rng(
            np.random.SeedSequence([seed, zlib.crc32(tenant_id.encode())]))
        self.carry = _Carry({})
        self._calendar()
        self._customers()
        self._products()
        self._promotions()
        self._inventory_policy()
        self._projects()
        self.next = {"order": 1, "po": 1, "invoice": 1, "payment": 1, "ticket": 1, "run": 1,
                     "opp": 1}
        self.stats = {"order_lines": 0}

    # ------------------------------------------------------------------ calendar
    def _calendar(self) -> None:
        p, rng = self.p, self.rng
        dates = pd.date_range(self.start, periods=self.n_days, freq="D")
        self.dates = dates
        self.dow = dates.dayofweek.to_numpy()
        doy = dates.dayofyear.to_numpy().astype(float)
        self.wk = np.asarray(p.weekday)[self.dow]
        # Yearly seasonality per category: a cosine around its peak day.
        peaks = np.array([s[0] for s in p.category_season], dtype=float)
        amps = np.array([s[1] for s in p.category_season], dtype=float)
        self.cat_season = 1 + amps[:, None] * np.cos(2 * np.pi * (doy[None, :] - peaks[:, None])
                                                     / 365.25)
        self.season_all = self.cat_season.mean(axis=0)
        # B2B businesses close between Christmas and New Year.
        md = dates.month.to_numpy() * 100 + dates.day.to_numpy()
        self.holiday = np.where((md >= 1224) | (md <= 101),
                                0.35 if p.industry != "ecommerce" else 1.0, 1.0)
        # Monthly export runs on the end date's day of month, so the newest file always covers
        # a whole month (a file with two days in it would look like a row-count collapse).
        self.month_bounds: list[tuple[str, int, int]] = []
        end_ts, start_ts = pd.Timestamp(self.end), pd.Timestamp(self.start)
        k = 0
        while True:
            pe = end_ts - pd.DateOffset(months=k)
            ps = max((end_ts - pd.DateOffset(months=k + 1) - start_ts).days + 1, 0)
            self.month_bounds.append((pe.strftime("%Y-%m-%d"), int(ps),
                                      int((pe - start_ts).days) + 1))
            if ps == 0:
                break
            k += 1
        self.month_bounds.reverse()
        # Order-intake jitter a planner can't foresee (weather, competitors, markets).
        self.noise_day = np.exp(rng.normal(0, 0.08, self.n_days))

    # ------------------------------------------------------------------ customers
    def _customers(self) -> None:
        p, rng, n = self.p, self.rng, self.p.n_customers
        shares = np.array([s.share for s in p.segments])
        self.c_seg = rng.choice(len(p.segments), n, p=shares / shares.sum())
        loc_share = np.array([l.customer_share for l in p.locations])
        self.c_home = rng.choice(len(p.locations), n, p=loc_share / loc_share.sum())
        if p.industry == "ecommerce":
            self.c_region = rng.choice(len(p.regions), n, p=_zipf_weights(len(p.regions), 1.2))
        else:
            self.c_region = (self.c_home + (rng.random(n) < 0.2)
                             * rng.integers(0, len(p.regions), n)) % len(p.regions)
        seg_rate = np.array([s.order_rate for s in p.segments])[self.c_seg]
        self.c_rate = seg_rate * rng.gamma(p.rate_shape, 1 / p.rate_shape, n)
        self.c_lines = np.array([s.lines_mean for s in p.segments])[self.c_seg]
        self.c_qty = (np.array([s.qty_mean for s in p.segments])[self.c_seg]
                      * rng.lognormal(0, .3, n))
        self.c_terms = np.array([s.pay_terms for s in p.segments])[self.c_seg]
        self.c_disc = np.array([s.discount for s in p.segments])[self.c_seg]
        is_new = rng.random(n) < p.new_customer_share
        self.c_created = np.where(is_new, rng.integers(0, max(1, self.n_days - 1), n),
                                  -rng.integers(60, 3000, n))
        # Churn (planted): churners' order rate and basket decline over 60-180 days before
        # they stop; a quarter stop abruptly (no warning: noise). Churn dates run past the end
        # so some customers are mid-decline "today".
        self.c_churn = rng.random(n) < p.churn_share
        lo = np.maximum(self.c_created + 120, 90)
        hi = self.n_days + 90
        self.c_churn_day = np.where(self.c_churn, lo + (rng.random(n) * np.maximum(hi - lo, 1))
                                    .astype(int), 10 ** 9)
        self.c_decline_len = rng.integers(60, 181, n)
        self.c_abrupt = rng.random(n) < 0.25
        # Service trouble comes first (planted, leading): late and short deliveries, tickets
        # and disputes rise 30-120 days before the order rate starts to fall, while ordering
        # still looks normal. A recency/frequency rule cannot see this; a model using support,
        # delivery and billing data can. Two in five abrupt churners had no trouble (noise).
        trng = np.random.default_rng(rng.integers(2 ** 63))  # its own stream
        self.c_trouble_lead = trng.integers(30, 121, n)
        self.c_trouble = self.c_churn & ~(self.c_abrupt & (trng.random(n) < 0.4))
        # Noise: a fifth of the loyal customers take a temporary dip and come back.
        dip = (~self.c_churn) & (rng.random(n) < 0.2)
        self.c_dip_start = np.where(dip, rng.integers(0, self.n_days, n), 10 ** 9)
        self.c_dip_len = rng.integers(45, 121, n)
        self.c_pay_delay = rng.normal(2, 6, n) + 6 * self.c_churn
        status = np.full(n, "active", dtype=object)
        churned_now = self.c_churn & (self.c_churn_day <= self.E)
        status[churned_now & (rng.random(n) < 0.6)] = "inactive"
        status[rng.random(n) < 0.015] = "blocked"
        self.c_status = status
        pre = p.id_prefix.get("customer", "C")
        self.c_id = _fmt_ids(pre, np.arange(10001, 10001 + n), 5)
        self.c_name = names.customer_names(p.name_style, n, rng)

    def _life(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(order-rate multiplier, basket multiplier, in-trouble flag) per customer x day.

        "In trouble" (service problems: tickets, disputes, late deliveries) starts
        ``c_trouble_lead`` days before the order decline and lasts until the customer stops.
        """
        T = t[None, :]
        created = self.c_created[:, None]
        churn = self.c_churn_day[:, None]
        dlen = self.c_decline_len[:, None]
        prog = np.clip((T - (churn - dlen)) / dlen, 0, 1)
        prog = np.where(self.c_abrupt[:, None], 0.0, prog)
        alive = (T >= created) & (T < churn)
        rate = alive * (1 - 0.85 * prog ** 0.7)
        basket = 1 - 0.45 * prog
        ds = self.c_dip_start[:, None]
        in_dip = (T >= ds) & (T < ds + self.c_dip_len[:, None])
        rate = rate * np.where(in_dip, 0.35, 1.0)
        basket = basket * np.where(in_dip, 0.8, 1.0)
        start = np.where(self.c_abrupt, self.c_churn_day, self.c_churn_day - self.c_decline_len)
        trouble = (T >= (start - self.c_trouble_lead)[:, None]) & self.c_trouble[:, None]
        return rate, basket, trouble & alive

    # ------------------------------------------------------------------ products & suppliers
    def _products(self) -> None:
        p, rng, n = self.p, self.rng, self.p.n_skus
        self.s_cat = rng.integers(0, len(p.categories), n)
        self.s_pop = rng.lognormal(0, 1.0, n)
        n_sup = max(6, n // 14)
        # Suppliers differ in lead time, its variability and how often they deliver late
        # (planted: long & variable lead times and late POs cause stockouts).
        self.sup_lead = np.clip(rng.lognormal(np.log(16), 0.55, n_sup), 4, 75).round()
        # Far-away suppliers (long lead times) are also the unreliable ones.
        far = self.sup_lead > 24
        self.sup_cv = np.where(far, rng.uniform(0.25, 0.5, n_sup), rng.uniform(0.03, 0.25, n_sup))
        self.sup_late = np.where(far, rng.beta(2, 10, n_sup), rng.beta(1, 22, n_sup))
        self.s_sup = rng.integers(0, n_sup, n)
        self.sup_id = _fmt_ids("L" if p.dialect == "northwind" else "V",
                               np.arange(701, 701 + n_sup), 4)
        self.s_lead = np.maximum(2, self.sup_lead[self.s_sup] + rng.integers(-2, 3, n))
        base_cost = {"northwind": 6.0, "bluepeak": 45.0, "harbor": 12.0}[p.dialect]
        self.s_cost = np.round(rng.lognormal(np.log(base_cost), 0.7, n), 2) + 0.2
        self.s_price0 = np.round(self.s_cost * rng.uniform(1.25, 1.85, n), 2)
        # Price changes: 1-2 steps per SKU (mostly increases).
        pm = np.ones((n, self.n_days), dtype=np.float32)
        k = rng.integers(1, 3, n)
        for i in range(n):
            for _ in range(k[i]):
                d = rng.integers(30, self.n_days)
                f = rng.uniform(1.02, 1.09) if rng.random() < 0.88 else rng.uniform(0.9, 0.97)
                pm[i, d:] *= f
        self.s_price_mult = pm
        self.s_price_now = np.round(self.s_price0 * pm[:, -1], 2)
        self.s_pack = rng.choice([1, 6, 12, 24], n, p=[.4, .25, .2, .15]) \
            if p.dialect != "bluepeak" else rng.choice([1, 5, 10], n, p=[.3, .4, .3])
        self.s_active = rng.random(n) > 0.03
        pre = p.id_prefix.get("sku", "")
        self.s_id = _fmt_ids(pre, np.arange(100001, 100001 + n) if p.sku_style == "numeric"
                             else np.arange(2001, 2001 + n), 6 if p.sku_style == "numeric" else 4)
        self.s_name = names.product_names(p.dialect, p.categories, self.s_cat, rng)
        # Stocking: the first location stocks everything, others the popular part of the range.
        L = len(p.locations)
        stocked = np.zeros((L, n), dtype=bool)
        stocked[0] = True
        pop_rank = self.s_pop.argsort().argsort() / n
        for li in range(1, L):
            share = p.locations[li].stock_share
            stocked[li] = rng.random(n) < np.clip(share * (0.4 + 1.2 * pop_rank), 0, 1)
        self.stocked = stocked
        self.pair_loc, self.pair_sku = np.nonzero(stocked)
        self.P = len(self.pair_loc)
        self.pair_index = np.full((L, n), -1, dtype=np.int64)
        self.pair_index[self.pair_loc, self.pair_sku] = np.arange(self.P)
        self.fulfil_loc = np.where(stocked, np.arange(L)[:, None], 0)

    # ------------------------------------------------------------------ promotions
    def _promotions(self) -> None:
        p, rng, n, D = self.p, self.rng, self.p.n_skus, self.n_days
        up = np.ones((n, D), dtype=np.float32)
        disc = np.zeros((n, D), dtype=np.float32)
        years = D / 365.25
        counts = rng.poisson(p.promos_per_year * years, n)
        # Promoted SKUs (planted): demand uplift the replenishment planner does not anticipate.
        for i in range(n):
            for _ in range(counts[i]):
                a = int(rng.integers(0, D))
                ln = int(rng.integers(7, 22))
                up[i, a:a + ln] = rng.uniform(*p.promo_uplift)
                disc[i, a:a + ln] = round(float(rng.uniform(0.1, 0.3)), 2)
        self.global_up = np.ones(D)
        for (mon, day, ln, lift, share) in p.sale_events:
            for y in range(self.start.year, self.end.year + 1):
                try:
                    a = (dt.date(y, mon, day) - self.start).days
                except ValueError:
                    continue
                if a + ln <= 0 or a >= D:
                    continue
                sl = slice(max(a, 0), min(a + ln, D))
                chosen = rng.random(n) < share
                up[chosen, sl] *= lift if share < 1 else 1.0
                disc[chosen, sl] = np.maximum(disc[chosen, sl], 0.2)
                self.global_up[sl] *= 1 + (lift - 1) * (share if share < 1 else 1) * 0.6
        self.promo_up = up
        self.promo_disc = disc
        self.is_promo = disc > 0

    # ------------------------------------------------------------------ replenishment policy
    def _inventory_policy(self) -> None:
        p, rng = self.p, self.rng
        n = p.n_skus
        L = len(p.locations)
        # Expected units per day per customer, then per (location, sku) via the fulfilment map.
        w = self.c_rate * self.c_lines * self.c_qty * (self.c_created < self.n_days // 2) \
            * float(np.mean(self.wk * self.season_all))
        w_loc = np.bincount(self.c_home, weights=w, minlength=L)
        ps = self.s_pop / self.s_pop.sum()
        mu = np.zeros(self.P)
        for li in range(L):
            fl = self.fulfil_loc[li]
            idx = self.pair_index[fl, np.arange(n)]
            np.add.at(mu, idx, w_loc[li] * ps)
        self.mu = np.maximum(mu, 0.05)
        # Low safety stock (planted): a fifth of the SKUs are planned with almost no buffer.
        z = np.where(rng.random(n) < 0.22, rng.uniform(0.2, 0.6, n), rng.uniform(2.0, 2.8, n))
        self.s_z = z
        self.s_cycle = rng.uniform(10, 30, n)
        self.s_lowss = z < 0.6
        self._replan()
        self.on_hand = np.ceil(self.S * rng.uniform(0.6, 1.0, self.P))
        self.allocated = np.zeros(self.P)
        self.on_order = np.zeros(self.P)
        self.outflow: dict[int, np.ndarray] = {}
        self.receipts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}

    def _replan(self) -> None:
        sku = self.pair_sku
        lt = self.s_lead[sku]
        qty = np.maximum(self.c_qty.mean(), 1)
        sigma = np.sqrt(self.mu * qty * 2)
        # The planner buffers demand noise and a flat 20% lead-time uncertainty, whatever the
        # supplier's real variability and lateness (planted: unreliable suppliers -> stockouts).
        self.ss = np.ceil(self.s_z[sku] * np.sqrt(lt * sigma ** 2 + (0.2 * self.mu * lt) ** 2))
        self.rop = self.mu * lt + self.ss
        self.S = self.rop + self.mu * self.s_cycle[sku]

    # ------------------------------------------------------------------ projects
    def _projects(self) -> None:
        p, rng = self.p, self.rng
        n = p.n_projects
        types = names.PROJECT_TYPES
        tw = np.array([t[5] for t in types])
        ti = rng.choice(len(types), n, p=tw / tw.sum())
        pw = np.array([0.45] + [0.55 / (len(p.partners) - 1)] * (len(p.partners) - 1))
        pi = rng.choice(len(p.partners), n, p=pw)
        weak = np.array([q.weakness for q in p.partners])[pi]
        cx = np.array([t[3] for t in types])[ti]
        dur = np.array([rng.integers(types[i][1], types[i][2] + 1) for i in ti])
        start = np.sort(rng.integers(-60, self.E - 14, n))
        scope = rng.poisson(0.3 + 0.9 * cx + 0.8 * weak)
        # Project failure (planted): weak partner, complexity, scope changes and hidden noise.
        r = 1.3 * weak + 0.8 * cx + 0.35 * scope + rng.normal(0, 0.9, n)
        fail = rng.random(n) < _sigmoid(-2.9 + 1.5 * r)
        cancel = fail & (rng.random(n) < 0.25)
        delay = np.where(fail, rng.integers(31, 131, n),
                         np.clip(rng.normal(4 + 5 * r, 9, n), -7, 29)).round().astype(int)
        budget = np.array([rng.uniform(types[i][4][0], types[i][4][1]) for i in ti]).round(-1)
        rows, ms_rows, tickets = [], [], []
        for j in range(n):
            K = int(rng.integers(4, 7))
            ms_names = names.MILESTONES[:K - 1] + ("go_live",)
            planned = start[j] + np.round(dur[j] * np.arange(1, K + 1) / K).astype(int)
            frac = np.arange(1, K + 1) / K
            # Early milestone slippage (planted): grows with the final delay and the risk.
            slip = delay[j] * frac ** 1.6 + 3 * max(r[j], 0) * (frac < 1) \
                + rng.normal(0, 7, K) * (1 + frac) * (frac < 1)
            actual = planned + np.round(slip).astype(int)
            actual[-1] = planned[-1] + delay[j]
            actual = np.maximum.accumulate(np.maximum(actual, start[j] + 1))
            cancel_day = None
            if cancel[j]:
                cancel_day = int(start[j] + dur[j] * rng.uniform(0.3, 0.9) + delay[j] * 0.3)
            golive = int(actual[-1]) if not cancel[j] else None
            if cancel_day is not None and cancel_day <= self.E:
                status = "cancelled"
            elif golive is not None and golive <= self.E:
                status = "live"
            elif start[j] > self.E - 10:
                status = "planned"
            elif r[j] > 2.2 and rng.random() < 0.35:
                status = "on_hold"
            else:
                status = "in_progress"
            end_day = golive if golive is not None else cancel_day
            progress = np.clip((self.E - start[j]) / max(end_day - start[j], 1), 0, 1)
            overrun = 0.05 + 0.22 * max(r[j], -1) + rng.normal(0, 0.18)
            spent = budget[j] * max(0.05, 1 + overrun) * progress
            if status == "planned":
                spent = budget[j] * 0.02 * rng.random()
            proj_id = f"{p.id_prefix.get('project', 'PRJ')}-{j + 1:04d}"
            rows.append(dict(
                project_id=proj_id, partner_id=p.partners[pi[j]].partner_id,
                project_name=names.project_name(p.dialect, types[ti[j]][0], rng),
                project_type=types[ti[j]][0], start_day=int(start[j]),
                planned_go_live_day=int(planned[-1]),
                actual_go_live_day=golive if status == "live" else None,
                status=status, budget_hours=float(budget[j]), spent_hours=round(float(spent), 1),
                scope_changes=int(scope[j]) if start[j] <= self.E else 0,
                _risk=float(r[j]), _fail=bool(fail[j]), _delay=int(delay[j]),
                _cancel_day=cancel_day))
            first_open = True
            for k in range(K):
                done = actual[k] <= self.E and not (cancel_day is not None
                                                    and actual[k] >= cancel_day)
                if done:
                    st = "done"
                elif cancel_day is not None and cancel_day <= self.E:
                    st = "skipped"
                elif first_open and status != "planned":
                    st, first_open = "in_progress", False
                else:
                    st = "pending"
                ms_rows.append(dict(
                    milestone_id=f"{proj_id}-M{k + 1}", project_id=proj_id,
                    milestone_name=ms_names[k], sequence=k + 1, planned_day=int(planned[k]),
                    actual_day=int(actual[k]) if done else None, status=st))
            # Projects in trouble raise more tickets, during the project and after go-live.
            t_end = min(end_day if end_day is not None else self.E, self.E)
            n_t = rng.poisson(max(t_end - start[j], 0) / 30 * (0.5 + 0.45 * max(r[j], 0)))
            days = rng.integers(max(start[j], 0), max(t_end, max(start[j], 0) + 1), n_t)
            if status == "live":
                n_h = rng.poisson(1.5 + 1.8 * max(r[j], 0))
                days = np.r_[days, golive + rng.integers(0, 60, n_h)]
            for d in days:
                tickets.append((int(d), proj_id, float(r[j]), bool(d >= (golive or 10 ** 9))))
        self.projects = pd.DataFrame(rows)
        self.milestones = pd.DataFrame(ms_rows)
        if tickets:
            t = np.array(tickets, dtype=object)
            self._project_tickets = pd.DataFrame({
                "day": t[:, 0].astype(int), "project_id": t[:, 1], "risk": t[:, 2].astype(float),
                "post": t[:, 3].astype(bool)})
            self._project_tickets = self._project_tickets[
                self._project_tickets.day.between(0, self.E)]
        else:
            self._project_tickets = pd.DataFrame(columns=["day", "project_id", "risk", "post"])

    # ------------------------------------------------------------------ helpers
    def day_to_date(self, d) -> pd.Series:
        """Day indices (NaN/None = null) -> datetime64[D]-like pandas Series."""
        s = pd.Series(d, dtype="float64")
        out = pd.Timestamp(self.start) + pd.to_timedelta(s, unit="D")
        return out.dt.floor("D")

    def minute_to_ts(self, m) -> pd.Series:
        s = pd.Series(m, dtype="float64")
        ts = (pd.Timestamp(self.start) + pd.to_timedelta(s, unit="m")).dt.floor("min")
        if self.tz and self.tz != "UTC":
            # A clock never shows 02:30 on the spring-forward night: move those to 03:xx.
            ts = ts.dt.tz_localize(self.tz, nonexistent="shift_forward",
                                   ambiguous=np.zeros(len(ts), dtype=bool)).dt.tz_localize(None)
        return ts

    def _ids(self, kind: str, n: int, width: int = 7) -> np.ndarray:
        a = self.next[kind]
        self.next[kind] += n
        pre = self.p.id_prefix.get(kind, kind.upper()[:2])
        return _fmt_ids(pre, np.arange(a, a + n), width)

    # ------------------------------------------------------------------ master data
    def master(self) -> dict[str, pd.DataFrame]:
        p = self.p
        loc = pd.DataFrame({
            "location_id": [l.location_id for l in p.locations],
            "location_name": [l.name for l in p.locations],
            "location_type": [l.location_type for l in p.locations],
            "region": [l.region for l in p.locations],
        })
        cust = pd.DataFrame({
            "customer_id": self.c_id, "customer_name": self.c_name,
            "segment": [p.segments[i].name for i in self.c_seg],
            "region": np.asarray(p.regions, dtype=object)[self.c_region],
            "created_date": self.day_to_date(self.c_created),
            "status": self.c_status,
        })
        prod = pd.DataFrame({
            "sku": self.s_id, "product_name": self.s_name,
            "category": np.asarray(p.categories, dtype=object)[self.s_cat],
            "supplier_id": self.sup_id[self.s_sup],
            "unit_cost": np.round(self.s_cost * self.s_price_mult[:, -1], 2),
            "list_price": self.s_price_now, "lead_time_days": self.s_lead.astype(float),
            "is_active": self.s_active,
        })
        partners = pd.DataFrame({
            "partner_id": [q.partner_id for q in p.partners],
            "partner_name": [q.name for q in p.partners],
            "region": [q.region for q in p.partners],
        })
        return {"customers": cust, "products": prod, "locations": loc, "partners": partners}

    def final(self) -> dict[str, pd.DataFrame]:
        """Entities exported as one full snapshot at the end (projects, milestones, opps)."""
        pr = self.projects
        projects = pd.DataFrame({
            "project_id": pr.project_id, "partner_id": pr.partner_id,
            "project_name": pr.project_name, "project_type": pr.project_type,
            "start_date": self.day_to_date(pr.start_day.clip(upper=self.E)),
            "planned_go_live_date": self.day_to_date(pr.planned_go_live_day),
            "actual_go_live_date": self.day_to_date(pr.actual_go_live_day.astype("float64")),
            "status": pr.status, "budget_hours": pr.budget_hours, "spent_hours": pr.spent_hours,
            "scope_changes": pr.scope_changes,
        })
        ms = self.milestones
        milestones = pd.DataFrame({
            "milestone_id": ms.milestone_id, "project_id": ms.project_id,
            "milestone_name": ms.milestone_name, "sequence": ms.sequence,
            "planned_date": self.day_to_date(ms.planned_day),
            "actual_date": self.day_to_date(ms.actual_day.astype("float64")),
            "status": ms.status,
        })
        out = {"projects": projects, "milestones": milestones}
        if self.p.n_opportunities and "opportunities" in self.p.entities:
            out["opportunities"] = self._opportunities()
        return out

    def _opportunities(self) -> pd.DataFrame:
        p, rng, n = self.p, self.rng, self.p.n_opportunities
        created = np.sort(rng.integers(0, self.E + 1, n))
        cyc = rng.integers(20, 121, n)
        close = created + cyc
        existing = rng.random(n) < 0.7
        cust = np.where(existing, self.c_id[rng.integers(0, len(self.c_id), n)],
                        _fmt_ids("P-", rng.integers(1, 90000, n), 5))
        amount = np.round(rng.lognormal(np.log(8000 if p.dialect == "northwind" else 12000),
                                        0.9, n), -1)
        won = rng.random(n) < np.where(existing, 0.38, 0.22)
        frac = np.clip((self.E - created) / cyc, 0, 1)
        open_stage = np.array(["prospecting", "qualification", "proposal", "negotiation"],
                              dtype=object)[np.minimum((frac * 4).astype(int), 3)]
        stage = np.where(close <= self.E, np.where(won, "won", "lost"), open_stage)
        return pd.DataFrame({
            "opportunity_id": self._ids("opp", n, 6), "customer_id": cust,
            "created_date": self.day_to_date(created), "close_date": self.day_to_date(close),
            "stage": stage, "amount": amount.astype(float),
            "owner": np.asarray(p.sales_owners or ("owner",), dtype=object)[
                rng.integers(0, max(len(p.sales_owners), 1), n)],
        })

    # ------------------------------------------------------------------ the monthly loop
    def months(self) -> Iterator[tuple[str, dict[str, pd.DataFrame]]]:
        for label, a, b in self.month_bounds:
            out = self._month(a, b)
            last = b - 1 == self.E
            for entity, col in (("payments", "_day"), ("tickets", "_day")):
                got = self.carry.take(entity, col, self.E if last else b - 1)
                if got is not None and len(got):
                    out[entity] = got
            yield label, {k: v.drop(columns=[c for c in ("_day",) if c in v.columns])
                          for k, v in out.items() if len(v)}

    def _month(self, a: int, b: int) -> dict[str, pd.DataFrame]:
        p, rng = self.p, self.rng
        t = np.arange(a, b)
        nd = b - a
        life, basket, decline = self._life(t)
        rates = (self.c_rate[:, None] * life * (self.wk * self.season_all * self.holiday
                                               * self.global_up * self.noise_day)[None, a:b])
        counts = rng.poisson(rates)
        ci, ti = np.nonzero(counts)
        rep = counts[ci, ti]
        ci, ti = np.repeat(ci, rep), np.repeat(ti, rep)
        o = np.lexsort((ci, ti))
        ci, ti = ci[o], ti[o]
        n_o = len(ci)
        o_day = a + ti
        o_bask = basket[ci, ti]
        o_decl = decline[ci, ti]
        o_ids = self._ids("order", n_o)
        o_min = o_day * MINUTES_PER_DAY + (
            rng.integers(7 * 60, 18 * 60, n_o) if p.industry != "ecommerce"
            else rng.integers(0, MINUTES_PER_DAY, n_o))
        ch_names = np.array([c for c, _ in p.channels], dtype=object)
        ch_w = np.array([w for _, w in p.channels])
        o_chan = ch_names[rng.choice(len(ch_names), n_o, p=ch_w / ch_w.sum())]
        # --- lines
        n_l_per = 1 + rng.poisson(np.maximum(self.c_lines[ci] * o_bask - 1, 0.05))
        lo = np.repeat(np.arange(n_o), n_l_per)
        n_l = len(lo)
        line_no = _group_rank(lo)
        l_day = o_day[lo]
        sku = np.empty(n_l, dtype=np.int64)
        for d in range(a, b):
            m = l_day == d
            k = int(m.sum())
            if not k:
                continue
            w = self.s_pop * self.cat_season[self.s_cat, d] * self.promo_up[:, d]
            sku[m] = rng.choice(p.n_skus, k, p=w / w.sum())
        promo = self.is_promo[sku, l_day]
        cust = ci[lo]
        qmean = self.c_qty[cust] * o_bask[lo] * np.where(promo, 1.3, 1.0)
        qty = 1 + rng.poisson(np.maximum(qmean - 1, 0.02))
        # Demand spikes: occasional bulk orders.
        spike = rng.random(n_l) < 0.006
        qty = np.where(spike, qty * rng.integers(4, 11, n_l), qty).astype(float)
        fl = self.fulfil_loc[self.c_home[cust], sku]
        pair = self.pair_index[fl, sku]
        price = np.round(self.s_price0[sku] * self.s_price_mult[sku, l_day], 2)
        disc = np.round(np.clip(self.c_disc[cust] + self.promo_disc[sku, l_day], 0, 0.6), 2)
        # --- order-level events drawn before fulfilment
        cancelled_by_cust = rng.random(n_o) < 0.01
        has_exc = rng.random(n_o) < (0.05 + 0.05 * np.isin(o_chan, ["email", "phone"])
                                     + 0.04 * o_decl)
        lag = rng.choice([0, 1, 1, 2], n_o) + has_exc * rng.integers(1, 4, n_o)
        if p.industry == "ecommerce":
            lag = rng.choice([0, 0, 1, 1, 2], n_o) + has_exc * rng.integers(1, 3, n_o)
        demand = np.where(cancelled_by_cust[lo], 0.0, qty)
        # --- inventory: simulate stock per pair day by day (vectorised over pairs)
        filled = np.zeros(n_l)
        order_sort = np.lexsort((np.arange(n_l), pair, l_day))
        sp, sd, sq = pair[order_sort], l_day[order_sort], demand[order_sort]
        key = sd * (self.P + 1) + sp
        cum = np.cumsum(sq)
        starts = np.r_[True, key[1:] != key[:-1]]
        base = np.maximum.accumulate(np.where(starts, cum - sq, 0))
        cum_before = cum - sq - base
        day_bounds = np.searchsorted(sd, np.arange(a, b + 1))
        snap = np.zeros((4, nd, self.P))
        po_parts = []
        line_lag = lag[lo][order_sort]
        month_demand = np.zeros(self.P)
        filled_sorted = np.zeros(n_l)
        for j, d in enumerate(range(a, b)):
            for prs, q_recv, q_ord in self.receipts.pop(d, []):
                np.add.at(self.on_hand, prs, q_recv)
                np.add.at(self.on_order, prs, -q_ord)
            s0, s1 = day_bounds[j], day_bounds[j + 1]
            if s1 > s0:
                lp = sp[s0:s1]
                avail = (self.on_hand - self.allocated)[lp]
                f = np.clip(avail - cum_before[s0:s1], 0, sq[s0:s1])
                filled_sorted[s0:s1] = f
                self.allocated += np.bincount(lp, weights=f, minlength=self.P)
                month_demand += np.bincount(lp, weights=sq[s0:s1], minlength=self.P)
                for lg in np.unique(line_lag[s0:s1]):
                    mm = line_lag[s0:s1] == lg
                    out = np.bincount(lp[mm], weights=f[mm], minlength=self.P)
                    buf = self.outflow.setdefault(d + int(lg), np.zeros(self.P))
                    buf += out
            out = self.outflow.pop(d, None)
            if out is not None:
                self.on_hand -= out
                self.allocated -= out
            # Replenishment: reorder point / order-up-to, planned on the planner's estimate.
            pos = self.on_hand - self.allocated + self.on_order
            need = np.nonzero(pos <= self.rop)[0]
            if len(need):
                po_parts.append(self._place_pos(d, need, pos[need]))
            snap[0, j] = self.on_hand
            snap[1, j] = self.allocated
            snap[2, j] = self.on_order
            snap[3, j] = self.ss
        filled[order_sort] = filled_sorted
        # The planner re-estimates demand each month (EWMA), but never sees promotions coming.
        self.mu = np.maximum(0.6 * self.mu + 0.4 * month_demand / nd, 0.05)
        self._replan()
        month = dict(lo=lo, qty=qty, filled=filled, sku=sku, pair=pair, price=price,
                     disc=disc, cancelled_by_cust=cancelled_by_cust, ci=ci, decline=decline,
                     fl=fl, has_exc=has_exc, lag=lag, line_no=line_no, n_l_per=n_l_per, n_o=n_o,
                     o_chan=o_chan, o_day=o_day, o_decl=o_decl, o_ids=o_ids, o_min=o_min,
                     po_parts=po_parts, promo=promo, snap=snap)
        return self._month_frames(a, b, month)

    def _place_pos(self, d: int, prs: np.ndarray, pos: np.ndarray) -> pd.DataFrame:
        rng = self.rng
        sku = self.pair_sku[prs]
        pack = self.s_pack[sku]
        q = np.maximum(np.ceil((self.S[prs] - pos) / pack) * pack, pack).astype(float)
        sup = self.s_sup[sku]
        lt_plan = self.s_lead[sku]
        # Actual lead time: supplier variability plus late deliveries (planted).
        cv = self.sup_cv[sup]
        lt = lt_plan * rng.lognormal(0.5 * cv ** 2, cv)
        late = rng.random(len(prs)) < self.sup_late[sup]
        lt = np.maximum(1, np.round(lt + late * (rng.integers(3, 10, len(prs))
                                                  + lt_plan * rng.uniform(0.1, 0.5, len(prs)))
                                    )).astype(int)
        cancelled = rng.random(len(prs)) < 0.008
        partial = rng.random(len(prs)) < 0.05
        q_recv = np.where(cancelled, 0.0, np.where(partial, np.floor(q * rng.uniform(.6, .95,
                                                                               len(prs))), q))
        arrive = d + lt
        for day in np.unique(arrive):
            mm = arrive == day
            self.receipts.setdefault(int(day), []).append((prs[mm], q_recv[mm], q[mm]))
        self.on_order[prs] += q
        ack = np.where(rng.random(len(prs)) < 0.93, d + rng.integers(0, 4, len(prs)), -1)
        return pd.DataFrame({"day": d, "pair": prs, "qty": q, "recv": q_recv, "arrive": arrive,
                             "expected": d + lt_plan, "ack": ack, "cancelled": cancelled})

    # ------------------------------------------------------------------ frames of a month
    def _month_frames(self, a: int, b: int, v: dict) -> dict[str, pd.DataFrame]:
        p, rng, E = self.p, self.rng, self.E
        lo, qty, filled, sku, pair, price, disc = (v[k] for k in (
            "lo", "qty", "filled", "sku", "pair", "price", "disc"))
        n_o, o_day, ci = v["n_o"], v["o_day"], v["ci"]
        loc_ids = np.array([l.location_id for l in p.locations], dtype=object)
        l_loc = loc_ids[v["fl"]]
        net = np.round(qty * price * (1 - disc), 2)
        first_line = np.r_[0, np.cumsum(v["n_l_per"])[:-1]].astype(int)
        shipped_val = np.bincount(lo, weights=filled * price * (1 - disc), minlength=n_o)
        o_qty = np.bincount(lo, weights=qty, minlength=n_o)
        o_fill = np.bincount(lo, weights=filled, minlength=n_o)
        any_fill = o_fill > 0
        complete = o_fill >= o_qty - 1e-9
        ship_day = np.where(any_fill, o_day + v["lag"], -1)
        req = o_day + rng.integers(p.requested_lead[0], p.requested_lead[1] + 1, n_o)
        promised = req + (rng.random(n_o) < 0.3)
        # Late deliveries: carrier noise, more often for customers on their way out (planted).
        t_lo, t_hi = p.transit_days
        late_p = 0.07 + 0.22 * v["o_decl"]
        transit = rng.integers(t_lo, t_hi + 1, n_o) + (rng.random(n_o) < late_p) \
            * rng.integers(2, 7, n_o)
        deliv = np.where(any_fill, ship_day + transit, -1)
        carrier = np.asarray(p.carriers, dtype=object)[rng.integers(0, len(p.carriers), n_o)]
        # Status as of the export date.
        status = np.full(n_o, "delivered", dtype=object)
        status[deliv > E] = "shipped"
        status[(ship_day > E)] = "allocated"
        status[(ship_day > E) & (o_day == E)] = "open"
        status[~any_fill] = np.where(o_day[~any_fill] >= E - 14, "backordered", "cancelled")
        status[v["cancelled_by_cust"]] = "cancelled"
        returned = (status == "delivered") & (rng.random(n_o) < 0.012)
        status[returned] = "returned"
        shipped_mask = any_fill & (ship_day <= E) & ~v["cancelled_by_cust"]
        ship_ids = np.full(n_o, None, dtype=object)
        ship_ids[shipped_mask] = self._ship_ids(o_day[shipped_mask], v["o_ids"][shipped_mask])
        delivered_ok = shipped_mask & (deliv <= E)
        late = delivered_ok & (deliv > promised)
        # --- workflow telemetry drives manual touches on the order
        touches = v["has_exc"] * rng.integers(1, 4, n_o) + (rng.random(n_o) < 0.04)
        ai_day = int(self.n_days * 0.4)
        ai = (o_day >= ai_day) & (rng.random(n_o) < 0.7)
        conf = np.where(ai, rng.beta(8, 2, n_o), np.nan)
        touches = touches + (ai & (conf < 0.6))
        orders = pd.DataFrame({
            "order_id": v["o_ids"], "customer_id": self.c_id[ci],
            "order_date": self.day_to_date(o_day),
            "order_amount": np.round(np.bincount(lo, weights=net, minlength=n_o), 2),
            "currency": p.currency, "channel": v["o_chan"], "status": status,
            "location_id": l_loc[first_line] if n_o else np.zeros(0, dtype=object),
            "requested_date": self.day_to_date(req),
            "promised_date": self.day_to_date(promised),
            "manual_touches": touches.astype(int), "has_exception": v["has_exc"],
        })
        ship_cols = {  # line-level copies of order shipment fields (northwind's line export)
            "shipment_id": ship_ids[lo],
            "ship_date": self.day_to_date(np.where(shipped_mask, ship_day, np.nan)[lo]),
            "delivered_date": self.day_to_date(np.where(delivered_ok, deliv, np.nan)[lo]),
            "carrier": np.where(shipped_mask, carrier, None)[lo],
            "is_complete": np.where(shipped_mask, complete, None)[lo],
        }
        lines = pd.DataFrame({
            "order_id": v["o_ids"][lo], "line_number": v["line_no"].astype(int),
            "sku": self.s_id[sku], "quantity_ordered": qty,
            "quantity_shipped": np.where(shipped_mask[lo], filled, 0.0),
            "unit_price": price, "discount_pct": disc, "net_amount": net,
            "location_id": l_loc, "order_date": self.day_to_date(o_day[lo]),
            "promised_date": self.day_to_date(promised[lo]), "is_promo": v["promo"],
            **{f"_{k}": c for k, c in ship_cols.items()},
        })
        self.stats["order_lines"] += len(lines)
        sm = shipped_mask
        shipments = pd.DataFrame({
            "shipment_id": ship_ids[sm], "order_id": v["o_ids"][sm],
            "ship_date": self.day_to_date(ship_day[sm]),
            "delivered_date": self.day_to_date(np.where(delivered_ok, deliv, np.nan)[sm]),
            "promised_date": self.day_to_date(promised[sm]), "carrier": carrier[sm],
            "location_id": orders.location_id.to_numpy()[sm], "is_complete": complete[sm],
        })
        out = {"orders": orders, "order_lines": lines, "shipments": shipments}
        out["inventory_snapshots"] = self._snapshots(a, b, v["snap"])
        pos = [x for x in v["po_parts"] if len(x)]
        out["purchase_orders"] = self._po_frame(pd.concat(pos, ignore_index=True) if pos
                                                else None)
        ctx = dict(n_o=n_o, ci=ci, o_day=o_day, ship_day=ship_day, shipped=sm, complete=complete,
                   late=late, deliv=deliv, value=shipped_val, decl=v["o_decl"], ids=v["o_ids"])
        inv_disputed = np.zeros(n_o, dtype=bool)
        if "invoices" in p.entities:
            out["invoices"], inv_disputed = self._invoices(ctx)
        self._tickets(a, b, ctx, inv_disputed, v["decline"])
        if "workflow_runs" in p.entities:
            out["workflow_runs"] = self._workflow_runs(ctx, v, touches, ai, conf, status,
                                                       out["orders"].order_amount.to_numpy())
        return out

    def _ship_ids(self, days: np.ndarray, order_ids: np.ndarray) -> np.ndarray:
        pre = self.p.id_prefix.get("ship", "SH")
        return np.array([f"{pre}{o[len(self.p.id_prefix.get('order', '')):]}"
                         for o in order_ids.tolist()], dtype=object)

    def _snapshots(self, a: int, b: int, snap: np.ndarray) -> pd.DataFrame:
        nd = b - a
        P = self.P
        loc_ids = np.array([l.location_id for l in self.p.locations], dtype=object)
        return pd.DataFrame({
            "snapshot_date": self.day_to_date(np.repeat(np.arange(a, b), P)),
            "sku": np.tile(self.s_id[self.pair_sku], nd),
            "location_id": np.tile(loc_ids[self.pair_loc], nd),
            "on_hand_qty": snap[0].ravel(), "allocated_qty": snap[1].ravel(),
            "on_order_qty": snap[2].ravel(), "safety_stock_qty": snap[3].ravel(),
        })

    def _po_frame(self, df: pd.DataFrame | None) -> pd.DataFrame:
        cols = ["po_id", "line_number", "supplier_id", "sku", "location_id", "order_date",
                "expected_date", "acknowledged_date", "received_date", "quantity_ordered",
                "quantity_received", "unit_cost", "status"]
        if df is None or not len(df):
            return pd.DataFrame(columns=cols)
        E = self.E
        sku = self.pair_sku[df.pair.to_numpy()]
        loc = self.pair_loc[df.pair.to_numpy()]
        sup = self.s_sup[sku]
        key = (df.day.to_numpy() * 10_000 + sup) * 100 + loc
        o = np.argsort(key, kind="stable")
        df = df.iloc[o].reset_index(drop=True)
        sku, loc, sup, key = sku[o], loc[o], sup[o], key[o]
        new = np.r_[True, key[1:] != key[:-1]]
        hdr = np.cumsum(new) - 1
        ids = self._ids("po", int(new.sum()), 6)[hdr]
        arrive = df.arrive.to_numpy()
        received = (arrive <= E) & ~df.cancelled.to_numpy()
        cancel_known = df.cancelled.to_numpy() & (arrive <= E)
        ack = df.ack.to_numpy()
        ack_ok = (ack >= 0) & (ack <= E)
        partial = received & (df.recv.to_numpy() < df.qty.to_numpy())
        status = np.where(received, np.where(partial, "partially_received", "received"),
                          np.where(ack_ok, "acknowledged", "open"))
        status = np.where(cancel_known, "cancelled", status)
        loc_ids = np.array([l.location_id for l in self.p.locations], dtype=object)
        return pd.DataFrame({
            "po_id": ids, "line_number": _group_rank(hdr),
            "supplier_id": self.sup_id[sup], "sku": self.s_id[sku], "location_id": loc_ids[loc],
            "order_date": self.day_to_date(df.day.to_numpy()),
            "expected_date": self.day_to_date(df.expected.to_numpy()),
            "acknowledged_date": self.day_to_date(np.where(ack_ok, ack, np.nan)),
            "received_date": self.day_to_date(np.where(received, arrive, np.nan)),
            "quantity_ordered": df.qty.to_numpy(),
            "quantity_received": np.where(received, df.recv.to_numpy(), 0.0),
            "unit_cost": np.round(self.s_cost[sku] * self.s_price_mult[sku, df.day.to_numpy()], 2),
            "status": status,
        })

    def _invoices(self, c: dict) -> tuple[pd.DataFrame, np.ndarray]:
        rng, E = self.rng, self.E
        sm = c["shipped"]
        n = int(sm.sum())
        ci = c["ci"][sm]
        inv_day = c["ship_day"][sm]
        due = inv_day + self.c_terms[ci]
        amount = np.round(c["value"][sm], 2)
        # Disputes (planted churn signal): more often from declining customers and after
        # short or late deliveries.
        p_disp = 0.02 + 0.12 * c["decl"][sm] + 0.07 * ~c["complete"][sm] + 0.06 * c["late"][sm]
        disputed = rng.random(n) < p_disp
        pay_day = np.round(due + self.c_pay_delay[ci] + rng.normal(0, 4, n)
                           + disputed * rng.integers(15, 61, n)).astype(int)
        pay_day = np.maximum(pay_day, inv_day)
        short_pay = disputed & (rng.random(n) < 0.5)
        paid_amt = np.round(np.where(short_pay, amount * rng.uniform(0.7, 0.97, n), amount), 2)
        written_off = disputed & (rng.random(n) < 0.1)
        paid = (pay_day <= E) & ~written_off
        status = np.where(paid, np.where(short_pay, "partially_paid", "paid"),
                          np.where(disputed, "disputed", "open"))
        status = np.where(written_off & (inv_day + 180 <= E), "written_off", status)
        inv_ids = self._ids("invoice", n)
        invoices = pd.DataFrame({
            "invoice_id": inv_ids, "customer_id": self.c_id[ci], "order_id": c["ids"][sm],
            "invoice_date": self.day_to_date(inv_day), "due_date": self.day_to_date(due),
            "amount": amount, "currency": self.p.currency, "status": status,
            "is_disputed": disputed,
        })
        pm = paid
        pays = pd.DataFrame({
            "payment_id": self._ids("payment", int(pm.sum())), "invoice_id": inv_ids[pm],
            "customer_id": self.c_id[ci][pm], "payment_date": self.day_to_date(pay_day[pm]),
            "amount": paid_amt[pm], "_day": pay_day[pm],
        })
        if "payments" in self.p.entities:
            self.carry.add("payments", pays)
        disp_o = np.zeros(c["n_o"], dtype=bool)
        disp_o[np.nonzero(sm)[0][disputed]] = True
        return invoices, disp_o

    def _tickets(self, a: int, b: int, c: dict, disputed: np.ndarray, decline) -> None:
        if "tickets" not in self.p.entities:
            return
        p, rng = self.p, self.rng
        # Background tickets: more from customers in decline (planted churn signal).
        seg_f = np.array([1.6, 1.0, 0.6])[np.minimum(self.c_seg, 2)]
        alive = (np.arange(a, b)[None, :] >= self.c_created[:, None]) & \
                (np.arange(a, b)[None, :] < self.c_churn_day[:, None])
        lam = p.ticket_rate * seg_f[:, None] * alive * (1 + 4.0 * decline)
        cnt = rng.poisson(lam)
        tc, tt = np.nonzero(cnt)
        tc, tt = np.repeat(tc, cnt[tc, tt]), np.repeat(tt, cnt[tc, tt])
        bg = pd.DataFrame({"cust": tc, "day": a + tt, "cat": rng.choice(
            ["product_question", "order_change", "account", "returns", "technical"],
            len(tc)), "decl": decline[tc, tt].astype(float), "project_id": None, "risk": 0.0})
        # Event tickets: after late or short deliveries and disputed invoices.
        parts = [bg]
        o = c
        for mask, cat, pr, off in (
            (o["late"] & (rng.random(o["n_o"]) < 0.3), "delivery_delay", o["deliv"], 0),
            (o["shipped"] & ~o["complete"] & (rng.random(o["n_o"]) < 0.35), "short_shipment",
             o["ship_day"], 1),
            (disputed & (rng.random(o["n_o"]) < 0.6), "billing_dispute", o["ship_day"], 5),
        ):
            if mask.any():
                parts.append(pd.DataFrame({
                    "cust": o["ci"][mask], "day": pr[mask] + off + rng.integers(0, 3, mask.sum()),
                    "cat": cat, "decl": o["decl"][mask].astype(float), "project_id": None,
                    "risk": 0.0}))
        pt = self._project_tickets
        pt = pt[(pt.day >= a) & (pt.day < b)]
        if len(pt):
            parts.append(pd.DataFrame({"cust": -1, "day": pt.day.to_numpy(), "cat": np.where(
                pt.post, "post_go_live", "implementation"), "decl": 0.0,
                "project_id": pt.project_id.to_numpy(), "risk": pt.risk.to_numpy()}))
        df = pd.concat(parts, ignore_index=True)
        df = df[df.day <= self.E].sort_values(["day", "cust"], kind="stable").reset_index(drop=True)
        n = len(df)
        if not n:
            return
        decl = df.decl.to_numpy() + np.clip(df.risk.to_numpy(), 0, 3) / 3
        prio = np.where(rng.random(n) < 0.05 + 0.1 * decl, "urgent",
                        rng.choice(["high", "normal", "normal", "normal", "low"], n))
        prio = np.where(df.cat.isin(["billing_dispute", "delivery_delay"]) & (prio == "low"),
                        "normal", prio)
        sla_h = pd.Series(prio).map({"urgent": 4, "high": 8, "normal": 24, "low": 72}).to_numpy()
        frt_mean = pd.Series(prio).map({"urgent": 0.8, "high": 2.5, "normal": 6, "low": 16})
        created = df.day.to_numpy() * MINUTES_PER_DAY + rng.integers(7 * 60, 19 * 60, n)
        frt = np.maximum(3, rng.lognormal(np.log(frt_mean.to_numpy() * 60), 0.7))
        contacts = 1 + rng.poisson(0.5 + 0.9 * decl)
        res = frt + rng.lognormal(np.log(10 * 60), 0.9) * contacts
        end_min = (self.E + 1) * MINUTES_PER_DAY - 1
        fr_at = np.where(created + frt <= end_min, created + frt, np.nan)
        res_at = np.where(created + res <= end_min, created + res, np.nan)
        csat = np.clip(np.round(4.4 - 1.3 * decl - 0.3 * (contacts - 1)
                                - 0.6 * (res > sla_h * 60) + rng.normal(0, 0.8, n)), 1, 5)
        csat = np.where((rng.random(n) < 0.55) & ~np.isnan(res_at), csat, np.nan)
        cust = df.cust.to_numpy()
        tickets = pd.DataFrame({
            "ticket_id": self._ids("ticket", n), 
            "customer_id": np.where(cust >= 0, self.c_id[np.maximum(cust, 0)], None),
            "created_at": self.minute_to_ts(created), "first_response_at": self.minute_to_ts(fr_at),
            "resolved_at": self.minute_to_ts(res_at), "priority": prio,
            "channel": rng.choice(["email", "phone", "chat", "portal"], n, p=[.4, .25, .2, .15]),
            "category": df.cat.to_numpy(), "contacts_to_resolve": np.where(
                np.isnan(res_at), np.nan, contacts), "sla_due_at": self.minute_to_ts(
                created + sla_h * 60), "csat": csat, "project_id": df.project_id.to_numpy(),
            "_day": df.day.to_numpy(),
        })
        self.carry.add("tickets", tickets)

    def _workflow_runs(self, c: dict, v: dict, touches, ai, conf, status, amount) -> pd.DataFrame:
        p, rng, E = self.p, self.rng, self.E
        n_o = c["n_o"]
        exc_types = np.array(["credit_hold", "price_mismatch", "address_invalid",
                              "duplicate_order", "stock_unavailable"], dtype=object)
        start = v["o_min"] + rng.integers(1, 20, n_o)
        dur = rng.lognormal(np.log(2), 0.8, n_o) + touches * rng.uniform(5, 90, n_o)
        failed = rng.random(n_o) < 0.015
        st = np.where(v["has_exc"], "exception", np.where(failed, "failed", "succeeded"))
        ex = np.where(v["has_exc"], exc_types[rng.integers(0, len(exc_types), n_o)],
                      np.where(failed, np.where(rng.random(n_o) < .5, "timeout", "api_error"),
                               None))
        big = amount > np.quantile(amount, 0.9) if n_o else np.zeros(0, bool)
        appr = big | v["has_exc"] & (rng.random(n_o) < 0.3)
        given = np.where(appr, rng.random(n_o) < 0.93, None)
        frames = [pd.DataFrame({
            "workflow_name": p.workflow_names[0], "started_at": start, "dur": dur,
            "status": st, "exception_type": ex, "manual_touches": touches.astype(int),
            "approval_required": appr, "approval_given": given, "ai_assisted": ai,
            "model_confidence": np.round(conf, 3), "order_id": c["ids"]})]
        sm = c["shipped"]
        for wf in p.workflow_names[1:]:
            if wf == "po_confirmation":
                continue
            if wf == "invoice_match":
                m = sm
                t0 = c["ship_day"] * MINUTES_PER_DAY + rng.integers(8 * 60, 20 * 60, n_o)
            elif wf == "fraud_check":
                m = rng.random(n_o) < 0.25
                t0 = v["o_min"] + rng.integers(1, 10, n_o)
            else:  # returns_processing
                m = status == "returned"
                t0 = np.maximum(c["deliv"], c["o_day"]) * MINUTES_PER_DAY + 7 * MINUTES_PER_DAY
            k = int(m.sum())
            if not k:
                continue
            exc = rng.random(k) < 0.06
            frames.append(pd.DataFrame({
                "workflow_name": wf, "started_at": t0[m], "dur": rng.lognormal(np.log(3), .6, k),
                "status": np.where(exc, "exception", "succeeded"),
                "exception_type": np.where(exc, "amount_mismatch", None),
                "manual_touches": (exc * rng.integers(1, 3, k)).astype(int),
                "approval_required": False, "approval_given": None, "ai_assisted": ai[m],
                "model_confidence": np.round(conf[m], 3), "order_id": c["ids"][m]}))
        df = pd.concat(frames, ignore_index=True)
        end_min = (E + 1) * MINUTES_PER_DAY - 1
        df = df[df.started_at <= end_min].sort_values("started_at", kind="stable")
        fin = df.started_at + df.dur
        st = df.status.to_numpy().copy()
        st[(fin > end_min).to_numpy()] = "running"
        n = len(df)
        return pd.DataFrame({
            "run_id": self._ids("run", n, 8), "workflow_name": df.workflow_name.to_numpy(),
            "started_at": self.minute_to_ts(df.started_at.to_numpy()),
            "finished_at": self.minute_to_ts(np.where(fin <= end_min, fin, np.nan)),
            "status": st, "exception_type": df.exception_type.to_numpy(),
            "manual_touches": df.manual_touches.to_numpy(),
            "approval_required": df.approval_required.to_numpy(),
            "approval_given": df.approval_given.to_numpy(),
            "ai_assisted": df.ai_assisted.to_numpy(),
            "model_confidence": df.model_confidence.to_numpy(),
            "order_id": df.order_id.to_numpy(),
        })


def _zipf_weights(n: int, a: float) -> np.ndarray:
    w = 1 / np.arange(1, n + 1) ** a
    return w / w.sum()
