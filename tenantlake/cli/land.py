"""`tenantlake land ...` and `tenantlake quarantine show ...` commands."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err = Console(stderr=True)

quarantine_app = typer.Typer(help="Inspect rows landing refused, with their reasons.",
                             no_args_is_help=True)


def _load(tenant_id: str):
    """The tenant's config, or exit 2 with the problems (invalid id, missing or bad file)."""
    from tenantlake.tenants import TenantConfigError, TenantIdError, load_tenant

    try:
        return load_tenant(tenant_id)
    except TenantIdError as exc:
        err.print(f"[red]{exc}", highlight=False)
    except TenantConfigError as exc:
        for p in exc.problems:
            err.print(f"[red]✗[/red] {p}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def land(
    tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id (tenants/<ID>.yml)."),
    entity: list[str] = typer.Option(None, "--entity", "-e",
                                     help="Only these entities (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
    no_gx: bool = typer.Option(False, "--no-gx", help="Skip the Great Expectations suite."),
) -> None:
    """Land one tenant's exports into the lake: map, validate, quarantine, gate.

    Prints per entity rows in / landed / quarantined and the files skipped because they were
    already landed. Exits 1 when a blocking quality check fails, 2 on a configuration error.

    Example: tenantlake land acme-distribution --entity orders --entity order_lines
    """
    from tenantlake.contracts import CONTRACTS
    from tenantlake.landing import LandingConfigError, LandingError, land_tenant
    from tenantlake.settings import home

    tenant = _load(tenant_id)
    bad = [e for e in entity or [] if e not in CONTRACTS]
    if bad:
        err.print(f"[red]unknown entity {bad[0]!r}; known: {', '.join(CONTRACTS)}")
        raise typer.Exit(2)
    try:
        report = land_tenant(tenant, home().ensure(), entity or None, run_gx=not no_gx)
    except (LandingConfigError, LandingError) as exc:
        err.print(f"[red]✗ {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _print_report(report)
    if not report.passed:
        raise typer.Exit(1)


def _print_report(report) -> None:
    table = Table(title=f"landing {report.tenant_id}")
    for col in ("entity", "rows in", "landed", "quarantined", "filtered", "files", "skipped",
                "gate"):
        table.add_column(col, justify="left" if col in ("entity", "gate") else "right")
    for e in report.entities.values():
        if not e.sent:
            table.add_row(e.entity, "-", "-", "-", "-", "-", "-", "[dim]not sent")
            continue
        failed = [c.name for c in e.gate.checks if c.blocking and not c.passed]
        gate = "[green]passed" if not failed else f"[red]FAILED: {', '.join(failed)}"
        table.add_row(e.entity, f"{e.rows_in:,}", f"{e.rows_landed:,}",
                      f"{e.rows_quarantined:,}", f"{e.rows_filtered:,}", str(e.units_seen),
                      str(e.units_skipped), gate)
    console.print(table)
    for e in report.entities.values():
        for c in e.gate.checks:
            if not c.passed:
                style = "red" if c.blocking else "yellow"
                console.print(f"[{style}]{e.entity}: {c.name}: {c.description}",
                              highlight=False, soft_wrap=True)
    for msg in report.errors:
        err.print(f"[red]✗ {msg}", highlight=False, soft_wrap=True)


@quarantine_app.command("show")
def quarantine_show(
    tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id."),
    entity: str = typer.Option(None, "--entity", "-e", help="Only this entity."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="Rows to list."),
) -> None:
    """List quarantined rows with rule, field, reason and where they came from.

    Example: tenantlake quarantine show acme-distribution --entity order_lines --limit 50
    """
    import duckdb

    from tenantlake.contracts import CONTRACTS
    from tenantlake.lake import lake_path
    from tenantlake.settings import home
    from tenantlake.tenants import TenantIdError, validate_tenant_id

    try:
        validate_tenant_id(tenant_id)
    except TenantIdError as exc:
        err.print(f"[red]{exc}", highlight=False)
        raise typer.Exit(2) from None
    if entity and entity not in CONTRACTS:
        err.print(f"[red]unknown entity {entity!r}; known: {', '.join(CONTRACTS)}")
        raise typer.Exit(2)
    lake = home().lake
    files = []
    for name in [entity] if entity else list(CONTRACTS):
        part = lake_path(lake, "quarantine", name, tenant_id)
        files += [(name, str(p)) for p in sorted(part.glob("date=*/*.parquet"))]
    if not files:
        console.print(f"no quarantined rows for tenant {tenant_id}"
                      + (f", entity {entity}" if entity else ""))
        return
    con = duckdb.connect()
    table = Table(title=f"quarantine {tenant_id}")
    for col in ("entity", "file", "row", "rule", "field", "reason"):
        table.add_column(col, overflow="fold")
    shown = total = 0
    for name in dict.fromkeys(n for n, _ in files):
        paths = [p for n, p in files if n == name]
        total += con.execute("SELECT count(*) FROM read_parquet(?, union_by_name=true)",
                             [paths]).fetchone()[0]
        if shown >= limit:
            continue
        rows = con.execute(
            "SELECT _source_file, _source_row, _rule, _field, _reason "
            "FROM read_parquet(?, union_by_name=true, hive_partitioning=false) "
            "ORDER BY _source_file, _source_row LIMIT ?", [paths, limit - shown]).fetchall()
        for f, r, rule, fld, reason in rows:
            table.add_row(name, str(f), "" if r is None else str(r), str(rule), fld or "",
                          str(reason))
        shown += len(rows)
    console.print(table)
    console.print(f"{shown} of {total:,} quarantined row(s) shown")


def register(app: typer.Typer) -> None:
    app.command("land")(land)
    app.add_typer(quarantine_app, name="quarantine")
