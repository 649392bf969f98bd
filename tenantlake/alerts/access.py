"""Who may approve, and the tenant-scoped reads the Alerts and Platform pages use.

Pages call these with the tenant ids their user's scope allows; every function takes a tenant id
and returns only that tenant's alerts (the outbox query binds it), so a page can never list
another tenant's alerts.
"""

from __future__ import annotations

import datetime as dt
import statistics

from tenantlake.alerts import outbox
from tenantlake.tenants import TenantConfig, validate_tenant_id


def may_approve(tenant: TenantConfig, role: str | None, email: str | None) -> bool:
    """A person may approve/reject a tenant's alerts if their role is one the tenant's
    ``approval_policy.roles`` lists (the dashboard has already checked the tenant is in their
    scope), or their e-mail is one of the policy's ``approvers``."""
    policy = tenant.approval_policy
    if email and email.lower() in {a.lower() for a in policy.approvers}:
        return True
    return role is not None and role in policy.roles


def alerts_frame(tenant_id: str, states: list[str] | None = None, url: str | None = None):
    """One tenant's alerts as a table for a page (newest first)."""
    import pandas as pd

    rows = []
    for a in outbox.list_alerts(validate_tenant_id(tenant_id), states, url=url):
        rows.append({"alert_id": a.alert_id, "state": a.state, "rule": a.rule,
                     "channel": a.channel, "entity": a.entity, "window": a.window,
                     "score": a.score, "model_version": a.model_version,
                     "reasons": " | ".join(a.reasons), "attempts": a.attempts,
                     "last_error": a.last_error, "state_reason": a.state_reason,
                     "approved_by": a.approved_by, "created_at": a.created_at,
                     "delivered_at": a.delivered_at})
    cols = ["alert_id", "state", "rule", "channel", "entity", "window", "score",
            "model_version", "reasons", "attempts", "last_error", "state_reason",
            "approved_by", "created_at", "delivered_at"]
    return pd.DataFrame(rows, columns=cols)


def delivery_figures(tenant_id: str, url: str | None = None) -> dict:
    """Delivery figures of one tenant: alerts by state, retries, dead letters, latency, hold."""
    validate_tenant_id(tenant_id)
    alerts = outbox.list_alerts(tenant_id, url=url)
    counts = {s: 0 for s in outbox.STATES}
    for a in alerts:
        counts[a.state] += 1
    lat = [(a.delivered_at - max(a.created_at, a.approved_at or a.created_at)).total_seconds()
           for a in alerts if a.delivered_at]
    hold = outbox.get_hold(tenant_id, url=url)
    return {
        "tenant_id": tenant_id, "alerts": len(alerts), **counts,
        "sent": sum(1 for a in alerts if a.attempts > 0),
        "retried": sum(1 for a in alerts if a.attempts > 1 or a.state in (
            outbox.RETRY_WAIT, outbox.DEST_REJECTED)),
        "latency_p50_s": round(statistics.median(lat), 1) if lat else None,
        "latency_max_s": round(max(lat), 1) if lat else None,
        "held": hold[0] if hold else None,
        "held_since": hold[1].isoformat() if hold and isinstance(hold[1], dt.datetime) else None,
    }


def delivery_table(tenant_ids: list[str], url: str | None = None):
    """Delivery figures of several tenants (one row each) for the Platform page."""
    import pandas as pd

    rows = [delivery_figures(t, url=url) for t in tenant_ids]
    rows = [r for r in rows if r["alerts"] or r["held"]]
    cols = {"tenant_id": "Tenant", "alerts": "Alerts", "sent": "Sent",
            outbox.DELIVERED: "Delivered", "retried": "Retried",
            outbox.DEAD_LETTER: "Dead letters", outbox.PENDING: "Waiting for approval",
            outbox.REJECTED: "Rejected", "latency_p50_s": "Latency p50 (s)",
            "latency_max_s": "Latency max (s)", "held": "Held because"}
    return pd.DataFrame(rows, columns=list(cols)).rename(columns=cols)
