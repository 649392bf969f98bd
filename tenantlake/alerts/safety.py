"""What must hold before an alert leaves: the destination is allowed, the tenant's data is
good and fresh, the channel is under its rate limit.

Destinations that resolve to private, loopback, link-local or otherwise non-public addresses are
refused unless the platform allows them: ``TENANTLAKE_ALERTS_ALLOW_PRIVATE`` lists addresses or
networks (``127.0.0.1``, ``10.20.0.0/16``); tests allow ``127.0.0.1``. This is platform
configuration (the operator's environment), never a tenant's YAML, so a tenant cannot aim alerts
at the platform's own network.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from tenantlake.tenants import TenantConfig

ALLOW_PRIVATE_ENV = "TENANTLAKE_ALERTS_ALLOW_PRIVATE"


class DestinationRefused(ValueError):
    """A destination the platform does not send to (bad URL, private address, ...)."""


def allowed_networks(env: Mapping[str, str] | None = None) -> list:
    raw = (env if env is not None else os.environ).get(ALLOW_PRIVATE_ENV, "")
    nets = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if part:
            nets.append(ipaddress.ip_network(part, strict=False))
    return nets


def _public(ip) -> bool:
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified
                or (ip.version == 6 and ip.ipv4_mapped is not None
                    and not _public(ip.ipv4_mapped)))


def check_host(host: str, port: int | None, *, what: str,
               env: Mapping[str, str] | None = None) -> list[str]:
    """Resolve ``host``; refuse when any address is non-public and not allowed. Returns the
    addresses."""
    if not host:
        raise DestinationRefused(f"{what}: no host")
    try:
        infos = socket.getaddrinfo(host, port or 0, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise DestinationRefused(f"{what}: host {host!r} does not resolve ({exc})") from None
    allowed = allowed_networks(env)
    addrs = sorted({i[4][0] for i in infos})
    for a in addrs:
        ip = ipaddress.ip_address(a.split("%", 1)[0])
        if _public(ip):
            continue
        if any(ip in n for n in allowed):
            continue
        raise DestinationRefused(
            f"{what}: {host} resolves to {a}, a private/loopback address; refused (the platform "
            f"operator may allow it with {ALLOW_PRIVATE_ENV}={a})")
    return addrs


def check_url(url: str, *, what: str, env: Mapping[str, str] | None = None) -> str:
    """Refuse non-HTTP(S) URLs and private destinations; returns the URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused(f"{what}: only http(s) URLs are sent to (got scheme "
                                 f"{parts.scheme or 'none'!r})")
    if parts.username or parts.password:
        raise DestinationRefused(f"{what}: credentials in the URL are not allowed; use the "
                                 "channel's auth_env/secret_env")
    check_host(parts.hostname or "", parts.port, what=what, env=env)
    return url


def stale_entities(tenant: TenantConfig, now: dt.datetime, url: str | None = None) -> list[str]:
    """Entities past their freshness limit (``quality.freshness_hours``), judged by their last
    landing in the operational store's ledger; entities without a limit never count."""
    from sqlalchemy import func, select

    from tenantlake.store import BLOCKED, engine, landing_ledger

    t = landing_ledger
    with engine(url).connect() as conn:
        last = dict(conn.execute(select(t.c.entity, func.max(t.c.landed_at))
                                 .where(t.c.tenant_id == tenant.id, t.c.status != BLOCKED)
                                 .group_by(t.c.entity)).all())
    now = now.astimezone(dt.timezone.utc).replace(tzinfo=None) if now.tzinfo else now
    out = []
    for entity in tenant.entities:
        limit = tenant.quality.freshness_limit(entity)
        if limit is None:
            continue
        landed = last.get(entity)
        if landed is None:
            continue  # never landed: nothing to be stale about (and no alerts built from it)
        if isinstance(landed, str):
            landed = dt.datetime.fromisoformat(landed)
        age_h = (now - landed.replace(tzinfo=None)).total_seconds() / 3600
        if age_h > limit:
            out.append(f"{entity} last landed {age_h:.0f}h ago (limit {limit:g}h)")
    return out


def blocked_batches(tenant: TenantConfig, url: str | None = None) -> list[str]:
    """Batches the landing gate blocked (and nobody released), as 'entity: checks'."""
    import json

    from tenantlake.store import ledger_blocked

    out = []
    for e in ledger_blocked(tenant.id, url=url):
        try:
            checks = ", ".join(sorted({r.get("check", "?") for r in json.loads(e.reasons or "[]")}))
        except (ValueError, AttributeError):
            checks = "blocked"
        out.append(f"{e.entity} batch {e.batch_id} ({checks or 'blocked'})")
    return out


def hold_reason(tenant: TenantConfig, now: dt.datetime, *, gate_failures: list[str] | None = None,
                url: str | None = None) -> str | None:
    """Why this tenant's alerts must not leave now, or None: a batch blocked by the landing
    gate (from the ledger), a failed gate check reported by the orchestrator
    (``gate_failures``), or stale data."""
    parts = []
    failed = list(gate_failures or []) + blocked_batches(tenant, url)
    if failed:
        parts.append("quality gate failed: " + "; ".join(dict.fromkeys(failed)))
    stale = stale_entities(tenant, now, url)
    if stale:
        parts.append("stale data: " + "; ".join(stale))
    return " | ".join(parts) or None
