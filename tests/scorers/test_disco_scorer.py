"""DiscoScorer and DiscoDetectionScorer: breakdown attributes, new data, the
detection combination, bad parameters.

check_estimator and the scorer checks run over every scorer in tests/test_common.py.
"""

import numpy as np
import pytest
from sklearn.base import clone

from skdisco.scorers import DiscoDetectionScorer, DiscoScorer
from skdisco.transferability import (
    disco,
    disco_components,
    disco_detection,
    disco_detection_components,
)
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


def test_disco_scorer_multilabel_target_is_scored_as_binary_regression_columns():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((150, 6))
    Y = (X[:, :3] + 0.5 * rng.standard_normal((150, 3)) > 0).astype(int)
    scorer = DiscoScorer(random_state=0).fit(X, Y)
    assert scorer.task_ == "regression"
    assert scorer.score_ == disco(X, Y.astype(float), task="regression", random_state=0)


# --------------------------------------------------------------------------
# DiscoDetectionScorer
# --------------------------------------------------------------------------
def _boxes(seed=1, n=300):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    boxes = rng.normal(size=(n, 4))
    good = np.column_stack(
        [labels + rng.normal(0, 0.3, n), boxes, rng.normal(size=(n, 3))]
    )
    weak = rng.normal(size=(n, 8))
    return good, weak, labels, boxes


def test_disco_detection_scorer_components_are_two_disco_scores():
    good, _, labels, boxes = _boxes()
    y = np.column_stack([labels, boxes])
    scorer = DiscoDetectionScorer(n_groups=3).fit(good, y)
    expected = [
        disco(good, labels, task="classification", n_groups=3, random_state=0),
        disco(good, boxes, task="regression", n_groups=3, random_state=0),
    ]
    np.testing.assert_array_equal(scorer.components_, expected)
    np.testing.assert_array_equal(
        scorer.components_, disco_detection_components(good, y, n_groups=3)
    )
    assert scorer.score_ == pytest.approx(sum(expected), abs=1e-15)
    assert isinstance(scorer.score_, float)
    np.testing.assert_array_equal(scorer.classes_, [0, 1, 2])


def test_disco_detection_scorer_combine_models_equals_disco_detection():
    good, weak, labels, boxes = _boxes()
    y = np.column_stack([labels, boxes])
    scorer = DiscoDetectionScorer()
    components = [clone(scorer).fit(F, y).components_ for F in (good, weak)]
    cls = [
        disco(F, labels, task="classification", random_state=0) for F in (good, weak)
    ]
    reg = [disco(F, boxes, task="regression", random_state=0) for F in (good, weak)]
    np.testing.assert_allclose(
        scorer.combine_models(components), disco_detection(cls, reg), atol=1e-15
    )
    assert scorer.combine_models(components).tolist() == [2.0, 0.0]
    with pytest.raises(ValueError, match="n_models, 2"):
        scorer.combine_models(np.ones(4))


def test_disco_detection_scorer_score_does_not_refit():
    good, weak, labels, boxes = _boxes()
    y = np.column_stack([labels, boxes])
    scorer = DiscoDetectionScorer().fit(good, y)
    before = scorer.components_.copy()
    other = disco_detection_components(weak, y).sum()
    assert scorer.score(weak, y) == pytest.approx(other, abs=1e-15)
    np.testing.assert_array_equal(scorer.components_, before)
    assert scorer.score(good, y) == scorer.score_


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros(300), "1 \\+ n_box_targets"),
        (np.zeros((300, 1)), "1 \\+ n_box_targets"),
        (np.column_stack([np.zeros(300), np.ones((300, 4))]), "single class"),
    ],
)
def test_disco_detection_scorer_bad_target_raises(y, match):
    good, *_ = _boxes()
    with pytest.raises(ValueError, match=match):
        DiscoDetectionScorer().fit(good, y)


def test_disco_detection_scorer_still_importable_from_selection():
    from skdisco.selection import DiscoDetectionScorer as Old

    assert Old is DiscoDetectionScorer
