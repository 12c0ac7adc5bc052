"""Property-based tests: every public score is a finite number or a clear error.

Over every public scoring function of :mod:`skdisco.transferability` (found from
its ``__all__`` by signature) and every scorer estimator (found by
:func:`~skdisco.utils.discovery.all_estimators` and read through
:func:`~skdisco.utils.get_scorer_tags`), hypothesis draws random shapes (N < D and
N > D), dtypes, label forms (gaps, strings, bools, a single class, one sample per
class, real targets), scales from 1e-200 to 1e200 and degenerate columns
(constant, zero, duplicated). The property: the result is finite, or the call
raises a ``ValueError``/``TypeError`` with a message written by skdisco or
scikit-learn's validation; never NaN, never infinity, never another exception
type (``LinAlgError``, ``IndexError``, ``ZeroDivisionError``, ...), never a
``ValueError`` leaking from inside numpy or scipy.

The structure of each example (sizes, dtype, label form, scale, degenerate
columns) is drawn by hypothesis, so failures shrink to a small case; the values
come from a numpy generator seeded by a drawn integer, which keeps each example
cheap. The default profile is derandomized (the same examples on every run) and
sized for CI; ``SKDISCO_HYPOTHESIS=long`` runs many more random examples.
"""

import inspect
import os
import traceback
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils import get_tags

import skdisco.transferability as T
from skdisco.utils import get_scorer_tags
from skdisco.utils._testing import construct_instances
from skdisco.utils.discovery import all_estimators

PROFILE = os.environ.get("SKDISCO_HYPOTHESIS", "ci")
if PROFILE not in ("ci", "long"):
    raise ValueError(f"SKDISCO_HYPOTHESIS must be 'ci' or 'long', not {PROFILE!r}.")
