"""Rules (threshold, top-k, filters, cooldown, budget, KPIs, any model by name), channels
(SMTP to a real aiosmtpd server, Slack-compatible, file drops), holds and tenant isolation."""

from __future__ import annotations

import csv
import datetime as dt

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import NOW, make_tenant, stockout_rows, write_predictions
from receivers import Receiver

from tenantlake.alerts import outbox, rules, safety
from tenantlake.alerts.channels import file_folder
from tenantlake.alerts.delivery import deliver
from tenantlake.lake import atomic_write, lake_path
from tenantlake.store import LedgerEntry, ledger_record
from tenantlake.tenants import TenantConfig


def _rule(**kw) -> dict:
    return {"name": "r", "model": "stockout", "channel": "drop", "requires_approval": False,
            **kw}


def test_threshold_topk_filters(tl_home, store_url):
    rows = stockout_rows(30, seed=3)
    write_predictions(tl_home, "acme", "stockout", rows)
    over = sorted((r for r in rows if r["probability"] >= 0.4), key=lambda r: -r["probability"])
    t = make_tenant(rules=[_rule(min_probability=0.4, top_k=5,
                                 filters=[{"field": "location_id", "op": "in",
                                           "value": ["L0", "L1"]}])])
    res = rules.build_candidates(tl_home, t, now=NOW)
    want = [r for r in over if r["location_id"] in ("L0", "L1")][:5]
    assert [c.entity for c in res.candidates] == [
        {"sku": r["sku"], "location_id": r["location_id"]} for r in want]
    assert all(c.window == "2026-11-23" and c.model_version == "3" for c in res.candidates)
    with pytest.raises(rules.RuleError, match="filter field 'abc'"):
        rules.apply_filters(pd.DataFrame({"x": [1]}), [type(t.alerts.rules[0].filters[0])(
            field="abc", op="eq", value=1)], "r")


def test_cooldown_and_daily_budget(tl_home, store_url):
    write_predictions(tl_home, "acme", "stockout", stockout_rows(30), date="2026-11-22")
    t = make_tenant(rules=[_rule(min_probability=0.0, max_per_day=8, cooldown_days=7)])
    _, first = rules.build(tl_home, t, now=NOW)
    assert len(first.created) == 8
    # same day, a new scoring date: the budget is spent
    write_predictions(tl_home, "acme", "stockout", stockout_rows(30), date="2026-11-23")
    _, same_day = rules.build(tl_home, t, now=NOW + dt.timedelta(hours=2))
    assert not same_day.created
    # next day: the 8 alerted entities are in cooldown, 8 others are alerted
    _, next_day = rules.build(tl_home, t, now=NOW + dt.timedelta(days=1))
    assert len(next_day.created) == 8
    e1 = {a.entity for a in outbox.list_alerts("acme") if a.window == "2026-11-22"}
    e2 = {a.entity for a in outbox.list_alerts("acme") if a.window == "2026-11-23"}
    assert len(e1) == len(e2) == 8 and not e1 & e2
    # after the cooldown the first entities may be alerted again
    _, later = rules.build(tl_home, t, now=NOW + dt.timedelta(days=9))
    assert {outbox.get(i).entity for i in later.created} & e1


def test_any_model_by_name_late_payment(tl_home, store_url):
    """A model the rule builder has never heard of is read generically (its entity key from the
    scored file's column order)."""
    df = pd.DataFrame({"tenant_id": ["acme"] * 3, "invoice_id": ["I1", "I2", "I3"],
                       "as_of": [dt.date(2026, 11, 23)] * 3, "probability": [0.9, 0.2, 0.7],
                       "risk_band": ["high", "low", "high"], "model_name": "late_payment",
                       "model_version": "1", "reason_1": ["45 days overdue", "x", "y"]})
    target = lake_path(tl_home.lake, "predictions", "late_payment", "acme", "2026-11-23")
    with atomic_write(target / "part.parquet") as tmp:
        df.to_parquet(tmp, index=False)
    t = make_tenant(rules=[_rule(model="late_payment", min_probability=0.5)])
    res = rules.build_candidates(tl_home, t, now=NOW)
    assert [c.entity for c in res.candidates] == [{"invoice_id": "I1"}, {"invoice_id": "I3"}]
    assert res.candidates[0].payload["reasons"] == ["45 days overdue"]


def test_other_tenants_rows_never_become_alerts(tl_home, store_url):
    rows = stockout_rows(10)
    path = write_predictions(tl_home, "acme", "stockout", rows)
    df = pd.read_parquet(path)
    stray = df.head(3).assign(tenant_id="globex", probability=0.99)
    with atomic_write(path) as tmp:
        pd.concat([df, stray]).to_parquet(tmp, index=False)
    t = make_tenant(rules=[_rule(min_probability=0.0)])
    res = rules.build_candidates(tl_home, t, now=NOW)
    assert len(res.candidates) == 10
    assert all(c.payload["tenant_id"] == "acme" for c in res.candidates)
    bad = res.candidates[0]
    forged = outbox.Candidate(**{**bad.__dict__, "payload": {**bad.payload,
                                                             "tenant_id": "globex"}})
    with pytest.raises(outbox.AlertError, match="another tenant"):
        outbox.enqueue([forged], now=NOW)


