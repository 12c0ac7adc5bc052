"""SFDAScorer: self-challenging Fisher discriminant analysis as an estimator."""

from __future__ import annotations

from ..transferability._sfda import _PARAMETERS, sfda, sfda_result
from ._base import BaseScorer, fill_scorer_doc


@fill_scorer_doc
class SFDAScorer(BaseScorer):
    """SFDA: self-challenging Fisher discriminant analysis (higher is better).

    Wraps :func:`skdisco.transferability.sfda` (see it for the maths, the range
    (0, 1] and the deviations from the reference code).

    Parameters
    ----------
    {device}

    Attributes
    ----------
    {score_}
    shrinkage_ : float
        Within-class covariance shrinkage chosen in the first stage.
    first_stage_score_ : float
        Mean first-stage (before the confidence mix) posterior of the true class.
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.sfda : The same score as a function.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.scorers import SFDAScorer
    >>> X, y = load_iris(return_X_y=True)
    >>> round(SFDAScorer().fit(X, y).score_, 4)
    0.8765
    """

    _score_function = staticmethod(sfda)
    _result_function = staticmethod(sfda_result)
    _parameter_constraints: dict = dict(_PARAMETERS)
    _min_samples_per_class = 2

    def __init__(self, *, device=None):
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Not invariant where its shrinkage exp(-a·λ) depends on the eigenvalue λ in the
        # features' units.
        tags.scorer_tags.scale_invariant = False
        tags.scorer_tags.out_of_core = True
        return tags

    def _set_fitted(self, result, target):
        self.score_ = result.score
        self.shrinkage_ = result.shrinkage
        self.first_stage_score_ = result.first_stage_score


__all__ = ["SFDAScorer"]
