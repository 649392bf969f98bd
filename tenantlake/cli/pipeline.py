"""`tenantlake pipeline run`, `tenantlake demo run`, `tenantlake tenants onboard`, `tenantlake ui`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from tenantlake.settings import PROJECT_ROOT, home

def _terminal_console() -> Console:
    """A console on a duplicate of the terminal's stdout, so that the progress display keeps
    drawing while a job's own output is redirected to its log file."""
    try:
        return Console(file=os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1))
    except (OSError, ValueError, AttributeError):  # no real stdout (e.g. under CliRunner)
        return Console()


console = _terminal_console()
pipeline_app = typer.Typer(help="Run the pipeline through Dagster.", no_args_is_help=True)
ui_app = typer.Typer(help="Open the dashboards, the Dagster UI or the MLflow UI.",
                     no_args_is_help=True)


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    console=console, transient=False)


def run_pipeline(tenants: list[str] | None = None, train: str = "auto",
                 score: bool = True) -> bool:
    """Land and gate each tenant, build and publish the landed ones, train (if asked or
    needed), score each tenant; every step a Dagster run in the project's instance."""
    from tenantlake.orchestrate import prepare_dagster_home, run_job
    from tenantlake.tenants import TenantIdError, load_tenants, validate_tenant_id

    try:  # before anything is created: a bad id never reaches a path
        for t in tenants or []:
            validate_tenant_id(t)
    except TenantIdError as exc:
        console.print(f"[red]{exc}", highlight=False)
        raise typer.Exit(2) from None
    h = home()
    prepare_dagster_home(h)
    from pipelines.defs.transform.project import ensure_manifest

    ensure_manifest(h)
    # a tenant whose YAML does not validate is left out (its problems printed), never the rest
    all_tenants = load_tenants(skip_invalid=True)
    ids = [validate_tenant_id(t) for t in (tenants or sorted(all_tenants))]
    unknown = [t for t in ids if t not in all_tenants]
    if unknown:
        _explain_unknown(unknown)
        raise typer.Exit(2)
    from tenantlake.orchestrate import invalid_tenant_files

    # every tenant: a file that does not validate fails (with its problems), the rest run
    invalid = {} if tenants else invalid_tenant_files()
    for f, problems in invalid.items():
        console.print(f"[red]{f}: not run, the file does not validate:", highlight=False)
        for p in problems:
            console.print(f"[red]  {p}", highlight=False)
    outcomes = []
    log_dir = h.root / "logs" / time.strftime("%Y%m%dT%H%M%S")
    console.print(f"job logs: {log_dir} (and every run, with its events, in the Dagster UI)")
    with _progress() as progress:
        task = progress.add_task("land and check", total=len(ids))
        to_build, landed_new, fingerprints = [], 0, {}
        digest = _project_digest()
        for t in ids:
            progress.update(task, description=f"land and check: {t}")
            o, build, fingerprints[t] = _land_tenant(h, t, all_tenants[t], log_dir, digest)
            outcomes.append(o)
            landed_new += _landed(o)
            if build:
                to_build.append(t)
            progress.advance(task)
        if to_build:
            task = progress.add_task(f"dbt build, publish: {len(to_build)} tenant(s)", total=1)
            outcomes.extend(_transform(h, to_build, fingerprints, log_dir))
            progress.advance(task)
        elif all(o.success for o in outcomes):
            console.print("transform: no new rows and nothing changed since the last build; "
                          "dbt skipped")
        retrain = _models_to_train(all_tenants) if train == "auto" else {}
        do_train = train == "always" or bool(retrain)
        if retrain:
            console.print("models: retraining (" + "; ".join(
                f"{m}: {why}" for m, why in sorted(retrain.items())) + ")")
        if do_train:
            from models_ml.framework import ensure_store

            task = progress.add_task("train and backtest models", total=1)
            ensure_store(h)
            # the three models train side by side, one subprocess each (up to the CPU count)
            o = run_job("train_models", log_dir=log_dir, processes=min(3, os.cpu_count() or 1))
            outcomes.append(o)
            progress.advance(task)
        elif train == "never":
            console.print("models: training skipped (--train never)")
        else:
            console.print("models: data, model code and tenant configuration unchanged since "
                          "the last training; skipping it (use --train always to retrain)")
        if score:
            task = progress.add_task("score", total=len(ids))
            for t in ids:
                progress.update(task, description=f"score: {t}")
                outcomes.append(run_job("score_tenant", t, log_dir=log_dir))
                progress.advance(task)
    _summary(outcomes)
    return all(o.success for o in outcomes) and not invalid