def test_kpi_rules(tl_home, store_url):
    df = pd.DataFrame({
        "tenant_id": "acme", "grain": "month",
        "period_start": [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1)],
        "kpi_name": "fill_rate", "numerator": 1.0, "denominator": 1.0,
        "value": [0.97, 0.95, 0.90], "is_available": True, "target": None,
        "prior_value": [None, 0.97, 0.95], "change": None})
    target = lake_path(tl_home.lake, "serving", "fct_kpi_values", "acme") / "part.parquet"
    with atomic_write(target) as tmp:
        df.to_parquet(tmp, index=False)
    t = TenantConfig.model_validate({**make_tenant().model_dump(mode="json"),
                                     "kpi_targets": {"fill_rate": 0.96}})
    base = {"name": "k", "kpi": "fill_rate", "channel": "drop", "requires_approval": False}
    for extra, hits in (({"below": 0.92}, True), ({"below": 0.85}, False),
                        ({"breach_target": True}, True), ({"change_above": 0.04}, True),
                        ({"change_above": 0.1}, False), ({"above": 0.99}, False)):
        cfg = TenantConfig.model_validate({**t.model_dump(mode="json"), "alerts": {
            "channels": t.model_dump(mode="json")["alerts"]["channels"],
            "rules": [{**base, **extra}]}})
        res = rules.build_candidates(tl_home, cfg, now=NOW)
        assert bool(res.candidates) is hits, (extra, res.notes)
        if hits:
            c = res.candidates[0]
            assert c.window == "month:2026-11-01" and c.payload["value"] == 0.9


def test_file_drop_csv_and_parquet(tl_home, store_url):
    write_predictions(tl_home, "acme", "stockout", stockout_rows(12))
    t = make_tenant(channels={"drop": {"type": "file", "path": "erp/in", "format": "csv"},
                              "pq": {"type": "file", "path": "erp/pq", "format": "parquet"}},
                    rules=[_rule(min_probability=0.5, channels=["pq"])])
    res, _ = rules.build(tl_home, t, now=NOW)
    n = len(res.candidates) // 2
    stats = deliver(tl_home, {t.id: t}, now=NOW)
    assert stats.delivered == 2 * n
    csv_folder = file_folder(tl_home, "acme", t.alerts.channels["drop"])
    assert csv_folder.is_relative_to(tl_home.lake / "exports" / "alerts" / "tenant=acme")
    files = list(csv_folder.glob("*.csv"))
    assert len(files) == 1 and not list(csv_folder.glob(".tmp-*"))
    got = list(csv.DictReader(files[0].open()))
    assert len(got) == n and {r["tenant_id"] for r in got} == {"acme"}
    assert {r["idempotency_key"] for r in got} == {c.idempotency_key for c in res.candidates}
    pq_files = list(file_folder(tl_home, "acme", t.alerts.channels["pq"]).glob("*.parquet"))
    assert pq.read_table(pq_files[0]).num_rows == n


def test_file_channel_path_cannot_escape():
    with pytest.raises(ValueError, match="inside the tenant's export folder"):
        make_tenant(channels={"drop": {"type": "file", "path": "../../etc"}})
    with pytest.raises(ValueError, match="inside the tenant's export folder"):
        make_tenant(channels={"drop": {"type": "file", "path": "/tmp/x"}})


def test_email_to_real_smtp_server(tl_home, store_url, smtp_sink):
    write_predictions(tl_home, "acme", "stockout", stockout_rows(8))
    t = make_tenant(channels={"mail": {"type": "email", "to": ["planning@acme.example"],
                                       "smtp_url_env": "T_SMTP"}},
                    rules=[_rule(min_probability=0.5, channel="mail")])
    res, _ = rules.build(tl_home, t, now=NOW)
    env = {"T_SMTP": smtp_sink.url, "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
    stats = deliver(tl_home, {t.id: t}, now=NOW, env=env)
    assert stats.delivered == len(res.candidates) == len(smtp_sink.messages)
    ids = {m["Message-ID"] for m in smtp_sink.messages}
    assert ids == {f"<{c.alert_id}@tenantlake>" for c in res.candidates}
    assert all(m["To"] == "planning@acme.example" for m in smtp_sink.messages)


def test_email_server_down_is_retried(tl_home, store_url):
    write_predictions(tl_home, "acme", "stockout", stockout_rows(8))
    t = make_tenant(channels={"mail": {"type": "email", "to": ["p@acme.example"],
                                       "smtp_url_env": "T_SMTP", "timeout_seconds": 2}},
                    rules=[_rule(min_probability=0.5, channel="mail")])
    rules.build(tl_home, t, now=NOW)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"T_SMTP": f"smtp://127.0.0.1:{port}", "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"}
    stats = deliver(tl_home, {t.id: t}, now=NOW, env=env)
    assert stats.delivered == 0 and stats.retried > 0
    assert set(outbox.state_counts("acme")) == {outbox.RETRY_WAIT}


