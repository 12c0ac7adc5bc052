"""PARC: Pairwise Annotation Representation Comparison.

Bolya, Mittapalli, Hoffman, "Scalable Diverse Model Selection for Accessible
Transfer Learning", NeurIPS 2021.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.stats import rankdata
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._validation import check_classification_target, check_features
from ._linalg import rescaled

#: What needs every sample at once (the out-of-core error says it).
PARC_IN_MEMORY = "it correlates every pair of samples: two N × N matrices"

# The reference reduces to 32 dimensions with a randomised PCA seeded 1919.
_PARC_DIMS = 32
_PARC_SEED = 1919

#: Constraints of PARC's parameters, shared by :func:`parc` and the estimator.
_PARAMETERS = {
    "ratio": [Interval(Real, 0, None, closed="neither")],
    "label_ties": [StrOptions({"reference", "exact"})],
}


@validate_params(
    {"features": ["array-like"], "y": ["array-like"], **_PARAMETERS},
    prefer_skip_nested_validation=True,
)
def parc(features, y, *, ratio=2, label_ties="reference"):
    r"""PARC: rank correlation between feature and label dissimilarity matrices.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target data.
    y : array-like of shape (n_samples,)
        Target class labels (any labels).
    ratio : float, default=2
        Reduction of the features before comparing: ``ratio > 1`` keeps 32
        randomised-PCA components (the reference default, ``ratio=2``);
        ``ratio <= 1`` keeps ``int(n_features * ratio)``. Never more than
        ``min(n_samples, n_features)``.
    label_ties : {"reference", "exact"}, default="reference"
        How pairs of the same class are ranked on the label side. ``"reference"``
        computes the label dissimilarities as the reference does,
        ``1 - np.corrcoef(one_hot)``, whose round-off makes some same-class
        pairs 1.1e-16 instead of 0, so Spearman's ranking splits what should be
        ties (this reproduces the published values). ``"exact"`` treats every
        same-class pair as tied (the mathematically defined Spearman
        correlation); it can differ from the reference by several percent.

    Returns
    -------
    score : float
        100 × Spearman correlation, in [-100, 100]; higher is better.

    Raises
    ------
    ValueError
        When the correlation is undefined: every class has a single sample (no
        pair of the same class), or every pair of samples is equally
        dissimilar (constant features).

    See Also
    --------
    skdisco.scorers.PARCScorer : The estimator.

    Notes
    -----
    The features are reduced by ``PCA(svd_solver="randomized",
    random_state=1919, iterated_power=1)`` and standardised per column; with
    :math:`\rho` the Pearson correlation between two samples' feature vectors,
    the feature dissimilarity is :math:`1 - \rho` and the label dissimilarity
    :math:`1 - \operatorname{corr}(e_{y_i}, e_{y_j})` (0 for the same class,
    :math:`C/(C-1)` otherwise). PARC is the Spearman correlation of the two over
    all pairs :math:`i < j`, times 100. The label side takes only two values, so
    with ``label_ties="exact"`` the Spearman correlation is the point-biserial
    correlation of the feature dissimilarities' ranks with the "different class"
    indicator. See ``label_ties`` for the reference's round-off tie-breaking, a
    defect we reproduce by default so that published numbers are comparable.
    Cost: O(N²·k) time and O(N²) memory (the N(N-1)/2
    pair dissimilarities and their ranks) -- about 3 GB at N = 20 000.

    **Deviations from the reference** (TencentARC/SFDA ``PARC_Score``): the
    released module misses ``import sklearn, scipy`` and cannot run as is; we
    compute the value it computes once imported. Labels are remapped to
    ``0 .. C-1`` (the reference indexes an identity matrix by raw labels). Its
    sub-sampling branch for N > 15 000 selects samples and then scores all of
    them anyway; we score all samples.

    References
    ----------
    .. [1] D. Bolya, R. Mittapalli, J. Hoffman. "Scalable Diverse Model Selection
       for Accessible Transfer Learning". NeurIPS 2021.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import parc
    >>> X, y = load_iris(return_X_y=True)
    >>> round(parc(X, y), 2)
    42.34
    """
    F = check_features(features, out_of_core="PARC", why=PARC_IN_MEMORY)
    y_enc, classes = check_classification_target(y, F.shape[0])
    return parc_result(F, y_enc, classes.shape[0], ratio=ratio, label_ties=label_ties)


def _n_dims(n, d, ratio):
    """Dimensions kept by the reduction."""
    k = _PARC_DIMS if ratio > 1 else int(d * ratio)
    return max(1, min(k, n, d))


def _reduce(F, ratio):
    k = _n_dims(*F.shape, ratio)
    pca = PCA(
        n_components=k,
        svd_solver="randomized",
        random_state=_PARC_SEED,
        iterated_power=1,
    )
    return pca.fit_transform(np.asarray(F, dtype=np.float64))


def parc_result(F, y, n_classes, *, ratio=2, label_ties="reference"):
    """PARC of features ``F`` and labels ``y`` encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    n, d = F.shape
    if _n_dims(n, d, ratio) < 2:
        raise ValueError(
            "PARC correlates the samples' feature vectors, which needs at least "
            f"two dimensions after its reduction; got n_features={d} (ratio="
            f"{ratio}) for 1 feature(s) kept. Pass more features or a larger "
            "ratio."
        )
    if not np.any(np.bincount(y, minlength=n_classes) > 1):
        raise ValueError(
            "PARC needs two samples of one class: it correlates feature with label "
            "dissimilarities over pairs of samples, and with one sample per class "
            "every pair is of different classes (the label side is constant)."
        )
    # Scale invariant (the reduced features are standardised): features of
    # extreme magnitude are divided by a power of two (exactly) first.
    Z = _reduce(rescaled(F)[0], ratio)
    std = Z.std(axis=0)
    Z = (Z - Z.mean(axis=0)) / np.where(std > 0, std, 1.0)
    # Row-wise Pearson correlation: centre and normalise each sample's vector.
    Z = Z - Z.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(Z, axis=1)
    Z = Z / np.where(norms > 0, norms, 1.0)[:, None]
    n = Z.shape[0]
    iu = np.triu_indices(n, 1)
    dissim = 1.0 - (Z @ Z.T)[iu]
    if np.ptp(dissim) == 0:
        raise ValueError(
            "PARC is undefined for these features: every pair of samples is "
            "equally dissimilar (constant features, or a single reduced "
            "dimension, carry no information to rank)."
        )
    ranks = rankdata(dissim)
    del dissim
    if label_ties == "exact":
        return 100.0 * _point_biserial(ranks, y[iu[0]] != y[iu[1]])
    onehot = np.eye(n_classes)[y]
    label_ranks = rankdata((1.0 - np.corrcoef(onehot))[iu])
    del iu
    return 100.0 * float(np.corrcoef(ranks, label_ranks)[0, 1])


def _point_biserial(values, indicator):
    """Pearson correlation between ``values`` and a boolean ``indicator``."""
    m = values.shape[0]
    k = int(indicator.sum())
    if k == 0 or k == m:
        return float("nan")
    p = k / m
    mean_all = values.mean()
    mean_1 = values[indicator].mean()
    std = np.sqrt(np.mean((values - mean_all) ** 2))
    return float((mean_1 - mean_all) / std * np.sqrt(p / (1.0 - p)))


__all__ = ["parc"]
