"""views.py: what a KPI card says (labels, units, "not available" never zero, target status)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from dashboards import views


@pytest.mark.parametrize("value, unit, text", [
    (None, "percent", "not available"), (math.nan, "days", "not available"),
    (pd.NA, "", "not available"), (0.0, "percent", "0.0%"), (0.934, "percent", "93.4%"),
    (3.0, "days", "3.0 days"), (12345.0, "", "12,345"), (4.25, "", "4.25"), (7.0, "", "7"),
])
def test_fmt(value, unit, text):
    assert views.fmt(value, unit) == text


def test_pretty_and_units():
    assert views.pretty("dso_days") == "DSO days"
    assert views.pretty("fill_rate") == "Fill rate"
    assert views.infer_unit("fill_rate") == "percent"
    assert views.infer_unit("order_cycle_time_days") == "days"


def _kpis(rows):
    return pd.DataFrame(rows, columns=["tenant_id", "grain", "period_start", "kpi_name",
                                       "numerator", "denominator", "value", "is_available",
                                       "target", "prior_value", "change"])


def test_cards_target_from_yaml_and_status():
    d1, d2 = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
    kpis = _kpis([
        ("a", "month", d1, "backorder_rate", 1, 10, 0.10, True, None, None, None),
        ("a", "month", d2, "backorder_rate", 1, 20, 0.05, True, None, 0.10, -0.05),
        ("a", "month", d1, "csat", None, None, None, False, 4.5, None, None),
        ("a", "month", d2, "csat", None, None, None, False, 4.5, None, None),
    ])
    cards = {c.kpi_name: c for c in views.kpi_cards(kpis, pd.DataFrame(),
                                                    {"backorder_rate": 0.04})}
    b = cards["backorder_rate"]
    assert b.value_text == "5.0%" and b.delta_text == "-5.0 pts" and not b.higher_is_better
    assert b.target == 0.04 and b.target_status == "above target"
    c = cards["csat"]
    assert c.value_text == "not available" and c.delta_text is None and c.target_status == ""
    assert [x.kpi_name for x in views.kpi_cards(kpis, pd.DataFrame())][0] == "backorder_rate"


def test_stale_kpi_is_not_shown_as_current():
    """A KPI whose latest row is older than the scorecard's period is not available now."""
    kpis = _kpis([
        ("a", "month", dt.date(2026, 9, 1), "win_rate", 1, 2, 0.5, True, None, None, None),
        ("a", "month", dt.date(2026, 10, 1), "fill_rate", 9, 10, 0.9, True, None, None, None),
    ])
    cards = {c.kpi_name: c for c in views.kpi_cards(kpis, pd.DataFrame())}
    assert cards["win_rate"].value_text == "not available"
    assert cards["fill_rate"].value_text == "90.0%"


def test_reasons_joins_non_empty():
    df = pd.DataFrame({"reason_1": ["a", "x"], "reason_2": [None, "y"], "reason_3": ["c", None]})
    assert views.reasons(df).tolist() == ["a · c", "x · y"]


def test_card_explains_missing_inputs_and_uses_currency_and_direction():
    d = dt.date(2026, 10, 1)
    kpis = _kpis([
        ("a", "month", d, "revenue", 1, None, 125000.0, True, None, None, None),
        ("a", "month", d, "csat", None, None, None, False, None, None, None),
        ("a", "month", d, "inventory_turns", 1, 1, 6.2, True, 6.0, None, None),
    ]).assign(missing_inputs=[None, "tickets.csat_score", None])
    defs = pd.DataFrame([
        {"kpi_name": "revenue", "label": "Revenue", "unit": "currency", "higher_is_better": True,
         "description": "", "domain": "orders", "source": "catalog"},
        {"kpi_name": "inventory_turns", "label": "Inventory turns", "unit": "turns per year",
         "higher_is_better": None, "description": "", "domain": "inventory",
         "source": "catalog"},
        {"kpi_name": "win_rate", "label": "Win rate", "unit": "ratio", "higher_is_better": True,
         "description": "", "domain": "crm", "source": "catalog"},
    ])
    cards = {c.kpi_name: c for c in views.kpi_cards(kpis, defs, {}, "EUR")}
    assert "win_rate" not in cards  # catalog labels only; it lists no KPI of its own
    assert cards["revenue"].value_text == "125,000 EUR" and cards["revenue"].domain == "Orders"
    assert cards["csat"].missing_inputs == "tickets.csat_score"
    turns = cards["inventory_turns"]
    assert turns.higher_is_better is None and turns.delta_color == "off"
    assert turns.target_status == "on target"
    assert list(views.by_domain(list(cards.values())))[-1] == "KPIs"  # only csat, unavailable
