"""Properties every transferability scorer must have.

Like scikit-learn's ``check_estimator`` (and imbalanced-learn's sampler checks),
this module is a small suite run over every scorer: scores are finite and
deterministic, invariant to sample order, to renaming the labels and (where the
method is) to the scale of the features, the estimator returns what its function
returns, and informative features beat noise.

What a scorer takes and scores is read from its tags
(:func:`~skdisco.utils.get_scorer_tags`): the input kind (features, source-model
probabilities or source-model labels) decides the data :func:`make_scorer_data`
builds, the tasks decide which targets are tried, and a set-level scorer (whose
score is defined only across a set of models) is checked through
``combine_models`` instead of its single-model score.

Each check takes ``(name, scorer, X, y)`` and raises ``AssertionError`` on failure.
:func:`check_scorer` runs all of them on data that suits the scorer, or on data
you give.
"""

from __future__ import annotations

import warnings
from functools import partial

import numpy as np
from sklearn.base import clone

from ._tags import get_scorer_tags

__all__ = [
    "check_scorer",
    "check_scorer_combine_models",
    "check_scorer_deterministic",
    "check_scorer_finite",
    "check_scorer_informative_beats_noise",
    "check_scorer_label_permutation_invariance",
    "check_scorer_label_renaming_invariance",
    "check_scorer_matches_function",
    "check_scorer_sample_order_invariance",
    "check_scorer_sample_order_invariance_tied_rows",
    "check_scorer_scale_invariance",
    "make_scorer_data",
    "scorer_tasks",
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
    task : {"classification", "regression", "multilabel", "detection"}, \
default="classification"
        Kind of target: class labels, a real target, a binary indicator
        matrix of ``n_classes`` labels, or detection boxes (a class label,
        then 4 box targets, per row).
    input_kind : {"features", "probabilities", "labels"}, default="features"
        What ``X`` holds: features; rows on the simplex (softmax of the
        features), the input of LEEP- and NCE-type methods; or one column of
        source-model labels (the arg-max of the features).
    n_samples : int, default=240
        Number of samples.
    n_features : int, default=12
        Number of features; for probabilities and labels, the number of source
        classes.
    n_classes : int, default=4
        Number of classes (classification) or of labels (multilabel).
    random_state : int, default=0
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) or (n_samples, 1)
        Inputs that carry the target (one integer column for ``"labels"``).
    y : ndarray of shape (n_samples,), (n_samples, n_classes) or (n_samples, 5)
        Labels ``0 .. n_classes - 1`` (each class equally often), real
        targets, a 0/1 indicator matrix (each label on half the samples), or
        the label and 4 box targets of each box.
    X_noise : ndarray of the shape of ``X``
        Inputs of the same kind, independent of ``y``.

    Examples
    --------
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, X_noise = make_scorer_data()
    >>> X.shape, y.shape, X_noise.shape
    ((240, 12), (240,), (240, 12))
    >>> make_scorer_data("multilabel")[1].shape
    (240, 4)
    >>> make_scorer_data(input_kind="labels")[0].shape
    (240, 1)
    >>> make_scorer_data("detection")[1].shape
    (240, 5)
    """
    rng = np.random.default_rng(random_state)
    noise = rng.standard_normal((n_samples, n_features))
    if task == "classification":
        y = np.arange(n_samples) % n_classes
        rng.shuffle(y)
        centres = 3.0 * rng.standard_normal((n_classes, n_features))
        signal = centres[y]
    elif task == "multilabel":
        y = np.column_stack(
            [rng.permutation(np.arange(n_samples) % 2) for _ in range(n_classes)]
        )
        centres = 3.0 * rng.standard_normal((n_classes, n_features))
        signal = y @ centres
    elif task == "detection":
        labels = np.arange(n_samples) % n_classes
        rng.shuffle(labels)
        centres = 3.0 * rng.standard_normal((n_classes, n_features))
        boxes = rng.standard_normal((n_samples, 4))
        mixing = rng.standard_normal((4, n_features))
        y = np.column_stack([labels, boxes])
        signal = centres[labels] + 2.0 * boxes @ mixing
    else:
        w = rng.standard_normal(n_features)
        latent = rng.standard_normal((n_samples, n_features))
        y = latent @ w + 0.1 * rng.standard_normal(n_samples)
        signal = 2.0 * latent
    X = signal + noise
    X_noise = 3.0 * rng.standard_normal((n_samples, n_features)) + noise
    if input_kind == "probabilities":
        X, X_noise = _softmax(X), _softmax(X_noise)
    elif input_kind == "labels":
        X = X.argmax(axis=1)[:, None]
        X_noise = rng.integers(0, n_features, (n_samples, 1))
    return X, y, X_noise


def _softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def _fit(scorer, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clone(scorer).fit(X, y)


def _fit_score(scorer, X, y):
    return float(_fit(scorer, X, y).score_)


def _close(a, b, rtol=1e-9, atol=1e-12):
    return bool(np.isclose(a, b, rtol=rtol, atol=atol))


_CHECK_PARAMETERS = """
    Parameters
    ----------
    name : str
        Name of the scorer in the failure message.
    scorer : estimator instance
        Unfitted scorer; it is cloned, never modified.
    X : array-like of shape (n_samples, n_features)
        Inputs that carry the target (as :func:`make_scorer_data` gives).
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Target.{extra}

    Raises
    ------
    AssertionError
        If the scorer does not have the property.

    Examples
    --------
{example}"""

_EXAMPLE = """\
    >>> from skdisco.scorers import LogMEScorer
    >>> from skdisco.utils.estimator_checks import {check}, make_scorer_data
    >>> X, y, X_noise = make_scorer_data(random_state=1)
    >>> {check}("LogMEScorer", LogMEScorer(), X, y{args})
