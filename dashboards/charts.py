"""Plotly figures for the dashboards; every figure takes the tenant's template."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.branding import BAD, GOOD, NEUTRAL

#: st.plotly_chart config for small dashboard figures: no toolbar, no Plotly logo.
CONFIG = {"displayModeBar": False, "displaylogo": False}
BAND_ORDER = ["high", "medium", "low"]
BAND_COLOURS = {"high": BAD, "medium": "#e0a100", "low": GOOD}


def sparkline(df: pd.DataFrame, template: go.layout.Template, colour: str,
              target: float | None = None) -> go.Figure:
    """A tiny trend of one KPI (``period_start``, ``value``); gaps stay gaps, never zeros."""
    fig = go.Figure(go.Scatter(
        x=df["period_start"], y=df["value"], mode="lines+markers", line={"width": 2,
                                                                         "color": colour},
        marker={"size": 4}, connectgaps=False, hovertemplate="%{x}<br>%{y:,.3g}<extra></extra>"))
    if target is not None and pd.notna(target):
        fig.add_hline(y=target, line={"dash": "dot", "color": NEUTRAL, "width": 1})
    fig.update_layout(template=template, height=70, margin={"l": 0, "r": 0, "t": 0, "b": 0},
                      showlegend=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def kpi_trend(df: pd.DataFrame, label: str, template: go.layout.Template,
              target: float | None = None, percent: bool = False) -> go.Figure:
    """One KPI over time with its prior-period value and target."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=df["period_start"], y=df["value"], name=label,
                             mode="lines+markers", connectgaps=False))
    if "prior_value" in df.columns and df["prior_value"].notna().any():
        fig.add_trace(go.Scatter(x=df["period_start"], y=df["prior_value"], name="prior period",
                                 mode="lines", line={"dash": "dash", "width": 1}))
    if target is not None and pd.notna(target):
        fig.add_hline(y=target, line={"dash": "dot", "color": NEUTRAL},
                      annotation_text="target", annotation_position="top left")
    fig.update_layout(template=template, title=label, height=340,
                      legend={"orientation": "h", "y": -0.2},
                      yaxis={"tickformat": ".0%"} if percent else {})
    return fig


def band_counts(df: pd.DataFrame, template: go.layout.Template, title: str) -> go.Figure:
    """How many entities fall in each risk band."""
    counts = (df["risk_band"].astype(str).str.lower().value_counts()
              .reindex(BAND_ORDER).fillna(0).astype(int))
    fig = go.Figure(go.Bar(x=counts.values, y=[b.title() for b in counts.index],
                           orientation="h",
                           marker_color=[BAND_COLOURS.get(b, NEUTRAL) for b in counts.index],
                           text=counts.values, textposition="auto"))
    # Counts are whole numbers: integer ticks only (never 0.5 of a customer).
    fig.update_layout(template=template, title=title, height=220,
                      yaxis={"autorange": "reversed"},
                      xaxis={"tickformat": ",d", "dtick": max(1, _nice_step(counts.max())),
                             "rangemode": "tozero"})
    return fig


def _nice_step(top: int) -> int:
    """An integer tick step (1, 2, 5, 10, 20, ...) giving at most ~6 ticks up to ``top``."""
    step, mults = 1, (2, 2.5, 2)
    k = 0
    while top / step > 6:
        step = int(step * mults[k % 3])
        k += 1
    return step


def risk_history(df: pd.DataFrame, template: go.layout.Template) -> go.Figure:
    """One entity's probability at each scoring date."""
    fig = go.Figure(go.Scatter(x=df["scored_on"], y=df["probability"], mode="lines+markers",
                               hovertemplate="%{x}<br>%{y:.0%}<extra></extra>"))
    fig.update_layout(template=template, title="Probability over time", height=240,
                      yaxis={"range": [0, 1], "tickformat": ".0%"},
                      xaxis={"type": "category"})
    return fig


def probability_histogram(df: pd.DataFrame, template: go.layout.Template) -> go.Figure:
    fig = go.Figure(go.Histogram(x=df["probability"], nbinsx=20, xbins={"start": 0, "end": 1}))
    fig.update_layout(template=template, title="Probability distribution", height=220,
                      xaxis={"range": [0, 1], "tickformat": ".0%"}, bargap=0.05)
    return fig


def partner_bars(df: pd.DataFrame, column: str, label: str,
                 template: go.layout.Template, percent: bool = False) -> go.Figure:
    """One partner metric, one bar per partner (and tenant, when several are shown)."""
    partners = df["partner_id"].astype(str)
    x = partners
    if "partner_name" in df.columns:  # names people know, the code when a name is missing
        x = df["partner_name"].where(df["partner_name"].notna(), partners).astype(str)
    if "tenant" in df.columns and df["tenant"].nunique() > 1:
        x = x + " · " + df["tenant"].astype(str)
    colours = list(template.layout.colorway or [])
    order = {p: i for i, p in enumerate(sorted(partners.unique()))}
    # Horizontal bars: partner names are labels on the y axis, so long names never overlap.
    fig = go.Figure(go.Bar(
        y=x, x=df[column], orientation="h",
        marker_color=[colours[order[p] % len(colours)] for p in partners] if colours else None))
    fig.update_layout(template=template, title=label, height=max(220, 90 + 30 * len(df)),
                      xaxis={"tickformat": ".0%"} if percent else {},
                      yaxis={"automargin": True, "autorange": "reversed"})
    return fig


def freshness_heatmap(df: pd.DataFrame, template: go.layout.Template) -> go.Figure:
    """Hours since the last landing, tenant x entity, coloured by the share of each entity's own
    stale limit (``limit_hours``): green well inside it, amber near it, red past it; grey when
    the tenant sets no limit. The cell text is the age in hours."""
    d = df.copy()
    limit = pd.to_numeric(d.get("limit_hours"), errors="coerce") if "limit_hours" in d else None
    d["ratio"] = d["age_hours"] / limit if limit is not None else float("nan")
    # dropna=False: an entity without a limit keeps its column (grey, with its hours)
    ratio = d.pivot_table(index="tenant_id", columns="entity", values="ratio", aggfunc="max",
                          dropna=False)
    hours = d.pivot_table(index="tenant_id", columns="entity", values="age_hours",
                          aggfunc="max", dropna=False).reindex_like(ratio)
    text = hours.map(lambda v: "" if pd.isna(v) else f"{v:,.1f} h")
    fig = go.Figure(go.Heatmap(
        z=ratio.clip(upper=2).values, x=list(ratio.columns), y=list(ratio.index), zmin=0, zmax=2,
        colorscale=[[0, GOOD], [0.35, GOOD], [0.5, "#e0a100"], [0.51, BAD], [1, BAD]],
        text=text.values, texttemplate="%{text}", customdata=hours.values,
        colorbar={"title": "share of limit", "tickvals": [0, 1, 2],
                  "ticktext": ["0", "limit", "2x"]},
        hovertemplate="%{y} · %{x}<br>%{customdata:.1f} h<extra></extra>"))
    fig.update_layout(template=template, title="Hours since last landing",
                      height=120 + 40 * len(ratio.index),
                      yaxis={"automargin": True}, xaxis={"automargin": True})
    return fig
