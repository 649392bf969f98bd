"""Partners: implementation partners compared across the tenants a partner manager looks after."""

import pandas as pd
import streamlit as st

from dashboards import branding, charts, data, session, views, widgets

ctx = session.current()

# (column names the mart may use, label, how to summarise: "rate" | "sum" | "mean")
METRICS = [
    (("projects",), "Projects", "sum"),
    (("on_time_go_live_rate", "go_live_on_time_rate"), "Go-live on time", "rate"),
    (("avg_milestone_slippage_days", "milestone_slippage_days"), "Milestone slippage (days)",
     "mean"),
    (("post_go_live_tickets", "post_go_live_tickets_per_project"), "Post-go-live tickets", "sum"),
    (("at_risk_projects", "projects_at_risk"), "At-risk projects", "sum"),
]
LABELS = {**{c: label for names, label, _ in METRICS for c in names},
          # specific names win over the metric family's label (a mart may carry both)
          "tenant": "Tenant", "partner_id": "Partner", "partner_name": "Partner name",
          "projects_live": "Live projects", "projects_open": "Open projects",
          "at_risk_share": "At-risk share", "avg_go_live_delay_days": "Avg go-live delay (days)",
          "post_go_live_tickets_per_project": "Post-go-live tickets per project",
          "projects_live_on_time": "Live projects on time",
          "slippage_days_total": "Slippage days (total)", "milestones_done": "Milestones done"}

all_tenants = st.toggle("All my tenants", value=len(ctx.tenants) > 1,
                        help="Compare partners across every tenant you can see, or only "
                             f"{ctx.tenant.display_name}.")
tenant_ids = sorted(ctx.tenants) if all_tenants else [ctx.tenant_id]
if all_tenants and len(tenant_ids) > 1:
    # Several tenants in view: no single tenant's name or colours on the banner.
    branding.apply(branding.PLATFORM_BRAND)
    branding.banner(branding.Brand(f"All my tenants ({len(tenant_ids)})",
                                   branding.PLATFORM_BRAND.primary,
                                   branding.PLATFORM_BRAND.secondary),
                    "Implementation partners · " + ", ".join(
                        ctx.tenants[t].display_name for t in tenant_ids))
    template = branding.plotly_template(branding.PLATFORM_BRAND)
else:
    branding.banner(ctx.brand, "Implementation partners")
    template = ctx.template
frames = [data.partner_scorecard(ctx.scope, t) for t in tenant_ids]
frames = [f for f in frames if not f.empty]
if not frames:
    st.info("The partner scorecard is not available yet for "
            + ("your tenants" if all_tenants else ctx.tenant.display_name)
            + ": it needs projects and milestones data and a pipeline run.",
            icon=":material/hourglass_empty:")
    st.stop()
df = pd.concat(frames, ignore_index=True)
if "tenant_id" in df.columns:
    df.insert(0, "tenant", df["tenant_id"].map(lambda t: ctx.tenants[t].display_name))

present = [(next(c for c in names if c in df.columns), label, how)
           for names, label, how in METRICS if any(c in df.columns for c in names)]
if present:
    for col, (name, label, how) in zip(st.columns(len(present)), present, strict=True):
        s = df[name]
        if not s.notna().any():
            col.metric(label, views.NOT_AVAILABLE)
        elif how == "rate" and {"projects_live_on_time", "projects_live"} <= set(df.columns):
            # weighted over the tenants in view: on-time live projects / live projects
            live = df["projects_live"].sum()
            col.metric(label, views.fmt(df["projects_live_on_time"].sum() / live, "percent")
                       if live else views.NOT_AVAILABLE)
        elif how == "mean" and {"slippage_days_total", "milestones_done"} <= set(df.columns):
            done = df["milestones_done"].sum()
            col.metric(label, views.fmt(df["slippage_days_total"].sum() / done)
                       if done else views.NOT_AVAILABLE)
        elif how == "rate":
            col.metric(label, views.fmt(s.mean(), "percent"))
        else:
            col.metric(label, views.fmt(s.sum() if how == "sum" else s.mean()))

charted = [p for p in present if p[0] != "projects"]
chart_cols = st.columns(2)
for i, (name, label, how) in enumerate(charted):
    chart_cols[i % 2].plotly_chart(
        charts.partner_bars(df, name, label, template, percent=how == "rate"),
        key=f"partner-{name}", config=charts.CONFIG)

st.subheader("Scorecard")
config = {**LABELS, **{name: st.column_config.ProgressColumn(
    label, format="percent", min_value=0.0, max_value=1.0)
    for name, label, how in present if how == "rate"}}
shown = df.drop(columns=["tenant_id"], errors="ignore")
widgets.table(shown, key="partners", tenant_id="all-my-tenants" if all_tenants
              else ctx.tenant_id, what="partner_scorecard", labels=LABELS,
              column_config={config_label: c for config_label, c in (
                  (LABELS.get(k, k), v) for k, v in config.items())
                  if not isinstance(c, str)})