"""

_X_NOISE = """
    X_noise : array-like of the shape of ``X``
        Inputs of the same kind, independent of ``y``."""


_SET_LEVEL_EXAMPLE = """\
    >>> import numpy as np
    >>> from skdisco.utils.discovery import all_estimators
    >>> from skdisco.utils.estimator_checks import {check}
    >>> Scorer = dict(all_estimators())["DiscoDetectionScorer"]
    >>> rng = np.random.default_rng(0)
    >>> labels, boxes = rng.integers(0, 3, 200), rng.normal(size=(200, 4))
    >>> X = np.column_stack([labels + rng.normal(0, 0.3, 200), boxes])
    >>> y = np.column_stack([labels, boxes])
    >>> X_noise = rng.normal(size=X.shape)
    >>> {check}("DiscoDetectionScorer", Scorer(), X, y{args})
"""


_MULTILABEL_EXAMPLE = """\
    >>> from skdisco.scorers import LogMEScorer
    >>> from skdisco.utils.estimator_checks import {check}, make_scorer_data
    >>> X, Y, _ = make_scorer_data("multilabel")
    >>> {check}("LogMEScorer", LogMEScorer(task="regression"), X, Y)
"""


def _document(summary, *, noise=False, example=_EXAMPLE):
    """Give a check the shared docstring: ``summary`` then the common sections."""

    def decorate(check):
        fields = {"check": check.__name__, "args": ", X_noise" if noise else ""}
        check.__doc__ = summary + _CHECK_PARAMETERS.format(
            extra=_X_NOISE if noise else "", example=example.format(**fields)
        )
        return check

    return decorate


@_document("The score is a finite float.\n")
def check_scorer_finite(name, scorer, X, y):
    s = _fit_score(scorer, X, y)
    assert np.isfinite(s), f"{name}: score {s} is not finite"


@_document("Two fits on the same data give the same score.\n")
def check_scorer_deterministic(name, scorer, X, y):
    a, b = _fit_score(scorer, X, y), _fit_score(scorer, X, y)
    assert _close(a, b, rtol=1e-12), f"{name}: not deterministic ({a} != {b})"


@_document("Permuting the samples leaves the score unchanged.\n")
def check_scorer_sample_order_invariance(name, scorer, X, y):
    perm = np.random.default_rng(7).permutation(X.shape[0])
    a, b = _fit_score(scorer, X, y), _fit_score(scorer, X[perm], np.asarray(y)[perm])
    assert _close(a, b, rtol=1e-7), f"{name}: depends on sample order ({a} vs {b})"


@_document(
    "Permuting the samples of integer-valued features (rows that tie on their\n"
    "    norm, as pixel counts and one-hot codes do) leaves the score unchanged.\n"
)
def check_scorer_sample_order_invariance_tied_rows(name, scorer, X, y):
    X_tied = np.rint(np.asarray(X, dtype=np.float64))
    perm = np.random.default_rng(8).permutation(X_tied.shape[0])
    a = _fit_score(scorer, X_tied, y)
    b = _fit_score(scorer, X_tied[perm], np.asarray(y)[perm])
    assert _close(a, b, rtol=1e-7), (
        f"{name}: depends on the order of samples whose rows tie ({a} vs {b})"
    )


@_document("Renaming classes (strings, gaps, offsets, reordering) leaves the score.\n")
def check_scorer_label_renaming_invariance(name, scorer, X, y):
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


#: Factors the features are multiplied by in the scale-invariance check: twelve
#: decades, beyond any real feature norm, inside float64's safe range.
_SCALES = (1e-6, 1e-3, 0.1, 30.0, 1e3, 1e6)

_DISCO_EXAMPLE = """\
    >>> from skdisco.scorers import DiscoScorer
    >>> from skdisco.utils.estimator_checks import {check}, make_scorer_data
    >>> X, y, X_noise = make_scorer_data(random_state=1)
    >>> {check}("DiscoScorer", DiscoScorer(), X, y{args})
