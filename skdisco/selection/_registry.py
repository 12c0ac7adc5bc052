"""Scorers by name, and the protocol for scores defined over a set of models.

A scorer in a ranking is a :mod:`skdisco.scorers` estimator. Most scores are
defined for one model alone. A few -- NCTI, ETran, DISCO's detection
combination -- are defined only relative to the set of candidate models: each
model yields a vector of *components* and the scores come from normalising the
components across the models. A scorer declares this through a small protocol:

* after ``fit`` it has ``components_`` (a 1-D array, one value per component);
* it has a method ``combine_models(components)`` taking the ``(n_models,
  n_components)`` array of every model's components and returning one score per
  model -- or its class is registered in :data:`SET_COMBINERS`.

:func:`rank_models` fits the scorer on each model (in parallel, cached like any
other scorer), then combines the components of the models that succeeded.
"""

from __future__ import annotations

import re

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils.validation import validate_data

from .. import scorers as _scorers
from ..transferability import disco_detection
from ..transferability._disco import _PARAMETERS as _DISCO_PARAMETERS
from ..transferability._disco import disco
from ..utils._validation import check_classification_target

#: Default scorers of a ranking.
DEFAULT_SCORERS = ("logme", "disco")


#: Readable column names for scorer classes whose lower-cased name runs words on.
_DISPLAY = {
    "knnprobe": "knn_probe",
    "linearprobe": "linear_probe",
    "pactrandirichlet": "pactran_dirichlet",
    "pactrangamma": "pactran_gamma",
    "pactrangauss": "pactran_gauss",
    "regularizedhscore": "regularized_hscore",
    "discodetection": "disco_detection",
}


