"""Channels: how one batch of alerts for one (tenant, channel) is sent.

Each sender takes the claimed alerts and returns one :class:`~tenantlake.alerts.outbox.Outcome`
per alert: ``delivered``; ``rejected`` (the destination refused this row, e.g. a 4xx for it or a
row named in a batch response: retried later, the rest of the batch is unaffected); ``failed``
(transient: connection refused, timeout, 5xx). Nothing here raises for one alert's problem.

Secrets and URLs come from the environment (the YAML names the variables) and never enter a
payload, a log line or an error message: errors name the channel and the variable.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import logging
import os
import smtplib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tenantlake.alerts.audit import canonical_json
from tenantlake.alerts.outbox import Alert, Outcome
from tenantlake.alerts.safety import DestinationRefused, check_host, check_url
from tenantlake.lake import atomic_write, lake_path
from tenantlake.settings import Home
from tenantlake.tenants import Channel

log = logging.getLogger(__name__)

DEFAULT_SMTP_ENV = "TENANTLAKE_SMTP_URL"
USER_AGENT = "tenantlake-alerts/1"


class ChannelConfigError(ValueError):
    """A channel that cannot send: a variable not set, a refused destination."""


@dataclass
class SendContext:
    tenant_id: str
    channel_name: str
    channel: Channel
    home: Home
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    client: httpx.Client | None = None

    @property
    def what(self) -> str:
        return f"tenant_id={self.tenant_id} channel={self.channel_name}"

    def var(self, name: str | None, purpose: str) -> str:
        if not name:
            raise ChannelConfigError(f"{self.what}: no {purpose} variable configured")
        value = self.env.get(name)
        if not value:
            raise ChannelConfigError(f"{self.what}: environment variable {name} ({purpose}) "
                                     "is not set")
        return value


# ------------------------------------------------------------------------------ signing


def _secret_bytes(secret: str) -> bytes:
    s = secret.strip()
    if s.startswith("whsec_"):
        s = s[len("whsec_"):]
    try:
        return base64.b64decode(s, validate=True)
    except ValueError:
        raise ChannelConfigError("webhook secret is not a base64 'whsec_...' secret") from None


def sign(msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> str:
    """The Standard Webhooks ``webhook-signature`` header: ``v1,<base64 HMAC-SHA256>`` of
    ``id.timestamp.body`` for each secret, space-separated (two during a rotation)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    sigs = []
    for s in secrets:
        mac = hmac.new(_secret_bytes(s), signed, hashlib.sha256).digest()
        sigs.append("v1," + base64.b64encode(mac).decode())
    return " ".join(sigs)


def webhook_headers(msg_id: str, body: bytes, secrets: Sequence[str],
                    timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign(msg_id, ts, body, secrets),
            "content-type": "application/json", "user-agent": USER_AGENT}


def body_of(alert: Alert) -> bytes:
    return canonical_json(alert.payload).encode("utf-8")


# ------------------------------------------------------------------------------ HTTP


def _http_outcome(alert_id: str, resp: httpx.Response) -> Outcome:
    if 200 <= resp.status_code < 300:
        return Outcome(alert_id, "delivered")
    text = resp.text[:200].strip().replace("\n", " ")
    reason = f"HTTP {resp.status_code}" + (f": {text}" if text else "")
    if resp.status_code in (408, 409, 425, 429) or resp.status_code >= 500:
        return Outcome(alert_id, "failed", reason)
    return Outcome(alert_id, "rejected", reason)


def _post_each(ctx: SendContext, alerts: Sequence[Alert], url: str, headers_for) -> list[Outcome]:
    out = []
    assert ctx.client is not None
    for a in alerts:
        body, headers = headers_for(a)
        try:
            resp = ctx.client.request(ctx.channel.method, url, content=body, headers=headers,
                                      timeout=ctx.channel.timeout_seconds)
            out.append(_http_outcome(a.alert_id, resp))
        except httpx.TimeoutException:
            out.append(Outcome(a.alert_id, "failed",
                               f"timeout after {ctx.channel.timeout_seconds:g}s"))
        except httpx.HTTPError as exc:
            out.append(Outcome(a.alert_id, "failed", f"{type(exc).__name__}: "
                                                     f"{_scrub(str(exc), url)}"))
    return out


def _scrub(text: str, url: str) -> str:
    """Error text without the destination URL (it may carry a token in its path)."""
    return text.replace(url, "<channel url>")[:200]


