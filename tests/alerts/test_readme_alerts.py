"""The README's alert commands, run verbatim (one bash session, as a user would paste them)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import stockout_rows, write_predictions

from tenantlake.settings import PROJECT_ROOT

TENANT = "northwind-distribution"


def _alerts_block() -> str:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Alerts (reverse ETL)", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_readme_alert_commands_run_verbatim(tl_home, store_url):
    rows = [{"customer_id": f"C{i:03d}", "probability": p}
            for i, p in enumerate([0.9, 0.8, 0.7, 0.2])]
    write_predictions(tl_home, TENANT, "churn", rows)
    write_predictions(tl_home, TENANT, "stockout",
                      [{**r, "probability": 0.95} for r in stockout_rows(3)])
    bindir = Path(sys.executable).parent
    env = {**os.environ, "TENANTLAKE_HOME": str(tl_home.root), "TENANTLAKE_STORE_URL": store_url,
           "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    script = "set -euo pipefail\n" + _alerts_block()
    res = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                         cwd=PROJECT_ROOT, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "chain intact" in res.stdout
    listed = subprocess.run(["tenantlake", "alerts", "list", "--format", "json"], env=env,
                            capture_output=True, text=True, check=True).stdout
    states = {a["rule"]: a["state"] for a in json.loads(listed) if a["rule"] == "churn_risk_90d"}
    assert states  # churn alerts built, one approved, one rejected, one pending
    by_state = [a["state"] for a in json.loads(listed) if a["rule"] == "churn_risk_90d"]
    assert "rejected" in by_state and "pending_approval" in by_state
    assert any(s in by_state for s in ("retry_wait", "approved", "sending"))
    assert [a for a in json.loads(listed) if a["rule"] == "stockout_risk_14d"
            and a["state"] in ("approved", "delivered")]


def test_benchmark_help_runs():
    res = subprocess.run([sys.executable, str(PROJECT_ROOT / "benchmarks" / "alerts.py"),
                          "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "--alerts" in res.stdout
