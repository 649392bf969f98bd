"""Onboarding helpers on small files: dialect sniffing, suggestions, scaffold, validate, preview."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from tenantlake.kpi import scorecard
from tenantlake.onboarding import (
    check_source_columns,
    preview_tenant,
    scaffold_from,
    sniff_file,
    suggest_columns,
    suggest_entity,
)
from tenantlake.tenants import TenantConfig, load_tenant_file


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("delim,dec,datefmt,enc", [
    (";", ",", "%d.%m.%Y", "latin-1"),
    ("\t", ".", "%m/%d/%Y", "utf-8"),
    ("|", ",", "%Y%m%d", "cp1252"),
    (",", ".", None, "utf-8-sig"),
])
def test_sniff_detects_delimiter_decimal_date_and_encoding(tmp_path, delim, dec, datefmt, enc):
    day = dt.date(2024, 3, 1)
    rows = ["Beleg{0}Kunde{0}Datum{0}Betrag{0}Name".format(delim)]
    for i in range(40):
        d = day + dt.timedelta(days=i)
        ds = d.strftime(datefmt) if datefmt else d.isoformat()
        amount = f"{1234 + i}.{i % 100:02d}".replace(".", dec)
        name = "Zoë “quoted”" if enc == "cp1252" else "Müller"
        rows.append(delim.join([f"A{i}", f"K{i % 7}", ds, amount, name]))
    f = _write(tmp_path / "orders.csv", "\n".join(rows) + "\n",
               "utf-8" if enc == "utf-8-sig" else enc)
    if enc == "utf-8-sig":
        f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    d = sniff_file(f)
    assert (d.format, d.delimiter, d.decimal_separator, d.date_format) == (
        "csv", delim, dec, datefmt)
    assert d.encoding == enc
    assert d.columns == ["Beleg", "Kunde", "Datum", "Betrag", "Name"]


def test_month_first_dates_are_told_apart_by_a_day_above_12(tmp_path):
    f = _write(tmp_path / "x.csv", "id,d\n1,03/04/2024\n2,03/25/2024\n")
    assert sniff_file(f).date_format == "%m/%d/%Y"
    f = _write(tmp_path / "y.csv", "id,d\n1,03/04/2024\n2,25/03/2024\n")
    assert sniff_file(f).date_format == "%d/%m/%Y"


def test_suggestions_match_names_and_mark_nothing_they_do_not_know():
    cols = ["O_ORDERKEY", "O_CUSTKEY", "O_ORDERDATE", "O_TOTALPRICE", "O_CLERK"]
    got = {s.canonical: s.source for s in suggest_columns(cols, "orders")}
    assert got == {"order_id": "O_ORDERKEY", "customer_id": "O_CUSTKEY",
                   "order_date": "O_ORDERDATE", "order_amount": "O_TOTALPRICE"}
    assert suggest_entity(Path("lineitem.tbl"), ["L_ORDERKEY", "L_LINENUMBER", "L_PARTKEY",
                                                 "L_QUANTITY"])[0] == "order_lines"
    assert suggest_columns(["foo", "bar"], "orders") == []


def _tenant(tmp_path: Path, text: str) -> TenantConfig:
    f = tmp_path / "tenants" / "t1.yml"
    _write(f, text)
    return load_tenant_file(f)


def test_scaffold_validates_once_required_columns_are_confirmed(tmp_path):
    src = tmp_path / "exports"
    _write(src / "orders_2024_01.csv", "OrderNo;Customer;OrderDate;Total\nA1;K1;05.01.2024;"
           "10,50\nA2;K2;06.01.2024;7,25\n", "latin-1")
    _write(src / "orders_2024_02.csv", "OrderNo;Customer;OrderDate;Total\nA3;K1;05.02.2024;"
           "1,00\n", "latin-1")
    drop = tmp_path / "home" / "drops" / "t1"
    text, notes = scaffold_from("t1", "T One", src, drop)
    doc = yaml.safe_load(text)
    (source,) = doc["sources"].values()  # one file series, one source
    assert source["path"] == "orders_*_*.csv" and source["decimal_separator"] == ","
    assert source["csv"]["delimiter"] == ";" and source["date_format"] == "%d.%m.%Y"
    assert source["entities"]["orders"]["columns"] == {
        "order_id": "OrderNo", "customer_id": "Customer", "order_date": "OrderDate",
        "order_amount": "Total"}
    assert "freshness_hours" not in doc["quality"] and doc["kpi_targets"] == {}
    assert sorted(p.name for p in drop.iterdir()) == ["orders_2024_01.csv", "orders_2024_02.csv"]
    cfg = _tenant(tmp_path, text)
    assert check_source_columns(cfg, tmp_path / "home", "t1.yml") == []


def test_validate_names_a_mapped_column_missing_from_the_file(tmp_path, monkeypatch):
    from tenantlake.cli import app

    home = tmp_path / "home"
    _write(home / "drops" / "t1" / "o.csv", "OrderNo,CustNo,OrderDate\nA1,K1,2024-01-05\n")
    _tenant(tmp_path, """\
id: t1
display_name: T1
partner: {id: p, name: P}
industry: other
reporting_currency: EUR
sources:
  o:
    path: o.csv
    format: csv
    entities:
      orders:
        columns: {order_id: OrderNo, customer_id: CustomerNo, order_date: OrderDate}
        expressions: {order_amount: "Qty * Prce"}
