"""NCTI: Neural Collapse inspired Transferability Index.

Wang, Luo, Zheng, Huang, Baktashmotlagh, "How Far Pre-trained Models Are from Neural
Collapse on the Target Dataset Informs their Transferability", ICCV 2023.
Reference code: BUserName/NCTI ``metrics.py`` (``NCTI_Score``) and
``evaluate_metric_group1_cpu.py`` (the combination over a set of models).
"""

from __future__ import annotations

import warnings
from functools import partial
from numbers import Integral

import numpy as np
from scipy.linalg import svdvals
from scipy.special import softmax
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._source import (
    DEVICE_PARAMETER,
    STREAMING_FEATURES,
    FeatureSource,
    fill_device_doc,
    reduce_blocks,
)
from ..utils._validation import check_classification_target, check_features, num_rows
from ..utils._warnings import user_stacklevel
from ._linalg import (
    CenteredSpectrum,
    _on_device,
    between_covariance,
    check_within_scatter,
    lda_coefficients,
    lda_directions,
    lda_posterior_values,
    lda_predict_proba,
    lda_statistics,
    minmax_across_models,
    posterior_chunk_bytes,
    rescaled,
    shrink_covariance,
    true_class_probability,
)

#: names of the three components, in the order ``ncti_components`` returns them.
NCTI_COMPONENTS = (
    "all_feature_nuclear_norm",
    "lda_class_score",
    "log_class_nuclear_norm",
)
_FLOOR = 1e-10


