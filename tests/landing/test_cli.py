"""`tenantlake land` and `tenantlake quarantine show`."""

from __future__ import annotations

import json

import yaml
from landing_helpers import D1, csv_source, lines_csv, make_tenant
from typer.testing import CliRunner

from tenantlake.cli import app

runner = CliRunner()


def _write_tenant(tmp_path, monkeypatch, tenant) -> None:
    d = tmp_path / "tenants"
    d.mkdir(exist_ok=True)
    (d / f"{tenant.id}.yml").write_text(yaml.safe_dump(tenant.model_dump(mode="json")))
    monkeypatch.setenv("TENANTLAKE_TENANTS_DIR", str(d))


def test_land_json_and_quarantine_show(tl_home, drop, tmp_path, monkeypatch):
    _write_tenant(tmp_path, monkeypatch, make_tenant({"erp": csv_source()}))
    (drop / "a.csv").write_text(lines_csv(40) + f"O99,1,S,-5,1,{D1}\n")
    res = runner.invoke(app, ["land", "acme", "--json", "--no-gx"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    ol = data["entities"]["order_lines"]
    assert (ol["rows_in"], ol["rows_landed"], ol["rows_quarantined"]) == (41, 40, 1)
    res = runner.invoke(app, ["land", "acme", "--no-gx"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "landing acme" in res.stdout and "passed" in res.stdout
    res = runner.invoke(app, ["quarantine", "show", "acme", "--entity", "order_lines"])
    assert res.exit_code == 0 and "min_value" in res.stdout and "1 of 1" in res.stdout


def test_failed_gate_exits_1(tl_home, drop, tmp_path, monkeypatch):
    _write_tenant(tmp_path, monkeypatch, make_tenant({"erp": csv_source()},
                                                     quality={"max_bad_share": 0.05}))
    (drop / "a.csv").write_text(lines_csv(2) + f"O99,1,S,-5,1,{D1}\n")
    res = runner.invoke(app, ["land", "acme", "--no-gx"])
    assert res.exit_code == 1 and "bad_share" in res.stdout


def test_invalid_tenant_exits_2(tl_home, tmp_path, monkeypatch):
    monkeypatch.setenv("TENANTLAKE_TENANTS_DIR", str(tmp_path))
    assert runner.invoke(app, ["land", "../etc"]).exit_code == 2
    assert runner.invoke(app, ["land", "nobody"]).exit_code == 2
    assert runner.invoke(app, ["quarantine", "show", "Bad Id"]).exit_code == 2


def test_missing_drop_folder_exits_2(tl_home, tmp_path, monkeypatch):
    _write_tenant(tmp_path, monkeypatch, make_tenant({"erp": csv_source()}, tenant_id="ghost"))
    res = runner.invoke(app, ["land", "ghost"])
    assert res.exit_code == 2 and "ghost" in res.stderr


def test_quarantine_show_escapes_control_characters(tl_home, drop, tmp_path, monkeypatch):
    _write_tenant(tmp_path, monkeypatch, make_tenant({"erp": csv_source()}))
    (drop / "a.csv").write_text(lines_csv(3) + f"O8,1,S\x00X,1,1,{D1}\n"
                                + f"O9,1,S,1,9\x1b[2J,{D1}\n")
    assert runner.invoke(app, ["land", "acme", "--no-gx"]).exit_code == 0
    res = runner.invoke(app, ["quarantine", "show", "acme"], env={"COLUMNS": "300"})
    assert res.exit_code == 0
    assert "\x00" not in res.stdout and "\x1b" not in res.stdout
    assert "control_characters" in res.stdout and "\\x1b[2J" in res.stdout
