"""Risks: every model's latest predictions with names next to codes, full reasons, and a detail
view per entity with its history."""

import pandas as pd
import streamlit as st

from dashboards import branding, charts, data, session, views, widgets

ctx = session.current()
branding.banner(ctx.brand, "Predicted risks")

MODELS = {
    "stockout": ("Stockouts (14 days)", "SKU × location likely to run out in the next 14 days"),
    "churn": ("Customer churn (90 days)", "Customers likely to stop ordering in the next 90 days"),
    "project_failure": ("Project failure", "Implementation projects likely to miss go-live by "
                        "over 30 days or be cancelled"),
    "late_payment": ("Late payment", "Open invoices likely to be paid late"),
}
KEY_LABELS = {"sku": "SKU", "sku_name": "Product", "location_id": "Location",
              "location_id_name": "Location name", "customer_id": "Customer",
              "customer_id_name": "Customer name", "project_id": "Project",
              "project_id_name": "Project name", "invoice_id": "Invoice"}
LABELS = {**KEY_LABELS, "probability": "Probability", "risk_band": "Band",
          "reason_1": "Reason 1", "reason_2": "Reason 2", "reason_3": "Reason 3"}
CONFIG = {
    "Probability": st.column_config.ProgressColumn("Probability", format="percent",
                                                   min_value=0.0, max_value=1.0),
    **{f"Reason {i}": st.column_config.TextColumn(f"Reason {i}", width="large")
       for i in (1, 2, 3)},
}


def _entity_labels(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    """``code · name`` per key (just the code where no name is known), joined by ``@``."""
    out = None
    for k in keys:
        code = df[k].astype(str)
        if f"{k}_name" in df.columns:
            name = df[f"{k}_name"]
            code = code.where(name.isna() | (name.astype(str) == ""),
                              code + " · " + name.astype(str))
        out = code if out is None else out + " @ " + code
    return out if out is not None else pd.Series([""] * len(df), index=df.index)


tabs = st.tabs([title for title, _ in MODELS.values()])
for tab, (model, (title, question)) in zip(tabs, MODELS.items(), strict=True):
    with tab:
        dates = data.prediction_dates(ctx.scope, ctx.tenant_id, model)
        if not dates:
            st.info(f"{title}: not available yet for {ctx.tenant.display_name}. The model has not "
                    "scored this tenant, or its data does not include what the model needs.",
                    icon=":material/hourglass_empty:")
            continue
        top = st.columns([2, 1, 1])
        top[0].caption(question)
        as_of = top[1].selectbox("Scored on", dates, key=f"date-{model}")
        bands = top[2].multiselect("Risk band", ["high", "medium", "low"],
                                   default=["high", "medium"], key=f"bands-{model}")
        df = data.predictions(ctx.scope, ctx.tenant_id, model, as_of)
        if df.empty:
            st.info(f"{title}: no predictions in the {as_of} run.")
            continue
        versions = ", ".join(sorted(df["model_version"].dropna().astype(str).unique()))
        names = ", ".join(sorted(df["model_name"].dropna().astype(str).unique())) or model
        st.caption(f"Model {names} · version {versions or 'unknown'} · {len(df):,} scored · "
                   "reasons are what pushed each probability up most")

        c1, c2, c3 = st.columns(3)
        band = df["risk_band"].astype(str).str.lower()
        c1.metric("High risk", f"{(band == 'high').sum():,}")
        c2.metric("Medium risk", f"{(band == 'medium').sum():,}")
        c3.metric("Mean probability", f"{df['probability'].mean():.0%}")
        g1, g2 = st.columns(2)
        g1.plotly_chart(charts.band_counts(df, ctx.template, "By risk band"),
                        key=f"bands-chart-{model}", config=charts.CONFIG)
        g2.plotly_chart(charts.probability_histogram(df, ctx.template), key=f"hist-{model}",
                        config=charts.CONFIG)

        shown = df[band.isin(bands)] if bands else df
        keys = [k for k in data.MODEL_KEYS[model] if k in shown.columns]
        table = data.with_names(ctx.scope, ctx.tenant_id,
                                shown[keys + ["probability", "risk_band", "reason_1",
                                              "reason_2", "reason_3"]])
        event = widgets.table(table, key=f"risk-{model}", tenant_id=ctx.tenant_id,
                              what=f"{model}_{as_of}", labels=LABELS, column_config=CONFIG,
                              selectable=True, height=360)

        # ------------------------------------------------------------- one entity in detail
        st.subheader("Detail")
        labels = _entity_labels(table, keys).tolist()
        picked_rows = event.selection.rows if event is not None else []
        default = picked_rows[0] if picked_rows else 0
        if not labels:
            st.caption("No entity in the chosen bands.")
            continue
        i = st.selectbox("Entity", range(len(labels)), index=min(default, len(labels) - 1),
                         format_func=lambda j, labels=labels: labels[j], key=f"entity-{model}")
        row = table.iloc[i]
        st.markdown(f"**{labels[i]}** · {views.fmt(row['probability'], 'percent')}"
                    f" · {str(row['risk_band']).lower()} risk")
        for r in ("reason_1", "reason_2", "reason_3"):
            if isinstance(row.get(r), str) and row[r]:
                st.markdown(f"- {row[r]}")
        hist = data.prediction_history(ctx.scope, ctx.tenant_id, model,
                                       {k: row[k] for k in keys})
        if len(hist) > 1:
            st.plotly_chart(charts.risk_history(hist, ctx.template), key=f"hist-line-{model}",
                            config=charts.CONFIG)
        if not hist.empty:
            widgets.table(hist[["scored_on", "probability", "risk_band", "model_version",
                                "reason_1", "reason_2", "reason_3"]],
                          key=f"risk-hist-{model}", tenant_id=ctx.tenant_id,
                          what=f"{model}_history",
                          labels={**LABELS, "scored_on": "Scored on",
                                  "model_version": "Model version"},
                          column_config=CONFIG)
