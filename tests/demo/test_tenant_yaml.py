"""The demo tenant YAMLs: valid, in sync with the dialect specs, and of the promised kinds."""

from __future__ import annotations

from pathlib import Path

from tenantlake.demo import tenant_yaml
from tenantlake.demo.profiles import DEMO_TENANTS
from tenantlake.settings import PROJECT_ROOT
from tenantlake.tenants import load_tenant_file

REPO_TENANTS = PROJECT_ROOT / "tenants"


def test_committed_yamls_validate_and_match_the_generator():
    for tid, dialect in DEMO_TENANTS.items():
        path = REPO_TENANTS / f"{tid}.yml"
        cfg = load_tenant_file(path)
        assert cfg.id == tid
        assert path.read_text(encoding="utf-8") == tenant_yaml.render(tid, dialect), (
            f"{path} drifted from tenantlake/demo; rerun "
            "`python -m tenantlake.demo.tenant_yaml tenants/`")


def test_demo_tenants_differ_in_partner_sharing_and_entities():
    cfgs = {tid: load_tenant_file(REPO_TENANTS / f"{tid}.yml") for tid in DEMO_TENANTS}
    partners = [c.partner.id for c in cfgs.values()]
    assert len(set(partners)) == 2 and max(partners.count(p) for p in partners) == 2
    assert sorted(c.share_training_data for c in cfgs.values()) == [False, True, True]
    assert len(cfgs["northwind-distribution"].entities) == 16
    assert {"invoices", "payments"} - set(cfgs["bluepeak-outdoor"].entities)
    assert "workflow_runs" not in cfgs["harbor-wholesale"].entities
    formats = {next(iter(c.sources.values())).format for c in cfgs.values()}
    assert formats == {"csv", "jsonl", "parquet"}
    nw = cfgs["northwind-distribution"]
    line_src = [s for s in nw.sources.values() if "order_lines" in s.entities][0]
    assert set(line_src.entities) == {"order_lines", "shipments"}  # one export, two entities
    assert line_src.csv.delimiter == ";" and line_src.csv.encoding == "latin-1"
    assert line_src.decimal_separator == "," and line_src.date_format == "%d.%m.%Y"
    for c in cfgs.values():
        assert c.kpi_targets and c.alerts.rules and c.branding.primary_color
        kinds = {ch.type for ch in c.alerts.channels.values()}
        assert "webhook" in kinds or "slack" in kinds
        for ch in c.alerts.channels.values():
            if ch.type == "webhook":
                assert ch.url_env and ch.secret_env


def test_scale_tenant_yaml_validates(tmp_path: Path):
    for i, dialect in enumerate(("northwind", "bluepeak", "harbor")):
        tid = f"scale-{i + 4:04d}"
        cfg = load_tenant_file(tenant_yaml.write(tmp_path, tid, dialect))
        assert cfg.id == tid
        assert cfg.display_name.endswith(f"(scale copy {i + 4:04d})"), cfg.display_name
        for ch in cfg.alerts.channels.values():
            if ch.type == "file":  # file drops land inside the tenant's own export folder
                from tenantlake.alerts.channels import file_folder
                from tenantlake.settings import Home

                folder = file_folder(Home(tmp_path), tid, ch)
                assert f"tenant={tid}" in folder.parts


def test_kpi_targets_and_kpi_alerts_name_catalog_kpis():
    from tenantlake import kpi

    known = set(kpi.kpi_definitions())
    assert "perfect_order_rate" in known
    for tid in DEMO_TENANTS:
        cfg = load_tenant_file(REPO_TENANTS / f"{tid}.yml")
        assert set(cfg.kpi_targets) <= known, (tid, set(cfg.kpi_targets) - known)
        assert {r.kpi for r in cfg.alerts.rules if r.kpi} <= known
