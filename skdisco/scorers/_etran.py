"""ETranScorer: the components of ETran for one model, combined over a set."""

from __future__ import annotations

from ..transferability._etran import (
    _PARAMETERS,
    etran_combine,
    etran_lda,
    etran_result,
)
from ._base import BaseScorer, SetLevelMixin, fill_scorer_doc


@fill_scorer_doc
class ETranScorer(SetLevelMixin, BaseScorer):
    """ETran components of one model; ``score_`` is its LDA score.

    {set_level_notes}

    Here :meth:`combine_models` is
    :func:`skdisco.transferability.etran_combine`. For a single model
    ``score_`` is the LDA component (weight 0.85 in the combination): the
    mean posterior of the true class, in (0, 1], higher is better.

    Parameters
    ----------
    percent : float, default=0.5
        Percentage of samples averaged by the energy score.
    tail : {"bottom", "top"}, default="bottom"
        Which energy tail is averaged.
    covariance : {"identity", "shrunk"}, default="identity"
        LDA covariance: the reference's effective identity, or SFDA's shrunk one.
    {device}

    Attributes
    ----------
    score_ : float
        ``components_[1]``.
    components_ : ndarray of shape (2,)
        ``[energy, lda]`` (see :func:`skdisco.transferability.etran_components`).
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.etran : The scores of a set of models as a function.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.scorers import ETranScorer
    >>> X, y = load_iris(return_X_y=True)
    >>> ETranScorer(percent=5).fit(X, y).components_.shape
    (2,)
    """

    _score_function = staticmethod(etran_lda)
    _result_function = staticmethod(etran_result)
    _parameter_constraints: dict = dict(_PARAMETERS)
    _min_samples_per_class = 2

    def __init__(
        self, *, percent=0.5, tail="bottom", covariance="identity", device=None
    ):
        self.percent = percent
        self.tail = tail
        self.covariance = covariance
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Not invariant where the energy score is a log-sum-exp of the raw features.
        tags.scorer_tags.scale_invariant = False
        tags.scorer_tags.out_of_core = True
        return tags

    def _function_kwargs(self):
        return {"covariance": self.covariance, "device": self.device}

    def _score_of(self, result):
        return float(result[1])

    def combine_models(self, components):
        """ETran scores of a set of models from every model's ``components_``.

        Parameters
        ----------
        components : array-like of shape (n_models, 2)
            One row ``[energy, lda]`` per candidate model: its ``components_``
            after ``fit`` on the same target.

        Returns
        -------
        scores : ndarray of shape (n_models,)
            :func:`skdisco.transferability.etran_combine` of the two columns,
            in [0, 1], higher is better; comparable only within the set.
        """
        energy, lda = self._component_columns(components, ("energy", "lda"))
        return etran_combine(energy, lda)


__all__ = ["ETranScorer"]
