"""SFDA: Self-challenging Fisher Discriminant Analysis.

Shao, Zhao, Ge, Zhang, Yang, Wang, Shan, Luo, "Not All Models Are
Equal: Predicting Model Transferability in a Self-challenging Fisher Space",
ECCV 2022. Reference code: TencentARC/SFDA ``metrics.py`` (``SFDA_Score``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.utils._param_validation import validate_params

from ..utils._source import (
    DEVICE_PARAMETER,
    STREAMING_FEATURES,
    fill_device_doc,
    reduce_blocks,
)
from ..utils._validation import (
    check_classification_target,
    check_features,
    num_rows,
)
from ..utils._warnings import PerfectSeparationWarning, user_stacklevel
from ._linalg import (
    _TRANSFORM_CHUNK_BYTES,
    _on_device,
    blas_matmul,
    check_within_scatter,
    lda_coefficients,
    lda_posterior_values,
    lda_statistics,
    posterior_chunk_bytes,
    rescaled,
    scatter_sum,
    sfda_shrinkage,
    shrink_covariance,
    symmetrize_upper,
)


@dataclass(frozen=True)
class SFDAResult:
    """What SFDA computes for one feature matrix and labels.

    Attributes
    ----------
    score : float
        Mean second-stage posterior of the true class, in (0, 1].
    shrinkage : float
        Shrinkage of the within-class covariance, fixed in the first stage.
    first_stage_score : float
        Mean first-stage posterior of the true class (the shrunk-LDA score
        before the confidence mix).
    confidence : ndarray of shape (n_samples,)
        Softened first-stage probability of each sample's own class: the weight
        of the sample in the confidence mix.
    """

    score: float
    shrinkage: float
    first_stage_score: float
    confidence: np.ndarray


def _lda_posterior(F, y, n_classes, *, shrinkage=None, scale=1.0):
    """One shrunk-LDA stage; return ``(true, confidence, shrinkage, means)``.

    ``true`` is each row's posterior of its own class, ``confidence`` its
    softened version (a second softmax over the posterior, as the reference
    does): the O(N) values SFDA keeps, never the N × C posterior. Three passes
    over the rows (class sums, within-class scatter, posteriors). ``F`` may be
    features divided by ``scale`` (:func:`rescaled`): the posterior is
    invariant to that, the shrinkage is computed on the original scale.
    """
    counts, means, within = lda_statistics(F, y, n_classes)
    check_within_scatter(within, "SFDA")
    priors = counts / counts.sum()
    if shrinkage is None:
        shrinkage = sfda_shrinkage(within, scale=scale)
    center = priors @ means
    covariance = shrink_covariance(within, shrinkage)[0]
    within = None  # one D × D matrix fewer while the discriminant is solved
    coef, intercept = lda_coefficients(means, priors, covariance, center)
    covariance = None
    values = lda_posterior_values(
        F, y, coef, intercept, center, value=_true_and_confidence
    )
    return values[:, 0], values[:, 1], shrinkage, means


def _true_and_confidence(P, y_block):
    """Per row: ``P[i, y_i]`` and ``softmax(P[i])[y_i]``."""
    idx = np.arange(P.shape[0])
    return np.column_stack([P[idx, y_block], softmax(P, axis=1)[idx, y_block]])


def _mixed_stage_score(F, y, n_classes, confidence, outer, shrinkage):
    """Second LDA stage on ``x̃_i = p_i x_i + (1 - p_i) o_{y_i}``; mean true posterior.

    The class sums and the logits are linear in ``x̃``, so they come from the
    unmixed rows -- ``Σ_{i∈c} p_i x_i + (n_c - Σ_{i∈c} p_i) o_c`` and
    ``p_i x_i Aᵀ + (1 - p_i) o_{y_i} Aᵀ`` -- and only the within-class scatter
    forms mixed rows, chunk by chunk, once (the reference mixes a full copy).
    Three passes over the rows, each a reduction (Dask tasks on the workers).
    """
    n, d = F.shape
    on_device = _on_device(F)
    if on_device:  # the same three passes, the rows on their device
        from ..utils import _torch as T
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    p_sums = np.bincount(y, weights=confidence, minlength=n_classes)
    sums = (counts - p_sums)[:, None] * outer
    if on_device:
        sums += T.device_weighted_class_sums(
            F, y, confidence, n_classes, chunk_bytes=_TRANSFORM_CHUNK_BYTES
        )
    else:
        sums += reduce_blocks(
            F, partial(_weighted_class_sum_block, n_classes=n_classes), y, confidence
        )
    means = sums / counts[:, None]
    if on_device:
        W = T.device_mixed_within_scatter(
            F, y, confidence, outer, means, chunk_bytes=_TRANSFORM_CHUNK_BYTES
        )
    else:
        W = scatter_sum(
            F, partial(_mixed_rows, outer=outer, means=means), y, confidence
        )
    # Each D × D matrix is dropped as soon as the next is formed: the scatter,
    # its full symmetric copy, the shrunk covariance and its Cholesky factor
    # are at most two at a time.
    within = symmetrize_upper(W)
    W = None
    within /= n
    priors = counts / n
    center = priors @ means
    covariance = shrink_covariance(within, shrinkage)[0]
    within = None
    coef, intercept = lda_coefficients(means, priors, covariance, center)
    covariance = None
    # x̃ - c = p (x - c) + (1 - p)(o - c): centred as in the first stage.
    outer_logits = (outer - center) @ coef.T  # (C, C)
    if on_device:
        return (
            T.device_mixed_posterior_sum(
                F,
                y,
                confidence,
                center=center,
                coef=coef,
                outer_logits=outer_logits,
                intercept=intercept,
                chunk_bytes=posterior_chunk_bytes(d, n_classes),
            )
            / n
        )
    total = reduce_blocks(
        F,
        partial(
            _mixed_posterior_block,
            center=center,
            coef=coef,
            outer_logits=outer_logits,
            intercept=intercept,
        ),
        y,
        confidence,
        chunk_bytes=posterior_chunk_bytes(d, n_classes),
    )
    return float(total) / n


def _weighted_class_sum_block(block, y_block, p, *, n_classes):
    """``Σ_{i∈c} p_i x_i`` per class over one block."""
    rows = np.arange(block.shape[0])
    weighted = sp.csr_matrix((p, (y_block, rows)), shape=(n_classes, block.shape[0]))
    return weighted @ block


def _mixed_rows(block, y_block, p, *, outer, means):
    """The mixed rows of a block about their class means."""
    p = p[:, None]
    # R = p x + (1 - p) o_y - μ_y, in that order, in place: R and one temporary.
    R = p * block
    R += (1.0 - p) * outer[y_block]
    R -= means[y_block]
    return R


def _mixed_posterior_block(block, y_block, p, *, center, coef, outer_logits, intercept):
    """Sum of the second stage's true-class posterior over one block."""
    p = p[:, None]
    # (x - c) Aᵀ as x Aᵀ - c Aᵀ: no centred copy, the product on scipy's BLAS.
    logits = blas_matmul(block, coef.T)
    logits -= center @ coef.T
    logits *= p
    logits += (1.0 - p) * outer_logits[y_block]
    logits += intercept
    return float(softmax(logits, axis=1)[np.arange(block.shape[0]), y_block].sum())