def send_webhook(ctx: SendContext, alerts: Sequence[Alert]) -> list[Outcome]:
    url = check_url(ctx.var(ctx.channel.url_env, "webhook URL"), what=ctx.what, env=ctx.env)
    secrets = ctx.var(ctx.channel.secret_env, "signing secret").split()
    if not 1 <= len(secrets) <= 2:
        raise ChannelConfigError(f"{ctx.what}: {ctx.channel.secret_env} must hold one secret, or "
                                 "two (space-separated) during a rotation")

    def headers_for(a: Alert):
        body = body_of(a)
        return body, webhook_headers(f"msg_{a.alert_id}", body, secrets)

    return _post_each(ctx, alerts, url, headers_for)


def slack_text(a: Alert) -> str:
    p = a.payload
    who = ", ".join(f"{k} {v}" for k, v in (p.get("entity") or {}).items())
    head = f"*{p.get('title') or a.rule}* — {who}"
    lines = [head]
    if p.get("probability") is not None:
        lines.append(f"probability {p['probability']:.0%} ({p.get('risk_band') or 'n/a'}), "
                     f"model {p.get('model')} v{p.get('model_version')}")
    if p.get("kpi"):
        lines.append(f"{p['kpi']}: {p.get('value')} (target {p.get('target')})")
    for r in p.get("reasons") or []:
        lines.append(f"• {r}")
    lines.append(f"alert {a.alert_id}")
    return "\n".join(lines)


def send_slack(ctx: SendContext, alerts: Sequence[Alert]) -> list[Outcome]:
    url = check_url(ctx.var(ctx.channel.url_env, "Slack webhook URL"), what=ctx.what,
                    env=ctx.env)

    def headers_for(a: Alert):
        body = json.dumps({"text": slack_text(a)}).encode()
        return body, {"content-type": "application/json", "user-agent": USER_AGENT}

    return _post_each(ctx, alerts, url, headers_for)


def send_rest(ctx: SendContext, alerts: Sequence[Alert]) -> list[Outcome]:
    """A JSON call per alert (``Idempotency-Key`` header), or with ``batch: true`` one call
    whose 2xx response may list refused rows: ``{"rejected": [{"alert_id": ..., "reason":
    ...}]}`` — those rows are retried later, the others are delivered."""
    url = check_url(ctx.var(ctx.channel.url_env, "REST URL"), what=ctx.what, env=ctx.env)
    base = {"content-type": "application/json", "user-agent": USER_AGENT}
    if ctx.channel.auth_env:
        base["authorization"] = f"Bearer {ctx.var(ctx.channel.auth_env, 'bearer token')}"
    if not ctx.channel.batch:
        return _post_each(ctx, alerts, url, lambda a: (
            body_of(a), {**base, "idempotency-key": a.idempotency_key}))
    assert ctx.client is not None
    body = canonical_json({"alerts": [a.payload for a in alerts]}).encode()
    batch_key = hashlib.sha256(",".join(a.alert_id for a in alerts).encode()).hexdigest()[:32]
    try:
        resp = ctx.client.request(ctx.channel.method, url, content=body,
                                  headers={**base, "idempotency-key": batch_key},
                                  timeout=ctx.channel.timeout_seconds)
    except httpx.TimeoutException:
        return [Outcome(a.alert_id, "failed", f"timeout after {ctx.channel.timeout_seconds:g}s")
                for a in alerts]
    except httpx.HTTPError as exc:
        reason = f"{type(exc).__name__}: {_scrub(str(exc), url)}"
        return [Outcome(a.alert_id, "failed", reason) for a in alerts]
    if not 200 <= resp.status_code < 300:
        o = _http_outcome("", resp)
        return [Outcome(a.alert_id, o.status, o.reason) for a in alerts]
    refused: dict[str, str] = {}
    try:
        doc = resp.json() if resp.content else {}
        for r in (doc.get("rejected") or []) if isinstance(doc, dict) else []:
            refused[str(r.get("alert_id"))] = str(r.get("reason") or "rejected by destination")
    except ValueError:
        pass
    return [Outcome(a.alert_id, "rejected", f"destination rejected the row: {refused[a.alert_id]}")
            if a.alert_id in refused else Outcome(a.alert_id, "delivered") for a in alerts]


# ------------------------------------------------------------------------------ e-mail


