"""Linear and kNN probes against scikit-learn's cross_val_score."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdisco.transferability import knn_probe, linear_probe


def _data():
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    return rng.standard_normal((120, 8)) + 0.8 * y[:, None], y


def test_linear_probe_equals_cross_val_score():
    X, y = _data()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
    expected = cross_val_score(model, X, y, cv=cv).mean()
    assert linear_probe(X, y, C=0.5) == pytest.approx(expected, rel=1e-12)


def test_knn_probe_equals_cross_val_score_with_string_labels():
    X, y = _data()
    cv = StratifiedKFold(4, shuffle=True, random_state=2)
    expected = cross_val_score(KNeighborsClassifier(3), X, y, cv=cv).mean()
    labels = np.array(["a", "b", "c"])[y]
    got = knn_probe(X, labels, n_neighbors=3, cv=4, random_state=2)
    assert got == pytest.approx(expected, rel=1e-12)


def test_probes_warn_and_reduce_folds_for_small_classes():
    X, y = _data()
    y = y.copy()
    y[:111] = np.where(y[:111] == 2, 0, y[:111])  # class 2 keeps 3 samples
    with pytest.warns(UserWarning, match="folds"):
        assert 0.0 <= knn_probe(X, y) <= 1.0


def test_probes_reject_singleton_class():
    X, y = _data()
    y = y.copy()
    y[y == 2] = 1
    y[0] = 2
    for probe in (linear_probe, knn_probe):
        with pytest.raises(ValueError, match="at least 2 samples"):
            probe(X, y)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (
            np.array([[0.0, 1.0], [np.nan, 1.0], [1.0, 2.0], [2.0, 0.0]]),
            [0, 1, 0, 1],
            "NaN",
        ),
        (np.arange(8.0).reshape(4, 2), [0, 0, 0, 0], "single class"),
        (np.arange(8.0).reshape(4, 2), [0, 1, 0], "samples"),
        (np.arange(4.0), [0, 1, 0, 1], "2D|2-D|2d"),
        (np.array([["a", "b"], ["c", "d"]]), [0, 1], "numeric"),
    ],
)
def test_linear_probe_bad_input_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        linear_probe(X, y)
