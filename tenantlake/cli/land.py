"""`tenantlake land ...` and `tenantlake quarantine show ...` commands."""

from __future__ import annotations

import json
import os

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from tenantlake.redact import escape_text, redact


class _Fresh:
    """A Console built at each use, with the width from ``COLUMNS`` when set: the terminal is
    read when the command runs, not when this module was first imported (tests and wrappers
    set ``COLUMNS`` per call)."""

    def __init__(self, **kwargs) -> None:
        self._kwargs = kwargs

    def __getattr__(self, name: str):
        cols = os.environ.get("COLUMNS", "")
        return getattr(Console(width=int(cols) if cols.isdigit() else None, **self._kwargs), name)


console = _Fresh()
err = _Fresh(stderr=True)

quarantine_app = typer.Typer(help="Inspect rows landing refused, with their reasons.",
                             no_args_is_help=True)


class _LandGroup(TyperGroup):
    """``tenantlake land ID`` lands (as ``land run ID``); ``land status|release`` are operator
    actions on blocked batches. A tenant called like a sub-command lands with ``land run``."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


land_app = typer.Typer(
    cls=_LandGroup, no_args_is_help=True,
    help="Land a tenant's exports (tenantlake land ID), list blocked batches "
         "(land status ID), release one (land release ID BATCH --reason TEXT).")


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
        err.print(f"[red]✗ {redact(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _print_report(report)
    if not report.passed:
        raise typer.Exit(1)


def _print_report(report) -> None:
    table = Table(title=f"landing {report.tenant_id}")
    for col in ("entity", "rows in", "landed", "held", "quarantined", "copies", "filtered",
                "files", "skipped", "gate"):
        table.add_column(col, justify="left" if col in ("entity", "gate") else "right",
                         overflow="fold")  # a narrow terminal wraps, never cuts
    for e in report.entities.values():
        if not e.sent:
            table.add_row(e.entity, "-", "-", "-", "-", "-", "-", "-", "-", "[dim]not sent")
            continue
        failed = [c.name for c in e.gate.checks if c.blocking and not c.passed]
        gate = "[green]passed" if not failed else f"[red]FAILED: {', '.join(failed)}"
        table.add_row(e.entity, f"{e.rows_in:,}", f"{e.rows_landed:,}", f"{e.rows_held:,}",
                      f"{e.rows_quarantined:,}", f"{e.rows_duplicate_dropped:,}",
                      f"{e.rows_filtered:,}", str(e.units_seen),
                      str(e.units_skipped), gate)
    console.print(table)
    for e in report.entities.values():
        for c in e.gate.checks:
            if not c.passed:
                style = "red" if c.blocking else "yellow"
                console.print(f"[{style}]{e.entity}: {c.name}: {c.description}",
                              highlight=False, soft_wrap=True)
    for e in report.entities.values():
        if e.blocked_batches:
            console.print(f"[red]{e.entity}: {len(e.blocked_batches)} batch(es) blocked and held "
                          f"back ({', '.join(e.blocked_batches[:5])}): fix and re-send the "
                          f"file, or `tenantlake land release {report.tenant_id} BATCH "
                          "--reason TEXT`", highlight=False, soft_wrap=True)
    for msg in report.errors:
        err.print(f"[red]✗ {redact(msg)}", highlight=False, soft_wrap=True)


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
            table.add_row(name, escape_text(str(f)), "" if r is None else str(r), str(rule),
                          escape_text(fld or ""), escape_text(str(reason)))
        shown += len(rows)
    console.print(table)
    console.print(f"{shown} of {total:,} quarantined row(s) shown")


def land_status(
    tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id."),
    ids: bool = typer.Option(False, "--ids", help="Print only the blocked batch ids."),
) -> None:
    """List the tenant's blocked batches with the gate's reasons, and the release audit.

    Example: tenantlake land status acme-distribution
    """
    from tenantlake import store
    from tenantlake.settings import home

    tenant = _load(tenant_id)
    url = home().store_url
    blocked = store.ledger_blocked(tenant.id, url=url)
    if ids:
        for b in dict.fromkeys(b.batch_id for b in blocked):
            print(b)
        return
    if not blocked:
        console.print(f"no blocked batches for tenant {tenant.id}")
    for b in blocked:
        reasons = "; ".join(f"{r['check']}: {r['description']}"
                            for r in json.loads(b.reasons or "[]"))
        console.print(f"[red]blocked[/red] {b.batch_id} {b.entity} {escape_text(b.source_label)}"
                      f" ({b.rows_in} rows): {escape_text(reasons)}", highlight=False,
                      soft_wrap=True)
    for a in store.audit_entries(tenant.id, url=url):
        console.print(f"{a['at']:%Y-%m-%d %H:%M:%S} {a['action']} {a['batch_id']} {a['entity']} "
                      f"by {a['actor']}: {escape_text(a['reason'])}", highlight=False,
                      soft_wrap=True)


def land_release(
    tenant_id: str = typer.Argument(..., metavar="ID", help="Tenant id."),
    batch_id: str = typer.Argument(..., metavar="BATCH", help="Blocked batch id (land status)."),
    reason: str = typer.Option(..., "--reason", help="Why the batch may land (audited)."),
    entity: str = typer.Option(None, "--entity", "-e", help="Only this entity of the batch."),
) -> None:
    """Let a blocked batch land despite its failed gate; the decision is audited.

    The batch moves from lake/held into lake/raw and counts as landed; the audit keeps who
    released it, when, why, and the gate's reasons it was blocked for.

    Example: tenantlake land release acme-distribution b0123abcd --reason "bulk price change"
    """
    import getpass

    from tenantlake.landing import LandingError
    from tenantlake.landing.core import release_batch
    from tenantlake.settings import home

    tenant = _load(tenant_id)
    actor = os.environ.get("TENANTLAKE_ACTOR") or getpass.getuser()
    try:
        rows = release_batch(tenant, home().ensure(), batch_id, reason=reason, actor=actor,
                             entity=entity)
    except LandingError as exc:
        err.print(f"[red]✗ {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    for r in rows:
        console.print(f"released {r.batch_id} ({r.entity}, {escape_text(r.source_label)}) by "
                      f"{actor}", highlight=False)


def register(app: typer.Typer) -> None:
    land_app.command("run")(land)
    land_app.command("status")(land_status)
    land_app.command("release")(land_release)
    app.add_typer(land_app, name="land")
    app.add_typer(quarantine_app, name="quarantine")
