"""TransRate: mutual information between features and labels via coding rates.

Huang, Huang, Rong, Yang, Wei, "Frustratingly Easy Transferability Estimation",
ICML 2022. Two published implementations exist and give unrelated magnitudes: the
authors' code (Long-Kai/TransRate) and the Transfer-Learning-Library's. Both are
here; the authors' pipeline is the default.
"""

from __future__ import annotations

import warnings
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._source import DEVICE_PARAMETER, STREAMING_FEATURES, fill_device_doc
from ..utils._validation import (
    check_classification_target,
    check_features,
    num_rows,
)
from ..utils._warnings import user_stacklevel
from ._linalg import (
    CenteredSpectrum,
    GramEigenvalues,
    _psd_eigenvalues,
    centered_gram,
    centered_scatter_times,
    class_reductions,
    class_statistics,
    gram_eigenvalues,
    is_streamed,
    rescaled,
    small_source_to_array,
    unit_row_gram,
    unit_rows,
)

TRANSRATE_VARIANTS = ("official", "official_projection", "tllib")
_EPS64 = np.finfo(np.float64).eps


#: Constraints of TransRate's parameters, shared by :func:`transrate` and the
#: estimator.
_PARAMETERS = {
    "variant": [StrOptions(set(TRANSRATE_VARIANTS))],
    "eps": [Interval(Real, 0, None, closed="neither")],
    "device": DEVICE_PARAMETER,
}


