"""H-score scorers: class labels only."""

import pytest

from skdisco.scorers import HScoreScorer, RegularizedHScoreScorer
from skdisco.utils.estimator_checks import make_scorer_data


@pytest.mark.parametrize("cls", [HScoreScorer, RegularizedHScoreScorer])
def test_scorers_reject_regression_targets(cls):
    X, y, _ = make_scorer_data("regression", n_samples=40)
    with pytest.raises(ValueError, match="classification targets only"):
        cls().fit(X, y)
