"""DiscoScorer: the DISCO transferability score as a scikit-learn estimator."""

from __future__ import annotations

from sklearn.base import _fit_context

from ..transferability._disco import (
    _PARAMETERS,
    disco,
    disco_result,
    prepare_disco_target,
)
from ._base import BaseScorer


class DiscoScorer(BaseScorer):
    r"""DISCO: task scores of spectral components weighted by their singular values.

    Splits the singular values of the (centred) features into groups of
    consecutive values, scores each group alone on the task (mean true-class
    posterior for classification, minus the MSE of least squares for
    regression), and sums the scores weighted by each group's share of the
    singular values. Higher is better; classification scores lie in [0, 1],
    regression scores in [-1, 0] with standardised targets. See
    :func:`skdisco.transferability.disco` for the maths and which choices are
    the paper's and which are ours.

    Parameters
    ----------
    n_groups : int, default=2
        Number of spectral components (groups of singular values).
    group_size : int, default=None
        Singular values per group instead of ``n_groups``.
    centering : bool, default=False
        Centre the features before the SVD.
    covariance : {"shared", "class", "identity"}, default="identity"
        Covariance of each group's Gaussian class model.
    shrinkage : float in [0, 1] or "oas", default="oas"
        Shrinkage of that covariance toward a scaled identity.
    posterior : {"cross_validated", "in_sample"}, default="cross_validated"
        Held-out class means and priors, or the paper's in-sample ones.
    n_folds : int, default=5
        Folds of the cross-validated posterior.
    hard_examples : "auto", int, float or None, default="auto"
        Hard-example sampling through LDA posteriors (classification only).
    hard_examples_threshold : int, default=20000
        Sample count above which ``"auto"`` samples that many hard examples.
    standardize_targets : bool, default=True
        Standardise regression targets per column.
    task : {"auto", "classification", "regression"}, default="auto"
        What ``y`` is.
    random_state : int, RandomState instance or None, default=None
        Permutes the fold labels of the cross-validated posterior.

    Attributes
    ----------
    score_ : float
        DISCO score of the data seen in ``fit``: ``contributions_.sum()``.
    singular_values_ : ndarray of shape (n_components_,)
        Non-zero singular values of the (centred) features, descending.
    groups_ : list of ndarray
        Indices into ``singular_values_`` of each group.
    ratios_ : ndarray of shape (n_groups_,)
        Each group's share of the singular values (they sum to 1).
    group_scores_ : ndarray of shape (n_groups_,)
        Task score of each group alone (S_ncc in [0, 1], or S_lr ≤ 0).
    contributions_ : ndarray of shape (n_groups_,)
        ``ratios_ * group_scores_``: what each group adds to ``score_``.
    shrinkage_ : ndarray
        Shrinkage coefficients used (per group, or per group and class).
    sample_indices_ : ndarray or None
        Rows kept by hard-example sampling, or None when all rows were scored.
    n_components_ : int
        Number of non-zero singular values.
    n_groups_ : int
        Number of groups actually used.
    task_ : {"classification", "regression"}
        The task that was scored.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classification only).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    skdisco.transferability.disco : The same score as a function.
    skdisco.transferability.disco_components : The breakdown as a dataclass.

    Notes
    -----
    Reading the breakdown: ``ratios_`` says where the features put their
    spectrum, ``group_scores_`` what each part of the spectrum knows about the
    task, and ``contributions_`` which part earns the score. Features whose
    large-σ groups score well transfer well; a large ``ratios_[0]`` with a
    modest ``group_scores_[0]`` is spectrum spent on directions the task does not
    use.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.scorers import DiscoScorer
    >>> X, y = load_digits(return_X_y=True)
    >>> scorer = DiscoScorer(n_groups=4).fit(X, y)
    >>> scorer.n_groups_, round(float(scorer.ratios_.sum()), 12)
    (4, 1.0)
    >>> bool(scorer.group_scores_[0] > scorer.group_scores_[-1])
    True
    """

    _score_function = staticmethod(disco)
    _parameter_constraints: dict = dict(_PARAMETERS)

    def __init__(
        self,
        *,
        n_groups=2,
        group_size=None,
        centering=False,
        covariance="identity",
        shrinkage="oas",
        posterior="cross_validated",
        n_folds=5,
        hard_examples="auto",
        hard_examples_threshold=20_000,
        standardize_targets=True,
        task="auto",
        random_state=None,
    ):
        self.n_groups = n_groups
        self.group_size = group_size
        self.centering = centering
        self.covariance = covariance
        self.shrinkage = shrinkage
        self.posterior = posterior
        self.n_folds = n_folds
        self.hard_examples = hard_examples
        self.hard_examples_threshold = hard_examples_threshold
        self.standardize_targets = standardize_targets
        self.task = task
        self.random_state = random_state

    def _method_kwargs(self):
        params = self.get_params(deep=False)
        for key in ("task", "standardize_targets"):
            params.pop(key)
        return params

    def _run(self, X, y, task):
        task, target, classes = prepare_disco_target(
            y, X.shape[0], task, self.standardize_targets
        )
        n_classes = None if classes is None else classes.shape[0]
        result = disco_result(
            X, target, task=task, n_classes=n_classes, **self._method_kwargs()
        )
        return result, classes

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Compute the DISCO score of features ``X`` for target ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features (float32 stays float32 at the input; float64 inside).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Class labels or real-valued targets.

        Returns
        -------
        self : DiscoScorer
            Fitted scorer.
        """
        X, y = self._validate(X, y, reset=True)
        result, classes = self._run(X, y, self.task)
        self.task_ = result.task
        if classes is not None:
            self.classes_ = classes
        elif hasattr(self, "classes_"):
            del self.classes_
        self.score_ = result.score
        self.singular_values_ = result.singular_values
        self.groups_ = result.groups
        self.ratios_ = result.ratios
        self.group_scores_ = result.group_scores
        self.contributions_ = result.contributions
        self.shrinkage_ = result.shrinkage
        self.sample_indices_ = result.sample_indices
        self.n_components_ = int(result.singular_values.shape[0])
        self.n_groups_ = len(result.groups)
        self._remember_fit_data(X, y)
        return self

    def _compute_score(self, X, y):
        return self._run(X, y, self.task_)[0].score
