"""A real PostgreSQL for tests: started by ``scripts/postgres.sh``, one fresh database per worker.

Import the fixtures into a conftest (``from postgres_fixture import postgres_server_url,
postgres_url``; ``tests/`` is on ``sys.path`` because ``tests/conftest.py`` is the rootdir
conftest) and mark tests ``@pytest.mark.postgres``.

Nothing is skipped: when the server cannot be started the fixture *fails* with the script's
output, so CI notices instead of silently running fewer tests. Each pytest-xdist worker (and each
run) gets its own database, dropped at the end, so concurrent runs never see each other's tables.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tenantlake.settings import PROJECT_ROOT

POSTGRES_SCRIPT = PROJECT_ROOT / "scripts" / "postgres.sh"
START_TIMEOUT_SECONDS = 300  # first run may apt-get install the server


def start_postgres() -> str:
    """Run ``scripts/postgres.sh`` and return its URL; ``pytest.fail`` with its output if not."""
    try:
        proc = subprocess.run(["bash", str(POSTGRES_SCRIPT), "start"], capture_output=True,
                              text=True, timeout=START_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{POSTGRES_SCRIPT} did not finish within {START_TIMEOUT_SECONDS}s:\n"
                    f"{exc.stdout or ''}\n{exc.stderr or ''}", pytrace=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or not lines[-1].startswith("postgresql"):
        pytest.fail(f"PostgreSQL could not be started by {POSTGRES_SCRIPT} "
                    f"(exit {proc.returncode}); postgres tests need it:\n"
                    f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}", pytrace=False)
    return lines[-1]


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the project's PostgreSQL (database ``tenantlake_test``), started if needed."""
    return start_postgres()


@pytest.fixture(scope="session")
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A database of this test session (this xdist worker) alone, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"tl_{worker}_{uuid.uuid4().hex[:10]}".lower()
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            # The name is generated above from [a-z0-9_] only; CREATE DATABASE cannot bind it.
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(postgres_server_url).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except SQLAlchemyError:
            pass
        admin.dispose()
