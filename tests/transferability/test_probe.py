"""Linear and kNN probes against scikit-learn's cross_val_score."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import PredefinedSplit, StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdisco.transferability import knn_probe, linear_probe


def _data():
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    return rng.standard_normal((120, 8)) + 0.8 * y[:, None], y


def _overlapping_blobs():
    """Four overlapping classes: accuracies far from 1, where folds matter."""
    return make_blobs(
        n_samples=200, n_features=16, centers=4, cluster_std=12.0, random_state=0
    )


def test_linear_probe_with_splitter_equals_cross_val_score():
    # The behaviour before content-keyed folds: one argument away.
    X, y = _data()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
    expected = cross_val_score(model, X, y, cv=cv).mean()
    assert linear_probe(X, y, C=0.5, cv=cv) == pytest.approx(expected, rel=1e-12)


def test_knn_probe_with_splitter_equals_cross_val_score_with_string_labels():
    X, y = _data()
    cv = StratifiedKFold(4, shuffle=True, random_state=2)
    expected = cross_val_score(KNeighborsClassifier(3), X, y, cv=cv).mean()
    labels = np.array(["a", "b", "c"])[y]
    got = knn_probe(X, labels, n_neighbors=3, cv=cv)
    assert got == pytest.approx(expected, rel=1e-12)


def _rank_folds(X, y, n_folds):
    """Oracle of the default folds without ties: rank by centred norm in class."""
    norms = np.linalg.norm(X - X.mean(axis=0), axis=1)
    fold = np.empty(len(y), dtype=int)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        fold[members[np.argsort(norms[members])]] = np.arange(len(members)) % n_folds
    return PredefinedSplit(fold)


def test_linear_probe_default_folds_are_ranked_by_content():
    X, y = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
    expected = cross_val_score(model, X, y, cv=_rank_folds(X, y, 5)).mean()
    got = linear_probe(X, y, C=0.5, random_state=None)
    assert got == pytest.approx(expected, rel=1e-12)


def test_knn_probe_default_folds_are_ranked_by_content_two_classes():
    # Two classes, three voters: no tied vote, so scikit-learn's kNN is the oracle.
    X, y = _data()
    keep = y < 2
    X, y = X[keep], y[keep]
    expected = cross_val_score(KNeighborsClassifier(3), X, y, cv=_rank_folds(X, y, 4))
    got = knn_probe(X, y, n_neighbors=3, cv=4, random_state=None)
    assert got == pytest.approx(expected.mean(), rel=1e-12)


def test_probes_invariant_to_sample_order_on_overlapping_blobs():
    # Before content-keyed folds: linear 0.735 -> 0.75, kNN 0.695 -> 0.68.
    X, y = _overlapping_blobs()
    perm = np.random.default_rng(7).permutation(len(y))
    for probe in (linear_probe, knn_probe):
        assert probe(X[perm], y[perm]) == probe(X, y), probe.__name__
    assert linear_probe(X, y) == pytest.approx(0.74)
    assert knn_probe(X, y) == pytest.approx(0.695)


def test_probes_invariant_to_label_names_on_overlapping_blobs():
    # Before: kNN 0.695 (0..3), 0.69 (reversed), 0.69 (strings).
    X, y = _overlapping_blobs()
    names = [3 - y, y * 11 + 5, np.array(["w", "x", "y", "z"])[::-1][y]]
    for probe in (linear_probe, knn_probe):
        base = probe(X, y)
        for renamed in names:
            assert probe(X, renamed) == base, probe.__name__


def test_knn_probe_tied_vote_goes_to_closer_class_whatever_its_name():
    # Each test point has one neighbour of each class; the closer one must win,
    # whichever class sorts first (scikit-learn gives the tie to the first).
    X = np.array([[0.0], [0.3], [10.0], [10.3], [20.0], [20.3], [30.0], [30.3]])
    near_a = np.array([0, 1, 0, 1, 0, 1, 0, 1])  # the first of a pair is class 0
    for labels in (near_a, 1 - near_a, np.array(["b", "a"])[near_a]):
        # Folds of 2 (cv=2): every held-out point's 2 neighbours are its pair
        # partner and a point of the other pair of the same fold.
        assert knn_probe(X, labels, n_neighbors=2, cv=2) == knn_probe(
            X, near_a, n_neighbors=2, cv=2
        )


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e-8, 1e8])
def test_probes_invariant_to_extreme_feature_scales(scale):
    # Before: linear_probe raised "All the 5 fits failed" at 1e200 and kNN fell
    # to chance (0.3333) at 1e±200 (squared distances overflow or vanish).
    X, y = _data()
    for probe in (linear_probe, knn_probe):
        assert probe(X * scale, y) == pytest.approx(probe(X, y), abs=1e-12)


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


def test_knn_probe_with_too_few_training_samples_raises():
    # Before: NaN (cross_val_score turned each fold's error into NaN).
    X = np.arange(4.0)[:, None]
    with pytest.raises(ValueError, match="n_neighbors=5 training samples"):
        knn_probe(X, [0, 0, 1, 1])
    cv = StratifiedKFold(2)
    with pytest.raises(ValueError, match="n_neighbors"):
        knn_probe(X, [0, 0, 1, 1], cv=cv)
