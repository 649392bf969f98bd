"""Approval and audit: unapproved never sent, rejected never, edited only after re-approval;
the chain answers "why did this alert go out" and a tampered log fails `audit verify`."""

from __future__ import annotations

import datetime as dt
import json
import pytest
from conftest import NOW, make_tenant, stockout_rows, write_predictions
from sqlalchemy import delete, update

from tenantlake.alerts import outbox, rules
from tenantlake.alerts.access import may_approve
from tenantlake.alerts.audit import verify
from tenantlake.alerts.delivery import deliver, deliver_until_settled
from tenantlake.alerts.store import (
    alerts_engine,
    audit,
    audit_heads,
    drop_append_only_triggers,
)

APPROVAL_RULES = [{"name": "churn_risk", "model": "stockout", "min_probability": 0.5,
                   "channel": "hook", "requires_approval": True}]


def _setup(home, n=10):
    tenant = make_tenant(rules=APPROVAL_RULES)
    write_predictions(home, tenant.id, "stockout", stockout_rows(n))
    res, enq = rules.build(home, tenant, now=NOW)
    assert enq.created
    return tenant, sorted(enq.created)


def test_unapproved_and_rejected_never_sent(tl_home, store_url, receiver, hook_env):
    tenant, ids = _setup(tl_home)
    assert outbox.state_counts("acme") == {outbox.PENDING: len(ids)}
    total, now = deliver_until_settled(tl_home, {tenant.id: tenant}, start=NOW, env=hook_env)
    assert total.sent == 0 and receiver.requests == 0
    outbox.reject(ids[0], "ops@acme", "customer already called", now=NOW)
    outbox.approve(ids[1], "ops@acme", now=NOW)
    with pytest.raises(outbox.AlertError, match="only pending"):
        outbox.approve(ids[0], "ops@acme", now=NOW)  # a rejection is final
    with pytest.raises(outbox.AlertError, match="reason"):
        outbox.reject(ids[2], "ops@acme", "  ", now=NOW)
    deliver_until_settled(tl_home, {tenant.id: tenant}, start=NOW, env=hook_env)
    assert set(receiver.ids()) == {ids[1]}
    assert outbox.get(ids[0]).state == outbox.REJECTED
    assert outbox.get(ids[0]).state_reason == "customer already called"
    assert all(outbox.get(i).state == outbox.PENDING for i in ids[2:])
    with pytest.raises(outbox.AlertError):
        outbox.replay(ids[0], "ops@acme", now=NOW)  # rejected alerts cannot be replayed


def test_edited_only_after_reapproval(tl_home, store_url, receiver, hook_env):
    tenant, ids = _setup(tl_home)
    a = outbox.approve(ids[0], "ops@acme", now=NOW)
    edited = {**a.payload, "title": "call the customer today"}
    e = outbox.edit(ids[0], "planner@acme", edited, now=NOW)
    assert e.state == outbox.PENDING and e.approved_hash is None
    deliver(tl_home, {tenant.id: tenant}, now=NOW, env=hook_env)
    assert receiver.requests == 0
    outbox.approve(ids[0], "ops@acme", now=NOW)
    deliver(tl_home, {tenant.id: tenant}, now=NOW, env=hook_env)
    assert receiver.accepted[0]["body"]["title"] == "call the customer today"
    # edit and approve in one step; the edited payload is what is frozen and sent
    b = outbox.get(ids[1])
    outbox.approve(ids[1], "ops@acme", payload={**b.payload, "title": "edited+approved"}, now=NOW)
    deliver(tl_home, {tenant.id: tenant}, now=NOW, env=hook_env)
    assert {r["body"]["title"] for r in receiver.accepted} >= {"edited+approved"}
    with pytest.raises(outbox.AlertError, match="tenant_id"):
        outbox.edit(ids[2], "x", {**outbox.get(ids[2]).payload, "tenant_id": "other"}, now=NOW)


def test_payload_changed_behind_the_approval_is_not_sent(tl_home, store_url, receiver, hook_env):
    """A row whose payload no longer has the approved hash (changed by a rebuild, or directly in
    the database) goes back to approval instead of out."""
    tenant, ids = _setup(tl_home)
    outbox.approve(ids[0], "ops@acme", now=NOW)
    outbox.approve(ids[1], "ops@acme", now=NOW)
    # rescored by a new model version for the same window: the builder replaces the payload
    write_predictions(tl_home, tenant.id, "stockout", stockout_rows(10), version="4")
    _, enq = rules.build(tl_home, tenant, now=NOW + dt.timedelta(hours=1))
    assert set(enq.reapproval) >= {ids[0], ids[1]}
    assert outbox.get(ids[0]).state == outbox.PENDING
    # and a payload changed behind the outbox's back
    outbox.approve(ids[0], "ops@acme", now=NOW)
    with alerts_engine(store_url).begin() as conn:
        conn.execute(update(outbox.outbox).where(outbox.outbox.c.alert_id == ids[0])
                     .values(payload='{"tampered": true}', payload_hash="0" * 64))
    stats = deliver(tl_home, {tenant.id: tenant}, now=NOW + dt.timedelta(hours=1), env=hook_env)
    assert stats.reapproval == 1 and receiver.requests == 0
    assert outbox.get(ids[0]).state == outbox.PENDING


