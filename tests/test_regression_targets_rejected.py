"""Classification-only methods refuse a regression target instead of scoring it.

A regression target read as classes (every distinct float a class of one) used
to give silent numbers -- PARC even NaN. Every classification-only function and
scorer must raise a ValueError that names the problem: for real values, and for
an integer-valued target with too many classes for its size (scikit-learn's
``load_diabetes``: 214 values over 442 samples, which GBC scored -4001.5).
"""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

import skdisco.scorers as scorers
import skdisco.transferability as T
from skdisco.utils import get_scorer_tags

rng = np.random.default_rng(0)
X = rng.standard_normal((120, 6))
P = rng.dirichlet(np.ones(5), size=120)  # source-model probabilities
Y_REAL = rng.standard_normal(120)
X_INT, Y_INT = load_diabetes(return_X_y=True)
P_INT = rng.dirichlet(np.ones(5), size=X_INT.shape[0])

#: target -> (features, probabilities, y, what the error says)
TARGETS = {
    "real": (X, P, Y_REAL, "continuous|real-valued"),
    "integer": (X_INT, P_INT, Y_INT, "classification targets only"),
}

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


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("name", FEATURE_FUNCTIONS + PROBABILITY_FUNCTIONS)
def test_classification_functions_reject_regression_y(name, target):
    X, P, y, match = TARGETS[target]
    data = P if name in PROBABILITY_FUNCTIONS else X
    with pytest.raises(ValueError, match=match):
        getattr(T, name)(data, y)


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in scorers.__all__
        if n != "BaseScorer"
        and get_scorer_tags(getattr(scorers, n)()).tasks == ("classification",)
    ],
)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_classification_scorers_reject_regression_y(name, target):
    X, P, y, match = TARGETS[target]
    cls = getattr(scorers, name)
    data = P if get_scorer_tags(cls()).input_kind == "probabilities" else X
    with pytest.raises(ValueError, match=match):
        cls().fit(data, y)


def test_set_level_functions_reject_real_valued_y():
    with pytest.raises(ValueError, match="continuous|real-valued"):
        T.ncti([X, X[:, :4]], Y_REAL)
    with pytest.raises(ValueError, match="continuous|real-valued"):
        T.etran([X, X[:, :4]], Y_REAL)


@pytest.mark.parametrize("function", [T.logme, T.disco])
def test_logme_and_disco_still_score_real_valued_y(function):
    assert np.isfinite(function(X, Y_REAL))
