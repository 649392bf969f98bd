"""Data health for one tenant: freshness per entity, last landings, gate results, blocked
batches, and quarantined rows with their reasons."""

import streamlit as st

from dashboards import branding, charts, data, session, views, widgets

ctx = session.current()
branding.banner(ctx.brand, "Data health")
cfg = ctx.tenant

fresh = data.freshness(ctx.scope, ctx.tenant_id)
ledger = data.store_table(ctx.scope, ctx.tenant_id, "landing_ledger")
blocked = data.store_table(ctx.scope, ctx.tenant_id, "blocked_batches")
quarantine = data.quarantine_counts(ctx.scope, ctx.tenant_id)

if not fresh.empty:
    fresh["limit_hours"] = [cfg.quality.freshness_limit(e) for e in fresh["entity"]]
    fresh["status"] = [views.freshness_status(a, lim)
                       for a, lim in zip(fresh["age_hours"], fresh["limit_hours"], strict=True)]
open_blocked = blocked
if not blocked.empty:
    for col in ("released_at", "resolved_at", "unblocked_at"):
        if col in blocked.columns:
            open_blocked = blocked[blocked[col].isna()]
            break

c1, c2, c3, c4 = st.columns(4)
c1.metric("Entities landed", f"{fresh['entity'].nunique() if not fresh.empty else 0} of "
          f"{len(cfg.entities)}")
c2.metric("Stale entities", int((fresh["status"] == "stale").sum()) if not fresh.empty else 0)
c3.metric("Blocked batches", len(open_blocked))
c4.metric("Quarantined rows", f"{int(quarantine['rows'].sum()) if not quarantine.empty else 0:,}")

st.subheader("Freshness")
if fresh.empty:
    st.info(f"Nothing has landed yet for {cfg.display_name}: run `tenantlake land` or the "
            "pipeline.", icon=":material/hourglass_empty:")
else:
    st.plotly_chart(charts.freshness_heatmap(fresh, branding.plotly_template(ctx.brand)),
                    key="dh-freshness", config=charts.CONFIG)
    widgets.table(views.freshness_table(fresh), key="dh-fresh", tenant_id=ctx.tenant_id,
                  what="freshness")

st.subheader("Blocked batches")
if blocked.empty and "blocked_batches" not in data.store_tables_present(ctx.scope,
                                                                         ctx.tenant_id):
    st.caption("This installation keeps no gate state yet (blocked batches appear here once "
               "the landing gate records them).")
elif open_blocked.empty:
    st.success("No blocked batches.", icon=":material/check_circle:")
else:
    st.error(f"{len(open_blocked)} batch(es) blocked: downstream models wait until they are "
             "fixed and landed again.", icon=":material/block:")
    widgets.table(open_blocked.drop(columns=["tenant_id"], errors="ignore"), key="dh-blocked",
                  tenant_id=ctx.tenant_id, what="blocked_batches",
                  labels=views.STORE_LABELS)

st.subheader("Last landings and gate results")
if ledger.empty:
    st.caption("No landings recorded in the operational store yet.")
else:
    last = views.last_landings(ledger)
    widgets.table(last, key="dh-ledger", tenant_id=ctx.tenant_id, what="landings",
                  labels=views.STORE_LABELS)

st.subheader("Quarantined rows")
if quarantine.empty:
    st.success("No quarantined rows.", icon=":material/check_circle:")
else:
    widgets.table(quarantine.drop(columns=["tenant_id"]), key="dh-q", tenant_id=ctx.tenant_id,
                  what="quarantine_by_rule",
                  labels={"entity": "Entity", "rule": "Rule", "rows": "Rows",
                          "example_reason": "Example reason"},
                  column_config={"Example reason": st.column_config.TextColumn(
                      "Example reason", width="large")})
    entity = st.selectbox("Rows of", sorted(quarantine["entity"].unique()), key="dh-q-entity")
    rows = data.quarantine_rows(ctx.scope, ctx.tenant_id, entity)
    if not rows.empty:
        front = [c for c in ("_rule", "_reason", "_source_file", "_source_row", "_batch_id")
                 if c in rows.columns]
        rows = rows[front + [c for c in rows.columns if c not in front and c != "tenant_id"]]
        st.caption(f"First {len(rows):,} quarantined {entity} rows, with the reason each was "
                   "held back.")
        widgets.table(rows, key="dh-q-rows", tenant_id=ctx.tenant_id,
                      what=f"quarantine_{entity}",
                      labels={"_rule": "Rule", "_reason": "Reason", "_source_file": "Source file",
                              "_source_row": "Source row", "_batch_id": "Batch"},
                      column_config={"Reason": st.column_config.TextColumn("Reason",
                                                                           width="large")})
