"""`tenantlake alerts ...` (build, list, show, approve, reject, edit, replay, deliver) and
`tenantlake audit verify|show`."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from enum import Enum
from pathlib import Path

import typer

alerts_app = typer.Typer(help="Alerts: rules -> outbox -> approval -> delivery -> audit.",
                         no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log of alert state changes.",
                        no_args_is_help=True)


class Fmt(str, Enum):
    table = "table"
    json = "json"


class ListFmt(str, Enum):
    table = "table"
    json = "json"
    ids = "ids"


def _now(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a time like 2026-11-24T06:00:00") from None


def _actor(actor: str | None) -> str:
    return actor or os.environ.get("TENANTLAKE_ACTOR") or f"cli:{getpass.getuser()}"


def _fail(msg: str, code: int = 2):
    typer.echo(msg, err=True)
    raise typer.Exit(code)


NOW_OPT = typer.Option(None, "--now", help="Evaluate as of this UTC time (ISO, for replays "
                                           "and tests); default: now.")
ACTOR_OPT = typer.Option(None, "--actor", help="Who does this (default $TENANTLAKE_ACTOR or "
                                               "cli:<user>); recorded in the audit log.")


def _tenants(tenant: list[str] | None):
    from tenantlake.tenants import load_tenants, validate_tenant_id

    all_t = load_tenants()
    ids = [validate_tenant_id(t) for t in (tenant or sorted(all_t))]
    missing = [t for t in ids if t not in all_t]
    if missing:
        _fail(f"unknown tenant(s): {', '.join(missing)}; see `tenantlake tenants list`")
    return all_t, ids


@alerts_app.command("build")
def build_cmd(
    tenant: list[str] = typer.Option(None, "--tenant", "-t", help="Tenant(s); default all."),
    now: str = NOW_OPT,
    fmt: Fmt = typer.Option(Fmt.table, "--format"),
) -> None:
    """Evaluate the tenants' alert rules on their latest predictions and KPIs into the outbox.

    Example: tenantlake alerts build --tenant northwind-distribution
    """
    from tenantlake.alerts import outbox, rules, safety
    from tenantlake.settings import home

    all_t, ids = _tenants(tenant)
    at = outbox._naive(_now(now))
    out = {}
    for t in ids:
        cfg = all_t[t]
        outbox.set_hold(t, safety.hold_reason(cfg, at), now=at)
        res, enq = rules.build(home(), cfg, now=at)
        out[t] = {"candidates": len(res.candidates), "created": len(enq.created),
                  "reapproval": len(enq.reapproval), "rules": res.notes,
                  "held": (outbox.get_hold(t) or (None,))[0]}
    if fmt is Fmt.json:
        typer.echo(json.dumps(out, indent=2))
        return
    for t, r in out.items():
        typer.echo(f"{t}: {r['created']} new alert(s), {r['reapproval']} need re-approval"
                   + (f"; HELD: {r['held']}" if r["held"] else ""))
        for rule, note in r["rules"].items():
            typer.echo(f"  {rule}: {note}")


@alerts_app.command("list")
def list_cmd(
    tenant: str = typer.Option(None, "--tenant", "-t", help="Only this tenant."),
    state: list[str] = typer.Option(None, "--state", help="Only these states (repeatable)."),
    rule: str = typer.Option(None, "--rule", help="Only this rule."),
    limit: int = typer.Option(None, "--limit", help="At most this many (newest first)."),
    fmt: ListFmt = typer.Option(ListFmt.table, "--format",
                                help="table, json, or ids (one alert id per line)."),
) -> None:
    """List alerts with their state (newest first).

    Example: tenantlake alerts list --format json
    """
    from tenantlake.alerts import outbox

    bad = [s for s in state or [] if s not in outbox.STATES]
    if bad:
        _fail(f"unknown state(s) {', '.join(bad)}; one of {', '.join(outbox.STATES)}")
    alerts = outbox.list_alerts(tenant, state or None, rule=rule, limit=limit)
    if fmt is ListFmt.ids:
        for a in alerts:
            typer.echo(a.alert_id)
        return
    if fmt is ListFmt.json:
        typer.echo(json.dumps([a.to_dict() for a in alerts], indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("alert", "tenant", "rule", "channel", "entity", "window", "score", "state",
              "attempts", "note", title=f"{len(alerts)} alert(s)")
    for a in alerts:
        t.add_row(a.alert_id, a.tenant_id, a.rule, a.channel, a.entity, a.window,
                  "" if a.score is None else f"{a.score:.3g}", a.state, str(a.attempts),
                  (a.last_error or a.state_reason or "")[:60])
    Console().print(t)


def _chain_of(a) -> dict:
    from tenantlake.alerts.audit import history

    entries = history(a.alert_id)
    approver = next((e["actor"] for e in reversed(entries) if e["to_state"] == "approved"
                     and e["from_state"] == "pending_approval"), None)
    return {
        "alert": a.alert_id, "idempotency_key": a.idempotency_key,
        "prediction": a.source_ref, "model": a.model_name, "model_version": a.model_version,
        "approver": approver or ("not required" if not a.requires_approval else None),
        "audit": [{k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in e.items()
                   if k not in ("id", "prev_hash")} for e in entries],
    }


@alerts_app.command("show")
def show_cmd(alert_id: str = typer.Argument(..., help="Alert id (from `alerts list`)."),
             fmt: Fmt = typer.Option(Fmt.table, "--format")) -> None:
    """One alert: payload, state, and why it went out (prediction -> model version -> approver).

    Example: tenantlake alerts show 3f2a9c0d1e4b5a6978c0d1e2
    """
    from tenantlake.alerts import outbox

    try:
        a = outbox.get(alert_id)
    except outbox.AlertError as exc:
        _fail(str(exc))
    doc = {**a.to_dict(), "why": _chain_of(a)}
    if fmt is Fmt.json:
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    typer.echo(f"alert {a.alert_id} [{a.state}] tenant {a.tenant_id} rule {a.rule} "
               f"channel {a.channel}")
    typer.echo(f"  entity {a.entity}  window {a.window}  score {a.score}")
    typer.echo(f"  prediction {a.source_ref}  model {a.model_name} v{a.model_version}")
    typer.echo(f"  approver {doc['why']['approver']}  attempts {a.attempts}"
               + (f"  last error: {a.last_error}" if a.last_error else ""))
    typer.echo("  payload " + json.dumps(a.payload, indent=2).replace("\n", "\n  "))
    for e in doc["why"]["audit"]:
        typer.echo(f"  {e['at']} {e['actor']}: {e['from_state']} -> {e['to_state']}")


@alerts_app.command("approve")
def approve_cmd(
    alert_id: list[str] = typer.Argument(..., help="Alert id(s)."),
    payload_file: Path = typer.Option(None, "--payload", help="Edit and approve: a JSON file "
                                      "with the payload to send instead (one alert only)."),
    actor: str = ACTOR_OPT, now: str = NOW_OPT,
) -> None:
    """Approve pending alerts (freezes each payload's hash), or edit and approve one.

    Example: tenantlake alerts approve 3f2a9c0d1e4b5a6978c0d1e2 --actor ops.lead@acme.example
    """
    from tenantlake.alerts import outbox

    payload = None
    if payload_file is not None:
        if len(alert_id) != 1:
            _fail("--payload edits one alert; give exactly one alert id")
        payload = json.loads(payload_file.read_text(encoding="utf-8"))
    for aid in alert_id:
        try:
            a = outbox.approve(aid, _actor(actor), payload=payload, now=_now(now))
        except outbox.AlertError as exc:
            _fail(str(exc))
        typer.echo(f"{a.alert_id}: approved (payload {a.payload_hash[:12]})")


@alerts_app.command("reject")
def reject_cmd(
    alert_id: list[str] = typer.Argument(..., help="Alert id(s)."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit log)."),
    actor: str = ACTOR_OPT, now: str = NOW_OPT,
) -> None:
    """Reject pending alerts for good; they are never sent.

    Example: tenantlake alerts reject 3f2a9c0d1e4b5a6978c0d1e2 --reason "customer already called"
    """
    from tenantlake.alerts import outbox

    for aid in alert_id:
        try:
            a = outbox.reject(aid, _actor(actor), reason, now=_now(now))
        except outbox.AlertError as exc:
            _fail(str(exc))
        typer.echo(f"{a.alert_id}: rejected ({reason})")


@alerts_app.command("edit")
def edit_cmd(
    alert_id: str = typer.Argument(..., help="Alert id."),
    payload_file: Path = typer.Option(..., "--payload", help="JSON file with the new payload."),
    actor: str = ACTOR_OPT, now: str = NOW_OPT,
) -> None:
    """Change an unsent alert's payload; it then waits for approval again.

    Example: tenantlake alerts edit 3f2a9c0d1e4b5a6978c0d1e2 --payload edited.json
    """
    from tenantlake.alerts import outbox

    try:
        a = outbox.edit(alert_id, _actor(actor),
                        json.loads(payload_file.read_text(encoding="utf-8")), now=_now(now))
    except outbox.AlertError as exc:
        _fail(str(exc))
    typer.echo(f"{a.alert_id}: edited; {a.state}")


@alerts_app.command("replay")
def replay_cmd(
    alert_id: list[str] = typer.Argument(..., help="Alert id(s)."),
    actor: str = ACTOR_OPT, now: str = NOW_OPT,
) -> None:
    """Send delivered or dead-lettered alerts again (same idempotency key).

    Example: tenantlake alerts replay 3f2a9c0d1e4b5a6978c0d1e2
    """
    from tenantlake.alerts import outbox

    for aid in alert_id:
        try:
            a = outbox.replay(aid, _actor(actor), now=_now(now))
        except outbox.AlertError as exc:
            _fail(str(exc))
        typer.echo(f"{a.alert_id}: {a.state}, will be sent on the next delivery")


@alerts_app.command("deliver")
def deliver_cmd(
    tenant: list[str] = typer.Option(None, "--tenant", "-t", help="Tenant(s); default all."),
    now: str = NOW_OPT,
    fmt: Fmt = typer.Option(Fmt.table, "--format"),
) -> None:
    """Send every due alert once (retries wait for their backoff); prints delivery figures.

    Example: tenantlake alerts deliver
    """
    from tenantlake.alerts.delivery import deliver
    from tenantlake.settings import home

    all_t, ids = _tenants(tenant)
    stats = deliver(home(), all_t, now=_now(now), tenant_ids=ids)
    s = stats.summary()
    if fmt is Fmt.json:
        typer.echo(json.dumps(s, indent=2))
        return
    typer.echo(", ".join(f"{k} {v}" for k, v in s.items() if k != "held"))
    for t, why in stats.held.items():
        typer.echo(f"HELD {t}: {why}")


@audit_app.command("verify")
def verify_cmd(
    tenant: str = typer.Option(None, "--tenant", "-t", help="Only this tenant's chain."),
    fmt: Fmt = typer.Option(Fmt.table, "--format"),
) -> None:
    """Recompute the audit chains; exit 1 naming every entry that was changed or removed.

    Example: tenantlake audit verify
    """
    from tenantlake.alerts.audit import verify

    results = verify(tenant)
    if fmt is Fmt.json:
        typer.echo(json.dumps([{"tenant_id": r.tenant_id, "entries": r.entries, "ok": r.ok,
                                "problems": list(r.problems)} for r in results], indent=2))
    else:
        for r in results:
            typer.echo(f"{r.tenant_id}: {r.entries} entries, "
                       + ("chain intact" if r.ok else f"TAMPERED ({len(r.problems)} problem(s))"))
            for p in r.problems:
                typer.echo(f"  {p}")
        if not results:
            typer.echo("no audit entries yet")
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@audit_app.command("show")
def audit_show_cmd(alert_id: str = typer.Argument(..., help="Alert id.")) -> None:
    """Why an alert went out: prediction -> model version -> approver, and every transition.

    Example: tenantlake audit show 3f2a9c0d1e4b5a6978c0d1e2
    """
    from tenantlake.alerts import outbox

    try:
        a = outbox.get(alert_id)
    except outbox.AlertError as exc:
        _fail(str(exc))
    typer.echo(json.dumps(_chain_of(a), indent=2, default=str))


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(audit_app, name="audit")
