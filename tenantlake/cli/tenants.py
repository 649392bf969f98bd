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
    check_files: bool = typer.Option(
        True, "--check-files/--no-check-files",
        help="Also check mapped column names against the files already in the drop folder."),
) -> None:
    """Check tenant YAML files; print every problem with file, field and a fix hint.

    Checks the schema (keys, types, allowed values), KPI target names against the catalog,
    expressions, and (with files in the drop folder) that every mapped source column exists.

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
        if check_files:
            from tenantlake.onboarding import check_source_columns
            from tenantlake.settings import home

            col_problems = check_source_columns(cfg, home(), str(f))
            for p in col_problems:
                err.print(f"[red]✗[/red] {p}", highlight=False, soft_wrap=True)
            problems += len(col_problems)
            if col_problems:
                continue
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
  # freshness_hours: {{orders: 48}} # SLA for live feeds: a batch whose newest order is older
                               # fails (blocking). None by default, so historic exports land.

kpi_targets:                   # see `tenantlake kpi list` for KPI names
  perfect_order_rate: 0.95

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
    from_path: Path = typer.Option(
        None, "--from", help="A folder (or file) of the tenant's exports: they are copied into "
        "its drop folder and the YAML is scaffolded from them (detected delimiter, encoding, "
        "decimal separator, date format; suggested mappings marked CONFIRM)."),
) -> None:
    """Scaffold a commented tenants/<ID>.yml to fill in, optionally from the tenant's exports.

    Example: tenantlake tenants add acme-distribution --name "ACME Distribution" --from ~/acme
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
    if from_path is not None:
        from tenantlake.onboarding import scaffold_from
        from tenantlake.settings import home
        from tenantlake.tenants import TenantConfig

        if not from_path.exists():
            err.print(f"[red]--from {from_path}: no such file or folder")
            raise typer.Exit(2)
        stub = TenantConfig.model_validate({
            "id": tenant_id, "display_name": name, "partner": {"id": "x", "name": "x"},
            "industry": "other", "reporting_currency": "EUR"})
        drop = stub.drop_dir(home())
        try:
            text, notes = scaffold_from(tenant_id, name, from_path, drop)
        except (OSError, ValueError) as exc:
            err.print(f"[red]--from {from_path}: {exc}")
            raise typer.Exit(1) from None
        target.write_text(text, encoding="utf-8")
        for n in notes:
            console.print(f"  {n}", highlight=False)
        console.print(f"wrote {target}: confirm every line marked CONFIRM, then "
                      f"`tenantlake tenants preview {tenant_id}`, `tenantlake tenants validate "
                      f"{target}` and `tenantlake tenants onboard {tenant_id}`", highlight=False)
        return
    target.write_text(SCAFFOLD.format(id=tenant_id, name=name), encoding="utf-8")
    console.print(f"wrote {target}; edit its sources, then `tenantlake tenants validate {target}`"
                  f" and `tenantlake tenants onboard {tenant_id}`")


@tenants_app.command("preview")
def preview(
    tenant_id: str = typer.Argument(..., help="Tenant id (tenants/<ID>.yml)."),
    rows: int = typer.Option(200, help="Rows sampled from the first file of each source."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Map a sample of every source, before anything lands: per entity the mapped columns with
    sample values, unmapped source columns, contract columns left empty, value-map misses and
    expression errors; then which KPIs and models this mapping makes available.

    Example: tenantlake tenants preview acme-distribution
    """
    import json

    from tenantlake.onboarding import preview_tenant
    from tenantlake.settings import home
    from tenantlake.tenants import load_tenant

    try:
        cfg = load_tenant(tenant_id)
    except (TenantConfigError, TenantIdError) as exc:
        err.print(f"[red]{exc}", highlight=False)
        raise typer.Exit(2) from None
    pv = preview_tenant(cfg, home(), rows=rows)
    if fmt == "json":
        typer.echo(json.dumps(pv.as_dict(), indent=2, default=str))
    else:
        for e in pv.entities:
            t = Table("contract column", "sample values", title=(
                f"{e.source} -> {e.entity} ({e.file or 'no file'}, {e.rows_sampled} rows sampled)"
            ), title_justify="left")
            for c, vals in e.mapped.items():
                t.add_row(c, ", ".join(vals) or "[dim](all empty in the sample)")
            console.print(t)
            if e.unmapped_source_columns:
                console.print(f"  unmapped source columns: {', '.join(e.unmapped_source_columns)}",
                              highlight=False)
            if e.empty_contract_columns:
                console.print(f"  contract columns left empty: "
                              f"{', '.join(e.empty_contract_columns)}", highlight=False)
            for c, codes in e.value_map_misses.items():
                console.print(f"  [yellow]value_maps.{c}: no entry for {', '.join(codes)} "
                              f"(map them onto the contract's values: `tenantlake contracts "
                              f"show {e.entity}`)", highlight=False)
            for rule, n in e.refused.items():
                console.print(f"  [yellow]{n} sampled row(s) would be quarantined: {rule}",
                              highlight=False)
            for m in e.errors:
                console.print(f"  [red]{m}", highlight=False)
        console.print(f"KPIs available ({len(pv.kpis_available)}): "
                      f"{', '.join(pv.kpis_available) or 'none'}", highlight=False)
        for k, why in pv.kpis_not_available.items():
            console.print(f"  [dim]{k}: not available, {why}", highlight=False)
        for m, why in pv.models.items():
            console.print(f"model {m}: {why}", highlight=False)
    if any(e.errors for e in pv.entities if e.rows_sampled or e.file):
        raise typer.Exit(1)


@tenants_app.command("schema")
def schema(
    out: Path = typer.Option(None, "--out", help="Write to this file instead of stdout."),
) -> None:
    """The JSON Schema of a tenant YAML file (for editor completion and validation).

    Example: tenantlake tenants schema --out tenant.schema.json
    """
    import json

    from tenantlake.docs_gen import tenant_json_schema

    text = json.dumps(tenant_json_schema(), indent=2) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")
    else:
        typer.echo(text, nl=False)


def print_summary(summary, fmt: str = "table", console: Console = console) -> None:
    """Print what a tenant has after onboarding: entities, KPIs, models (each with a reason)."""
    import json

    if fmt == "json":
        console.print_json(json.dumps(summary.as_dict()))
        return
    t = Table("entity", "rows landed", "quarantined", title=f"{summary.tenant_id}: what it has now",
              title_justify="left")
    for e, c in summary.entities.items():
        t.add_row(e, f"{c['landed']:,}", f"{c['quarantined']:,}")
    console.print(t)
    avail = summary.kpis_available
    console.print(f"KPIs available ({len(avail)} of {len(summary.kpis)}): "
                  f"{', '.join(avail) or 'none'}", highlight=False)
    for k, why in summary.kpis_not_available.items():
        console.print(f"  {k}: not available ({why})", highlight=False)
    for m, st in summary.models.items():
        console.print(f"model {m}: {st['status']}: {st['detail']}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(tenants_app, name="tenants")
