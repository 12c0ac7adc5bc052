"""Inputs users actually pass: torch tensors, broken labels, integer regression targets.

Every public function of :mod:`skdisco.transferability` takes CPU (and CUDA)
torch tensors as the estimators do; labels holding ``None`` or mixing strings
and numbers get a ValueError naming the problem; a numeric target with too many
classes for its size (an integer-valued regression target such as
scikit-learn's ``load_diabetes``) is refused with advice instead of being
scored as hundreds of tiny classes.
"""

import inspect

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes

import skdisco.scorers as scorers
import skdisco.transferability as T
from skdisco.utils import check_classification_target, get_scorer_tags, infer_task

# NCTI's default 64 components exceed these small matrices; it says so and
# uses fewer, which is not what this file tests
pytestmark = pytest.mark.filterwarnings("ignore:NCTI projects on:UserWarning")

rng = np.random.default_rng(0)
BOXES = rng.standard_normal((60, 4))
X = rng.standard_normal((60, 5))
X2 = rng.standard_normal((60, 3))
Y = np.repeat(np.arange(3), 20)
P = rng.dirichlet(np.ones(4), size=60)


def _first_parameters(name):
    return tuple(inspect.signature(getattr(T, name)).parameters)[:2]


# the public functions of (features, y) and of (source probabilities, y),
# read from their signatures
FEATURE_FUNCTIONS = [
    n
    for n in T.__all__
    if n != "disco_detection_components" and _first_parameters(n) == ("features", "y")
]
PROBABILITY_FUNCTIONS = [
    n
    for n in T.__all__
    if _first_parameters(n)[1:] == ("y",)
    and _first_parameters(n)[0] in ("source_probs", "source")
]


def _call(name, as_input):
    f = getattr(T, name)
    if name in FEATURE_FUNCTIONS:
        return f(as_input(X), as_input(Y))
    if name in PROBABILITY_FUNCTIONS:
        return f(as_input(P), as_input(Y))
    if name == "etran_energy":
        return f(as_input(X))
    if name in ("etran", "ncti"):
        return f([as_input(X), as_input(X2)], as_input(Y))
    if name == "disco_detection":
        return f(as_input(np.array([0.2, 0.5])), as_input(np.array([0.1, 0.3])))
    if name == "etran_combine":
        return f(as_input(np.array([0.2, 0.5])), as_input(np.array([0.1, 0.3])))
    if name == "ncti_combine":
        return f(as_input(np.array([[1.0, 0.3, 2.0], [2.0, 0.1, 1.0]])))
    if name == "disco_detection_components":
        return f(
            as_input(np.column_stack([X, BOXES])), as_input(np.column_stack([Y, BOXES]))
        )
    raise AssertionError(f"no call for {name}")


FUNCTIONS = [n for n in T.__all__ if callable(getattr(T, n)) and n != "DiscoResult"]


def _values(result):
    result = getattr(result, "score", result)
    if isinstance(result, tuple):
        return np.concatenate([np.ravel(np.asarray(r, float)) for r in result])
    return np.ravel(np.asarray(result, dtype=float))


def test_every_public_function_is_exercised():
    for name in FUNCTIONS:
        _call(name, np.asarray)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_transferability_function_accepts_cpu_tensors(name):
    expected = _values(_call(name, np.asarray))
    got = _values(_call(name, torch.as_tensor))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["logme", "gbc", "leep", "etran"])
def test_transferability_function_accepts_tensors_requiring_grad(name):
    def tensor(a):
        t = torch.as_tensor(a)
        return t.requires_grad_() if t.is_floating_point() else t

    expected = _values(_call(name, np.asarray))
    np.testing.assert_allclose(_values(_call(name, tensor)), expected, rtol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["logme", "disco", "leep", "ncti"])
def test_transferability_function_accepts_cuda_tensors(name):
    expected = _values(_call(name, np.asarray))
    got = _values(_call(name, lambda a: torch.as_tensor(a).cuda()))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def _labels_with_none():
    y = Y.astype(object)
    y[7] = None
    return y


def _labels_mixing_types():
    y = Y.astype(object)
    y[:20] = "cat"
    return y


BROKEN_LABELS = {
    "none": (_labels_with_none(), r"missing labels \(None\)"),
    "mixed": (_labels_mixing_types(), "mixes strings and numbers"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_LABELS))
@pytest.mark.parametrize(
    "name", FEATURE_FUNCTIONS + PROBABILITY_FUNCTIONS + ["etran", "ncti"]
)
def test_function_rejects_broken_labels(name, kind):
    y, match = BROKEN_LABELS[kind]
    f = getattr(T, name)
    if name in ("etran", "ncti"):
        args = ([X, X2], y)
    else:
        args = (P if name in PROBABILITY_FUNCTIONS else X, y)
    with pytest.raises(ValueError, match=match):
        f(*args)


