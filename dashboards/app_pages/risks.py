"""Risks: the latest predictions per model, with probability, band and top reasons."""

import streamlit as st

from dashboards import branding, charts, data, session, views

ctx = session.current()
branding.banner(ctx.brand, "Predicted risks")

MODELS = {
    "stockout": ("Stockouts (14 days)", "SKU × location likely to run out in the next 14 days"),
    "churn": ("Customer churn (90 days)", "Customers likely to stop ordering in the next 90 days"),
    "project_failure": ("Project failure", "Implementation projects likely to miss go-live by "
                        "over 30 days or be cancelled"),
}
KEY_LABELS = {"sku": "SKU", "location_id": "Location", "customer_id": "Customer",
              "project_id": "Project"}

tabs = st.tabs([title for title, _ in MODELS.values()])
for tab, (model, (title, question)) in zip(tabs, MODELS.items()):
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
                   "reasons are the features that pushed each probability up most")

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
        table = shown[keys + ["probability", "risk_band"]].copy()
        table["top reasons"] = views.reasons(shown)
        table = table.rename(columns={**KEY_LABELS, "probability": "Probability",
                                      "risk_band": "Band", "top reasons": "Top reasons"})
        st.dataframe(
            table, hide_index=True, width="stretch",
            column_config={"Probability": st.column_config.ProgressColumn(
                "Probability", format="percent", min_value=0.0, max_value=1.0)})