""")
    monkeypatch.setenv("TENANTLAKE_HOME", str(home))
    res = CliRunner().invoke(app, ["tenants", "validate", str(tmp_path / "tenants")])
    assert res.exit_code == 1
    out = " ".join(res.output.split())
    assert "sources.o.entities.orders.columns.customer_id: column 'CustomerNo' is not in o.csv" \
        in out and "did you mean 'CustNo'?" in out
    assert "expressions.order_amount: column 'Prce'" in out
    res = CliRunner().invoke(app, ["tenants", "validate", "--no-check-files",
                                   str(tmp_path / "tenants")])
    assert res.exit_code == 0, res.output


def test_preview_shows_samples_misses_and_what_the_mapping_enables(tmp_path):
    home = tmp_path / "home"
    _write(home / "drops" / "t1" / "o.csv",
           "OrderNo,CustNo,OrderDate,St,Amt\nA1,K1,2024-01-05,S,10\nA2,K2,2024-01-06,Z,5\n")
    cfg = _tenant(tmp_path, """\
id: t1
display_name: T1
partner: {id: p, name: P}
industry: other
reporting_currency: EUR
sources:
  o:
    path: o.csv
    format: csv
    entities:
      orders:
        columns: {order_id: OrderNo, customer_id: CustNo, order_date: OrderDate, status: St,
                  order_amount: Amt}
        value_maps: {status: {S: shipped}}
""")
    pv = preview_tenant(cfg, home)
    (e,) = pv.entities
    assert e.rows_sampled == 2 and e.mapped["order_id"] == ["A1", "A2"]
    assert e.mapped["order_date"] == ["2024-01-05", "2024-01-06"]
    assert e.value_map_misses == {"status": ["Z"]} and e.refused == {"unmapped_code:status": 1}
    assert "channel" in e.empty_contract_columns and e.unmapped_source_columns == []
    assert {"order_count", "revenue", "backorder_rate"} <= set(pv.kpis_available)
    assert pv.kpis_not_available["days_of_cover"].startswith("needs inventory_snapshots")
    assert pv.models["churn"] == "available" and pv.models["stockout"].startswith("needs")


def test_row_number_builds_a_key_for_a_log_without_ids(tmp_path):
    from tenantlake.landing.transform import EntityPlan

    cfg = _tenant(tmp_path, """\
id: t1
display_name: T1
partner: {id: p, name: P}
industry: other
reporting_currency: EUR
sources:
  log:
    path: log.csv
    format: csv
    entities:
      orders:
        columns: {customer_id: Cust, order_date: Day}
        expressions: {order_id: 'concat(file_name(), "#", row_number())'}
        where: 'Kind == "sale"'
""")
    src = cfg.sources["log"]
    # two identical sales: each keeps its own row number, so neither is a duplicate
    frame = pl.DataFrame({"Cust": ["K1", "K1", "K2", "K1"], "Day": ["2024-01-05"] * 4,
                          "Kind": ["sale", "sale", "refund", "sale"]})
    plan = EntityPlan(cfg, "log", src, "orders", src.entities["orders"], dict(frame.schema),
                      "drops/log.csv")
    res = plan.process(frame, 1)
    assert res.bad.height == 0 and res.filtered == 1
    assert res.good.get_column("order_id").to_list() == ["log.csv#1", "log.csv#2", "log.csv#4"]
    assert res.good.get_column("_source_row").to_list() == [1, 2, 4]


def _kpi_rows(days: list[tuple[str, str, float, float | None]], grain: str):
    rows = []
    for day, kpi, num, den in days:
        rows.append({"kpi_name": kpi, "period_start": pd.Timestamp(day), "numerator": num,
                     "denominator": den, "is_available": kpi != "days_of_cover",
                     "target": None, "missing_inputs": None if kpi != "days_of_cover"
                     else "inventory_snapshots.on_hand_qty", "value": None})
    day_df = pd.DataFrame(rows)
    per = day_df.assign(period_start=day_df["period_start"].dt.to_period(
        {"month": "M", "week": "W-SUN"}[grain]).dt.start_time)
    agg = per.groupby(["kpi_name", "period_start"], as_index=False).agg(
        numerator=("numerator", "sum"), denominator=("denominator", "sum"),
        is_available=("is_available", "any"), missing_inputs=("missing_inputs", "first"))
    agg["target"] = None
    agg["value"] = [n / d if k == "fill_rate" else (n if k != "days_of_cover" else None)
                    for k, n, d in zip(agg.kpi_name, agg.numerator, agg.denominator)]
    return agg, day_df


def test_scorecard_headline_is_the_latest_complete_month_and_the_running_one_is_to_date():
    days = []
    for d in pd.date_range("2026-01-01", "2026-03-10"):
        days.append((d.isoformat(), "revenue", 10.0 if d.month != 3 else 30.0, None))
        days.append((d.isoformat(), "fill_rate", 9.0, 10.0))
        days.append((d.isoformat(), "days_of_cover", 0.0, 0.0))
    # deliveries trail the orders: a later day without orders does not move the data's end
    days.append(("2026-04-02", "order_count", 0.0, None))
    days += [(d.isoformat(), "order_count", 1.0, None)
             for d in pd.date_range("2026-01-01", "2026-03-10")]
    per, day = _kpi_rows(days, "month")
    sc = scorecard(per, day, "month").set_index(["kpi_name", "period_status"])
    head = sc.loc[("revenue", "complete")]
    assert str(head.period_start) == "2026-02-01" and head.value == 280.0
    assert head.prior_value == 310.0 and head.change == -30.0
    run = sc.loc[("revenue", "to_date")]
    assert (str(run.period_start), str(run.through), run.days_compared) == (
        "2026-03-01", "2026-03-10", 10)
    assert run.value == 300.0 and run.prior_value == 100.0  # Feb 1-10, the same days
    assert sc.loc[("fill_rate", "to_date")].value == pytest.approx(0.9)
    cover = sc.loc[("days_of_cover", "complete")]
    assert not cover.is_available and pd.isna(cover.value)
    assert cover.missing_inputs == "inventory_snapshots.on_hand_qty"
