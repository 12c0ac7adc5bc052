"""DISCO as estimators: the score of one model, and the detection combination."""

from __future__ import annotations

from ..transferability._disco import (
    _DETECTION_PARAMETERS,
    _PARAMETERS,
    disco,
    disco_detection,
    disco_detection_components,
    disco_detection_result,
    disco_result,
    prepare_detection_target,
    prepare_disco_target,
)
from ._base import BaseScorer, EncodedTarget, SetLevelMixin, fill_scorer_doc


@fill_scorer_doc
class DiscoScorer(BaseScorer):
    r"""DISCO: task scores of spectral components weighted by their singular values.

    Splits the singular values of the (centred) features into groups of
    consecutive values, scores each group alone on the task (mean true-class
    posterior for classification; for regression minus the MSE of least
    squares, in sample or left out, or its Bayesian evidence), and sums the
    scores weighted by each group's share of the singular values. Higher is
    better; classification scores lie in [0, 1], in-sample regression scores
    in [-1, 0] with standardised targets. See
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
    covariance : {"isotropic", "shared", "class", "identity"}, default="isotropic"
        Covariance of each group's Gaussian class model.
    shrinkage : float in [0, 1] or "oas", default="oas"
        Shrinkage of that covariance toward a scaled identity.
    posterior : {"cross_validated", "in_sample"}, default="cross_validated"
        Held-out class means and priors, or the paper's in-sample ones.
    n_folds : int, default=5
        Folds of the cross-validated posterior.
    regression_score : {"in_sample", "loo", "evidence"}, default="evidence"
        Regression S_lr per group: the paper's in-sample ``-MSE``, the
        leave-one-out ``-MSE``, or the group's maximum log evidence (LogME).
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
    {device}

    Attributes
    ----------
    score_ : float
        DISCO score of the data seen in ``fit``: ``contributions_.sum()``.
    singular_values_ : ndarray of shape (``n_components_``,)
        Non-zero singular values of the (centred) features, descending.
    groups_ : list of ndarray
        Indices into ``singular_values_`` of each group.
    ratios_ : ndarray of shape (``n_groups_``,)
        Each group's share of the singular values (they sum to 1).
    group_scores_ : ndarray of shape (``n_groups_``,)
        Task score of each group alone (S_ncc in [0, 1], or S_lr: ≤ 0 in
        sample and left out, a log evidence per sample with the evidence).
    contributions_ : ndarray of shape (``n_groups_``,)
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
    {input_attributes}

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
        covariance="isotropic",
        shrinkage="oas",
        posterior="cross_validated",
        n_folds=5,
        regression_score="evidence",
        hard_examples="auto",
        hard_examples_threshold=20_000,
        standardize_targets=True,
        task="auto",
        random_state=None,
        device=None,
    ):
        self.n_groups = n_groups
        self.group_size = group_size
        self.centering = centering
        self.covariance = covariance
        self.shrinkage = shrinkage
        self.posterior = posterior
        self.n_folds = n_folds
        self.regression_score = regression_score
        self.hard_examples = hard_examples
        self.hard_examples_threshold = hard_examples_threshold
        self.standardize_targets = standardize_targets
        self.task = task
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Not invariant where the identity covariance is a nearest-centroid model in the
        # features' units.
        tags.scorer_tags.scale_invariant = self.covariance != "identity"
        tags.scorer_tags.tasks = ("classification", "regression", "multilabel")
        tags.scorer_tags.out_of_core = True
        return tags

    def _encode_target(self, y, n_samples, *, reset):
        task, target, classes = prepare_disco_target(
            y, n_samples, self.task if reset else self.task_, self.standardize_targets
        )
        return EncodedTarget(task, target, classes)

    def _result(self, X, target, *, score_only=False):
        params = self._core_params()
        for key in ("task", "standardize_targets"):
            params.pop(key)
        return disco_result(
            X, target.y, task=target.task, n_classes=target.n_classes, **params
        )

    def _set_fitted(self, result, target):
        self.task_ = result.task
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


@fill_scorer_doc
class DiscoDetectionScorer(SetLevelMixin, BaseScorer):
    r"""DISCO for object detection: box-label and box-coordinate scores, combined.

    Scores the same box features twice with DISCO -- on the class labels
    (classification) and on the box coordinates (regression) -- and keeps both
    as ``components_``.

    {set_level_notes}

    Here :meth:`combine_models` min-max normalises the two components across
    the models and adds them (:func:`skdisco.transferability.disco_detection`),
    as ``rank_models(..., scorers=["disco_detection"])`` does.

    Parameters
    ----------
    n_groups : int, default=2
        Number of spectral components of each DISCO score.
    random_state : int, RandomState instance or None, default=0
        Seeds DISCO's cross-validated posterior.
    {device}

    Attributes
    ----------
    components_ : ndarray of shape (2,)
        ``[classification DISCO, regression DISCO]`` of this model
        (:func:`skdisco.transferability.disco_detection_components`).
    score_ : float
        Their sum, the single-model summary (in [-1, 1]); the detection score
        proper is defined over a set of models (:meth:`combine_models`).
    {classes_}
    {input_attributes}

    See Also
    --------
    skdisco.transferability.disco_detection_components : The components as a
        function.
    skdisco.transferability.disco_detection : The combination over models.

    Notes
    -----
    ``y`` has shape ``(n_samples, 1 + n_box_targets)``: column 0 holds the
    class label of each box, the other columns its regression targets (e.g.
    the 4 box coordinates), one row per box feature. Every class needs two
    boxes, and the regression targets are standardised per column, as
    :class:`DiscoScorer` does.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.scorers import DiscoDetectionScorer
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 3, 200)
    >>> boxes = rng.normal(size=(200, 4))
    >>> noise = rng.normal(size=(200, 3))
    >>> X = np.column_stack([labels + rng.normal(0, 0.3, 200), boxes, noise])
    >>> y = np.column_stack([labels, boxes])
    >>> DiscoDetectionScorer().fit(X, y).components_.shape
    (2,)
    """

    #: its function gives the components (``components_``), not one score.
    _score_function = staticmethod(disco_detection_components)
    _parameter_constraints: dict = dict(_DETECTION_PARAMETERS)

    def __init__(self, *, n_groups=2, random_state=0, device=None):
        self.n_groups = n_groups
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.scorer_tags.tasks = ("detection",)
        tags.scorer_tags.out_of_core = True
        tags.target_tags.single_output = False
        tags.target_tags.multi_output = True
        return tags

    def _encode_target(self, y, n_samples, *, reset):
        labels, classes, boxes = prepare_detection_target(y, n_samples)
        return EncodedTarget("classification", (labels, boxes), classes)

    def _result(self, X, target, *, score_only=False):
        labels, boxes = target.y
        return disco_detection_result(
            X, labels, target.n_classes, boxes, **self._core_params()
        )

    def _score_of(self, result):
        return float(result.sum())

    def combine_models(self, components):
        """Detection scores of a set of models from every model's ``components_``.

        Parameters
        ----------
        components : array-like of shape (n_models, 2)
            One row ``[classification DISCO, regression DISCO]`` per candidate
            model: its ``components_`` after ``fit`` on the same boxes.

        Returns
        -------
        scores : ndarray of shape (n_models,)
            Min-max normalised classification plus regression score, in [0, 2],
            higher is better; comparable only within the set.
        """
        cls, reg = self._component_columns(
            components, ("classification DISCO", "regression DISCO")
        )
        return disco_detection(cls, reg)


__all__ = ["DiscoDetectionScorer", "DiscoScorer"]
