"""Predictive models: stockout (14 days), churn (90 days), implementation-project failure,
late payment of open invoices (collections).

``framework`` owns the loop (features as of a cut-off, rolling-origin backtest, LightGBM,
MLflow, promotion, SHAP reasons, scoring, drift); each model module declares a ``SPEC``.
"""

from __future__ import annotations

from models_ml.churn import SPEC as CHURN
from models_ml.framework import ModelSpec
from models_ml.late_payment import SPEC as LATE_PAYMENT
from models_ml.project_failure import SPEC as PROJECT_FAILURE
from models_ml.stockout import SPEC as STOCKOUT

SPECS: dict[str, ModelSpec] = {s.name: s for s in (STOCKOUT, CHURN, PROJECT_FAILURE,
                                                          LATE_PAYMENT)}

__all__ = ["SPECS", "ModelSpec"]
