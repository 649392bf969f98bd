"""`tenantlake demo ...`: generate realistic demo tenants (and, later, run the whole demo)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

demo_app = typer.Typer(help="Demo tenants: generate their exports, run the demo pipeline.",
                       no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-24") from None


@demo_app.command("generate")
def generate_cmd(
    seed: int = typer.Option(7, help="Random seed; same seed + end date + sizes = same bytes."),
    end_date: str = typer.Option(None, "--end-date", help="Last day of history, YYYY-MM-DD "
                                 "(default: today)."),
    scale: float = typer.Option(1.0, help="Multiplier on customers (order lines) and, by its "
                                "square root, SKUs. 10 gives ~2M order lines."),
    tenants: int = typer.Option(None, help="Number of tenants: the 3 demo tenants, then "
                                "scale-0004... in the same dialects (YAMLs to --tenants-dir)."),
    customers: int = typer.Option(None, help="Customers per tenant (overrides --scale)."),
    skus: int = typer.Option(None, help="SKUs per tenant (overrides --scale)."),
    days: int = typer.Option(None, help="Days of history (default 730)."),
    out: Path = typer.Option(None, "--out", help="Project home to write into (default: "
                             "$TENANTLAKE_HOME or ./.tenantlake); files go to <out>/drops/<id>/."),
    tenants_dir: Path = typer.Option(None, "--tenants-dir", help="Write every generated "
                                     "tenant's YAML here (default: demo tenants use tenants/, "
                                     "scale tenants go to <out>/tenants)."),
    workers: int = typer.Option(1, help="Processes (one tenant each) for big runs."),
) -> None:
    """Write the demo tenants' exports (each in its own dialect) into their drop folders.

    Example: tenantlake demo generate --seed 7 --end-date 2026-11-24 --scale 0.2 --out /tmp/tl
    Example (millions of lines): tenantlake demo generate --tenants 12 --scale 3 --workers 2
      --out /tmp/big --tenants-dir /tmp/big/tenants
    """
    from tenantlake.demo import generate
    from tenantlake.settings import home

    root = Path(out).resolve() if out else home().root
    t0 = time.perf_counter()
    try:
        result = generate(root, tenants_dir=tenants_dir, seed=seed,
                          end_date=_parse_date(end_date), scale=scale, tenants=tenants,
                          customers=customers, skus=skus, days=days, workers=workers)
    except ValueError as exc:
        err.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    entities = sorted({e for c in result.values() for e in c})
    table = Table("entity", *result.keys(), title=f"demo exports in {root / 'drops'}")
    for e in entities:
        table.add_row(e, *[f"{result[t].get(e, 0):,}" if e in result[t] else "-"
                           for t in result])
    console.print(table)
    console.print(f"generated {len(result)} tenant(s) in {time.perf_counter() - t0:.1f}s "
                  f"(seed {seed}); land them with `tenantlake land`")


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
