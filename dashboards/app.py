"""tenantlake dashboards: ``streamlit run dashboards/app.py`` (``tenantlake ui dashboard``).

Every rerun: load users and tenants, find who is looking and which tenants they may see, let
them pick one of those tenants, brand the page for it, and show only the pages their role
uses. The pages read data through :mod:`dashboards.data` with the scope built here.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run dashboards/app.py` puts dashboards/ (not the project) on sys.path.
_PROJECT = str(Path(__file__).resolve().parent.parent)
if _PROJECT not in sys.path:
    sys.path.insert(0, _PROJECT)

import streamlit as st  # noqa: E402

from dashboards import auth, branding, data, session  # noqa: E402
from tenantlake.settings import disable_telemetry  # noqa: E402
from tenantlake.tenants import TenantConfigError  # noqa: E402

disable_telemetry()
# Not "pages/": Streamlit treats a pages/ folder beside the entry script as a v1 multipage app
# and can run a page without this script (skipping sign-in and role filtering) on the first run
# of a process and on every AppTest rerun.
PAGES = Path(__file__).resolve().parent / "app_pages"

# A local file, not an emoji or icon name: nothing on a page is fetched from outside the machine.
FAVICON = Path(__file__).resolve().parent / "static" / "favicon.png"
st.set_page_config(page_title="tenantlake", page_icon=str(FAVICON), layout="wide")


def _fail(title: str, detail: str) -> None:
    branding.apply(branding.PLATFORM_BRAND)
    branding.banner(branding.PLATFORM_BRAND, title)
    st.error(detail)
    st.stop()


try:
    users = auth.load_users()
except auth.AuthConfigError as exc:
    _fail("Sign-in is not configured", str(exc))
try:
    all_tenants = data.all_tenant_configs()
except TenantConfigError as exc:
    _fail("Tenant configuration has errors", "Fix these tenant files, then reload:\n\n"
          + "\n".join(f"- `{p}`" for p in exc.problems))

demo = auth.demo_login_allowed(users)
if demo:  # on every page, signed in or not: anyone may act as anyone here
    branding.demo_banner()
user = auth.identify(users)
if user is None:
    st.query_params.pop("tenant", None)
    if not demo:
        st.query_params.pop("user", None)  # not a credential here: drop it from the URL
    branding.apply(branding.PLATFORM_BRAND)
    branding.banner(branding.PLATFORM_BRAND, "Analytics for your ERP partner ecosystem")
    if demo:
        st.info("Choose a demo user in the sidebar to sign in.", icon=":material/login:")
    else:
        auth.sign_in_form(users)
        if not users.users:
            st.info("No dashboard users yet. The platform admin adds them with "
                    "`tenantlake users add`.", icon=":material/lock:")
        else:
            st.info("You are not signed in, or your e-mail is not registered for the "
                    "dashboards. Ask your platform admin for access.", icon=":material/lock:")
    st.stop()
if not demo:
    st.query_params.pop("user", None)

scope = auth.scope_for(user, all_tenants)
tenants = data.tenant_configs(scope)
if not tenants:
    branding.apply(branding.PLATFORM_BRAND)
    branding.banner(branding.PLATFORM_BRAND, f"Signed in as {user.name}")
    st.warning("No tenants are available to you yet. If you expected some, ask your platform "
               "admin to check your role and the tenant's partner in its YAML.",
               icon=":material/visibility_off:")
    st.stop()

# ----------------------------------------------------------------------------- tenant picker
ids = sorted(tenants, key=lambda t: tenants[t].display_name.lower())
wanted = st.query_params.get("tenant")
if st.session_state.get("tl_tenant") not in ids:  # first run, or the user changed
    st.session_state["tl_tenant"] = wanted if wanted in ids else ids[0]
with st.sidebar:
    tenant_id = st.selectbox(
        "Tenant", ids, key="tl_tenant", format_func=lambda t: tenants[t].display_name,
        disabled=len(ids) == 1,
        help="Only the tenants your role gives you access to are listed.")
    if not demo:
        st.caption(f"Signed in as {user.name} · {user.role_label}")
        auth.sign_out(users)
st.query_params["tenant"] = tenant_id

cfg = tenants[tenant_id]
brand = branding.brand_for(cfg)
branding.apply(brand)
session.set_current(session.Context(
    user=user, scope=scope, tenant=cfg, brand=brand,
    template=branding.plotly_template(brand), tenants=tenants))

# ----------------------------------------------------------------------------- pages by role
pages = [
    st.Page(PAGES / f"{name}.py", title=auth.ROLE_PAGES[name][0],
            icon=auth.ROLE_PAGES[name][1], url_path=name, default=name == "scorecard")
    for name in auth.pages_for(user.role, PAGES)
]
st.navigation(pages).run()
