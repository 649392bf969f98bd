"""The README's dashboard commands, run verbatim (one bash session, as a user would paste them)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from dashboards import auth
from tenantlake.settings import PROJECT_ROOT


def _block() -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Dashboards\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_readme_user_commands_run_verbatim(tmp_path):
    bindir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if k != "TENANTLAKE_USERS"}
    env.update({"TENANTLAKE_HOME": str(tmp_path / "home"), "NORA_PASSWORD": "a long passphrase",
                "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"})
    res = subprocess.run(["bash", "-c", "set -euo pipefail\n" + _block()], env=env,
                         capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    saved = yaml.safe_load((tmp_path / "home" / "users.yml").read_text())
    assert [u["id"] for u in saved["users"]] == ["nora"]  # olaf added, listed, removed
    users = auth.load_users(tmp_path / "home" / "users.yml")
    assert auth.check_password(users, "nora.wind@northwind.example", "a long passphrase")
    assert "olaf" in res.stdout  # listed before removal


def test_dashboard_benchmark_help_runs():
    res = subprocess.run([sys.executable, str(PROJECT_ROOT / "benchmarks" / "dashboard.py"),
                          "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "--tenants" in res.stdout
