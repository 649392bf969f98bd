"""`tenantlake kpi ...`: the KPI catalog and a tenant's KPI values (from serving Parquet)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import typer

kpi_app = typer.Typer(help="KPIs: the catalog (defined once, in dbt) and a tenant's values.",
                      no_args_is_help=True)


class Grain(str, Enum):
    day = "day"
    week = "week"
    month = "month"


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _fmt(value, unit: str) -> str:
    if value is None or value != value:  # None or NaN
        return ""
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}"


@kpi_app.command("list")
def list_kpis(
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, csv or json."),
) -> None:
    """List every KPI with its formula, grain, unit, direction and owner.

    Example: tenantlake kpi list --format csv
    """
    import csv
    import json
    import sys
    from dataclasses import asdict

    from tenantlake.kpi import kpi_definitions

    defs = list(kpi_definitions().values())
    if fmt is OutputFormat.json:
        typer.echo(json.dumps([asdict(d) | {"direction": d.direction} for d in defs], indent=2))
        return
    if fmt is OutputFormat.csv:
        w = csv.writer(sys.stdout)
        w.writerow(["kpi_name", "label", "formula", "grain", "unit", "direction", "owner"])
        for d in defs:
            w.writerow([d.kpi_name, d.label, d.formula, f"tenant x day ({d.date_attribution})",
                        d.unit, d.direction, d.owner])
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("kpi", "label", "formula", "grain (day attributed by)", "unit", "direction",
              "owner", title=f"{len(defs)} KPIs (dbt_project/seeds/kpi_definitions.csv)")
    for d in defs:
        t.add_row(d.kpi_name, d.label, d.formula, d.date_attribution, d.unit, d.direction, d.owner)
    Console().print(t)


@kpi_app.command("show")
def show(
    tenant_id: str = typer.Argument(..., help="Tenant id, e.g. acme-distribution."),
    grain: Grain = typer.Option(Grain.month, "--grain", help="day, week or month."),
    date_from: dt.datetime = typer.Option(None, "--from", formats=["%Y-%m-%d"],
                                          help="First period start (YYYY-MM-DD)."),
    date_to: dt.datetime = typer.Option(None, "--to", formats=["%Y-%m-%d"],
                                        help="Last period start (YYYY-MM-DD)."),
    kpi: list[str] = typer.Option(None, "--kpi", help="Only this KPI (repeatable)."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, csv or json."),
    history: bool = typer.Option(False, "--history",
                                 help="Every period (within --from/--to), not the scorecard."),
) -> None:
    """Show a tenant's scorecard: each KPI for the latest complete period against target and
    the prior period, and the running period "to date" against the same days of the prior one.
    With --history, every period.

    The tenant's data ends on the last day of its order stream (else of its other activity);
    a period is complete when it ends on or before that day. Reads the published serving
    Parquet (lake/serving/fct_kpi_values/tenant=<id>/), never the warehouse, so it works while
    a pipeline runs. JSON keeps full float precision.

    Example: tenantlake kpi show acme-distribution --grain week --history --from 2026-01-01
    """
    from rich.console import Console

    from tenantlake.kpi import kpi_definitions
    from tenantlake.serving import kpi_values
    from tenantlake.settings import home
    from tenantlake.tenants import TenantIdError, validate_tenant_id

    err = Console(stderr=True)
    try:
        validate_tenant_id(tenant_id)
    except TenantIdError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    defs = kpi_definitions()
    unknown = [k for k in (kpi or []) if k not in defs]
    if unknown:
        err.print(f"[red]unknown KPI(s) {', '.join(unknown)}; see `tenantlake kpi list`[/red]")
        raise typer.Exit(2)
    if not history:
        _show_scorecard(tenant_id, grain.value, kpi or None, fmt, defs, err)
        return
    df = kpi_values(home(), tenant_id, grain=grain.value,
                    date_from=date_from.date() if date_from else None,
                    date_to=date_to.date() if date_to else None, kpis=kpi or None)
    if df is None:
        err.print(f"[red]tenant {tenant_id}: no published KPIs yet (lake/serving/fct_kpi_values/"
                  f"tenant={tenant_id}); run the pipeline first[/red]")
        raise typer.Exit(1)
    cols = ["tenant_id", "kpi_name", "grain", "period_start", "value", "target", "prior_value",
            "change", "is_available", "numerator", "denominator"]
    df = df.assign(tenant_id=tenant_id)[cols]
    df["period_start"] = df["period_start"].astype(str).str[:10]
    if fmt is OutputFormat.csv:
        typer.echo(df.to_csv(index=False), nl=False)
        return
    if fmt is OutputFormat.json:
        typer.echo(_json_records(df))
        return
    from rich.table import Table

    t = Table("kpi", "period", "value", "target", "prior", "change", title=(
        f"{tenant_id}: KPIs by {grain.value}"))
    # A KPI whose inputs the tenant does not send is one line, not one per period.
    avail = df.groupby("kpi_name")["is_available"].any()
    missing = sorted(avail[~avail].index)
    for r in df[~df["kpi_name"].isin(missing)].itertuples(index=False):
        unit = defs[r.kpi_name].unit if r.kpi_name in defs else ""
        value = _fmt(r.value, unit) if r.is_available else "[dim]not available[/dim]"
        t.add_row(defs[r.kpi_name].label if r.kpi_name in defs else r.kpi_name,
                  str(r.period_start)[:10], value, _fmt(r.target, unit),
                  _fmt(r.prior_value, unit), _fmt(r.change, unit))
    for k in missing:
        t.add_row(defs[k].label if k in defs else k, "all", "[dim]not available[/dim]",
                  "", "", "")
    Console().print(t)
    if missing:
        Console().print(f"[dim]not available for {tenant_id} (its sources lack the inputs): "
                        f"{', '.join(missing)}[/dim]")


def _json_records(df) -> str:
    """Records as JSON with every float at full (round-trip) precision; NaN -> null."""
    import json
    import math

    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if hasattr(v, "item"):  # numpy scalars
            return clean(v.item())
        if v is None or isinstance(v, (str, int, float, bool)):
            return v
        if v != v:  # pandas NA/NaT
            return None
        return str(v)[:10] if hasattr(v, "isoformat") else str(v)

    rows = [{k: clean(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
    return json.dumps(rows, indent=2)


def _show_scorecard(tenant_id: str, grain: str, kpis, fmt: OutputFormat, defs, err) -> None:
    from rich.console import Console

    from tenantlake.kpi import scorecard
    from tenantlake.serving import kpi_values
    from tenantlake.settings import home

    h = home()
    periods = kpi_values(h, tenant_id, grain=grain, kpis=kpis)
    if periods is None:
        err.print(f"[red]tenant {tenant_id}: no published KPIs yet (lake/serving/fct_kpi_values/"
                  f"tenant={tenant_id}); run the pipeline first[/red]")
        raise typer.Exit(1)
    days = periods if grain == "day" else kpi_values(h, tenant_id, grain="day")
    sc = scorecard(periods, days, grain, defs)
    sc.insert(0, "tenant_id", tenant_id)
    sc.insert(1, "grain", grain)
    if fmt is OutputFormat.json:
        typer.echo(_json_records(sc))
        return
    if fmt is OutputFormat.csv:
        typer.echo(sc.to_csv(index=False), nl=False)
        return
    from rich.table import Table

    head = sc[sc["period_status"] == "complete"]
    if head.empty:
        Console().print(f"{tenant_id}: no complete {grain} yet")
        return
    first = head.iloc[0]
    run = sc[sc["period_status"] == "to_date"]
    title = f"{tenant_id}: {grain} {str(first.period_start)[:10]} (latest complete)"
    t = Table("kpi", "value", "target", "prior", "change", title=title, title_justify="left")
    r2 = run.set_index("kpi_name")
    if not run.empty:
        r0 = run.iloc[0]
        t.add_column(f"to date {str(r0.period_start)[:10]}..{str(r0.through)[:10]}")
        t.add_column("same days prior")
    missing = []
    for r in head.itertuples(index=False):
        d = defs.get(r.kpi_name)
        unit = d.unit if d else ""
        if not r.is_available:
            missing.append(r.kpi_name)
            continue
        row = [d.label if d else r.kpi_name, _fmt(r.value, unit), _fmt(r.target, unit),
               _fmt(r.prior_value, unit), _fmt(r.change, unit)]
        if not run.empty:
            rr = r2.loc[r.kpi_name] if r.kpi_name in r2.index else None
            row += [_fmt(rr.value, unit) if rr is not None else "",
                    _fmt(rr.prior_value, unit) if rr is not None else ""]
        t.add_row(*row)
    Console().print(t)
    if missing:
        Console().print(f"[dim]not available for {tenant_id} (its sources lack the inputs): "
                        f"{', '.join(missing)}[/dim]")
    Console().print("[dim]every period: --history[/dim]")


def register(app: typer.Typer) -> None:
    app.add_typer(kpi_app, name="kpi")
