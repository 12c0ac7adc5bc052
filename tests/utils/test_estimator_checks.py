"""The scorer check suite passes good scorers and catches broken ones."""

import numpy as np
import pytest

from skdisco.scorers import LogMEScorer
from skdisco.utils.estimator_checks import (
    check_scorer,
    check_scorer_deterministic,
    check_scorer_informative_beats_noise,
    check_scorer_label_renaming_invariance,
    check_scorer_matches_function,
    check_scorer_sample_order_invariance,
    make_scorer_data,
)


class _OrderDependent(LogMEScorer):
    """Scores only the first half of the samples: depends on sample order."""

    def fit(self, X, y):
        half = len(X) // 2
        return super().fit(np.asarray(X)[:half], np.asarray(y)[:half])


class _LabelValueDependent(LogMEScorer):
    """Reads label values as regression targets: not invariant to renaming."""

    def fit(self, X, y):
        y = np.asarray(y)
        codes = np.unique(y, return_inverse=True)[1] if y.dtype.kind in "OUS" else y
        self.set_params(task="regression")
        return super().fit(X, codes.astype(float))


class _Random(LogMEScorer):
    """Adds noise to the score: not deterministic."""

    def fit(self, X, y):
        super().fit(X, y)
        self.score_ += np.random.default_rng().random()
        return self


class _Inverted(LogMEScorer):
    """Negates the score: lower would be better, and differs from the function."""

    def fit(self, X, y):
        super().fit(X, y)
        self.score_ = -self.score_
        return self


X, Y, X_NOISE = make_scorer_data("classification")


def test_check_scorer_passes_logme():
    assert len(check_scorer(LogMEScorer())) == 11


def test_sample_order_check_catches_order_dependence():
    with pytest.raises(AssertionError, match="sample order"):
        check_scorer_sample_order_invariance("s", _OrderDependent(), X, Y)


def test_label_renaming_check_catches_label_value_dependence():
    with pytest.raises(AssertionError, match="renamed"):
        check_scorer_label_renaming_invariance("s", _LabelValueDependent(), X, Y)


def test_deterministic_check_catches_randomness():
    with pytest.raises(AssertionError, match="not deterministic"):
        check_scorer_deterministic("s", _Random(), X, Y)


def test_function_and_noise_checks_catch_an_inverted_score():
    with pytest.raises(AssertionError, match="function score"):
        check_scorer_matches_function("s", _Inverted(), X, Y)
    with pytest.raises(AssertionError, match="noise"):
        check_scorer_informative_beats_noise("s", _Inverted(), X, Y, X_NOISE)


def test_make_scorer_data_probabilities_lie_on_the_simplex():
    P, y, P_noise = make_scorer_data("classification", "probabilities")
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert (P >= 0).all() and (P_noise >= 0).all()
    assert np.bincount(y).min() == np.bincount(y).max()
