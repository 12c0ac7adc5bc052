"""What every scorer shares: scores of new data, bad input, tags, and estimator
parameters stated once with the function's defaults and constraints.

Family-specific behaviour is tested in ``test_<family>_scorer.py``;
check_estimator and the scorer checks run over every scorer in tests/test_common.py.
"""

import inspect
import warnings

import numpy as np
import pytest
from sklearn.base import clone

import skdisco.scorers as scorers_module
from skdisco.scorers import (
    DiscoScorer,
    ETranScorer,
    GBCScorer,
    HScoreScorer,
    KNNProbeScorer,
    LEEPScorer,
    LinearProbeScorer,
    LogMEScorer,
    NCEScorer,
    NCTIScorer,
    NLEEPScorer,
    PACTranDirichletScorer,
    PACTranGammaScorer,
    PACTranGaussScorer,
    PARCScorer,
    RegularizedHScoreScorer,
    SFDAScorer,
    TransRateScorer,
)
from skdisco.transferability import etran_components
from skdisco.utils import get_scorer_tags
from skdisco.utils.estimator_checks import make_scorer_data

# Scorers of class labels, by family (LEEP/NCE/NLEEP, H-score, GBC, TransRate,
# PARC, probes); then SFDA, NCTI and ETran, which need two samples per class.
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
TWO_PER_CLASS_SCORERS = [
    SFDAScorer(),
    NCTIScorer(n_components=8),
    ETranScorer(percent=5),
]
PROBABILITY_SCORERS = [
    LEEPScorer(),
    NCEScorer(),
    NCEScorer(soft=True),
    PACTranDirichletScorer(),
    PACTranGammaScorer(),
]
ALL = FEATURE_SCORERS + TWO_PER_CLASS_SCORERS + PROBABILITY_SCORERS


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match="NaN"):
            clone(scorer).fit(X_nan, y)
        with pytest.raises(ValueError, match="single class"):
            clone(scorer).fit(X, np.zeros(40, dtype=int))
        with pytest.raises(ValueError, match="inconsistent|samples"):
            clone(scorer).fit(X, y[:-1])
        fitted = clone(scorer).fit(X, y)
        with pytest.raises(ValueError, match="features"):
            fitted.score(X[:, :-1], y)


@pytest.mark.parametrize("scorer", TWO_PER_CLASS_SCORERS, ids=repr)
@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.full((6, 2), np.nan), [0, 0, 0, 1, 1, 1], "NaN"),
        (np.ones((6, 2)), [0] * 6, "class"),
        (np.ones((6, 2)), [0, 1, 0], "inconsistent|samples"),
        (np.ones((5, 2)), [0, 0, 0, 0, 1], "class"),
    ],
)
def test_scorer_bad_input_raises_on_tiny_data(scorer, X, y, match):
    with pytest.raises(ValueError, match=match):
        scorer.fit(X, y)


# --------------------------------------------------------------------------
# tags
# --------------------------------------------------------------------------
_THREE_TASKS = ("classification", "regression", "multilabel")
EXPECTED_TAGS = {
    # class name: (input_kind, tasks, set_level, partial_fit, scale_invariant)
    "DiscoDetectionScorer": ("features", ("detection",), True, 0, 1),
    "DiscoScorer": ("features", _THREE_TASKS, 0, 0, 1),
    "ETranScorer": ("features", ("classification",), True, False, 0),
    "GBCScorer": ("features", ("classification",), False, False, 0),
    "HScoreScorer": ("features", ("classification",), False, False, 1),
    "KNNProbeScorer": ("features", ("classification",), False, False, 1),
    "LEEPScorer": ("probabilities", ("classification",), False, False, 1),
    "LinearProbeScorer": ("features", ("classification",), False, False, 1),
    "LogMEScorer": ("features", _THREE_TASKS, 0, 1, 1),
    "NCEScorer": ("probabilities", ("classification",), False, False, 1),
    "NCTIScorer": ("features", ("classification",), True, False, 0),
    "NLEEPScorer": ("features", ("classification",), False, False, 0),
    "PACTranDirichletScorer": ("probabilities", ("classification",), False, False, 1),
    "PACTranGammaScorer": ("probabilities", ("classification",), False, False, 1),
    "PACTranGaussScorer": ("features", ("classification",), False, False, 0),
    "PARCScorer": ("features", ("classification",), False, False, 1),
    "RegularizedHScoreScorer": ("features", ("classification",), False, False, 1),
    "SFDAScorer": ("features", ("classification",), False, False, 0),
    "TransRateScorer": ("features", ("classification",), False, False, 1),
}
SCORER_CLASSES = [
    getattr(scorers_module, n) for n in scorers_module.__all__ if n != "BaseScorer"
]


def test_scorer_tags_cover_every_exported_scorer():
    assert sorted(EXPECTED_TAGS) == sorted(c.__name__ for c in SCORER_CLASSES)


