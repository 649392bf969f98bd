"""A tenant's configuration can never reach outside its own drop folder."""

from __future__ import annotations

import os

import pytest
import yaml
from landing_helpers import csv_source, lines_csv, make_tenant, raw_rows
from typer.testing import CliRunner

from tenantlake.cli import app
from tenantlake.landing import LandingConfigError, land_tenant

runner = CliRunner()


def _yaml(tmp_path, tenant_id: str, **over) -> os.PathLike:
    d = tmp_path / "tenants"
    d.mkdir(exist_ok=True)
    doc = make_tenant({"erp": csv_source()}, tenant_id=tenant_id).model_dump(mode="json")
    for k, v in over.items():
        if k == "path":
            doc["sources"]["erp"]["path"] = v
        else:
            doc[k] = v
    f = d / f"{tenant_id}.yml"
    f.write_text(yaml.safe_dump(doc))
    return f


@pytest.mark.parametrize("over, rule", [
    ({"drop_folder": "/etc", "path": "passwd"}, "'/etc' is an absolute path"),
    ({"path": "/etc/passwd"}, "'/etc/passwd' is an absolute path"),
    ({"drop_folder": "../../../.."}, "contains '..'"),
    ({"path": "../beta/*.csv"}, "contains '..'"),
    ({"drop_folder": "beta"}, "not inside the tenant's own folder 'acme'"),
    ({"drop_folder": "acme/../beta"}, "contains '..'"),
    ({"drop_folder": "~/acme"}, "absolute path"),
    ({"drop_folder": "$HOME/acme"}, "contains a variable"),
    ({"drop_folder": "nas:acme"}, "does not declare"),
])
def test_validate_refuses_hostile_paths_naming_the_rule(tmp_path, over, rule):
    f = _yaml(tmp_path, "acme", **over)
    res = runner.invoke(app, ["tenants", "validate", str(f)])
    assert res.exit_code == 1, res.output
    assert rule in res.stderr and "rule: confinement" in res.stderr or "does not declare" in rule


def test_extra_root_only_from_platform_configuration(tl_home, tmp_path, monkeypatch):
    nas = tmp_path / "nas"
    (nas / "acme").mkdir(parents=True)
    (nas / "acme" / "a.csv").write_text(lines_csv(3))
    monkeypatch.setenv("TENANTLAKE_EXTRA_DROP_ROOTS", f"nas={nas}")
    tenant = make_tenant({"erp": csv_source()}, drop_folder="nas:acme")
    assert tenant.drop_dir(tl_home) == nas.resolve() / "acme"
    assert land_tenant(tenant, tl_home, run_gx=False).entities["order_lines"].rows_landed == 3


def test_operator_drops_root(tl_home, tmp_path, monkeypatch):
    root = tmp_path / "srv-drops"
    (root / "acme").mkdir(parents=True)
    (root / "acme" / "a.csv").write_text(lines_csv(2))
    monkeypatch.setenv("TENANTLAKE_DROPS_ROOT", str(root))
    rep = land_tenant(make_tenant({"erp": csv_source()}), tl_home, run_gx=False)
    assert rep.entities["order_lines"].rows_landed == 2


def test_symlinked_drop_folder_into_another_tenant_is_refused(tl_home, tmp_path):
    beta = tl_home.root / "drops" / "beta"
    beta.mkdir(parents=True)
    (beta / "customers.csv").write_text(lines_csv(4))
    os.symlink(beta, tl_home.root / "drops" / "acme")
    with pytest.raises(LandingConfigError, match=r"outside the tenant's own folder.*confinement"):
        land_tenant(make_tenant({"erp": csv_source()}), tl_home, run_gx=False)
    assert raw_rows(tl_home) == 0


def test_symlinked_sub_folder_to_etc_is_refused(tl_home, tmp_path):
    (tl_home.root / "drops" / "acme").mkdir(parents=True)
    os.symlink("/etc", tl_home.root / "drops" / "acme" / "in")
    tenant = make_tenant({"erp": csv_source("*")}, drop_folder="acme/in")
    with pytest.raises(LandingConfigError, match="resolves to /etc"):
        land_tenant(tenant, tl_home, run_gx=False)


def test_pipeline_run_refuses_a_bad_tenant_id_before_creating_anything(tmp_path, monkeypatch,
                                                                      ):
    import io

    from rich.console import Console

    from tenantlake.cli import pipeline

    buf = io.StringIO()
    # the pipeline console writes to a duplicate of the terminal's stdout (see its module)
    monkeypatch.setattr(pipeline, "console", Console(file=buf, width=200))
    home = tmp_path / "fresh-home"
    monkeypatch.setenv("TENANTLAKE_HOME", str(home))
    res = runner.invoke(app, ["pipeline", "run", "--tenant", "../x"])
    out = res.output + buf.getvalue()
    assert res.exit_code == 2 and res.exception is None or isinstance(res.exception, SystemExit)
    assert "invalid tenant id '../x'" in out and "Traceback" not in out
    assert not home.exists()
