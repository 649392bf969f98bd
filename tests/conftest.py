"""Shared fixtures: every test gets its own project home, never the user's ``.tenantlake``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tenantlake.settings import PROJECT_ROOT, TELEMETRY_OFF, Home

for _k, _v in TELEMETRY_OFF.items():
    os.environ.setdefault(_k, _v)

DEMO_TENANTS_DIR = PROJECT_ROOT / "tenants"


@pytest.fixture
def tl_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """A fresh, empty project home; TENANTLAKE_HOME points at it for the test's duration."""
    root = tmp_path / "home"
    monkeypatch.setenv("TENANTLAKE_HOME", str(root))
    monkeypatch.delenv("TENANTLAKE_STORE_URL", raising=False)
    return Home(root).ensure()
