"""Properties every transferability scorer must have.

Like scikit-learn's ``check_estimator`` (and imbalanced-learn's sampler checks),
this module is a small suite run over every scorer: scores are finite and
deterministic, invariant to sample order and to renaming the labels, the estimator
returns what its function returns, and informative features beat noise.

Each check takes ``(name, scorer, X, y)`` and raises ``AssertionError`` on failure.
:func:`check_scorer` runs all of them on data that suits the scorer (features or
source-model probabilities, classification or regression), or on data you give.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone

from ._tags import get_scorer_tags

__all__ = [
    "check_scorer",
    "check_scorer_deterministic",
    "check_scorer_finite",
    "check_scorer_informative_beats_noise",
    "check_scorer_label_renaming_invariance",
    "check_scorer_matches_function",
    "check_scorer_sample_order_invariance",
    "make_scorer_data",
    "yield_scorer_checks",
]


def make_scorer_data(
    task="classification",
    input_kind="features",
    *,
    n_samples=240,
    n_features=12,
    n_classes=4,
    random_state=0,
):
    """Informative data and an uninformative twin for the scorer checks.

    Parameters
    ----------
    task : {"classification", "regression"}, default="classification"
        Kind of target.
    input_kind : {"features", "probabilities"}, default="features"
        ``"probabilities"`` gives rows on the simplex (softmax of logits), the
        input of LEEP- and NCE-type methods.
    n_samples, n_features, n_classes : int
        Sizes. For probabilities ``n_features`` is the number of source classes.
    random_state : int, default=0
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Features that carry the target.
    y : ndarray of shape (n_samples,)
        Labels ``0 .. n_classes - 1`` (each class equally often) or real targets.
    X_noise : ndarray of shape (n_samples, n_features)
        Features of the same distribution family, independent of ``y``.

    Examples
    --------
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, X_noise = make_scorer_data()
    >>> X.shape, y.shape, X_noise.shape
    ((240, 12), (240,), (240, 12))
    """
    rng = np.random.default_rng(random_state)
    noise = rng.standard_normal((n_samples, n_features))
    if task == "classification":
        y = np.arange(n_samples) % n_classes
        rng.shuffle(y)
        centres = 3.0 * rng.standard_normal((n_classes, n_features))
        signal = centres[y]
    else:
        w = rng.standard_normal(n_features)
        latent = rng.standard_normal((n_samples, n_features))
        y = latent @ w + 0.1 * rng.standard_normal(n_samples)
        signal = 2.0 * latent
    X = signal + noise
    X_noise = 3.0 * rng.standard_normal((n_samples, n_features)) + noise
    if input_kind == "probabilities":
        X, X_noise = _softmax(X), _softmax(X_noise)
    return X, y, X_noise


def _softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def _fit_score(scorer, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(clone(scorer).fit(X, y).score_)


def _close(a, b, rtol=1e-9, atol=1e-12):
    return bool(np.isclose(a, b, rtol=rtol, atol=atol))


def check_scorer_finite(name, scorer, X, y):
    """The score is a finite float."""
    s = _fit_score(scorer, X, y)
    assert np.isfinite(s), f"{name}: score {s} is not finite"


def check_scorer_deterministic(name, scorer, X, y):
    """Two fits on the same data give the same score."""
    a, b = _fit_score(scorer, X, y), _fit_score(scorer, X, y)
    assert _close(a, b, rtol=1e-12), f"{name}: not deterministic ({a} != {b})"


def check_scorer_sample_order_invariance(name, scorer, X, y):
    """Permuting the samples leaves the score unchanged."""
    perm = np.random.default_rng(7).permutation(X.shape[0])
    a, b = _fit_score(scorer, X, y), _fit_score(scorer, X[perm], np.asarray(y)[perm])
    assert _close(a, b, rtol=1e-7), f"{name}: depends on sample order ({a} vs {b})"


def check_scorer_label_renaming_invariance(name, scorer, X, y):
    """Renaming classes (strings, gaps, offsets, reordering) leaves the score."""
    y = np.asarray(y)
    classes = np.unique(y)
    renamed = np.array([f"class_{c:03d}" for c in (classes * 7 + 3)])[
        np.searchsorted(classes, y)
    ]
    gaps = (np.searchsorted(classes, y) * 11 + 5).astype(np.int64)
    reversed_ = classes[::-1][np.searchsorted(classes, y)]
    base = _fit_score(scorer, X, y)
    for label, y2 in (("strings", renamed), ("gaps", gaps), ("reversed", reversed_)):
        other = _fit_score(scorer, X, y2)
        assert _close(base, other, rtol=1e-7), (
            f"{name}: score changes when labels are renamed ({label}): "
            f"{base} vs {other}"
        )


def check_scorer_matches_function(name, scorer, X, y):
    """The estimator returns exactly what its function returns."""
    func = type(scorer)._score_function
    assert func is not None, f"{name}: _score_function is not set"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = float(func(X, y, **scorer._function_kwargs()))
    got = _fit_score(scorer, X, y)
    assert _close(expected, got, rtol=1e-12), (
        f"{name}: estimator score {got} != function score {expected}"
    )


def check_scorer_informative_beats_noise(name, scorer, X, y, X_noise):
    """Features that carry the target score higher than features that do not."""
    good, bad = _fit_score(scorer, X, y), _fit_score(scorer, X_noise, y)
    assert good > bad, f"{name}: informative {good} <= noise {bad}"


def yield_scorer_checks(scorer, X, y, X_noise, task):
    """Yield ``(check_name, callable)`` pairs for one scorer and data set."""
    name = type(scorer).__name__
    yield "finite", lambda: check_scorer_finite(name, scorer, X, y)
    yield "deterministic", lambda: check_scorer_deterministic(name, scorer, X, y)
    yield (
        "sample_order",
        lambda: check_scorer_sample_order_invariance(name, scorer, X, y),
    )
    if task == "classification":
        yield (
            "label_renaming",
            lambda: check_scorer_label_renaming_invariance(name, scorer, X, y),
        )
    yield "matches_function", lambda: check_scorer_matches_function(name, scorer, X, y)
    yield (
        "informative_beats_noise",
        lambda: check_scorer_informative_beats_noise(name, scorer, X, y, X_noise),
    )


def check_scorer(scorer, *, task=None, X=None, y=None, X_noise=None):
    """Run every scorer check; raise ``AssertionError`` on the first failure.

    Parameters
    ----------
    scorer : BaseScorer
        Unfitted scorer instance.
    task : {"classification", "regression"}, default=None
        Task to check; ``None`` checks the classification and regression tasks
        among the scorer's tags (:func:`~skdisco.utils.get_scorer_tags`).
    X, y, X_noise : array-like, default=None
        Data to use; generated by :func:`make_scorer_data` when omitted.

    Returns
    -------
    names : list of str
        The checks that ran (``"<task>:<check>"``).

    Examples
    --------
    >>> from skdisco.scorers import LogMEScorer
    >>> from skdisco.utils.estimator_checks import check_scorer
    >>> len(check_scorer(LogMEScorer())) > 5
    True
    """
    tags = get_scorer_tags(scorer)
    tasks = (
        [task]
        if task is not None
        else [t for t in tags.tasks if t in ("classification", "regression")]
    )
    ran = []
    for t in tasks:
        if X is None:
            Xt, yt, Xn = make_scorer_data(t, tags.input_kind)
        else:
            Xt, yt, Xn = X, y, X_noise
        for check_name, check in yield_scorer_checks(scorer, Xt, yt, Xn, t):
            check()
            ran.append(f"{t}:{check_name}")
    return ran
