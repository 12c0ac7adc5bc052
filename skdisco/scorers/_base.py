"""The base class every transferability scorer derives from, and its fit template."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from ..transferability._leep import check_source_probabilities
from ..utils._docstrings import fill_doc
from ..utils._source import (
    DEVICE_DOC,
    FeatureSource,
    as_feature_source,
    is_device_tensor,
    is_out_of_core,
)
from ..utils._store import digest, is_dask, is_tensor
from ..utils._tags import ScorerTags, Tags, get_scorer_tags
from ..utils._validation import (
    as_numpy,
    auto_task,
    check_classification_target,
    check_features,
    out_of_core_error,
)


def data_digest(X, y):
    """A content hash of ``(X, y)`` used to recognise the data ``fit`` saw.

    None for out-of-core features: hashing them would read them whole once
    more, so ``score`` of such data computes the score again.
    """
    if isinstance(X, FeatureSource):
        return None
    return digest("fit data", np.asarray(X), np.asarray(y))


class EncodedTarget(NamedTuple):
    """A target validated and encoded once, as the core's result functions take it.

    ``task`` is ``"classification"`` or ``"regression"``; ``y`` the labels
    encoded ``0 .. n_classes - 1`` or the float (N, K) regression targets (or
    whatever form the scorer's core function documents); ``classes`` the
    original class labels, or None.
    """

    task: str
    y: object
    classes: object = None

    @property
    def n_classes(self):
        """Number of classes, or None without classes."""
        return None if self.classes is None else int(self.classes.shape[0])


#: Docstring fragments shared by the scorers (see :func:`fill_doc`).
DOC_FRAGMENTS = {
    "score_": """score_ : float
        The score of the data seen in ``fit`` (higher is better);
        ``score(X, y)`` returns it for that data.""",
    "classes_": """classes_ : ndarray of shape (n_classes,)
        Class labels.""",
    "input_attributes": """n_features_in_ : int
        Number of columns of ``X`` seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of those columns, when ``X`` has string column names.""",
    "device": DEVICE_DOC
    + """
        ``fit`` and ``score`` (and LogME's ``partial_fit``) use it.""",
    "set_level_notes": """The score is defined over a set of candidate models:
    ``fit`` computes this model's ``components_``, and :meth:`combine_models`
    turns every model's components into one score per model (the scorer tags
    say ``set_level=True``; :func:`~skdisco.selection.rank_models` does this).""",
}

#: Decorator filling :data:`DOC_FRAGMENTS` into a scorer's docstring.
fill_scorer_doc = fill_doc(**DOC_FRAGMENTS)


class BaseScorer(BaseEstimator):
    """Base class for transferability scorers: ``fit`` scores, ``score`` reports.

    A scorer is a plain estimator (no classifier/regressor mixin). ``fit(X, y)``
    computes the transferability of ``X`` (features or source-model
    probabilities) to target ``y`` and stores the score in ``score_`` together
    with the method's breakdown; ``score(X, y)`` returns the score of the data
    it is given (higher is better) -- the stored value when that is the data
    ``fit`` saw, so ``GridSearchCV`` with a whole-set split computes it once.

    ``fit`` is one template for every scorer: validate ``X`` and ``y`` once
    (``validate_data``; source probabilities are checked to lie on the
    simplex), encode ``y`` once (``_encode_target``), call the core's
    result function on the validated data (``_result``, which does no
    second validation) and store what it returns (``_set_fitted``).
    ``score`` of new data runs the same steps and touches no fitted state.

    Subclasses declare their kind in ``__sklearn_tags__`` (calling ``super()``
    and setting ``tags.scorer_tags.<field>``), set ``_score_function`` (the
    public function of :mod:`skdisco.transferability` the estimator wraps) and
    ``_result_function`` (the core's ``*_result(features, encoded_y,
    n_classes, **params)``, called by the default ``_result``); they
    override ``_result`` when the core's contract differs,
    ``_encode_target`` when ``y`` is not class labels, ``_set_fitted``
    to store a breakdown beyond ``score_``, and ``_score_of`` when the
    result is not a number or an object with a ``score``. The estimator's
    parameters are the function's keyword arguments (``_function_kwargs``),
    with the same defaults and constraints (each core module's
    ``_PARAMETERS``), so the two agree by construction.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.scorers import LogMEScorer
    >>> X, y = load_iris(return_X_y=True)
    >>> scorer = LogMEScorer().fit(X, y)
    >>> scorer.score(X, y) == scorer.score_
    True
    """

    #: the public function this estimator wraps; set by subclasses.
    _score_function = None
    #: the core's ``*_result(features, encoded_y, n_classes, **params)``.
    _result_function = None
    #: fewest samples a class may have (classification scorers).
    _min_samples_per_class = 1

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.two_d_array = True
        tags.non_deterministic = False
        return Tags.from_sklearn(tags, ScorerTags())

    def _function_kwargs(self):
        """Keyword arguments of ``_score_function`` equal to this estimator."""
        return self.get_params(deep=False)

    #: why a scorer without the ``out_of_core`` tag needs every sample at once.
    _in_memory_reason = None

    def _validate(self, X, y, *, reset, ensure_min_samples=2):
        # A scorer with a ``device`` runs its passes there (a FeatureSource);
        # a tensor stays a tensor for it, and one off the CPU stays on its
        # device for any scorer that streams.
        device = getattr(self, "device", None)
        streams = get_scorer_tags(self).out_of_core and (
            is_device_tensor(X) or (device is not None and is_tensor(X))
        )
        if is_out_of_core(X) or streams:
            return self._validate_out_of_core(X, y, reset, ensure_min_samples)
        X, y = self._validate_in_memory(X, y, reset, ensure_min_samples)
        if device is not None:
            X = as_feature_source(X, n_samples=X.shape[0], device=device)
        return X, y

    def _validate_in_memory(self, X, y, reset, ensure_min_samples):
        try:
            return validate_data(
                self,
                as_numpy(X),
                as_numpy(y),
                reset=reset,
                dtype=[np.float64, np.float32],
                multi_output=True,
                y_numeric=False,
                ensure_min_samples=ensure_min_samples,
            )
        except ValueError as exc:
            if "could not convert" in str(exc):
                raise ValueError(
                    f"X must be a numeric feature matrix; got values that are not "
                    f"numbers ({exc})."
                ) from exc
            raise

    def _validate_out_of_core(self, X, y, reset, ensure_min_samples):
        """Validate out-of-core ``X`` lazily (block by block) and ``y`` in memory."""
        if not get_scorer_tags(self).out_of_core:
            raise out_of_core_error(type(self).__name__, why=self._in_memory_reason)
        y = as_numpy(y.compute() if is_dask(y) else y)
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        X = check_features(
            X,
            out_of_core=True,
            n_samples=y.shape[0],
            min_samples=ensure_min_samples,
            device=getattr(self, "device", None),
        )
        if reset:
            self.n_features_in_ = X.n_features
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif X.n_features != self.n_features_in_:
            raise ValueError(
                f"X has {X.n_features} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        return X, y

    def _check_input(self, X):
        """``X`` as the core takes it: source probabilities are checked."""
        if get_scorer_tags(self).input_kind == "probabilities":
            return check_source_probabilities(X, name="X")
        return X

    def _encode_target(self, y, n_samples, *, reset):
        """Validate and encode ``y`` once; return an :class:`EncodedTarget`.

        The default takes class labels: a real-valued or multi-label ``y`` is
        refused, and every class needs ``_min_samples_per_class`` samples.
        ``reset`` is True in ``fit`` and False when ``score`` encodes new data.
        """
        if auto_task(y, refuse_many_valued=False) != "classification":
            raise ValueError(
                f"{type(self).__name__} scores classification targets only; y "
                "looks like a real-valued (regression or multi-label) target."
            )
        y_enc, classes = check_classification_target(
            y, n_samples, min_samples_per_class=self._min_samples_per_class
        )
        return EncodedTarget("classification", y_enc, classes)

    def _result(self, X, target, *, score_only=False):
        """The core's result of validated ``X`` and an :class:`EncodedTarget`.

        The default calls ``_result_function(X, y, n_classes, **params)``, the
        core's documented result contract for class labels. ``score_only`` is
        True when only the score is needed (``score`` of new data), so a scorer
        whose result has a costly breakdown may skip it.
        """
        return type(self)._result_function(
            X, target.y, target.n_classes, **self._core_params()
        )

    def _core_params(self):
        """The parameters the core's ``*_result`` takes: all but ``device``.

        ``device`` has acted already: :meth:`_validate` made ``X`` a source
        whose passes run there.
        """
        params = self.get_params(deep=False)
        params.pop("device", None)
        return params

    def _score_of(self, result):
        """The score, higher is better, of what ``_result`` returned."""
        return float(getattr(result, "score", result))

    def _set_fitted(self, result, target):
        """Set the fitted attributes (``score_``, any breakdown) from a result."""
        self.score_ = self._score_of(result)

    def _prepare(self, X, y, *, reset):
        X = self._check_input(X)
        return X, self._encode_target(y, X.shape[0], reset=reset)

    def _set_classes(self, target):
        if target.classes is not None:
            self.classes_ = target.classes
        elif hasattr(self, "classes_"):
            del self.classes_

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Compute the transferability of ``X`` to ``y`` and store it in ``score_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features of the target samples, or the source model's probabilities
            of them for a scorer whose tags say ``input_kind="probabilities"``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target: class labels (any labels), or what the scorer's tags and
            docstring say it also accepts (real-valued targets, a multi-label
            indicator matrix).

        Returns
        -------
        self : object
            Fitted scorer.
        """
        X, y = self._validate(X, y, reset=True)
        digest = data_digest(X, y)
        X, target = self._prepare(X, y, reset=True)
        result = self._result(X, target)
        self._set_classes(target)
        self._set_fitted(result, target)
        self._fit_digest = digest
        return self

    def score(self, X, y):
        """Transferability of ``X`` to target ``y``; higher is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features (or source probabilities), with as many columns as seen in
            ``fit``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target.

        Returns
        -------
        score : float
            ``score_`` when ``(X, y)`` is the data ``fit`` saw, otherwise the
            score computed on ``(X, y)`` with the fitted parameters (the
            fitted attributes are left untouched).
        """
        check_is_fitted(self)
        X, y = self._validate(X, y, reset=False)
        fitted = getattr(self, "_fit_digest", None)
        if fitted is not None and fitted == data_digest(X, y):
            return float(self.score_)
        X, target = self._prepare(X, y, reset=False)
        return self._score_of(self._result(X, target, score_only=True))


class SetLevelMixin:
    """Mixin of the scorers whose score is defined only across a set of models.

    Such a scorer tags ``set_level=True``, has ``components_`` after ``fit``
    (one value per component of this model) and a method
    ``combine_models(components)`` that turns every candidate model's
    components (an ``(n_models, n_components)`` array) into one score per
    model. Its ``score_`` is the single-model summary its docstring names.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.scorer_tags.set_level = True
        return tags

    def _set_fitted(self, result, target):
        self.components_ = np.asarray(result, dtype=np.float64)
        self.score_ = self._score_of(result)

    @staticmethod
    def _component_columns(components, names):
        """The columns of an ``(n_models, len(names))`` components array."""
        components = np.asarray(components, dtype=np.float64)
        if components.ndim != 2 or components.shape[1] != len(names):
            raise ValueError(
                f"components must have shape (n_models, {len(names)}), one row "
                f"[{', '.join(names)}] per model; got {components.shape}."
            )
        return components.T
