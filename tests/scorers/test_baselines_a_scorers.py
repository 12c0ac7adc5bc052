"""Scores on new data and bad input for the baseline estimators.

check_estimator and the scorer checks run over every scorer in tests/test_common.py.
"""

import numpy as np
import pytest
from sklearn.base import clone

from skdisco.scorers import (
    GBCScorer,
    HScoreScorer,
    KNNProbeScorer,
    LEEPScorer,
    LinearProbeScorer,
    NCEScorer,
    NLEEPScorer,
    PARCScorer,
    RegularizedHScoreScorer,
    TransRateScorer,
)
from skdisco.utils import get_scorer_tags
from skdisco.utils.estimator_checks import make_scorer_data

FEATURE_SCORERS = [
    NLEEPScorer(),
    HScoreScorer(),
    HScoreScorer(variant="pactran"),
    RegularizedHScoreScorer(),
    GBCScorer(),
    GBCScorer(gaussian_type="diagonal"),
    TransRateScorer(),
    TransRateScorer(variant="tllib"),
    TransRateScorer(variant="official_projection"),
    PARCScorer(),
    LinearProbeScorer(),
    KNNProbeScorer(),
]
PROBABILITY_SCORERS = [LEEPScorer(), NCEScorer(), NCEScorer(soft=True)]
ALL = FEATURE_SCORERS + PROBABILITY_SCORERS


def _id(est):
    return type(est).__name__ + str(est.get_params() or "")


@pytest.mark.parametrize("scorer", FEATURE_SCORERS[:9], ids=_id)
def test_feature_scorer_score_on_new_data_equals_fresh_fit(scorer):
    X, y, X_noise = make_scorer_data(n_samples=160)
    fitted = clone(scorer).fit(X, y)
    assert fitted.score(X_noise, y) == pytest.approx(
        clone(scorer).fit(X_noise, y).score_, rel=1e-12
    )
    assert fitted.score(X, y) == fitted.score_


@pytest.mark.parametrize("scorer", ALL, ids=_id)
def test_scorer_bad_input_raises(scorer):
    kind = get_scorer_tags(scorer).input_kind
    X, y, _ = make_scorer_data(input_kind=kind, n_samples=40)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clone(scorer).fit(X_nan, y)
    with pytest.raises(ValueError, match="single class"):
        clone(scorer).fit(X, np.zeros(40, dtype=int))
    with pytest.raises(ValueError, match="inconsistent|samples"):
        clone(scorer).fit(X, y[:-1])
    fitted = clone(scorer).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        fitted.score(X[:, :-1], y)


@pytest.mark.parametrize("scorer", PROBABILITY_SCORERS, ids=_id)
def test_probability_scorer_rejects_features(scorer):
    X, y, _ = make_scorer_data(n_samples=40)
    with pytest.raises(ValueError, match="probabilities"):
        clone(scorer).fit(X, y)


def test_scorers_reject_regression_targets():
    X, y, _ = make_scorer_data("regression", n_samples=40)
    with pytest.raises(ValueError):
        HScoreScorer().fit(X, y)