def _normalise(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _display(cls_name):
    key = cls_name[: -len("Scorer")] if cls_name.endswith("Scorer") else cls_name
    key = _normalise(key)
    return _DISPLAY.get(key, key)


def _combine_ncti(scorer, components):
    from ..transferability import ncti_combine

    return ncti_combine(components)


def _combine_etran(scorer, components):
    from ..transferability import etran_combine

    return etran_combine(components[:, 0], components[:, 1])


#: Scorer class name -> function(scorer, components) combining a set of models.
SET_COMBINERS = {"NCTIScorer": _combine_ncti, "ETranScorer": _combine_etran}


class DiscoDetectionScorer(BaseEstimator):
    r"""DISCO for object detection: box-label and box-coordinate scores, combined.

    Fits DISCO twice on the same features -- on the class labels (classification)
    and on the box coordinates (regression) -- and keeps both as
    ``components_``. Over a set of candidate models the two are min-max
    normalised and added (:func:`skdisco.transferability.disco_detection`):
    :func:`rank_models` does this when given ``scorers=["disco_detection"]``.

    Parameters
    ----------
    n_groups : int, default=2
        Number of spectral components of each DISCO score.
    random_state : int, RandomState instance or None, default=0
        Seeds DISCO's cross-validated posterior.

    Attributes
    ----------
    components_ : ndarray of shape (2,)
        ``[classification DISCO, regression DISCO]`` of this model.
    score_ : float
        Their sum, the single-model summary (in [-1, 1]); the detection score
        proper is defined over a set of models (:meth:`combine_models`).
    n_features_in_ : int
        Number of features seen during ``fit``.

    Notes
    -----
    ``y`` has shape ``(n_samples, 1 + n_box_targets)``: column 0 holds the
    class label of each box, the other columns its regression targets (e.g.
    the 4 box coordinates), one row per box feature.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.selection import DiscoDetectionScorer
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 3, 200)
    >>> boxes = rng.normal(size=(200, 4))
    >>> noise = rng.normal(size=(200, 3))
    >>> X = np.column_stack([labels + rng.normal(0, 0.3, 200), boxes, noise])
    >>> y = np.column_stack([labels, boxes])
    >>> DiscoDetectionScorer().fit(X, y).components_.shape
    (2,)
    """

    _parameter_constraints: dict = {
        "n_groups": _DISCO_PARAMETERS["n_groups"],
        "random_state": _DISCO_PARAMETERS["random_state"],
    }

    def __init__(self, *, n_groups=2, random_state=0):
        self.n_groups = n_groups
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Compute both DISCO scores of features ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features of the boxes.
        y : array-like of shape (n_samples, 1 + n_box_targets)
            Class label, then regression targets, of each box.

        Returns
        -------
        self : DiscoDetectionScorer
            Fitted scorer.
        """
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], multi_output=True
        )
        y = np.asarray(y)
        if y.ndim != 2 or y.shape[1] < 2:
            raise ValueError(
                "y must have shape (n_samples, 1 + n_box_targets): the class label "
                "of each box, then its regression targets (e.g. 4 coordinates)."
            )
        labels, _ = check_classification_target(y[:, 0], X.shape[0])
        boxes = np.asarray(y[:, 1:], dtype=np.float64)
        kw = dict(n_groups=self.n_groups, random_state=self.random_state)
        cls_score = disco(X, labels, task="classification", **kw)
        reg_score = disco(X, boxes, task="regression", **kw)
        self.components_ = np.array([cls_score, reg_score])
        self.score_ = float(cls_score + reg_score)
        return self

    def score(self, X, y):
        """The single-model summary ``score_`` of ``(X, y)`` (refits a copy).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features of the boxes.
        y : array-like of shape (n_samples, 1 + n_box_targets)
            Class label, then regression targets, of each box.

        Returns
        -------
        score : float
            Classification DISCO plus regression DISCO.
        """
        return clone(self).fit(X, y).score_

    def combine_models(self, components):
        """Detection scores of a set of models from their ``components_``.

        Parameters
        ----------
        components : array-like of shape (n_models, 2)
            Every model's ``components_``.

        Returns
        -------
        scores : ndarray of shape (n_models,)
            Min-max normalised classification plus regression score, in [0, 2].
        """
        components = np.asarray(components, dtype=np.float64)
        return disco_detection(components[:, 0], components[:, 1])


def scorer_names():
    """Names accepted in ``scorers=[...]``: lower-case class names, no "Scorer".

    Examples
    --------
    >>> from skdisco.selection import scorer_names
    >>> {"logme", "disco", "disco_detection"} <= set(scorer_names())
    True
    """
    names = {"disco_detection": DiscoDetectionScorer}
    for cls_name in getattr(_scorers, "__all__", []):
        cls = getattr(_scorers, cls_name)
        if cls_name == "BaseScorer" or not isinstance(cls, type):
            continue
        names[_display(cls_name)] = cls
    return names


def scorer_from_name(name):
    """A new scorer estimator for a name of :func:`scorer_names`."""
    names = scorer_names()
    by_key = {_normalise(k): v for k, v in names.items()}
    cls = by_key.get(_normalise(name))
    if cls is None:
        raise ValueError(
            f"Unknown scorer {name!r}. Known scorers: {sorted(names)}; or pass a "
            "scorer estimator."
        )
    return cls()


def default_name(scorer):
    """Column name for a scorer estimator: its class name as in scorer_names."""
    return _display(type(scorer).__name__)


def resolve_scorers(scorers):
    """``{column name: unfitted scorer estimator}`` from the user's ``scorers``."""
    if scorers is None:
        scorers = DEFAULT_SCORERS
    if isinstance(scorers, str) or hasattr(scorers, "fit"):
        scorers = [scorers]
    if isinstance(scorers, dict):
        items = list(scorers.items())
    else:
        items = []
        for spec in scorers:
            if isinstance(spec, str):
                spec = scorer_from_name(spec)
            items.append((default_name(spec), spec))
    if not items:
        raise ValueError("scorers is empty; give at least one scorer.")
    out = {}
    for name, spec in items:
        if not isinstance(name, str) or not name:
            raise ValueError(f"Scorer names must be non-empty strings; got {name!r}.")
        if name in out:
            raise ValueError(f"Scorer name {name!r} appears twice.")
        if isinstance(spec, str):
            spec = scorer_from_name(spec)
        elif not (hasattr(spec, "fit") and hasattr(spec, "get_params")):
            raise ValueError(
                f"Scorer {name!r} must be a name or a scorer estimator with fit; got "
                f"{type(spec).__name__}."
            )
        out[name] = clone(spec)
    return out


def input_kind(scorer):
    """``"features"`` or ``"probabilities"`` (source-model probabilities)."""
    return getattr(scorer, "_input_kind", "features")


def set_combiner(scorer):
    """The function combining a set of models' components, or None."""
    method = getattr(scorer, "combine_models", None)
    if callable(method):
        return lambda s, components: s.combine_models(components)
    return SET_COMBINERS.get(type(scorer).__name__)
