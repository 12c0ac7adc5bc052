"""Scorer tags: what kind of transferability scorer an estimator is.

imbalanced-learn adds a "sampler" kind to scikit-learn's estimator tags; skdisco
adds a "scorer" kind the same way. Every :class:`~skdisco.scorers.BaseScorer`
returns, from ``__sklearn_tags__``, a :class:`Tags` whose ``scorer_tags`` field
says what the scorer takes and what it scores. Everything above the scorers
(:func:`~skdisco.selection.rank_models`, the command line, the check suite)
reads these tags through :func:`get_scorer_tags` and never a private attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from sklearn.utils import Tags as _SklearnTags
from sklearn.utils import get_tags

#: What a scorer's ``X`` holds.
INPUT_KINDS = ("features", "probabilities", "labels")
#: Kinds of target a scorer may define.
SCORER_TASKS = ("classification", "regression", "multilabel", "detection")


@dataclass(slots=True)
class ScorerTags:
    """Tags of a transferability scorer.

    Parameters
    ----------
    input_kind : {"features", "probabilities", "labels"}, default="features"
        What ``X`` holds: features of the target samples; the source model's
        class probabilities of them (LEEP, NCE, PACTran's Dirichlet and Gamma
        variants); or the source model's hard labels of them, one column.
    tasks : tuple of str, default=("classification",)
        Targets the score is defined for, among ``"classification"`` (class
        labels), ``"regression"`` (real-valued targets, one or several columns),
        ``"multilabel"`` (a binary indicator matrix) and ``"detection"`` (one row
        per box: its class label in column 0, its box targets in the others).
    set_level : bool, default=False
        Whether the score is defined only across a set of candidate models: the
        scorer then has ``components_`` after ``fit`` and a method
        ``combine_models(components)`` that turns every model's components
        into one score per model.
    partial_fit : bool, default=False
        Whether the scorer accumulates chunks of samples with ``partial_fit``.
    scale_invariant : bool, default=True
        Whether the score is unchanged when the features are multiplied by a
        positive constant, as the method's definition makes it (a model's
        features carry the same information at any scale, so a score that is
        not invariant ranks models partly by their feature norm). Read for
        ``input_kind="features"`` only: probabilities and labels are never
        rescaled. Scorers whose published definition has a fixed constant in
        the features' units (a variance floor, a ridge, a prior variance) set
        it False and say so in their docstring.
    out_of_core : bool, default=False
        Whether ``fit`` and ``score`` read out-of-core features (a Dask array,
        a zarr or HDF5 array, an iterable of chunks; see
        :func:`~skdisco.utils.is_out_of_core`) in row blocks, with memory
        O(d² + chunk · d). A scorer without it refuses them with an error that
        suggests :func:`~skdisco.utils.subsample`. A ``numpy.memmap`` is read
        in place by every scorer.

    Examples
    --------
    >>> from skdisco.utils import ScorerTags
    >>> ScorerTags(tasks=("classification", "regression")).input_kind
    'features'
    """

    input_kind: str = "features"
    tasks: tuple = ("classification",)
    set_level: bool = False
    partial_fit: bool = False
    scale_invariant: bool = True
    out_of_core: bool = False

    def __post_init__(self):
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(
                f"input_kind must be one of {INPUT_KINDS}; got {self.input_kind!r}."
            )
        self.tasks = tuple(self.tasks)
        unknown = [t for t in self.tasks if t not in SCORER_TASKS]
        if unknown or not self.tasks:
            raise ValueError(
                f"tasks must be a non-empty subset of {SCORER_TASKS}; got "
                f"{self.tasks!r}."
            )


@dataclass(slots=True)
class Tags(_SklearnTags):
    """scikit-learn's :class:`~sklearn.utils.Tags` plus :class:`ScorerTags`.

    The fields before ``scorer_tags`` are scikit-learn's, with its meanings.

    Parameters
    ----------
    estimator_type : str or None
        The type of the estimator (``"classifier"``, ``"regressor"``, ...).
    target_tags : sklearn.utils.TargetTags
        The target (y) tags.
    transformer_tags : sklearn.utils.TransformerTags or None, default=None
        The transformer tags.
    classifier_tags : sklearn.utils.ClassifierTags or None, default=None
        The classifier tags.
    regressor_tags : sklearn.utils.RegressorTags or None, default=None
        The regressor tags.
    array_api_support : bool, default=False
        Whether the estimator supports Array API compatible inputs.
    no_validation : bool, default=False
        Whether the estimator skips input validation.
    non_deterministic : bool, default=False
        Whether the estimator is not deterministic given a fixed random state.
    requires_fit : bool, default=True
        Whether the estimator must be fitted before other methods.
    _skip_test : bool, default=False
        Whether scikit-learn's common tests skip the estimator.
    input_tags : sklearn.utils.InputTags
        The input (X) tags.
    scorer_tags : ScorerTags or None, default=None
        The scorer tags; ``None`` for an estimator that is not a scorer.

    Examples
    --------
    >>> from skdisco.scorers import LogMEScorer
    >>> tags = LogMEScorer().__sklearn_tags__()
    >>> tags.scorer_tags.partial_fit
    True
    """

    scorer_tags: ScorerTags | None = field(default=None)

    @classmethod
    def from_sklearn(cls, tags, scorer_tags):
        """These tags from scikit-learn's ``tags`` and ``scorer_tags``.

        Parameters
        ----------
        tags : sklearn.utils.Tags
            Tags built by scikit-learn's ``__sklearn_tags__`` chain.
        scorer_tags : ScorerTags
            The scorer tags to add.

        Returns
        -------
        tags : Tags
            A copy of ``tags`` with ``scorer_tags`` set.

        Examples
        --------
        >>> from sklearn.base import BaseEstimator
        >>> from skdisco.utils import ScorerTags, Tags
        >>> base = BaseEstimator().__sklearn_tags__()
        >>> Tags.from_sklearn(base, ScorerTags()).scorer_tags.set_level
        False
        """
        values = {f.name: getattr(tags, f.name) for f in fields(_SklearnTags)}
        return cls(**values, scorer_tags=scorer_tags)


def get_scorer_tags(estimator):
    """The :class:`ScorerTags` of ``estimator``, or None if it is not a scorer.

    A scorer written outside skdisco (any estimator with ``fit`` and ``score``
    whose tags carry no ``scorer_tags``) is treated as a feature scorer of
    classification and regression targets, since that is what ``fit(X, y)``
    with features ``X`` means.

    Parameters
    ----------
    estimator : estimator instance
        The scorer.

    Returns
    -------
    tags : ScorerTags or None
        Its scorer tags; None when ``estimator`` has no ``fit`` and ``score``.

    Examples
    --------
    >>> from skdisco.scorers import LEEPScorer
    >>> from skdisco.utils import get_scorer_tags
    >>> get_scorer_tags(LEEPScorer()).input_kind
    'probabilities'
    """
    tags = get_tags(estimator)
    scorer_tags = getattr(tags, "scorer_tags", None)
    if scorer_tags is not None:
        return scorer_tags
    if callable(getattr(estimator, "fit", None)) and callable(
        getattr(estimator, "score", None)
    ):
        return ScorerTags(tasks=("classification", "regression"))
    return None


__all__ = ["INPUT_KINDS", "SCORER_TASKS", "ScorerTags", "Tags", "get_scorer_tags"]
