"""The Alerts page: an approver approves, rejects with a reason, and edits-and-approves; a role
without approval rights sees the list only; the Platform page shows delivery figures."""

from __future__ import annotations

import sys

import pytest

from tenantlake.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "tests" / "dashboards"))

import dash_fixtures  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from tenantlake.alerts import outbox  # noqa: E402
from tenantlake.alerts.outbox import Candidate  # noqa: E402

APP = PROJECT_ROOT / "dashboards" / "app.py"


@pytest.fixture
def home(tmp_path, monkeypatch):
    paths = dash_fixtures.build(tmp_path)
    monkeypatch.setenv("TENANTLAKE_HOME", str(paths["home"]))
    monkeypatch.setenv("TENANTLAKE_TENANTS_DIR", str(paths["tenants"]))
    monkeypatch.setenv("TENANTLAKE_USERS", str(paths["users"]))
    monkeypatch.setenv("TENANTLAKE_STORE_URL", f"sqlite:///{tmp_path / 'ops.db'}")
    st.cache_data.clear()
    ids = []
    for i in range(3):
        key = outbox.idempotency_key("alpha", "churn_risk", {"customer_id": f"C{i}"}, "2026-11-23")
        c = Candidate(tenant_id="alpha", rule="churn_risk", channel="hook",
                      entity={"customer_id": f"C{i}"}, window="2026-11-23", subject="model",
                      source_ref="predictions/churn/tenant=alpha/date=2026-11-23/part.parquet",
                      payload={"alert_id": outbox.make_alert_id(key, "hook"),
                               "idempotency_key": key, "tenant_id": "alpha",
                               "title": f"churn risk C{i}", "reasons": ["no order in 60 days"]},
                      requires_approval=True, model_name="churn", model_version="2",
                      score=0.8, reasons=("no order in 60 days",))
        outbox.enqueue([c])
        ids.append(c.alert_id)
    yield ids
    st.cache_data.clear()


def _open(user: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["user"] = user
    at.query_params["tenant"] = "alpha"
    at.run()
    at.switch_page("app_pages/alerts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_approver_approves_rejects_and_edits(home):
    ids = home
    at = _open("alpha-ops")
    assert {m.label: m.value for m in at.metric}["Waiting for approval"] == "3"
    pick = at.selectbox(key="tl_alert_pick")
    pick.set_value(ids[0]).run()
    at.button(key="tl_alert_approve").click().run()
    assert outbox.get(ids[0]).state == outbox.APPROVED
    assert outbox.get(ids[0]).approved_by.startswith("alpha-ops")
    at.selectbox(key="tl_alert_pick").set_value(ids[1]).run()
    at.button(key="tl_alert_reject").click().run()  # no reason: refused
    assert outbox.get(ids[1]).state == outbox.PENDING
    at.text_input(key=f"tl_alert_reason_{ids[1]}").input("duplicate of a ticket").run()
    at.button(key="tl_alert_reject").click().run()
    assert outbox.get(ids[1]).state == outbox.REJECTED
    assert outbox.get(ids[1]).state_reason == "duplicate of a ticket"
    at.selectbox(key="tl_alert_pick").set_value(ids[2]).run()
    area = at.text_area(key=f"tl_alert_payload_{ids[2]}")
    area.input(area.value.replace("churn risk C2", "call C2 today")).run()
    at.button(key="tl_alert_approve").click().run()
    a = outbox.get(ids[2])
    assert a.state == outbox.APPROVED and a.payload["title"] == "call C2 today"
    assert a.approved_hash == a.payload_hash


def test_viewer_cannot_approve(home):
    at = _open("alpha-exec")
    assert not [b for b in at.button if b.key == "tl_alert_approve"]
    assert any("may view" in i.value for i in at.info)
    assert all(outbox.get(i).state == outbox.PENDING for i in home)


def test_platform_page_shows_delivery_figures(home):
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["user"] = "root"
    at.run()
    at.switch_page("app_pages/platform.py").run()
    assert not at.exception, [e.value for e in at.exception]
    tables = [d.value for d in at.dataframe]
    fig = [t for t in tables if "Waiting for approval" in t.columns]
    assert fig and int(fig[0].loc[fig[0]["Tenant"] == "alpha", "Waiting for approval"].iloc[0]) == 3
