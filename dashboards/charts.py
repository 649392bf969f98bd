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
    fig.update_layout(template=template, title=title, height=220,
                      yaxis={"autorange": "reversed"})
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
    if "tenant" in df.columns and df["tenant"].nunique() > 1:
        x = partners + " · " + df["tenant"].astype(str)
    colours = list(template.layout.colorway or [])
    order = {p: i for i, p in enumerate(sorted(partners.unique()))}
    fig = go.Figure(go.Bar(
        x=x, y=df[column],
        marker_color=[colours[order[p] % len(colours)] for p in partners] if colours else None))
    fig.update_layout(template=template, title=label, height=300,
                      yaxis={"tickformat": ".0%"} if percent else {})
    return fig


def freshness_heatmap(df: pd.DataFrame, template: go.layout.Template) -> go.Figure:
    """Hours since the last landing, tenant x entity (blank where nothing landed)."""
    pivot = df.pivot_table(index="tenant_id", columns="entity", values="age_hours",
                           aggfunc="max")
    fig = go.Figure(go.Heatmap(z=pivot.values, x=list(pivot.columns), y=list(pivot.index),
                               colorscale=[[0, GOOD], [0.5, "#e0a100"], [1, BAD]],
                               colorbar={"title": "hours"},
                               hovertemplate="%{y} · %{x}<br>%{z:.1f} h<extra></extra>"))
    fig.update_layout(template=template, title="Hours since last landing",
                      height=120 + 40 * len(pivot.index))
    return fig
