"""A corpus of bad (and awkward) inputs, each with its precise landing outcome.

Every test builds its files in a temp drop folder, lands them and asserts: what landed, what was
quarantined with which rule/field/reason, or which error names tenant/file/row/field — and always
``rows_in == rows_landed + rows_quarantined``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from landing_helpers import D1, ORDER_LINES, TODAY, check, csv_source, invariant, lines_csv, make_tenant, \
    quarantine, raw_rows

from tenantlake.contracts import arrow_schema
from tenantlake.landing import DropFolderMissingError, LandingConfigError, land_tenant


def land(home, tenant, **kw):
    kw.setdefault("run_gx", False)
    report = land_tenant(tenant, home, **kw)
    invariant(report)
    return report


def ol(report):
    return report.entities["order_lines"]


def rules(home, entity="order_lines"):
    return [(q["_rule"], q["_field"]) for q in quarantine(home, entity)]


# ----------------------------------------------------------------- file shape problems


def test_truncated_file_quarantines_the_cut_row(tl_home, drop):
    text = lines_csv(5)
    (drop / "a.csv").write_text(text + "O9,1,SKU1,3")  # cut mid-row, no newline
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert (rep.rows_in, rep.rows_landed, rep.rows_quarantined) == (6, 5, 1)
    q = quarantine(tl_home)[0]
    assert q["_rule"] == "malformed_row"
    assert q["_source_row"] == 7 and "expected 6 fields, got 4" in q["_reason"]


def test_wrong_delimiter_is_a_missing_required_column_error(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(4, sep=";"))
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert rep.rows_landed == 0 and rep.rows_quarantined == 4
    assert {r for r, _ in rules(tl_home)} == {"missing_required_column"}
    c = check(rep, "required_columns")
    assert not c.passed and c.blocking and not rep.gate.passed
    assert "a.csv" in c.description and "order_id" in c.description
    assert "';'-delimited" in quarantine(tl_home)[0]["_reason"]


def test_mixed_encodings_quarantine_only_the_bad_row(tl_home, drop):
    good = lines_csv(3).encode()
    bad = f"O7,1,M\xfcller,1,2.0,{D1}\n".encode("latin-1")
    (drop / "a.csv").write_bytes(good + bad)
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert (rep.rows_landed, rep.rows_quarantined) == (3, 1)
    q = quarantine(tl_home)[0]
    assert (q["_rule"], q["_field"], q["_source_row"]) == ("invalid_encoding", "sku", 4)
    assert "not valid utf-8" in q["_reason"]


def test_latin1_file_with_declared_encoding_lands(tl_home, drop):
    (drop / "a.csv").write_bytes(
        f"order_id,line,sku,qty,price,order_date\nO1,1,Gr\xf6\xdfe,1,2,{D1}\n".encode("latin-1"))
    tenant = make_tenant({"erp": csv_source(csv={"encoding": "latin-1"})})
    assert ol(land(tl_home, tenant)).rows_landed == 1
    assert duckdb.sql(f"SELECT sku FROM read_parquet('{tl_home.lake}/raw/order_lines/**/*.parquet')"
                      ).fetchone()[0] == "Größe"


def test_header_only_file_lands_nothing_and_is_not_an_error(tl_home, drop):
    (drop / "a.csv").write_text("order_id,line,sku,qty,price,order_date\n")
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert (rep.rows_in, rep.units_seen) == (0, 1) and rep.gate.passed
    assert raw_rows(tl_home) == 0


def test_zero_byte_file_is_refused_naming_the_fix(tl_home, drop):
    """An export that failed half-way is 0 bytes: never 'landed with 0 rows' in silence."""
    (drop / "a.csv").write_bytes(b"")
    report = land(tl_home, make_tenant({"erp": csv_source()}))
    assert ol(report).rows_in == 0 and not ol(report).gate.passed
    assert len(report.errors) == 1
    assert "'acme'" in report.errors[0] and "a.csv is empty (0 bytes)" in report.errors[0]
    assert "re-export" in report.errors[0]


def test_bom_is_not_part_of_the_first_column_name(tl_home, drop):
    (drop / "a.csv").write_bytes(b"\xef\xbb\xbf" + lines_csv(3).encode())
    assert ol(land(tl_home, make_tenant({"erp": csv_source()}))).rows_landed == 3


def test_quoted_delimiters_and_newlines_survive(tl_home, drop):
    (drop / "a.csv").write_text(
        'order_id,line,sku,qty,price,order_date\n"O1",1,"SKU, ""big""\nsecond line",1,2,'
        f"{D1}\nO2,1,S,1,2,{D1}\n")
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert rep.rows_landed == 2
    sku = duckdb.sql(f"SELECT sku FROM read_parquet('{tl_home.lake}/raw/order_lines/**/*.parquet')"
                     " WHERE order_id='O1'").fetchone()[0]
    assert sku == 'SKU, "big"\nsecond line'


def test_decimal_comma_thousands_dot_semicolon(tl_home, drop):
    (drop / "a.csv").write_text(
        "order_id;line;sku;qty;price;order_date\n"
        "O1;1;S;1.234,5;2,75;24.11.2025\nO2;1;S;3;1.000.000,25;01.01.2026\n")
    src = csv_source(csv={"delimiter": ";"}, decimal_separator=",", thousands_separator=".",
                     date_format="%d.%m.%Y")
    rep = ol(land(tl_home, make_tenant({"erp": src})))
    assert rep.rows_landed + rep.rows_quarantined == 2
    got = duckdb.sql(f"SELECT quantity_ordered, unit_price, order_date FROM read_parquet("
                     f"'{tl_home.lake}/raw/order_lines/**/*.parquet') ORDER BY order_id").fetchall()
    assert got[1] == (3.0, 1000000.25, dt.date(2026, 1, 1))
    # a fixed past date: the outcome never depends on the calendar
    assert got[0] == (1234.5, 2.75, dt.date(2025, 11, 24))


# ----------------------------------------------------------------- row-level rules


@pytest.mark.parametrize("policy, landed_rows, quarantined", [
    # key O1: row 2, row 4 (other values), row 5 (an exact copy of row 2)
    ("reject_conflicts", [1, 3], [(2, "conflicting_duplicate_key"),
                                  (4, "conflicting_duplicate_key")]),
    ("first", [1, 2, 3], [(4, "duplicate_key")]),
    ("last", [1, 3, 5], [(4, "duplicate_key")]),
])
def test_conflicting_duplicate_keys_follow_the_declared_policy(tl_home, drop, policy,
                                                               landed_rows, quarantined):
    (drop / "a.csv").write_text(lines_csv(3) + f"O1,1,OTHER,9,9,{D1}\n"
                                + lines_csv(3).splitlines()[2] + "\n")  # + exact copy of row 2
    ents = {"order_lines": {**ORDER_LINES, "duplicates": policy}}
    rep = ol(land(tl_home, make_tenant({"erp": csv_source(entities=ents)})))
    assert (rep.rows_in, rep.rows_duplicate_dropped) == (5, 1)
    assert (rep.rows_landed, rep.rows_quarantined) == (len(landed_rows), len(quarantined))
    got = duckdb.sql(f"SELECT _source_row FROM read_parquet('{tl_home.lake}/raw/order_lines/"
                     "**/*.parquet') ORDER BY 1").fetchall()
    assert [r for (r,) in got] == landed_rows
    qs = quarantine(tl_home)
    assert [(q["_source_row"], q["_rule"]) for q in qs] == quarantined
    assert all("order_id=O1, line_number=1" in q["_reason"] for q in qs)
    assert all(q["sku"] in ("SKU1", "OTHER") for q in qs)
    assert all(f"duplicates: {policy}" in q["_reason"] for q in qs)


def test_duplicate_keys_across_chunks(tl_home, drop, monkeypatch):
    from tenantlake.landing.sources import files
    monkeypatch.setattr(files, "CSV_BLOCK_BYTES", 1 << 10)  # many small frames
    (drop / "a.csv").write_text(lines_csv(200) + lines_csv(200).split("\n", 1)[1])
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    # exact copies: counted and dropped, not quarantined
    assert (rep.rows_landed, rep.rows_quarantined, rep.rows_duplicate_dropped) == (200, 0, 200)
    assert raw_rows(tl_home) == 200


def test_negative_quantity(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(2) + f"O9,1,S,-4,1,{D1}\n")
    land(tl_home, make_tenant({"erp": csv_source()}))
    q = quarantine(tl_home)[0]
    assert (q["_rule"], q["_field"], q["_source_row"]) == ("min_value", "quantity_ordered", 3)
    assert "-4" in q["_reason"]


def test_future_dates_beyond_one_day_of_skew(tl_home, drop):
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    far = (TODAY + dt.timedelta(days=5)).isoformat()
    (drop / "a.csv").write_text(lines_csv(1) + f"O8,1,S,1,1,{tomorrow}\nO9,1,S,1,1,{far}\n")
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert (rep.rows_landed, rep.rows_quarantined) == (2, 1)
    assert rules(tl_home) == [("not_future", "order_date")]


def test_unparseable_date_names_the_value(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(1) + "O9,1,S,1,1,31/02/2026\n")
    land(tl_home, make_tenant({"erp": csv_source()}))
    q = quarantine(tl_home)[0]
    assert (q["_rule"], q["_field"]) == ("type", "order_date")
    assert "'31/02/2026'" in q["_reason"] and q["order_date"] == "31/02/2026"


def test_wrong_types_name_value_and_field(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(1) + f"O9,one,S,1,1,{D1}\nO10,1,S,lots,1,{D1}\n")
    land(tl_home, make_tenant({"erp": csv_source()}))
    qs = quarantine(tl_home)
    assert [(q["_rule"], q["_field"]) for q in qs] == [("type", "line_number"),
                                                       ("type", "quantity_ordered")]
    assert "'lots' as float" in qs[1]["_reason"]


def test_null_required_field(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(1) + f"O9,1,,1,1,{D1}\n")
    land(tl_home, make_tenant({"erp": csv_source()}))
    assert rules(tl_home) == [("required", "sku")]


def test_huge_field(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(1) + f"O9,1,{'x' * 20_000},1,1,{D1}\n")
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert rep.rows_quarantined == 1 and rules(tl_home) == [("field_too_long", "sku")]


def test_missing_required_column_is_a_clear_error(tl_home, drop):
    (drop / "a.csv").write_text(f"order_id,line,qty,price,order_date\nO1,1,1,1,{D1}\n")
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert (rep.rows_landed, rep.rows_quarantined) == (0, 1)
    q = quarantine(tl_home)[0]
    assert (q["_rule"], q["_field"]) == ("missing_required_column", "sku")
    assert "sku: required column missing in a.csv" in q["_reason"]
    first = check(rep, "required_columns")
    assert not first.passed
    # recorded blocked: the next run does not re-read it, and fails with the same words
    again = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert again.units_skipped == 1 and not again.gate.passed
    assert check(again, "required_columns").description == first.description


def test_unmapped_status_code(tl_home, drop):
    (drop / "o.csv").write_text(f"no,cust,dt,st\nA1,C1,{D1},O\nA2,C1,{D1},ZZ\n")
    orders = {"columns": {"order_id": "no", "customer_id": "cust", "order_date": "dt",
                          "status": "st"},
              "value_maps": {"status": {"O": "open", "S": "shipped"}}}
    rep = land(tl_home, make_tenant({"erp": csv_source("o.csv", {"orders": orders})}))
    assert rep.entities["orders"].rows_landed == 1
    q = quarantine(tl_home, "orders")[0]
    assert (q["_rule"], q["_field"]) == ("unmapped_code", "status")
    assert "'ZZ'" in q["_reason"]


def test_row_rule_delivered_before_ship(tl_home, drop):
    (drop / "s.csv").write_text(f"id,o,ship,deliv\nS1,O1,{D1},{D1}\nS2,O1,{D1},2020-01-01\n")
    ent = {"shipments": {"columns": {"shipment_id": "id", "order_id": "o", "ship_date": "ship",
                                     "delivered_date": "deliv"}}}
    rep = land(tl_home, make_tenant({"erp": csv_source("s.csv", ent)}))
    assert rep.entities["shipments"].rows_landed == 1
    assert rules(tl_home, "shipments") == [("delivered_date_not_before_ship_date",
                                            "delivered_date")]


# ----------------------------------------------------------------- schema drift, optional cols


def test_extra_columns_are_drift_kept_in_sidecar(tl_home, drop):
    (drop / "a.csv").write_text(f"order_id,line,sku,qty,price,order_date,colour\n"
                                f"O1,1,S,1,1,{D1},red\n")
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert rep.rows_landed == 1 and rep.drift_columns == ["colour"] and rep.gate.passed
    c = check(rep, "schema_drift")
    assert not c.passed and not c.blocking
    side = str(tl_home.lake / "raw" / "order_lines__drift" / "**" / "*.parquet")
    assert duckdb.sql("SELECT colour, _source_row FROM read_parquet(?)", params=[side]
                      ).fetchall() == [("red", 1)]


def test_mapped_column_absent_from_the_file_blocks_it_unless_absent_ok(tl_home, drop):
    """A mapped column missing from a file means the export changed: never silent nulls."""
    (drop / "a.csv").write_text(lines_csv(2))
    cols = {**ORDER_LINES["columns"], "is_promo": "Promo Flag"}
    rep = ol(land(tl_home, make_tenant({"erp": csv_source(entities={
        "order_lines": {"columns": cols}})})))
    assert (rep.rows_landed, rep.rows_quarantined) == (0, 2) and not rep.gate.passed
    q = quarantine(tl_home)[0]
    assert (q["_rule"], q["_field"]) == ("missing_required_column", "is_promo")
    assert "'Promo Flag' not found" in q["_reason"] and "absent_ok" in q["_reason"]


def test_absent_optional_columns_are_typed_nulls_with_exact_schema(tl_home, drop):
    """Unmapped optional columns are simply not sent; absent_ok ones land as nulls."""
    (drop / "a.csv").write_text(lines_csv(2))
    ent = {"order_lines": {"columns": {**ORDER_LINES["columns"], "is_promo": "Promo Flag"},
                           "absent_ok": ["is_promo"]}}
    rep = ol(land(tl_home, make_tenant({"erp": csv_source(entities=ent)})))
    assert rep.missing_optional_columns == ["is_promo"] and rep.gate.passed
    f = next((tl_home.lake / "raw" / "order_lines").rglob("*.parquet"))
    assert pq.read_schema(f).remove_metadata() == arrow_schema("order_lines")
    t = pq.read_table(f)
    assert t.column("is_promo").null_count == 2 and t.column("tenant_id")[0].as_py() == "acme"


# ----------------------------------------------------------------- formats


def test_gzip_csv(tl_home, drop):
    (drop / "a.csv.gz").write_bytes(gzip.compress(lines_csv(4).encode()))
    rep = ol(land(tl_home, make_tenant({"erp": csv_source("*.csv.gz")})))
    assert rep.rows_landed == 4


def test_xlsx(tl_home, drop):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["order_id", "line", "sku", "qty", "price", "order_date"])
    ws.append(["O1", 1, "S", 2.0, 3.5, dt.datetime.combine(TODAY, dt.time())])
    ws.append([None, None, None, None, None, None])
    ws.append(["O2", 1, "S", "x", 3.5, TODAY - dt.timedelta(days=1)])
    wb.save(drop / "a.xlsx")
    rep = ol(land(tl_home, make_tenant({"erp": csv_source("a.xlsx", format="xlsx")})))
    assert (rep.rows_landed, rep.rows_quarantined) == (1, 1)
    assert rules(tl_home) == [("type", "quantity_ordered")]


def test_jsonl_with_broken_line(tl_home, drop):
    recs = [{"order_id": "O1", "line": 1, "sku": "S", "qty": 2, "price": 1.5,
             "order_date": D1, "meta": {"a": 1}}] * 1
    text = json.dumps(recs[0]) + "\n" + '{"order_id": "O2", "line": 1, "sku"\n' + json.dumps(
        {**recs[0], "order_id": "O3"}) + "\n"
    (drop / "a.jsonl").write_text(text)
    rep = ol(land(tl_home, make_tenant({"erp": csv_source("*.jsonl", format="jsonl")})))
    assert (rep.rows_landed, rep.rows_quarantined) == (2, 1)
    q = quarantine(tl_home)[0]
    assert (q["_rule"], q["_source_row"]) == ("malformed_row", 2)
    assert "invalid JSON" in q["_reason"]


def test_json_array(tl_home, drop):
    recs = [{"order_id": f"O{i}", "line": 1, "sku": "S", "qty": 1, "price": 1,
             "order_date": D1} for i in range(3)]
    (drop / "a.json").write_text(json.dumps(recs, indent=1))
    rep = ol(land(tl_home, make_tenant({"erp": csv_source("*.json", format="json")})))
    assert rep.rows_landed == 3


def test_parquet_with_wrong_types(tl_home, drop):
    pq.write_table(pa.table({
        "order_id": ["O1", "O2", "O3"], "line": [1, 2, 3], "sku": ["S", "S", "S"],
        "qty": ["1", "x", "2.5"], "price": [1.5, 2.0, 3.0],
        "order_date": pa.array([TODAY, TODAY, None], pa.date32())}), drop / "a.parquet")
    rep = ol(land(tl_home, make_tenant({"erp": csv_source("*.parquet", format="parquet")})))
    assert (rep.rows_landed, rep.rows_quarantined) == (2, 1)
    assert rules(tl_home) == [("type", "quantity_ordered")]


# ----------------------------------------------------------------- folders, symlinks


def test_tenant_folder_that_does_not_exist(tl_home):
    with pytest.raises(DropFolderMissingError, match=r"tenant 'acme'.*drops/acme does not exist"):
        land_tenant(make_tenant({"erp": csv_source()}), tl_home)


def test_symlink_outside_drop_folder_is_refused(tl_home, drop, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text(lines_csv(3))
    os.symlink(outside, drop / "evil.csv")
    (drop / "ok.csv").write_text(lines_csv(2, start=10))
    report = land(tl_home, make_tenant({"erp": csv_source()}))
    assert ol(report).rows_landed == 2
    assert len(report.errors) == 1 and "evil.csv" in report.errors[0]
    assert "outside the drop folder" in report.errors[0] and "'acme'" in report.errors[0]
    assert not check(ol(report), "readable_units").passed and not report.passed


def test_glob_escaping_the_drop_folder_is_refused_by_the_configuration(tl_home, drop):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"contains '\.\.'.*rule: confinement"):
        make_tenant({"erp": csv_source("../*.csv")})


def test_glob_matching_a_symlinked_folder_outside_is_refused(tl_home, drop, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.csv").write_text(lines_csv(2))
    os.symlink(outside, drop / "sub")
    report = land(tl_home, make_tenant({"erp": csv_source("sub/*.csv")}))
    assert ol(report).rows_landed == 0 and "outside the drop folder" in report.errors[0]


def test_unreadable_file_lands_nothing_from_it(tl_home, drop):
    (drop / "a.csv.gz").write_bytes(gzip.compress(lines_csv(50).encode())[:-30])
    report = land(tl_home, make_tenant({"erp": csv_source("*.gz")}))
    assert ol(report).rows_in == 0 and raw_rows(tl_home) == 0
    assert "cannot read a.csv.gz" in report.errors[0]


# ----------------------------------------------------------------- idempotence


def test_same_file_twice_is_a_noop(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(5))
    tenant = make_tenant({"erp": csv_source()})
    land(tl_home, tenant)
    rep = ol(land(tl_home, tenant))
    assert (rep.units_seen, rep.units_skipped, rep.rows_in) == (1, 1, 0)
    assert raw_rows(tl_home) == 5


def test_changed_file_replaces_previous_batch(tl_home, drop):
    tenant = make_tenant({"erp": csv_source()})
    (drop / "a.csv").write_text(lines_csv(5))
    land(tl_home, tenant)
    (drop / "a.csv").write_text(lines_csv(7))
    rep = ol(land(tl_home, tenant))
    assert rep.rows_landed == 7 and raw_rows(tl_home) == 7
    assert len(list((tl_home.lake / "raw" / "order_lines").rglob("*.parquet"))) == 1


def test_crash_after_rename_on_another_day_does_not_duplicate(tl_home, drop):
    tenant = make_tenant({"erp": csv_source()})
    (drop / "a.csv").write_text(lines_csv(5))
    land(tl_home, tenant)
    # simulate: yesterday's run renamed its file but died before the ledger row
    f = next((tl_home.lake / "raw" / "order_lines").rglob("*.parquet"))
    old = f.parent.parent / "date=2000-01-01"
    old.mkdir()
    os.replace(f, old / f.name)
    from tenantlake import store
    with store.engine(tl_home.store_url).begin() as c:
        c.execute(store.landing_ledger.delete())
    land(tl_home, tenant)
    assert raw_rows(tl_home) == 5


# ----------------------------------------------------------------- mapping language


def test_expressions_constants_where_and_timezones(tl_home, drop):
    (drop / "t.csv").write_text(
        "Ticket No,opened,closed,prio,type,Score\n"
        "T1,24.03.2024 10:00,24.03.2024 12:30,P1,T,4\n"
        "T2,24.03.2024 10:00,24.03.2024 09:00,P2,T,5\n"
        "X1,24.03.2024 10:00,,P1,H,3\n")
    ent = {"tickets": {
        "columns": {"ticket_id": "Ticket No", "created_at": "opened", "resolved_at": "closed"},
        "constants": {"channel": "email"},
        "expressions": {"priority": 'if_else(prio == "P1", "urgent", "normal")',
                        "csat": 'to_float(col("Score")) / 1'},
        "where": 'type == "T"'}}
    src = csv_source("t.csv", ent, timestamp_format="%d.%m.%Y %H:%M", timezone="Europe/Berlin")
    rep = land(tl_home, make_tenant({"sup": src}, quality={"freshness_hours": {"default": 1e6},
                                                          "max_bad_share": 1.0}))
    t = rep.entities["tickets"]
    assert (t.rows_in, t.rows_filtered, t.rows_landed) == (2, 1, 1)
    assert rules(tl_home, "tickets") == [("resolved_at_not_before_created_at", "resolved_at")]
    row = duckdb.sql(f"SELECT created_at, priority, channel, csat FROM read_parquet("
                     f"'{tl_home.lake}/raw/tickets/**/*.parquet')").fetchone()
    assert row == (dt.datetime(2024, 3, 24, 9, 0), "urgent", "email", 4.0)


@pytest.mark.parametrize("expr", ["__import__('os').system('x')", "qty.real", "[x for x in y]",
                                  "lambda: 1", "open('f')", "qty +"])
def test_bad_expression_is_a_config_error(tl_home, drop, expr):
    ent = {"order_lines": {**{"columns": dict(
        __import__("landing_helpers").ORDER_LINES["columns"])}, "expressions": {"net_amount": expr}}}
    with pytest.raises(LandingConfigError, match=r"tenant 'acme', source 'erp', entity "
                                                 r"'order_lines', column 'net_amount'"):
        land_tenant(make_tenant({"erp": csv_source(entities=ent)}), tl_home)


def test_one_export_feeds_two_entities(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(4) + f"O0,2,S,1,1,{D1}\n")
    ents = {"order_lines": __import__("landing_helpers").ORDER_LINES,
            "orders": {"columns": {"order_id": "order_id", "order_date": "order_date"},
                       "constants": {"customer_id": "C-unknown"}, "where": "line == 1"}}
    report = land(tl_home, make_tenant({"erp": csv_source(entities=ents)}))
    assert report.entities["order_lines"].rows_landed == 5
    assert report.entities["orders"].rows_landed == 4
    assert report.entities["orders"].rows_filtered == 1


def test_entity_not_sent_is_reported_not_an_error(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(1))
    report = land(tl_home, make_tenant({"erp": csv_source()}), entities=["order_lines", "tickets"])
    assert report.entities["tickets"].sent is False and report.entities["tickets"].rows_in == 0
    assert report.passed


# ----------------------------------------------------------------- gate


def test_bad_share_blocks(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(5) + f"O9,1,S,-1,1,{D1}\n")
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()}, quality={"max_bad_share": 0.05})))
    assert not check(rep, "bad_share").passed and not rep.gate.passed


def test_row_count_collapse_blocks(tl_home, drop):
    tenant = make_tenant({"erp": csv_source()})
    (drop / "a.csv").write_text(lines_csv(100))
    land(tl_home, tenant)
    (drop / "b.csv").write_text(lines_csv(3, start=500))
    rep = ol(land(tl_home, tenant))
    c = check(rep, "row_count")
    assert not c.passed and "b.csv (3 rows)" in c.description


def test_stale_data_blocks_where_a_freshness_sla_is_set(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(3, date="2020-01-01"))
    sla = {"freshness_hours": {"order_lines": 48}}
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()}, quality=sla)))
    c = check(rep, "freshness")
    assert not c.passed and c.blocking and "2020-01-01" in c.description
    assert not rep.gate.passed


def test_old_data_without_a_freshness_sla_lands_and_reports_its_age(tl_home, drop):
    """A historical export (a new tenant's backfill) is not an error by itself."""
    (drop / "a.csv").write_text(lines_csv(3, date="2020-01-01"))
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    c = check(rep, "freshness")
    assert c.passed and not c.blocking and "no freshness SLA" in c.description
    assert rep.gate.passed and rep.rows_landed == 3


def test_gx_suite_runs_on_landed_batch_and_tenant_extras_block(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(30))
    extra = {"order_lines": [{"type": "expect_column_values_to_be_between",
                              "kwargs": {"column": "quantity_ordered", "max_value": 3}}]}
    tenant = make_tenant({"erp": csv_source()}, quality={"extra_expectations": extra})
    rep = ol(land_tenant(tenant, tl_home, gx_sample_rows=10))
    c = check(rep, "great_expectations")
    assert not c.passed and c.blocking and c.metadata["sampled_batches"] == 1
    assert c.metadata["failures"][0]["kwargs"]["column"] == "quantity_ordered"


def test_gx_passes_on_clean_batch(tl_home, drop):
    (drop / "a.csv").write_text(lines_csv(30))
    rep = ol(land_tenant(make_tenant({"erp": csv_source()}), tl_home))
    assert check(rep, "great_expectations").passed and rep.gate.passed


def test_polars_frames_from_other_sources_land(tl_home, drop, monkeypatch):
    """API/SQL sources yield typed frames through the same SourceUnit interface."""
    from tenantlake.landing.sources.base import SourceUnit
    import tenantlake.landing.core as core

    landed = []

    def fake_units(name, source, tenant, home):
        frame = pl.DataFrame({"order_id": ["A"], "line": [1], "sku": ["S"], "qty": [2.0],
                              "price": [1.0], "order_date": [TODAY]})
        yield SourceUnit("GET https://x/orders?page=1", "h1", lambda: iter([(1, frame)]),
                         on_landed=lambda: landed.append(1))

    monkeypatch.setattr(core, "iter_units", fake_units)
    rep = ol(land(tl_home, make_tenant({"erp": csv_source()})))
    assert rep.rows_landed == 1 and landed == [1]


def test_tab_delimited_headerless_with_skip_rows(tl_home, drop):
    (drop / "a.tsv").write_text(f"EXPORT 2026\nO1\t1\tS\t2\t1.5\t{D1}\nO2\t1\tS\t3\t1.5\t{D1}\n")
    ent = {"order_lines": {"columns": {"order_id": "f0", "line_number": "f1", "sku": "f2",
                                       "quantity_ordered": "f3", "order_date": "f5"}}}
    src = csv_source("*.tsv", ent, csv={"delimiter": "\\t", "header": False, "skip_rows": 1})
    rep = ol(land(tl_home, make_tenant({"erp": src})))
    assert rep.rows_landed == 2 and rep.drift_columns == ["f4"]


def test_column_names_match_ignoring_case_and_blanks(tl_home, drop):
    (drop / "a.csv").write_text(f" ORDER_ID ,Line,SKU,Qty,Price,Order_Date\nO1,1,S,1,1,{D1}\n")
    assert ol(land(tl_home, make_tenant({"erp": csv_source()}))).rows_landed == 1
