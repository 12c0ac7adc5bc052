"""Probing baselines: cross-validated accuracy of a linear or kNN classifier.

Not transferability estimators in the strict sense -- they train a classifier --
but the yardstick the estimators are meant to approximate cheaply.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._validation import check_classification_target, check_features
from ._linalg import rescaled


def _folds(y_enc, cv, random_state):
    """Stratified folds; warn and use fewer folds when a class is too small."""
    smallest = int(np.bincount(y_enc).min())
    if smallest < 2:
        raise ValueError(
            "Every class needs at least 2 samples for a cross-validated probe; "
            f"the smallest class has {smallest}."
        )
    n_splits = cv
    if smallest < cv:
        warnings.warn(
            f"The smallest class has {smallest} samples, fewer than cv={cv}; "
            f"using {smallest} folds.",
            UserWarning,
            stacklevel=4,
        )
        n_splits = smallest
    return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)


def linear_probe_estimator(C=1.0, max_iter=1000):
    """The probe: standardisation followed by multinomial logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))


#: Constraints of each probe's parameters, shared by the function and the
#: estimator.
_LINEAR_PROBE_PARAMETERS = {
    "cv": [Interval(Integral, 2, None, closed="left")],
    "C": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
}
_KNN_PROBE_PARAMETERS = {
    "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    "cv": [Interval(Integral, 2, None, closed="left")],
    "random_state": ["random_state"],
}


@validate_params(
    {"features": ["array-like"], "y": ["array-like"], **_LINEAR_PROBE_PARAMETERS},
    prefer_skip_nested_validation=True,
)
def linear_probe(features, y, *, cv=5, C=1.0, max_iter=1000, random_state=0):
    r"""Linear-probe baseline: cross-validated accuracy of logistic regression.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target data.
    y : array-like of shape (n_samples,)
        Target class labels (any labels).
    cv : int, default=5
        Number of stratified, shuffled folds (fewer, with a warning, when the
        smallest class is smaller).
    C : float, default=1.0
        Inverse L2 regularisation strength of the logistic regression.
    max_iter : int, default=1000
        Iterations of the L-BFGS solver.
    random_state : int, RandomState instance or None, default=0
        Seeds the fold shuffling.

    Returns
    -------
    score : float
        Mean held-out accuracy in [0, 1]; higher is better.

    See Also
    --------
    knn_probe : The non-parametric counterpart.
    skdisco.scorers.LinearProbeScorer : The estimator.

    Notes
    -----
    ``cross_val_score(make_pipeline(StandardScaler(),
    LogisticRegression(C=C, max_iter=max_iter)), X, y,
    cv=StratifiedKFold(cv, shuffle=True, random_state=random_state)).mean()``.
    Cost: ``cv`` logistic-regression fits, O(cv·iter·N·D·C) -- by far the most
    expensive baseline here; it is what the transferability scores approximate.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import linear_probe
    >>> X, y = load_iris(return_X_y=True)
    >>> round(linear_probe(X, y), 4)
    0.96
    """
    F = check_features(features)
    y_enc, classes = check_classification_target(y, F.shape[0])
    return linear_probe_result(
        F,
        y_enc,
        classes.shape[0],
        cv=cv,
        C=C,
        max_iter=max_iter,
        random_state=random_state,
    )


def linear_probe_result(F, y, n_classes, *, cv=5, C=1.0, max_iter=1000, random_state=0):
    """Linear-probe accuracy of ``F`` for labels encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    folds = _folds(y, cv, random_state)
    # Standardised first, so scale invariant: features of extreme magnitude
    # are divided by a power of two (exactly) before the scaler squares them.
    F = rescaled(F)[0]
    scores = cross_val_score(linear_probe_estimator(C, max_iter), F, y, cv=folds)
    return float(np.mean(scores))


@validate_params(
    {"features": ["array-like"], "y": ["array-like"], **_KNN_PROBE_PARAMETERS},
    prefer_skip_nested_validation=True,
)
def knn_probe(features, y, *, n_neighbors=5, cv=5, random_state=0):
    r"""kNN baseline: cross-validated accuracy of a k-nearest-neighbour classifier.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target data.
    y : array-like of shape (n_samples,)
        Target class labels (any labels).
    n_neighbors : int, default=5
        Neighbours voting (Euclidean distance on the raw features).
    cv : int, default=5
        Number of stratified, shuffled folds.
    random_state : int, RandomState instance or None, default=0
        Seeds the fold shuffling.

    Returns
    -------
    score : float
        Mean held-out accuracy in [0, 1]; higher is better.

    See Also
    --------
    linear_probe : The linear counterpart.
    skdisco.scorers.KNNProbeScorer : The estimator.

    Notes
    -----
    ``cross_val_score(KNeighborsClassifier(n_neighbors), X, y,
    cv=StratifiedKFold(cv, shuffle=True, random_state=random_state)).mean()``.
    Cost: O(N²·D) distance computations over the folds.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import knn_probe
    >>> X, y = load_iris(return_X_y=True)
    >>> round(knn_probe(X, y), 4)
    0.9533
    """
    F = check_features(features)
    y_enc, classes = check_classification_target(y, F.shape[0])
    return knn_probe_result(
        F,
        y_enc,
        classes.shape[0],
        n_neighbors=n_neighbors,
        cv=cv,
        random_state=random_state,
    )


def knn_probe_result(F, y, n_classes, *, n_neighbors=5, cv=5, random_state=0):
    """kNN-probe accuracy of ``F`` for labels encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    folds = _folds(y, cv, random_state)
    # Neighbours do not change with a global rescaling: features of extreme
    # magnitude are divided by a power of two (exactly) before any distance.
    F = rescaled(F)[0]
    knn = KNeighborsClassifier(n_neighbors=n_neighbors)
    return float(np.mean(cross_val_score(knn, F, y, cv=folds)))


__all__ = ["knn_probe", "linear_probe"]
