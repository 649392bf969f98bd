"""`tenantlake contracts ...`: show the canonical contracts and regenerate derived artefacts."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table

from tenantlake.contracts import CONTRACTS, dbt_sources_dict, get_contract
from tenantlake.settings import PROJECT_ROOT

contracts_app = typer.Typer(help="Canonical data contracts (entities, columns, rules).",
                            no_args_is_help=True)
DBT_SOURCES = PROJECT_ROOT / "dbt_project" / "models" / "staging" / "__sources.yml"


def render_dbt_sources() -> str:
    header = ("# Generated from tenantlake/contracts.py by `tenantlake contracts dbt-sources`.\n"
              "# Do not edit by hand: tests/test_contracts.py fails when this drifts.\n")
    return header + yaml.safe_dump(dbt_sources_dict(), sort_keys=False, width=100)


@contracts_app.command("show")
def show(entity: str = typer.Argument(None, help="Entity to show (default: list all).")) -> None:
    """List entities, or show one entity's columns, types and rules."""
    c = Console()
    if entity is None:
        t = Table("entity", "domain", "key", "columns", "description")
        for e in CONTRACTS.values():
            t.add_row(e.name, e.domain, ", ".join(e.key), str(len(e.columns)), e.description)
        c.print(t)
        return
    e = get_contract(entity)
    t = Table("column", "type", "required", "rules", "description", title=f"{e.name}: {e.description}")
    for col in e.columns:
        rules = []
        if col.allowed:
            rules.append("in {" + ", ".join(col.allowed) + "}")
        if col.min_value is not None:
            rules.append(f">= {col.min_value:g}")
        if col.max_value is not None:
            rules.append(f"<= {col.max_value:g}")
        if col.not_future:
            rules.append("not in the future")
        t.add_row(col.name, col.dtype, "yes" if col.required else "", "; ".join(rules),
                  col.description)
    c.print(t)


@contracts_app.command("dbt-sources")
def dbt_sources(out: Path = typer.Option(DBT_SOURCES, help="Where to write the sources YAML.")):
    """Regenerate dbt_project/models/staging/__sources.yml from the contracts."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_dbt_sources(), encoding="utf-8")
    Console().print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(contracts_app, name="contracts")
