"""The dashboards in a real browser: Debian's Chromium driven by Playwright (from PyPI).

Two Streamlit servers for the module, on 127.0.0.1:

- a demo home (``make demo``-style marker, demo login on): every page for the roles, the CSV
  download, URL tampering, hostile values, and no request leaving the machine;
- a production-style home (demo login off) signed in through a local OIDC provider
  (``oidc-provider-mock`` from PyPI) with ``st.login``: the whole redirect flow, the user matched
  by e-mail, ``?user=`` ignored, and a forged identity cookie refused.

Chromium comes from ``scripts/chromium.sh`` (apt-get installs Debian's package when missing);
the fixture fails, never skips, when it cannot. Nothing downloads a browser build.
``TENANTLAKE_SCREENSHOTS=1`` writes the README's screenshots to docs/screenshots/ (off in CI, so
the tree stays clean).
"""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tenantlake.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "tests" / "dashboards"))
import dash_fixtures  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

CHROMIUM_SCRIPT = PROJECT_ROOT / "scripts" / "chromium.sh"
APP = PROJECT_ROOT / "dashboards" / "app.py"
SHOTS = PROJECT_ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 60_000  # generous: CI machines are shared


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        proc = subprocess.run(["bash", str(CHROMIUM_SCRIPT)], capture_output=True, text=True,
                              timeout=900, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{CHROMIUM_SCRIPT} did not finish in 900 s: {exc}", pytrace=False)
    path = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not Path(path).is_file():
        pytest.fail(f"Chromium could not be provided by {CHROMIUM_SCRIPT} (exit "
                    f"{proc.returncode}); browser tests need it:\n{proc.stdout}\n{proc.stderr}",
                    pytrace=False)
    return path


def _serve(env: dict[str, str], log: Path, extra: list[str] = (),
           port: int | None = None) -> tuple[subprocess.Popen, str]:
    port = port or _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           *extra]
    fh = open(log, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT,
                            cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited ({proc.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    pytest.fail(f"streamlit did not answer on {url} within 60 s:\n{log.read_text()}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("browser-demo")
    paths = dash_fixtures.build(root)
    env = {"TENANTLAKE_HOME": str(paths["home"]), "TENANTLAKE_TENANTS_DIR": str(paths["tenants"]),
           "TENANTLAKE_USERS": str(paths["users"])}
    proc, url = _serve(env, root / "streamlit.log")
    yield {"url": url, **paths}
    _stop(proc)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _new_page(ctx):
    """A page that records every request and any JavaScript dialog (a hostile value that ran
    would open one)."""
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.requests_seen, pg.dialogs = [], []
    pg.on("request", lambda r: pg.requests_seen.append(r.url))
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    return pg


@pytest.fixture(scope="module")
def demo_context(browser):
    """One context for the demo-home tests (identity there is the demo picker, not a cookie),
    so the app's scripts load once."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(demo_context):
    pg = _new_page(demo_context)
    yield pg
    pg.close()


@pytest.fixture
def fresh_page(browser):
    """A fresh context (own cookies) per test: the sign-in tests."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield _new_page(ctx)
    ctx.close()


def settle(pg, text: str | None = None) -> None:
    """Wait until the app has drawn (the banner, and ``text`` when given) and stopped running."""
    pg.wait_for_selector(".tl-banner")
    if text and text.startswith("."):  # a CSS class (a keyed widget), not a text
        pg.wait_for_selector(text)
    elif text:
        pg.get_by_text(text, exact=False).first.wait_for()
    # the script has finished and every lazily loaded element (grids, metrics) has replaced
    # its placeholder
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-testid^=\"stSkeleton\"]')", timeout=TIMEOUT_MS)


def shoot(pg, name: str) -> None:
    """With TENANTLAKE_SCREENSHOTS set: the README's screenshot of this page (256 colours, so
    the committed PNGs stay small)."""
    if not os.environ.get("TENANTLAKE_SCREENSHOTS"):
        return
    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    img = Image.open(io.BytesIO(pg.screenshot(full_page=False))).convert("RGB")
    img.quantize(colors=256).save(SHOTS / f"{name}.png", optimize=True)


def only_local(urls: list[str]) -> list[str]:
    return [u for u in urls if urlparse(u).scheme not in ("data", "blob", "about")
            and urlparse(u).hostname not in ("127.0.0.1", "localhost")]


# --------------------------------------------------------------------------- demo home

TITLES = {"operations": "Operations", "risks": "Risks", "partners": "Partners",
          "data_health": "Data health", "models": "Models", "platform": "Platform"}
PAGES = [  # (url path, a text the page draws last, screenshot name)
    ("", "All KPIs", "scorecard"),
    ("operations", "Select a row to see every field", "operations"),
    ("risks", "Detail", "risks"),
    ("partners", ".st-key-csv-partners", "partners"),
    ("data_health", "Last landings and gate results", "data_health"),
    ("models", "No drift report yet", "models"),
    ("platform", ".st-key-csv-pf-pub", "platform"),
]


def test_demo_sign_in_and_every_page(page, demo_site):
    page.goto(demo_site["url"])
    settle(page, "Choose a demo user")
    assert page.locator(".tl-demo").is_visible()  # the red banner before anyone signs in
    page.get_by_role("combobox", name="Signed in as (demo)").click()
    page.get_by_role("option", name="Ada Admin · Platform admin").click()
    settle(page, "All KPIs")
    assert "user=root" in page.url
    # card labels wrap: none is cut off with an ellipsis (the long one is whole on screen)
    cut = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=\"stMetricLabel\"] *')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)")
    assert cut == []
    label = page.locator('[data-testid="stMetricLabel"]', has_text="Manual touches per order")
    assert label.count() == 1 and dash_fixtures.LONG_LABEL in label.inner_text()
    for path, text, shot in PAGES:
        if path:  # in-app navigation, as a person clicks through the menu
            page.locator('[data-testid="stSidebarNav"]').get_by_text(
                TITLES[path], exact=True).click()
            page.wait_for_url(f"**/{path}**")
        settle(page, text)
        assert page.locator(".tl-demo").is_visible(), path
        assert not page.get_by_text("Traceback").count(), path
        assert not page.locator('[data-testid="stException"]').count(), path
        shoot(page, shot)
        # the only CSV is ours (labels, formulas neutralised): the grid's raw one is hidden
        assert not page.get_by_role("button", name="Download as CSV").is_visible(), path
    assert not page.dialogs
    assert only_local(page.requests_seen) == [], "a page fetched something from another host"


def test_csv_download_has_labels_and_neutralised_formulas(page, demo_site):
    page.goto(f"{demo_site['url']}/operations?user=alpha-ops")
    settle(page, "Order exceptions")
    page.get_by_role("radio", name="SLA breaches", exact=True).click()
    settle(page, "Tickets resolved after")
    page.wait_for_selector(".st-key-csv-ops-sla_breaches")
    with page.expect_download() as dl:
        page.locator(".st-key-csv-ops-sla_breaches").get_by_role(
            "button", name="Download CSV").click()
    download = dl.value
    assert download.suggested_filename == "alpha_sla_breaches.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert set(rows[0]) >= {"Ticket", "Customer", "Customer name", "Category", "Hours over SLA"}
    assert {r["Ticket"] for r in rows} == {"T-2", "T-3"}
    assert {r["Category"] for r in rows} == {"'" + dash_fixtures.HOSTILE}  # inert text
    assert {r["Customer name"] for r in rows} == {"'" + dash_fixtures.HOSTILE}


def test_url_tampering_never_shows_another_tenant(page, demo_site):
    # a tenant executive asking for another tenant, and for the operator's page
    page.goto(f"{demo_site['url']}/?user=alpha-exec&tenant=beta")
    settle(page, "KPI scorecard")
    body = page.inner_text("body")
    assert dash_fixtures.ALPHA_BRAND in body and "Beta Ltd" not in body
    assert f"{dash_fixtures.BETA_OTIF * 100:.1f}%" not in body
    assert "tenant=alpha" in page.url
    page.goto(f"{demo_site['url']}/platform?user=alpha-exec")
    settle(page)
    body = page.inner_text("body")
    assert "Platform health" not in body and "Gamma Inc" not in body
    # a tenant picked in the session stays inside the user's scope: the picker lists only it
    page.goto(f"{demo_site['url']}/?user=pm-two&tenant=alpha")
    settle(page)
    assert "Alpha" not in page.inner_text("body")


def test_hostile_values_stay_text_on_every_page(page, demo_site):
    """The fixture puts an HTML/JS/formula payload in customer names, ticket categories and
    reasons: it must show as text, never run or render."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.goto(f"{demo_site['url']}/risks?user=root&tenant=alpha")
    settle(page, "Predicted risks")
    page.get_by_role("tab", name="Customer churn (90 days)").click()
    # the churn tab is the selected one before its picker is used (the stockout tab has an
    # "Entity" picker too; a click racing the tab switch would open the wrong one)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[role=tab]')].some(t => "
        "t.getAttribute('aria-selected') === 'true' && t.innerText.includes('Customer churn'))",
        timeout=TIMEOUT_MS)
    settle(page)
    entity = page.get_by_role("combobox", name="Entity").filter(visible=True).first
    for attempt in range(3):  # a rerun may redraw the picker under the click: click again
        entity.click()
        try:
            page.get_by_role("listbox").wait_for(timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    page.get_by_role("option").filter(has_text="C-0001").click()
    settle(page)
    page.get_by_text("C-0001 · =HYPERLINK", exact=False).first.wait_for()
    assert page.get_by_text(dash_fixtures.HOSTILE, exact=False).count()  # shown, as text
    assert page.locator("img[src='x']").count() == 0
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Operations", exact=True).click()
    settle(page, "Order exceptions")
    page.get_by_role("radio", name="SLA breaches", exact=True).click()
    settle(page, "Tickets resolved after")
    page.wait_for_selector(".st-key-csv-ops-sla_breaches")
    assert page.locator("img[src='x']").count() == 0
    assert not page.dialogs


# --------------------------------------------------------------------------- OIDC (production)


@pytest.fixture(scope="module")
def oidc_site(tmp_path_factory) -> Iterator[dict]:
    import werkzeug.serving
    from oidc_provider_mock import User, app

    provider = werkzeug.serving.make_server(
        "127.0.0.1", _free_port(), app(user_claims=[
            User(sub="ada", claims={"email": "ADA@example.com", "name": "Ada"}),
            User(sub="al", claims={"email": "al.exec@example.com", "name": "Al"})]),
        threaded=True)
    thread = threading.Thread(target=provider.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    issuer = f"http://127.0.0.1:{provider.server_port}"

    root = tmp_path_factory.mktemp("browser-oidc")
    paths = dash_fixtures.build(root, demo=False)
    users = paths["users"]
    users.write_text(users.read_text().replace("demo_login: true", "demo_login: false")
                     .replace("{id: alpha-exec, name: Al Exec,",
                              "{id: alpha-exec, name: Al Exec, email: al.exec@example.com,"))
    port = _free_port()
    secrets = root / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{os.urandom(16).hex()}"\n'
        'client_id = "tenantlake-dashboards"\n'
        'client_secret = "test-secret"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n')
    env = {"TENANTLAKE_HOME": str(paths["home"]), "TENANTLAKE_TENANTS_DIR": str(paths["tenants"]),
           "TENANTLAKE_USERS": str(users)}
    proc, url = _serve(env, root / "streamlit.log", ["--secrets.files", str(secrets)], port)
    yield {"url": url, "issuer": issuer}
    _stop(proc)
    provider.shutdown()
    thread.join(5)


def sso_sign_in(page, site: dict, sub: str) -> None:
    page.goto(site["url"])
    settle(page)
    page.get_by_role("button", name="Sign in with your organisation (SSO)").click()
    page.wait_for_url(f"{site['issuer']}/**")
    page.get_by_role("button", name=sub, exact=True).click()  # the provider's predefined user
    page.wait_for_url(f"{site['url']}/**")
    settle(page, "KPI scorecard")


def test_oidc_sign_in_matches_the_user_by_email(fresh_page, oidc_site):
    page = fresh_page
    page.goto(f"{oidc_site['url']}/?user=root")  # not a credential here
    settle(page)
    assert page.locator(".tl-demo").count() == 0
    assert "KPI scorecard" not in page.inner_text("body")
    sso_sign_in(page, oidc_site, "al")
    page.requests_seen.clear()  # the provider's own page is not ours to judge
    page.reload()
    settle(page, "KPI scorecard")
    body = page.inner_text("body")
    assert dash_fixtures.ALPHA_BRAND in body and "Signed in as Al Exec" in body
    # ?user= and ?tenant= tampering after sign-in change nothing
    page.goto(f"{oidc_site['url']}/platform?user=root&tenant=beta")
    settle(page)
    body = page.inner_text("body")
    assert "Platform health" not in body and "Beta Ltd" not in body
    assert only_local(page.requests_seen) == []


def test_forged_identity_cookie_is_refused(fresh_page, oidc_site):
    page = fresh_page
    sso_sign_in(page, oidc_site, "ada")
    assert "Gamma Inc" in page.inner_text("body") or page.get_by_text("Ada Admin").count()
    cookies = page.context.cookies()
    assert any(c["name"].startswith("_streamlit_user") for c in cookies)
    # replace the signed identity cookie with one claiming to be someone else
    page.context.clear_cookies()
    page.context.add_cookies([{
        "name": "_streamlit_user", "value": '{"email": "ada@example.com", "is_logged_in": true}',
        "url": oidc_site["url"]}])
    page.goto(oidc_site["url"])
    settle(page)
    assert "KPI scorecard" not in page.inner_text("body")
    assert page.get_by_role("button", name="Sign in with your organisation (SSO)").count()
