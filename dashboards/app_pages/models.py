"""Models, for analysts: what each model serves to this tenant (champion version, or nothing
and why), its backtest against the planner's baseline, and drift."""

import pandas as pd
import streamlit as st

from dashboards import branding, data, session, views, widgets

ctx = session.current()
branding.banner(ctx.brand, "Models")

TITLES = {"stockout": "Stockouts (14 days)", "churn": "Customer churn (90 days)",
          "project_failure": "Project failure", "late_payment": "Late payment"}
status = data.model_report(ctx.scope, ctx.tenant_id, "model_status")
backtest = data.model_report(ctx.scope, ctx.tenant_id, "model_backtest")
drift = data.model_report(ctx.scope, ctx.tenant_id, "model_drift")

rows = []
for model in data.MODELS:
    st_row = status[status["model"] == model].iloc[0] if not status.empty and (
        status["model"] == model).any() else None
    dates = data.prediction_dates(ctx.scope, ctx.tenant_id, model)
    preds = data.predictions(ctx.scope, ctx.tenant_id, model, dates[0]) if dates else None
    served = (st_row.get("served") if st_row is not None else None) or (
        "champion" if dates else "not scored")
    version = (st_row.get("model_version") if st_row is not None else None) or (
        ", ".join(sorted(preds["model_version"].dropna().astype(str).unique()))
        if preds is not None and not preds.empty else None)
    rows.append({
        "Model": TITLES.get(model, views.pretty(model)), "model": model, "Served": served,
        "Registered model": (st_row.get("registered_model") if st_row is not None else None)
        or (preds["model_name"].dropna().astype(str).iloc[0]
            if preds is not None and not preds.empty else "—"),
        "Version": version or "—",
        "Trained on": (st_row.get("trained_on") if st_row is not None else None) or "—",
        "Last scored": dates[0] if dates else "—",
        "Rows scored": len(preds) if preds is not None else 0,
        "Drift": (st_row.get("drift_status") if st_row is not None else None) or "—",
        "Why": (st_row.get("reason") if st_row is not None else None) or "",
    })
overview = pd.DataFrame(rows)

c = st.columns(3)
c[0].metric("Models serving this tenant", int((overview["Served"] == "champion").sum()))
c[1].metric("Not scored", int((overview["Served"] != "champion").sum()))
c[2].metric("Drifting", int((overview["Drift"] == "drift").sum()))
widgets.table(overview.drop(columns=["model"]), key="models", tenant_id=ctx.tenant_id,
              what="models", column_config={"Why": st.column_config.TextColumn(
                  "Why", width="large")})

picked = st.selectbox("Model", overview["model"], format_func=lambda m: TITLES.get(m, m),
                      key="tl_model")
st.subheader("Backtest against the baseline")
bt = backtest[backtest["model"] == picked] if not backtest.empty else backtest
if bt.empty:
    st.info("No backtest published for this model and tenant yet: it appears after the "
            "pipeline scores the tenant with a champion.", icon=":material/hourglass_empty:")
else:
    one = status[status["model"] == picked].iloc[0] if not status.empty else {}
    st.caption(f"Same folds, same rows: the model against the {one.get('baseline', 'baseline')}"
               f". A champion is promoted only when it beats the baseline on "
               f"{one.get('primary_metric', 'the primary metric')}.")
    table = bt[["metric", "model_value", "baseline_value", "delta", "model_better"]].copy()
    table["model_better"] = table["model_better"].map({True: "model", False: "baseline"})
    widgets.table(table, key=f"bt-{picked}", tenant_id=ctx.tenant_id, what=f"{picked}_backtest",
                  labels={"metric": "Metric", "model_value": "Model", "baseline_value":
                          "Baseline", "delta": "Model − baseline", "model_better": "Better"})

st.subheader("Drift")
dr = drift[drift["model"] == picked] if not drift.empty else drift
if dr.empty:
    st.caption("No drift report yet for this model and tenant.")
else:
    one = status[status["model"] == picked].iloc[0]
    st.caption(f"Population stability (PSI) of each feature, this tenant now vs the champion's "
               f"training data; over 0.25 is a significant shift. Score PSI: "
               f"{views.fmt(one.get('score_psi'))} · status {one.get('drift_status')}.")
    table = dr.sort_values("psi", ascending=False)[["feature", "psi", "is_failing",
                                                    "is_context"]]
    widgets.table(table, key=f"drift-{picked}", tenant_id=ctx.tenant_id,
                  what=f"{picked}_drift",
                  labels={"feature": "Feature", "psi": "PSI", "is_failing": "Drifting",
                          "is_context": "Context only (never fails)"})
