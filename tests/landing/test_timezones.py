"""Local timestamps around daylight-saving transitions land (never quarantined as unparseable).

Europe/Berlin: on 2024-03-31 clocks jump 02:00 CET -> 03:00 CEST (02:30 does not exist: shifted
forward by the gap, i.e. read as 03:30 CEST = 01:30 UTC); on 2024-10-27 they fall back
03:00 CEST -> 02:00 CET (02:30 happens twice: the earliest, CEST, is taken = 00:30 UTC).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest
from landing_helpers import csv_source, invariant, make_tenant

from tenantlake.landing import land_tenant

TICKETS = {"tickets": {"columns": {"ticket_id": "id", "created_at": "opened"},
                       "constants": {"channel": "email"}}}


def _land_tickets(home, drop, opened: list[str], **source_kw) -> list[tuple]:
    body = "id,opened\n" + "".join(f"T{i},{v}\n" for i, v in enumerate(opened))
    (drop / "t.csv").write_text(body)
    tenant = make_tenant({"sup": csv_source("t.csv", TICKETS, timezone="Europe/Berlin",
                                            **source_kw)},
                         quality={"freshness_hours": {"default": 1e9}})
    report = land_tenant(tenant, home, run_gx=False)
    invariant(report)
    assert report.entities["tickets"].rows_quarantined == 0, report.entities["tickets"]
    return duckdb.sql(f"SELECT ticket_id, created_at FROM read_parquet("
                      f"'{home.lake}/raw/tickets/**/*.parquet') ORDER BY ticket_id").fetchall()


@pytest.mark.parametrize("source_kw, values", [
    ({}, ["2024-03-31 01:59:59", "2024-03-31 02:30:00", "2024-03-31T02:00",
          "2024-03-31 03:00:00"]),
    ({"timestamp_format": "%d.%m.%Y %H:%M:%S"},
     ["31.03.2024 01:59:59", "31.03.2024 02:30:00", "31.03.2024 02:00:00",
      "31.03.2024 03:00:00"]),
])
def test_spring_forward_gap_is_shifted_forward_by_the_gap(tl_home, drop, source_kw, values):
    rows = _land_tickets(tl_home, drop, values, **source_kw)

    assert [r[1] for r in rows] == [dt.datetime(2024, 3, 31, 0, 59, 59),   # CET, +01:00
                                    dt.datetime(2024, 3, 31, 1, 30),       # 02:30 -> 03:30 CEST
                                    dt.datetime(2024, 3, 31, 1, 0),        # 02:00 -> 03:00 CEST
                                    dt.datetime(2024, 3, 31, 1, 0)]        # CEST, +02:00


def test_fall_back_overlap_takes_the_earliest_instant(tl_home, drop):
    rows = _land_tickets(tl_home, drop, ["2024-10-27 01:30:00", "2024-10-27 02:30:00",
                                         "2024-10-27 03:30:00"])

    assert [r[1] for r in rows] == [dt.datetime(2024, 10, 26, 23, 30),    # CEST
                                    dt.datetime(2024, 10, 27, 0, 30),      # earliest = CEST
                                    dt.datetime(2024, 10, 27, 2, 30)]      # CET


def test_typed_naive_timestamps_in_the_gap_land_too(tl_home, drop):
    pl.DataFrame({"id": ["T0", "T1"],
                  "opened": [dt.datetime(2024, 3, 31, 2, 30), dt.datetime(2024, 10, 27, 2, 30)]}
                 ).write_parquet(drop / "t.parquet")
    tenant = make_tenant({"sup": csv_source("t.parquet", TICKETS, format="parquet",
                                            timezone="Europe/Berlin")},
                         quality={"freshness_hours": {"default": 1e9}})
    report = land_tenant(tenant, tl_home, run_gx=False)
    invariant(report)

    rows = duckdb.sql(f"SELECT created_at FROM read_parquet('{tl_home.lake}/raw/tickets/**/"
                      f"*.parquet') ORDER BY ticket_id").fetchall()
    assert rows == [(dt.datetime(2024, 3, 31, 1, 30),), (dt.datetime(2024, 10, 27, 0, 30),)]
