"""``(estimator, X, y)`` scoring callables: transferability inside GridSearchCV."""

from __future__ import annotations

from sklearn.base import clone
from sklearn.pipeline import Pipeline

from ._registry import resolve_scorers


def pipeline_features(estimator, X):
    """What ``estimator`` feeds its final step: ``X`` through every earlier step.

    A ``Pipeline`` transforms ``X`` with all its steps but the last (the
    extractor, any scaler or PCA); a lone transformer transforms ``X``; any
    other estimator (a classifier on raw features) gets ``X`` unchanged.

    Parameters
    ----------
    estimator : estimator
        A fitted ``Pipeline``, transformer or estimator.
    X : array-like or images
        Input of ``estimator``.

    Returns
    -------
    features : array-like
        Input of the final step.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skdisco.selection import pipeline_features
    >>> X, y = np.arange(8.0).reshape(4, 2), [0, 0, 1, 1]
    >>> pipe = make_pipeline(FunctionTransformer(np.square), LogisticRegression())
    >>> pipeline_features(pipe.fit(X, y), X)[0].tolist()
    [0.0, 1.0]
    """
    if isinstance(estimator, Pipeline):
        if len(estimator.steps) == 1:
            return X
        return estimator[:-1].transform(X)
    if hasattr(estimator, "transform"):
        return estimator.transform(X)
    return X


class _TransferabilityScorer:
    """Callable ``scorer(estimator, X, y)`` returning a transferability score."""

    def __init__(self, scorer):
        self.scorer = scorer

    def __call__(self, estimator, X, y, **kwargs):
        features = pipeline_features(estimator, X)
        return float(clone(self.scorer).fit(features, y).score(features, y))

    def __repr__(self):
        return f"transferability_scorer({self.scorer!r})"


def transferability_scorer(scorer="logme"):
    """A ``scoring`` callable for ``GridSearchCV`` that scores transferability.

    The callable ``(estimator, X, y) -> float`` runs ``X`` through every step of
    the fitted pipeline except the last (the backbone, any preprocessing) and
    returns the transferability score of those features to ``y``. So a grid
    search over backbones of ``Pipeline([("backbone", extractor), ("clf",
    LogisticRegression())])`` can pick the backbone by transferability, with
    :class:`WholeSetSplit` as ``cv`` -- without any held-out accuracy.

    Parameters
    ----------
    scorer : str or scorer estimator, default="logme"
        A scorer name (see :func:`scorer_names`) or a scorer estimator such as
        ``DiscoScorer(n_groups=8)``; it is cloned and fitted on the features at
        each call.

    Returns
    -------
    scoring : callable
        ``scoring(estimator, X, y)``, higher is better, usable as
        ``GridSearchCV(scoring=...)`` alone or in a dict of scorings.

    See Also
    --------
    WholeSetSplit : The one-split ``cv`` for transferability.

    Notes
    -----
    When the pipeline ends with a scorer (``Pipeline([extractor,
    LogMEScorer()])``), ``GridSearchCV``'s default scoring already returns the
    transferability: the pipeline's ``score`` is the scorer's.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skdisco.selection import WholeSetSplit, transferability_scorer
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:500], y[:500]
    >>> noise = np.random.default_rng(0).normal(size=X.shape)
    >>> backbones = [FunctionTransformer(lambda a: a / 16.0),
    ...              FunctionTransformer(lambda a: noise)]
    >>> pipe = Pipeline([("backbone", backbones[0]),
    ...                  ("clf", LogisticRegression(max_iter=200))])
    >>> search = GridSearchCV(pipe, {"backbone": backbones}, cv=WholeSetSplit(),
    ...                       scoring=transferability_scorer("logme")).fit(X, y)
    >>> int(search.best_index_)
    0
    """
    (resolved,) = resolve_scorers([scorer]).values()
    return _TransferabilityScorer(resolved)
