"""PACTran scorers: the Gaussian bound on features, Dirichlet and Gamma on
source-model probabilities."""

from __future__ import annotations

from ..transferability._leep import SOURCE_PROBABILITIES_IN_MEMORY
from ..transferability._pactran import (
    _GAUSS_PARAMETERS,
    _SOURCE_PARAMETERS,
    PACTRAN_GAUSS_IN_MEMORY,
    pac_dir_result,
    pac_gamma_result,
    pac_gauss_result,
    pactran_dirichlet,
    pactran_gamma,
    pactran_gauss,
)
from ._base import BaseScorer, fill_scorer_doc


@fill_scorer_doc
class PACTranGaussScorer(BaseScorer):
    """PACTran-Gaussian bound on the features, negated (higher is better).

    Wraps :func:`skdisco.transferability.pactran_gauss`.

    Parameters
    ----------
    lda_factor : float, default=1.0
        Prior variance scale (the paper's 10, 1, 0.1).
    variance_scale : float, default=100.0
        Posterior variance factor (the reference's 100 or 10).
    max_iter : int, default=100
        L-BFGS-B iterations.
    tol : float, default=1e-6
        L-BFGS-B tolerance (see :func:`~skdisco.transferability.pactran_gauss`).
    random_state : int, RandomState instance or None, default=0
        Seed of the optimiser's start.

    Attributes
    ----------
    score_ : float
        ``-pac_gauss_``.
    pac_gauss_ : float
        The bound (lower is better).
    pac_opt_ : float
        Regularised cross-entropy at the optimum.
    coef_ : ndarray of shape (``n_features_in_`` + 1, n_classes)
        Weights and (last row) biases at the optimum, for centred features.
    n_iter_ : int
        L-BFGS-B iterations used.
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.pactran_gauss : The same score as a function.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.scorers import PACTranGaussScorer
    >>> X, y = load_iris(return_X_y=True)
    >>> scorer = PACTranGaussScorer().fit(X, y)
    >>> scorer.score_ == -scorer.pac_gauss_
    True
    """

    _in_memory_reason = PACTRAN_GAUSS_IN_MEMORY
    _score_function = staticmethod(pactran_gauss)
    _result_function = staticmethod(pac_gauss_result)
    _parameter_constraints: dict = dict(_GAUSS_PARAMETERS)

    def __init__(
        self,
        *,
        lda_factor=1.0,
        variance_scale=100.0,
        max_iter=100,
        tol=1e-6,
        random_state=0,
    ):
        self.lda_factor = lda_factor
        self.variance_scale = variance_scale
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Not invariant where the Gaussian prior's variance is fixed, not relative to
        # the features.
        tags.scorer_tags.scale_invariant = False
        return tags

    def _set_fitted(self, result, target):
        self.score_ = result.score
        self.pac_gauss_ = result.pac_gauss
        self.pac_opt_ = result.pac_opt
        self.coef_ = result.coef
        self.n_iter_ = result.n_iter


class _SourceProbabilityBound(BaseScorer):
    """PACTran on source probabilities: the core returns a bound, negated here."""

    _in_memory_reason = SOURCE_PROBABILITIES_IN_MEMORY

    _parameter_constraints: dict = dict(_SOURCE_PARAMETERS)

    def __init__(self, *, alpha=1.0, n_iter=10):
        self.alpha = alpha
        self.n_iter = n_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.scorer_tags.input_kind = "probabilities"
        return tags

    def _score_of(self, result):
        return -float(result)

    def _set_fitted(self, result, target):
        self.bound_ = float(result)
        self.score_ = self._score_of(result)


@fill_scorer_doc
class PACTranDirichletScorer(_SourceProbabilityBound):
    """PACTran-Dirichlet on source-model probabilities, negated.

    ``X`` holds the source model's softmax probabilities of the target samples.
    Wraps :func:`skdisco.transferability.pactran_dirichlet`.

    Parameters
    ----------
    alpha : float, default=1.0
        Dirichlet concentration.
    n_iter : int, default=10
        Mean-field iterations.

    Attributes
    ----------
    score_ : float
        ``-bound_``, higher is better.
    bound_ : float
        The PACTran-Dirichlet bound (lower is better).
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.pactran_dirichlet : The same score as a function.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.scorers import PACTranDirichletScorer
    >>> P = np.full((6, 3), 1 / 3); y = [0, 1, 0, 1, 0, 1]
    >>> PACTranDirichletScorer().fit(P, y).score_ < 0
    True
    """

    _score_function = staticmethod(pactran_dirichlet)
    _result_function = staticmethod(pac_dir_result)


@fill_scorer_doc
class PACTranGammaScorer(_SourceProbabilityBound):
    """PACTran-Gamma on source-model probabilities, negated.

    ``X`` holds the source model's softmax probabilities of the target samples.
    Wraps :func:`skdisco.transferability.pactran_gamma`.

    Parameters
    ----------
    alpha : float, default=1.0
        Gamma shape.
    n_iter : int, default=10
        Mean-field iterations.

    Attributes
    ----------
    score_ : float
        ``-bound_``, higher is better.
    bound_ : float
        The PACTran-Gamma bound (lower is better).
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.pactran_gamma : The same score as a function.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.scorers import PACTranGammaScorer
    >>> P = np.full((6, 3), 1 / 3); y = [0, 1, 0, 1, 0, 1]
    >>> PACTranGammaScorer().fit(P, y).score_ < 0
    True
    """

    _score_function = staticmethod(pactran_gamma)
    _result_function = staticmethod(pac_gamma_result)


__all__ = ["PACTranDirichletScorer", "PACTranGammaScorer", "PACTranGaussScorer"]
