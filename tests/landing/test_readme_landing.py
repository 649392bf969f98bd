"""The README's "Landing and data quality" commands, run verbatim in one bash session."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from landing_helpers import D1, csv_source, lines_csv, make_tenant

from tenantlake import store
from tenantlake.settings import PROJECT_ROOT


def _block() -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Landing and data quality", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_readme_landing_commands_run_verbatim(tl_home, tmp_path):
    tid = "acme-distribution"
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    tenant = make_tenant({"erp": csv_source()}, tenant_id=tid, quality={"max_bad_share": 0.05})
    (tenants / f"{tid}.yml").write_text(yaml.safe_dump(tenant.model_dump(mode="json")))
    drop = tl_home.root / "drops" / tid
    drop.mkdir(parents=True)
    (drop / "good.csv").write_text(lines_csv(50))
    (drop / "refunds.csv").write_text(lines_csv(8, start=100) + f"O9,1,S\x00,-5,1,{D1}\n")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "TENANTLAKE_HOME": str(tl_home.root),
           "TENANTLAKE_TENANTS_DIR": str(tenants), "TENANTLAKE_ACTOR": "ops-lead",
           "COLUMNS": "200", "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    res = subprocess.run(["bash", "-c", "set -euo pipefail\n" + _block()], env=env,
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "blocked" in out and "bad_share" in out and "refunds.csv" in out
    assert "control_characters" in out and "\x00" not in out
    assert "released" in out
    (audit,) = store.audit_entries(tid, url=tl_home.store_url)
    assert audit["actor"] == "ops-lead" and "refunds booked twice" in audit["reason"]
    assert store.ledger_blocked(tid, url=tl_home.store_url) == []
