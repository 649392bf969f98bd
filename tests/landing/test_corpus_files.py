"""Every file of the broken-export corpus (``corpus.py``) lands with exactly its outcome."""

from __future__ import annotations

from collections import Counter

import pytest
from corpus import CASES, COLUMNS, Case
from landing_helpers import invariant, make_tenant, quarantine, raw_rows

from tenantlake.landing import land_tenant


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_file(tl_home, drop, case: Case):
    for name, data in case.build().items():
        (drop / name).write_bytes(data)
    glob = {"csv": "*.csv", "jsonl": "*.jsonl", "json": "*.json", "parquet": "*.parquet",
            "xlsx": "*.xlsx"}[case.fmt]
    mapping = {"columns": COLUMNS, **case.mapping}
    source = {"kind": "file", "path": glob, "format": case.fmt,
              "entities": {"order_lines": mapping}, **case.source}
    report = land_tenant(make_tenant({"erp": source}), tl_home, run_gx=False)
    invariant(report)  # rows in = landed + held + quarantined + exact copies dropped
    rep = report.entities["order_lines"]
    if case.error:
        assert rep.rows_in == 0 and raw_rows(tl_home) == 0 and not report.passed
        assert len(report.errors) == 1, report.errors
        msg = report.errors[0]
        assert "'acme'" in msg and next(iter(case.build())) in msg, msg
        for piece in case.error:
            assert piece in msg, msg
        assert "Traceback" not in msg
        return
    rows_in, landed, quarantined, dropped = case.counts
    held = rep.rows_held
    assert (rep.rows_in, rep.rows_landed + held, rep.rows_quarantined,
            rep.rows_duplicate_dropped) == (rows_in, landed, quarantined, dropped)
    assert rep.gate.passed is case.passes and not report.errors
    assert raw_rows(tl_home) == (landed if case.passes else 0)
    qs = quarantine(tl_home)
    got = Counter((q["_rule"], q["_field"] or "") for q in qs)
    assert got == Counter({(r, f): n for r, f, n, _ in case.quarantine}), got
    for rule, fld, _, piece in case.quarantine:
        reasons = [q["_reason"] for q in qs if q["_rule"] == rule]
        assert all(piece in r for r in reasons), (rule, fld, reasons)
