"""Probing baselines as estimators: linear and kNN probes."""

from __future__ import annotations

from ..transferability._probe import (
    _KNN_PROBE_PARAMETERS,
    _LINEAR_PROBE_PARAMETERS,
    KNN_PROBE_IN_MEMORY,
    LINEAR_PROBE_IN_MEMORY,
    knn_probe,
    knn_probe_result,
    linear_probe,
    linear_probe_result,
)
from ._base import BaseScorer, fill_scorer_doc


@fill_scorer_doc
class LinearProbeScorer(BaseScorer):
    r"""Linear-probe baseline: cross-validated logistic-regression accuracy.

    Higher is better, in [0, 1]. Trains ``cv`` classifiers: the costly yardstick.
    See :func:`skdisco.transferability.linear_probe` for the maths, the reference
    implementations and how we differ from them.

    Parameters
    ----------
    cv : int or cross-validation splitter, default=5
        Stratified folds assigned from the samples' content (invariant to
        sample order and label names), or a splitter used as given.
    C : float, default=1.0
        Inverse L2 regularisation strength.
    max_iter : int, default=1000
        L-BFGS iterations.
    random_state : int, RandomState instance or None, default=0
        Permutes the fold labels within blocks of samples in content order;
        ignored with a splitter.

    Attributes
    ----------
    {score_}
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.linear_probe : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import LinearProbeScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(random_state=1)
    >>> round(LinearProbeScorer().fit(X, y).score_, 4)
    1.0
    """

    _in_memory_reason = LINEAR_PROBE_IN_MEMORY
    _score_function = staticmethod(linear_probe)
    _result_function = staticmethod(linear_probe_result)
    _parameter_constraints: dict = dict(_LINEAR_PROBE_PARAMETERS)

    def __init__(self, *, cv=5, C=1.0, max_iter=1000, random_state=0):
        self.cv = cv
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state


@fill_scorer_doc
class KNNProbeScorer(BaseScorer):
    r"""kNN baseline: cross-validated k-nearest-neighbour accuracy.

    Higher is better, in [0, 1].
    See :func:`skdisco.transferability.knn_probe` for the maths, the reference
    implementations and how we differ from them.

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours voting.
    cv : int or cross-validation splitter, default=5
        Stratified folds assigned from the samples' content (invariant to
        sample order and label names), or a splitter used as given.
    random_state : int, RandomState instance or None, default=0
        Permutes the fold labels within blocks of samples in content order;
        ignored with a splitter.

    Attributes
    ----------
    {score_}
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.knn_probe : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import KNNProbeScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(random_state=1)
    >>> round(KNNProbeScorer().fit(X, y).score_, 4)
    1.0
    """

    _in_memory_reason = KNN_PROBE_IN_MEMORY
    _score_function = staticmethod(knn_probe)
    _result_function = staticmethod(knn_probe_result)
    _parameter_constraints: dict = dict(_KNN_PROBE_PARAMETERS)

    def __init__(self, *, n_neighbors=5, cv=5, random_state=0):
        self.n_neighbors = n_neighbors
        self.cv = cv
        self.random_state = random_state


__all__ = ["KNNProbeScorer", "LinearProbeScorer"]
