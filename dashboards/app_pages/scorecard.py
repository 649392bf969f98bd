"""Scorecard: the tenant's KPIs against target and the prior period, with sparklines."""

import streamlit as st

from dashboards import branding, charts, data, exports, session, views, widgets

ctx = session.current()
branding.banner(ctx.brand, "KPI scorecard")

grains = data.kpi_grains(ctx.scope, ctx.tenant_id)
if not grains:
    st.info(f"KPIs for {ctx.tenant.display_name} are not available yet: the pipeline has not "
            "published the scorecard for this tenant. They appear here after its next run.",
            icon=":material/hourglass_empty:")
    st.stop()

left, right = st.columns([3, 1])
grain = right.segmented_control("Period", grains, default=grains[0], key="tl_grain",
                                format_func=lambda g: {"day": "Daily", "week": "Weekly",
                                                       "month": "Monthly"}.get(g, g))
grain = grain or grains[0]
kpis = data.kpi_values(ctx.scope, ctx.tenant_id, grain)
days = kpis if grain == "day" else data.kpi_values(ctx.scope, ctx.tenant_id, "day")
# The headline is the latest complete period; the running one is shown "to date" on each card.
head, to_date = views.headline(kpis, days, grain)
cards = views.kpi_cards(kpis, data.kpi_definitions(ctx.scope, ctx.tenant_id),
                        ctx.tenant.kpi_targets, ctx.tenant.reporting_currency,
                        headline_period=head, to_date=to_date, grain=grain)
period = max((c.period_start for c in cards if c.period_start is not None), default=None)
left.caption(f"{grain.title()} starting {period}"
             f"{' (latest complete ' + grain + ')' if head is not None else ''}"
             f" · compared with the prior {grain} · "
             f"{sum(c.available for c in cards)} of {len(cards)} KPIs available")

PER_ROW = 4
# A short scorecard is one grid; a long one (the full catalog) is grouped by domain.
groups = views.by_domain(cards) if len(cards) > 2 * PER_ROW else {"KPIs": cards}
for domain, group in groups.items():
    if len(groups) > 1:
        st.subheader(domain)
    for i in range(0, len(group), PER_ROW):
        cols = st.columns(PER_ROW)
        for col, card in zip(cols, group[i:i + PER_ROW]):
            state = "ok" if card.available else "na"
            with col.container(border=True, key=f"tl-{state}-{card.kpi_name}"):
                # Streamlit's own sparkline (drawn in the browser): a card costs no figure.
                trend = card.history["value"].tail(12).dropna().tolist() if card.available \
                    else None
                st.metric(card.label, card.value_text, delta=card.delta_text,
                          delta_color=card.delta_color, help=card.description or None,
                          chart_data=trend if trend and len(trend) > 1 else None,
                          chart_type="line")
                if card.to_date_text:
                    st.caption(card.to_date_text)
                status = card.target_status
                if status:
                    icon = ":green[●]" if status == "on target" else ":red[●]"
                    st.caption(f"{icon} {status} · target {card.target_text}")
                elif card.available:
                    st.caption("no target set")
                elif card.missing_inputs:
                    st.caption(f"needs data this tenant does not send: {card.missing_inputs}")
                else:
                    st.caption("this tenant's data does not cover it yet")

st.subheader("All KPIs")
table = views.scorecard_table(cards)
widgets.table(table, key="scorecard", tenant_id=ctx.tenant_id, what=f"scorecard_{grain}_{period}")


def _scorecard(fmt: str) -> bytes:
    fig = exports.scorecard_figure(ctx.brand.name, ctx.tenant.display_name,
                                   f"{grain.title()} starting {period}", ctx.brand.primary, table)
    return exports.scorecard_file(fig, fmt)


e1, e2, _ = st.columns([1, 1, 4])
for col, fmt, label in ((e1, "pdf", "Scorecard PDF"), (e2, "png", "Scorecard PNG")):
    col.download_button(
        label, data=lambda fmt=fmt: _scorecard(fmt),
        file_name=exports.file_name(ctx.tenant_id, f"scorecard_{grain}_{period}", fmt),
        mime="application/pdf" if fmt == "pdf" else "image/png", key=f"scorecard-{fmt}",
        icon=":material/picture_as_pdf:" if fmt == "pdf" else ":material/image:",
        on_click="ignore", help="One branded page naming the tenant and the period, to forward.")

available = [c for c in cards if c.available]
if available:
    st.subheader("Trend")
    labels = {c.kpi_name: c.label for c in available}
    pick = st.selectbox("KPI", list(labels), format_func=labels.get)
    card = next(c for c in available if c.kpi_name == pick)
    st.plotly_chart(charts.kpi_trend(card.history, card.label, ctx.template, card.target,
                                     percent=views.is_percent(card.unit)),
                    key="trend", config={"displaylogo": False})
