"""The one console script, ``tenantlake``; each area registers its own sub-commands.

Heavy libraries (dagster, dbt, mlflow, lightgbm) are imported inside commands, so ``--help``
stays instant.
"""

from __future__ import annotations

import importlib
import logging

import typer

from tenantlake.settings import disable_telemetry

disable_telemetry()

app = typer.Typer(
    name="tenantlake",
    help="Multi-tenant analytics and predictive-intelligence lakehouse.\n\n"
    "Start with `tenantlake demo run` (what `make demo` does), then `tenantlake ui dashboard`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# (module, how it is attached): a Typer sub-app named NAME, or commands registered on `app`.
_AREAS = ("tenants", "contracts", "demo", "land", "kpi", "models", "pipeline", "ui", "users",
          "alerts")


def _register() -> None:
    for area in _AREAS:
        try:
            mod = importlib.import_module(f"tenantlake.cli.{area}")
        except ModuleNotFoundError as exc:  # an area not built yet must not break the others
            if exc.name and exc.name.startswith("tenantlake.cli."):
                continue
            raise
        mod.register(app)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug output.")):
    from tenantlake.redact import install

    install()  # every log line of every library goes through one redaction
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # libraries' chatter (schema migrations, HTTP clients) only with -v
        for name in ("alembic", "httpx", "mlflow", "urllib3", "great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)


_register()

if __name__ == "__main__":  # pragma: no cover
    app()
