"""PARCScorer: PARC as an estimator."""

from __future__ import annotations

from ..transferability._parc import _PARAMETERS, PARC_IN_MEMORY, parc, parc_result
from ._base import BaseScorer, fill_scorer_doc


@fill_scorer_doc
class PARCScorer(BaseScorer):
    r"""PARC: Spearman correlation of feature and label dissimilarities (x100).

    Higher is better, in [-100, 100]. O(N²) memory.
    See :func:`skdisco.transferability.parc` for the maths, the reference
    implementations and how we differ from them.

    Parameters
    ----------
    ratio : float, default=2
        Feature reduction (``> 1``: 32 randomised-PCA components).
    label_ties : {"reference", "exact"}, default="reference"
        Label-side tie handling (see :func:`~skdisco.transferability.parc`).

    Attributes
    ----------
    {score_}
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.parc : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import PARCScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(random_state=1)
    >>> round(PARCScorer().fit(X, y).score_, 4)
    47.3115
    """

    _in_memory_reason = PARC_IN_MEMORY
    _score_function = staticmethod(parc)
    _result_function = staticmethod(parc_result)
    _parameter_constraints: dict = dict(_PARAMETERS)

    def __init__(self, *, ratio=2, label_ties="reference"):
        self.ratio = ratio
        self.label_ties = label_ties


__all__ = ["PARCScorer"]
