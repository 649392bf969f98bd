"""Fixtures for landing tests (helpers live in ``landing_helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantlake.settings import Home


@pytest.fixture
def drop(tl_home: Home) -> Path:
    d = tl_home.root / "drops" / "acme"
    d.mkdir(parents=True, exist_ok=True)
    return d