def _explain_unknown(unknown: list[str]) -> None:
    from tenantlake.tenants import TenantConfigError, load_tenant

    for t in unknown:
        try:
            load_tenant(t)
            console.print(f"[red]{t}: tenant file changed while loading; run again")
        except TenantConfigError as exc:
            console.print(f"[red]{t}: not run: {exc}", highlight=False)
    console.print("fix the file(s) above (`tenantlake tenants validate`); see "
                  "`tenantlake tenants list`")


def _landed(outcome) -> int:
    return sum(int(m.get("rows_landed", 0) or 0)
               for k, m in outcome.materializations.items() if k.startswith("raw/"))


def _land_tenant(h, tenant_id: str, cfg, log_dir, project_digest: str):
    """Land and gate one tenant (the ingest assets of its `tenant_pipeline` partition).

    Returns the run's outcome, whether the tenant needs a dbt build, and the fingerprint of
    what its build depends on besides data. A build is needed when the gate passed and either
    rows landed or the dbt project, the contracts or the tenant's configuration changed since
    its last successful build (a marker under ``<home>/state``), or its warehouse rows or
    published marts are missing. A failed gate never reaches dbt.
    """
    from tenantlake.orchestrate import run_job

    fingerprint = _transform_fingerprint(cfg, project_digest)
    marker = _build_marker(h, tenant_id)
    published = h.serving / "fct_kpi_values" / f"tenant={tenant_id}" / "part.parquet"
    up_to_date = (marker.exists() and h.warehouse.exists() and published.exists()
                  and json.loads(marker.read_text()).get("fp") == fingerprint)
    o = run_job("tenant_pipeline", tenant_id, log_dir=log_dir, groups=("ingest",),
                label="-ingest")
    return o, o.success and (_landed(o) > 0 or not up_to_date), fingerprint


def _transform(h, tenants: list[str], fingerprints: dict[str, str], log_dir) -> list:
    """dbt build and publish for the landed tenants: one Dagster run per range of consecutive
    tenant partitions (usually one run for all), each a single `dbt build` scoped to its tenants.
    """
    from pipelines.jobs import TRANSFORM_GROUPS
    from tenantlake.orchestrate import consecutive_groups, run_job

    outcomes = []
    for group in consecutive_groups("tenant_pipeline", tenants):
        o = run_job("tenant_pipeline", group, log_dir=log_dir, groups=TRANSFORM_GROUPS,
                    label="-transform")
        outcomes.append(o)
        if o.success:
            for t in group:
                marker = _build_marker(h, t)
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(json.dumps({"fp": fingerprints[t], "at": time.time()}))
    return outcomes


def _build_marker(h, tenant_id: str):
    return h.root / "state" / "transform" / f"{tenant_id}.json"


def _transform_fingerprint(cfg, project_digest: str) -> str:
    """Hash of what a tenant's build depends on besides its data: its whole configuration and
    the build inputs every tenant shares (:func:`_project_digest`)."""
    import hashlib

    return hashlib.sha256(f"{cfg.model_dump_json()}\n{project_digest}".encode()).hexdigest()


