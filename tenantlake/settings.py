"""Where tenantlake keeps its state: the project home.

The home (default ``./.tenantlake``, or ``$TENANTLAKE_HOME``) holds the lake, the DuckDB file,
Dagster's storage, MLflow's store and the operational store. Tests point it at a temporary
folder, so nothing a test does touches a user's home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Nothing in tenantlake may wait on the network: switch telemetry off for every tool we drive.
TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_ENABLE_TELEMETRY": "false",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
}


def disable_telemetry() -> None:
    for k, v in TELEMETRY_OFF.items():
        os.environ.setdefault(k, v)


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def drops(self) -> Path:
        """The operator's drops root: every tenant's drop folder lies inside it (or inside an
        extra root of :func:`extra_drop_roots`). ``$TENANTLAKE_DROPS_ROOT``, else ``drops/``."""
        return drops_root(self.root)

    @property
    def warehouse(self) -> Path:
        """The DuckDB file dbt builds into (pipeline-owned; people read serving Parquet)."""
        return self.root / "warehouse.duckdb"

    @property
    def serving(self) -> Path:
        return self.lake / "serving"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def mlflow_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.root / "mlartifacts"

    @property
    def store_url(self) -> str:
        """Operational store (ledger, cursors, alerts, audit): SQLite here, PostgreSQL in prod."""
        return os.environ.get("TENANTLAKE_STORE_URL") or f"sqlite:///{self.root / 'ops.db'}"

    def ensure(self) -> "Home":
        for p in (self.root, self.lake, self.drops, self.dagster_home, self.mlflow_artifacts):
            p.mkdir(parents=True, exist_ok=True)
        return self


DROPS_ROOT_ENV = "TENANTLAKE_DROPS_ROOT"
EXTRA_DROP_ROOTS_ENV = "TENANTLAKE_EXTRA_DROP_ROOTS"


def drops_root(home_root: Path | Home) -> Path:
    """The drops root of a home: ``$TENANTLAKE_DROPS_ROOT`` or ``<home>/drops`` (absolute)."""
    root = home_root.root if isinstance(home_root, Home) else home_root
    env = os.environ.get(DROPS_ROOT_ENV)
    return Path(env).resolve() if env else Path(root).resolve() / "drops"


def extra_drop_roots() -> dict[str, Path]:
    """Extra drop roots the *platform* configuration allows (never a tenant's YAML).

    ``$TENANTLAKE_EXTRA_DROP_ROOTS`` = ``name=/abs/path`` entries separated by ``os.pathsep``
    (e.g. ``sftp=/srv/sftp:nas=/mnt/exports``); a tenant's ``drop_folder: "sftp:acme"`` then
    means ``/srv/sftp/acme``. Entries that are not ``name=absolute path`` are ignored.
    """
    out: dict[str, Path] = {}
    for item in (os.environ.get(EXTRA_DROP_ROOTS_ENV) or "").split(os.pathsep):
        name, sep, path = item.partition("=")
        if sep and name.strip() and os.path.isabs(path.strip()):
            out[name.strip()] = Path(path.strip()).resolve()
    return out


def home() -> Home:
    root = os.environ.get("TENANTLAKE_HOME") or str(PROJECT_ROOT / ".tenantlake")
    return Home(Path(root).expanduser().resolve())
