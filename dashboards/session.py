"""What app.py decided for this run (user, scope, tenant, brand), handed to the pages.

``app.py`` rebuilds it on every rerun from the users file and tenant YAML, and stores it in this
session's state (never a module global: sessions run in parallel threads). A page opened
without it — e.g. run on its own — stops with a message instead of reading anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import plotly.graph_objects as go
import streamlit as st

from dashboards.auth import Scope, User
from dashboards.branding import Brand
from tenantlake.tenants import TenantConfig

KEY = "_tl_context"


@dataclass(frozen=True)
class Context:
    user: User
    scope: Scope
    #: The tenant picked in the sidebar (always inside ``scope``), with its config.
    tenant: TenantConfig
    brand: Brand
    template: go.layout.Template
    #: Configs of every tenant in scope, by id (for pages that compare tenants).
    tenants: dict[str, TenantConfig] = field(default_factory=dict)

    @property
    def tenant_id(self) -> str:
        return self.tenant.id


FRESH = "_tl_context_fresh"


def set_current(ctx: Context) -> None:
    """Called by app.py on every run, after sign-in and scoping, right before the page runs."""
    st.session_state[KEY] = ctx
    st.session_state[FRESH] = True


def current() -> Context:
    """This run's context; a page run without app.py in the same run reads nothing."""
    fresh = st.session_state.pop(FRESH, False)
    ctx = st.session_state.get(KEY)
    if not fresh or not isinstance(ctx, Context):
        st.info("Open the dashboards through the app: `streamlit run dashboards/app.py`.")
        st.stop()
    return ctx
