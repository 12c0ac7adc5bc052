"""Scorers of the H-score family: H-score and the shrinkage H-score."""

from __future__ import annotations

from ..transferability._hscore import (
    _HSCORE_PARAMETERS,
    _REGULARIZED_HSCORE_PARAMETERS,
    hscore,
    hscore_result,
    regularized_hscore,
    regularized_hscore_result,
)
from ._base import BaseScorer, fill_scorer_doc


@fill_scorer_doc
class HScoreScorer(BaseScorer):
    r"""H-score: between-class variance in the metric of the feature covariance.

    Higher is better, in [0, C - 1] for ``variant="tllib"``.
    See :func:`skdisco.transferability.hscore` for the maths, the reference
    implementations and how we differ from them.

    Parameters
    ----------
    variant : {"tllib", "pactran"}, default="tllib"
        Pseudo-inverse covariance (Transfer-Learning-Library) or
        ridge-regularised scatter (pactran_metrics).
    rcond : float, default=1e-15
        Relative cut-off of the pseudo-inverse.
    {device}

    Attributes
    ----------
    {score_}
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.hscore : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import HScoreScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(random_state=1)
    >>> round(HScoreScorer().fit(X, y).score_, 4)
    2.9017
    """

    _score_function = staticmethod(hscore)
    _result_function = staticmethod(hscore_result)
    _parameter_constraints: dict = dict(_HSCORE_PARAMETERS)

    def __init__(self, *, variant="tllib", rcond=1e-15, device=None):
        self.variant = variant
        self.rcond = rcond
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Not invariant where pactran's variant adds a 1e-6 ridge in the features'
        # units.
        tags.scorer_tags.scale_invariant = self.variant != "pactran"
        tags.scorer_tags.out_of_core = True
        return tags


@fill_scorer_doc
class RegularizedHScoreScorer(BaseScorer):
    r"""Shrinkage H-score: H-score with a Ledoit-Wolf covariance.

    Higher is better; stable when N is close to or below D.
    See :func:`skdisco.transferability.regularized_hscore` for the maths, the
    reference implementations and how we differ from them.

    Parameters
    ----------
    {device}

    Attributes
    ----------
    {score_}
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.regularized_hscore : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import RegularizedHScoreScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(random_state=1)
    >>> round(RegularizedHScoreScorer().fit(X, y).score_, 4)
    2.9009
    """

    _score_function = staticmethod(regularized_hscore)
    _result_function = staticmethod(regularized_hscore_result)
    _parameter_constraints: dict = dict(_REGULARIZED_HSCORE_PARAMETERS)

    def __init__(self, *, device=None):
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.scorer_tags.out_of_core = True
        return tags


__all__ = ["HScoreScorer", "RegularizedHScoreScorer"]
