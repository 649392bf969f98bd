"""A challenger becomes champion only by beating the champion on the same backtest."""

from __future__ import annotations

import dataclasses

import mlflow
import pytest

from models_ml import SPECS
from models_ml import framework as fw


#: Parameters that cannot split (every leaf needs more rows than exist): a constant model.
USELESS = {"min_data_in_leaf": 10**7, "min_data_in_bin": 10**6}


def test_rule_without_champion_needs_to_beat_the_baseline():
    assert fw.decide(0.8, None, 0.7)[0]
    assert not fw.decide(0.6, None, 0.7)[0]


def test_rule_with_champion_needs_to_beat_it():
    assert fw.decide(0.81, 0.80, 0.7)[0]
    assert not fw.decide(0.80, 0.80, 0.7)[0]  # a tie keeps the champion
    assert not fw.decide(0.79, 0.80, 0.7)[0]
    assert not fw.decide(0.805, 0.80, 0.7, min_gain=0.01)[0]
    assert fw.decide(0.10, 0.12, 0.2, lower_is_better=True)[0]  # e.g. Brier


def test_rule_never_promotes_a_model_that_loses_to_the_baseline():
    ok, why = fw.decide(0.69, 0.60, 0.70)  # better than a poor champion, worse than the rule
    assert not ok and "baseline" in why


@pytest.fixture(scope="module")
def registry(warehouse_file, tmp_path_factory, make_home, make_tenant):
    """churn trained twice on one tenant: a useless model (v1) and a real one (v2)."""
    home = make_home(warehouse_file, tmp_path_factory.mktemp("promo") / "home")
    tenants = {"acme": make_tenant("acme", True)}
    spec = SPECS["churn"]
    weak = fw.train(spec, home, tenants, params=USELESS).runs[0]
    strong = fw.train(spec, home, tenants).runs[0]
    assert (weak.version, strong.version) == ("1", "2")
    return home, spec


def _champion(home) -> str:
    fw._mlflow(home)
    return str(mlflow.MlflowClient().get_model_version_by_alias("churn", fw.CHAMPION).version)


def test_weaker_challenger_is_not_promoted_over_a_stronger_champion(registry):
    home, spec = registry
    first = fw.promote(spec, home, version="2")
    assert first.promoted and first.champion_version is None
    d = fw.promote(spec, home, version="1")
    assert not d.promoted and d.champion_version == "2"
    assert d.challenger < d.champion
    assert _champion(home) == "2"


def test_stronger_challenger_replaces_a_weaker_champion(registry):
    home, spec = registry
    fw._mlflow(home)
    mlflow.MlflowClient().set_registered_model_alias("churn", fw.CHAMPION, "1")
    d = fw.promote(spec, home)  # newest version: 2
    assert d.promoted and d.champion_version == "1" and d.challenger_version == "2"
    assert d.challenger > d.champion
    assert _champion(home) == "2"


def test_useless_model_does_not_become_first_champion(warehouse_file, tmp_path, make_home,
                                                     make_tenant):
    home = make_home(warehouse_file, tmp_path / "home")
    spec = SPECS["churn"]
    fw.train(spec, home, {"acme": make_tenant("acme", True)}, params=USELESS)
    d = fw.promote(spec, home)
    assert not d.promoted and "baseline" in d.reason
    with pytest.raises(fw.NoChampionError):
        fw.load_champion(spec, home, "acme")


def test_champion_needing_a_removed_feature_is_not_served_and_gets_replaced(
        warehouse_file, tmp_path, make_home, make_tenant):
    """After a code change drops a feature, the old champion would be fed blanks: scoring
    refuses it with the fix, the pipeline's auto mode sees it as stale, and a challenger from
    the new code needs to beat only the baseline."""
    home = make_home(warehouse_file, tmp_path / "home")
    tenants = {"acme": make_tenant("acme", True)}
    spec = SPECS["churn"]
    fw.train(spec, home, tenants)
    assert fw.promote(spec, home).promoted
    gone = "csat_180d"
    changed = dataclasses.replace(
        spec, feature_labels={k: v for k, v in spec.feature_labels.items() if k != gone})
    assert fw.stale_champions(spec, home) == []
    assert fw.stale_champions(changed, home) == ["churn"]
    with pytest.raises(fw.StaleChampionError, match=f"{gone}.*tenantlake models train"):
        fw.load_champion(changed, home, "acme")

    run = fw.train(changed, home, tenants).runs[0]
    d = fw.promote(changed, home, version=run.version)
    assert d.promoted and d.champion is None and d.champion_version == "1"
    assert "v1 is stale" in d.reason and gone in d.reason and "no champion yet" not in d.reason
    assert fw.load_champion(changed, home, "acme").version == run.version == "2"
    assert fw.stale_champions(changed, home) == []
