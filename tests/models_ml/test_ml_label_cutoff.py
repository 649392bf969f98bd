"""The backtest's label cut-off: a fold trains only on outcomes known before its test window.

The check reads the rows each fold really trained on (``Backtest.train_rows``), so changing
the training filter in ``framework.backtest`` (e.g. to also use rows whose labels resolve inside
the test window) fails this test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from models_ml import SPECS
from models_ml import framework as fw


@pytest.fixture(scope="module")
def frames(trained):
    out = {}
    with fw.warehouse(trained.home) as con:
        for name in ("churn", "project_failure"):
            out[name] = fw.build_frame(SPECS[name], con, ["acme"])
    return out


@pytest.mark.parametrize("model", ["churn", "project_failure"])
def test_no_training_row_has_a_label_known_after_its_folds_start(frames, model):
    spec, frame = SPECS[model], frames[model]
    bt = fw.backtest(spec, frame)
    assert len(bt.folds) >= spec.min_folds and len(bt.train_rows) == len(bt.folds)
    for fold, rows in zip(bt.folds, bt.train_rows):
        start = dt.date.fromisoformat(fold["test_start"])
        known = frame.loc[rows, "label_known_date"]
        assert len(known) == fold["n_train"] > 0
        late = known[known > start]
        assert late.empty, f"{model} fold {fold['fold']}: {len(late)} labels known after {start}"
        # and nothing known in time was dropped: the fold used every row it was allowed
        assert len(known) == int((frame["label_known_date"] <= start).sum())
        # the horizon matters: rows whose cut-off is before the window can still be excluded
        if spec.horizon_days:
            assert (frame.loc[frame["as_of"] < start, "label_known_date"] > start).any()


def test_training_as_of_a_date_uses_only_outcomes_known_then(trained):
    spec = SPECS["churn"]
    until = dt.date(2025, 6, 30)
    with fw.warehouse(trained.home) as con:
        frame = fw.build_frame(spec, con, ["acme"], until=until)
    assert len(frame) > 0
    assert max(frame["as_of"]) <= until and max(frame["label_known_date"]) <= until
    assert frame.attrs["windows"].last_date == until
