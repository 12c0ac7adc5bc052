"""Scorers for SFDA, NCTI, ETran and PACTran (Gaussian, Dirichlet, Gamma)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..transferability._etran import energy_result, etran_lda, lda_result
from ..transferability._leep import check_source_probabilities
from ..transferability._ncti import NCTI_COMPONENTS, ncti_lda_score, ncti_result
from ..transferability._pactran import (
    pac_dir_value,
    pac_gamma_value,
    pac_gauss_result,
    pactran_dirichlet,
    pactran_gamma,
    pactran_gauss,
)
from ..transferability._sfda import sfda, sfda_result
from ..utils._validation import check_classification_target
from ._base import BaseScorer


class _ClassificationScorer(BaseScorer):
    """Shared plumbing: classification labels, encoded once per call."""

    _supported_tasks = ("classification",)
    _min_samples_per_class = 2

    def _encode(self, X, y):
        return check_classification_target(
            y, X.shape[0], min_samples_per_class=self._min_samples_per_class
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Compute the transferability of ``X`` to the labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features (or source-model probabilities, for the PACTran
            Dirichlet/Gamma scorers).
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            Fitted scorer.
        """
        X, y = self._validate(X, y, reset=True)
        y_enc, classes = self._encode(X, y)
        self.classes_ = classes
        self._fit_encoded(X, y_enc, classes.shape[0])
        self._remember_fit_data(X, y)
        return self

    def _compute_score(self, X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return type(self)._score_function(X, y, **self._function_kwargs())


class SFDAScorer(_ClassificationScorer):
    """SFDA: self-challenging Fisher discriminant analysis (higher is better).

    Wraps :func:`skdisco.transferability.sfda` (see it for the maths, the range
    (0, 1] and the deviations from the reference code).

    Attributes
    ----------
    score_ : float
        The SFDA score of the data seen in ``fit``.
    shrinkage_ : float
        Within-class covariance shrinkage chosen in the first stage.
    first_stage_score_ : float
        Mean first-stage (before the confidence mix) posterior of the true class.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.scorers import SFDAScorer
    >>> X, y = load_iris(return_X_y=True)
    >>> round(SFDAScorer().fit(X, y).score_, 4)
    0.8765
    """

    _score_function = staticmethod(sfda)
    _parameter_constraints: dict = {}

    def __init__(self):
        pass

    def _fit_encoded(self, X, y, n_classes):
        result = sfda_result(X, y, n_classes)
        self.score_ = result.score
        self.shrinkage_ = result.shrinkage
        self.first_stage_score_ = result.first_stage_score


class NCTIScorer(_ClassificationScorer):
    """NCTI components of one model; ``score_`` is its LDA class score.

    NCTI is defined over a set of models
    (:func:`skdisco.transferability.ncti_combine` of every model's
    ``components_``). For a single model ``score_`` is the one component that
    is meaningful alone: the mean LDA posterior of the true class in NCTI's
    PCA space (in (0, 1], higher is better).

    Parameters
    ----------
    n_components : int, default=64
        Principal components kept before the LDA.

    Attributes
    ----------
    score_ : float
        ``components_[1]``.
    components_ : ndarray of shape (3,)
        ``[all_feature_nuclear_norm, lda_class_score, log_class_nuclear_norm]``
        (see :func:`skdisco.transferability.ncti_components`).
    component_names_ : tuple of str
        Names of the components.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.scorers import NCTIScorer
    >>> X, y = load_digits(return_X_y=True)
    >>> NCTIScorer().fit(X, y).components_.shape
    (3,)
    """

    _score_function = staticmethod(ncti_lda_score)
    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, n_components=64):
        self.n_components = n_components

    def _fit_encoded(self, X, y, n_classes):
        self.components_ = ncti_result(X, y, n_classes, self.n_components)
        self.component_names_ = NCTI_COMPONENTS
        self.score_ = float(self.components_[1])


