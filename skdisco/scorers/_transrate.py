"""TransRateScorer: TransRate as an estimator."""

from __future__ import annotations

from ..transferability._transrate import _PARAMETERS, transrate, transrate_result
from ._base import BaseScorer, fill_scorer_doc


@fill_scorer_doc
class TransRateScorer(BaseScorer):
    r"""TransRate: coding rate of the features minus their rate given the labels.

    Higher is better; magnitudes depend on ``variant``.
    See :func:`skdisco.transferability.transrate` for the maths, the reference
    implementations and how we differ from them.

    Parameters
    ----------
    variant : {"official", "official_projection", "tllib"}, default="official"
        Which published implementation (see :func:`~skdisco.transferability.transrate`).
    eps : float, default=1e-4
        Distortion of the coding rate.
    {device}

    Attributes
    ----------
    {score_}
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.transrate : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import TransRateScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(random_state=1)
    >>> round(TransRateScorer().fit(X, y).score_, 4)
    0.2886
    """

    _score_function = staticmethod(transrate)
    _result_function = staticmethod(transrate_result)
    _parameter_constraints: dict = dict(_PARAMETERS)

    def __init__(self, *, variant="official", eps=1e-4, device=None):
        self.variant = variant
        self.eps = eps
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Not invariant where tllib's variant uses a fixed distortion eps in the
        # features' units (the official ones normalise the features first).
        tags.scorer_tags.scale_invariant = self.variant != "tllib"
        tags.scorer_tags.out_of_core = True
        return tags


__all__ = ["TransRateScorer"]
