"""The landing engine reads every demo dialect without a single quarantined row."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from tenantlake.demo import generate
from tenantlake.tenants import load_tenants


def test_demo_exports_land_cleanly(tl_home):
    from tenantlake import landing

    tdir = tl_home.root / "tenants"
    # a fixed end date: the test never depends on the day it runs
    generate(tl_home.root, tenants_dir=tdir, seed=5, end_date=dt.date(2026, 6, 30),
             customers=60, skus=25, days=120)
    # the demo YAMLs' freshness SLA is a live-feed setting judged against the clock: without it
    # the check is about reading the dialects, whatever day the test runs
    for f in sorted(tdir.glob("*.yml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        doc.get("quality", {}).pop("freshness_hours", None)
        f.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for tid, cfg in load_tenants(tdir).items():
        report = landing.land_tenant(cfg, tl_home, run_gx=False)
        for entity in cfg.entities:
            er = report.entities[entity]
            assert not er.errors, (tid, entity, er.errors)
            assert er.rows_quarantined == 0, (tid, entity)
            assert er.rows_landed > 0 or entity in ("payments", "opportunities"), (tid, entity)
            assert er.missing_optional_columns == [], (tid, entity)
        # one line export feeds two entities: shipments are line 1 of each shipped order
        if tid == "northwind-distribution":
            assert report.entities["shipments"].rows_filtered > 0
