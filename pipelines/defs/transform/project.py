"""The dbt project as Dagster sees it, and the manifest it is built from."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tenantlake.settings import PROJECT_ROOT, Home, disable_telemetry

log = logging.getLogger(__name__)
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def dbt_target_dir(home: Home) -> Path:
    """dbt's target folder for one project home (never the checkout, which homes share)."""
    return home.root / "dbt" / "target"


def manifest_path(home: Home) -> Path:
    return dbt_target_dir(home) / "manifest.json"


def dbt_env(home: Home) -> dict[str, str]:
    """Environment dbt needs: where the warehouse and the lake are; telemetry off.

    ``DBT_TARGET_PATH``/``DBT_LOG_PATH`` put dbt's compiled SQL, run results and logs under the
    project home: in the checkout they grew by ~100 MB in a few runs and mixed the tenant ids
    and paths of every home that ran there. dagster-dbt's per-run target folders are made under
    ``DBT_TARGET_PATH`` too.
    """
    disable_telemetry()
    return {
        "TENANTLAKE_WAREHOUSE": str(home.warehouse),
        "TENANTLAKE_LAKE": str(home.lake),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(dbt_target_dir(home)),
        "DBT_LOG_PATH": str(home.root / "dbt" / "logs"),
    }


def _newest_source_mtime() -> float:
    newest = 0.0
    for sub in ("models", "macros", "seeds", "tests", "snapshots"):
        d = DBT_PROJECT_DIR / sub
        if d.exists():
            for p in d.rglob("*"):
                if p.is_file():
                    newest = max(newest, p.stat().st_mtime)
    for name in ("dbt_project.yml", "profiles.yml"):
        p = DBT_PROJECT_DIR / name
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    return newest


def ensure_manifest(home: Home | None = None) -> Path:
    """Run ``dbt parse`` when the manifest is missing or older than the project's files.

    Dagster builds the dbt assets from ``target/manifest.json`` at import time; parsing here
    (rather than committing the manifest) keeps it in step with what an analyst just edited.
    """
    from tenantlake.settings import home as default_home

    home = home or default_home()
    manifest = manifest_path(home)
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
        return manifest
    from dbt.cli.main import dbtRunner

    env = dbt_env(home)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        res = dbtRunner().invoke(["parse", "--project-dir", str(DBT_PROJECT_DIR),
                                  "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet",
                                  "--target-path", str(dbt_target_dir(home)),
                                  "--log-path", env["DBT_LOG_PATH"]])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if not res.success:
        raise RuntimeError(f"dbt parse failed: {res.exception}")
    log.info("parsed dbt project into %s", manifest)
    return manifest
