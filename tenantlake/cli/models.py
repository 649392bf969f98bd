"""`tenantlake models ...`: train, evaluate, promote and score the predictive models.

The work happens in ``models_ml.framework``; these commands only pick tenants and models and
print what came back. LightGBM and MLflow are imported inside the commands.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from tenantlake.settings import PROJECT_ROOT, home

models_app = typer.Typer(help="Predictive models: stockout (14d), churn (90d), project failure.",
                         no_args_is_help=True)


def _out() -> Console:  # built per call so COLUMNS etc. are read when the command runs
    return Console()


def _err() -> Console:
    return Console(stderr=True)


MODEL_HELP = "Model: stockout, churn or project_failure (default: all)."


def _models_ml():
    """Import ``models_ml``; an editable install made before it existed may not map it yet."""
    try:
        import models_ml
    except ModuleNotFoundError:
        sys.path.insert(0, str(PROJECT_ROOT))
        import models_ml
    return models_ml


def _specs(model: str | None) -> list[Any]:
    specs = _models_ml().SPECS
    if model is None:
        return list(specs.values())
    if model not in specs:
        _err().print(f"[red]unknown model {model!r}[/]; one of: {', '.join(specs)}")
        raise typer.Exit(2)
    return [specs[model]]


def _tenants(ids: list[str] | None) -> dict:
    from tenantlake.tenants import TenantConfigError, load_tenant, load_tenants

    try:
        if ids:
            return {i: load_tenant(i) for i in ids}
        return load_tenants()
    except TenantConfigError as exc:
        _err().print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


@models_app.command("train")
def train(
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    tenant: list[str] = typer.Option(None, "--tenant", "-t",
                                     help="Tenant id (repeatable; default: every tenant)."),
) -> None:
    """Backtest and train the models, log them to MLflow and register a new version.

    Sharing tenants train the shared model; every other tenant gets its own model, or a
    "not enough data" status. Promote afterwards with `tenantlake models promote`.

    Example: tenantlake models train --model churn --tenant acme-distribution
    """
    fw = _models_ml().framework
    tenants = _tenants(tenant)
    for spec in _specs(model):
        result = fw.train(spec, home(), tenants)
        t = Table("registered model", "tenants", "status", "version",
                  f"{spec.primary_metric} model", "baseline", title=f"{spec.name}")
        for r in result.runs:
            row = next((x for x in r.table if x["metric"] == spec.primary_metric), None)
            t.add_row(r.registered_model, ", ".join(r.tenants) or "-",
                      r.status if r.status == "trained" else f"[yellow]{r.status}[/]: {r.reason}",
                      r.version or "-", f"{row['model']:.3f}" if row else "-",
                      f"{row['baseline']:.3f}" if row else "-")
        _out().print(t)
        _out().print("tenants: " + ", ".join(f"{k}={v}" for k, v in
                                              sorted(result.tenant_status.items())))


@models_app.command("evaluate")
def evaluate(
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    tenant: str = typer.Option(None, "--tenant", "-t",
                               help="Show a tenant's own model instead of the shared one."),
    version: str = typer.Option(None, "--version", help="Registered version (default: newest)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Print the backtest table: model vs the planner's baseline, per metric, mean of folds.

    Example: tenantlake models evaluate --model stockout --format json
    """
    fw = _models_ml().framework
    if fmt not in ("table", "json"):
        _err().print("[red]--format must be table or json[/]")
        raise typer.Exit(2)
    reports = []
    for spec in _specs(model):
        try:
            reports.append(fw.evaluate(spec, home(), tenant_id=tenant, version=version))
        except LookupError as exc:
            _err().print(f"[yellow]{spec.name}: {exc}[/]")
    if fmt == "json":
        typer.echo(json.dumps(reports, indent=1, default=str))
        return
    for rep in reports:
        t = Table("metric", "model", "baseline", "delta", "better", "per fold (model / baseline)",
                  title=f"{rep['registered_model']} v{rep['version']} vs {rep['baseline']} "
                        f"(champion: v{rep['champion_version'] or '-'}; "
                        f"{len(rep['folds'])} folds; tenants: {', '.join(rep['tenants'])})")
        for r in rep["table"]:
            folds = " ".join(f"{a:.3f}/{b:.3f}" for a, b in
                             zip(r["per_fold_model"], r["per_fold_baseline"]))
            t.add_row(r["metric"], f"{r['model']:.4f}", f"{r['baseline']:.4f}",
                      f"{r['delta']:+.4f}", "[green]yes[/]" if r["model_better"] else "[red]no[/]",
                      folds)
        _out().print(t)