@pytest.mark.parametrize("cls", SCORER_CLASSES, ids=lambda c: c.__name__)
def test_scorer_tags_declare_kind(cls):
    tags = get_scorer_tags(cls())
    input_kind, tasks, set_level, partial_fit, invariant = EXPECTED_TAGS[cls.__name__]
    assert tags.input_kind == input_kind
    assert tags.tasks == tasks
    assert tags.set_level is bool(set_level)
    assert tags.partial_fit is bool(partial_fit)
    assert tags.scale_invariant is bool(invariant)
    assert tags.partial_fit == callable(getattr(cls, "partial_fit", None))
    assert tags.set_level == callable(getattr(cls, "combine_models", None))


@pytest.mark.parametrize(
    "scorer",
    [
        DiscoScorer(covariance="identity"),
        HScoreScorer(variant="pactran"),
        TransRateScorer(variant="tllib"),
        LogMEScorer(method="fixed_point"),
        LogMEScorer(method="icml"),
    ],
    ids=_id,
)
def test_scorer_tags_scale_invariance_follows_the_variant(scorer):
    # The defaults are invariant (EXPECTED_TAGS); these settings are not.
    assert get_scorer_tags(scorer).scale_invariant is False
    default = clone(scorer).set_params(**_DEFAULTS[type(scorer)])
    assert get_scorer_tags(default).scale_invariant is True


_DEFAULTS = {
    DiscoScorer: {"covariance": "isotropic"},
    HScoreScorer: {"variant": "tllib"},
    TransRateScorer: {"variant": "official"},
    LogMEScorer: {"method": "global"},
}


@pytest.mark.parametrize("cls", SCORER_CLASSES, ids=lambda c: c.__name__)
def test_scorer_has_no_private_kind_attributes(cls):
    assert not hasattr(cls, "_input_kind")
    assert not hasattr(cls, "_supported_tasks")


@pytest.mark.parametrize(
    "scorer",
    [
        LogMEScorer(),
        SFDAScorer(),
        NCTIScorer(n_components=8),
        ETranScorer(percent=5),
        PACTranGaussScorer(max_iter=10),
        GBCScorer(),
    ],
    ids=_id,
)
def test_scorer_fitted_attributes_are_plain_attributes(scorer):
    X, y, _ = make_scorer_data(n_samples=120)
    fitted = clone(scorer).fit(X, y)
    learned = [a for a in vars(fitted) if a.endswith("_") and not a.startswith("_")]
    assert "score_" in learned
    for name in dir(type(fitted)):
        if name.endswith("_") and not name.startswith("_"):
            assert not isinstance(getattr(type(fitted), name), property), name


# --------------------------------------------------------------------------
# parameters stated once: the estimator's defaults and constraints are the
# function's
# --------------------------------------------------------------------------
# Scorer -> the functions whose keyword arguments its parameters are (the first
# function naming a parameter gives its default and constraint).
_EXTRA_FUNCTIONS = {
    "ETranScorer": [etran_components],
}


def _keyword_defaults(func):
    return {
        name: p.default
        for name, p in inspect.signature(func).parameters.items()
        if p.kind is p.KEYWORD_ONLY
    }


def _constraints(func):
    """The ``validate_params`` constraints of a public function (its closure)."""
    for cell in func.__closure__ or ():
        value = cell.cell_contents
        if (
            isinstance(value, dict)
            and value
            and all(isinstance(v, list) for v in value.values())
        ):
            return value
    raise AssertionError(f"{func.__name__} has no validate_params constraints")


@pytest.mark.parametrize("cls", SCORER_CLASSES, ids=lambda c: c.__name__)
def test_scorer_parameters_match_function_defaults_and_constraints(cls):
    functions = [f for f in [cls._score_function] if f is not None]
    functions += _EXTRA_FUNCTIONS.get(cls.__name__, [])
    assert functions, f"{cls.__name__} names no function"
    init = (
        _keyword_defaults(cls.__init__) if cls.__init__ is not object.__init__ else {}
    )
    assert sorted(init) == sorted(cls._parameter_constraints)
    for name, default in init.items():
        owner = next(f for f in functions if name in _keyword_defaults(f))
        assert _keyword_defaults(owner)[name] == default, (cls.__name__, name)
        assert _constraints(owner)[name] == cls._parameter_constraints[name], (
            cls.__name__,
            name,
        )
    # and the other way round: every keyword of the wrapped function is a
    # parameter of the estimator.
    if cls._score_function is not None:
        assert set(cls()._function_kwargs()) == set(
            _keyword_defaults(cls._score_function)
        )


def test_scorer_parameter_check_catches_a_drifted_default():
    class Drifted(GBCScorer):
        def __init__(self, *, gaussian_type="diagonal", n_components=None):
            super().__init__(gaussian_type=gaussian_type, n_components=n_components)

    with pytest.raises(AssertionError):
        test_scorer_parameters_match_function_defaults_and_constraints(Drifted)
