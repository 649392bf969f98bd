"""Every page for every role (AppTest, real Parquet in a temp home), and what each page shows."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import dash_fixtures
from conftest import APP
from dashboards import auth

TIMEOUT = 30
PAGES_DIR = APP.parent / "app_pages"
# one user per role (fixture users.yml)
ROLE_USERS = {"platform_admin": "root", "partner_manager": "pm-one",
              "tenant_executive": "alpha-exec", "tenant_ops": "alpha-ops",
              "analyst": "alpha-analyst"}


def open_app(user: str | None = None, tenant: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if user:
        at.query_params["user"] = user
    if tenant:
        at.query_params["tenant"] = tenant
    return at.run()


def html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def frames(at: AppTest) -> list:
    return [d.value for d in at.dataframe]


def test_role_page_matrix_is_what_the_issue_asks():
    every = set(auth.ROLE_PAGES)
    seen = {role: set(auth.pages_for(role, PAGES_DIR)) for role in ROLE_USERS}
    present = {p.stem for p in PAGES_DIR.glob("*.py")}
    assert seen["platform_admin"] == every & present
    assert {"scorecard", "operations", "risks"} <= seen["tenant_ops"]
    assert "data_health" in seen["tenant_ops"] and "models" in seen["analyst"]
    assert "partners" in seen["partner_manager"] and "partners" not in seen["tenant_executive"]
    for role in ("tenant_executive", "tenant_ops", "analyst", "partner_manager"):
        assert "platform" not in seen[role]


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_every_page_for_every_role(dash_home, role):
    """Each page a role may open renders without an error and branded; others are refused."""
    at = open_app(ROLE_USERS[role])
    no_errors(at)
    allowed = auth.pages_for(role, PAGES_DIR)
    for name in auth.ROLE_PAGES:
        if not (PAGES_DIR / f"{name}.py").is_file():
            continue
        if name not in allowed:
            with pytest.raises(ValueError):
                at.switch_page(f"app_pages/{name}.py")
            continue
        at.switch_page(f"app_pages/{name}.py").run()
        no_errors(at)
        assert "tl-banner" in html(at), (role, name)
        assert "tl-demo" in html(at), (role, name)  # the demo home's red banner on every page
        # nothing on any page is fetched from another host
        assert "https://" not in html(at) and "http://" not in html(at).replace(
            dash_fixtures.HOSTILE.replace("<", "&lt;").replace(">", "&gt;"), "")


def test_operations_lists_filters_names_and_csv(dash_home):
    at = open_app("alpha-ops")
    at.switch_page("app_pages/operations.py").run()
    no_errors(at)
    assert metrics(at) == {"Order exceptions": "3", "Backorders": "2",
                           "Late purchase orders": "4", "SLA breaches": "2",
                           "Workflow failures": "2"}
    table = frames(at)[0]
    assert list(table.columns)[:3] == ["Order", "Customer", "Customer name"]
    assert set(table["Order"]) == {"AO-0", "AO-2", "AO-4"}
    assert table.set_index("Order").loc["AO-2", "Customer name"] == "Alpha Customer 2"
    assert any(b.label == "Download CSV" for b in at.get("download_button"))
    # filter: free-text search narrows the rows
    next(t for t in at.text_input if t.label == "Search").set_value("AO-4").run()
    assert list(frames(at)[0]["Order"]) == ["AO-4"]
    # another list: late POs, the open ones counted late as of the data's newest date
    at.get("button_group")[0].set_value("late_pos").run()
    no_errors(at)
    late = frames(at)[0].set_index("PO")
    assert set(late.index) == {"PO-1", "PO-2", "PO-3", "PO-4"}
    assert late.loc["PO-4", "Days late"] == 2 and late.loc["PO-2", "Product"] == "Alpha Widget 2"


def test_operations_not_published_says_not_available(dash_home):
    at = open_app("beta-ops")  # beta publishes orders only
    at.switch_page("app_pages/operations.py").run()
    no_errors(at)
    m = metrics(at)
    assert m["Backorders"] == "2" and m["Late purchase orders"] == "not available"
    assert m["SLA breaches"] == "not available"


def test_risks_detail_view_has_history_and_reasons(dash_home):
    at = open_app("alpha-exec")
    at.switch_page("app_pages/risks.py").run()
    no_errors(at)
    # project failure was scored twice: the detail of PRJ-00 shows both scorings
    entity = next(s for s in at.selectbox if s.key == "entity-project_failure")
    assert entity.options[0].startswith("PRJ-00 · Alpha rollout 0")
    hist = [f for f in frames(at) if "Scored on" in f.columns]
    pf = next(f for f in hist if set(f["Scored on"]) == {"2026-10-24", "2026-10-31"})
    assert len(pf) == 2 and pf["Reason 1"].eq("days of cover below 5").all()
    md = "\n".join(m.value for m in at.markdown)
    assert "- demand spike last 7 days" in md  # reasons listed whole in the detail


def test_data_health_page(dash_home):
    at = open_app("alpha-ops")
    at.switch_page("app_pages/data_health.py").run()
    no_errors(at)
    m = metrics(at)
    assert m["Quarantined rows"] == "3" and m["Entities landed"].startswith("2 of")
    fresh = next(f for f in frames(at) if "Stale after" in f.columns)
    assert set(fresh["Stale after"]) == {"24 h", "48 h"}  # never None
    blocked = next(f for f in frames(at) if "Batch" in f.columns and "Reason" in f.columns)
    assert list(blocked["Batch"]) == ["b-alpha-1"]  # beta's batch never shows on alpha's page
    assert blocked["Reason"].iloc[0] == "40.0% of rows quarantined (limit 5%)"
    assert m["Blocked batches"] == "1"
    gates = next(f for f in frames(at) if "Gate result" in f.columns).set_index("Batch")
    assert gates.loc["b-alpha-1", "Gate result"] == "blocked · 40.0% quarantined"
    assert gates.loc["b-alpha-0", "Gate result"] == "passed"
    rows = next(f for f in frames(at) if "Rule" in f.columns and "Source file" in f.columns
                or "Reason" in f.columns and "Batch" in f.columns and "Rule" in f.columns)
    assert set(rows["Reason"]) >= {"order_date in 2031", "customer_id empty"}


def test_models_page(dash_home):
    at = open_app("alpha-analyst")
    at.switch_page("app_pages/models.py").run()
    no_errors(at)
    overview = frames(at)[0].set_index("Model")
    assert overview.loc["Customer churn (90 days)", "Served"] == "champion"
    assert overview.loc["Customer churn (90 days)", "Version"] == "3"
    assert overview.loc["Stockouts (14 days)", "Served"] == "not scored"
    assert "no champion" in overview.loc["Stockouts (14 days)", "Why"]
    next(s for s in at.selectbox if s.key == "tl_model").set_value("churn").run()
    bt = next(f for f in frames(at) if "Baseline" in f.columns).set_index("Metric")
    assert bt.loc["roc_auc", "Model"] == pytest.approx(0.81)
    assert bt.loc["roc_auc", "Better"] == "model"
    drift = next(f for f in frames(at) if "PSI" in f.columns)
    assert drift.iloc[0]["Feature"] == "days_since_last_order" and drift.iloc[0]["Drifting"]


def test_all_my_tenants_banner_names_no_single_tenant(dash_home):
    at = open_app("pm-one", tenant="alpha")
    at.switch_page("app_pages/partners.py").run()
    no_errors(at)
    assert at.toggle[0].value is True
    banners = [h.proto.body for h in at.get("html")
               if 'class="tl-banner"' in h.proto.body]
    assert "All my tenants (2)" in banners[-1]
    assert dash_fixtures.ALPHA_BRAND not in banners[-1]
    at.toggle[0].set_value(False).run()
    banners = [h.proto.body for h in at.get("html")
               if 'class="tl-banner"' in h.proto.body]
    assert dash_fixtures.ALPHA_BRAND in banners[-1]


def test_demo_banner_only_in_a_demo_home_and_user_param_ignored_elsewhere(dash_home):
    (dash_home["home"] / "drops" / ".demo.json").unlink()  # same users file, not a demo home
    at = open_app("root", tenant="alpha")
    no_errors(at)
    assert "tl-demo" not in html(at)
    assert not at.metric and not at.dataframe  # ?user=root is no credential here
    assert "user" not in at.query_params


def test_password_sign_in(dash_home):
    from argon2 import PasswordHasher

    users = dash_home["users"]
    body = users.read_text().replace("demo_login: true", "demo_login: false")
    body = body.replace("{id: alpha-exec, name: Al Exec,",
                        "{id: alpha-exec, name: Al Exec, password_hash: '"
                        + PasswordHasher().hash("correct horse 9") + "',")
    users.write_text(body)
    at = open_app("root")  # ?user=root: ignored
    no_errors(at)
    assert not at.metric
    form = at.text_input
    form[0].set_value("alpha-exec")
    form[1].set_value("wrong password")
    at.button[0].click().run()
    assert any("Wrong user or password" in e.value for e in at.error)
    assert not at.metric
    at.text_input[0].set_value("alpha-exec")
    at.text_input[1].set_value("correct horse 9")
    at.button[0].click().run()
    no_errors(at)
    assert metrics(at)["On-time in-full"] == f"{dash_fixtures.ALPHA_OTIF * 100:.1f}%"
    assert next(s for s in at.selectbox if s.label == "Tenant").options == ["Alpha GmbH"]
    assert "tl-demo" not in html(at)
    # sign out: back to the form, nothing shown
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert not at.metric and at.text_input


def test_sso_button_when_auth_is_configured(dash_home):
    users = dash_home["users"]
    users.write_text(users.read_text().replace("demo_login: true", "demo_login: false"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback",
                          "cookie_secret": "x" * 32, "client_id": "c", "client_secret": "s",
                          "server_metadata_url": "http://127.0.0.1:1/.well-known/x"}
    at.run()
    no_errors(at)
    assert any("SSO" in b.label for b in at.button)
    assert not at.metric
