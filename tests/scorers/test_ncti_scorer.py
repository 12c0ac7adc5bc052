"""NCTIScorer: components of one model, combined over a set of models."""

import numpy as np
import pytest

from skdisco.scorers import NCTIScorer
from skdisco.transferability import ncti, ncti_combine, ncti_components
from skdisco.utils.estimator_checks import make_scorer_data


def test_ncti_scorer_exposes_components():
    X, y, _ = make_scorer_data("classification", n_features=12)
    n = NCTIScorer(n_components=8).fit(X, y)
    np.testing.assert_allclose(n.components_, ncti_components(X, y, n_components=8))
    assert n.score_ == n.components_[1]
    assert n.component_names_[1] == "lda_class_score"


def test_ncti_scorer_combine_models_equals_ncti_of_the_set():
    X, y, X_noise = make_scorer_data("classification", n_features=12)
    models = [X, X_noise, X[:, :10]]
    scorer = NCTIScorer(n_components=8)
    components = [scorer.fit(F, y).components_ for F in models]
    np.testing.assert_allclose(
        scorer.combine_models(components), ncti(models, y, n_components=8), rtol=1e-12
    )
    np.testing.assert_array_equal(
        scorer.combine_models(components), ncti_combine(np.array(components))
    )


def test_ncti_scorer_score_on_new_data_leaves_components():
    X, y, X_noise = make_scorer_data("classification", n_features=12)
    scorer = NCTIScorer(n_components=8).fit(X, y)
    before = scorer.components_.copy()
    other = ncti_components(X_noise, y, n_components=8)[1]
    assert scorer.score(X_noise, y) == pytest.approx(other, rel=1e-12)
    np.testing.assert_array_equal(scorer.components_, before)
