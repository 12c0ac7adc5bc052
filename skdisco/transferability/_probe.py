"""Probing baselines: cross-validated accuracy of a linear or kNN classifier.

Not transferability estimators in the strict sense -- they train a classifier --
but the yardstick the estimators are meant to approximate cheaply.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import PredefinedSplit, cross_val_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

from ..utils._validation import check_classification_target, check_features
from ..utils._warnings import user_stacklevel
from ._disco import stratified_folds
from ._linalg import content_order, rescaled

#: What needs every sample at once (the out-of-core error says it).
LINEAR_PROBE_IN_MEMORY = (
    "its cross-validated logistic regression (lbfgs) "
    "reads every sample at every iteration"
)

#: What needs every sample at once (the out-of-core error says it).
KNN_PROBE_IN_MEMORY = (
    "its leave-one-out k-nearest-neighbour search compares "
    "every sample with all the others"
)


def _folds(F, y_enc, n_classes, cv, random_state):
    """Data and folds of a probe: content-keyed folds for an integer ``cv``.

    For an integer ``cv`` the rows are put in :func:`content_order` and dealt
    round-robin into stratified folds by that order
    (:func:`~skdisco.transferability._disco.stratified_folds`, as DISCO's
    cross-validated posterior), so the folds -- and every fit on them -- do
    not depend on the order of the samples or the names of the classes. A
    cross-validation splitter is used as given, on the rows as given.
    Warns and uses fewer folds when the smallest class is smaller than ``cv``.
    """
    # Both probes are invariant to a global rescaling (the linear probe
    # standardises, the kNN probe compares distances): features of extreme
    # magnitude are divided by a power of two (exactly) before anything is squared.
    F = np.asarray(rescaled(F)[0], dtype=np.float64)
    if not isinstance(cv, Integral):
        return F, y_enc, cv
    smallest = int(np.bincount(y_enc, minlength=n_classes).min())
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
            stacklevel=user_stacklevel(),
        )
        n_splits = smallest
    order, key = content_order(F, y_enc)
    F, y_enc = F[order], y_enc[order]
    fold = stratified_folds(key, y_enc, n_classes, n_splits, random_state)
    return F, y_enc, PredefinedSplit(fold)


def linear_probe_estimator(C=1.0, max_iter=1000):
    """The probe: standardisation followed by multinomial logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))


