"""SFDA, NCTI, ETran and PACTran scorers: components, bounds and bad input.

check_estimator and the scorer checks run over every scorer in tests/test_common.py.
"""

import numpy as np
import pytest

from skdisco.scorers import (
    ETranScorer,
    NCTIScorer,
    PACTranDirichletScorer,
    PACTranGammaScorer,
    PACTranGaussScorer,
    SFDAScorer,
)
from skdisco.transferability import etran_components, ncti_components, sfda
from skdisco.utils.estimator_checks import (
    check_scorer_label_renaming_invariance,
    make_scorer_data,
)

FEATURE_SCORERS = [
    SFDAScorer(),
    NCTIScorer(n_components=8),
    ETranScorer(percent=5),
]
PROBABILITY_SCORERS = [PACTranDirichletScorer(), PACTranGammaScorer()]


def test_pactran_gauss_scorer_label_renaming_invariant_when_converged():
    # At the reference's tol=1e-6 the optimiser's stopping point depends on the
    # class order (about 1e-3 relative); with a tight tolerance it does not.
    X, y, _ = make_scorer_data("classification")
    scorer = PACTranGaussScorer(tol=1e-12, max_iter=1000)
    base = scorer.fit(X, y).score_
    for y2 in (y * 11 + 5, np.array([f"c{v}" for v in 3 - y])):
        assert scorer.fit(X, y2).score_ == pytest.approx(base, rel=1e-5)
    with pytest.raises(AssertionError):
        check_scorer_label_renaming_invariance("g", PACTranGaussScorer(), X, y)


def test_scorers_expose_components():
    X, y, _ = make_scorer_data("classification", n_features=12)
    n = NCTIScorer(n_components=8).fit(X, y)
    np.testing.assert_allclose(n.components_, ncti_components(X, y, n_components=8))
    assert n.score_ == n.components_[1]
    e = ETranScorer(percent=5).fit(X, y)
    np.testing.assert_allclose(e.components_, etran_components(X, y, percent=5))
    assert e.score_ == e.components_[1]
    s = SFDAScorer().fit(X, y)
    assert s.score_ == sfda(X, y) and 0 < s.shrinkage_ <= 1


def test_pactran_scorers_are_negated_bounds():
    X, y, _ = make_scorer_data("classification", "probabilities")
    for cls in (PACTranDirichletScorer, PACTranGammaScorer):
        s = cls().fit(X, y)
        assert s.score_ == -s.bound_
    g = PACTranGaussScorer(max_iter=10).fit(X, y)
    assert g.score_ == -g.pac_gauss_ and g.coef_.shape == (X.shape[1] + 1, 4)


@pytest.mark.parametrize("scorer", FEATURE_SCORERS, ids=repr)
@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.full((6, 2), np.nan), [0, 0, 0, 1, 1, 1], "NaN"),
        (np.ones((6, 2)), [0] * 6, "class"),
        (np.ones((6, 2)), [0, 1, 0], "inconsistent|samples"),
        (np.ones((5, 2)), [0, 0, 0, 0, 1], "class"),
    ],
)
def test_scorer_bad_input_raises(scorer, X, y, match):
    with pytest.raises(ValueError, match=match):
        scorer.fit(X, y)


@pytest.mark.parametrize("scorer", PROBABILITY_SCORERS, ids=repr)
def test_probability_scorer_rejects_non_probabilities(scorer):
    with pytest.raises(ValueError, match="negative"):
        scorer.fit(np.array([[1.5, -0.5], [0.5, 0.5]]), [0, 1])
    with pytest.raises(ValueError, match="sum to 1"):
        scorer.fit(np.array([[0.9, 0.9], [0.5, 0.5]]), [0, 1])
