"""Fixtures for the model tests: one synthetic warehouse, trained once per session.

Training all three models with MLflow takes about a minute, so the session fixture
``trained`` trains and promotes them once on five tenants that cover the interesting cases,
and the tests inspect the result:

* ``acme``, ``beta``: share their data -> the shared models;
* ``gamma``: full data but ``share_training_data: false`` -> its own models;
* ``solo``: order headers only (customer, date, amount), private -> its own churn model;
* ``tiny``: order headers of a dozen customers, private -> "not enough data";
* ``year``: order headers only, 12 months of history, private -> its own churn model from
  windows sized to its history, and a score for every customer.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tenantlake.settings import PROJECT_ROOT, Home
from tenantlake.tenants import TenantConfig

# The editable install maps only the packages that existed when it ran; make the project
# root importable so `models_ml` resolves before the next `make install`.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from models_ml import SPECS  # noqa: E402
from models_ml import framework as fw  # noqa: E402
from models_ml.synthetic import Shape, build_warehouse  # noqa: E402

SHAPES = {
    "acme": Shape(),
    "beta": Shape(),
    "gamma": Shape(customers=200),
    "solo": Shape(customers=200, orders_minimal=True),
    "tiny": Shape(customers=12, orders_minimal=True),
    "year": Shape(customers=150, orders_minimal=True, days=365),
}
#: Tenants whose promotion outcome the tests leave as the rule decided (no forced champion).
AS_DECIDED = {"year"}
SHARING = {"acme", "beta"}


def tenant_config(tenant_id: str, share: bool) -> TenantConfig:
    return TenantConfig(id=tenant_id, display_name=tenant_id.title(),
                        partner={"id": "northbridge", "name": "Northbridge"},
                        industry="distribution", reporting_currency="EUR",
                        share_training_data=share)


TENANTS = {t: tenant_config(t, t in SHARING) for t in SHAPES}


@pytest.fixture(scope="session")
def warehouse_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic marts, built once; tests that mutate data copy it first."""
    return build_warehouse(tmp_path_factory.mktemp("wh") / "warehouse.duckdb", SHAPES, seed=7)


def home_with(warehouse: Path, root: Path) -> Home:
    home = Home(root).ensure()
    shutil.copy(warehouse, home.warehouse)
    return home


@dataclass
class Trained:
    home: Home
    results: dict[str, fw.TrainResult]
    promotions: dict[str, list[fw.PromotionDecision]]


@pytest.fixture(scope="session")
def trained(warehouse_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Every model trained and promoted; scoring tests need a champion, so a model that did
    not beat its baseline on the synthetic data is made champion by hand (the promotion rule
    itself is tested in test_ml_promotion.py), except for the ``AS_DECIDED`` tenants."""
    import mlflow

    home = home_with(warehouse_file, tmp_path_factory.mktemp("trained") / "home")
    results, promotions = {}, {}
    for name, spec in SPECS.items():
        # late payment only on the sharing tenants: its frame (every open invoice at every
        # cut-off) is the largest, and the private-tenant paths are covered by the others
        tenants = TENANTS if name != "late_payment" else {t: TENANTS[t] for t in SHARING}
        results[name] = fw.train(spec, home, tenants)
        promotions[name] = []
        for run in results[name].runs:
            if run.status == "trained":
                tid = None if run.scope == "shared" else run.tenants[0]
                decision = fw.promote(spec, home, tenant_id=tid)
                promotions[name].append(decision)
                if not decision.promoted and not set(run.tenants) & AS_DECIDED:
                    mlflow.MlflowClient().set_registered_model_alias(
                        run.registered_model, fw.CHAMPION, run.version)
    return Trained(home, results, promotions)


@pytest.fixture(scope="session")
def ml_tenants() -> dict[str, TenantConfig]:
    return TENANTS


@pytest.fixture(scope="session")
def sharing() -> set[str]:
    return SHARING


@pytest.fixture(scope="session")
def make_home():
    """``make_home(warehouse, root)``: a fresh home holding a copy of the warehouse."""
    return home_with


@pytest.fixture(scope="session")
def make_tenant():
    return tenant_config
