"""Exports (CSV escaping, scorecard PDF/PNG) and the rough edges a test can see without a browser."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from dashboards import branding, charts, exports, views

TEMPLATE = branding.plotly_template(branding.PLATFORM_BRAND)


@pytest.mark.parametrize("cell", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x",
                                  '=HYPERLINK("http://x","y")'])
def test_formula_cells_are_neutralised(cell):
    df = pd.DataFrame({"customer_name": [cell], "amount": [-5.0]})
    text = exports.csv_bytes(df, {"customer_name": "Customer name", "amount": "Amount"})
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Customer name", "Amount"]  # the labels on screen, not raw names
    assert rows[1][0] == "'" + cell  # text, never a live formula
    assert rows[1][1] == "-5.0"  # numbers stay numbers


def test_plain_cells_and_names_untouched():
    df = pd.DataFrame({"x": ["Acme GmbH", None, "a=b"]})
    out = exports.safe_frame(df)
    assert out["x"].tolist()[0] == "Acme GmbH" and out["x"].tolist()[2] == "a=b"
    assert exports.file_name("acme-distribution", "late_pos 2026/10") == \
        "acme-distribution_late_pos-2026-10.csv"


def test_scorecard_pdf_and_png_name_tenant_and_period():
    table = pd.DataFrame([{"KPI": "On-time in-full", "Value": "93.4%", "Target": "95.0%",
                           "Status": "below target", "Prior period": "92.4%",
                           "Change": "+1.0 pts"}])
    fig = exports.scorecard_figure("Alpha Outfitters", "Alpha GmbH", "Month starting 2026-10-01",
                                   "#8a1538", table)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text()
                                                                    for t in fig.texts]
    assert "Alpha Outfitters" in texts
    assert any("Alpha GmbH" in t and "Month starting 2026-10-01" in t for t in texts)
    pdf = exports.scorecard_file(fig, "pdf")
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(
        b"/Type /Page ") + pdf.count(b"/Type/Page\n") <= 1
    png = exports.scorecard_file(fig, "png")
    assert png.startswith(b"\x89PNG")


def test_at_risk_counts_sit_on_whole_numbers():
    df = pd.DataFrame({"risk_band": ["high", "medium", "medium"]})
    fig = charts.band_counts(df, TEMPLATE, "By band")
    assert fig.layout.xaxis.tickformat == ",d" and fig.layout.xaxis.dtick == 1
    many = pd.DataFrame({"risk_band": ["high"] * 40})
    assert charts.band_counts(many, TEMPLATE, "x").layout.xaxis.dtick == 10


def test_partner_labels_are_names_on_a_horizontal_axis():
    df = pd.DataFrame({"partner_id": ["p-1", "p-2"], "partner_name": ["Northbridge Consulting "
                                                                      "GmbH", None],
                       "on_time_go_live_rate": [0.5, 0.7]})
    fig = charts.partner_bars(df, "on_time_go_live_rate", "Go-live on time", TEMPLATE, True)
    bar = fig.data[0]
    assert bar.orientation == "h" and list(bar.y) == ["Northbridge Consulting GmbH", "p-2"]
    assert fig.layout.yaxis.automargin is True


def test_fresh_data_is_green_and_stale_is_red():
    df = pd.DataFrame({"tenant_id": ["a", "a", "a"], "entity": ["orders", "customers", "x"],
                       "age_hours": [0.3, 30.0, 5.0], "limit_hours": [24.0, 24.0, None]})
    fig = charts.freshness_heatmap(df, TEMPLATE)
    z = dict(zip(fig.data[0].x, fig.data[0].z[0], strict=True))
    scale = fig.data[0].colorscale
    green_until = next(pos for pos, colour in scale if colour != branding.GOOD)
    assert z["orders"] / 2 < green_until  # 0.3 h of a 24 h limit: green, not amber
    assert z["customers"] / 2 > 0.5  # past its limit: red end of the scale
    assert pd.isna(z["x"])  # no limit set: no colour claim


def test_stale_after_is_never_none():
    df = pd.DataFrame({"entity": ["orders", "x"], "landing_date": ["2026-10-31"] * 2,
                       "age_hours": [1.0, 2.0], "rows_in_last_partition": [5, 5],
                       "limit_hours": [24.0, None]})
    df["status"] = [views.freshness_status(a, b) for a, b in zip(df["age_hours"],
                                                                 df["limit_hours"],
                                                                 strict=True)]
    out = views.freshness_table(df)
    assert out["Stale after"].tolist() == ["24 h", "no limit set"]
    assert out["Status"].tolist() == ["fresh", "no limit set"]
    assert "None" not in out.astype(str).to_string()


def test_card_labels_wrap_instead_of_being_cut():
    css = branding._CSS.format(primary="#000000", secondary="#ffffff")
    assert 'stMetricLabel' in css and "white-space: normal" in css
    assert "text-overflow: clip" in css