settings.register_profile(
    "skdisco-ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "skdisco-long",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
BASE = settings.get_profile(f"skdisco-{PROFILE}")
#: Examples per test in the long profile, as a multiple of the CI count.
LONG_FACTOR = 25


def _examples(n):
    return n * LONG_FACTOR if PROFILE == "long" else n


# --------------------------------------------------------------------------- #
# the property
# --------------------------------------------------------------------------- #
_NUMERIC_INTERNALS = (os.sep + "numpy" + os.sep, os.sep + "scipy" + os.sep)


def _assert_clear_error(exc):
    """A ValueError/TypeError with a message, raised outside numpy and scipy."""
    from numpy.linalg import LinAlgError

    if isinstance(exc, LinAlgError) or not isinstance(exc, (ValueError, TypeError)):
        raise AssertionError(f"{type(exc).__name__} escaped: {exc}") from exc
    message = str(exc).strip()
    if not message:
        raise AssertionError(f"{type(exc).__name__} with an empty message") from exc
    origin = traceback.extract_tb(exc.__traceback__)[-1].filename
    if any(part in origin for part in _NUMERIC_INTERNALS):
        raise AssertionError(
            f"{type(exc).__name__} from inside {origin} reached the user: {message}"
        ) from exc


def _assert_finite(value, what):
    if isinstance(value, T.DiscoResult):
        value = [value.score, *value.group_scores, *value.contributions]
    arr = np.asarray(value, dtype=np.float64)
    assert arr.size > 0 and np.all(np.isfinite(arr)), f"{what} returned {value!r}"


def _check(call, what):
    """Run ``call``; its result is finite or it raises a clear error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = call()
        except Exception as exc:  # noqa: BLE001 -- classified below
            _assert_clear_error(exc)
            return None
    _assert_finite(value, what)
    return value


# --------------------------------------------------------------------------- #
# strategies
# --------------------------------------------------------------------------- #
SCALE_EXPONENTS = [0, -2, 2, -8, 8, -30, 30]
EXTREME_EXPONENTS = [200, -200, 100, -100]
FLOAT32_EXPONENTS = [-30, -8, -2, 0, 2, 8, 30]
LABEL_FORMS = ["int", "gaps", "negative", "strings", "bools", "float_int", "object"]


@st.composite
def shapes(draw, max_n=60, max_d=40):
    n = draw(st.integers(2, max_n))
    d = draw(st.one_of(st.integers(1, 8), st.integers(1, max_d)))
    return n, d


@st.composite
def labels(draw, n):
    """Class labels of ``n`` samples in one of several forms; also real targets."""
    kind = draw(
        st.sampled_from(["balanced", "random", "single", "one_per_class", "real"])
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "real":
        return rng.standard_normal(n) * 10.0 ** draw(st.integers(-3, 3))
    if kind == "single":
        codes = np.zeros(n, dtype=np.int64)
    elif kind == "one_per_class":
        codes = rng.permutation(n)
    else:
        c = draw(st.integers(2, max(2, min(n, 8))))
        if kind == "balanced":
            codes = rng.permutation(np.arange(n) % c)
        else:
            codes = rng.integers(0, c, n)
    form = draw(st.sampled_from(LABEL_FORMS))
    if form == "bools" and codes.max() <= 1:
        return codes.astype(bool)
    if form == "gaps":
        return codes * 7 + 3
    if form == "negative":
        return -codes - 1
    if form == "strings":
        return np.array([f"class_{c}" for c in codes])
    if form == "float_int":
        return codes.astype(np.float64)
    if form == "object":
        return np.array([f"c{c}" for c in codes], dtype=object)
    return codes


def _class_signal(y, d, rng):
    """Class-dependent means for ``y`` of any form (zero for real targets)."""
    y = np.asarray(y)
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        return np.outer(y, rng.standard_normal(d))
    _, codes = np.unique(y.astype(str), return_inverse=True)
    return 2.0 * rng.standard_normal((codes.max() + 1, d))[codes]


@st.composite
def features(draw, n, d, y=None):
    """An ``n`` × ``d`` feature matrix: dtype, scale and degenerate columns drawn."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base = draw(st.sampled_from(["gauss", "relu", "lowrank", "integer"]))
    X = rng.standard_normal((n, d))
    if y is not None and draw(st.booleans()):
        X = X + _class_signal(y, d, rng)
    if base == "relu":
        X = np.maximum(X, 0.0)
    elif base == "lowrank":
        r = draw(st.integers(1, max(1, min(n, d))))
        X = X[:, :r] @ rng.standard_normal((r, d))
    elif base == "integer":
        X = np.round(X * draw(st.sampled_from([1, 3, 1000])))
    degenerate = draw(
        st.lists(st.sampled_from(["constant", "zero", "duplicate"]), max_size=3)
    )
    for kind in degenerate:
        j = rng.integers(d)
        if kind == "constant":
            X[:, j] = rng.standard_normal()
        elif kind == "zero":
            X[:, j] = 0.0
        else:
            X[:, j] = X[:, rng.integers(d)]
    if draw(st.booleans()) and n > 2:
        X[1] = X[0]  # a duplicated row
    dtype = draw(st.sampled_from(["float64", "float32", "int64"]))
    if dtype == "int64":
        return np.round(X).astype(np.int64)
    if dtype == "float32":
        exponent = draw(st.sampled_from(FLOAT32_EXPONENTS))
    elif draw(st.booleans()):  # half the float64 examples at an extreme scale
        exponent = draw(st.sampled_from(EXTREME_EXPONENTS))
    else:
        exponent = draw(st.sampled_from(SCALE_EXPONENTS))
    X = X * 10.0**exponent
    return X.astype(dtype)


@st.composite
def probabilities(draw, n):
    """Rows on the simplex: softmax at any temperature, one-hot, uniform."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = draw(st.integers(1, 20))
    kind = draw(st.sampled_from(["softmax", "onehot", "uniform"]))
    if kind == "onehot":
        P = np.eye(k)[rng.integers(0, k, n)]
    elif kind == "uniform":
        P = np.full((n, k), 1.0 / k)
    else:
        Z = rng.standard_normal((n, k)) * 10.0 ** draw(st.integers(-3, 3))
        Z -= Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
    if draw(st.booleans()):
        P = P.astype(np.float32)
    return P


@st.composite
def feature_case(draw, max_n=60, max_d=40):
    n, d = draw(shapes(max_n, max_d))
    y = draw(labels(n))
    return draw(features(n, d, y)), y


@st.composite
def probability_case(draw):
    n = draw(st.integers(2, 60))
    y = draw(labels(n))
    return draw(probabilities(n)), y


@st.composite
def models_case(draw):
    """Several models' features on one ``y`` (the set-level scores' input)."""
    n = draw(st.integers(2, 60))
    y = draw(labels(n))
    n_models = draw(st.integers(1, 3))
    Xs = [draw(features(n, draw(st.integers(1, 30)), y)) for _ in range(n_models)]
    return Xs, y


@st.composite
def detection_case(draw):
    n, d = draw(shapes())
    y = draw(labels(n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    boxes = rng.standard_normal((n, draw(st.integers(1, 4))))
    codes = np.unique(np.asarray(y).astype(str), return_inverse=True)[1]
    return draw(features(n, d, y)), np.column_stack([codes, boxes])


# Values a component or a per-model score may take: ordinary, tied, extreme.
component_values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([0.0, 1.0, -1.0, 1e-300, 1e300, -1e300]),
)


@st.composite
def model_vectors(draw, columns=None):
    m = draw(st.integers(1, 6))
    shape = (m,) if columns is None else (m, columns)
    values = draw(
        st.lists(
            component_values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))
        )
    )
    return np.array(values, dtype=np.float64).reshape(shape)


# --------------------------------------------------------------------------- #
# discovery of what to test
# --------------------------------------------------------------------------- #
def _first_parameters(func):
    params = list(inspect.signature(func).parameters)
    return tuple(params[:2])


def _public_functions():
    return {
        name: getattr(T, name)
        for name in T.__all__
        if inspect.isfunction(getattr(T, name))
    }


FUNCTIONS = _public_functions()
FEATURE_FUNCTIONS = sorted(
    n for n, f in FUNCTIONS.items() if _first_parameters(f) == ("features", "y")
)
PROBABILITY_FUNCTIONS = sorted(
    n
    for n, f in FUNCTIONS.items()
    if _first_parameters(f) in (("source_probs", "y"), ("source", "y"))
)
SET_FUNCTIONS = sorted(
    n
    for n, f in FUNCTIONS.items()
    if _first_parameters(f) == ("features_per_model", "y")
)
#: Public functions of other inputs, each with its own strategy below.
OTHER_FUNCTIONS = {
    "disco_detection": ("cls_scores", "reg_scores"),
    "etran_combine": ("energy", "lda"),
    "etran_energy": ("features",),
    "ncti_combine": ("components",),
}
#: The slowest probes (cross-validated classifiers, a Gaussian mixture, an
#: iterative optimiser) run on at most this many samples and features: their cost
#: grows with N·D per fold or per EM step, and the edge cases are all small.
SLOW_FUNCTIONS = {"linear_probe", "knn_probe", "nleep", "pactran_gauss"}


def test_every_public_function_is_covered():
    covered = (
        set(FEATURE_FUNCTIONS)
        | set(PROBABILITY_FUNCTIONS)
        | set(SET_FUNCTIONS)
        | set(OTHER_FUNCTIONS)
    )
    assert covered == set(FUNCTIONS)
    for name, params in OTHER_FUNCTIONS.items():
        assert _first_parameters(FUNCTIONS[name])[: len(params)] == params, name
    assert len(FEATURE_FUNCTIONS) >= 12 and len(PROBABILITY_FUNCTIONS) >= 4


def _scorers():
    out = []
    for _, Estimator in all_estimators():
        try:
            instances = construct_instances(Estimator, variants=True)
        except ValueError:
            continue
        for est in instances:
            if getattr(get_tags(est), "scorer_tags", None) is not None:
                out.append(pytest.param(est, id=repr(est).replace("\n", "")))
    return out


SCORERS = _scorers()


# --------------------------------------------------------------------------- #
# the tests
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", FEATURE_FUNCTIONS)
@settings(BASE, max_examples=_examples(25))
@given(data=st.data())
def test_feature_function_is_finite_or_raises_clearly(name, data):
    small = name in SLOW_FUNCTIONS
    X, y = data.draw(feature_case(30 if small else 60, 20 if small else 40))
    _check(lambda: FUNCTIONS[name](X, y), f"{name}(X{X.shape} {X.dtype}, y)")


@pytest.mark.parametrize("name", PROBABILITY_FUNCTIONS)
@settings(BASE, max_examples=_examples(40))
@given(case=probability_case())
def test_probability_function_is_finite_or_raises_clearly(name, case):
    P, y = case
    _check(lambda: FUNCTIONS[name](P, y), f"{name}(P{P.shape} {P.dtype}, y)")


@pytest.mark.parametrize("name", ["nce"])
@settings(BASE, max_examples=_examples(30))
@given(data=st.data())
def test_hard_source_function_is_finite_or_raises_clearly(name, data):
    n = data.draw(st.integers(2, 60))
    y = data.draw(labels(n))
    source = data.draw(labels(n))
    _check(lambda: FUNCTIONS[name](source, y), f"{name}(source, y)")


@pytest.mark.parametrize("name", SET_FUNCTIONS)
@settings(BASE, max_examples=_examples(20))
@given(case=models_case())
def test_set_function_is_finite_or_raises_clearly(name, case):
    Xs, y = case
    _check(lambda: FUNCTIONS[name](Xs, y), f"{name}({len(Xs)} models, y)")


@settings(BASE, max_examples=_examples(40))
@given(data=st.data())
def test_combiners_are_finite_or_raise_clearly(data):
    a = data.draw(model_vectors())
    b = data.draw(model_vectors())
    b = np.resize(b, a.shape)
    _check(lambda: T.disco_detection(a, b), "disco_detection")
    _check(lambda: T.etran_combine(a, b), "etran_combine")
    _check(lambda: T.ncti_combine(data.draw(model_vectors(3))), "ncti_combine")


@settings(BASE, max_examples=_examples(30))
@given(data=st.data())
def test_etran_energy_is_finite_or_raises_clearly(data):
    n, d = data.draw(shapes())
    X = data.draw(features(n, d))
    _check(lambda: T.etran_energy(X), f"etran_energy(X{X.shape} {X.dtype})")


@settings(BASE, max_examples=_examples(20))
@given(case=detection_case())
def test_disco_detection_components_is_finite_or_raises_clearly(case):
    X, y = case
    _check(lambda: T.disco_detection_components(X, y), "disco_detection_components")


def _scorer_case(data, scorer):
    """Inputs and a target that suit the scorer's tags."""
    tags = get_scorer_tags(scorer)
    task = data.draw(st.sampled_from(tags.tasks))
    small = type(scorer).__name__ in (
        "LinearProbeScorer",
        "KNNProbeScorer",
        "NLEEPScorer",
        "PACTranGaussScorer",
    )
    if task == "detection":
        return data.draw(detection_case())
    n, d = data.draw(shapes(30 if small else 60, 20 if small else 40))
    if task == "multilabel":
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
        y = rng.integers(0, 2, (n, data.draw(st.integers(1, 5))))
    else:
        y = data.draw(labels(n))
    if tags.input_kind == "probabilities":
        return data.draw(probabilities(n)), y
    if tags.input_kind == "labels":
        return np.asarray(data.draw(labels(n)))[:, None], y
    return data.draw(features(n, d, y if y.ndim == 1 else None)), y


