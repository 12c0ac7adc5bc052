"""The base class every transferability scorer derives from."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._store import digest
from ..utils._tags import ScorerTags, Tags


def data_digest(X, y):
    """A content hash of ``(X, y)`` used to recognise the data ``fit`` saw."""
    return digest("fit data", np.asarray(X), np.asarray(y))


class BaseScorer(BaseEstimator):
    """Base class for transferability scorers: ``fit`` scores, ``score`` reports.

    A scorer is a plain estimator (no classifier/regressor mixin). ``fit(X, y)``
    computes the transferability of features ``X`` to target ``y`` and stores it in
    ``score_`` together with the method's breakdown; ``score(X, y)`` returns the
    score of the data it is given (higher is better) -- the stored value when that
    is the data ``fit`` saw, so ``GridSearchCV`` with a whole-set split computes it
    once.

    Subclasses set ``_score_function`` (the public function of
    :mod:`skdisco.transferability` the estimator wraps) and implement
    ``_fit(X, y)``, which sets every fitted attribute (``score_`` included) from
    validated data, and ``_compute_score(X, y)``, which returns the score of new
    data without touching fitted state. The estimator's parameters are the
    function's keyword arguments (``_function_kwargs``), so the two agree by
    construction -- the check suite verifies it.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.scorers import LogMEScorer
    >>> X, y = load_iris(return_X_y=True)
    >>> scorer = LogMEScorer().fit(X, y)
    >>> scorer.score(X, y) == scorer.score_
    True
    """

    #: the public function this estimator wraps; set by subclasses.
    _score_function = None
    #: "features" or "probabilities" (source-model probabilities, as LEEP takes).
    _input_kind = "features"
    #: target kinds the method defines.
    _supported_tasks = ("classification", "regression")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.two_d_array = True
        tags.non_deterministic = False
        scorer_tags = ScorerTags(
            input_kind=self._input_kind,
            tasks=self._supported_tasks,
            partial_fit=callable(getattr(self, "partial_fit", None)),
        )
        return Tags.from_sklearn(tags, scorer_tags)

    def _function_kwargs(self):
        """Keyword arguments of ``_score_function`` equal to this estimator."""
        return self.get_params(deep=False)

    def _validate(self, X, y, *, reset):
        try:
            return validate_data(
                self,
                X,
                y,
                reset=reset,
                dtype=[np.float64, np.float32],
                multi_output=True,
                y_numeric=False,
                ensure_min_samples=2,
            )
        except ValueError as exc:
            if "could not convert" in str(exc):
                raise ValueError(
                    f"X must be a numeric feature matrix; got values that are not "
                    f"numbers ({exc})."
                ) from exc
            raise

    def _remember_fit_data(self, X, y):
        self._fit_digest = data_digest(X, y)

    def score(self, X, y):
        """Transferability of features ``X`` to target ``y``; higher is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features, with as many columns as seen in ``fit``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target.

        Returns
        -------
        score : float
            ``score_`` when ``(X, y)`` is the data ``fit`` saw, otherwise the
            score computed on ``(X, y)`` with the fitted parameters.
        """
        check_is_fitted(self)
        X, y = self._validate(X, y, reset=False)
        if getattr(self, "_fit_digest", None) == data_digest(X, y):
            return float(self.score_)
        return float(self._compute_score(X, y))