#: A score within this of its maximum 1 cannot separate models (float64
#: posteriors that round to 1 at logit margins beyond about 28).
_SATURATED = 1e-12


def sfda_result(F, y, n_classes):
    """SFDA of features ``F`` and labels ``y`` encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    n, d = F.shape
    if n - n_classes < d:
        warnings.warn(
            f"SFDA with {n} samples, {n_classes} classes and {d} features: the "
            "within-class covariance is singular (N - C < D), so the nearly "
            "unregularised Fisher space separates the classes perfectly and the "
            "score saturates near 1.0. Reduce the features (PCA) or add samples "
            "to rank models.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    # The shrunk LDA's posterior is invariant to a joint rescaling of the
    # features and their covariance; only the shrinkage reads the scale. So
    # features of extreme magnitude are divided by a power of two (exactly).
    F, scale = rescaled(F)
    true, confidence, shrinkage, means = _lda_posterior(F, y, n_classes, scale=scale)
    first = float(true.mean())
    outer = (means.sum(axis=0)[None, :] - means) / (n_classes - 1)

    score = _mixed_stage_score(F, y, n_classes, confidence, outer, shrinkage)
    if not n - n_classes < d and 1.0 - score <= _SATURATED:
        # Data-dependent, unlike the singular case above: the features separate
        # the classes so well that every posterior rounds to 1.
        warnings.warn(
            PerfectSeparationWarning(
                f"SFDA saturates: the score is 1 to within {_SATURATED:.0e} "
                "(every sample's class posterior rounds to 1 in float64), so "
                "all models whose features separate these classes this well "
                "tie at the maximum and SFDA cannot rank them among "
                "themselves. Use a score that keeps a margin (LogME, the kNN "
                "probe) to rank them.",
                maximum=1.0,
            ),
            stacklevel=user_stacklevel(),
        )
    return SFDAResult(
        score=score,
        shrinkage=shrinkage,
        first_stage_score=first,
        confidence=confidence,
    )


#: SFDA's only parameter is where its passes run.
_PARAMETERS = {"device": DEVICE_PARAMETER}


@validate_params(
    {"features": STREAMING_FEATURES, "y": ["array-like"], **_PARAMETERS},
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def sfda(features, y, *, device=None):
    r"""SFDA transferability score: self-challenging Fisher discriminant accuracy.

    Fits a shrunk linear discriminant (LDA) to the features, mixes every sample
    towards the mean of the *other* classes in proportion to how unsure that
    LDA is about it (ConfMix, the "self-challenge"), refits the LDA on the mixed
    features and returns the mean posterior probability of the true class.
    Higher is better; the range is (0, 1], with 1/C about chance.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features), or out-of-core
        Features of the target data from a pre-trained model. Never modified
        (the reference overwrites its input); float32 is read chunk by chunk
        into float64. A ``numpy.memmap``, a Dask array (zarr, HDF5), an
        iterable of row chunks or a function returning one are read in row
        blocks: six passes (see Notes).
    y : array-like of shape (n_samples,)
        Class labels (any labels: strings, gaps, offsets); at least two classes,
        two samples per class.
    {device}

    Returns
    -------
    score : float
        SFDA score in (0, 1], higher is better.

    Raises
    ------
    ValueError
        When the features are constant within every class (the within-class
        covariance is zero): the discriminant is undefined.

    Warns
    -----
    UserWarning
        When ``n_samples - n_classes < n_features``: the within-class
        covariance is singular and the score saturates near 1.0 (faithful to
        the method, but useless for ranking).
    PerfectSeparationWarning
        When the score is 1 to within 1e-12 otherwise: the features separate
        the classes so well that every posterior rounds to 1, and all such
        models tie at the maximum (:func:`~skdisco.selection.rank_models`
        keeps 1 for them).

    See Also
    --------
    skdisco.scorers.SFDAScorer : The estimator.

    Notes
    -----
    With class means :math:`\mu_c`, priors :math:`\pi_c` and the pooled
    population within-class covariance :math:`S_w`, the shrinkage is
    :math:`\lambda = \max(e^{-5 \hat\sigma_{\max}}, 10^{-10})` where
    :math:`\hat\sigma_{\max}` is SFDA's three-step power-iteration estimate of
    the largest eigenvalue of :math:`S_w`, and
    :math:`\Sigma = (1-\lambda) S_w + \lambda \tfrac{\operatorname{tr} S_w}{D} I`.
    The posterior is

    .. math::

        p(c \mid x) \propto \pi_c \exp\big(x^\top \Sigma^{-1}\mu_c
        - \tfrac12 \mu_c^\top \Sigma^{-1} \mu_c\big).

    With :math:`p_i = \operatorname{softmax}_c(p(c \mid x_i))_{y_i}` and
    :math:`\bar\mu_{\neg c} = \frac{1}{C-1}\sum_{k \ne c}\mu_k`, the mixed sample
    is :math:`x_i' = p_i x_i + (1-p_i)\bar\mu_{\neg y_i}`; the second LDA (same
    :math:`\lambda`) on the :math:`x'` gives the score
    :math:`\frac1N\sum_i p'(y_i \mid x_i')`.

    The reference forms :math:`\Sigma^{-1}` as :math:`V V^\top` from all D
    generalised eigenvectors of :math:`(S_b, \Sigma)`; only :math:`\Sigma^{-1}`
    enters the posterior, so we apply it with a Cholesky solve, build
    :math:`S_w` from class-centred rows with one chunked ``dsyrk`` per stage
    (the mixed rows are formed chunk by chunk), and never hold an N × N matrix.
    Cost: two passes of :math:`O(N D^2)` plus :math:`O(D^3/3)`.

    **Out of core.** Each stage reads the rows three times, in order, block by
    block (class sums, within-class scatter, posteriors): six passes, each a
    reduction whose tasks run on the workers for a Dask array. Memory is
    O(D² + chunk · D) plus the N confidences :math:`p_i` (no N × C posterior).
    A one-shot generator is refused (it can be read once).

    The shrinkage :math:`\lambda` depends on the scale of the features (not the
    rest), so SFDA is not invariant to rescaling them. Features of extreme
    magnitude (beyond :math:`2^{\pm 256}`) are divided by a power of two, with
    :math:`\hat\sigma_{\max}` scaled back, so the value is the one the formula
    gives, not an overflow.

    **Deviations from the reference** (TencentARC/SFDA ``SFDA_Score``): the
    input is never modified (the reference overwrites ``X`` with the mixed
    features); labels are encoded to ``0 .. C-1`` first (the reference indexes
    probabilities by the raw label and fails on label gaps); and a warning is
    raised where the score saturates.

    **Not scale invariant.** The shrinkage ``exp(-a·λ)`` reads the eigenvalue λ in
    the features' units: On the first 600 rows of scikit-learn's digits, the score
    moves by 10 % at 0.01× and 11 % at 1e-3× (at 100× and beyond the shrinkage is
    nil and the score unchanged); the scorer's ``scale_invariant`` tag is False.

    References
    ----------
    .. [1] W. Shao, X. Zhao, Y. Ge, Z. Zhang, L. Yang, X. Wang, Y. Shan, P. Luo.
       "Not All Models Are Equal: Predicting Model Transferability in a
       Self-challenging Fisher Space". ECCV 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import sfda
    >>> X, y = load_iris(return_X_y=True)
    >>> round(sfda(X, y), 4)
    0.8765
    """
    F = check_features(features, out_of_core=True, n_samples=num_rows(y), device=device)
    y_enc, classes = check_classification_target(y, F.shape[0], min_samples_per_class=2)
    return sfda_result(F, y_enc, classes.shape[0]).score


__all__ = ["SFDAResult", "sfda", "sfda_result"]
