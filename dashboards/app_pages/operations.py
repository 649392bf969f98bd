"""Operations: what needs a person today — order exceptions, backorders, late purchase orders,
SLA breaches, workflow failures — with filters, a drill-down to the rows, and CSV."""

import pandas as pd
import streamlit as st

from dashboards import branding, data, session, views, widgets

ctx = session.current()
branding.banner(ctx.brand, "Operations")

# kind: (title, what it means, date column for the filter, labels of the columns shown)
LISTS = {
    "order_exceptions": ("Order exceptions", "Orders the ERP flagged with an exception",
                         "order_date"),
    "backorders": ("Backorders", "Orders waiting for stock", "order_date"),
    "late_pos": ("Late purchase orders", "PO lines received after (or still open past) their "
                 "expected date, as of the newest date in the data", "expected_date"),
    "sla_breaches": ("SLA breaches", "Tickets resolved after (or still open past) their SLA due "
                     "time, as of the newest date in the data", "created_at"),
    "workflow_failures": ("Workflow failures", "Automation runs that failed or raised an "
                          "exception", "started_at"),
}
LABELS = {
    "order_id": "Order", "customer_id": "Customer", "customer_id_name": "Customer name",
    "order_date": "Order date", "status": "Status", "channel": "Channel",
    "order_amount": "Amount", "currency": "Currency", "manual_touches": "Manual touches",
    "due_date": "Due date", "location_id": "Location", "location_id_name": "Location name",
    "lines_quantity_ordered": "Qty ordered", "lines_quantity_shipped": "Qty shipped",
    "po_id": "PO", "line_number": "Line", "supplier_id": "Supplier",
    "supplier_id_name": "Supplier name", "sku": "SKU", "sku_name": "Product",
    "expected_date": "Expected", "received_date": "Received", "quantity_ordered": "Qty ordered",
    "quantity_received": "Qty received", "days_late": "Days late", "ticket_id": "Ticket",
    "created_at": "Created", "sla_due_at": "SLA due", "resolved_at": "Resolved",
    "priority": "Priority", "category": "Category", "project_id": "Project",
    "project_id_name": "Project name", "hours_over_sla": "Hours over SLA", "run_id": "Run",
    "workflow_name": "Workflow", "started_at": "Started", "finished_at": "Finished",
    "exception_type": "Exception",
}
lists = {kind: data.ops_list(ctx.scope, ctx.tenant_id, kind) for kind in LISTS}

cols = st.columns(len(LISTS))
for col, (kind, (title, _, _)) in zip(cols, LISTS.items(), strict=True):
    df = lists[kind]
    col.metric(title, views.NOT_AVAILABLE if df is None else f"{len(df):,}",
               help=LISTS[kind][1])

available = [k for k, df in lists.items() if df is not None]
if not available:
    st.info(f"Operations lists are not available yet for {ctx.tenant.display_name}: the "
            "pipeline publishes them (orders, purchase orders, tickets, workflow runs) on its "
            "next run.", icon=":material/hourglass_empty:")
    st.stop()

kind = st.segmented_control("List", available, default=available[0], key="tl_ops_list",
                            format_func=lambda k: LISTS[k][0]) or available[0]
title, meaning, date_col = LISTS[kind]
df = data.with_names(ctx.scope, ctx.tenant_id, lists[kind])
st.caption(meaning)
if df.empty:
    st.success(f"No {title.lower()} for {ctx.tenant.display_name}.",
               icon=":material/check_circle:")
    st.stop()

# ----------------------------------------------------------------------------- filters
f1, f2, f3 = st.columns([2, 2, 3])
dates = pd.to_datetime(df[date_col], errors="coerce") if date_col in df.columns else None
if dates is not None and dates.notna().any():
    lo, hi = dates.min().date(), dates.max().date()
    picked = f1.date_input("Between", value=(lo, hi), min_value=lo, max_value=hi,
                           key=f"ops-dates-{kind}")
    if isinstance(picked, tuple) and len(picked) == 2:
        keep = dates.dt.date.between(picked[0], picked[1])
        df = df[keep.fillna(False).to_numpy()]
facet = next((c for c in ("status", "workflow_name", "priority", "supplier_id", "channel")
              if c in df.columns and df[c].notna().any()), None)
if facet:
    options = sorted(df[facet].dropna().astype(str).unique())
    chosen = f2.multiselect(LABELS.get(facet, facet), options, key=f"ops-facet-{kind}")
    if chosen:
        df = df[df[facet].astype(str).isin(chosen)]
search = f3.text_input("Search", key=f"ops-search-{kind}",
                       placeholder="an order, customer, SKU, workflow ...")
if search:
    text = df.astype(str).apply(lambda c: c.str.contains(search, case=False, regex=False))
    df = df[text.any(axis=1)]
st.caption(f"{len(df):,} rows")

# ----------------------------------------------------------------------------- rows + drill-down
event = widgets.table(df, key=f"ops-{kind}", tenant_id=ctx.tenant_id, what=kind,
                      labels=LABELS, selectable=True, height=380)
rows = event.selection.rows if event is not None else []
if rows:
    row = df.iloc[rows[0]]
    with st.container(border=True):
        st.markdown(f"**{title}: {LABELS.get(df.columns[0], df.columns[0])} "
                    f"{row.iloc[0]}**")
        detail = pd.DataFrame({"Field": [LABELS.get(c, c) for c in df.columns],
                               "Value": [("" if pd.isna(v) else str(v)) for v in row]})
        widgets.table(detail, key=f"ops-detail-{kind}", tenant_id=ctx.tenant_id,
                      what=f"{kind}_{row.iloc[0]}")
else:
    st.caption("Select a row to see every field of it.")