def _pca_scores(F, n_classes, n_components, stream=False):
    """PCA scores as the reference's ``PCA(n_components)``; reduce if needed.

    ``stream``: return the map from a block of rows to its scores instead.
    """
    n, d = F.shape
    k = min(n_components, d, n - n_classes)
    if k < 1:
        raise ValueError(
            f"NCTI needs more samples than classes; got {n} samples and "
            f"{n_classes} classes."
        )
    if k < n_components:
        warnings.warn(
            f"NCTI projects on {n_components} principal components, which needs "
            f"min(n_features, n_samples - n_classes) >= {n_components}; got "
            f"n_features={d}, n_samples={n}, n_classes={n_classes}. Using {k} "
            "components instead (the reference raises).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    spectrum = CenteredSpectrum(F, n_vectors=k)  # the k it projects on
    explained_variance = spectrum.eigenvalues[:k] / (n - 1)
    if stream:
        # Out of core: the scores of each block are formed as it is read.
        V = np.ascontiguousarray(spectrum.vectors[:, :k])
        return partial(_pca_block, mean=spectrum.mean, V=V), k, explained_variance
    return spectrum.scores(k), k, explained_variance


def _pca_block(block, *, mean, V):
    """Principal-component scores ``(x - mean) V`` of a block of rows."""
    return (block - mean) @ V


def _svd_solver_lda(counts, means, within, between, tol=1e-4):
    """scikit-learn's ``LinearDiscriminantAnalysis(solver="svd")`` from statistics.

    Standardise by the within-class standard deviations, whiten with the
    pooled population within-class covariance ``Sw`` (scikit-learn >= 1.6 uses
    ``1/N``, not ``1/(N-C)``) keeping singular values above
    ``tol``, then rotate onto the between-class directions (singular values
    above ``tol`` times the largest). Returns the directions ``W`` (columns
    sorted by between-class variance) and the discriminant ``(coef, intercept)``
    about the data mean, all from ``(counts, means, Sw, Sb)``.
    """
    priors = counts / counts.sum()
    std = np.sqrt(np.clip(np.diag(within), 0.0, None))
    std[std == 0] = 1.0
    scaled = within / np.outer(std, std)
    evals, U = np.linalg.eigh(scaled)
    sing = np.sqrt(np.clip(evals, 0.0, None))
    keep = sing > tol
    scalings = (U[:, keep] / std[:, None]) / sing[keep]
    B = scalings.T @ between @ scalings
    bev, V = np.linalg.eigh(B)
    order = np.argsort(bev)[::-1]
    bsing = np.sqrt(np.clip(bev[order], 0.0, None))
    rank = int(np.sum(bsing > tol * bsing[0]))
    W = scalings @ V[:, order[:rank]]
    center = priors @ means
    disc = (means - center) @ W
    intercept = -0.5 * np.sum(disc**2, axis=1) + np.log(priors)
    return W, disc @ W.T, intercept


def ncti_result(F, y, n_classes, *, n_components=64, lda_only=False):
    """The three NCTI components of ``F`` and labels encoded ``0 .. n_classes - 1``.

    With ``lda_only`` only the LDA class score is computed and returned (a
    float).

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    # Every component is invariant to a joint rescaling of the features and
    # their covariance; only the shrinkage reads the scale. Features of extreme
    # magnitude are divided by a power of two (exactly), the explained
    # variances scaled back for the shrinkage.
    if isinstance(F, FeatureSource) and F.shape[0] <= F.shape[1]:
        # The dual PCA decomposes the N × N kernel: N rows take no more memory
        # than the d × d scatter matrix of the primal form.
        F = F.to_array()
    # In-memory features with N > d (a memmap included) stream too: the scores
    # and posteriors would otherwise be held whole (N × k, N × C), whatever
    # the size of the features. With many classes the class nuclear norms are
    # then computed class by class (see _streamed_components).
    stream = isinstance(F, FeatureSource) or F.shape[0] > F.shape[1]
    read_rows = _row_reader(F)
    F, scale = rescaled(F)
    Z, k, explained_variance = _pca_scores(F, n_classes, n_components, stream)
    # Out of core, Z is the map from a block of features to its scores.
    rows, transform = (F, Z) if callable(Z) else (Z, None)
    if transform is not None and _on_device(F):
        # The rows stay on their device: the passes read k-wide host blocks of
        # their scores (projected there), and chosen rows are read as scores.
        from ..utils._torch import device_scores_source

        rows = device_scores_source(F, **transform.keywords)
        if read_rows is not None:
            read_rows = partial(_read_scores, read_rows, transform)
        F, transform = rows, _identity
    n = F.shape[0]
    with np.errstate(over="ignore", under="ignore"):
        top = np.float64(explained_variance[: n_components // 2].sum()) * scale
        shrinkage = max(float(np.exp(-top * scale)), _FLOOR)
    counts, means, within = lda_statistics(rows, y, n_classes, transform=transform)
    check_within_scatter(within, "NCTI")
    priors = counts / n
    between = between_covariance(counts, means)
    n_directions = min(n_classes - 1, k)
    center = priors @ means
    if shrinkage == _FLOOR:
        W, coef, intercept = _svd_solver_lda(counts, means, within, between)
        W = W[:, :n_directions]
    else:
        # scikit-learn's LDA(solver="eigen", shrinkage=s), which is SFDA's LDA.
        covariance = shrink_covariance(within, shrinkage)[0]
        total = shrink_covariance(within + between, shrinkage)[0]
        _, W = lda_directions(total - covariance, covariance, n_directions)
        coef, intercept = lda_coefficients(means, priors, covariance, center)
    if transform is not None:
        if read_rows is not None and scale != 1.0:
            unscaled = read_rows
            read_rows = lambda index: unscaled(index) / scale  # noqa: E731
        return _streamed_components(
            F,
            y,
            n_classes,
            transform,
            W,
            coef,
            intercept,
            center,
            lda_only,
            read_rows,
        )
    if lda_only:
        return float(lda_posterior_values(Z, y, coef, intercept, center).mean())
    projected = Z @ W
    projected -= projected.mean(axis=0)
    all_nuc = float(svdvals(projected).sum())
    proba = lda_predict_proba(Z, coef, intercept, center)
    class_score = float(proba[np.arange(n), y].mean())
    class_nuc = sum(float(svdvals(proba[y == c]).sum()) for c in range(n_classes))
    return np.array([all_nuc, class_score, np.log(class_nuc)])


#: Largest total size of the per-class triangular factors of the posteriors
#: that out-of-core NCTI keeps for the class nuclear norms (C factors of at
#: most C × C each).
_FACTOR_BYTES = 256 * 2**20


def _read_scores(read_rows, transform, index):
    return transform(read_rows(index))


def _identity(block):
    return block


def _row_reader(F):
    """``read(index) -> F[index]`` in float64 for features with random access
    (an ndarray, a memmap, a Dask, zarr or HDF5 array), else None."""
    if isinstance(F, FeatureSource):
        return F.rows if F.random_access else None
    return lambda index: np.asarray(F[index], dtype=np.float64)


def _streamed_components(
    F, y, n_classes, transform, W, coef, intercept, center, lda_only, read_rows
):
    """NCTI's components of out-of-core features in one more pass over the rows.

    Each block's scores give its posteriors; the pass sums the true-class
    posteriors and, unless ``lda_only``, keeps triangular factors ``R`` (QR,
    ``AᵀA = RᵀR``) of the centred LDA projection and of each class's
    posteriors, merged across blocks by the QR of the stacked factors (a
    tall-skinny QR): their singular values are those of the N-row matrices,
    computed without forming a Gram matrix, so the nuclear norms keep their
    accuracy. Memory: ``Σ_c min(n_c, C) · C`` floats for the class factors.
    Beyond ``_FACTOR_BYTES`` of them (C ≳ 320), features with random access
    (``read_rows``) are read once more class by class instead, one class's
    factor alive at a time; an iterable of chunks is refused.
    """
    by_class = False
    if not lda_only:
        need = _class_factor_bytes(y, n_classes)
        by_class = need > _FACTOR_BYTES
        if by_class and read_rows is None:
            raise ValueError(
                f"NCTI's class nuclear norms of features read in order keep one "
                f"C × C factor per class: {need / 2**30:.1f} GiB for "
                f"{n_classes} classes. Pass the features with random access (a "
                "numpy.memmap, Dask, zarr or HDF5 array: each class's rows are "
                "then read on their own), use ncti_lda_score (the single-model "
                "LDA component, which streams at any C), or score a subset drawn "
                "with skdisco.utils.subsample."
            )
    fn = partial(
        _ncti_block,
        transform=transform,
        coef=coef,
        intercept=intercept,
        center=center,
        W=W,
        offset=center @ W,
        lda_only=lda_only,
        per_class=not by_class,
    )
    total, proj_r, class_r = reduce_blocks(
        F,
        fn,
        y,
        combine=_merge_ncti_blocks,
        chunk_bytes=posterior_chunk_bytes(F.shape[1], n_classes),
    )
    class_score = total / F.shape[0]
    if lda_only:
        return class_score
    all_nuc = float(svdvals(proj_r).sum())
    if by_class:
        post = partial(
            _posteriors,
            transform=transform,
            coef=coef,
            intercept=intercept,
            center=center,
        )
        class_nuc = _class_nuclear_norms_by_class(
            read_rows, post, y, n_classes, F.shape[1]
        )
    else:
        class_nuc = sum(float(svdvals(R).sum()) for R in class_r.values())
    return np.array([all_nuc, class_score, np.log(class_nuc)])


def _posteriors(block, *, transform, coef, intercept, center):
    """LDA posteriors (rows × C) of a block of features."""
    return _score_posteriors(transform(block), coef, intercept, center)


def _score_posteriors(Z, coef, intercept, center):
    """LDA posteriors (rows × C) of principal-component scores ``Z``."""
    return softmax((Z - center) @ coef.T + intercept, axis=1)


def _class_nuclear_norms_by_class(read_rows, posteriors, y, n_classes, n_features):
    """``Σ_c ‖P_c‖_*`` with each class's rows read on their own, in bounded chunks.

    ``P_c`` is the class's n_c × C posterior matrix; a class larger than one
    chunk of rows is reduced by the QR of its stacked factors, as the
    streaming pass does, so one class's factor (at most C × C) and one chunk
    are alive at a time.
    """
    step = max(
        n_classes, posterior_chunk_bytes(n_features, n_classes) // (8 * n_features)
    )
    order = np.argsort(y, kind="stable")  # each class's rows, ascending
    bounds = np.searchsorted(y[order], np.arange(n_classes + 1))
    total = 0.0
    for c in range(n_classes):
        index = order[bounds[c] : bounds[c + 1]]
        R = None
        for a in range(0, index.size, step):
            P = posteriors(read_rows(index[a : a + step]))
            R = P if R is None else _r_factor(np.vstack([R, P]))
        if R is not None:
            total += float(svdvals(R).sum())
    return total


def _class_factor_bytes(y, n_classes):
    """Bytes of the per-class QR factors of the posteriors (min(n_c, C) × C each)."""
    counts = np.bincount(y, minlength=n_classes)
    return 8 * n_classes * int(np.minimum(counts, n_classes).sum())


def _r_factor(A):
    """Triangular factor of ``A`` (``AᵀA = RᵀR``), min(rows, cols) × cols."""
    return np.linalg.qr(A, mode="r")


def _ncti_block(
    block,
    y_block,
    *,
    transform,
    coef,
    intercept,
    center,
    W,
    offset,
    lda_only,
    per_class=True,
):
    """One block's true-class posterior sum and QR factors (_streamed_components).

    ``per_class=False``: no factors of the class posteriors (they are computed
    class by class afterwards).
    """
    Z = transform(block)
    P = _score_posteriors(Z, coef, intercept, center)
    total = float(true_class_probability(P, y_block).sum())
    if lda_only:
        return total, None, {}
    proj = _r_factor(Z @ W - offset)
    if not per_class:
        return total, proj, {}
    factors = {int(c): _r_factor(P[y_block == c]) for c in np.unique(y_block)}
    return total, proj, factors


def _merge_ncti_blocks(a, b):
    """Combine two blocks' sums and factors: the QR of each stacked pair."""
    total = a[0] + b[0]
    if a[1] is None:
        return total, None, {}
    merged = dict(a[2])
    for c, R in b[2].items():
        merged[c] = _r_factor(np.vstack([merged[c], R])) if c in merged else R
    return total, _r_factor(np.vstack([a[1], b[1]])), merged


#: Constraints of NCTI's parameters, shared by the functions and the estimator.
_PARAMETERS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "device": DEVICE_PARAMETER,
}
_PARAMS = {"features": STREAMING_FEATURES, "y": ["array-like"], **_PARAMETERS}


