"""The Streamlit app end to end with AppTest: real files in a temp home, no mocks."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import dash_fixtures
from conftest import APP

TIMEOUT = 30


def open_app(user: str | None = None, tenant: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if user:
        at.query_params["user"] = user
    if tenant:
        at.query_params["tenant"] = tenant
    return at.run()


def tenant_picker(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Tenant")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def html(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_scorecard_shows_tenant_kpis_and_branding(dash_home):
    at = open_app("alpha-exec")
    no_errors(at)
    assert tenant_picker(at).value == "alpha"
    assert dash_fixtures.ALPHA_BRAND in html(at)
    assert "#8a1538" in html(at)  # the tenant's primary colour reaches the CSS
    m = metrics(at)
    assert m["On-time in-full"] == f"{dash_fixtures.ALPHA_OTIF * 100:.1f}%"
    assert m["Order cycle time"] == "3.0 days"


def test_not_available_kpis_say_so_never_zero(dash_home):
    at = open_app("alpha-exec")
    m = metrics(at)
    # csat: rows with is_available=false; win_rate: defined but no rows at all
    assert m["Customer satisfaction"] == "not available"
    assert m["Win rate"] == "not available"
    table = at.dataframe[0].value.set_index("KPI")
    assert table.loc["Customer satisfaction", "Value"] == "not available"
    assert "0" not in {table.loc["Customer satisfaction", "Value"], m["Win rate"]}


def test_tenant_executive_never_sees_another_tenant(dash_home):
    at = open_app("alpha-exec", tenant="beta")  # asking for beta in the URL changes nothing
    no_errors(at)
    assert tenant_picker(at).options == ["Alpha GmbH"]
    assert tenant_picker(at).value == "alpha"
    assert at.query_params["tenant"] == "alpha"
    assert f"{dash_fixtures.BETA_OTIF * 100:.1f}%" not in metrics(at).values()
    assert "Beta" not in html(at)


def test_partner_manager_sees_only_their_partners_tenants(dash_home):
    at = open_app("pm-one")
    no_errors(at)
    assert tenant_picker(at).options == ["Alpha GmbH", "Beta Ltd"]
    tenant_picker(at).set_value("beta").run()
    no_errors(at)
    assert metrics(at)["OTIF rate"] == f"{dash_fixtures.BETA_OTIF * 100:.1f}%"  # fallback label
    at.switch_page("app_pages/partners.py").run()
    no_errors(at)
    shown = at.dataframe[0].value
    assert set(shown["Tenant"]) == {"Alpha GmbH", "Beta Ltd"}
    assert "p-two" not in set(shown["Partner"])

    other = open_app("pm-two", tenant="alpha")
    assert tenant_picker(other).options == ["Gamma Inc"]
    assert any("not available yet" in i.value for i in other.info)  # gamma has no KPIs yet


def test_role_pages(dash_home):
    exec_ = open_app("alpha-exec")
    with pytest.raises(ValueError):  # Platform is not a page for a tenant executive
        exec_.switch_page("app_pages/platform.py")
    admin = open_app("root")
    assert tenant_picker(admin).options == ["Alpha GmbH", "Beta Ltd", "Gamma Inc"]
    for page in ("app_pages/risks.py", "app_pages/partners.py", "app_pages/platform.py"):
        admin.switch_page(page).run()
        no_errors(admin)
    m = metrics(admin)  # platform page
    assert m["Tenants"] == "3" and m["Quarantined rows"] == "3"


def test_risks_page_shows_probability_band_and_reasons(dash_home):
    at = open_app("alpha-exec")
    at.switch_page("app_pages/risks.py").run()
    no_errors(at)
    stockout = at.dataframe[0].value
    assert list(stockout.columns) == ["SKU", "Product", "Location", "Location name",
                                      "Probability", "Band", "Reason 1", "Reason 2", "Reason 3"]
    assert stockout["Probability"].iloc[0] == pytest.approx(0.95)
    assert stockout["Product"].iloc[0] == "Alpha Widget 0"  # the name next to the code
    assert stockout["Reason 1"].iloc[0] == "days of cover below 5"  # whole, never cut
    assert set(stockout["Band"]) <= {"high", "medium"}  # default filter


def test_no_user_means_no_data(dash_home):
    at = open_app()
    no_errors(at)
    assert not at.metric and not at.dataframe
    assert any("Choose a demo user" in i.value for i in at.info)


def test_user_without_tenants_sees_nothing(dash_home):
    at = open_app("ghost")
    assert not at.metric and not at.dataframe
    assert any("No tenants are available to you" in w.value for w in at.warning)


def test_query_param_is_not_a_credential_outside_demo_mode(dash_home):
    users = dash_home["users"]
    users.write_text(users.read_text().replace("demo_login: true", "demo_login: false"))
    at = open_app("root")
    assert not at.metric and not at.dataframe
    assert any("not signed in" in i.value for i in at.info)


def test_sso_user_is_matched_by_email(dash_home):
    users = dash_home["users"]
    users.write_text(users.read_text().replace("demo_login: true", "demo_login: false"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.user = {"is_logged_in": True, "email": "ADA@example.com", "name": "Ada"}
    at.run()
    no_errors(at)
    assert tenant_picker(at).options == ["Alpha GmbH", "Beta Ltd", "Gamma Inc"]


def test_bad_config_is_a_message_not_a_traceback(dash_home):
    dash_home["users"].write_text("users: [{id: x, role: nobody}]")
    at = open_app("x")
    assert not at.exception
    assert any("users.yml" in e.value for e in at.error)


def test_page_opened_without_the_app_reads_nothing(dash_home):
    page = AppTest.from_file(str(APP.parent / "app_pages" / "scorecard.py"),
                             default_timeout=TIMEOUT).run()
    assert not page.exception and not page.metric
    assert any("through the app" in i.value for i in page.info)


def test_partners_page_reads_the_dbt_column_names_too(dash_home):
    """The mart may use the dbt names (go_live_on_time_rate, projects_at_risk, ...)."""
    from tenantlake.lake import lake_path

    path = lake_path(dash_home["home"] / "lake", "serving", "partner_scorecard", "gamma")
    dash_fixtures.write(path / "part.parquet", [
        {"tenant_id": "gamma", "partner_id": "p-two", "partner_name": "Partner Two",
         "projects": 4, "projects_at_risk": 1, "go_live_on_time_rate": 0.5,
         "milestone_slippage_days": 6.0, "post_go_live_tickets_per_project": 2.5}])
    at = open_app("root", tenant="gamma")
    at.switch_page("app_pages/partners.py").run()
    at.toggle[0].set_value(False).run()  # only the picked tenant, gamma
    no_errors(at)
    m = metrics(at)
    assert m["Go-live on time"] == "50.0%" and m["At-risk projects"] == "1"
    assert set(at.dataframe[0].value["Partner"]) == {"p-two"}


def test_shipped_tenants_on_an_empty_lake_show_not_available_states(tmp_path, monkeypatch):
    """A fresh install (demo tenants, nothing run yet): every page says so, nothing breaks."""
    from tenantlake.tenants import tenants_dir

    monkeypatch.delenv("TENANTLAKE_TENANTS_DIR", raising=False)
    monkeypatch.delenv("TENANTLAKE_USERS", raising=False)
    monkeypatch.setenv("TENANTLAKE_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "drops").mkdir(parents=True)
    (tmp_path / "home" / "drops" / ".demo.json").write_text("{}")  # a demo home: demo users
    if not tenants_dir().is_dir():
        pytest.skip("no tenants/ folder in this checkout")
    at = open_app("admin")
    no_errors(at)
    assert any("not available yet" in i.value for i in at.info)
    for page in ("app_pages/risks.py", "app_pages/partners.py", "app_pages/platform.py"):
        at.switch_page(page).run()
        no_errors(at)
        assert at.info, page
