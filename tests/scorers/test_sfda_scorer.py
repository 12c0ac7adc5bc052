"""SFDAScorer: the breakdown it stores, against the core function."""

from skdisco.scorers import SFDAScorer
from skdisco.transferability import sfda
from skdisco.transferability._sfda import sfda_result
from skdisco.utils.estimator_checks import make_scorer_data


def test_sfda_scorer_exposes_shrinkage_and_first_stage():
    X, y, _ = make_scorer_data("classification", n_features=12)
    s = SFDAScorer().fit(X, y)
    assert s.score_ == sfda(X, y) and 0 < s.shrinkage_ <= 1
    result = sfda_result(X, y, 4)
    assert s.shrinkage_ == result.shrinkage
    assert s.first_stage_score_ == result.first_stage_score
