"""Input validation: every bad input gets a ValueError that names the problem."""

import numpy as np
import pytest

from skdisco.utils import (
    check_classification_target,
    check_features,
    check_regression_target,
    infer_task,
)


def test_check_features_keeps_float32_without_copy():
    X = np.ones((4, 3), dtype=np.float32)
    out = check_features(X)
    assert out.dtype == np.float32
    assert np.shares_memory(out, X)


def test_check_features_converts_integers_to_float64():
    assert check_features(np.ones((3, 2), dtype=np.int64)).dtype == np.float64


@pytest.mark.parametrize(
    "X,match",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "infinity"),
        (np.ones(3), "2D array"),
        (np.ones((0, 3)), "0 sample"),
        (np.ones((1, 3)), "1 sample"),
        (np.array([["x", "y"], ["z", "w"]], dtype=object), "numeric"),
        (np.array([["x", "y"], ["z", "w"]]), "numeric"),
    ],
    ids=["nan", "inf", "1d", "empty", "one-row", "object-strings", "strings"],
)
def test_check_features_rejects_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        check_features(X)


def test_check_classification_target_remaps_any_labels():
    y_enc, classes = check_classification_target(["b", "a", "c", "a"])
    np.testing.assert_array_equal(y_enc, [1, 0, 2, 0])
    np.testing.assert_array_equal(classes, ["a", "b", "c"])
    y_enc, classes = check_classification_target([42, 3, 10, 3])
    np.testing.assert_array_equal(y_enc, [2, 0, 1, 0])
    np.testing.assert_array_equal(classes, [3, 10, 42])


@pytest.mark.parametrize(
    "y,kwargs,match",
    [
        ([1, 1, 1], {}, "single class"),
        ([0, 1, 1, 1], {"min_samples_per_class": 2}, "at least 2 samples"),
        ([0, 1], {"n_samples": 3}, "3 samples but y has 2"),
        ([0.0, np.nan, 1.0], {}, "NaN"),
        (np.zeros((3, 2)), {}, "1-D"),
        (np.array([0, None, 1], dtype=object), {}, "missing"),
        ([0.5, 1.25, 0.5, 2.0], {}, "continuous"),
    ],
    ids=["one-class", "class-of-one", "length", "nan", "2d", "none", "continuous"],
)
def test_check_classification_target_rejects_bad_labels(y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_classification_target(y, **kwargs)


def test_check_regression_target_shapes_and_errors():
    assert check_regression_target([1, 2, 3]).shape == (3, 1)
    assert check_regression_target(np.ones((3, 2))).shape == (3, 2)
    with pytest.raises(ValueError, match="NaN"):
        check_regression_target([1.0, np.nan])
    with pytest.raises(ValueError, match="numeric"):
        check_regression_target(["a", "b"])
    with pytest.raises(ValueError, match="2 samples but y has 3"):
        check_regression_target([1.0, 2.0, 3.0], n_samples=2)
    with pytest.raises(ValueError, match="shape"):
        check_regression_target(np.ones((2, 2, 2)))


@pytest.mark.parametrize(
    "y,expected",
    [
        ([0, 1, 0], "classification"),
        (["a", "b", "c"], "classification"),
        ([0.5, 1.5, 2.25], "regression"),
        (np.array([[0, 1], [1, 1], [1, 0]]), "regression"),
        (np.random.default_rng(0).random((5, 2)), "regression"),
    ],
    ids=["binary", "strings", "continuous", "multilabel", "multioutput"],
)
def test_infer_task(y, expected):
    assert infer_task(y) == expected


def test_infer_task_rejects_unknown_and_multiclass_multioutput():
    with pytest.raises(ValueError, match="multiclass-multioutput"):
        infer_task(np.array([[0, 1], [2, 1], [1, 0]]))
    with pytest.raises(ValueError, match="task must be"):
        infer_task([0, 1], task="ranking")
    assert infer_task([0.5, 1.5], task="classification") == "classification"


def test_check_classification_target_accepts_integral_floats():
    y_enc, classes = check_classification_target([2.0, 0.0, 2.0, 0.0])
    np.testing.assert_array_equal(y_enc, [1, 0, 1, 0])
    np.testing.assert_array_equal(classes, [0.0, 2.0])
