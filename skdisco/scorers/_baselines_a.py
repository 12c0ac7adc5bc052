"""Estimators for the published baselines: LEEP, NCE, NLEEP, H-score, shrinkage
H-score, GBC, TransRate, PARC and the linear / kNN probes.

Each class wraps one function of :mod:`skdisco.transferability` (the maths and the
deviations from the reference code are documented there) and adds validation and
scikit-learn plumbing only.
"""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..transferability import (
    gbc,
    hscore,
    knn_probe,
    leep,
    linear_probe,
    nce,
    nleep,
    parc,
    regularized_hscore,
    transrate,
)
from ..utils._validation import check_classification_target, infer_task
from ._base import BaseScorer


class _LabelScorer(BaseScorer):
    """Shared ``fit`` / ``_compute_score`` of the classification baselines."""

    _supported_tasks = ("classification",)

    def _score(self, X, y):
        return float(type(self)._score_function(X, y, **self._function_kwargs()))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Compute the score of ``X`` for the class labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features (or source probabilities, for LEEP and NCE).
        y : array-like of shape (n_samples,)
            Class labels (any labels).

        Returns
        -------
        self : object
            Fitted scorer.
        """
        X, y = self._validate(X, y, reset=True)
        if infer_task(y) != "classification":
            raise ValueError(
                f"{type(self).__name__} scores classification targets only; y "
                "looks like a real-valued (regression or multi-label) target."
            )
        _, self.classes_ = check_classification_target(y, X.shape[0])
        self.score_ = self._score(X, y)
        self._remember_fit_data(X, y)
        return self

    def _compute_score(self, X, y):
        return self._score(X, y)


class LEEPScorer(_LabelScorer):
    r"""LEEP: log expected empirical prediction of the target from source probabilities.

    ``X`` holds the pre-trained classifier's probabilities over its source
    classes (rows sum to 1), not features. Higher is better, in (-inf, 0].
    See :func:`skdisco.transferability.leep` for the maths, the reference
    implementations and how we differ from them.

    Attributes
    ----------
    score_ : float
        The score of the data seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of those columns, when ``X`` has string column names.

    See Also
    --------
    skdisco.transferability.leep : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import LEEPScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(input_kind="probabilities", random_state=1)
    >>> round(LEEPScorer().fit(X, y).score_, 4)
    -0.3996
    """

    _score_function = staticmethod(leep)
    _input_kind = "probabilities"
    _parameter_constraints: dict = {}


class NCEScorer(_LabelScorer):
    r"""NCE: negative conditional entropy of the target given the source label.

    ``X`` holds the source classifier's probabilities; the hard source label
    is their argmax (``soft=False``, the published NCE). Higher is better, in
    [-log C, 0].
    See :func:`skdisco.transferability.nce` for the maths, the reference
    implementations and how we differ from them.

    Parameters
    ----------
    soft : bool, default=False
        Build the joint from the soft probabilities (pactran_metrics' form).

    Attributes
    ----------
    score_ : float
        The score of the data seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of those columns, when ``X`` has string column names.

    See Also
    --------
    skdisco.transferability.nce : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import NCEScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(input_kind="probabilities", random_state=1)
    >>> round(NCEScorer().fit(X, y).score_, 4)
    -0.3447
    """

    _score_function = staticmethod(nce)
    _input_kind = "probabilities"
    _parameter_constraints: dict = {
        "soft": ["boolean"],
    }

    def __init__(self, *, soft=False):
        self.soft = soft


class NLEEPScorer(_LabelScorer):
    r"""NLEEP: LEEP on a Gaussian mixture fitted to PCA-reduced features.

    Higher is better; in [0, 1] for ``variant="sfda"``, (-inf, 0] for
    ``variant="pactran"``.
    See :func:`skdisco.transferability.nleep` for the maths, the reference
    implementations and how we differ from them.

    Parameters
    ----------
    variant : {"sfda", "pactran"}, default="sfda"
        Component count and output form (see :func:`~skdisco.transferability.nleep`).
    component_ratio : int, default=5
        Mixture components per class (``"sfda"``).
    pca_variance : float, default=0.8
        Variance kept by the PCA.
    random_state : int, RandomState instance or None, default=0
        Seed of the mixture's initialisation.

    Attributes
    ----------
    score_ : float
        The score of the data seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of those columns, when ``X`` has string column names.

    See Also
    --------
    skdisco.transferability.nleep : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import NLEEPScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(random_state=1)
    >>> round(NLEEPScorer().fit(X, y).score_, 4)
    1.0
    """

    _score_function = staticmethod(nleep)
    _input_kind = "features"
    _parameter_constraints: dict = {
        "variant": [StrOptions({"sfda", "pactran"})],
        "component_ratio": [Interval(Integral, 1, None, closed="left")],
        "pca_variance": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self, *, variant="sfda", component_ratio=5, pca_variance=0.8, random_state=0
    ):
        self.variant = variant
        self.component_ratio = component_ratio
        self.pca_variance = pca_variance
        self.random_state = random_state


class HScoreScorer(_LabelScorer):
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

    Attributes
    ----------
    score_ : float
        The score of the data seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of those columns, when ``X`` has string column names.

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
    _input_kind = "features"
    _parameter_constraints: dict = {
        "variant": [StrOptions({"tllib", "pactran"})],
        "rcond": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, *, variant="tllib", rcond=1e-15):
        self.variant = variant
        self.rcond = rcond


class RegularizedHScoreScorer(_LabelScorer):
    r"""Shrinkage H-score: H-score with a Ledoit-Wolf covariance.

    Higher is better; stable when N is close to or below D.
    See :func:`skdisco.transferability.regularized_hscore` for the maths, the reference
    implementations and how we differ from them.

    Attributes
    ----------
    score_ : float
        The score of the data seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of those columns, when ``X`` has string column names.

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
    _input_kind = "features"
    _parameter_constraints: dict = {}


class GBCScorer(_LabelScorer):
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

    Attributes
    ----------
    score_ : float
        The score of the data seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of those columns, when ``X`` has string column names.

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
    _input_kind = "features"
    _parameter_constraints: dict = {
        "gaussian_type": [StrOptions({"spherical", "diagonal"})],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, *, gaussian_type="spherical", n_components=None):
        self.gaussian_type = gaussian_type
        self.n_components = n_components


class TransRateScorer(_LabelScorer):
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

    Attributes
    ----------
    score_ : float
        The score of the data seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of those columns, when ``X`` has string column names.

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
    _input_kind = "features"
    _parameter_constraints: dict = {
        "variant": [StrOptions({"official", "official_projection", "tllib"})],
        "eps": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, *, variant="official", eps=1e-4):
        self.variant = variant
        self.eps = eps


class PARCScorer(_LabelScorer):
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
    score_ : float
        The score of the data seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of those columns, when ``X`` has string column names.

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

    _score_function = staticmethod(parc)
    _input_kind = "features"
    _parameter_constraints: dict = {
        "ratio": [Interval(Real, 0, None, closed="neither")],
        "label_ties": [StrOptions({"reference", "exact"})],
    }

    def __init__(self, *, ratio=2, label_ties="reference"):
        self.ratio = ratio
        self.label_ties = label_ties


class LinearProbeScorer(_LabelScorer):
    r"""Linear-probe baseline: cross-validated logistic-regression accuracy.

    Higher is better, in [0, 1]. Trains ``cv`` classifiers: the costly yardstick.
    See :func:`skdisco.transferability.linear_probe` for the maths, the reference
    implementations and how we differ from them.

    Parameters
    ----------
    cv : int, default=5
        Stratified shuffled folds.
    C : float, default=1.0
        Inverse L2 regularisation strength.
    max_iter : int, default=1000
        L-BFGS iterations.
    random_state : int, RandomState instance or None, default=0
        Seed of the fold shuffling.

    Attributes
    ----------
    score_ : float
        The score of the data seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of those columns, when ``X`` has string column names.

    See Also
    --------
    skdisco.transferability.linear_probe : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import LinearProbeScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(random_state=1)
    >>> round(LinearProbeScorer().fit(X, y).score_, 4)
    1.0
    """

    _score_function = staticmethod(linear_probe)
    _input_kind = "features"
    _parameter_constraints: dict = {
        "cv": [Interval(Integral, 2, None, closed="left")],
        "C": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, cv=5, C=1.0, max_iter=1000, random_state=0):
        self.cv = cv
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state


class KNNProbeScorer(_LabelScorer):
    r"""kNN baseline: cross-validated k-nearest-neighbour accuracy.

    Higher is better, in [0, 1].
    See :func:`skdisco.transferability.knn_probe` for the maths, the reference
    implementations and how we differ from them.

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours voting.
    cv : int, default=5
        Stratified shuffled folds.
    random_state : int, RandomState instance or None, default=0
        Seed of the fold shuffling.

    Attributes
    ----------
    score_ : float
        The score of the data seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of those columns, when ``X`` has string column names.

    See Also
    --------
    skdisco.transferability.knn_probe : The same score as a function.

    Examples
    --------
    >>> from skdisco.scorers import KNNProbeScorer
    >>> from skdisco.utils.estimator_checks import make_scorer_data
    >>> X, y, _ = make_scorer_data(random_state=1)
    >>> round(KNNProbeScorer().fit(X, y).score_, 4)
    1.0
    """

    _score_function = staticmethod(knn_probe)
    _input_kind = "features"
    _parameter_constraints: dict = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, n_neighbors=5, cv=5, random_state=0):
        self.n_neighbors = n_neighbors
        self.cv = cv
        self.random_state = random_state


__all__ = [
    "LEEPScorer",
    "NCEScorer",
    "NLEEPScorer",
    "HScoreScorer",
    "RegularizedHScoreScorer",
    "GBCScorer",
    "TransRateScorer",
    "PARCScorer",
    "LinearProbeScorer",
    "KNNProbeScorer",
]
