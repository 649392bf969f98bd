"""Scorecard: the tenant's KPIs against target and the prior period, with sparklines."""

import streamlit as st

from dashboards import branding, charts, data, session, views

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
cards = views.kpi_cards(kpis, data.kpi_definitions(ctx.scope, ctx.tenant_id),
                        ctx.tenant.kpi_targets, ctx.tenant.reporting_currency)
period = max((c.period_start for c in cards if c.period_start is not None), default=None)
left.caption(f"{grain.title()} starting {period} · compared with the prior period · "
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
                st.metric(card.label, card.value_text, delta=card.delta_text,
                          delta_color=card.delta_color, help=card.description or None)
                if card.available:
                    st.plotly_chart(
                        charts.sparkline(card.history, ctx.template, ctx.brand.primary,
                                         card.target),
                        config={**charts.CONFIG, "staticPlot": True},
                        key=f"spark-{card.kpi_name}")
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
st.dataframe(views.scorecard_table(cards), hide_index=True, width="stretch")

available = [c for c in cards if c.available]
if available:
    st.subheader("Trend")
    labels = {c.kpi_name: c.label for c in available}
    pick = st.selectbox("KPI", list(labels), format_func=labels.get)
    card = next(c for c in available if c.kpi_name == pick)
    st.plotly_chart(charts.kpi_trend(card.history, card.label, ctx.template, card.target,
                                     percent=views.is_percent(card.unit)),
                    key="trend", config={"displaylogo": False})