#: Constraints of each probe's parameters, shared by the function and the
#: estimator.
_CV = [
    Interval(Integral, 2, None, closed="left"),
    HasMethods(["split", "get_n_splits"]),
]
_LINEAR_PROBE_PARAMETERS = {
    "cv": _CV,
    "C": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
}
_KNN_PROBE_PARAMETERS = {
    "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    "cv": _CV,
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
    cv : int or cross-validation splitter, default=5
        An int: that many stratified folds assigned from the content of the
        samples (fewer, with a warning, when the smallest class is smaller),
        so the score does not depend on the order of the samples or the names
        of the classes. A splitter (e.g. ``StratifiedKFold(5, shuffle=True,
        random_state=0)``, the behaviour before this choice) is used as given
        on the rows in the order given.
    C : float, default=1.0
        Inverse L2 regularisation strength of the logistic regression.
    max_iter : int, default=1000
        Iterations of the L-BFGS solver.
    random_state : int, RandomState instance or None, default=0
        With an integer ``cv``: permutes the fold labels within each block of
        ``cv`` consecutive samples of a class in content order (the same
        permutation for every class); ``None`` deals them in order. It never
        reorders by position, so the score stays invariant to sample order.
        Ignored when ``cv`` is a splitter.

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
    LogisticRegression(C=C, max_iter=max_iter)), X, y, cv=folds).mean()``.
    The folds of an integer ``cv``: the features are divided by their largest
    magnitude, the samples sorted by the norm of their centred row (ties by
    their values, then their label) and dealt round-robin into ``cv`` folds
    within each class, as DISCO's cross-validated posterior does; the scores
    are then invariant to sample order, to label names and to a global
    rescaling of the features.
    Cost: ``cv`` logistic-regression fits, O(cv·iter·N·D·C) -- by far the most
    expensive baseline here; it is what the transferability scores approximate.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import linear_probe
    >>> X, y = load_iris(return_X_y=True)
    >>> round(linear_probe(X, y), 4)
    0.9533
    """
    F = check_features(features, out_of_core="linear probe", why=LINEAR_PROBE_IN_MEMORY)
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
    F, y, folds = _folds(F, y, n_classes, cv, random_state)
    model = linear_probe_estimator(C, max_iter)
    scores = cross_val_score(model, F, y, cv=folds, error_score="raise")
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
    cv : int or cross-validation splitter, default=5
        An int: that many stratified folds assigned from the content of the
        samples (fewer, with a warning, when the smallest class is smaller),
        so the score does not depend on the order of the samples or the names
        of the classes. A splitter (e.g. ``StratifiedKFold(5, shuffle=True,
        random_state=0)``, the behaviour before this choice) is used as given
        on the rows in the order given.
    random_state : int, RandomState instance or None, default=0
        With an integer ``cv``: permutes the fold labels within each block of
        ``cv`` consecutive samples of a class in content order (the same
        permutation for every class); ``None`` deals them in order. It never
        reorders by position, so the score stays invariant to sample order.
        Ignored when ``cv`` is a splitter.

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
    cv=folds).mean()``, except that a tied vote goes to the tied class whose
    voters are closer in total (then to the class of the nearest voter), not
    to the class that sorts first: the score does not change when the classes
    are renamed. With a splitter as ``cv`` the classifier is scikit-learn's
    ``KNeighborsClassifier`` (the behaviour before this choice).
    The folds of an integer ``cv``: the features are divided by their largest
    magnitude, the samples sorted by the norm of their centred row (ties by
    their values, then their label) and dealt round-robin into ``cv`` folds
    within each class, as DISCO's cross-validated posterior does; the scores
    are then invariant to sample order, to label names and to a global
    rescaling of the features.
    Cost: O(N²·D) distance computations over the folds.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import knn_probe
    >>> X, y = load_iris(return_X_y=True)
    >>> round(knn_probe(X, y), 4)
    0.96
    """
    F = check_features(features, out_of_core="kNN probe", why=KNN_PROBE_IN_MEMORY)
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
    F, y, folds = _folds(F, y, n_classes, cv, random_state)
    if isinstance(cv, Integral):
        fold = folds.test_fold
        n_train = F.shape[0] - int(np.bincount(fold).max())
        if n_train < n_neighbors:
            raise ValueError(
                f"The kNN probe needs at least n_neighbors={n_neighbors} training "
                f"samples in every fold; with {F.shape[0]} samples in "
                f"{folds.get_n_splits()} folds the smallest training part has "
                f"{n_train}. Use fewer neighbours or more samples."
            )
        knn = NeighbourVote(n_neighbors=n_neighbors)
    else:  # the behaviour before: scikit-learn's vote, ties to the first class
        knn = KNeighborsClassifier(n_neighbors=n_neighbors)
    scores = cross_val_score(knn, F, y, cv=folds, error_score="raise")
    return float(np.mean(scores))


class NeighbourVote(NearestNeighbors):
    """k-nearest-neighbour majority vote whose ties do not depend on label names.

    Like :class:`~sklearn.neighbors.KNeighborsClassifier` with uniform weights,
    except for ties: scikit-learn gives a tied vote to the class that sorts
    first, so renaming the classes changes predictions. Here a tied vote goes to
    the tied class whose voters are closer in total, then to the tied class of
    the nearest voter (in the order the neighbours are returned). Labels are
    encoded ``0 .. n_classes - 1``; ``score`` is the accuracy.
    """

    def fit(self, X, y):
        super().fit(X)
        self.labels_ = np.asarray(y)
        self.n_classes_ = int(self.labels_.max()) + 1
        return self

    def predict(self, X):
        dist, ind = self.kneighbors(X)
        votes = self.labels_[ind]
        rows = np.arange(votes.shape[0])[:, None]
        counts = np.zeros((votes.shape[0], self.n_classes_))
        sums = np.zeros_like(counts)
        np.add.at(counts, (rows, votes), 1.0)
        np.add.at(sums, (rows, votes), dist)
        best = counts[rows, votes] == counts.max(axis=1, keepdims=True)
        total = np.where(best, sums[rows, votes], np.inf)
        best &= total == total.min(axis=1, keepdims=True)
        return votes[rows[:, 0], np.argmax(best, axis=1)]

    def score(self, X, y):
        return float(np.mean(self.predict(X) == np.asarray(y)))


__all__ = ["knn_probe", "linear_probe"]
