"""H-score and its shrinkage (regularised) version.

Bao, Li, Huang, Zheng, Wornell, "An Information-Theoretic Approach to
Transferability in Task Transfer Learning", ICIP 2019; Ibrahim, Ponomareva,
Mazumder, "Newer is not always better: Rethinking transferability metrics, their
peculiarities, stability and performance", ECML-PKDD 2022.
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
from ..utils._warnings import SaturatedScoreWarning, user_stacklevel
from ._linalg import (
    ClassMeanSpectrum,
    is_streamed,
    ledoit_wolf_shrinkage_from_spectrum,
    rescaled,
    small_source_to_array,
)

HSCORE_VARIANTS = ("tllib", "pactran")
# pactran_metrics adds this ridge to the unnormalised scatter FᵀF.
_PACTRAN_RIDGE = 1e-6


def _class_terms(F, y, n_classes, fourth_powers=False):
    # Scale invariant: features of extreme magnitude are divided by a power of
    # two (exactly) so their covariance neither overflows nor underflows.
    # Out-of-core features with N ≤ D are read whole (the N × N kernel path).
    F = small_source_to_array(F)
    F, scale = rescaled(F)
    # Eigenvalues and class-mean coordinates only: no eigenvector is formed.
    # Streamed features: the class sums' pass gives the mean (two passes).
    spectrum = ClassMeanSpectrum(
        F,
        y,
        n_classes,
        mean_from_classes=is_streamed(F),
        fourth_powers=fourth_powers,
    )
    return F, scale, spectrum, spectrum.coords, spectrum.counts


#: Constraints of the H-score's parameters, shared by :func:`hscore` and the
#: estimator.
_HSCORE_PARAMETERS = {
    "variant": [StrOptions(set(HSCORE_VARIANTS))],
    "rcond": [Interval(Real, 0, 1, closed="left")],
    "device": DEVICE_PARAMETER,
}
#: The shrinkage H-score's only parameter is where its passes run.
_REGULARIZED_HSCORE_PARAMETERS = {"device": DEVICE_PARAMETER}


@validate_params(
    {"features": STREAMING_FEATURES, "y": ["array-like"], **_HSCORE_PARAMETERS},
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def hscore(features, y, *, variant="tllib", rcond=1e-15, device=None):
    r"""H-score: between-class variance measured in the metric of the features.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target data. Out-of-core features (a Dask array, a
        zarr array or HDF5 dataset, a list of chunks or a function returning
        them; a numpy.memmap is read in place) are read in row blocks, in
        two passes (see the out-of-core guide).
    y : array-like of shape (n_samples,)
        Target class labels (any labels).
    variant : {"tllib", "pactran"}, default="tllib"
        ``"tllib"`` (default): :math:`\operatorname{tr}(\Sigma_f^{+}\Sigma_g)` with
        the pseudo-inverse cut at ``rcond`` times the largest eigenvalue
        (Transfer-Learning-Library ``h_score``). ``"pactran"``: the unnormalised
        scatter plus a ``1e-6`` ridge, :math:`\operatorname{tr}((F_c^\top F_c +
        10^{-6} I)^{-1} \sum_c n_c \bar f_c \bar f_c^\top)`, as
        pactran_metrics ``calculate_hscore`` (which returns its negation).
    rcond : float, default=1e-15
        Relative cut-off of the pseudo-inverse for ``variant="tllib"``.
    {device}

    Returns
    -------
    score : float
        H-score, higher is better. With ``variant="tllib"`` it lies in
        ``[0, C - 1]`` (the sum of the squared canonical correlations between
        features and one-hot labels); ``C - 1`` when the classes are linearly
        separable without within-class spread, e.g. whenever N ≤ D.

    Warns
    -----
    SaturatedScoreWarning
        When the centred features span all ``N - 1`` dimensions their samples
        can span (always when N ≤ D, e.g. a few hundred samples of 1 280-d
        features): the pseudo-inverse then fits any labelling exactly and the
        score is ``C - 1`` for real features and pure noise alike, so it
        cannot rank models. Use :func:`regularized_hscore` there.

    See Also
    --------
    regularized_hscore : The shrinkage version, stable when N is close to D.
    skdisco.scorers.HScoreScorer : The estimator.

    Notes
    -----
    With :math:`\Sigma_f` the feature covariance and
    :math:`\Sigma_g = \operatorname{cov}(\mathbb E[f \mid y])` the covariance of
    the class means,

    .. math::

        \mathcal H = \operatorname{tr}\big(\Sigma_f^{+}\,\Sigma_g\big)
        = \sum_c \frac{n_c}{N}\,(\bar f_c - \bar f)^\top \Sigma_f^{+}
          (\bar f_c - \bar f).

    One eigendecomposition of the centred scatter (D × D when N > D, the N × N
    kernel otherwise) gives the spectrum and the class means' coordinates; no
    N × D label-mean matrix or pseudo-inverse is formed. Cost:
    O(N·D·min(N, D) + min(N, D)³), memory O(min(N, D)² + N·D when N ≤ D).

    **Deviation from the references**: labels are remapped to ``0 .. C-1``. The
    pseudo-inverse uses the eigenvalues of the symmetric covariance rather than an
    SVD; the two differ only in round-off. ``variant="tllib"`` is invariant to a
    global rescaling of the features; ``"pactran"``'s absolute ridge is not.
    Features of extreme magnitude (beyond :math:`2^{\pm 256}`) are divided by a
    power of two first (the ridge scaled with them), so the value is the one the
    formula gives, not an overflow.

    **Scale invariance.** ``variant="tllib"`` is invariant to rescaling the
    features; ``variant="pactran"`` adds a 1e-6 ridge in the features' units (On the
    first 600 rows of scikit-learn's digits: 0.19 % at 1e-3×, 4e-5 at 0.01×), so its
    scorer's ``scale_invariant`` tag is False.

    References
    ----------
    .. [1] Y. Bao, Y. Li, S.-L. Huang, L. Zhang, L. Zheng, A. Zamir, L. Guibas.
       "An Information-Theoretic Approach to Transferability in Task Transfer
       Learning". ICIP 2019.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import hscore
    >>> X, y = load_iris(return_X_y=True)
    >>> round(hscore(X, y), 4)
    1.1919
    """
    F = check_features(features, out_of_core=True, n_samples=num_rows(y), device=device)
    y_enc, classes = check_classification_target(y, F.shape[0])
    return hscore_result(F, y_enc, classes.shape[0], variant=variant, rcond=rcond)


def hscore_result(F, y, n_classes, *, variant="tllib", rcond=1e-15):
    """H-score of features ``F`` and labels ``y`` encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    _, scale, spectrum, coords, counts = _class_terms(F, y, n_classes)
    lam = spectrum.eigenvalues
    _warn_if_saturated(spectrum, n_classes)
    if variant == "pactran":
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            denom = lam + np.float64(_PACTRAN_RIDGE) / scale / scale
            inv = np.where(denom > 0, 1.0 / np.where(denom > 0, denom, 1.0), 0.0)
        return float(np.sum(counts * ((coords**2) @ inv)))
    keep = lam > rcond * lam[0] if lam[0] > 0 else np.zeros_like(lam, dtype=bool)
    # Σ_f = XcᵀXc / (N-1) and Σ_g = Σ_c n_c m_c m_cᵀ / (N-1): the N-1 cancel.
    inv = np.zeros_like(lam)
    inv[keep] = 1.0 / lam[keep]
    return float(np.sum(counts * ((coords**2) @ inv)))


