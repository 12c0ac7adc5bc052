"""NCTIScorer: the components of NCTI for one model, combined over a set."""

from __future__ import annotations

from ..transferability._ncti import (
    _PARAMETERS,
    NCTI_COMPONENTS,
    ncti_combine,
    ncti_lda_score,
    ncti_result,
)
from ._base import BaseScorer, SetLevelMixin, fill_scorer_doc


@fill_scorer_doc
class NCTIScorer(SetLevelMixin, BaseScorer):
    """NCTI components of one model; ``score_`` is its LDA class score.

    {set_level_notes}

    Here :meth:`combine_models` is
    :func:`skdisco.transferability.ncti_combine`. For a single model
    ``score_`` is the one component that is meaningful alone: the mean LDA
    posterior of the true class in NCTI's PCA space (in (0, 1], higher is
    better).

    Parameters
    ----------
    n_components : int, default=64
        Principal components kept before the LDA.
    {device}

    Attributes
    ----------
    score_ : float
        ``components_[1]``.
    components_ : ndarray of shape (3,)
        ``[all_feature_nuclear_norm, lda_class_score, log_class_nuclear_norm]``
        (see :func:`skdisco.transferability.ncti_components`).
    component_names_ : tuple of str
        Names of the components.
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.ncti : The scores of a set of models as a function.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.scorers import NCTIScorer
    >>> X, y = load_digits(return_X_y=True)
    >>> NCTIScorer().fit(X, y).components_.shape
    (3,)
    """

    _score_function = staticmethod(ncti_lda_score)
    _result_function = staticmethod(ncti_result)
    _parameter_constraints: dict = dict(_PARAMETERS)
    _min_samples_per_class = 2

    def __init__(self, *, n_components=64, device=None):
        self.n_components = n_components
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Not invariant where its LDA shrinkage exp(-Σ λ) depends on explained variances
        # in the features' units.
        tags.scorer_tags.scale_invariant = False
        tags.scorer_tags.out_of_core = True
        return tags

    def _score_of(self, result):
        return float(result[1])

    def _set_fitted(self, result, target):
        super()._set_fitted(result, target)
        self.component_names_ = NCTI_COMPONENTS

    def combine_models(self, components):
        """NCTI scores of a set of models from every model's ``components_``.

        Parameters
        ----------
        components : array-like of shape (n_models, 3)
            One row per candidate model: its ``components_`` after ``fit`` on
            the same target.

        Returns
        -------
        scores : ndarray of shape (n_models,)
            :func:`skdisco.transferability.ncti_combine` of the components, in
            [-1, 2], higher is better; comparable only within the set.
        """
        return ncti_combine(components)


__all__ = ["NCTIScorer"]
