"""Features as of a cut-off use nothing dated after it: rewriting the future changes nothing.

For every mart: rows whose event date lies after the cut-off get their numbers tripled and a
duplicate with a new key; every *fact* date (contract columns marked ``not_future``: received,
delivered, resolved, go-live...) after the cut-off is pushed further out or blanked. Plans
(promised, expected, planned dates) are left alone: they are known at the cut-off. If any
feature read a future row or a future fact, the frames would differ.
"""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pandas as pd
import pytest

from models_ml import SPECS
from models_ml import framework as fw
from models_ml.synthetic import MARTS
from tenantlake.contracts import CONTRACTS
from tenantlake.settings import Home

CUTOFF = dt.date(2025, 3, 3)
TENANTS = ["acme", "solo"]


def _rewrite_future(path, cutoff: dt.date) -> None:
    con = duckdb.connect(str(path))
    try:
        for mart, entity_name in MARTS.items():
            e = CONTRACTS[entity_name]
            ev = e.column(e.event_date) if e.event_date else None
            if ev is not None and ev.not_future:
                numeric = [c.name for c in e.columns
                           if c.dtype in ("int", "float") and c.name not in e.key]
                cond = f'"{ev.name}"::DATE > $cutoff'
                if numeric:
                    sets = ", ".join(f'"{c}" = "{c}" * 3 + 1' for c in numeric)
                    con.execute(f"UPDATE {mart} SET {sets} WHERE {cond}", {"cutoff": cutoff})
                key_sets = ", ".join(
                    f'"{k}" = "{k}" || \'-future\'' if e.column(k).dtype == "string"
                    else f'"{k}" = "{k}" + 100000' for k in e.key)
                con.execute(f"CREATE TEMP TABLE dup AS SELECT * FROM {mart} WHERE {cond}",
                            {"cutoff": cutoff})
                con.execute(f"UPDATE dup SET {key_sets}")
                con.execute(f"INSERT INTO {mart} SELECT * FROM dup")
                con.execute("DROP TABLE dup")
            for c in e.columns:
                if c.not_future and c.dtype in ("date", "timestamp") and c.name != e.event_date:
                    con.execute(  # half pushed out by 17 days, half not happened yet
                        f'UPDATE {mart} SET "{c.name}" = CASE WHEN hash(rowid) % 2 = 0 '
                        f'THEN "{c.name}" + INTERVAL 17 DAY END '
                        f'WHERE "{c.name}"::DATE > $cutoff', {"cutoff": cutoff})
    finally:
        con.close()


def _features(home: Home, spec) -> pd.DataFrame:
    with fw.warehouse(home) as con:
        df = fw.features_at(spec, con, TENANTS, CUTOFF)
    return df.sort_values(["tenant_id", *spec.unit]).reset_index(drop=True)


@pytest.fixture(scope="module")
def homes(warehouse_file, tmp_path_factory):
    original = Home(tmp_path_factory.mktemp("pit") / "a").ensure()
    shutil.copy(warehouse_file, original.warehouse)
    future = Home(tmp_path_factory.mktemp("pit") / "b").ensure()
    shutil.copy(warehouse_file, future.warehouse)
    _rewrite_future(future.warehouse, CUTOFF)
    return original, future


@pytest.mark.parametrize("model", list(SPECS))
def test_features_ignore_everything_after_the_cutoff(homes, model):
    spec = SPECS[model]
    before, after = (_features(h, spec) for h in homes)
    assert len(before) > 0
    pd.testing.assert_frame_equal(before, after, check_dtype=False)


def test_the_rewrite_really_changed_the_future(homes):
    """Guard against a vacuous test: the same rewrite at a later cut-off shows up."""
    spec = SPECS["churn"]
    later = CUTOFF + dt.timedelta(days=120)
    frames = []
    for h in homes:
        with fw.warehouse(h) as con:
            frames.append(fw.features_at(spec, con, TENANTS, later)
                          .sort_values(["tenant_id", "customer_id"]).reset_index(drop=True))
    assert not frames[0].equals(frames[1])


def test_features_change_when_the_past_changes(homes, tmp_path):
    """And a change to a row dated before the cut-off does move the features."""
    spec = SPECS["stockout"]
    home = Home(tmp_path / "h").ensure()
    shutil.copy(homes[0].warehouse, home.warehouse)
    con = duckdb.connect(str(home.warehouse))
    con.execute("UPDATE fct_order_lines SET quantity_ordered = quantity_ordered * 5 "
                "WHERE order_date <= $c AND order_date > $c - 20", {"c": CUTOFF})
    con.close()
    assert not _features(home, spec).equals(_features(homes[0], spec))


#: Columns that hold a row's *current* state, changed after the row's own date (no date of
#: their own in the contract): a feature may use them only through the dated event that made
#: the change known (a dispute ticket's date, a payment's date), never their value today.
STATE_COLUMNS = {
    "fct_invoices": {"status": "'written_off'", "is_disputed": "NOT coalesce(is_disputed, false)"},
    "fct_orders": {"status": "CASE WHEN status = 'cancelled' THEN 'delivered' "
                             "ELSE 'cancelled' END"},
    "fct_purchase_orders": {"status": "CASE WHEN status = 'cancelled' THEN 'received' "
                                      "ELSE 'cancelled' END"},
    "fct_projects": {"status": "'on_hold'"},
    "fct_milestones": {"status": "'pending'"},
}


@pytest.fixture(scope="module")
def flipped(warehouse_file, tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("pit") / "flip").ensure()
    shutil.copy(warehouse_file, home.warehouse)
    con = duckdb.connect(str(home.warehouse))
    try:
        for mart, cols in STATE_COLUMNS.items():  # every row, past ones included
            sets = ", ".join(f'"{c}" = {expr}' for c, expr in cols.items())
            con.execute(f"UPDATE {mart} SET {sets}")
    finally:
        con.close()
    return home


@pytest.mark.parametrize("model", list(SPECS))
def test_features_ignore_todays_status_and_flags_of_past_rows(homes, flipped, model):
    spec = SPECS[model]
    before, after = _features(homes[0], spec), _features(flipped, spec)
    assert len(before) > 0
    pd.testing.assert_frame_equal(before, after, check_dtype=False)


def test_the_flip_really_changed_statuses_and_flags(homes, flipped):
    """Guard against a vacuous test: the flipped columns differ on rows dated before the
    cut-off, where features look."""
    q = ("SELECT count(*) FROM fct_invoices WHERE invoice_date <= $c AND is_disputed "
         "AND status = 'written_off'")
    counts = []
    for h in (homes[0], flipped):
        con = duckdb.connect(str(h.warehouse), read_only=True)
        counts.append(con.execute(q, {"c": CUTOFF}).fetchone()[0])
        con.close()
    assert counts[0] == 0 and counts[1] > 0
