"""Tenant branding: name, logo and colours from ``TenantConfig.branding``.

Streamlit's theme is fixed per server, so a tenant's colours are applied per session with a
small CSS block (colours are validated hex by :class:`tenantlake.tenants.Branding`, names are
HTML-escaped) and a Plotly template that :mod:`dashboards.charts` uses for every figure.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from tenantlake.tenants import HEX_COLOUR_RE, TenantConfig, tenants_dir

NEUTRAL = "#5b6770"
GOOD = "#1a7f37"
BAD = "#c62828"
PLATFORM = "#1f4e79"


@dataclass(frozen=True)
class Brand:
    name: str
    primary: str
    secondary: str
    logo: Path | None = None

    @property
    def colorway(self) -> list[str]:
        return [self.primary, self.secondary, "#6c8ebf", "#9aa5b1", "#b85450", "#82b366"]


PLATFORM_BRAND = Brand("tenantlake", PLATFORM, "#f2a900")


def _colour(value: str, default: str) -> str:
    return value if HEX_COLOUR_RE.fullmatch(value or "") else default


def _logo_path(cfg: TenantConfig) -> Path | None:
    """The logo file if it exists inside the tenants folder (a YAML can't point elsewhere)."""
    if not cfg.branding.logo:
        return None
    base = tenants_dir()
    p = (base / cfg.branding.logo).resolve()
    if base not in p.parents or not p.is_file() or p.suffix.lower() not in (".png", ".svg",
                                                                            ".jpg", ".jpeg"):
        return None
    return p


def brand_for(cfg: TenantConfig | None) -> Brand:
    if cfg is None:
        return PLATFORM_BRAND
    b = cfg.branding
    return Brand(name=b.name or cfg.display_name,
                 primary=_colour(b.primary_color, PLATFORM),
                 secondary=_colour(b.secondary_color, "#f2a900"),
                 logo=_logo_path(cfg))


def plotly_template(brand: Brand) -> go.layout.Template:
    t = go.layout.Template(pio.templates["plotly_white"])
    t.layout.colorway = brand.colorway
    # System fonts only: a page never asks the browser to fetch a web font.
    t.layout.font = {"family": "system-ui, Segoe UI, Helvetica, Arial, sans-serif", "size": 13,
                     "color": "#1f2933"}
    t.layout.margin = {"l": 10, "r": 10, "t": 40, "b": 10}
    t.layout.title = {"font": {"size": 15, "color": brand.primary}, "x": 0}
    t.layout.hoverlabel = {"bgcolor": "white"}
    return t


_CSS = """
<style>
:root {{ --tl-primary: {primary}; --tl-secondary: {secondary}; }}
[data-testid="stHeader"] {{ border-top: 4px solid {primary}; }}
[data-testid="stSidebar"] {{ border-right: 3px solid {primary}1a; }}
h1, h2, h3 {{ color: {primary}; }}
div[data-testid="stMetric"] {{
  border-left: 4px solid {primary}; border-radius: 6px;
  padding: 0.5rem 0.75rem; background: {primary}08;
}}
.tl-banner {{
  display: flex; align-items: center; gap: 0.75rem;
  padding: 0.6rem 1rem; margin-bottom: 0.75rem; border-radius: 8px;
  background: linear-gradient(90deg, {primary}, {primary}cc); color: white;
}}
.tl-banner .tl-name {{ font-size: 1.25rem; font-weight: 700; }}
.tl-banner .tl-sub {{ opacity: 0.85; font-size: 0.9rem; }}
.tl-banner .tl-dot {{ width: 0.9rem; height: 0.9rem; border-radius: 50%;
  background: {secondary}; }}
[data-testid="stMetricValue"] > div {{ white-space: normal; overflow: visible; }}
/* Card labels wrap onto a second line instead of being cut off with "...". */
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {{
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}}
[data-testid="stMetricLabel"] {{ min-height: 2.4em; }}
/* The grid's own "Download as CSV" has raw values (live formulas): widgets.table offers a safe one.
   */
[data-testid="stElementToolbar"] button[aria-label="Download as CSV"] {{ display: none; }}
[class*="st-key-tl-na-"] [data-testid="stMetricValue"] {{
  font-size: 1.5rem; color: #6b7280; font-style: italic;
}}
[class*="st-key-tl-na-"] div[data-testid="stMetric"] {{ border-left-color: #c4c9d0; }}
</style>
"""


def apply(brand: Brand) -> None:
    """Apply the brand to this session: CSS colours and the sidebar logo."""
    st.html(_CSS.format(primary=brand.primary, secondary=brand.secondary))
    if brand.logo is not None:
        st.logo(str(brand.logo), size="large")


def banner(brand: Brand, subtitle: str = "") -> None:
    """The page's branded title bar: tenant name (escaped) and a subtitle."""
    sub = f'<span class="tl-sub">{html.escape(subtitle)}</span>' if subtitle else ""
    st.html(f'<div class="tl-banner"><span class="tl-dot"></span>'
            f'<span class="tl-name">{html.escape(brand.name)}</span>{sub}</div>')


DEMO_TEXT = ("DEMO LOGIN: anyone can sign in as any user from the sidebar or a ?user= link. "
             "This home was made by `make demo`; never put real data here.")


def demo_banner() -> None:
    """The red bar every page of a demo home shows (app.py draws it before the page runs)."""
    st.html('<div class="tl-demo" role="alert" style="background:#b71c1c;color:#fff;'
            'font-weight:700;padding:0.45rem 0.9rem;border-radius:6px;margin-bottom:0.5rem">'
            f"{html.escape(DEMO_TEXT)}</div>")
