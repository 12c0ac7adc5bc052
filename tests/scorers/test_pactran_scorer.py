"""PACTran scorers: the Gaussian bound on features, Dirichlet and Gamma on
source-model probabilities."""

import numpy as np
import pytest

from skdisco.scorers import (
    PACTranDirichletScorer,
    PACTranGammaScorer,
    PACTranGaussScorer,
)
from skdisco.transferability import pactran_dirichlet, pactran_gamma
from skdisco.utils.estimator_checks import (
    check_scorer_label_renaming_invariance,
    make_scorer_data,
)

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


def test_pactran_scorers_are_negated_bounds():
    X, y, _ = make_scorer_data("classification", "probabilities")
    for cls in (PACTranDirichletScorer, PACTranGammaScorer):
        s = cls().fit(X, y)
        assert s.score_ == -s.bound_
    g = PACTranGaussScorer(max_iter=10).fit(X, y)
    assert g.score_ == -g.pac_gauss_ and g.coef_.shape == (X.shape[1] + 1, 4)


@pytest.mark.parametrize(
    "scorer, function",
    [
        (PACTranDirichletScorer(alpha=2.0), pactran_dirichlet),
        (PACTranGammaScorer(n_iter=3), pactran_gamma),
    ],
    ids=repr,
)
def test_pactran_probability_scorer_score_on_new_data_equals_function(scorer, function):
    X, y, X_noise = make_scorer_data("classification", "probabilities")
    fitted = scorer.fit(X, y)
    before = fitted.bound_
    kwargs = scorer.get_params()
    assert fitted.score(X_noise, y) == function(X_noise, y, **kwargs)
    assert fitted.bound_ == before and fitted.score(X, y) == fitted.score_


@pytest.mark.parametrize("scorer", PROBABILITY_SCORERS, ids=repr)
def test_probability_scorer_rejects_non_probabilities(scorer):
    with pytest.raises(ValueError, match="negative"):
        scorer.fit(np.array([[1.5, -0.5], [0.5, 0.5]]), [0, 1])
    with pytest.raises(ValueError, match="sum to 1"):
        scorer.fit(np.array([[0.9, 0.9], [0.5, 0.5]]), [0, 1])
