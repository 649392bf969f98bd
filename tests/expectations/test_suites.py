"""Great Expectations suites derived from the contracts (plus tenant extras)."""

from __future__ import annotations

import pandas as pd
import pytest

from tenantlake.contracts import ENTITY_NAMES, gx_expectations
from tenantlake.landing.gate import load_expectations

gxe = load_expectations()


@pytest.mark.parametrize("entity", ENTITY_NAMES)
def test_every_contract_builds_a_suite(entity):
    """The built GX suite checks what the contract says, read from the contract itself."""
    from tenantlake.contracts import CONTRACTS

    suite = gxe.build_suite(entity)
    got = {(e.expectation_type, repr(sorted(e.configuration.kwargs.items())))
           for e in suite.expectations}
    types = {}
    for e in suite.expectations:
        types.setdefault(e.expectation_type, []).append(dict(e.configuration.kwargs))
    c = CONTRACTS[entity]
    not_null = {k["column"] for k in types.get("expect_column_values_to_not_be_null", [])}
    assert not_null == {"tenant_id", *c.required_columns}
    in_set = {k["column"]: set(k["value_set"])
              for k in types.get("expect_column_values_to_be_in_set", [])}
    assert in_set == {col.name: set(col.allowed) for col in c.columns if col.allowed}
    if len(c.key) == 1:
        assert types["expect_column_values_to_be_unique"] == [{"column": c.key[0]}]
    else:
        assert [k["column_list"] for k in types["expect_compound_columns_to_be_unique"]] == [
            list(c.key)]
    # and nothing beyond the contract's own derivation
    assert len(got) == len(suite.expectations) == len(gx_expectations(entity))


def test_run_suite_pass_and_fail():
    good = pd.DataFrame({"tenant_id": ["a", "a"], "partner_id": ["p1", "p2"],
                         "partner_name": ["x", "y"], "region": [None, "EU"]})
    assert gxe.run_suite("partners", good).success
    bad = good.assign(partner_id=["p1", "p1"])
    res = gxe.run_suite("partners", bad)
    assert not res.success
    assert res.failed[0]["type"] == "expect_column_values_to_be_unique"


def test_tenant_extra_expectations():
    df = pd.DataFrame({"tenant_id": ["a"], "partner_id": ["p1"], "region": ["US"]})
    extra = [{"type": "expect_column_values_to_be_in_set",
              "kwargs": {"column": "region", "value_set": ["EU"]}}]
    res = gxe.run_suite("partners", df, extra=extra)
    assert not res.success and res.failed[0]["partial_unexpected_list"] == ["US"]


def test_unknown_expectation_is_a_clear_error():
    with pytest.raises(gxe.ExpectationConfigError, match="unknown type 'expect_magic'"):
        gxe.build_suite("partners", [{"type": "expect_magic", "kwargs": {}}])
    with pytest.raises(gxe.ExpectationConfigError, match="partners expectation #"):
        gxe.build_suite("partners", [{"type": "expect_column_values_to_be_between",
                                      "kwargs": {"colum": "x"}}])