class ETranScorer(_ClassificationScorer):
    """ETran components of one model; ``score_`` is its LDA score.

    ETran is defined over a set of models
    (:func:`skdisco.transferability.etran_combine` of every model's
    ``components_``). For a single model ``score_`` is the LDA component
    (weight 0.85 in the combination): the mean posterior of the true class, in
    (0, 1], higher is better.

    Parameters
    ----------
    percent : float, default=0.5
        Percentage of samples averaged by the energy score.
    tail : {"bottom", "top"}, default="bottom"
        Which energy tail is averaged.
    covariance : {"identity", "shrunk"}, default="identity"
        LDA covariance: the reference's effective identity, or SFDA's shrunk one.

    Attributes
    ----------
    score_ : float
        ``components_[1]``.
    components_ : ndarray of shape (2,)
        ``[energy, lda]``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.scorers import ETranScorer
    >>> X, y = load_iris(return_X_y=True)
    >>> ETranScorer(percent=5).fit(X, y).components_.shape
    (2,)
    """

    _score_function = staticmethod(etran_lda)
    _parameter_constraints: dict = {
        "percent": [Interval(Real, 0, 100, closed="right")],
        "tail": [StrOptions({"bottom", "top"})],
        "covariance": [StrOptions({"identity", "shrunk"})],
    }

    def __init__(self, *, percent=0.5, tail="bottom", covariance="identity"):
        self.percent = percent
        self.tail = tail
        self.covariance = covariance

    def _fit_encoded(self, X, y, n_classes):
        lda = lda_result(X, y, n_classes, self.covariance)
        energy = energy_result(X, self.percent, self.tail)
        self.components_ = np.array([energy, lda])
        self.score_ = lda

    def _function_kwargs(self):
        return {"covariance": self.covariance}


class PACTranGaussScorer(_ClassificationScorer):
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
    coef_ : ndarray of shape (n_features_in_ + 1, n_classes)
        Weights and (last row) biases at the optimum, for centred features.
    n_iter_ : int
        L-BFGS-B iterations used.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.scorers import PACTranGaussScorer
    >>> X, y = load_iris(return_X_y=True)
    >>> scorer = PACTranGaussScorer().fit(X, y)
    >>> scorer.score_ == -scorer.pac_gauss_
    True
    """

    _score_function = staticmethod(pactran_gauss)
    _min_samples_per_class = 1
    _parameter_constraints: dict = {
        "lda_factor": [Interval(Real, 0, None, closed="neither")],
        "variance_scale": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

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

    def _fit_encoded(self, X, y, n_classes):
        r = pac_gauss_result(X, y, n_classes, **self._function_kwargs())
        self.score_ = r.score
        self.pac_gauss_ = r.pac_gauss
        self.pac_opt_ = r.pac_opt
        self.coef_ = r.coef
        self.n_iter_ = r.n_iter


class _SourceProbabilityScorer(_ClassificationScorer):
    _input_kind = "probabilities"
    _min_samples_per_class = 1
    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, alpha=1.0, n_iter=10):
        self.alpha = alpha
        self.n_iter = n_iter

    def _fit_encoded(self, X, y, n_classes):
        P = check_source_probabilities(X, name="X")
        self.bound_ = self._bound(P, y, n_classes, alpha=self.alpha, n_iter=self.n_iter)
        self.score_ = -self.bound_


class PACTranDirichletScorer(_SourceProbabilityScorer):
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
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of source classes seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of columns seen during ``fit``, when ``X`` has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.scorers import PACTranDirichletScorer
    >>> P = np.full((6, 3), 1 / 3); y = [0, 1, 0, 1, 0, 1]
    >>> PACTranDirichletScorer().fit(P, y).score_ < 0
    True
    """

    _score_function = staticmethod(pactran_dirichlet)
    _bound = staticmethod(pac_dir_value)


class PACTranGammaScorer(_SourceProbabilityScorer):
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
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of source classes seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of columns seen during ``fit``, when ``X`` has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.scorers import PACTranGammaScorer
    >>> P = np.full((6, 3), 1 / 3); y = [0, 1, 0, 1, 0, 1]
    >>> PACTranGammaScorer().fit(P, y).score_ < 0
    True
    """

    _score_function = staticmethod(pactran_gamma)
    _bound = staticmethod(pac_gamma_value)


__all__ = [
    "ETranScorer",
    "NCTIScorer",
    "PACTranDirichletScorer",
    "PACTranGammaScorer",
    "PACTranGaussScorer",
    "SFDAScorer",
]
