"""GBCScorer: the Gaussian Bhattacharyya coefficient as an estimator."""

from __future__ import annotations

from ..transferability._gbc import _PARAMETERS, gbc, gbc_result
from ._base import BaseScorer, fill_scorer_doc


@fill_scorer_doc
class GBCScorer(BaseScorer):
    r"""GBC: minus the summed Bhattacharyya coefficients between class Gaussians.

    Higher is better, in [-C(C-1), 0].
    See :func:`skdisco.transferability.gbc` for the maths, the reference
    implementations and how we differ from them.

    Parameters
    ----------
    gaussian_type : {"spherical", "diagonal"}, default="spherical"
        Per-class covariance model.
    n_components : int, default=None
        Exact PCA to this many components first (``None``: none).
    {device}

    Attributes
    ----------
    {score_}
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.gbc : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import GBCScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(random_state=1)
    >>> round(GBCScorer().fit(X, y).score_, 4)
    -0.0
    """

    _score_function = staticmethod(gbc)
    _result_function = staticmethod(gbc_result)
    _parameter_constraints: dict = dict(_PARAMETERS)

    def __init__(self, *, gaussian_type="spherical", n_components=None, device=None):
        self.gaussian_type = gaussian_type
        self.n_components = n_components
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Not invariant where the reference floors every class variance at 1e-4 in the
        # features' units.
        tags.scorer_tags.scale_invariant = False
        tags.scorer_tags.out_of_core = True
        return tags


__all__ = ["GBCScorer"]