SCORERS = [n for n in scorers.__all__ if n != "BaseScorer"]


def _scorer_data(cls):
    kind = get_scorer_tags(cls()).input_kind
    return P if kind == "probabilities" else X


@pytest.mark.parametrize("kind", sorted(BROKEN_LABELS))
@pytest.mark.parametrize("name", [n for n in SCORERS if n != "DiscoDetectionScorer"])
def test_scorer_rejects_broken_labels(name, kind):
    y, match = BROKEN_LABELS[kind]
    cls = getattr(scorers, name)
    with pytest.raises(ValueError, match=match):
        cls().fit(_scorer_data(cls), y)


X_DIABETES, Y_DIABETES = load_diabetes(return_X_y=True)
P_DIABETES = rng.dirichlet(np.ones(4), size=X_DIABETES.shape[0])


def test_infer_task_refuses_integer_valued_regression_target():
    with pytest.raises(ValueError, match="214 distinct values over 442 samples"):
        infer_task(Y_DIABETES)
    assert infer_task(Y_DIABETES, "regression") == "regression"


def test_integer_valued_regression_target_rule_keeps_small_label_sets():
    # 30 classes of 2 (no value seen once) and 20 singleton classes stay classes
    assert infer_task(np.repeat(np.arange(30), 2)) == "classification"
    assert infer_task(np.arange(20)) == "classification"
    # string labels are classes whatever their number
    labels = np.array([f"c{v:.0f}" for v in Y_DIABETES])
    assert infer_task(labels) == "classification"
    assert check_classification_target(Y_DIABETES, allow_many_classes=True)[
        1
    ].shape == (214,)


@pytest.mark.parametrize("function", [T.logme, T.disco])
def test_logme_and_disco_suggest_regression_for_integer_target(function):
    with pytest.raises(ValueError, match="task='regression'"):
        function(X_DIABETES, Y_DIABETES)
    assert np.isfinite(function(X_DIABETES, Y_DIABETES, task="regression"))


@pytest.mark.parametrize("name", ["LogMEScorer", "DiscoScorer"])
def test_logme_and_disco_scorers_suggest_regression_for_integer_target(name):
    cls = getattr(scorers, name)
    with pytest.raises(ValueError, match="task='regression'"):
        cls().fit(X_DIABETES, Y_DIABETES)
    assert np.isfinite(cls(task="regression").fit(X_DIABETES, Y_DIABETES).score_)


def test_nce_refuses_continuous_source():
    source = rng.standard_normal(60)  # real values, not source labels
    with pytest.raises(ValueError, match="real values"):
        T.nce(source, Y)
    # integer-valued floats are labels and keep their score
    hard = rng.integers(0, 4, 60)
    assert T.nce(hard.astype(float), Y) == pytest.approx(T.nce(hard, Y), rel=1e-12)


def test_nce_refuses_source_labels_mixing_types():
    source = np.array(["a", 1] * 30, dtype=object)
    with pytest.raises(ValueError, match="source mixes strings and numbers"):
        T.nce(source, Y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_messages_print_plain_values_not_numpy_reprs():
    from skdisco.selection import top_k_relative_accuracy
    from skdisco.utils import check_scalar_positive_int

    with pytest.raises(ValueError) as info:
        T.gbc(X, np.array(["zero"] * 60))
    assert "('zero')" in str(info.value) and "np.str_" not in str(info.value)
    with pytest.raises(ValueError) as info:
        T.sfda(X, np.array(["zero"] * 59 + ["one"]))
    assert "'one' (1)" in str(info.value) and "np.str_" not in str(info.value)
    with pytest.raises(ValueError) as info:
        top_k_relative_accuracy([0.1, 0.2], np.array([0.0, 25.0]))
    assert "a minimum of 0.0" in str(info.value) and "np.float64" not in str(info.value)
    with pytest.raises(ValueError, match=r"got 2\.5\.$"):
        check_scalar_positive_int(np.float64(2.5), "n_groups")
    s = scorers.LogMEScorer().partial_fit(X[:4], np.array(["a", "b", "a", "b"]))
    with pytest.raises(ValueError, match=r"not in classes: \['c'\]\.$"):
        s.partial_fit(X[4:8], np.array(["a", "c", "a", "b"]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["LogMEScorer", "DiscoScorer", "LEEPScorer"])
def test_scorer_accepts_cuda_tensors(name):
    cls = getattr(scorers, name)
    data = _scorer_data(cls)
    expected = cls().fit(data, Y).score_
    got = cls().fit(torch.as_tensor(data).cuda(), torch.as_tensor(Y).cuda()).score_
    assert got == pytest.approx(expected, rel=1e-12)