def _validated(features, y, device):
    F = check_features(features, out_of_core=True, n_samples=num_rows(y), device=device)
    y_enc, classes = check_classification_target(y, F.shape[0], min_samples_per_class=2)
    return F, y_enc, classes.shape[0]


@validate_params(_PARAMS, prefer_skip_nested_validation=True)
@fill_device_doc
def ncti_components(features, y, *, n_components=64, device=None):
    r"""The three per-model components of NCTI (combine them over models).

    NCTI measures how far a model's target features are from neural collapse.
    It is defined only relative to a set of models: each component is min-max
    normalised across the models, then combined by :func:`ncti_combine`.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features), or out-of-core
        Features of the target data from one pre-trained model (a
        ``numpy.memmap``, Dask array or iterable of row chunks streams; see
        Notes).
    y : array-like of shape (n_samples,)
        Class labels (any labels); at least two classes, two samples per class.
    n_components : int, default=64
        Principal components kept before the LDA (the reference's 64). Reduced
        to ``min(n_features, n_samples - n_classes)`` with a warning when larger.
    {device}

    Returns
    -------
    components : ndarray of shape (3,)
        ``[all_feature_nuclear_norm, lda_class_score, log_class_nuclear_norm]``:
        the nuclear norm of the centred LDA projection (higher: the classes
        spread -- better), the mean LDA posterior of the true class (in (0, 1],
        higher is better) and the log of the summed per-class nuclear norms of
        the posteriors (lower: each class collapses -- better).

    See Also
    --------
    ncti_combine : NCTI scores of a set of models from their components.
    ncti : Components and combination in one call.

    Notes
    -----
    The features are projected on their first ``n_components`` principal
    components (:math:`Z`). With :math:`s = \max(e^{-\sum_{i<32} \lambda_i},
    10^{-10})` (:math:`\lambda_i` the explained variances), the LDA is
    scikit-learn's ``solver="svd"`` when :math:`s = 10^{-10}` and
    ``solver="eigen", shrinkage=s`` otherwise, as in the reference. The
    components are :math:`\lVert P_{\mathrm{LDA}}(Z) - \bar P\rVert_*`,
    :math:`\frac1N \sum_i p(y_i \mid z_i)` and
    :math:`\log \sum_c \lVert [p(k \mid z_i)]_{i : y_i = c}\rVert_*`.

    Both LDA variants are computed from the shared class statistics
    (:math:`S_w`, :math:`S_b`): the ``svd`` solver is the unshrunk LDA whitened
    by :math:`S_w` with scikit-learn's rank thresholds, the ``eigen`` solver is
    the shared shrunk LDA (the one SFDA uses). PCA signs do not matter: the
    LDA is invariant to them. Cost: one PCA (:math:`O(N D^2 + D^3)`, or the
    :math:`N \times N` kernel when N < D; only the ``n_components`` leading
    eigenvectors are formed) and an LDA in ``n_components`` dimensions.

    The shrinkage :math:`s` reads the scale of the features, so NCTI is not
    invariant to rescaling them. Features of extreme magnitude (beyond
    :math:`2^{\pm 256}`) are divided by a power of two and the explained
    variances scaled back, so the value is the one the formula gives, not an
    overflow. Features constant within every class raise a ``ValueError``
    (the LDA's covariance is zero).

    **Out of core** (a ``numpy.memmap``, Dask array, iterable of row chunks
    or function returning one): everything streams, in five passes over the
    rows -- the mean and the scatter matrix (PCA), the class sums and the
    within-class scatter of the principal-component scores (formed block by
    block, never held), and one pass for the posteriors, which sums the
    true-class posterior and merges tall-skinny QR factors of the centred
    LDA projection and of each class's posteriors, whose singular values give
    the two nuclear norms. Memory O(D² + chunk · D) plus those factors,
    ``Σ_c min(n_c, C) · C`` floats. Beyond 256 MiB of them (C ≳ 320) the
    class factors are not kept: features with random access (a memmap, a
    Dask, zarr or HDF5 array) are read once more, class by class, one class's
    factor alive at a time (a sixth pass, in class order); for an iterable of
    chunks a ValueError points to :func:`ncti_lda_score`, which streams at any
    C. An in-memory array is read the same way when N > D.
    With N ≤ D the rows are read whole (the dual PCA's N × N kernel). Each
    pass over a Dask array is a reduction on its workers.

    **Deviations from the reference**: labels are encoded to ``0 .. C-1``
    (the reference indexes posteriors by raw labels); when
    ``min(n_features, n_samples - n_classes) < n_components`` we use fewer
    components with a warning instead of raising.

    **Not scale invariant.** The LDA shrinkage ``exp(-Σ λ)`` reads the explained
    variances in the features' units: On the first 600 rows of scikit-learn's
    digits, the components move by 12 % at 0.01× and 11 % at 1e-3× (unchanged at
    100× and beyond, where the shrinkage is at its floor); the scorer's
    ``scale_invariant`` tag is False.

    References
    ----------
    .. [1] Z. Wang, Y. Luo, L. Zheng, Z. Huang, M. Baktashmotlagh. "How Far
       Pre-trained Models Are from Neural Collapse on the Target Dataset Informs
       their Transferability". ICCV 2023.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.transferability import ncti_components
    >>> X, y = load_digits(return_X_y=True)
    >>> ncti_components(X, y).round(3)
    array([727.098,   0.961,   5.107])
    """
    F, y_enc, n_classes = _validated(features, y, device)
    return ncti_result(F, y_enc, n_classes, n_components=n_components)


