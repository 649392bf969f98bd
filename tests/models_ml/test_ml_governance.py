"""Tenants that do not share training data never reach a shared model."""

from __future__ import annotations

import mlflow

from models_ml import SPECS
from models_ml import framework as fw



def test_shared_training_frames_hold_only_sharing_tenants(trained, sharing):
    for name, result in trained.results.items():
        shared = [r for r in result.runs if r.scope == "shared"]
        assert len(shared) == 1, name
        assert set(shared[0].tenants) == sharing, (name, shared[0].tenants)


def test_shared_runs_record_their_tenants_in_mlflow(trained, sharing):
    fw._mlflow(trained.home)
    client = mlflow.MlflowClient()
    for name, result in trained.results.items():
        run = client.get_run(result.runs[0].run_id)
        assert set(run.data.tags["tenantlake.tenants"].split(",")) == sharing
        assert run.data.tags["tenantlake.scope"] == "shared"


def test_build_frame_reads_only_the_tenants_it_is_given(trained, sharing):
    with fw.warehouse(trained.home) as con:
        for name in ("churn", "project_failure"):
            frame = fw.build_frame(SPECS[name], con, ["acme"])
            # not vacuous: the tenant asked for is there, and only it
            assert len(frame) > 0 and set(frame["tenant_id"]) == {"acme"}, name
    for result in trained.results.values():
        shared = next(r for r in result.runs if r.scope == "shared")
        assert set(shared.tenants) == sharing  # the shared frame held both, and only them


def test_private_tenants_get_their_own_model_or_an_explicit_status(trained):
    churn = trained.results["churn"]
    assert churn.tenant_status["acme"] == "shared"
    assert churn.tenant_status["gamma"] == "own_model"
    assert churn.tenant_status["solo"] == "own_model"
    assert churn.tenant_status["tiny"] == "not_enough_data"
    tiny = next(r for r in churn.runs if r.registered_model == "churn__tiny")
    assert tiny.status == "not_enough_data" and tiny.reason and tiny.run_id is None
    own = next(r for r in churn.runs if r.registered_model == "churn__gamma")
    assert own.tenants == ["gamma"]
    # the orders-only tenants send no inventory at all: said so, not an error
    assert trained.results["stockout"].tenant_status["solo"] == "no_data"
    assert trained.results["stockout"].tenant_status["gamma"] == "own_model"


def test_every_tenant_has_a_status_for_every_model(trained, ml_tenants, sharing):
    for name, result in trained.results.items():
        expected = sharing if name == "late_payment" else set(ml_tenants)
        assert set(result.tenant_status) == expected, name
        for tid, st in result.tenant_status.items():  # a tenant without a model says why
            assert (result.tenant_reason[tid] == "") == (st in ("shared", "own_model")), (
                name, tid, st, result.tenant_reason[tid])
