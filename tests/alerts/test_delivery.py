"""Delivery against a real HTTP receiver on 127.0.0.1 that verifies Standard Webhooks signatures
with the independent ``standardwebhooks`` package: every alert delivered exactly under its own
idempotency key through receiver outages, 503s, timeouts and destination row rejections."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import NOW, make_tenant, stockout_rows, write_predictions
from receivers import SECRET_A, SECRET_B, Receiver, Script

from tenantlake.alerts import outbox, rules
from tenantlake.alerts.audit import verify
from tenantlake.alerts.delivery import deliver, deliver_until_settled


def _build(home, tenant, n=20, **kw):
    write_predictions(home, tenant.id, "stockout", stockout_rows(n), **kw)
    res, enq = rules.build(home, tenant, now=NOW)
    return res, enq


def test_signed_webhooks_delivered_once_each(tl_home, store_url, receiver, hook_env):
    tenant = make_tenant()
    res, enq = _build(tl_home, tenant)
    expected = {c.alert_id for c in res.candidates}
    assert expected and set(enq.created) == expected
    stats = deliver(tl_home, {tenant.id: tenant}, now=NOW, env=hook_env)
    assert stats.delivered == len(expected) and stats.retried == 0
    assert receiver.bad_signatures == 0
    got = receiver.ids()
    assert set(got) == expected and max(got.values()) == 1
    body = receiver.accepted[0]["body"]
    assert body["tenant_id"] == "acme" and body["model_version"] == "3" and body["reasons"]
    assert receiver.accepted[0]["headers"]["webhook-id"] == f"msg_{body['alert_id']}"
    assert SECRET_A not in str(receiver.accepted)  # no secret in any payload or header
    assert outbox.state_counts("acme") == {"delivered": len(expected)}
    assert all(v.ok for v in verify(url=store_url))


def test_rebuild_is_a_noop(tl_home, store_url):
    tenant = make_tenant()
    _, first = _build(tl_home, tenant)
    _, again = rules.build(tl_home, tenant, now=NOW + dt.timedelta(hours=1))
    assert first.created and not again.created and not again.reapproval
    assert len(outbox.list_alerts("acme")) == len(first.created)


def test_rotation_two_secrets_both_verify(tl_home, store_url):
    tenant = make_tenant()
    _build(tl_home, tenant, n=6)
    old, new = Receiver(secret=SECRET_A).start(), Receiver(secret=SECRET_B).start()
    try:
        for r in (old, new):
            env = {"T_HOOK_URL": r.url, "T_HOOK_SECRET": f"{SECRET_B} {SECRET_A}",
                   "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
            for a in outbox.list_alerts("acme"):
                if a.state == outbox.DELIVERED:
                    outbox.replay(a.alert_id, "ops", now=NOW)
            deliver(tl_home, {tenant.id: tenant}, now=NOW, env=env)
            assert r.bad_signatures == 0 and len(r.ids()) == len(outbox.list_alerts("acme"))
    finally:
        old.stop()
        new.stop()
    # a receiver holding neither secret refuses every message (the signature is real)
    other = Receiver(secret="whsec_" + "QUJD" * 8).start()
    try:
        env = {"T_HOOK_URL": other.url, "T_HOOK_SECRET": SECRET_A,
               "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
        for a in outbox.list_alerts("acme"):
            outbox.replay(a.alert_id, "ops", now=NOW)
        stats = deliver(tl_home, {tenant.id: tenant}, now=NOW, env=env)
        assert stats.delivered == 0 and other.bad_signatures == len(outbox.list_alerts("acme"))
    finally:
        other.stop()


def test_receiver_down_then_up(tl_home, store_url):
    tenant = make_tenant()
    res, _ = _build(tl_home, tenant, n=12)
    r = Receiver()  # bound but not serving yet: connections refused / hang -> use a dead port
    dead_url = r.url
    r.server.server_close()
    env = {"T_HOOK_URL": dead_url, "T_HOOK_SECRET": SECRET_A,
           "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
    stats = deliver(tl_home, {tenant.id: tenant}, now=NOW, env=env)
    assert stats.delivered == 0 and stats.retried == len(res.candidates)
    assert set(outbox.state_counts("acme")) == {outbox.RETRY_WAIT}
    # nothing is due again before its backoff
    again = deliver(tl_home, {tenant.id: tenant}, now=NOW + dt.timedelta(seconds=1), env=env)
    assert again.sent == 0
    up = Receiver().start()
    try:
        env["T_HOOK_URL"] = up.url
        total, _ = deliver_until_settled(tl_home, {tenant.id: tenant}, start=NOW, env=env)
        got = up.ids()
        assert set(got) == {c.alert_id for c in res.candidates} and max(got.values()) == 1
        assert outbox.state_counts("acme") == {"delivered": len(res.candidates)}
    finally:
        up.stop()


def test_503_for_a_while_then_delivered(tl_home, store_url):
    tenant = make_tenant()
    res, _ = _build(tl_home, tenant, n=10)
    r = Receiver(script=Script(fail_first=25)).start()
    try:
        env = {"T_HOOK_URL": r.url, "T_HOOK_SECRET": SECRET_A,
               "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
        total, _ = deliver_until_settled(tl_home, {tenant.id: tenant}, start=NOW, env=env)
        got = r.ids()
        assert set(got) == {c.alert_id for c in res.candidates} and max(got.values()) == 1
        assert total.retried >= 25 and total.dead_lettered == 0
        a = outbox.get(res.candidates[0].alert_id)
        assert a.state == outbox.DELIVERED and a.attempts >= 3
    finally:
        r.stop()


def test_timeouts_are_retried(tl_home, store_url):
    tenant = make_tenant(channels={"hook": {"type": "webhook", "url_env": "T_HOOK_URL",
                                            "secret_env": "T_HOOK_SECRET",
                                            "timeout_seconds": 0.3}})
    res, _ = _build(tl_home, tenant, n=4)
    r = Receiver(script=Script(stall_first=2, stall_seconds=2.0)).start()
    try:
        env = {"T_HOOK_URL": r.url, "T_HOOK_SECRET": SECRET_A,
               "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
        first = deliver(tl_home, {tenant.id: tenant}, now=NOW, env=env)
        assert first.retried >= 2
        assert any("timeout" in (a.last_error or "") for a in outbox.list_alerts("acme"))
        deliver_until_settled(tl_home, {tenant.id: tenant}, start=NOW, env=env)
        got = r.ids()
        # a stalled request may still be processed by the receiver after the client gave up:
        # then it is a duplicate of the same idempotency key, never a new alert
        assert set(got) == {c.alert_id for c in res.candidates}
        assert outbox.state_counts("acme") == {"delivered": len(res.candidates)}
    finally:
        r.stop()


def test_dead_letter_after_max_attempts_then_replay(tl_home, store_url):
    tenant = make_tenant(channels={"hook": {"type": "webhook", "url_env": "T_HOOK_URL",
                                            "secret_env": "T_HOOK_SECRET", "max_attempts": 3}})
    res, _ = _build(tl_home, tenant, n=3)
    r = Receiver(script=Script(fail_first=10_000)).start()
    try:
        env = {"T_HOOK_URL": r.url, "T_HOOK_SECRET": SECRET_A,
               "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
        total, now = deliver_until_settled(tl_home, {tenant.id: tenant}, start=NOW, env=env)
        n = len(res.candidates)
        assert total.dead_lettered == n and outbox.state_counts("acme") == {"dead_letter": n}
        assert r.requests == 3 * n
        r.script.fail_first = 0
        for a in outbox.list_alerts("acme"):
            outbox.replay(a.alert_id, "ops@acme", now=now)
        deliver(tl_home, {tenant.id: tenant}, now=now, env=env)
        assert outbox.state_counts("acme") == {"delivered": n}
    finally:
        r.stop()


def test_backoff_is_bounded_with_jitter():
    delays = [outbox.backoff_seconds("a1", k) for k in range(1, 15)]
    assert all(d <= outbox.BACKOFF_CAP_SECONDS for d in delays)
    assert delays[0] >= outbox.BACKOFF_BASE_SECONDS / 2
    assert delays[-1] >= outbox.BACKOFF_CAP_SECONDS / 2
    # jitter: different alerts get different delays for the same attempt; same alert, same delay
    assert outbox.backoff_seconds("a1", 3) == outbox.backoff_seconds("a1", 3)
    assert len({outbox.backoff_seconds(f"a{i}", 3) for i in range(20)}) > 10


def test_rest_batch_rejects_single_rows_without_failing_batch(tl_home, store_url):
    tenant = make_tenant(channels={"crm": {"type": "rest", "url_env": "T_CRM", "batch": True}},
                         rules=[{"name": "stockout_risk", "model": "stockout",
                                 "min_probability": 0.5, "channel": "crm",
                                 "requires_approval": False}])
    res, _ = _build(tl_home, tenant, n=10)
    ids = sorted(c.alert_id for c in res.candidates)
    bad = ids[0]
    r = Receiver(secret=None, script=Script(reject_rows={bad: "unknown SKU in ERP"})).start()
    try:
        env = {"T_CRM": r.url, "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
        stats = deliver(tl_home, {tenant.id: tenant}, now=NOW, env=env)
        assert stats.delivered == len(ids) - 1 and stats.rejected_rows == 1
        a = outbox.get(bad)
        assert a.state == outbox.DEST_REJECTED and "unknown SKU in ERP" in a.last_error
        assert a.next_attempt_at > NOW  # retried later
        r.script.reject_rows.clear()
        deliver_until_settled(tl_home, {tenant.id: tenant}, start=NOW, env=env)
        assert outbox.get(bad).state == outbox.DELIVERED
        assert set(r.ids()) == set(ids)
    finally:
        r.stop()


def test_single_row_4xx_is_destination_rejected(tl_home, store_url):
    tenant = make_tenant()
    res, _ = _build(tl_home, tenant, n=8)
    bad = sorted(c.alert_id for c in res.candidates)[0]
    r = Receiver(script=Script(reject_ids={bad})).start()
    try:
        env = {"T_HOOK_URL": r.url, "T_HOOK_SECRET": SECRET_A,
               "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
        stats = deliver(tl_home, {tenant.id: tenant}, now=NOW, env=env)
        assert stats.delivered == len(res.candidates) - 1
        assert outbox.get(bad).state == outbox.DEST_REJECTED
        assert "HTTP 422" in outbox.get(bad).last_error
    finally:
        r.stop()


@pytest.mark.parametrize("allow", ["", "10.0.0.0/8"])
def test_private_destinations_refused(tl_home, store_url, receiver, allow):
    tenant = make_tenant()
    _build(tl_home, tenant, n=3)
    env = {"T_HOOK_URL": receiver.url, "T_HOOK_SECRET": SECRET_A,
           "TENANTLAKE_ALERTS_ALLOW_PRIVATE": allow}
    stats = deliver(tl_home, {tenant.id: tenant}, now=NOW, env=env)
    assert stats.delivered == 0 and receiver.requests == 0
    assert all("private/loopback" in (a.last_error or "") for a in outbox.list_alerts("acme"))
    assert all(SECRET_A not in (a.last_error or "") for a in outbox.list_alerts("acme"))


def test_rate_limit_per_channel(tl_home, store_url, receiver):
    tenant = make_tenant(channels={"hook": {"type": "webhook", "url_env": "T_HOOK_URL",
                                            "secret_env": "T_HOOK_SECRET",
                                            "rate_per_minute": 4}})
    res, _ = _build(tl_home, tenant, n=20)
    n = len(res.candidates)
    env = {"T_HOOK_URL": receiver.url, "T_HOOK_SECRET": SECRET_A,
           "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
    s1 = deliver(tl_home, {tenant.id: tenant}, now=NOW, env=env)
    assert s1.delivered == 4 and s1.rate_limited == n - 4
    s2 = deliver(tl_home, {tenant.id: tenant}, now=NOW + dt.timedelta(seconds=30), env=env)
    assert s2.delivered == 0
    s3 = deliver(tl_home, {tenant.id: tenant}, now=NOW + dt.timedelta(seconds=61), env=env)
    assert s3.delivered == 4
