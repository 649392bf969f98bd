"""Platform: every tenant in scope, landing freshness, quarantined rows and published data."""

import pandas as pd
import streamlit as st

from dashboards import branding, charts, data, session, views, widgets

ctx = session.current()
branding.apply(branding.PLATFORM_BRAND)  # operator view: platform colours, not the tenant's
branding.banner(branding.PLATFORM_BRAND, "Platform health")
template = branding.plotly_template(branding.PLATFORM_BRAND)

ids = sorted(ctx.tenants)
fresh = data.freshness_many(ctx.scope, ids)
quarantine = data.quarantine_counts_many(ctx.scope, ids)
published = data.published_marts_many(ctx.scope, ids)


if not fresh.empty:
    fresh["limit_hours"] = [ctx.tenants[t].quality.freshness_limit(e)
                            for t, e in zip(fresh["tenant_id"], fresh["entity"])]
    fresh["status"] = [views.freshness_status(a, lim)
                       for a, lim in zip(fresh["age_hours"], fresh["limit_hours"], strict=True)]
    fresh["tenant"] = fresh["tenant_id"].map(lambda t: ctx.tenants[t].display_name)

rows = []
for t in ids:
    cfg = ctx.tenants[t]
    f = fresh[fresh["tenant_id"] == t] if not fresh.empty else fresh
    q = quarantine[quarantine["tenant_id"] == t] if not quarantine.empty else quarantine
    rows.append({
        "Tenant": cfg.display_name, "id": t, "Partner": cfg.partner.name,
        "Industry": cfg.industry, "Entities configured": len(cfg.entities),
        "Entities landed": int(f["entity"].nunique()) if not f.empty else 0,
        "Stale entities": int((f["status"] == "stale").sum()) if not f.empty else 0,
        "Last landing": f["last_ingested_at"].max() if not f.empty else None,
        "Quarantined rows": int(q["rows"].sum()) if not q.empty else 0,
        "Published datasets": int((published["tenant_id"] == t).sum())
        if not published.empty else 0,
    })
overview = pd.DataFrame(rows)

c1, c2, c3, c4 = st.columns(4)
c1.metric("Tenants", len(ids))
c2.metric("Entities landed", int(overview["Entities landed"].sum()))
c3.metric("Stale entities", int(overview["Stale entities"].sum()))
c4.metric("Quarantined rows", f"{int(overview['Quarantined rows'].sum()):,}")

st.subheader("Tenants")
widgets.table(overview, key="pf-overview", tenant_id="all-tenants", what="tenants",
              column_config={"Last landing": st.column_config.DatetimeColumn(
                  "Last landing", format="YYYY-MM-DD HH:mm z")})

st.subheader("Landing freshness")
if fresh.empty:
    st.info("Nothing has landed yet for any tenant: run `tenantlake land` or `make demo`.",
            icon=":material/hourglass_empty:")
else:
    st.plotly_chart(charts.freshness_heatmap(fresh, template), key="freshness",
                    config=charts.CONFIG)
    widgets.table(views.freshness_table(fresh), key="pf-fresh", tenant_id="all-tenants",
                  what="freshness")

st.subheader("Quarantine")
if quarantine.empty:
    st.success("No quarantined rows for any tenant.", icon=":material/check_circle:")
else:
    per_entity = (quarantine.groupby(["tenant_id", "entity"], as_index=False)["rows"].sum()
                  .sort_values("rows", ascending=False))
    widgets.table(per_entity, key="pf-q", tenant_id="all-tenants", what="quarantine",
                  labels={"tenant_id": "Tenant", "entity": "Entity", "rows": "Quarantined rows"})
    with st.expander("By rule"):
        widgets.table(quarantine, key="pf-q-rule", tenant_id="all-tenants",
                      what="quarantine_by_rule",
                      labels={"tenant_id": "Tenant", "entity": "Entity", "rule": "Rule",
                              "rows": "Rows", "example_reason": "Example reason"},
                      column_config={"Example reason": st.column_config.TextColumn(
                          "Example reason", width="large")})

st.subheader("Published data")
if published.empty:
    st.info("No serving marts or predictions published yet.", icon=":material/hourglass_empty:")
else:
    widgets.table(published, key="pf-pub", tenant_id="all-tenants", what="published",
                  labels={"tenant_id": "Tenant", "dataset": "Dataset", "kind": "Kind",
                          "published_at": "Published"})

st.subheader("Alert delivery")
from tenantlake.alerts.access import delivery_table  # noqa: E402

delivery = delivery_table([t for t in ids if ctx.scope.allows(t)])
if delivery.empty:
    st.info("No alerts built yet for any tenant.", icon=":material/notifications_off:")
else:
    st.dataframe(delivery, hide_index=True, width="stretch")
