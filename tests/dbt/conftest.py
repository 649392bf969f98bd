"""Fixtures of the dbt tests; the fixture lake itself is described in dbt_helpers.py.

(No ``__init__.py`` here on purpose: a ``tests/dbt`` package would shadow the ``dbt`` library.)
"""

from __future__ import annotations

import pytest
from dbt_helpers import VARS, build_fixture_lake

from tenantlake.kpi import run_dbt
from tenantlake.settings import Home


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home with the fixture lake and a warehouse from one full `dbt build` (tests included).

    Session-scoped: dbt runs take seconds, so tests that change state work on a copy
    (``dbt_helpers.copy_home``)."""
    home = Home(tmp_path_factory.mktemp("dbt") / "home").ensure()
    build_fixture_lake(home)
    run_dbt(["build"], home, vars=VARS)
    return home