def _registered_tenants(spec) -> list[str | None]:
    """The shared model plus every tenant that has an own model of ``spec`` in the registry."""
    fw = _models_ml().framework
    mlflow = fw._mlflow(home())
    names = [m.name for m in mlflow.MlflowClient().search_registered_models()]
    own = sorted(n.split("__", 1)[1] for n in names if n.startswith(f"{spec.name}__"))
    return ([None] if spec.name in names else []) + own


@models_app.command("promote")
def promote(
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    tenant: str = typer.Option(None, "--tenant", "-t",
                               help="Only this tenant's own model (default: shared and all own)."),
    version: str = typer.Option(None, "--version", help="Challenger version (default: newest)."),
    min_gain: float = typer.Option(0.0, help="How much the challenger must beat the champion by."),
) -> None:
    """Make the newest version `champion` if it beats the current champion on the same backtest.

    Example: tenantlake models promote --model churn
    """
    fw = _models_ml().framework
    t = Table("registered model", "challenger", "champion", "metric", "challenger", "champion",
              "baseline", "promoted", "why")
    for spec in _specs(model):
        targets = [tenant] if tenant else _registered_tenants(spec)
        for tid in targets:
            try:
                d = fw.promote(spec, home(), tenant_id=tid, version=version, min_gain=min_gain)
            except LookupError as exc:
                _err().print(f"[yellow]{spec.name}: {exc}[/]")
                continue
            t.add_row(d.registered_model, f"v{d.challenger_version}",
                      f"v{d.champion_version}" if d.champion_version else "-", d.metric,
                      f"{d.challenger:.4f}", "-" if d.champion is None else f"{d.champion:.4f}",
                      f"{d.baseline:.4f}", "[green]yes[/]" if d.promoted else "no", d.reason)
    _out().print(t)


@models_app.command("score")
def score(
    tenant_id: str = typer.Argument(..., help="Tenant to score."),
    date: str = typer.Option(None, "--date", "-d",
                             help="As-of date YYYY-MM-DD (default: the tenant's newest data)."),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
) -> None:
    """Score a tenant and write lake/predictions/<model>/tenant=<id>/date=<d>/part.parquet.

    Example: tenantlake models score acme-distribution --date 2025-06-30
    """
    fw = _models_ml().framework
    tenant = _tenants([tenant_id])[tenant_id]
    as_of = dt.date.fromisoformat(date) if date else None
    t = Table("model", "as of", "rows", "model version", "path")
    for spec in _specs(model):
        d = as_of or fw.latest_data_date(spec, home(), tenant.id)
        if d is None:
            t.add_row(spec.name, "-", "0", "-", "[yellow]not available: no data[/]")
            continue
        try:
            res = fw.score(spec, home(), tenant, d)
        except fw.NoChampionError as exc:
            t.add_row(spec.name, str(d), "0", "-", f"[yellow]{exc}[/]")
            continue
        t.add_row(spec.name, str(d), str(res.rows), f"{res.registered_model} v{res.model_version}",
                  str(res.path))
    _out().print(t)


@models_app.command("drift")
def drift(
    tenant_id: str = typer.Argument(..., help="Tenant to check."),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """PSI of features and scores, this tenant now vs the champion's training data.

    Example: tenantlake models drift acme-distribution --model stockout
    """
    fw = _models_ml().framework
    reports = []
    for spec in _specs(model):
        try:
            reports.append(fw.drift_report(spec, tenant_id, home()))
        except fw.NoChampionError as exc:
            _err().print(f"[yellow]{exc}[/]")
    if fmt == "json":
        typer.echo(json.dumps(reports, indent=1, default=str))
        return
    for rep in reports:
        t = Table("feature", "PSI", title=f"{rep['model']} for {tenant_id}: {rep['status']} "
                  f"(score PSI {rep['score_psi']}, threshold {rep['threshold']})")
        for f, v in sorted(rep["features"].items(), key=lambda kv: -kv[1]):
            if f in rep.get("context", []):  # a shared group's value: reported, never failing
                t.add_row(f"{f} (context)", f"{v:.3f}")
            else:
                t.add_row(f, f"[red]{v:.3f}[/]" if v > rep["threshold"] else f"{v:.3f}")
        _out().print(t)
    if any(not r["passed"] for r in reports):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
