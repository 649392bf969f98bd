"""Delivery: send what is due, per (tenant, channel), and record every outcome.

One pass: alerts left in ``sending`` by a process that died are made due again (their lease
expired); each tenant that is held (failed gate, stale data) is skipped with its reason; for each
(tenant, channel) with due alerts, up to the channel's rate limit are claimed (``sending``, with a
lease), sent in batches, and their outcomes recorded. A crash between sending and recording
re-sends the same alerts under the same ids later: receivers see duplicates of one idempotency
key at worst, never a lost alert.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import statistics
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field

import httpx

from tenantlake.alerts import outbox
from tenantlake.alerts.channels import SendContext, send
from tenantlake.settings import Home
from tenantlake.tenants import TenantConfig

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 300.0


@dataclass
class DeliveryStats:
    sent: int = 0
    delivered: int = 0
    retried: int = 0
    rejected_rows: int = 0
    dead_lettered: int = 0
    reapproval: int = 0
    reclaimed: int = 0
    rate_limited: int = 0
    #: tenant -> why its alerts were held this pass.
    held: dict[str, str] = field(default_factory=dict)
    #: seconds from creation (or approval) to delivery, per delivered alert.
    latencies: list[float] = field(default_factory=list)

    def add(self, other: "DeliveryStats") -> None:
        for k in ("sent", "delivered", "retried", "rejected_rows", "dead_lettered",
                  "reapproval", "reclaimed", "rate_limited"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.held.update(other.held)
        self.latencies += other.latencies

    def summary(self) -> dict:
        d = asdict(self)
        lat = d.pop("latencies")
        d["latency_p50_s"] = round(statistics.median(lat), 3) if lat else None
        d["latency_max_s"] = round(max(lat), 3) if lat else None
        return d


def deliver(home: Home, tenants: Mapping[str, TenantConfig], *,
            now: dt.datetime | None = None, tenant_ids: list[str] | None = None,
            batch_size: int = 100, lease_seconds: float = DEFAULT_LEASE_SECONDS,
            env: Mapping[str, str] | None = None, url: str | None = None,
            client: httpx.Client | None = None, max_rounds: int = 1000,
            on_batch: Callable[[list[str]], None] | None = None) -> DeliveryStats:
    """One delivery pass over every due alert (of ``tenant_ids``, default all), as of ``now``.

    ``on_batch`` is called with each batch's alert ids right after sending and before the
    outcomes are recorded (tests kill the process there).
    """
    now = outbox._naive(now)
    env = os.environ if env is None else env
    stats = DeliveryStats()
    stats.reclaimed = len(outbox.reclaim_expired(now, url=url))
    own_client = client is None
    client = client or httpx.Client(follow_redirects=False, trust_env=False)
    try:
        for tenant_id, channel_name in outbox.due_groups(now, url=url):
            if tenant_ids is not None and tenant_id not in tenant_ids:
                continue
            tenant = tenants.get(tenant_id)
            if tenant is None:
                log.warning("tenant_id=%s has due alerts but no tenant configuration; skipped",
                            tenant_id)
                continue
            hold = outbox.get_hold(tenant_id, url=url)
            if hold is not None:
                stats.held[tenant_id] = hold[0]
                continue
            channel = tenant.alerts.channels.get(channel_name)
            if channel is None:
                log.warning("tenant_id=%s channel=%s is no longer configured; its alerts wait",
                            tenant_id, channel_name)
                continue
            ctx = SendContext(tenant_id, channel_name, channel, home, env, client)
            stats.add(_deliver_channel(ctx, now, batch_size, lease_seconds, url, max_rounds,
                                       on_batch))
    finally:
        if own_client:
            client.close()
    log.info("alert delivery: %s", stats.summary())
    return stats


def _deliver_channel(ctx: SendContext, now: dt.datetime, batch_size: int, lease_seconds: float,
                     url: str | None, max_rounds: int, on_batch) -> DeliveryStats:
    stats = DeliveryStats()
    seen: set[str] = set()
    for _ in range(max_rounds):
        limit = batch_size
        if ctx.channel.rate_per_minute:
            used = outbox.delivered_since(ctx.tenant_id, ctx.channel_name,
                                          now - dt.timedelta(minutes=1), url=url)
            limit = min(limit, ctx.channel.rate_per_minute - used)
            if limit <= 0:
                stats.rate_limited += len(outbox.due(now, tenant_id=ctx.tenant_id,
                                                     channel=ctx.channel_name, limit=10_000,
                                                     url=url))
                break
        batch = [a for a in outbox.due(now, tenant_id=ctx.tenant_id, channel=ctx.channel_name,
                                       limit=limit, url=url) if a.alert_id not in seen]
        if not batch:
            break
        seen.update(a.alert_id for a in batch)  # one try per alert per pass
        claimed, back = outbox.claim(batch, now, lease_seconds, url=url)
        stats.reapproval += len(back)
        if not claimed:
            continue
        outcomes = {o.alert_id: o for o in send(ctx, claimed)}
        stats.sent += len(claimed)
        if on_batch is not None:
            on_batch([a.alert_id for a in claimed])
        new = outbox.record(claimed, outcomes, now, ctx.channel.max_attempts, url=url)
        for a in claimed:
            s = new.get(a.alert_id)
            if s == outbox.DELIVERED:
                stats.delivered += 1
                start = a.approved_at if a.approved_at and a.approved_at > a.created_at \
                    else a.created_at
                stats.latencies.append(max(0.0, (now - start).total_seconds()))
            elif s == outbox.DEAD_LETTER:
                stats.dead_lettered += 1
            elif s == outbox.DEST_REJECTED:
                stats.rejected_rows += 1
                stats.retried += 1
            elif s == outbox.RETRY_WAIT:
                stats.retried += 1
    return stats


def deliver_until_settled(home: Home, tenants: Mapping[str, TenantConfig], *,
                          start: dt.datetime, step_seconds: float = 60.0, max_passes: int = 200,
                          **kwargs) -> tuple[DeliveryStats, dt.datetime]:
    """Run passes, moving the (injected) clock forward by ``step_seconds`` (or to the next
    retry), until nothing is due or waiting to be retried. For tests and replays."""
    from sqlalchemy import func, select

    from tenantlake.alerts.store import alerts_engine
    from tenantlake.alerts.store import outbox as table

    total = DeliveryStats()
    now = outbox._naive(start)
    url = kwargs.get("url")
    for _ in range(max_passes):
        total.add(deliver(home, tenants, now=now, **kwargs))
        with alerts_engine(url).connect() as conn:
            nxt = conn.execute(select(func.min(table.c.next_attempt_at)).where(
                table.c.state.in_(outbox.DUE_STATES))).scalar()
        if nxt is None:
            break
        if isinstance(nxt, str):
            nxt = dt.datetime.fromisoformat(nxt)
        now = max(now + dt.timedelta(seconds=step_seconds), nxt)
    return total, now
