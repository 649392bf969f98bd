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

Who the person is comes from, in order:

1. Streamlit's OIDC sign-in (``st.login``, configured in ``.streamlit/secrets.toml`` ``[auth]``):
   ``st.user.email`` matched to a user's ``email``;
2. the local password sign-in (single machine): a user with a ``password_hash`` (argon2id, set
   by ``tenantlake users add``) who typed the right password in this browser session; the
   user id is then held in the session's *server-side* state, never in the URL;
3. only in a demo home (made by ``make demo``) whose users file says ``demo_login: true``: the
   ``?user=`` query parameter or the sidebar picker, under a red banner on every page.

Anything else is nobody, and nobody's scope is empty: default deny. ``?user=`` outside a demo
home is ignored. Which users file: ``$TENANTLAKE_USERS``, else ``<home>/users.yml`` (what
``tenantlake users add`` writes), else — in a demo home only — the shipped demo users
``dashboards/users.yml``. This module holds no Streamlit calls except in :func:`identify` and
the sign-in helpers, so scope rules are plain functions, tested without a browser.
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

EVERYONE = None
#: The pages of the dashboards, in menu order: (title, icon, roles that see it; None = every
#: role). app.py builds the navigation from this; a role never gets a page not listed for it.
ROLE_PAGES: dict[str, tuple[str, str, frozenset[str] | None]] = {
    "scorecard": ("Scorecard", ":material/speed:", EVERYONE),
    "operations": ("Operations", ":material/local_shipping:",
                   frozenset({"tenant_ops", "tenant_executive", "analyst", "platform_admin"})),
    "risks": ("Risks", ":material/warning:", EVERYONE),
    "partners": ("Partners", ":material/handshake:",
                 frozenset({"partner_manager", "platform_admin"})),
    "data_health": ("Data health", ":material/fact_check:",
                    frozenset({"tenant_ops", "analyst", "partner_manager", "platform_admin"})),
    "models": ("Models", ":material/model_training:", frozenset({"analyst", "platform_admin"})),
    # built by the alerts work (dashboards/app_pages/alerts.py); listed once its file exists
    "alerts": ("Alerts", ":material/notifications:",
               frozenset({"tenant_ops", "tenant_executive", "partner_manager",
                          "platform_admin"})),
    "platform": ("Platform", ":material/monitor_heart:", frozenset({"platform_admin"})),
}


def pages_for(role: str, pages_dir: Path) -> list[str]:
    """The pages ``role`` sees, in menu order (a page whose file does not exist is left out)."""
    return [name for name, (_, _, roles) in ROLE_PAGES.items()
            if (roles is None or role in roles) and (Path(pages_dir) / f"{name}.py").is_file()]


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
    #: argon2id hash (``tenantlake users add``) for the local password sign-in; never a password.
    password_hash: str | None = Field(default=None, repr=False)

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


#: Written by ``tenantlake demo run`` (``make demo``) into the home's drop folder: a home that
#: holds only generated demo data. Demo login is allowed only there.
DEMO_MARKER = ".demo.json"


def is_demo_home(root: Path | None = None) -> bool:
    """True when the project home was made by ``make demo`` (its demo marker exists)."""
    from tenantlake.settings import Home, home

    h = Home(Path(root)) if root else home()
    return (h.drops / DEMO_MARKER).is_file()


def home_users_file() -> Path:
    """The home's own users file: where ``tenantlake users add`` writes."""
    from tenantlake.settings import home

    return home().root / "users.yml"


def users_path() -> Path:
    """``$TENANTLAKE_USERS``, else the home's ``users.yml`` when it exists, else the demo users."""
    env = os.environ.get("TENANTLAKE_USERS")
    if env:
        return Path(env).expanduser().resolve()
    own = home_users_file()
    return own if own.is_file() else DEFAULT_USERS_FILE


def demo_login_allowed(users: "UsersFile") -> bool:
    """Demo login needs both: the users file asks for it and the home was made by make demo."""
    return bool(users.demo_login) and is_demo_home()


# --------------------------------------------------------------------------- passwords

