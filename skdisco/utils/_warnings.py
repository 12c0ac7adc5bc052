"""Warnings skdisco issues about the scores themselves (not about the inputs' form)."""

from __future__ import annotations

import os
import sys


class SaturatedScoreWarning(UserWarning):
    """A score sits at a bound the data forces, whatever the features carry.

    Issued when a transferability score cannot rank models on the data it was
    given: one sample per class (GBC, NCE, NLEEP), more dimensions than samples
    for an unregularised H-score, as many mixture components as samples for
    NLEEP. The value returned is what the method's definition gives, but every
    model would get it (or nearly), so it says nothing about transferability.
    :func:`~skdisco.selection.rank_models` records such a score as NaN with the
    reason in the row's ``error`` column -- except a
    :class:`PerfectSeparationWarning`, the saturation that good features reach.

    Examples
    --------
    >>> import warnings
    >>> from skdisco.transferability import gbc
    >>> from skdisco.utils import SaturatedScoreWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     score = gbc([[0.0], [1.0], [5.0]], ["a", "b", "c"])
    >>> score, caught[0].category is SaturatedScoreWarning
    (-0.0, True)
    """


class PerfectSeparationWarning(SaturatedScoreWarning):
    """A score at its maximum because the features separate the target classes.

    Issued when every sample's class posterior (DISCO, SFDA), or every pair of
    class Gaussians' overlap (GBC), rounds to its limit in float64: the score
    is its maximum ``maximum`` up to rounding. Unlike the other saturations it
    says something about the features -- they separate these classes at
    margins beyond float64's reach, which is the best the score can tell --
    but every model that does so gets the same value, so the score cannot
    order those models among themselves.
    :func:`~skdisco.selection.rank_models` therefore keeps the score, set to
    ``maximum`` exactly so that such models tie at the top, and the warning in
    the row's ``warnings`` column.

    Parameters
    ----------
    message : str
        What saturated, and what to do about it.
    maximum : float, default=None
        The score's maximum, which the returned score equals up to rounding
        (None: not given; ``rank_models`` then keeps the score as returned).

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skdisco.transferability import disco
    >>> from skdisco.utils import PerfectSeparationWarning
    >>> y = np.repeat(np.arange(3), 20)
    >>> X = np.eye(3)[y] * 1e4 + np.random.default_rng(0).normal(size=(60, 3))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     score = disco(X, y)
    >>> score, caught[0].category is PerfectSeparationWarning
    (1.0, True)
    >>> caught[0].message.maximum
    1.0
    """

    def __init__(self, message, maximum=None):
        super().__init__(message)
        self.maximum = None if maximum is None else float(maximum)

    def __reduce__(self):
        return type(self), (str(self), self.maximum)


def _package_dirs():
    import sklearn

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return (here + os.sep, os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep)


def user_stacklevel():
    """``stacklevel`` for a ``warnings.warn`` that names the user's line.

    Called by the function that warns: the level of the first frame outside
    skdisco and scikit-learn (whose parameter validation and estimator
    machinery sit between the user and the maths), so the warning points at
    the call that the user wrote however deep the warning is issued.
    """
    inside = _package_dirs()
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        inside
    ):
        frame, level = frame.f_back, level + 1
    return level


__all__ = ["PerfectSeparationWarning", "SaturatedScoreWarning"]
