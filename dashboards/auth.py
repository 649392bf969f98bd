"""Users, roles and the tenant scope a user may see.

Roles (DESIGN.md, Tenancy): ``platform_admin`` sees every tenant; ``partner_manager`` sees the
tenants whose YAML names their partner; ``tenant_executive``, ``tenant_ops`` and ``analyst`` see
one tenant each. Users live in a YAML file (``dashboards/users.yml``, or ``$TENANTLAKE_USERS``)::

    demo_login: true          # allow ?user=<id> and the sidebar picker (demo/dev only)
    users:
      - id: eve
        name: Eve Exec
        email: eve@acme.example
        role: tenant_executive
        tenant: acme-distribution

Who the person is comes from, in order: Streamlit's OIDC sign-in (``st.user.email`` matched to
a user's ``email``) when it is configured, else — only when ``demo_login`` is on — the
``?user=`` query parameter or the sidebar picker. Anything else is nobody, and nobody's scope is
empty: default deny. This module holds no Streamlit calls except in :func:`identify`, so scope
rules are plain functions, tested without a browser.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tenantlake.tenants import TENANT_ID_RE, TenantConfig

log = logging.getLogger(__name__)

Role = Literal["platform_admin", "partner_manager", "tenant_executive", "tenant_ops", "analyst"]
TENANT_ROLES = ("tenant_executive", "tenant_ops", "analyst")
ROLE_LABELS = {
    "platform_admin": "Platform admin",
    "partner_manager": "Partner manager",
    "tenant_executive": "Executive",
    "tenant_ops": "Operations",
    "analyst": "Analyst",
}
DEFAULT_USERS_FILE = Path(__file__).resolve().parent / "users.yml"


class AuthConfigError(ValueError):
    """The users file is missing or invalid; the message names the file and the field."""


class User(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    name: str
    role: Role
    email: str | None = None
    #: For partner_manager: the partner id (TenantConfig.partner.id) whose tenants they manage.
    partner: str | None = None
    #: For tenant_executive / tenant_ops / analyst: their one tenant.
    tenant: str | None = None

    @model_validator(mode="after")
    def _role_fields(self) -> "User":
        if self.role == "partner_manager":
            if not self.partner or self.tenant:
                raise ValueError(f"user {self.id!r}: a partner_manager needs 'partner' "
                                 "(and no 'tenant')")
        elif self.role in TENANT_ROLES:
            if not self.tenant or self.partner:
                raise ValueError(f"user {self.id!r}: a {self.role} needs 'tenant' "
                                 "(and no 'partner')")
            if not TENANT_ID_RE.fullmatch(self.tenant):
                raise ValueError(f"user {self.id!r}: tenant {self.tenant!r} is not a tenant id")
        elif self.partner or self.tenant:
            raise ValueError(f"user {self.id!r}: a platform_admin sees every tenant; "
                             "remove 'partner'/'tenant'")
        return self

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    demo_login: bool = False
    users: list[User] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> "UsersFile":
        seen: set[str] = set()
        for u in self.users:
            if u.id in seen:
                raise ValueError(f"duplicate user id {u.id!r}")
            seen.add(u.id)
        return self

    def get(self, user_id: str | None) -> User | None:
        return next((u for u in self.users if user_id and u.id == user_id), None)

    def by_email(self, email: str | None) -> User | None:
        if not email:
            return None
        return next((u for u in self.users if u.email and u.email.lower() == email.lower()),
                    None)


@dataclass(frozen=True)
class Scope:
    """The tenants one user may read. Built only by :func:`scope_for`; empty means no rows."""

    user_id: str
    role: str
    tenant_ids: frozenset[str]

    def allows(self, tenant_id: str) -> bool:
        return tenant_id in self.tenant_ids

    def __bool__(self) -> bool:
        return bool(self.tenant_ids)


def users_path() -> Path:
    return Path(os.environ.get("TENANTLAKE_USERS") or DEFAULT_USERS_FILE).expanduser().resolve()


def load_users(path: Path | None = None) -> UsersFile:
    """Read and validate the users file; raise :class:`AuthConfigError` naming file and field."""
    path = Path(path) if path else users_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise AuthConfigError(f"{path}: users file not found (set TENANTLAKE_USERS or create "
                              "dashboards/users.yml)") from None
    except yaml.YAMLError as exc:
        raise AuthConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return UsersFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: "
            f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise AuthConfigError(f"{path}: {problems}") from None


def scope_for(user: User | None, tenants: Mapping[str, TenantConfig]) -> Scope:
    """The tenants ``user`` may see among the configured ``tenants`` (no user: none)."""
    if user is None:
        return Scope("", "", frozenset())
    if user.role == "platform_admin":
        ids: Iterable[str] = tenants.keys()
    elif user.role == "partner_manager":
        ids = (tid for tid, cfg in tenants.items() if cfg.partner.id == user.partner)
    else:
        ids = [user.tenant] if user.tenant in tenants else []
    scope = Scope(user.id, user.role, frozenset(ids))
    log.debug("user=%s role=%s tenant_ids=%s", user.id, user.role, sorted(scope.tenant_ids))
    return scope


def identify(users: UsersFile) -> User | None:
    """Who is looking: OIDC sign-in if configured, else the demo picker (if allowed), else nobody.

    In demo mode the chosen id is kept in ``?user=`` so a link opens the same view; the picker
    sits in the sidebar. Outside demo mode ``?user=`` is ignored — it is not a credential.
    """
    import streamlit as st

    try:
        logged_in = bool(st.user.get("is_logged_in"))
    except Exception:  # st.user unavailable (no auth configured): not signed in
        logged_in = False
    if logged_in:
        return users.by_email(st.user.get("email"))
    if not users.demo_login:
        return None

    ids = [u.id for u in users.users]
    wanted = st.query_params.get("user")
    if "tl_user" not in st.session_state and wanted in ids:  # first run of a session: the link
        st.session_state["tl_user"] = wanted
    with st.sidebar:
        chosen = st.selectbox(
            "Signed in as (demo)", options=ids, key="tl_user", index=None,
            placeholder="Choose a demo user",
            format_func=lambda i: f"{users.get(i).name} · {users.get(i).role_label}",
            help="Demo login: pick a user from the users file. Production uses SSO.")
    if chosen:
        st.query_params["user"] = chosen
    elif "user" in st.query_params:
        del st.query_params["user"]
    return users.get(chosen)
