"""Duplicate keys across frames: found after the stream, moved from raw to quarantine.

The first pass only marks duplicates within a frame; keys of other frames are spilled to disk
and compared once the unit was read (bounded memory), then the later rows are taken out of the
raw temp file (and the drift sidecar) and quarantined with their *source* values.
"""

from __future__ import annotations

import tempfile

import duckdb
from landing_helpers import D1, ORDER_LINES, csv_source, invariant, lines_csv, make_tenant, quarantine, \
    raw_rows

from tenantlake.landing import land_tenant
from tenantlake.landing.sources import files
from tenantlake.landing.transform import KeyTracker


def test_duplicate_in_a_later_frame_is_quarantined_with_its_source_values(
        tl_home, drop, monkeypatch, tmp_path):
    monkeypatch.setattr(files, "CSV_BLOCK_BYTES", 1 << 10)  # many small frames
    monkeypatch.setattr(KeyTracker, "FLUSH_BYTES", 16)  # spill every frame's keys to disk
    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    body = lines_csv(60).replace("order_date\n", "order_date,note\n", 1)
    body = "\n".join(line + ("" if i == 0 else f",n{i}")
                     for i, line in enumerate(body.strip().split("\n"))) + "\n"
    body += f"O7,1,LATE,3,2.5,{D1},dup\n"  # same key as row 8 (order O7, line 1)
    (drop / "a.csv").write_text(body)

    ents = {"order_lines": {**ORDER_LINES, "duplicates": "first"}}
    report = land_tenant(make_tenant({"erp": csv_source(entities=ents)}), tl_home, run_gx=False)
    invariant(report)

    rep = report.entities["order_lines"]
    assert (rep.rows_in, rep.rows_landed, rep.rows_quarantined) == (61, 60, 1)
    assert raw_rows(tl_home) == 60
    (q,) = quarantine(tl_home)
    assert (q["_rule"], q["_source_row"], q["sku"], q["note"]) == ("duplicate_key", 61, "LATE",
                                                                  "dup")
    assert "order_id=O7, line_number=1" in q["_reason"]
    drift = duckdb.sql(f"SELECT count(*), max(_source_row) FROM read_parquet("
                       f"'{tl_home.lake}/raw/order_lines__drift/**/*.parquet')").fetchone()
    assert drift == (60, 60)
    assert not list(tl_home.lake.rglob("*.part"))
    assert not list(spill.iterdir())  # the key spill is removed with the batch


def test_where_filtered_rows_keep_their_numbering_for_late_duplicates(tl_home, drop,
                                                                      monkeypatch):
    monkeypatch.setattr(files, "CSV_BLOCK_BYTES", 1 << 10)
    (drop / "a.csv").write_text(lines_csv(50) + lines_csv(50).split("\n", 1)[1])
    ents = {"orders": {"columns": {"order_id": "order_id", "order_date": "order_date"},
                       "constants": {"customer_id": "C"}, "where": "qty != 1"}}

    report = land_tenant(make_tenant({"erp": csv_source(entities=ents)}), tl_home, run_gx=False)
    invariant(report)

    rep = report.entities["orders"]
    # the second half repeats the first: exact copies, dropped and counted
    assert (rep.rows_filtered, rep.rows_landed, rep.rows_quarantined,
            rep.rows_duplicate_dropped) == (20, 40, 0, 40)
    assert raw_rows(tl_home, "orders") == 40


def test_conflicts_across_frames_are_all_rejected_by_default(tl_home, drop, monkeypatch):
    monkeypatch.setattr(files, "CSV_BLOCK_BYTES", 1 << 10)
    monkeypatch.setattr(KeyTracker, "FLUSH_BYTES", 16)
    second = lines_csv(50).split("\n", 1)[1].replace(",9.5,", ",7.5,")  # same keys, new price
    (drop / "a.csv").write_text(lines_csv(50) + second + lines_csv(50).split("\n", 1)[1])
    report = land_tenant(make_tenant({"erp": csv_source()}), tl_home, run_gx=False)
    invariant(report)
    rep = report.entities["order_lines"]
    assert (rep.rows_in, rep.rows_landed, rep.rows_quarantined,
            rep.rows_duplicate_dropped) == (150, 0, 100, 50)
    qs = quarantine(tl_home)
    assert {q["_rule"] for q in qs} == {"conflicting_duplicate_key"}
    assert sorted(q["_source_row"] for q in qs) == list(range(1, 101))
