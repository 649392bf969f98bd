"""`tenantlake users add|list|remove`: the local user store, passwords hashed with argon2id."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from dashboards import auth
from tenantlake.cli import app


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def test_add_list_remove_with_hashed_password(tmp_path, monkeypatch):
    monkeypatch.setenv("TENANTLAKE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TENANTLAKE_USERS", raising=False)
    res = run("users", "add", "nora", "--name", "Nora Wind", "--role", "tenant_executive",
              "--tenant", "northwind-distribution", "--email", "nora@northwind.example",
              "--password-stdin", input="s3cret-horse\n")
    assert res.exit_code == 0, res.output
    path = tmp_path / "home" / "users.yml"
    text = path.read_text()
    assert "s3cret-horse" not in text and "$argon2id$" in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    users = auth.load_users()  # the home's users file is now the one the dashboards read
    assert auth.users_path() == path and users.get("nora").role == "tenant_executive"
    assert auth.check_password(users, "nora", "s3cret-horse").id == "nora"
    assert auth.check_password(users, "NORA@northwind.example", "s3cret-horse").id == "nora"
    assert auth.check_password(users, "nora", "wrong") is None
    assert auth.check_password(users, "nobody", "s3cret-horse") is None
    assert users.demo_login is False

    listed = run("users", "list")
    assert listed.exit_code == 0 and "nora" in listed.output and "argon2" not in listed.output
    again = run("users", "add", "nora", "--name", "N", "--role", "analyst", "--tenant", "x",
                "--no-password")
    assert again.exit_code == 2 and "--replace" in again.output
    assert run("users", "remove", "nora").exit_code == 0
    assert auth.load_users(path).users == []
    gone = run("users", "remove", "nora")
    assert gone.exit_code == 2 and "no user 'nora'" in " ".join(gone.output.split())


def test_bad_user_names_the_field(tmp_path, monkeypatch):
    monkeypatch.setenv("TENANTLAKE_USERS", str(tmp_path / "u.yml"))
    res = run("users", "add", "pm", "--name", "P", "--role", "partner_manager",
              "--no-password")
    assert res.exit_code == 2 and "needs 'partner'" in res.output
    res = run("users", "add", "x", "--name", "X", "--role", "platform_admin",
              "--password-stdin", input="short\n")
    assert res.exit_code == 2 and "at least 8 characters" in res.output
    res = run("users", "add", "sso", "--name", "S", "--role", "platform_admin", "--email",
              "s@x.example", "--no-password")
    assert res.exit_code == 0, res.output
    saved = yaml.safe_load((tmp_path / "u.yml").read_text())
    assert saved["users"] == [{"id": "sso", "name": "S", "role": "platform_admin",
                               "email": "s@x.example"}]


def test_no_users_outside_a_demo_home(tmp_path, monkeypatch):
    """A fresh, non-demo home: the shipped demo users do not count; nobody can sign in."""
    monkeypatch.setenv("TENANTLAKE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TENANTLAKE_USERS", raising=False)
    assert auth.load_users().users == []
    (tmp_path / "home" / "drops").mkdir(parents=True)
    (tmp_path / "home" / "drops" / ".demo.json").write_text("{}")
    users = auth.load_users()
    assert users.get("admin") and auth.demo_login_allowed(users)
