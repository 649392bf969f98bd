"""`tenantlake tenants ...` and `tenantlake contracts ...` commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from tenantlake.tenants import (
    TenantConfigError,
    TenantIdError,
    load_tenant_file,
    tenant_files,
    tenants_dir,
    validate_tenant_id,
)

tenants_app = typer.Typer(help="Validate, list and scaffold tenant configuration files.",
                          no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@tenants_app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(
        None, help="Tenant files or folders (default: the tenants/ folder)."),
) -> None:
    """Check tenant YAML files; print every problem with file, field and a fix hint.

    Example: tenantlake tenants validate tenants/ new_client.yml
    """
    files = tenant_files(paths or None)
    if not files:
        err.print(f"[red]no tenant files found in {', '.join(map(str, paths or [tenants_dir()]))}")
        raise typer.Exit(2)
    problems, ids = 0, {}
    for f in files:
        try:
            cfg = load_tenant_file(f)
        except TenantConfigError as exc:
            for p in exc.problems:
                err.print(f"[red]✗[/red] {p}", highlight=False, soft_wrap=True)
            problems += len(exc.problems)
            continue
        if cfg.id in ids:
            err.print(f"[red]✗[/red] {f}: id: duplicate tenant id {cfg.id!r} (also in {ids[cfg.id]})")
            problems += 1
            continue
        ids[cfg.id] = f
        console.print(f"[green]✓[/green] {f}: {cfg.id} ({cfg.display_name}), "
                      f"entities: {', '.join(cfg.entities) or 'none'}", highlight=False)
    if problems:
        err.print(f"[red]{problems} problem(s) in {len(files)} file(s)")
        raise typer.Exit(1)


@tenants_app.command("list")
def list_(directory: Path = typer.Option(None, help="Tenants folder (default: tenants/).")) -> None:
    """Show the configured tenants: id, name, partner, industry, entities."""
    table = Table("id", "name", "partner", "industry", "currency", "shares data", "entities")
    bad = 0
    for f in tenant_files([directory] if directory else None):
        try:
            c = load_tenant_file(f)
        except TenantConfigError as exc:
            bad += 1
            err.print(f"[yellow]skipped {f}: {len(exc.problems)} problem(s); "
                      f"run `tenantlake tenants validate {f}`")
            continue
        table.add_row(c.id, c.display_name, c.partner.name, c.industry, c.reporting_currency,
                      "yes" if c.share_training_data else "no", str(len(c.entities)))
    console.print(table)
    if bad:
        raise typer.Exit(1)


SCAFFOLD = """\
# Tenant configuration for {id}. Validate with: tenantlake tenants validate tenants/{id}.yml
# Secrets are never written here: *_env fields name an environment variable.
id: {id}                       # slug: a-z, 0-9, '_' and '-', must match the file name
display_name: "{name}"
partner:                       # the implementation partner that manages this tenant
  id: my-partner
  name: "My Partner Ltd"
industry: distribution         # distribution | wholesale | ecommerce | manufacturing | retail | other
reporting_currency: EUR        # ISO 4217
timezone: Europe/Berlin        # IANA zone the tenant's timestamps are in
share_training_data: false     # may this tenant's rows train models shared with other tenants?
# drop_folder: /srv/drops/{id} # default: <TENANTLAKE_HOME>/drops/{id}

sources:                       # where exports arrive and how their columns map onto the contracts
  orders_export:
    kind: file
    path: orders/*.csv         # folder or glob, relative to the drop folder
    format: csv                # csv | jsonl | json | parquet | xlsx
    csv: {{delimiter: ",", encoding: utf-8}}
    date_format: "%Y-%m-%d"
    decimal_separator: "."
    entities:
      orders:
        columns:               # canonical name: your export's column name
          order_id: OrderNo
          customer_id: CustomerNo
          order_date: OrderDate
          order_amount: NetTotal
        value_maps:
          status: {{O: open, S: shipped, C: cancelled}}
        # constants: {{channel: edi}}
        # expressions: {{order_amount: "Qty * Price * (1 - Discount)"}}

branding:
  name: "{name}"
  primary_color: "#1f4e79"
  secondary_color: "#f2a900"
  # logo: logos/{id}.png

quality:
  max_bad_share: 0.05          # a batch with more bad rows than this fails its blocking check
  freshness_hours: {{orders: 48}} # SLA: a batch whose newest order is older fails (blocking);
                               # entities without a limit (or 'default') report their age only

kpi_targets:                   # see `tenantlake kpi list` for KPI names
  otif_rate: 0.95

alerts:
  channels: {{}}
  rules: []
approval_policy:
  default: required            # required | not_required
"""


@tenants_app.command("add")
def add(
    tenant_id: str = typer.Argument(..., help="Slug for the new tenant, e.g. acme-distribution."),
    name: str = typer.Option(None, "--name", help="Display name (default: from the id)."),
    directory: Path = typer.Option(None, help="Tenants folder (default: tenants/)."),
    force: bool = typer.Option(False, help="Overwrite an existing file."),
) -> None:
    """Scaffold a commented tenants/<ID>.yml to fill in.

    Example: tenantlake tenants add acme-distribution --name "ACME Distribution"
    """
    try:
        validate_tenant_id(tenant_id)
    except TenantIdError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    d = directory or tenants_dir()
    d.mkdir(parents=True, exist_ok=True)
    target = d / f"{tenant_id}.yml"
    if target.exists() and not force:
        err.print(f"[red]{target} already exists (use --force to overwrite)")
        raise typer.Exit(1)
    name = name or tenant_id.replace("-", " ").replace("_", " ").title()
    target.write_text(SCAFFOLD.format(id=tenant_id, name=name), encoding="utf-8")
    console.print(f"wrote {target}; edit its sources, then `tenantlake tenants validate {target}`"
                  f" and `tenantlake tenants onboard {tenant_id}`")


def register(app: typer.Typer) -> None:
    app.add_typer(tenants_app, name="tenants")
