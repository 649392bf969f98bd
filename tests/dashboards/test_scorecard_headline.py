"""The scorecard's headline is the latest complete period; the running one is "to date".

A month with two days of data must never head the scorecard against a full month (issue 10:
"Revenue 56,140 EUR, down 514,448"). The data here ends on 2026-12-02: November is the latest
complete month and December shows as "to date (2 days)" against 1-2 November.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboards import views

END = dt.date(2026, 12, 2)  # frozen: the tenant's last day of data, never today's date


def _rows(grain: str, start: dt.date, value: float) -> dict:
    return dict(tenant_id="alpha", grain=grain, period_start=start, kpi_name="revenue",
                numerator=value, denominator=None, value=value, is_available=True, target=None,
                prior_value=None, change=None, missing_inputs=None)


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    days, months = [], {}
    d = dt.date(2026, 10, 1)
    while d <= END:
        amount = 1000.0 + d.day + 100.0 * d.month  # differs by day and month: checkable sums
        days.append(_rows("day", d, amount))
        months[d.replace(day=1)] = months.get(d.replace(day=1), 0.0) + amount
        d += dt.timedelta(days=1)
    month_rows = [_rows("month", m, v) for m, v in sorted(months.items())]
    for prev, cur in zip(month_rows, month_rows[1:]):
        cur["prior_value"] = prev["value"]
        cur["change"] = cur["value"] - prev["value"]
    return pd.DataFrame(month_rows), pd.DataFrame(days)


def test_headline_is_the_latest_complete_month_and_the_running_one_is_to_date():
    months, days = _frames()
    head, to_date = views.headline(months, days, "month")
    assert head == dt.date(2026, 11, 1)
    cards = views.kpi_cards(months, pd.DataFrame(), {}, "EUR", headline_period=head,
                            to_date=to_date, grain="month")
    (card,) = [c for c in cards if c.kpi_name == "revenue"]
    november = sum(2100.0 + day for day in range(1, 31))
    october = sum(2000.0 + day for day in range(1, 32))
    assert card.period_start == dt.date(2026, 11, 1)
    assert card.value == november
    assert card.change == november - october
    # the sparkline stops at the headline: the two-day month is not drawn as a collapse
    assert card.history["period_start"].max() == dt.date(2026, 11, 1)
    # December to date (2 days) against the same two days of November
    assert "Dec 2026 to date (2 days)" in card.to_date_text
    dec, nov = 2201.0 + 2202.0, 2101.0 + 2102.0
    assert card.to_date_text.endswith(
        f"{views.fmt(dec, card.unit, 'EUR')} · same days of the prior month: "
        f"{views.fmt(nov, card.unit, 'EUR')}"), card.to_date_text


def test_without_day_rows_the_latest_period_heads_as_before():
    months, _ = _frames()
    head, to_date = views.headline(months, pd.DataFrame(), "month")
    assert (head, to_date) == (None, {})
    cards = views.kpi_cards(months, pd.DataFrame(), {}, "EUR")
    (card,) = [c for c in cards if c.kpi_name == "revenue"]
    assert card.period_start == dt.date(2026, 12, 1) and card.to_date_text == ""


def test_a_tenant_whose_data_ends_on_a_month_end_has_no_running_period():
    months, days = _frames()
    days = days[days["period_start"] <= dt.date(2026, 11, 30)]
    months = months[months["period_start"] <= dt.date(2026, 11, 1)]
    head, to_date = views.headline(months, days, "month")
    assert head == dt.date(2026, 11, 1) and to_date == {}
