"""Shared demo output for the signal and dialect tests (generated once per session, small)."""

from __future__ import annotations

import datetime as dt

import pytest

from tenantlake.demo import generate
from tenantlake.tenants import load_tenants

END = dt.date(2026, 11, 24)


@pytest.fixture(scope="session")
def demo_small(tmp_path_factory: pytest.TempPathFactory):
    """Three demo tenants at reduced size: ~18 months, ~55k order lines in total."""
    root = tmp_path_factory.mktemp("demo_small")
    counts = generate(root, tenants_dir=root / "tenants", seed=11, end_date=END, scale=0.3,
                      skus=60, days=540)
    return root, load_tenants(root / "tenants"), counts