@validate_params(
    {"features": STREAMING_FEATURES, "y": ["array-like"], **_PARAMETERS},
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def transrate(features, y, *, variant="official", eps=1e-4, device=None):
    r"""TransRate: coding rate of the features minus their rate given the labels.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target data. Out-of-core features (a Dask array, a
        zarr array or HDF5 dataset, a list of chunks or a function returning
        them; a numpy.memmap is read in place) are read in row blocks, in
        two or three passes and one read of every class's rows (see the
        out-of-core guide).
    y : array-like of shape (n_samples,)
        Target class labels (any labels).
    variant : {"official", "official_projection", "tllib"}, default="official"
        ``"official"`` (default): the authors' pipeline -- centre the features,
        scale every row to unit norm, take the eigenvalues of the second-moment
        matrix of all samples and of each class, and divide the rates by the rank
        (Long-Kai/TransRate ``transrate_eig`` + ``process_transrate_logs`` with
        ``opt_res='weight'``, ``normalize_opt='rank'``).
        ``"official_projection"``: the authors' low-dimensional projection
        variant (``pre_transrate_low_dim_proj``), with eigenvalues normalised to
        sum to one. ``"tllib"``: Transfer-Learning-Library ``transrate``, raw
        log-determinants of centred features, unweighted class mean.
    eps : float, default=1e-4
        Distortion :math:`\epsilon` (the authors' ``eps`` is :math:`\epsilon^2`;
        the same 1e-4 default in both codes).
    {device}

    Returns
    -------
    score : float
        TransRate, higher is better, non-negative for ``"official"`` and
        ``"tllib"``. Magnitudes differ by variant: ``"official"`` is a per-rank
        rate (typically 0 -- 2), ``"tllib"`` grows with D (tens to hundreds).

    Warns
    -----
    UserWarning
        When a sample equals the feature mean (``"official"``): its row cannot be
        scaled to unit norm and stays zero.

    See Also
    --------
    skdisco.scorers.TransRateScorer : The estimator.

    Notes
    -----
    The coding rate of :math:`n` samples :math:`Z` at distortion :math:`\epsilon`
    is :math:`R(Z) = \frac12\log\det(I + \tfrac{1}{\epsilon}\,\tfrac1n Z^\top Z)`,
    and

    .. math::

        \mathrm{TrR} = R(Z) - \sum_c w_c\,R(Z_c).

    ``"official"``: :math:`Z` are the centred, row-normalised features,
    :math:`w_c = n_c/N`, and both rates are divided by
    :math:`\operatorname{rank}(Z^\top Z)`. ``"tllib"``: :math:`Z` are the
    centred features, :math:`\tfrac{1}{n\epsilon}` scales the scatter,
    :math:`w_c = 1/C`, no rank division. ``"official_projection"``: the rates
    use the singular values of :math:`\Sigma_f P` and :math:`S_c P / n_c`
    with :math:`P = \Sigma_f^{+}\Sigma_b` (between-class scatter over N).
    Only the ``min(N, D)`` non-zero eigenvalues enter (the others add
    :math:`\log 1 = 0`), taken from whichever Gram matrix is smaller; the
    projection variant works with rank-C factors and never forms a D × D
    product. Cost: O(N·D·min(N, D)) for ``"official"`` / ``"tllib"``,
    O(N·D·(C + min(N, D))) for ``"official_projection"``.

    ``"official"`` and ``"official_projection"`` are invariant to a global
    rescaling of the features; ``"tllib"`` is not (its distortion is absolute).
    Features of extreme magnitude (beyond :math:`2^{\pm 256}`) are divided by a
    power of two first (``"tllib"`` takes the scale back inside its
    logarithms), so the value is the one the formula gives, not an overflow.
    Constant features (every sample at the mean: rank 0, where the per-rank
    rate is 0/0) score 0, the rate of features that code nothing.

    **Deviations from the references**: labels are remapped to ``0 .. C-1``
    (the references loop over ``max(y) + 1`` classes and divide by zero or fail
    to converge on absent ones). The authors' projection entry point
    ``transrate_eig_proj`` raises ``TypeError`` as released (it passes keyword
    arguments ``pre_transrate_low_dim_proj`` does not take); we compute the value
    of ``pre_transrate_low_dim_proj`` called as defined, not the defect.

    **Scale invariance.** The official variants normalise the features first and are
    invariant to rescaling them; ``variant="tllib"`` applies the distortion ε to the
    raw features (On the first 600 rows of scikit-learn's digits: the score moves by
    68 % at 0.01× and 64 % at 100×), so its scorer's ``scale_invariant`` tag is
    False.

    References
    ----------
    .. [1] L.-K. Huang, J. Huang, Y. Rong, Q. Yang, Y. Wei. "Frustratingly Easy
       Transferability Estimation". ICML 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import transrate
    >>> X, y = load_iris(return_X_y=True)
    >>> round(transrate(X, y), 4)
    0.2547
    >>> round(transrate(X, y, variant="tllib"), 4)
    0.5894
    """
    F = check_features(features, out_of_core=True, n_samples=num_rows(y), device=device)
    y_enc, classes = check_classification_target(y, F.shape[0])
    return transrate_result(F, y_enc, classes.shape[0], variant=variant, eps=eps)


def transrate_result(F, y, n_classes, *, variant="official", eps=1e-4):
    """TransRate of features ``F`` and labels encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    # Features of extreme magnitude are divided by a power of two (exactly):
    # "official" and "official_projection" are scale invariant, "tllib"'s
    # rates take the scale back in log space.
    F = small_source_to_array(F)
    F, scale = rescaled(F)
    if _streams(F):
        if variant == "tllib":
            return _transrate_tllib_streaming(F, y, n_classes, eps, scale)
        if variant == "official":
            return _transrate_official_streaming(F, y, n_classes, eps)
    if variant == "tllib":
        return _transrate_tllib(F, y, n_classes, eps, scale)
    if variant == "official":
        return _transrate_official(F, y, n_classes, eps)
    return _transrate_projection(F, y, n_classes, eps)


def _streams(F):
    """Whether ``F`` is read in blocks: out of core, or a memmap with N > D.

    The in-memory paths centre (and normalise) a float64 copy of all rows;
    the streaming ones read the rows in blocks, and each class's rows once
    (by index, or in ordered passes over class batches for an iterable).
    """
    return is_streamed(F) and F.shape[0] > F.shape[1]


def _log1p_rate(x, log_scale2):
    """``½ Σ log(1 + x·s²)`` with ``log_scale2 = log s²``, never forming ``x·s²``."""
    if log_scale2 == 0.0:
        return 0.5 * np.sum(np.log1p(x))
    with np.errstate(divide="ignore"):
        return 0.5 * np.sum(np.logaddexp(0.0, np.log(x) + log_scale2))


def _class_eigenvalues(F, y, n_classes, row_map):
    """Eigenvalues of ``Z_cᵀZ_c`` per class, ``Z = row_map(rows)``, streamed."""
    counts = np.bincount(y, minlength=n_classes)
    d = F.shape[1]

    class Accumulator(GramEigenvalues):
        def add(self, rows):
            super().add(row_map(rows))

    return class_reductions(
        F,
        y,
        n_classes,
        lambda c: Accumulator(counts[c], d),
        lambda c: GramEigenvalues.cost(counts[c], d),
    )


def _transrate_tllib_streaming(F, y, n_classes, eps, scale):
    counts, means = class_statistics(F, y, n_classes)
    mean = counts @ means / F.shape[0]
    log_scale2 = 2.0 * np.log(scale)
    eig = _psd_eigenvalues(centered_gram(F, mean, lower_only=True))
    rate = _log1p_rate(eig / (F.shape[0] * eps), log_scale2)
    eig_c = _class_eigenvalues(F, y, n_classes, lambda rows: rows - mean)
    rate_y = sum(
        _log1p_rate(e / (counts[c] * eps), log_scale2) for c, e in enumerate(eig_c)
    )
    return float(rate - rate_y / n_classes)


def _transrate_official_streaming(F, y, n_classes, eps):
    n, d = F.shape
    counts, means = class_statistics(F, y, n_classes)
    mean = counts @ means / n
    G, n_zero = unit_row_gram(F, mean)
    if n_zero:
        _warn_zero_rows(n_zero)
    eig = _psd_eigenvalues(G) / n  # reads G's lower triangle, as eigvalsh did
    rank = _rank_from_eigenvalues(eig, d)
    if rank == 0:
        return 0.0  # every sample is the mean: nothing to code, no information
    rate = np.sum(np.log1p(eig / eps))
    eig_c = _class_eigenvalues(F, y, n_classes, lambda rows: unit_rows(rows, mean)[0])
    rate_y = sum(
        counts[c] / n * np.sum(np.log1p(e / counts[c] / eps))
        for c, e in enumerate(eig_c)
    )
    return float((rate - rate_y) / rank / 2.0)


def _warn_zero_rows(n_zero):
    warnings.warn(
        f"{int(n_zero)} samples equal the feature mean; their rows cannot "
        "be scaled to unit norm and are left at zero.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def _rank_from_eigenvalues(values, dim):
    """``np.linalg.matrix_rank`` of a dim × dim matrix with these singular values."""
    if values.size == 0 or values[0] <= 0:
        return 0
    return int(np.sum(values > values[0] * dim * _EPS64))


def _transrate_tllib(F, y, n_classes, eps, scale=1.0):
    Fc = np.asarray(F, dtype=np.float64)
    Fc = Fc - Fc.mean(axis=0)
    log_scale2 = 2.0 * np.log(scale)

    def rate(Z):
        return _log1p_rate(gram_eigenvalues(Z) / (Z.shape[0] * eps), log_scale2)

    rate_y = sum(rate(Fc[y == c]) for c in range(n_classes))
    return float(rate(Fc) - rate_y / n_classes)


def _transrate_official(F, y, n_classes, eps):
    Z = np.asarray(F, dtype=np.float64)
    Z = Z - Z.mean(axis=0)
    # Row norms without an N × D array of squares (np.linalg.norm forms one).
    norms = np.sqrt(np.einsum("ij,ij->i", Z, Z))
    zero = norms == 0
    if zero.any():
        _warn_zero_rows(zero.sum())
        norms[zero] = 1.0
    Z /= norms[:, None]
    n, d = Z.shape
    eig = gram_eigenvalues(Z) / n
    rank = _rank_from_eigenvalues(eig, d)
    if rank == 0:
        return 0.0  # every sample is the mean: nothing to code, no information
    rate = np.sum(np.log1p(eig / eps))
    counts = np.bincount(y, minlength=n_classes)
    rate_y = 0.0
    for c in range(n_classes):
        eig_c = gram_eigenvalues(Z[y == c]) / counts[c]
        rate_y += counts[c] / n * np.sum(np.log1p(eig_c / eps))
    return float((rate - rate_y) / rank / 2.0)


def _singular_values_of_product(X, Yt):
    """Singular values of ``X @ Yt.T`` (D × D, rank ≤ K) from two thin QRs."""
    _, Rx = np.linalg.qr(X)
    _, Ry = np.linalg.qr(Yt)
    return np.linalg.svd(Rx @ Ry.T, compute_uv=False)


def _transrate_projection(F, y, n_classes, eps, rcond=1e-15):
    n, d = F.shape
    streams = _streams(F)
    # Streamed: the class statistics come from the spectrum's first pass.
    spectrum = CenteredSpectrum(F, labels=(y, n_classes) if streams else None)
    lam = spectrum.eigenvalues  # of the centred scatter; covf = scatter / n
    counts, means = spectrum.class_statistics(y, n_classes)
    centred_means = means - spectrum.mean  # M̃, rows μ_c - μ
    coords = spectrum.class_mean_coordinates(y, n_classes)  # M̃ V
    keep = lam > rcond * lam[0] if lam[0] > 0 else np.zeros(lam.shape, bool)
    # B = covf⁺ M̃ᵀ diag(n_c / n): P = covf⁺ covg / n = B M̃.
    R = np.zeros((lam.shape[0], n_classes))
    R[keep] = (n / lam[keep])[:, None] * coords[:, keep].T
    B = spectrum.basis_matmul(R * (counts / n)[None, :])
    if streams:
        covf_B = centered_scatter_times(F, spectrum.mean, B) / n
    else:
        Fd = np.asarray(F, dtype=np.float64)
        Xc = Fd - spectrum.mean
        covf_B = Xc.T @ (Xc @ B) / n
    eig_z = _singular_values_of_product(covf_B, centred_means.T)
    rank = _rank_from_eigenvalues(eig_z, d)
    if rank == 0:
        return 0.0  # no between-class variance: nothing to code, no information
    total = eig_z.sum()
    eig_z = eig_z / total
    rate = np.sum(np.log1p(eig_z / eps))
    if streams:
        class_products = class_reductions(
            F,
            y,
            n_classes,
            lambda c: _ClassScatterTimes(means[c], B),
            lambda c: 8 * B.size,
        )
    else:
        class_products = (
            _ClassScatterTimes(means[c], B).add(Fd[y == c]).finish()
            for c in range(n_classes)
        )
    rate_y = 0.0
    for c, product in enumerate(class_products):
        Sc_B = product / counts[c]
        eig_c = _singular_values_of_product(Sc_B, centred_means.T) / total
        rate_y += counts[c] / n * np.sum(np.log1p(eig_c / eps))
    return float((rate - rate_y) / rank / 2.0)


class _ClassScatterTimes:
    """``Σ (x - μ_c)(x - μ_c)ᵀ B`` over a class's rows, added in parts (d × K)."""

    def __init__(self, mean, B):
        self.mean, self.B = mean, B
        self.total = np.zeros(B.shape, dtype=np.float64)

    def add(self, rows):
        Z = rows - self.mean
        self.total += Z.T @ (Z @ self.B)
        return self

    def finish(self):
        return self.total


__all__ = ["transrate"]
