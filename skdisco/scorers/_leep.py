"""Scorers of the LEEP family: LEEP, NCE and NLEEP (:mod:`..transferability._leep`)."""

from __future__ import annotations

from ..transferability._leep import (
    _LEEP_PARAMETERS,
    _NCE_PARAMETERS,
    _NLEEP_PARAMETERS,
    NLEEP_IN_MEMORY,
    SOURCE_PROBABILITIES_IN_MEMORY,
    leep,
    leep_result,
    nce,
    nce_result,
    nleep,
    nleep_result,
)
from ._base import BaseScorer, fill_scorer_doc


@fill_scorer_doc
class LEEPScorer(BaseScorer):
    r"""LEEP: log expected empirical prediction of the target from source probabilities.

    ``X`` holds the pre-trained classifier's probabilities over its source
    classes (rows sum to 1), not features. Higher is better, in (-inf, 0].
    See :func:`skdisco.transferability.leep` for the maths, the reference
    implementations and how we differ from them.

    Attributes
    ----------
    {score_}
    {classes_}
    {input_attributes}

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

    _in_memory_reason = SOURCE_PROBABILITIES_IN_MEMORY
    _score_function = staticmethod(leep)
    _result_function = staticmethod(leep_result)
    _parameter_constraints: dict = dict(_LEEP_PARAMETERS)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.scorer_tags.input_kind = "probabilities"
        return tags


@fill_scorer_doc
class NCEScorer(BaseScorer):
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
    {score_}
    {classes_}
    {input_attributes}

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

    _in_memory_reason = SOURCE_PROBABILITIES_IN_MEMORY
    _score_function = staticmethod(nce)
    _result_function = staticmethod(nce_result)
    _parameter_constraints: dict = dict(_NCE_PARAMETERS)

    def __init__(self, *, soft=False):
        self.soft = soft

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.scorer_tags.input_kind = "probabilities"
        return tags


@fill_scorer_doc
class NLEEPScorer(BaseScorer):
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
    sample_order : {"content", "given"}, default="content"
        Rows in content order (the score does not depend on the order of
        the samples) or as given (the references' values).

    Attributes
    ----------
    {score_}
    {classes_}
    {input_attributes}

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

    _in_memory_reason = NLEEP_IN_MEMORY
    _score_function = staticmethod(nleep)
    _result_function = staticmethod(nleep_result)
    _parameter_constraints: dict = dict(_NLEEP_PARAMETERS)

    def __init__(
        self,
        *,
        variant="sfda",
        component_ratio=5,
        pca_variance=0.8,
        random_state=0,
        sample_order="content",
    ):
        self.variant = variant
        self.component_ratio = component_ratio
        self.pca_variance = pca_variance
        self.random_state = random_state
        self.sample_order = sample_order

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Not invariant where the Gaussian mixture adds scikit-learn's reg_covar=1e-6 to
        # every variance.
        tags.scorer_tags.scale_invariant = False
        return tags


__all__ = ["LEEPScorer", "NCEScorer", "NLEEPScorer"]
