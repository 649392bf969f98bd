"""`tenantlake demo generate` on the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tenantlake.cli import app
from tenantlake.tenants import load_tenant_file


def test_generate_command_writes_drops_and_scale_yamls(tmp_path: Path):
    out = tmp_path / "home"
    res = CliRunner().invoke(app, [
        "demo", "generate", "--seed", "7", "--end-date", "2026-11-24", "--tenants", "4",
        "--customers", "25", "--skus", "20", "--days", "90", "--out", str(out),
        "--tenants-dir", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert "order_lines" in res.output and "scale-0004" in res.output
    for tid in ("northwind-distribution", "bluepeak-outdoor", "harbor-wholesale", "scale-0004"):
        cfg = load_tenant_file(tmp_path / "t" / f"{tid}.yml")
        assert any(cfg.drop_dir(out).rglob("*.*")), tid


def test_generate_command_rejects_bad_input(tmp_path: Path):
    r = CliRunner().invoke(app, ["demo", "generate", "--end-date", "24.11.2026",
                                 "--out", str(tmp_path)])
    # a usage error saying what is wrong and what is expected (exit 2), not a crash
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output
    assert "'24.11.2026' is not a date like" in r.output, r.output
    r = CliRunner().invoke(app, ["demo", "generate", "--days", "5", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "days" in r.output