_HASHER = None


def _hasher():
    global _HASHER
    if _HASHER is None:
        from argon2 import PasswordHasher

        _HASHER = PasswordHasher()  # argon2id with the library's current RFC 9106 defaults
    return _HASHER


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    return _hasher().hash(password)


#: Verified against when the login names no known user, so the answer takes as long either way.
_DUMMY_HASH: str | None = None


def check_password(users: "UsersFile", login: str, password: str) -> User | None:
    """The user whose id or e-mail is ``login`` if ``password`` matches their hash, else None."""
    from argon2.exceptions import InvalidHashError, VerificationError

    global _DUMMY_HASH
    login = (login or "").strip()
    user = users.get(login) or users.by_email(login)
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher().hash("not a real password")
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        ok = _hasher().verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user.password_hash:
        log.warning("password sign-in refused for login=%r", login[:64])
        return None
    log.info("user=%s signed in with a password", user.id)
    return user


def load_users(path: Path | None = None) -> UsersFile:
    """Read and validate the users file; raise :class:`AuthConfigError` naming file and field.

    Without a path: :func:`users_path`; the shipped demo users count only in a demo home
    (anywhere else there are no users until ``tenantlake users add``).
    """
    if path is None:
        path = users_path()
        if path == DEFAULT_USERS_FILE and not is_demo_home():
            return UsersFile()
    path = Path(path)
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


SESSION_USER = "tl_auth_user"


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section for ``st.login``."""
    import streamlit as st

    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all  # noqa: BLE001
        return False


def identify(users: UsersFile) -> User | None:
    """Who is looking: OIDC, else the password sign-in of this session, else (demo home only)
    the demo picker, else nobody.

    In demo mode the chosen id is kept in ``?user=`` so a link opens the same view; the picker
    sits in the sidebar. Outside demo mode ``?user=`` is ignored — it is not a credential.
    """
    import streamlit as st

    try:
        logged_in = bool(st.user.get("is_logged_in"))
    except Exception:  # st.user unavailable (no auth configured): not signed in  # noqa: BLE001
        logged_in = False
    if logged_in:
        return users.by_email(st.user.get("email"))
    signed = st.session_state.get(SESSION_USER)
    if signed:
        # Re-read from the users file on every run: a removed user is signed out at once.
        user = users.get(signed)
        if user is None or not user.password_hash:
            st.session_state.pop(SESSION_USER, None)
            return None
        return user
    if not demo_login_allowed(users):
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
            help="Demo login: pick a user from the users file. Production uses SSO or "
                 "passwords (tenantlake users add).")
    if chosen:
        st.query_params["user"] = chosen
    elif "user" in st.query_params:
        del st.query_params["user"]
    return users.get(chosen)


def sign_in_form(users: UsersFile) -> None:
    """The sign-in choices this deployment offers: SSO button, password form, or neither."""
    import streamlit as st

    if oidc_configured():
        if st.button("Sign in with your organisation (SSO)", type="primary",
                     icon=":material/login:"):
            st.login()
    if any(u.password_hash for u in users.users):
        with st.form("tl-sign-in", clear_on_submit=False, border=True):
            login = st.text_input("User id or e-mail", key="tl_login")
            password = st.text_input("Password", type="password", key="tl_password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            user = check_password(users, login, password)
            st.session_state.pop("tl_password", None)
            if user is None:
                st.error("Wrong user or password.", icon=":material/block:")
            else:
                st.session_state[SESSION_USER] = user.id
                st.rerun()


def sign_out(users: UsersFile) -> None:
    """A sidebar button that ends this session's sign-in (and the OIDC cookie when used)."""
    import streamlit as st

    if st.sidebar.button("Sign out", icon=":material/logout:", key="tl-sign-out"):
        for key in (SESSION_USER, "tl_user", "tl_tenant"):
            st.session_state.pop(key, None)
        st.query_params.clear()
        try:
            if st.user.get("is_logged_in"):
                st.logout()
        except Exception:  # noqa: BLE001 - no OIDC configured
            pass
        st.rerun()