def _fit_and_score(scorer, X, y):
    """The fitted score; for a set-level scorer, two models combined."""
    fitted = clone(scorer).fit(X, y)
    if not get_scorer_tags(scorer).set_level:
        return fitted.score_
    components = np.asarray(fitted.components_, dtype=np.float64)
    _assert_finite(components, f"{type(scorer).__name__}.components_")
    return scorer.combine_models(np.vstack([components, components + 1.0]))


@pytest.mark.parametrize("scorer", SCORERS)
@settings(BASE, max_examples=_examples(15))
@given(data=st.data())
def test_scorer_is_finite_or_raises_clearly(scorer, data):
    X, y = _scorer_case(data, scorer)
    what = f"{type(scorer).__name__}.fit(X{np.shape(X)}, y)"
    _check(lambda: _fit_and_score(scorer, X, y), what)


# --------------------------------------------------------------------------- #
# the cases issue 14 names, every run (hypothesis may draw them or not)
# --------------------------------------------------------------------------- #
def _named_case(case):
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = rng.standard_normal((60, 8)) + y[:, None]
    if case == "times_1e200":
        return X * 1e200, y
    if case == "times_1e-200":
        return X * 1e-200, y
    if case == "constant_features":
        return np.full((60, 8), 3.0), y
    if case == "zero_features":
        return np.zeros((60, 8)), y
    if case == "n_equals_2":
        return X[:2], y[:2]
    if case == "one_sample_per_class":
        return X[:12], np.arange(12)
    if case == "duplicated_columns":
        return np.column_stack([X, X]), y
    if case == "n_lt_d":
        return rng.standard_normal((12, 40)) + np.arange(12)[:, None] % 3, y[:12]
    if case == "float32":
        return X.astype(np.float32), y
    if case == "integer_features":
        return np.round(3 * X).astype(np.int64), y
    if case == "string_labels":
        return X, np.array(["a", "b", "c"])[y]
    if case == "bool_labels":
        return X, y == 0
    raise ValueError(case)


NAMED_CASES = [
    "times_1e200",
    "times_1e-200",
    "constant_features",
    "zero_features",
    "n_equals_2",
    "one_sample_per_class",
    "duplicated_columns",
    "n_lt_d",
    "float32",
    "integer_features",
    "string_labels",
    "bool_labels",
]


@pytest.mark.parametrize("case", NAMED_CASES)
@pytest.mark.parametrize("name", FEATURE_FUNCTIONS)
def test_feature_function_on_named_case_is_finite_or_raises_clearly(name, case):
    X, y = _named_case(case)
    _check(lambda: FUNCTIONS[name](X, y), f"{name} on {case}")
