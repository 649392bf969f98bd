"""Every demo tenant's dialect lands into the identical canonical Parquet schema."""

from __future__ import annotations

from collections import defaultdict

import pyarrow.parquet as pq
import pytest

from tenantlake.contracts import arrow_schema
from tenantlake.tenants import load_tenants


@pytest.mark.slow
def test_demo_dialects_land_into_identical_canonical_schemas(tl_home):
    from tenantlake.demo import generate
    from tenantlake.landing import land_tenant

    generate(tl_home.root, seed=11, scale=0.05)
    tenants = load_tenants()
    assert len(tenants) >= 3
    schemas: dict[str, dict[str, object]] = defaultdict(dict)
    for tid, tenant in tenants.items():
        report = land_tenant(tenant, tl_home)
        for entity, er in report.entities.items():
            if not er.sent:
                continue
            assert er.rows_in == (er.rows_landed + er.rows_held + er.rows_quarantined
                                  + er.rows_duplicate_dropped), (tid, entity)
            assert er.gate.passed, (tid, entity, [c.description for c in er.gate.failed])
            assert er.rows_landed > 0, f"{tid}/{entity}: nothing landed"
        for f in (tl_home.lake / "raw").glob(f"*/tenant={tid}/date=*/*.parquet"):
            entity = f.parts[-4]
            schemas[entity][tid] = pq.read_schema(f).remove_metadata()
    # the three dialects (;-CSV latin-1, JSON lines, Parquet) all converge on one schema
    multi = {e: s for e, s in schemas.items() if len(s) >= 2}
    assert {"orders", "order_lines", "customers"} <= set(multi)
    for entity, per_tenant in schemas.items():
        expected = arrow_schema(entity)
        for tid, schema in per_tenant.items():
            assert schema.equals(expected), f"{tid}/{entity}: {schema} != {expected}"