def _project_digest() -> str:
    """Hash of the dbt project and the contracts; read once per pipeline run."""
    import hashlib

    h = hashlib.sha256()
    project = PROJECT_ROOT / "dbt_project"
    files = [project / "dbt_project.yml", PROJECT_ROOT / "tenantlake" / "contracts.py"]
    for sub in ("models", "macros", "seeds", "tests"):
        files += sorted((project / sub).rglob("*"))
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(PROJECT_ROOT) if f.is_relative_to(PROJECT_ROOT)
                         else f.name).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _models_to_train(tenants) -> dict[str, str]:
    """Models whose data, code or tenant configuration changed since their last training (or
    never trained, or with a stale champion), each with why; see ``needs_training``."""
    from models_ml.framework import needs_training

    return needs_training(home(), tenants)


def _result(o) -> str:
    """"ok", or the status a successful job reported instead (e.g. "not enough data: ..."):
    a model that could not be trained or served is said so, never shown as "ok"."""
    if not o.success:
        return "[red]failed"
    notes = [m["status_note"] for m in o.materializations.values() if m.get("status_note")]
    return "[yellow]" + "; ".join(notes) if notes else "[green]ok"


def _summary(outcomes) -> None:
    table = Table()
    for col in ("job", "tenant", "result", "rows landed", "quarantined", "failed checks"):
        table.add_column(col, overflow="fold")  # a narrow or piped terminal wraps, never cuts
    for o in outcomes:
        raw = [m for k, m in o.materializations.items() if k.startswith("raw/")]
        landed = _landed(o)
        quar = sum(int(m.get("rows_quarantined", 0) or 0) for m in raw)
        table.add_row(o.job, o.partition or "all", _result(o),
                      str(landed) if raw else "", str(quar) if raw else "",
                      ", ".join(o.failed_checks[:4]) + (" …" if len(o.failed_checks) > 4 else ""))
    console.print(table)
    for o in outcomes:
        if o.error:
            console.print(f"[red]{o.job} {o.partition or ''}: {o.error}", highlight=False)


@pipeline_app.command("run")
def pipeline_run(
    tenant: list[str] = typer.Option(None, "--tenant", "-t", help="Tenant(s); default all."),
    train: str = typer.Option("auto", help="auto (when new data or no champion) | always | never"),
    score: bool = typer.Option(True, help="Score tenants after training."),
) -> None:
    """Run the whole pipeline through Dagster for every tenant (or those given).

    Example: tenantlake pipeline run --tenant northwind-distribution --train never
    """
    ok = run_pipeline(tenant or None, train=train, score=score)
    raise typer.Exit(0 if ok else 1)


def demo_run(
    seed: int = typer.Option(7, help="Random seed of the demo data."),
    train: str = typer.Option("auto", help="auto | always | never"),
) -> None:
    """Generate the demo tenants' data (once) and run the whole pipeline through Dagster.

    Example: tenantlake demo run
    """
    from tenantlake.demo import generate

    h = home().ensure()
    marker = h.drops / ".demo.json"
    want = {"seed": seed, "date": time.strftime("%Y-%m-%d")}
    start = time.perf_counter()
    if marker.exists() and json.loads(marker.read_text()) == want:
        console.print("demo data already generated for today; landing only picks up changes")
    else:
        with console.status("generating demo tenants' exports"):
            counts = generate(h.root, seed=seed)
        marker.write_text(json.dumps(want))
        _print_counts(counts)
    ok = run_pipeline(None, train=train)
    console.print(f"\npipeline {'finished' if ok else 'FAILED'} in "
                  f"{time.perf_counter() - start:.0f}s. Project home: {h.root}\n")
    console.print("Open:\n"
                  "  dashboards  make dashboard   (tenantlake ui dashboard)  http://127.0.0.1:8501\n"
                  "  Dagster UI  make dagster     (tenantlake ui dagster)    http://127.0.0.1:3000\n"
                  "  MLflow UI   make mlflow      (tenantlake ui mlflow)     http://127.0.0.1:5000\n"
                  "  KPIs        tenantlake kpi show northwind-distribution --grain month\n"
                  "  Alerts      tenantlake alerts list   (approve or reject: tenantlake alerts "
                  "approve|reject ID, or the dashboards' Alerts page)")
    raise typer.Exit(0 if ok else 1)