def send_email(ctx: SendContext, alerts: Sequence[Alert]) -> list[Outcome]:
    smtp_url = ctx.var(ctx.channel.smtp_url_env or DEFAULT_SMTP_ENV, "SMTP server URL")
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ChannelConfigError(f"{ctx.what}: the SMTP URL must look like smtp://host:port")
    host, port = parts.hostname or "", parts.port or (465 if parts.scheme == "smtps" else 25)
    check_host(host, port, what=ctx.what, env=ctx.env)
    cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    out: list[Outcome] = []
    try:
        with cls(host, port, timeout=ctx.channel.timeout_seconds) as smtp:
            if parts.username:
                smtp.login(parts.username, parts.password or "")
            for a in alerts:
                msg = EmailMessage()
                msg["From"] = ctx.channel.from_address
                msg["To"] = ", ".join(ctx.channel.to)
                msg["Subject"] = f"[{a.tenant_id}] {a.payload.get('title') or a.rule}"
                msg["Message-ID"] = f"<{a.alert_id}@tenantlake>"
                msg["Date"] = formatdate(usegmt=True)
                msg["X-Tenantlake-Idempotency-Key"] = a.idempotency_key
                msg.set_content(slack_text(a).replace("*", ""))
                msg.add_attachment(body_of(a), maintype="application", subtype="json",
                                   filename=f"{a.alert_id}.json")
                try:
                    refused = smtp.send_message(msg)
                    if refused:
                        out.append(Outcome(a.alert_id, "rejected",
                                           f"recipients refused: {', '.join(refused)}"))
                    else:
                        out.append(Outcome(a.alert_id, "delivered"))
                except smtplib.SMTPRecipientsRefused as exc:
                    out.append(Outcome(a.alert_id, "rejected",
                                       f"recipients refused: {', '.join(exc.recipients)}"))
                except smtplib.SMTPResponseException as exc:
                    status = "rejected" if 500 <= exc.smtp_code < 600 else "failed"
                    out.append(Outcome(a.alert_id, status, f"SMTP {exc.smtp_code}"))
    except (OSError, smtplib.SMTPException) as exc:
        done = {o.alert_id for o in out}
        out += [Outcome(a.alert_id, "failed", f"SMTP: {type(exc).__name__}: {exc}"[:200])
                for a in alerts if a.alert_id not in done]
    return out


# ------------------------------------------------------------------------------ file drop

FILE_COLUMNS = ("alert_id", "idempotency_key", "tenant_id", "rule", "entity", "window",
                "model", "model_version", "probability", "risk_band", "kpi", "value", "target",
                "reasons", "title")


def file_folder(home: Home, tenant_id: str, channel: Channel) -> Path:
    """The channel's folder inside the tenant's export area (validated to stay inside)."""
    root = lake_path(home.lake, "exports", "alerts", tenant_id)
    target = (root / (channel.path or "")).resolve()
    if target != root and root not in target.parents:
        raise ChannelConfigError(f"tenant_id={tenant_id}: file channel path escapes {root}")
    return target


def file_rows(alerts: Sequence[Alert]) -> list[dict]:
    rows = []
    for a in alerts:
        p = a.payload
        rows.append({
            "alert_id": a.alert_id, "idempotency_key": a.idempotency_key,
            "tenant_id": a.tenant_id, "rule": a.rule, "entity": a.entity, "window": a.window,
            "model": p.get("model"), "model_version": p.get("model_version"),
            "probability": p.get("probability"), "risk_band": p.get("risk_band"),
            "kpi": p.get("kpi"), "value": p.get("value"), "target": p.get("target"),
            "reasons": " | ".join(p.get("reasons") or []), "title": p.get("title")})
    return rows


def send_file(ctx: SendContext, alerts: Sequence[Alert]) -> list[Outcome]:
    """One file per batch, written to a temp name and renamed into place (an ERP importer never
    sees half a file); the name is derived from the batch, so a re-sent batch replaces it."""
    fmt = ctx.channel.format or "csv"
    folder = file_folder(ctx.home, ctx.tenant_id, ctx.channel)
    rows = file_rows(alerts)
    digest = hashlib.sha256(",".join(sorted(a.alert_id for a in alerts)).encode()).hexdigest()
    stamp = min(a.created_at for a in alerts).strftime("%Y%m%dT%H%M%S")
    target = folder / f"alerts-{stamp}-{digest[:12]}.{fmt}"
    with atomic_write(target) as tmp:
        if fmt == "csv":
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=list(FILE_COLUMNS))
            w.writeheader()
            w.writerows(rows)
            tmp.write_text(buf.getvalue(), encoding="utf-8")
        elif fmt == "json":
            tmp.write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), tmp)
    log.info("%s: wrote %d alert(s) to %s", ctx.what, len(rows), target)
    return [Outcome(a.alert_id, "delivered") for a in alerts]


SENDERS = {"webhook": send_webhook, "slack": send_slack, "email": send_email,
           "file": send_file, "rest": send_rest}


def send(ctx: SendContext, alerts: Sequence[Alert]) -> list[Outcome]:
    """Send a batch; a channel that cannot send at all fails every alert with the reason."""
    try:
        return SENDERS[ctx.channel.type](ctx, alerts)
    except (ChannelConfigError, DestinationRefused) as exc:
        log.warning("%s", exc)
        return [Outcome(a.alert_id, "failed", str(exc)) for a in alerts]
