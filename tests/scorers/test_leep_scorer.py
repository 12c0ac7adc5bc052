"""LEEP, NCE and NLEEP scorers: probabilities in, the core function's score out."""

import numpy as np
import pytest
from sklearn.base import clone

from skdisco.scorers import LEEPScorer, NCEScorer
from skdisco.transferability import leep, nce
from skdisco.utils.estimator_checks import make_scorer_data

PROBABILITY_SCORERS = [LEEPScorer(), NCEScorer(), NCEScorer(soft=True)]


@pytest.mark.parametrize("scorer", PROBABILITY_SCORERS, ids=repr)
def test_probability_scorer_rejects_features(scorer):
    X, y, _ = make_scorer_data(n_samples=40)
    with pytest.raises(ValueError, match="probabilities"):
        clone(scorer).fit(X, y)


@pytest.mark.parametrize("soft", [False, True])
def test_nce_scorer_score_on_new_data_equals_function(soft):
    P, y, P_noise = make_scorer_data(input_kind="probabilities")
    scorer = NCEScorer(soft=soft).fit(P, y)
    assert scorer.score(P_noise, y) == nce(P_noise, y, soft=soft)
    assert scorer.score(P, y) == scorer.score_ == nce(P, y, soft=soft)


def test_leep_scorer_score_on_new_data_equals_function():
    P, y, P_noise = make_scorer_data(input_kind="probabilities")
    scorer = LEEPScorer().fit(P, y)
    assert scorer.score(P_noise, np.asarray(y)[::-1]) == leep(P_noise, y[::-1])
