"""Dashboard test fixtures: a temp home with tenants, users and real Parquet (no mocks)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
if str(PROJECT) not in sys.path:  # `dashboards` is a top-level folder, not installed in .venv
    sys.path.insert(0, str(PROJECT))

import dash_fixtures  # noqa: E402
import streamlit as st  # noqa: E402

APP = PROJECT / "dashboards" / "app.py"


@pytest.fixture
def dash_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """tenants alpha+beta (partner p-one) and gamma (p-two), users, lake; env points at them."""
    paths = dash_fixtures.build(tmp_path)
    monkeypatch.setenv("TENANTLAKE_HOME", str(paths["home"]))
    monkeypatch.setenv("TENANTLAKE_TENANTS_DIR", str(paths["tenants"]))
    monkeypatch.setenv("TENANTLAKE_USERS", str(paths["users"]))
    st.cache_data.clear()
    yield paths
    st.cache_data.clear()
