"""Scorers by name: the names ``rank_models(scorers=[...])`` and the CLI accept.

A scorer in a ranking is a :mod:`skdisco.scorers` estimator, given as an
instance or by the name of its class (lower case, without "Scorer"). What kind
of scorer it is -- what its ``X`` holds, whether its score is defined only
across a set of models -- is read from its tags
(:func:`skdisco.utils.get_scorer_tags`), never from here.
"""

from __future__ import annotations

import re

from sklearn.base import clone

from .. import scorers as _scorers
from ..utils._validation import plain_value

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


def scorer_names():
    """Names accepted in ``scorers=[...]``: lower-case class names, no "Scorer".

    Examples
    --------
    >>> from skdisco.selection import scorer_names
    >>> {"logme", "disco", "disco_detection"} <= set(scorer_names())
    True
    """
    names = {}
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
            f"Unknown scorer {plain_value(name)!r}. Known scorers: "
            f"{sorted(names)}; or pass a scorer estimator."
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
            raise ValueError(
                f"Scorer names must be non-empty strings; got {plain_value(name)!r}."
            )
        if name in out:
            raise ValueError(f"Scorer name {plain_value(name)!r} appears twice.")
        if isinstance(spec, str):
            spec = scorer_from_name(spec)
        elif not all(hasattr(spec, a) for a in ("fit", "score", "get_params")):
            raise ValueError(
                f"Scorer {plain_value(name)!r} must be a name or a scorer estimator "
                f"with fit and score; got {type(spec).__name__}."
            )
        out[name] = clone(spec)
    return out