"""


@_document(
    "Multiplying the features by a positive constant leaves the score.\n\n"
    "    Each factor (1e-6, 1e-3, 0.1, 30, 1e3, 1e6) must give the score at\n"
    "    ``X`` to a relative 1e-6 (``components_`` for a set-level scorer):\n"
    "    float64 rounding moves a scale-invariant score by about 1e-12, a\n"
    "    converged iterative one by its tolerance, and a constant in the\n"
    "    features' units (a floor, a ridge, a fixed temperature) by 1e-4 or\n"
    "    more across these decades. Run for feature scorers whose tags say\n"
    "    ``scale_invariant``.\n",
    example=_DISCO_EXAMPLE,
)
def check_scorer_scale_invariance(name, scorer, X, y):
    set_level = get_scorer_tags(scorer).set_level

    def value(Z):
        fitted = _fit(scorer, Z, y)
        return np.asarray(fitted.components_ if set_level else fitted.score_, float)

    X = np.asarray(X, dtype=np.float64)
    base = value(X)
    for s in _SCALES:
        other = value(s * X)
        assert np.allclose(other, base, rtol=1e-6, atol=1e-12), (
            f"{name}: score changes when the features are scaled by {s:g} "
            f"({base} vs {other}); a scale-invariant method must not depend on "
            "the feature norm (set the scale_invariant tag False if its "
            "definition does)"
        )


@_document(
    "Reordering the columns of a multi-label indicator leaves the score.\n",
    example=_MULTILABEL_EXAMPLE,
)
def check_scorer_label_permutation_invariance(name, scorer, X, y):
    y = np.asarray(y)
    perm = np.random.default_rng(11).permutation(y.shape[1])[::-1]
    a, b = _fit_score(scorer, X, y), _fit_score(scorer, X, y[:, perm])
    assert _close(a, b, rtol=1e-7), (
        f"{name}: score changes when the labels are reordered ({a} vs {b})"
    )


@_document(
    "The estimator returns exactly what its function returns.\n\n"
    "    The function is ``type(scorer)._score_function``, called with\n"
    "    ``scorer._function_kwargs()``; a set-level scorer whose function gives\n"
    "    its components (an array) is compared on ``components_``.\n"
)
def check_scorer_matches_function(name, scorer, X, y):
    func = type(scorer)._score_function
    assert func is not None, f"{name}: _score_function is not set"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.asarray(func(X, y, **scorer._function_kwargs()), dtype=float)
    fitted = _fit(scorer, X, y)
    got = np.asarray(fitted.components_ if expected.ndim else fitted.score_, float)
    assert got.shape == expected.shape and np.allclose(
        got, expected, rtol=1e-12, atol=1e-12
    ), f"{name}: estimator score {got} != function score {expected}"


@_document(
    "Features that carry the target score higher than features that do not.\n",
    noise=True,
)
def check_scorer_informative_beats_noise(name, scorer, X, y, X_noise):
    good, bad = _fit_score(scorer, X, y), _fit_score(scorer, X_noise, y)
    assert good > bad, f"{name}: informative {good} <= noise {bad}"


@_document(
    "A set-level scorer ranks the informative model above the noise model.\n\n"
    "    The score of a set-level scorer is defined only across models: fitted\n"
    "    on each model's inputs it holds a 1-D ``components_``, and\n"
    "    ``combine_models`` turns the stacked components into one finite score\n"
    "    per model, in the order of the models.\n",
    noise=True,
    example=_SET_LEVEL_EXAMPLE,
)
def check_scorer_combine_models(name, scorer, X, y, X_noise):
    parts = [np.asarray(_fit(scorer, Z, y).components_) for Z in (X, X_noise)]
    assert all(p.ndim == 1 and np.isfinite(p).all() for p in parts), (
        f"{name}: components_ must be a finite 1-D array, got {parts}"
    )
    components = np.vstack(parts)
    scores = np.asarray(scorer.combine_models(components), dtype=float)
    assert scores.shape == (2,) and np.isfinite(scores).all(), (
        f"{name}: combine_models must give one finite score per model, got {scores}"
    )
    swapped = np.asarray(scorer.combine_models(components[::-1]), dtype=float)
    assert np.allclose(swapped, scores[::-1]), (
        f"{name}: combine_models depends on the order of the models "
        f"({scores} vs reversed {swapped})"
    )
    assert scores[0] > scores[1], (
        f"{name}: combined score of the informative model {scores[0]} <= noise "
        f"{scores[1]}"
    )


def yield_scorer_checks(scorer, X, y, X_noise, task):
    """The checks that apply to ``scorer`` on one task, as its tags say.

    Every scorer is finite, deterministic and invariant to sample order, and
    matches its function. Class labels may be renamed, multi-label columns
    reordered. A feature scorer tagged ``scale_invariant`` must give the same
    score at any scale of the features. A single-model scorer must rank
    informative features above noise; a set-level scorer must do so through
    ``combine_models``.

    Parameters
    ----------
    scorer : estimator instance
        Unfitted scorer.
    X : array-like of shape (n_samples, n_features)
        Inputs that carry the target.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Target of kind ``task``.
    X_noise : array-like of the shape of ``X``
        Inputs of the same kind, independent of ``y``.
    task : {"classification", "regression", "multilabel", "detection"}
        Kind of ``y``.

    Yields
    ------
    name : str
        Short name of the check (``"finite"``, ``"label_renaming"``, ...).
    check : functools.partial
        The check with its arguments bound; call it without arguments. Its
        ``func.__name__`` is the check's full name (``"check_scorer_finite"``).

    Examples
    --------
    >>> from skdisco.scorers import LogMEScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> from skdisco.utils.estimator_checks import yield_scorer_checks
    >>> X, y, X_noise = make_scorer_data()
    >>> [name for name, _ in yield_scorer_checks(
    ...     LogMEScorer(), X, y, X_noise, "classification")][:3]
    ['finite', 'deterministic', 'sample_order']
    """
    name = type(scorer).__name__
    data = (name, scorer, X, y)
    yield "finite", partial(check_scorer_finite, *data)
    yield "deterministic", partial(check_scorer_deterministic, *data)
    yield "sample_order", partial(check_scorer_sample_order_invariance, *data)
    if get_scorer_tags(scorer).input_kind == "features":
        yield (
            "sample_order_tied_rows",
            partial(check_scorer_sample_order_invariance_tied_rows, *data),
        )
    if task == "classification":
        yield "label_renaming", partial(check_scorer_label_renaming_invariance, *data)
    elif task == "multilabel":
        yield (
            "label_permutation",
            partial(check_scorer_label_permutation_invariance, *data),
        )
    yield "matches_function", partial(check_scorer_matches_function, *data)
    tags = get_scorer_tags(scorer)
    if tags.input_kind == "features" and tags.scale_invariant:
        yield "scale_invariance", partial(check_scorer_scale_invariance, *data)
    if tags.set_level:
        yield "combine_models", partial(check_scorer_combine_models, *data, X_noise)
    else:
        yield (
            "informative_beats_noise",
            partial(check_scorer_informative_beats_noise, *data, X_noise),
        )


def scorer_tasks(scorer):
    """The tasks to check ``scorer`` on: those of its tags it is set to.

    Parameters
    ----------
    scorer : estimator instance
        The scorer.

    Returns
    -------
    tasks : list of str
        ``get_scorer_tags(scorer).tasks``, narrowed to one when the scorer
        has a ``task`` parameter set to one of them.

    Examples
    --------
    >>> from skdisco.scorers import LogMEScorer
    >>> from skdisco.utils.estimator_checks import scorer_tasks
    >>> scorer_tasks(LogMEScorer(task="regression"))
    ['regression']
    """
    tasks = list(get_scorer_tags(scorer).tasks)
    chosen = getattr(scorer, "task", None)
    return [chosen] if chosen in tasks else tasks


def check_scorer(scorer, *, task=None, X=None, y=None, X_noise=None):
    """Run every scorer check; raise ``AssertionError`` on the first failure.

    Parameters
    ----------
    scorer : estimator instance
        Unfitted scorer.
    task : {"classification", "regression", "multilabel", "detection"}, \
default=None
        Task to check; ``None`` checks every task of :func:`scorer_tasks`.
    X : array-like of shape (n_samples, n_features), default=None
        Inputs; generated by :func:`make_scorer_data` for the scorer's input
        kind (its tags) when omitted.
    y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
        Target, given with ``X``.
    X_noise : array-like of the shape of ``X``, default=None
        Uninformative inputs, given with ``X``.

    Returns
    -------
    names : list of str
        The checks that ran (``"<task>:<check>"``).

    Examples
    --------
    >>> from skdisco.scorers import DiscoScorer
    >>> from skdisco.utils.estimator_checks import check_scorer
    >>> len(check_scorer(DiscoScorer())) > 5
    True
    """
    tasks = [task] if task is not None else scorer_tasks(scorer)
    input_kind = get_scorer_tags(scorer).input_kind
    ran = []
    for t in tasks:
        if X is None:
            Xt, yt, Xn = make_scorer_data(t, input_kind)
        else:
            Xt, yt, Xn = X, y, X_noise
        for check_name, check in yield_scorer_checks(scorer, Xt, yt, Xn, t):
            check()
            ran.append(f"{t}:{check_name}")
    return ran
