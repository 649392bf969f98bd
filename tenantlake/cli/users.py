"""`tenantlake users add|list|remove`: the dashboards' local user store (single machine).

Users live in ``<home>/users.yml`` (or ``$TENANTLAKE_USERS``; see :mod:`dashboards.auth`). A user
added here signs in on the dashboards' password form; the password is stored only as an argon2id
hash (argon2-cffi). The same file also matches people who sign in with OIDC (``st.login``) by
e-mail, so a deployment with SSO adds its users here without ``--password``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

users_app = typer.Typer(help="Dashboard users: add, list and remove (passwords hashed with "
                        "argon2id).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _file(path: Path | None) -> Path:
    """Where to write: --file, else $TENANTLAKE_USERS, else the home's users.yml (never the
    shipped demo users in dashboards/)."""
    from dashboards import auth

    if path:
        return Path(path).expanduser().resolve()
    env = os.environ.get("TENANTLAKE_USERS")
    return Path(env).expanduser().resolve() if env else auth.home_users_file()


def _load(path: Path):
    from dashboards import auth

    if not path.is_file():
        return auth.UsersFile()
    try:
        return auth.load_users(path)
    except auth.AuthConfigError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(2) from None


def _save(path: Path, users) -> None:
    """Write the users file atomically (temp file + rename), readable by its owner only."""
    import yaml

    from tenantlake.lake import atomic_write

    body = {"demo_login": users.demo_login,
            "users": [u.model_dump(exclude_none=True) for u in users.users]}
    header = ("# Dashboard users (tenantlake users add|list|remove). Passwords are argon2id "
              "hashes.\n")
    with atomic_write(path) as tmp:
        tmp.write_text(header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True),
                       encoding="utf-8")
        os.chmod(tmp, 0o600)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    user_id: str = typer.Argument(..., help="Login id, e.g. nora (lowercase, digits, . _ -)."),
    name: str = typer.Option(..., "--name", help="Full name shown in the sidebar."),
    role: str = typer.Option(..., "--role", help="platform_admin | partner_manager | "
                             "tenant_executive | tenant_ops | analyst"),
    email: str = typer.Option(None, "--email", help="E-mail (OIDC sign-in matches it)."),
    tenant: str = typer.Option(None, "--tenant", help="The one tenant of an executive, ops "
                               "user or analyst."),
    partner: str = typer.Option(None, "--partner", help="The partner id of a partner manager."),
    password: bool = typer.Option(True, "--password/--no-password",
                                  help="Ask for a password (off: SSO-only user)."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from the first line of stdin."),
    replace: bool = typer.Option(False, "--replace", help="Replace a user with the same id."),
    file: Path = typer.Option(None, "--file", help="Users file (default: $TENANTLAKE_USERS or "
                              "<home>/users.yml)."),
) -> None:
    """Add a dashboard user (prompts for the password twice, hidden).

    Example: tenantlake users add nora --name "Nora Wind" --role tenant_executive
      --tenant northwind-distribution --email nora@northwind.example
    """
    from pydantic import ValidationError

    from dashboards import auth

    path = _file(file)
    users = _load(path)
    if users.get(user_id) and not replace:
        err.print(f"[red]{path}: user {user_id!r} exists; use --replace to change it")
        raise typer.Exit(2)
    hashed = None
    if password or password_stdin:
        try:
            hashed = auth.hash_password(_read_password(password_stdin))
        except ValueError as exc:
            err.print(f"[red]user {user_id!r}: {exc}")
            raise typer.Exit(2) from None
    try:
        user = auth.User(id=user_id, name=name, role=role, email=email, tenant=tenant,
                         partner=partner, password_hash=hashed)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'user'}: "
                             f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        err.print(f"[red]{path}: {problems}")
        raise typer.Exit(2) from None
    if tenant:
        from tenantlake.tenants import load_tenants, tenants_dir

        if tenant not in load_tenants(tenants_dir()):
            console.print(f"[yellow]note: no tenant {tenant!r} in {tenants_dir()} yet; "
                          "the user sees nothing until it exists")
    kept = [u for u in users.users if u.id != user_id]
    _save(path, auth.UsersFile(demo_login=users.demo_login, users=[*kept, user]))
    console.print(f"{'replaced' if len(kept) < len(users.users) else 'added'} {user_id} "
                  f"({user.role_label}) in {path}")


@users_app.command("list")
def list_users(
    file: Path = typer.Option(None, "--file", help="Users file (default: $TENANTLAKE_USERS or "
                              "<home>/users.yml)."),
) -> None:
    """List dashboard users (never their password hashes).

    Example: tenantlake users list
    """
    path = _file(file)
    users = _load(path)
    table = Table("id", "name", "role", "scope", "e-mail", "sign-in", title=str(path))
    for u in users.users:
        table.add_row(u.id, u.name, u.role_label, u.tenant or u.partner or "all tenants",
                      u.email or "", "password" if u.password_hash else "SSO only")
    console.print(table)
    if not users.users:
        console.print("no users yet: tenantlake users add ID --name ... --role ...")


@users_app.command("remove")
def remove(
    user_id: str = typer.Argument(..., help="Login id to remove."),
    file: Path = typer.Option(None, "--file", help="Users file (default: $TENANTLAKE_USERS or "
                              "<home>/users.yml)."),
) -> None:
    """Remove a dashboard user; their open sessions lose access on the next page load.

    Example: tenantlake users remove nora
    """
    from dashboards import auth

    path = _file(file)
    users = _load(path)
    if not users.get(user_id):
        err.print(f"[red]{path}: no user {user_id!r}")
        raise typer.Exit(2)
    _save(path, auth.UsersFile(demo_login=users.demo_login,
                               users=[u for u in users.users if u.id != user_id]))
    console.print(f"removed {user_id} from {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