def test_slack_compatible_webhook(tl_home, store_url):
    write_predictions(tl_home, "acme", "stockout", stockout_rows(6))
    t = make_tenant(channels={"slack": {"type": "slack", "url_env": "T_SLACK"}},
                    rules=[_rule(min_probability=0.5, channel="slack")])
    res, _ = rules.build(tl_home, t, now=NOW)
    r = Receiver(secret=None).start()
    try:
        deliver(tl_home, {t.id: t}, now=NOW,
                env={"T_SLACK": r.url, "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"})
        texts = [a["body"]["text"] for a in r.accepted]
        assert len(texts) == len(res.candidates)
        assert all("probability" in x and "reason 1" in x for x in texts)
    finally:
        r.stop()


def test_held_when_stale_or_gate_failed(tl_home, store_url):
    t = make_tenant(quality={"freshness_hours": {"orders": 24}},
                    rules=[_rule(min_probability=0.5)])
    t = TenantConfig.model_validate({**t.model_dump(mode="json"), "sources": {"erp": {
        "kind": "file", "path": "o.csv", "format": "csv", "entities": {"orders": {"columns": {
            "order_id": "id", "customer_id": "c", "order_date": "d"}}}}}})
    ledger_record(LedgerEntry("acme", "orders", "erp", "o.csv", "h1", "b1", "2026-11-20", 1, 1, 0,
                              NOW - dt.timedelta(hours=30)), url=store_url)
    assert safety.stale_entities(t, NOW) == ["orders last landed 30h ago (limit 24h)"]
    assert safety.stale_entities(t, NOW - dt.timedelta(hours=10)) == []
    write_predictions(tl_home, "acme", "stockout", stockout_rows(8))
    rules.build(tl_home, t, now=NOW)
    outbox.set_hold("acme", safety.hold_reason(t, NOW), now=NOW)
    stats = deliver(tl_home, {t.id: t}, now=NOW)
    assert stats.sent == 0 and "stale data: orders" in stats.held["acme"]
    outbox.set_hold("acme", safety.hold_reason(t, NOW, gate_failures=["orders: bad_share"]),
                    now=NOW)
    assert "quality gate failed: orders: bad_share" in outbox.get_hold("acme")[0]
    outbox.set_hold("acme", None, now=NOW)
    assert deliver(tl_home, {t.id: t}, now=NOW).delivered > 0
    # a batch the landing gate blocked holds the tenant until it is fixed or released
    ledger_record(LedgerEntry("acme", "orders", "erp", "o2.csv", "h2", "b2", "2026-11-24", 5, 0,
                              5, NOW, status="blocked",
                              reasons='[{"check": "bad_share", "description": "too many"}]'),
                  url=store_url)
    why = safety.hold_reason(t, NOW - dt.timedelta(hours=10))
    assert why == "quality gate failed: orders batch b2 (bad_share)"


def test_rest_per_alert_sends_idempotency_key_and_token(tl_home, store_url):
    write_predictions(tl_home, "acme", "stockout", stockout_rows(6))
    t = make_tenant(channels={"crm": {"type": "rest", "url_env": "T_CRM", "auth_env": "T_TOKEN",
                                      "method": "PUT"}},
                    rules=[_rule(min_probability=0.5, channel="crm")])
    res, _ = rules.build(tl_home, t, now=NOW)
    r = Receiver(secret=None).start()
    r.server.RequestHandlerClass.do_PUT = r.server.RequestHandlerClass.do_POST
    try:
        stats = deliver(tl_home, {t.id: t}, now=NOW, env={
            "T_CRM": r.url, "T_TOKEN": "s3cr3t-token",
            "TENANTLAKE_ALERTS_ALLOW_PRIVATE": "127.0.0.1"})
        assert stats.delivered == len(res.candidates) == len(r.accepted)
        keys = {c.alert_id: c.idempotency_key for c in res.candidates}
        for rec in r.accepted:
            assert rec["headers"]["authorization"] == "Bearer s3cr3t-token"
            assert rec["headers"]["idempotency-key"] == keys[rec["id"]]
            assert "s3cr3t" not in str(rec["body"])
    finally:
        r.stop()


def test_two_tenants_one_pass_never_mix(tl_home, store_url):
    tenants = {tid: make_tenant(tid, rules=[_rule(min_probability=0.3)])
               for tid in ("acme", "globex")}
    for tid in tenants:
        write_predictions(tl_home, tid, "stockout", stockout_rows(10, seed=len(tid)))
        rules.build(tl_home, tenants[tid], now=NOW)
    stats = deliver(tl_home, tenants, now=NOW)
    assert stats.delivered == len(outbox.list_alerts())
    for tid, cfg in tenants.items():
        files = list(file_folder(tl_home, tid, cfg.alerts.channels["drop"]).glob("*.csv"))
        got = [r for f in files for r in csv.DictReader(f.open())]
        assert got and {r["tenant_id"] for r in got} == {tid}
        assert {r["alert_id"] for r in got} == {a.alert_id for a in outbox.list_alerts(tid)}