@validate_params(_PARAMS, prefer_skip_nested_validation=True)
@fill_device_doc
def ncti_lda_score(features, y, *, n_components=64, device=None):
    """The single-model part of NCTI: mean LDA posterior of the true class.

    The second of :func:`ncti_components` -- the only component that is
    meaningful for one model alone (a probability in (0, 1], higher is
    better; 1/C is about chance). The NCTI scorer reports it as ``score_``.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features), or out-of-core
        Features of the target data (out-of-core features stream).
    y : array-like of shape (n_samples,)
        Class labels.
    n_components : int, default=64
        Principal components kept before the LDA.
    {device}

    Returns
    -------
    score : float
        Mean LDA posterior of the true class in NCTI's PCA space.

    Notes
    -----
    Out-of-core features stream in five passes (see :func:`ncti_components`),
    keeping no per-class factors, so any number of classes is read with
    memory O(D² + chunk · D).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.transferability import ncti_lda_score
    >>> X, y = load_digits(return_X_y=True)
    >>> round(ncti_lda_score(X, y), 3)
    0.961
    """
    F, y_enc, n_classes = _validated(features, y, device)
    return ncti_result(F, y_enc, n_classes, n_components=n_components, lda_only=True)


@validate_params({"components": ["array-like"]}, prefer_skip_nested_validation=True)
def ncti_combine(components):
    r"""NCTI scores of a set of models from their per-model components.

    Parameters
    ----------
    components : array-like of shape (n_models, 3)
        One row of :func:`ncti_components` per model, all on the same labels.

    Returns
    -------
    scores : ndarray of shape (n_models,)
        :math:`\mathrm{mm}(c_1) + \mathrm{mm}(c_0) - \mathrm{mm}(c_2)` with
        :math:`\mathrm{mm}` the min-max normalisation across the models; in
        [-1, 2], higher is better. Scores are comparable only within the set.

    Notes
    -----
    As in ``evaluate_metric_group1_cpu.py`` of the reference. A component that
    is equal for every model (or a single model) contributes 0, with a warning,
    where the reference divides by zero.

    Examples
    --------
    >>> from skdisco.transferability import ncti_combine
    >>> ncti_combine([[100.0, 0.5, 4.0], [300.0, 0.9, 3.0]])
    array([-1.,  2.])
    """
    C = np.asarray(components, dtype=np.float64)
    if C.ndim != 2 or C.shape[1] != 3:
        raise ValueError(f"components must have shape (n_models, 3); got {C.shape}.")
    if not np.all(np.isfinite(C)):
        raise ValueError("components contain NaN or infinity.")
    return (
        minmax_across_models(C[:, 1], "LDA class score")
        + minmax_across_models(C[:, 0], "all-feature nuclear norm")
        - minmax_across_models(C[:, 2], "class nuclear norm")
    )


@validate_params(
    {
        "features_per_model": [list, tuple],
        "y": ["array-like"],
        **_PARAMETERS,
    },
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def ncti(features_per_model, y, *, n_components=64, device=None):
    """NCTI scores of several models on one target: components, then combination.

    Parameters
    ----------
    features_per_model : list of array-like of shape (n_samples, n_features_m)
        One feature matrix per model (widths may differ), rows in the order of
        ``y``.
    y : array-like of shape (n_samples,)
        Class labels shared by all models.
    n_components : int, default=64
        Principal components kept before the LDA.
    {device}

    Returns
    -------
    scores : ndarray of shape (n_models,)
        NCTI score per model, in [-1, 2], higher is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.transferability import ncti
    >>> X, y = load_digits(return_X_y=True)
    >>> noisy = X + np.random.default_rng(0).normal(scale=8.0, size=X.shape)
    >>> ncti([X, noisy], y).round(2)
    array([ 2., -1.])
    """
    return ncti_combine(
        [
            ncti_components(F, y, n_components=n_components, device=device)
            for F in features_per_model
        ]
    )


__all__ = [
    "NCTI_COMPONENTS",
    "ncti",
    "ncti_combine",
    "ncti_components",
    "ncti_lda_score",
    "ncti_result",
]
