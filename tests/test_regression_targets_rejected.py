"""Classification-only methods refuse a real-valued target instead of scoring it.

A regression target read as classes (every distinct float a class of one) used
to give silent numbers -- PARC even NaN. Every classification-only function and
scorer must raise a ValueError that names the problem.
"""

import numpy as np
import pytest

import skdisco.scorers as scorers
import skdisco.transferability as T
from skdisco.utils import get_scorer_tags

rng = np.random.default_rng(0)
X = rng.standard_normal((120, 6))
P = rng.dirichlet(np.ones(5), size=120)  # source-model probabilities
Y_REAL = rng.standard_normal(120)

FEATURE_FUNCTIONS = [
    "gbc",
    "hscore",
    "regularized_hscore",
    "transrate",
    "nleep",
    "parc",
    "sfda",
    "linear_probe",
    "knn_probe",
    "pactran_gauss",
]
PROBABILITY_FUNCTIONS = ["leep", "nce", "pactran_dirichlet", "pactran_gamma"]


@pytest.mark.parametrize("name", FEATURE_FUNCTIONS + PROBABILITY_FUNCTIONS)
def test_classification_functions_reject_real_valued_y(name):
    data = P if name in PROBABILITY_FUNCTIONS else X
    with pytest.raises(ValueError, match="continuous|real-valued"):
        getattr(T, name)(data, Y_REAL)


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in scorers.__all__
        if n != "BaseScorer"
        and get_scorer_tags(getattr(scorers, n)()).tasks == ("classification",)
    ],
)
def test_classification_scorers_reject_real_valued_y(name):
    cls = getattr(scorers, name)
    data = P if get_scorer_tags(cls()).input_kind == "probabilities" else X
    with pytest.raises(ValueError, match="continuous|real-valued"):
        cls().fit(data, Y_REAL)


def test_set_level_functions_reject_real_valued_y():
    with pytest.raises(ValueError, match="continuous|real-valued"):
        T.ncti([X, X[:, :4]], Y_REAL)
    with pytest.raises(ValueError, match="continuous|real-valued"):
        T.etran([X, X[:, :4]], Y_REAL)


@pytest.mark.parametrize("function", [T.logme, T.disco])
def test_logme_and_disco_still_score_real_valued_y(function):
    assert np.isfinite(function(X, Y_REAL))