def _print_counts(counts: dict) -> None:
    if not counts:
        return
    entities = sorted({e for c in counts.values() for e in c})
    table = Table("entity", *counts.keys(), title="demo rows generated")
    for e in entities:
        table.add_row(e, *[f"{counts[t].get(e, 0):,}" for t in counts])
    console.print(table)


def onboard(
    tenant_id: str = typer.Argument(..., help="Tenant id (tenants/<ID>.yml)."),
    train: str = typer.Option("auto", help="auto (train when no model is trained yet or new "
                                           "rows landed) | always | never"),
    fmt: str = typer.Option("table", "--format", help="Summary as table or json."),
) -> None:
    """Validate a new tenant's YAML and run its first backfill: land, gate, dbt, train or reuse
    the models as governance allows (share_training_data), score; then print what the tenant
    now has (entities and rows, KPIs available or why not, models served or why not).

    Example: tenantlake tenants onboard acme-distribution
    """
    from tenantlake.cli.tenants import print_summary
    from tenantlake.orchestrate import tenant_summary
    from tenantlake.tenants import TenantConfigError, load_tenant

    try:
        cfg = load_tenant(tenant_id)
    except (TenantConfigError, ValueError) as exc:
        console.print(f"[red]{exc}", highlight=False)
        raise typer.Exit(2) from None
    drop = cfg.drop_dir(home())
    console.print(f"onboarding {cfg.id} ({cfg.display_name}); drop folder: {drop}")
    ok = run_pipeline([tenant_id], train=train)
    print_summary(tenant_summary(cfg, home()), fmt=fmt, console=console)
    raise typer.Exit(0 if ok else 1)


def _exec(cmd: list[str], env: dict[str, str]) -> None:
    console.print("$ " + " ".join(cmd))
    raise typer.Exit(subprocess.call(cmd, env={**os.environ, **env}, cwd=PROJECT_ROOT))


@ui_app.command("dashboard")
def ui_dashboard(port: int = typer.Option(8501)) -> None:
    """Streamlit dashboards on http://127.0.0.1:PORT (try ?user=admin)."""
    h = home()
    _exec([sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "dashboards" / "app.py"),
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"],
          {"TENANTLAKE_HOME": str(h.root)})


@ui_app.command("dagster")
def ui_dagster(port: int = typer.Option(3000)) -> None:
    """Dagster UI (and daemon: schedules, sensors) on http://127.0.0.1:PORT."""
    from tenantlake.orchestrate import prepare_dagster_home

    h = home()
    prepare_dagster_home(h)
    _exec([os.path.join(os.path.dirname(sys.executable), "dagster"), "dev",
           "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)],
          {"DAGSTER_HOME": str(h.dagster_home), "TENANTLAKE_HOME": str(h.root)})


@ui_app.command("mlflow")
def ui_mlflow(port: int = typer.Option(5000)) -> None:
    """MLflow UI (experiments, runs, registry) on http://127.0.0.1:PORT."""
    h = home().ensure()
    _exec([os.path.join(os.path.dirname(sys.executable), "mlflow"), "ui",
           "--backend-store-uri", h.mlflow_uri,
           "--default-artifact-root", str(h.mlflow_artifacts),
           "--host", "127.0.0.1", "--port", str(port)], {})


def register(app: typer.Typer) -> None:
    app.add_typer(pipeline_app, name="pipeline")
    app.add_typer(ui_app, name="ui")
    from tenantlake.cli.tenants import tenants_app

    tenants_app.command("onboard")(onboard)
    try:
        from tenantlake.cli.demo import demo_app
    except ModuleNotFoundError:
        demo_app = typer.Typer(help="Demo tenants.", no_args_is_help=True)
        app.add_typer(demo_app, name="demo")
    demo_app.command("run")(demo_run)
