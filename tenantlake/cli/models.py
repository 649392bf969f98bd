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

models_app = typer.Typer(help="Predictive models: stockout (14d), churn (90d), project failure, "
                              "late payment (collections).", no_args_is_help=True)


def _out() -> Console:  # built per call so COLUMNS etc. are read when the command runs
    return Console()


def _err() -> Console:
    return Console(stderr=True)


MODEL_HELP = "Model: stockout, churn, project_failure or late_payment (default: all)."


def _date(value: str | None, option: str) -> dt.date | None:
    """A YYYY-MM-DD option, refused cleanly (exit 2) when it is anything else."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        _err().print(f"[red]{option} {value!r} is not a date; use YYYY-MM-DD, e.g. "
                     f"{option} 2025-06-30[/]", highlight=False)
        raise typer.Exit(2) from None


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
    from tenantlake.tenants import (TenantConfigError, TenantIdError, load_tenant, load_tenants,
                                    validate_tenant_id)

    try:
        if ids:
            return {validate_tenant_id(i): load_tenant(i) for i in ids}
        return load_tenants()
    except (TenantConfigError, TenantIdError) as exc:
        _err().print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


@models_app.command("train")
def train(
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    tenant: list[str] = typer.Option(None, "--tenant", "-t",
                                     help="Tenant id (repeatable; default: every tenant)."),
    as_of: str = typer.Option(None, "--as-of", help="Train with only the data known at this "
                              "date, YYYY-MM-DD (default: all data)."),
) -> None:
    """Backtest and train the models, log them to MLflow and register a new version.

    Sharing tenants train the shared model; every other tenant gets its own model, or a
    "not enough data" status naming what is missing. Windows (history, cut-off spacing,
    folds) are sized from each history. Promote afterwards with `tenantlake models promote`.

    Example: tenantlake models train --model churn --as-of 2025-06-30
    """
    fw = _models_ml().framework
    until = _date(as_of, "--as-of")
    specs = _specs(model)
    tenants = _tenants(tenant)
    for spec in specs:
        result = fw.train(spec, home(), tenants, until=until)
        t = Table("registered model", "tenants", "status", "version", "windows",
                  f"{spec.primary_metric} model", "baseline", "lift 95% interval",
                  title=f"{spec.name}" + (f" as of {until}" if until else ""))
        for r in result.runs:
            row = next((x for x in r.table if x["metric"] == spec.primary_metric), None)
            w = r.windows
            t.add_row(r.registered_model, ", ".join(r.tenants) or "-",
                      r.status if r.status == "trained" else f"[yellow]{r.status}[/]: {r.reason}",
                      r.version or "-",
                      (f"{w.get('span_days')}d history, every {w.get('cutoff_every_days')}d, "
                       f"{w.get('n_folds', '-')} folds of {w.get('fold_days', '-')}d") if w else "-",
                      f"{row['model']:.3f}" if row else "-",
                      f"{row['baseline']:.3f}" if row else "-",
                      f"{r.lift['ci_low']:+.3f} to {r.lift['ci_high']:+.3f}" if r.lift else "-")
        _out().print(t)
        _out().print("tenants: " + ", ".join(f"{k}={v}" for k, v in
                                              sorted(result.tenant_status.items())))


@models_app.command("evaluate")
def evaluate(
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    tenant: list[str] = typer.Option(None, "--tenant", "-t",
                                     help="Tenant id (repeatable; default: every tenant)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """For every model and tenant: what the tenant is served (its model, or the planner's rule
    and why) with that version's backtest against the rule, or why there is none.

    Example: tenantlake models evaluate --model churn --format json
    """
    fw = _models_ml().framework
    if fmt not in ("table", "json"):
        _err().print("[red]--format must be table or json[/]")
        raise typer.Exit(2)
    specs = _specs(model)
    tenants = _tenants(tenant)
    reports = [r for spec in specs for r in fw.evaluate_tenants(spec, home(), sorted(tenants))]
    if fmt == "json":
        typer.echo(json.dumps(reports, indent=1, default=str))
        return
    t = Table("model", "tenant", "status", "served", f"ROC-AUC model", "baseline",
              "lift 95% interval", "folds", "why", title="models by tenant")
    for r in reports:
        bt = r.get("backtest") or {}
        roc = next((x for x in bt.get("table", []) if x["metric"] == "roc_auc"), None)
        lift = bt.get("lift") or {}
        t.add_row(r["model"], r["tenant_id"],
                  r["status"] if r["status"] in ("model", "baseline")
                  else f"[yellow]{r['status']}[/]",
                  f"{r.get('registered_model', '-')} {r.get('version', '')}".strip(),
                  f"{roc['model']:.3f}" if roc else "-", f"{roc['baseline']:.3f}" if roc else "-",
                  f"{lift['ci_low']:+.3f} to {lift['ci_high']:+.3f}" if lift else "-",
                  str(len(bt.get("folds", []))) if bt else "-", r["reason"])
    _out().print(t)
    shown = set()
    for r in reports:
        bt = r.get("backtest")
        if not bt or (bt["registered_model"], bt["version"]) in shown:
            continue
        shown.add((bt["registered_model"], bt["version"]))
        t = Table("metric", "model", "baseline", "delta", "better", "per fold (model / baseline)",
                  title=f"{bt['registered_model']} v{bt['version']} vs {bt['baseline']} "
                        f"(champion: v{bt['champion_version'] or '-'}; "
                        f"{len(bt['folds'])} folds; tenants: {', '.join(bt['tenants'])})")
        for row in bt["table"]:
            folds = " ".join(f"{a:.3f}/{b:.3f}" for a, b in
                             zip(row["per_fold_model"], row["per_fold_baseline"]))
            t.add_row(row["metric"], f"{row['model']:.4f}", f"{row['baseline']:.4f}",
                      f"{row['delta']:+.4f}",
                      "[green]yes[/]" if row["model_better"] else "[red]no[/]", folds)
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
    """Make the newest version `champion` if its lift over the planner's rule is positive with a
    95% bootstrap interval above zero, and it beats the current champion on the same backtest.
    Otherwise the tenant keeps the champion, or is served the rule, labelled, with the reason.

    Example: tenantlake models promote --model churn
    """
    fw = _models_ml().framework
    t = Table("registered model", "challenger", "champion", "metric", "challenger", "champion",
              "baseline", "lift 95% interval", "promoted", "why")
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
                      f"{d.baseline:.4f}",
                      f"{d.lift_ci[0]:+.4f} to {d.lift_ci[1]:+.4f}" if d.lift_ci else "-",
                      "[green]yes[/]" if d.promoted else "no", d.reason)
    _out().print(t)


@models_app.command("score")
def score(
    tenant_id: str = typer.Argument(..., help="Tenant to score."),
    as_of: str = typer.Option(None, "--as-of", "--date", "-d",
                              help="As-of date YYYY-MM-DD: only data known then is used "
                                   "(default: the tenant's newest data)."),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    output: str = typer.Option(None, "--output", "-o",
                               help="Write the scores to this .csv or .parquet file instead of "
                                    "the lake (needs --model)."),
) -> None:
    """Score a tenant and write lake/predictions/<model>/tenant=<id>/date=<d>/part.parquet
    (or --output): entity keys, probability, band with its backtest precision, reasons,
    model version, and whether the model or the planner's rule served it.

    Example: tenantlake models score acme-distribution --model churn --as-of 2025-06-30 --output churn.csv
    """
    from pathlib import Path

    fw = _models_ml().framework
    tenant = _tenants([tenant_id])[tenant_id]
    d0 = _date(as_of, "--as-of")
    specs = _specs(model)
    target = None
    if output is not None:
        target = Path(output).expanduser()
        if model is None:
            _err().print("[red]--output needs --model (one model per file)[/]")
            raise typer.Exit(2)
        if target.suffix.lower() not in (".csv", ".parquet"):
            _err().print(f"[red]--output {output!r}: use a file name ending in .csv or "
                         ".parquet[/]", highlight=False)
            raise typer.Exit(2)
        if not target.parent.is_dir():
            _err().print(f"[red]--output {output!r}: folder {str(target.parent)!r} does not "
                         "exist[/]", highlight=False)
            raise typer.Exit(2)
    t = Table("model", "as of", "rows", "served", "model version", "path")
    for spec in specs:
        d = d0 or fw.latest_data_date(spec, home(), tenant.id)
        if d is None:
            t.add_row(spec.name, "-", "0", "-", "-", "[yellow]not available: no data[/]")
            continue
        try:
            res = fw.score(spec, home(), tenant, d, output=target)
        except fw.NoChampionError as exc:
            t.add_row(spec.name, str(d), "0", "-", "-", f"[yellow]{exc}[/]")
            continue
        served = "model" if res.served == "model" else f"[yellow]baseline[/]: {res.reason}"
        t.add_row(spec.name, str(d), str(res.rows), served,
                  f"{res.registered_model} {res.model_version}", str(res.path))
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
