"""Scorer checks, check_estimator and bad input for the baseline estimators."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

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
from skdisco.utils.estimator_checks import check_scorer, make_scorer_data

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

# scikit-learn's generic checks feed arbitrary real matrices; LEEP and NCE take
# source-model probabilities and reject rows that are not on the simplex with a
# ValueError, so every check that fits on such data fails by design.
_NOT_PROBABILITIES = (
    "sklearn's generic data are not probabilities (rows on the simplex); the "
    "scorer rejects them by design"
)
PROBABILITY_EXPECTED_FAILURES = {
    name: _NOT_PROBABILITIES
    for name in [
        "check_fit_score_takes_y",
        "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_pipeline_consistency",
        "check_estimators_nan_inf",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_fit2d_1feature",
        "check_dict_unchanged",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
        "check_fit2d_predict1d",
    ]
}


def _id(est):
    return type(est).__name__ + str(est.get_params() or "")


@pytest.mark.parametrize("scorer", ALL, ids=_id)
def test_scorer_passes_scorer_checks(scorer):
    ran = check_scorer(scorer)
    assert "classification:informative_beats_noise" in ran


@pytest.mark.parametrize("scorer", FEATURE_SCORERS[:10:3] + [KNNProbeScorer()], ids=_id)
def test_feature_scorer_passes_check_estimator(scorer):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(scorer)


@pytest.mark.parametrize("scorer", [LEEPScorer(), NCEScorer()], ids=_id)
def test_probability_scorer_check_estimator_fails_only_as_documented(scorer):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(scorer, expected_failed_checks=PROBABILITY_EXPECTED_FAILURES)


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
    kind = scorer._input_kind
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
