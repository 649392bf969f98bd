"""The outbox and audit chain on a real PostgreSQL (scripts/postgres.sh): the whole flow, and
two delivery workers racing over the same outbox without sending anything twice."""

from __future__ import annotations

import threading

import pytest
from conftest import NOW, make_tenant, stockout_rows, write_predictions
from postgres_fixture import postgres_server_url, postgres_url  # noqa: F401
from receivers import SECRET_A, Receiver, Script

from tenantlake.alerts import outbox, rules
from tenantlake.alerts.audit import verify
from tenantlake.alerts.delivery import deliver, deliver_until_settled

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(tl_home, postgres_url, monkeypatch):  # noqa: F811
    from sqlalchemy import create_engine, text

    eng = create_engine(postgres_url)
    with eng.begin() as conn:  # one database per session: start each test from empty tables
        for t in ("alerts_audit", "alerts_audit_heads", "alerts_outbox", "alerts_holds"):
            conn.execute(text(f"DROP TABLE IF EXISTS {t}"))  # fixed names, no input
        conn.execute(text("DROP FUNCTION IF EXISTS alerts_audit_append_only()"))
    eng.dispose()
    from tenantlake.alerts.store import forget_engines

    forget_engines()
    monkeypatch.setenv("TENANTLAKE_STORE_URL", postgres_url)
    return postgres_url


def test_flow_on_postgres(tl_home, pg_store):
    t = make_tenant(rules=[{"name": "a", "model": "stockout", "min_probability": 0.5,
                            "channel": "hook", "requires_approval": True},
                           {"name": "b", "model": "stockout", "top_k": 5, "channel": "hook",
                            "requires_approval": False}])
    write_predictions(tl_home, "acme", "stockout", stockout_rows(20))
    res, enq = rules.build(tl_home, t, now=NOW)
    pending = sorted(a.alert_id for a in outbox.list_alerts("acme", [outbox.PENDING]))
    outbox.approve(pending[0], "ops", now=NOW)
    outbox.reject(pending[1], "ops", "not now", now=NOW)
    r = Receiver(script=Script(fail_first=4)).start()
    try:
        env = {"T_HOOK_URL": r.url, "T_HOOK_SECRET": SECRET_A,
               "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
        deliver_until_settled(tl_home, {t.id: t}, start=NOW, env=env)
    finally:
        r.stop()
    got = r.ids()
    assert pending[0] in got and pending[1] not in got and max(got.values()) == 1
    assert len(got) == 6 and r.bad_signatures == 0
    counts = outbox.state_counts("acme")
    assert counts[outbox.DELIVERED] == 6 and counts[outbox.REJECTED] == 1
    assert all(v.ok for v in verify(url=pg_store))
    from sqlalchemy import update

    from tenantlake.alerts.store import alerts_engine, audit

    with pytest.raises(Exception, match="append-only"):
        with alerts_engine(pg_store).begin() as conn:
            conn.execute(update(audit).values(actor="mallory"))


def test_two_workers_race_without_double_sends(tl_home, pg_store):
    t = make_tenant(rules=[{"name": "b", "model": "stockout", "min_probability": 0.0,
                            "channel": "hook", "requires_approval": False,
                            "max_per_day": 100}])
    write_predictions(tl_home, "acme", "stockout", stockout_rows(60))
    rules.build(tl_home, t, now=NOW)
    r = Receiver().start()
    try:
        env = {"T_HOOK_URL": r.url, "T_HOOK_SECRET": SECRET_A,
               "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
        threads = [threading.Thread(target=deliver, args=(tl_home, {t.id: t}),
                                    kwargs={"now": NOW, "env": env, "batch_size": 7})
                   for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
    finally:
        r.stop()
    got = r.ids()
    assert outbox.state_counts("acme") == {outbox.DELIVERED: 60}
    assert len(got) == 60 and max(got.values()) == 1
    assert all(v.ok for v in verify(url=pg_store))