def test_chain_answers_why_and_detects_tampering(tl_home, store_url, receiver, hook_env):
    tenant, ids = _setup(tl_home, n=6)
    outbox.approve(ids[0], "ops.lead@acme", now=NOW)
    deliver(tl_home, {tenant.id: tenant}, now=NOW, env=hook_env)
    from typer.testing import CliRunner

    from tenantlake.cli import app

    def cli(*args: str):
        r = CliRunner().invoke(app, list(args))
        return r

    why = json.loads(cli("audit", "show", ids[0]).output)
    assert why["prediction"].startswith("predictions/stockout/tenant=acme/date=2026-11-23/")
    assert why["model_version"] == "3" and why["approver"] == "ops.lead@acme"
    assert [e["to_state"] for e in why["audit"]] == ["pending_approval", "approved", "sending",
                                                     "delivered"]
    ok = cli("audit", "verify")
    assert ok.exit_code == 0 and "chain intact" in ok.output
    # the log refuses changes outright...
    with pytest.raises(Exception, match="append-only"):
        with alerts_engine(store_url).begin() as conn:
            conn.execute(update(audit).values(actor="mallory"))
    # ...and someone who drops the triggers (each process re-creates them) is caught by the chain

    def tampered(change):
        drop_append_only_triggers(store_url)
        with alerts_engine(store_url).begin() as conn:
            conn.execute(change)
        from tenantlake.alerts.store import forget_engines

        forget_engines()  # the next use re-creates the triggers, as a new process would
        return cli("audit", "verify")

    # 1. rewrite who approved
    r = tampered(update(audit).where(audit.c.alert_id == ids[0],
                                     audit.c.to_state == "approved").values(actor="mallory"))
    assert r.exit_code == 1 and "was changed" in r.output
    drop_append_only_triggers(store_url)
    with alerts_engine(store_url).begin() as conn:
        conn.execute(update(audit).where(audit.c.alert_id == ids[0],
                                         audit.c.to_state == "approved")
                     .values(actor="ops.lead@acme"))
    assert all(v.ok for v in verify(url=store_url))
    # 2. delete the delivery entry from the end of the chain
    r = tampered(delete(audit).where(audit.c.alert_id == ids[0],
                                     audit.c.to_state == "delivered"))
    assert r.exit_code == 1 and "head" in r.output


def test_tampered_middle_entry_removed(tl_home, store_url):
    _, ids = _setup(tl_home, n=6)
    outbox.reject(ids[0], "ops", "no", now=NOW)
    drop_append_only_triggers(store_url)
    with alerts_engine(store_url).begin() as conn:
        conn.execute(delete(audit).where(audit.c.seq == 2))
    res = verify(url=store_url)
    assert not res[0].ok and any("removed or inserted" in p for p in res[0].problems)


def test_may_approve_roles_and_approvers():
    t = make_tenant(approval={"default": "required", "approvers": ["Boss@Acme.example"],
                              "roles": ["platform_admin", "tenant_ops"]})
    assert may_approve(t, "platform_admin", None)
    assert may_approve(t, "tenant_ops", None)
    assert not may_approve(t, "tenant_executive", "exec@acme.example")
    assert not may_approve(t, "analyst", None)
    assert may_approve(t, "analyst", "boss@acme.example")
    assert not may_approve(t, None, None)


def test_approval_required_by_policy_default(tl_home, store_url):
    tenant = make_tenant(rules=[{"name": "r", "model": "stockout", "top_k": 3, "channel": "hook"}],
                         approval={"default": "required"})
    write_predictions(tl_home, tenant.id, "stockout", stockout_rows(10))
    _, enq = rules.build(tl_home, tenant, now=NOW)
    assert len(enq.created) == 3
    assert outbox.state_counts("acme") == {outbox.PENDING: 3}
    assert not [h for h in alerts_engine(store_url).connect().execute(
        audit_heads.select()) if h.seq != 3]