def _warn_if_saturated(spectrum, n_classes):
    """Warn when the centred features span every direction their samples can."""
    n, lam = spectrum.n_samples, spectrum.eigenvalues
    if lam[0] <= 0:
        return
    eps = np.finfo(np.float64).eps
    rank = int(np.sum(lam > lam[0] * max(n, spectrum.n_features) * eps))
    if rank >= n - 1:
        warnings.warn(
            f"H-score saturates: the {n} centred samples span {rank} dimensions, "
            f"all they can, so the pseudo-inverse of their covariance fits any "
            f"labelling and the score is its maximum C - 1 = {n_classes - 1} for "
            "real features and noise alike; it cannot rank models. Use "
            "regularized_hscore (the shrinkage H-score), or more samples than "
            "feature dimensions.",
            SaturatedScoreWarning,
            stacklevel=user_stacklevel(),
        )


@validate_params(
    {
        "features": STREAMING_FEATURES,
        "y": ["array-like"],
        **_REGULARIZED_HSCORE_PARAMETERS,
    },
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def regularized_hscore(features, y, *, device=None):
    r"""Shrinkage H-score: H-score with a Ledoit-Wolf covariance estimate.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target data. Out-of-core features (a Dask array, a
        zarr array or HDF5 dataset, a list of chunks or a function returning
        them; a numpy.memmap is read in place) are read in row blocks, in
        three passes (see the out-of-core guide).
    y : array-like of shape (n_samples,)
        Target class labels (any labels).
    {device}

    Returns
    -------
    score : float
        Regularised H-score, higher is better, in ``[0, C - 1)`` roughly (the
        shrinkage lowers it below the plain H-score when N is small against D).

    See Also
    --------
    hscore : The unregularised score.
    skdisco.scorers.RegularizedHScoreScorer : The estimator.

    Notes
    -----
    With the Ledoit-Wolf shrinkage :math:`\alpha` of the (biased, 1/N) feature
    covariance :math:`S`, :math:`\mu = \operatorname{tr}(S)/D` and
    :math:`\Sigma_\alpha = (1-\alpha) S + \alpha\mu I`,

    .. math::

        \mathcal H_\alpha = (1 - \alpha)\operatorname{tr}\big(\Sigma_\alpha^{-1}
        \Sigma_g\big),

    with :math:`\Sigma_g` the (N-1)-normalised covariance of the class means, as
    the Transfer-Learning-Library ``regularized_h_score`` computes it. The
    shrinkage :math:`\alpha` equals
    :func:`sklearn.covariance.ledoit_wolf_shrinkage` but comes from the same
    eigendecomposition as the score (:math:`\lVert S\rVert_F^2 = \sum\lambda^2`),
    so nothing D × D beyond it is formed. Cost as :func:`hscore`.

    **Deviation from the reference**: labels are remapped to ``0 .. C-1``.

    References
    ----------
    .. [1] S. Ibrahim, N. Ponomareva, R. Mazumder. "Newer is not always better:
       Rethinking transferability metrics, their peculiarities, stability and
       performance". ECML-PKDD 2022.
    .. [2] O. Ledoit, M. Wolf. "A well-conditioned estimator for large-dimensional
       covariance matrices". J. Multivariate Analysis 88(2), 2004.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import regularized_hscore
    >>> X, y = load_iris(return_X_y=True)
    >>> round(regularized_hscore(X, y), 4)
    1.1778
    """
    F = check_features(features, out_of_core=True, n_samples=num_rows(y), device=device)
    y_enc, classes = check_classification_target(y, F.shape[0])
    return regularized_hscore_result(F, y_enc, classes.shape[0])


def regularized_hscore_result(F, y, n_classes):
    """Shrinkage H-score of features ``F`` and labels encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    # Ledoit-Wolf's Σ‖x - μ‖⁴ comes from the scatter's own centred rows.
    F, _, spectrum, coords, counts = _class_terms(F, y, n_classes, fourth_powers=True)
    lam = spectrum.eigenvalues
    n, d = spectrum.n_samples, spectrum.n_features
    alpha = ledoit_wolf_shrinkage_from_spectrum(lam, spectrum.sum_fourth_powers, n, d)
    s = lam / n  # eigenvalues of the biased covariance S
    mu = s.sum() / d
    denom = (1.0 - alpha) * s + alpha * mu
    if np.any(denom <= 0):
        raise ValueError(
            "The shrunk feature covariance is singular (no Ledoit-Wolf shrinkage "
            "of rank-deficient features: constant features, or too few samples); "
            "the shrinkage H-score is undefined for these features."
        )
    quad = (coords**2) @ (1.0 / denom)
    return float((1.0 - alpha) * np.sum(counts * quad) / (n - 1))


__all__ = ["hscore", "regularized_hscore"]
