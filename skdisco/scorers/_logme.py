"""LogMEScorer: the LogME transferability score as a scikit-learn estimator."""

from __future__ import annotations

import numpy as np
from sklearn.base import _fit_context

from ..transferability._linalg import onehot
from ..transferability._logme import (
    _PARAMETERS,
    LogMEStatistics,
    _EvidenceProblem,
    logme,
    logme_from_problem,
    logme_result,
    prepare_logme_target,
)
from ..utils._validation import check_regression_target, infer_task, plain_value
from ._base import BaseScorer, EncodedTarget, fill_scorer_doc


@fill_scorer_doc
class LogMEScorer(BaseScorer):
    r"""LogME: maximum Bayesian evidence of a linear model on the features.

    For each class (one-vs-rest) or regression target, LogME fits a Bayesian
    linear model to the features, maximises the evidence over the prior and noise
    precisions, and reports the mean log evidence per sample. Higher is better.
    See :func:`skdisco.transferability.logme` for the maths and the one deviation
    from the reference code.

    Parameters
    ----------
    task : {"auto", "classification", "regression"}, default="auto"
        What ``y`` is; ``"auto"`` infers it (a multi-label indicator matrix is
        scored as one binary regression target per column).
    method : {"global", "fixed_point", "icml"}, default="global"
        ``"global"``: the global maximum of the evidence per target (exact, scale
        invariant). ``"fixed_point"`` / ``"icml"``: the published JMLR / ICML
        iterations, which with the default ``max_iter`` reproduce the reference
        code's values.
    max_iter : int, default=None
        Newton steps per candidate (``"global"``, ``None``: 100) or iterations
        of the reference schemes (``None``: their 11).
    tol : float, default=None
        Relative change of α/β that stops the iteration (``None``: 1e-10 for
        global, 1e-3 for fixed-point, 1e-2 for ICML).
    epsilon : float, default=1e-5
        Stabiliser added to the energy terms by the reference schemes, as in the
        reference code (not used by ``"global"``).
    {device}

    Attributes
    ----------
    score_ : float
        The LogME score of the data seen in ``fit`` or of every ``partial_fit``
        chunk so far (the score attributes are absent until every class has
        two samples).
    evidence_ : ndarray of shape (n_targets,)
        Log evidence per sample for each class or target.
    alpha_ : ndarray of shape (n_targets,)
        Prior precision of the weights at the optimum, per target; ``inf`` where
        the maximum is the α → ∞ limit (zero weights).
    beta_ : ndarray of shape (n_targets,)
        Noise precision at the optimum, per target; ``inf`` where the maximum is
        the noise-free limit (features of rank N).
    n_iter_ : ndarray of shape (n_targets,)
        Iterations used per target.
    coef_ : ndarray of shape (n_targets, ``n_features_in_``)
        Posterior mean weights of each target's linear model.
    task_ : {"classification", "regression"}
        The task that was scored.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classification only).
    n_samples_seen_ : int
        Number of samples scored.
    {input_attributes}

    See Also
    --------
    skdisco.transferability.logme : The same score as a function.
    sklearn.linear_model.BayesianRidge : The same evidence for one target (with
        ``fit_intercept=False`` and zero hyperpriors), fitted one target at a time.

    Notes
    -----
    ``partial_fit`` accumulates the sufficient statistics :math:`F^\top F`,
    :math:`F^\top Y`, :math:`\lVert y_k\rVert^2` and :math:`N`, so features may
    arrive in chunks (memory maps, batches from a feature extractor) and give the
    in-memory score to round-off. Memory is O(D² + D·K) whatever the number of
    samples.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.scorers import LogMEScorer
    >>> X, y = load_digits(return_X_y=True)
    >>> scorer = LogMEScorer().fit(X / 16.0, y)
    >>> round(scorer.score_, 4)
    0.2703
    >>> scorer.evidence_.shape
    (10,)
    """

    _score_function = staticmethod(logme)
    _parameter_constraints: dict = dict(_PARAMETERS)

    def __init__(
        self,
        *,
        task="auto",
        method="global",
        max_iter=None,
        tol=None,
        epsilon=1e-5,
        device=None,
    ):
        self.task = task
        self.method = method
        self.max_iter = max_iter
        self.tol = tol
        self.epsilon = epsilon
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.scorer_tags.tasks = ("classification", "regression", "multilabel")
        tags.scorer_tags.partial_fit = True
        tags.scorer_tags.out_of_core = True
        # The maximum evidence is invariant to a global rescaling of the
        # features; the references' iterations, stopped after max_iter steps
        # from alpha = beta = 1, are not.
        tags.scorer_tags.scale_invariant = self.method == "global"
        return tags

    def _solver_kwargs(self):
        return dict(
            method=self.method,
            max_iter=self.max_iter,
            tol=self.tol,
            epsilon=self.epsilon,
        )

    def _encode_target(self, y, n_samples, *, reset):
        task = self.task if reset else self.task_
        task, Y, classes = prepare_logme_target(y, n_samples, task)
        return EncodedTarget(task, Y, classes)

    def _result(self, X, target, *, score_only=False):
        return logme_result(
            X, target.y, **self._solver_kwargs(), compute_coef=not score_only
        )

    def _set_fitted(self, result, target):
        self._stats = None
        self.task_ = target.task
        self._set_result(result, target.y.shape[0])

    def _set_result(self, result, n_samples):
        self.n_samples_seen_ = int(n_samples)
        self.score_ = result.score
        self.evidence_ = result.evidence
        self.alpha_ = result.alpha
        self.beta_ = result.beta
        self.n_iter_ = result.n_iter
        self.coef_ = result.coef

    def _clear_result(self, n_samples):
        self.n_samples_seen_ = int(n_samples)
        for name in _RESULT_ATTRIBUTES:
            if hasattr(self, name):
                delattr(self, name)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Add a chunk of samples; the score covers every chunk seen so far.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of features.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets of the chunk.
        classes : array-like of shape (n_classes,), default=None
            Every class label, given on the first call for classification (a chunk
            need not contain every class), as in
            :meth:`sklearn.linear_model.SGDClassifier.partial_fit`. When omitted,
            the labels of the first chunk are taken as all the classes, and a later
            chunk with another label raises a ValueError. Ignored after the first
            call. ``fit`` discards what ``partial_fit`` accumulated, and the first
            ``partial_fit`` after ``fit`` starts afresh.

        Returns
        -------
        self : LogMEScorer
            Scorer updated with the chunk. Its score attributes (``score_``,
            ``evidence_``, ...) are set once every class has two samples.
        """
        first = getattr(self, "_stats", None) is None
        X, y = self._validate(X, y, reset=first, ensure_min_samples=1)
        if first:
            task = "classification" if classes is not None else infer_task(y, self.task)
            if task == "classification":
                if classes is None:
                    classes = np.asarray(y).ravel()
                classes = np.unique(np.asarray(classes))
                if classes.shape[0] < 2:
                    raise ValueError(
                        "classes must hold at least two labels; a transferability "
                        "score needs at least two classes."
                    )
            self.task_ = task
            self._set_classes(EncodedTarget(task, None, classes))
        Y = self._chunk_targets(y, X.shape[0])
        if first:
            self._stats = LogMEStatistics(X.shape[1], Y.shape[1])
        self._stats.update(X, Y)
        self._fit_digest = None
        self._refresh_from_statistics()
        return self

    def _chunk_targets(self, y, n_samples):
        if self.task_ == "classification":
            y = np.asarray(y).ravel()
            idx = np.searchsorted(self.classes_, y)
            idx_clip = np.clip(idx, 0, self.classes_.shape[0] - 1)
            unknown = self.classes_[idx_clip] != y
            if unknown.any():
                raise ValueError(
                    "y contains labels not in classes: "
                    f"{plain_value(np.unique(y[unknown])[:5])!r}."
                )
            return onehot(idx_clip, self.classes_.shape[0])
        Y = check_regression_target(y, n_samples)
        stats = getattr(self, "_stats", None)
        if stats is not None and Y.shape[1] != stats.n_targets:
            raise ValueError(
                f"y has {Y.shape[1]} target columns but earlier chunks had "
                f"{stats.n_targets}."
            )
        return Y

    def _refresh_from_statistics(self):
        stats = self._stats
        if self.task_ == "classification":
            counts = stats.target_sq  # one-hot: ‖y_c‖² is the class count
            if np.any(counts < 2):
                # Not every class has two samples yet: LogME is not defined.
                self._clear_result(stats.n_samples)
                return
        problem = _EvidenceProblem.from_statistics(stats)
        self._set_result(
            logme_from_problem(problem, **self._solver_kwargs()), stats.n_samples
        )

    def _function_kwargs(self):
        return dict(task=self.task, device=self.device, **self._solver_kwargs())


#: The fitted attributes that hold LogME's result.
_RESULT_ATTRIBUTES = ("score_", "evidence_", "alpha_", "beta_", "n_iter_", "coef_")
