"""Data health for one tenant: freshness per entity, last landings, gate results, blocked
batches, and quarantined rows with their reasons."""

import streamlit as st

from dashboards import branding, charts, data, session, views, widgets

ctx = session.current()
branding.banner(ctx.brand, "Data health")
cfg = ctx.tenant

fresh = data.freshness(ctx.scope, ctx.tenant_id)
ledger = views.ledger_with_gate(data.store_table(ctx.scope, ctx.tenant_id, "landing_ledger"))
quarantine = data.quarantine_counts(ctx.scope, ctx.tenant_id)

if not fresh.empty:
    fresh["limit_hours"] = [cfg.quality.freshness_limit(e) for e in fresh["entity"]]
    fresh["status"] = [views.freshness_status(a, lim)
                       for a, lim in zip(fresh["age_hours"], fresh["limit_hours"], strict=True)]
# Blocked: the landing gate held the batch back (lake/held); it stays blocked until a corrected
# file lands or an operator releases it (tenantlake land release, audited).
open_blocked = ledger[ledger["status"] == "blocked"] if "status" in ledger.columns else ledger[:0]

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
if ledger.empty:
    st.caption("No landings recorded in the operational store yet.")
elif open_blocked.empty:
    st.success("No blocked batches.", icon=":material/check_circle:")
else:
    st.warning(f"{len(open_blocked)} batch(es) blocked: this tenant's downstream models wait "
             "until a corrected file lands or an operator releases the batch "
             "(`tenantlake land release`).", icon=":material/block:")
    widgets.table(open_blocked[[c for c in views.BLOCKED_COLUMNS if c in open_blocked.columns]],
                  key="dh-blocked", tenant_id=ctx.tenant_id, what="blocked_batches",
                  labels=views.STORE_LABELS,
                  column_config={"Reason": st.column_config.TextColumn("Reason",
                                                                       width="large")})

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
