"""The dbt project as Dagster sees it, and the manifest it is built from."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tenantlake.settings import PROJECT_ROOT, Home, disable_telemetry

log = logging.getLogger(__name__)
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def dbt_env(home: Home) -> dict[str, str]:
    """Environment dbt needs: where the warehouse and the lake are; telemetry off."""
    disable_telemetry()
    return {
        "TENANTLAKE_WAREHOUSE": str(home.warehouse),
        "TENANTLAKE_LAKE": str(home.lake),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
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
    if MANIFEST.exists() and MANIFEST.stat().st_mtime >= _newest_source_mtime():
        return MANIFEST
    from dbt.cli.main import dbtRunner

    from tenantlake.settings import home as default_home

    env = dbt_env(home or default_home())
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        res = dbtRunner().invoke(["parse", "--project-dir", str(DBT_PROJECT_DIR),
                                  "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if not res.success:
        raise RuntimeError(f"dbt parse failed: {res.exception}")
    log.info("parsed dbt project into %s", MANIFEST)
    return MANIFEST
