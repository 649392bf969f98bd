"""Users file and role scopes (DESIGN.md, Tenancy)."""

from __future__ import annotations

import pytest

from dashboards import auth
from dashboards.auth import AuthConfigError, load_users, scope_for
from tenantlake.tenants import load_tenants


def test_scopes_per_role(dash_home):
    users = load_users()
    tenants = load_tenants(dash_home["tenants"])
    assert scope_for(users.get("root"), tenants).tenant_ids == {"alpha", "beta", "gamma"}
    assert scope_for(users.get("pm-one"), tenants).tenant_ids == {"alpha", "beta"}
    assert scope_for(users.get("pm-two"), tenants).tenant_ids == {"gamma"}
    assert scope_for(users.get("alpha-exec"), tenants).tenant_ids == {"alpha"}
    assert scope_for(users.get("beta-ops"), tenants).tenant_ids == {"beta"}
    # a user whose tenant is not configured sees nothing, and nobody sees nothing
    assert not scope_for(users.get("ghost"), tenants)
    assert not scope_for(None, tenants)


def test_users_file_path_from_env(dash_home):
    assert auth.users_path() == dash_home["users"].resolve()
    assert load_users().demo_login is True


def test_shipped_demo_users_file_is_valid(monkeypatch):
    monkeypatch.delenv("TENANTLAKE_USERS", raising=False)
    users = load_users(auth.DEFAULT_USERS_FILE)
    assert users.get("admin").role == "platform_admin"
    assert {u.role for u in users.users} >= {"platform_admin", "partner_manager",
                                              "tenant_executive", "tenant_ops", "analyst"}


@pytest.mark.parametrize("body, fragment", [
    ("users: [{id: x, name: X, role: tenant_executive}]", "needs 'tenant'"),
    ("users: [{id: x, name: X, role: partner_manager}]", "needs 'partner'"),
    ("users: [{id: x, name: X, role: platform_admin, tenant: alpha}]", "sees every tenant"),
    ("users: [{id: x, name: X, role: owner}]", "users.0.role"),
    ("users: [{id: x, name: X, role: analyst, tenant: '../b'}]", "not a tenant id"),
    ("users: [{id: x, name: X, role: platform_admin}, {id: x, name: Y, role: platform_admin}]",
     "duplicate user id"),
    ("demo_login: true\nusers: [{id: x, name: X, role: platform_admin, pasword: y}]",
     "Extra inputs are not permitted"),
])
def test_bad_users_file_names_file_and_field(tmp_path, body, fragment):
    f = tmp_path / "users.yml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(AuthConfigError) as exc:
        load_users(f)
    assert str(f) in str(exc.value) and fragment in str(exc.value)


def test_missing_users_file(tmp_path):
    with pytest.raises(AuthConfigError, match="users file not found"):
        load_users(tmp_path / "nope.yml")


def test_shipped_demo_users_match_the_shipped_tenants(monkeypatch):
    """Every demo user of dashboards/users.yml sees at least one shipped demo tenant."""
    monkeypatch.delenv("TENANTLAKE_USERS", raising=False)
    monkeypatch.delenv("TENANTLAKE_TENANTS_DIR", raising=False)
    from tenantlake.tenants import tenants_dir

    if not tenants_dir().is_dir():
        pytest.skip("no tenants/ folder in this checkout")
    tenants = load_tenants(tenants_dir())
    for user in load_users(auth.DEFAULT_USERS_FILE).users:
        assert scope_for(user, tenants), f"demo user {user.id!r} would see no tenant"
