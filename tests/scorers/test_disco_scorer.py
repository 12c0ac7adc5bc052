"""DiscoScorer: breakdown attributes, new data, bad parameters.

check_estimator and the scorer checks run over every scorer in tests/test_common.py.
"""

import numpy as np
import pytest
from sklearn.base import clone

from skdisco.scorers import DiscoScorer
from skdisco.transferability import disco, disco_components
from skdisco.utils.estimator_checks import make_scorer_data


def test_disco_scorer_attributes_match_components():
    X, y, _ = make_scorer_data("classification", n_features=16)
    scorer = DiscoScorer(n_groups=3, random_state=0).fit(X, y)
    res = disco_components(X, y, n_groups=3, random_state=0)
    assert scorer.score_ == res.score
    np.testing.assert_array_equal(scorer.singular_values_, res.singular_values)
    np.testing.assert_array_equal(scorer.ratios_, res.ratios)
    np.testing.assert_array_equal(scorer.group_scores_, res.group_scores)
    np.testing.assert_array_equal(scorer.contributions_, res.contributions)
    assert [g.tolist() for g in scorer.groups_] == [g.tolist() for g in res.groups]
    assert scorer.n_groups_ == 3 and scorer.n_components_ == 16
    assert scorer.contributions_.sum() == pytest.approx(scorer.score_, abs=1e-12)
    assert scorer.ratios_.sum() == pytest.approx(1.0, abs=1e-12)
    assert scorer.task_ == "classification"
    np.testing.assert_array_equal(scorer.classes_, np.unique(y))
    assert scorer.sample_indices_ is None


def test_disco_scorer_score_on_new_data_uses_fitted_task():
    X, y, _ = make_scorer_data("classification")
    scorer = DiscoScorer().fit(X, y)
    assert scorer.score(X, y) == scorer.score_
    assert scorer.score(X[:120], y[:120]) == pytest.approx(disco(X[:120], y[:120]))
    reg = DiscoScorer(task="regression").fit(X, y.astype(float))
    assert reg.task_ == "regression" and not hasattr(reg, "classes_")
    assert -1.0 <= reg.score_ <= 0.0


def test_disco_scorer_regression_multi_target_and_refit_drops_classes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 8))
    Y = X[:, :3] + 0.1 * rng.standard_normal((100, 3))
    scorer = DiscoScorer().fit(X, np.arange(100) % 2)
    assert hasattr(scorer, "classes_")
    scorer.fit(X, Y)
    assert not hasattr(scorer, "classes_")
    assert scorer.score_ == pytest.approx(disco(X, Y), abs=1e-12)
    assert clone(scorer).get_params() == scorer.get_params()


def test_disco_scorer_hard_examples_attribute():
    X, y, _ = make_scorer_data("classification", n_samples=200)
    scorer = DiscoScorer(hard_examples=0.25).fit(X, y)
    kept = scorer.sample_indices_
    assert kept.shape[0] >= 50 and np.bincount(y[kept]).min() >= 2


def test_disco_scorer_rejects_bad_parameters():
    X, y, _ = make_scorer_data("classification")
    with pytest.raises(ValueError, match="covariance"):
        DiscoScorer(covariance="diag").fit(X, y)
    with pytest.raises(ValueError, match="shrinkage"):
        DiscoScorer(shrinkage=1.5).fit(X, y)
