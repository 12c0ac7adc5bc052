"""ETranScorer: components of one model, combined over a set of models."""

import numpy as np
import pytest

from skdisco.scorers import ETranScorer
from skdisco.transferability import etran, etran_components
from skdisco.utils.estimator_checks import make_scorer_data


def test_etran_scorer_exposes_components():
    X, y, _ = make_scorer_data("classification", n_features=12)
    e = ETranScorer(percent=5).fit(X, y)
    np.testing.assert_allclose(e.components_, etran_components(X, y, percent=5))
    assert e.score_ == e.components_[1]


def test_etran_scorer_combine_models_equals_etran_of_the_set():
    X, y, X_noise = make_scorer_data("classification", n_features=12)
    models = [X, X_noise, X[:, :6]]
    scorer = ETranScorer(percent=5, tail="top")
    components = [scorer.fit(F, y).components_ for F in models]
    np.testing.assert_allclose(
        scorer.combine_models(components),
        etran(models, y, percent=5, tail="top"),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="n_models, 2"):
        scorer.combine_models(np.ones((3, 3)))
