"""GBC: Gaussian Bhattacharyya coefficient between the classes' feature clouds.

Pándy, Agostinelli, Uijlings, Ferrari, Mensink, "Transferability Estimation using
Bhattacharyya Class Separability", CVPR 2022.
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._source import DEVICE_PARAMETER, STREAMING_FEATURES, fill_device_doc
from ..utils._validation import (
    check_classification_target,
    check_features,
    num_rows,
)
from ..utils._warnings import (
    PerfectSeparationWarning,
    SaturatedScoreWarning,
    user_stacklevel,
)
from ._linalg import (
    CenteredSpectrum,
    class_statistics,
    class_variances,
    is_streamed,
    rescaled,
    small_source_to_array,
)

GAUSSIAN_TYPES = ("spherical", "diagonal")
# The reference floors every per-class variance at this value.
_MIN_VARIANCE = 1e-4

#: Constraints of GBC's parameters, shared by :func:`gbc` and the estimator.
_PARAMETERS = {
    "gaussian_type": [StrOptions(set(GAUSSIAN_TYPES))],
    "n_components": [Interval(Integral, 1, None, closed="left"), None],
    "device": DEVICE_PARAMETER,
}


@validate_params(
    {"features": STREAMING_FEATURES, "y": ["array-like"], **_PARAMETERS},
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def gbc(features, y, *, gaussian_type="spherical", n_components=None, device=None):
    r"""GBC: minus the summed Bhattacharyya coefficients between class Gaussians.

    Each class is modelled as a Gaussian with a diagonal or spherical covariance;
    the more the classes overlap, the lower the score.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target data. Out-of-core features (a Dask array, a
        zarr array or HDF5 dataset, a list of chunks or a function returning
        them; a numpy.memmap is read in place) are read in row blocks, in
        two passes (three with ``n_components``) (see the out-of-core guide).
    y : array-like of shape (n_samples,)
        Target class labels (any labels).
    gaussian_type : {"spherical", "diagonal"}, default="spherical"
        Per-class covariance: one variance per class (the mean of its per-feature
        variances; the reference's default) or one per class and feature.
    n_components : int, default=None
        When given, the features are first projected on their top
        ``n_components`` principal components (exact PCA), as the reference
        pipeline's ``pca_reduction(features, 64)``; ``None`` scores the features
        as they are.
    {device}

    Returns
    -------
    score : float
        GBC in :math:`[-C(C-1), 0]`; higher is better (0: no two classes overlap).

    Warns
    -----
    SaturatedScoreWarning
        When every class has a single sample: each class variance is then the
        floor alone, no two classes overlap and the score is its maximum 0
        whatever the features, so it cannot rank models.
    PerfectSeparationWarning
        When every Bhattacharyya coefficient underflows (every distance above
        ~745, e.g. well-separated classes in hundreds of dimensions): the
        score is then exactly 0 for any such model
        (:func:`~skdisco.selection.rank_models` keeps 0, such models tied at
        the top); project on fewer principal components (``n_components=64``,
        the reference pipeline's) to order them.

    See Also
    --------
    skdisco.scorers.GBCScorer : The estimator.

    Notes
    -----
    With class means :math:`\mu_c`, per-feature variances :math:`\sigma^2_c`
    (population variance, floored at 1e-4; their mean for ``"spherical"``) and
    :math:`\bar\sigma^2 = (\sigma^2_c + \sigma^2_{c'})/2`, the Bhattacharyya
    distance is

    .. math::

        D_B(c, c') = \frac18\sum_d \frac{(\mu_{cd}-\mu_{c'd})^2}{\bar\sigma^2_d}
        + \frac12\sum_d\Big(\log\bar\sigma^2_d - \tfrac12\log\sigma^2_{cd}
        - \tfrac12\log\sigma^2_{c'd}\Big)

    and :math:`\mathrm{GBC} = -\sum_{c \ne c'} e^{-D_B(c, c')}` over ordered
    pairs, as google-research ``stable_transfer/transferability/gbc.py``
    computes it. Cost: O(N·D) for the class statistics and O(C²·D) for the
    pairs; memory O(C·D).

    The score is invariant to a global rescaling of the features except
    through the variance floor, which is absolute: features far below unit
    scale (variances under 1e-4) score as if every class overlapped. Features
    of extreme magnitude (beyond :math:`2^{\pm 256}`) are divided by a power of
    two first and the floor scaled with them, so the value is the one the
    formula gives, not an overflow.

    **Deviation from the reference**: labels are remapped; the reference
    pipeline's PCA output is float32 and its GBC runs in float32 (TensorFlow),
    ours stays float64, so with ``n_components`` the values agree with those
    float32 results to about 1e-6 relative (the float32 rounding), not 1e-12.

    **Not scale invariant.** The variance floor (1e-4) is in the features' units, so
    rescaling the features moves the score: On the first 600 rows of scikit-learn's
    digits, by 17 % at 0.01× (diagonal: by a factor 18) and by 1e-5 (diagonal: 0.8
    %) at 100×; the scorer's ``scale_invariant`` tag is False.

    References
    ----------
    .. [1] M. Pándy, A. Agostinelli, J. Uijlings, V. Ferrari, T. Mensink.
       "Transferability Estimation using Bhattacharyya Class Separability".
       CVPR 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import gbc
    >>> X, y = load_iris(return_X_y=True)
    >>> round(gbc(X, y), 4)
    -0.3378
    """
    F = check_features(features, out_of_core=True, n_samples=num_rows(y), device=device)
    y_enc, classes = check_classification_target(y, F.shape[0])
    return gbc_result(
        F,
        y_enc,
        classes.shape[0],
        gaussian_type=gaussian_type,
        n_components=n_components,
    )


def gbc_result(F, y, n_classes, *, gaussian_type="spherical", n_components=None):
    """GBC of features ``F`` and labels ``y`` encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    if F.shape[0] == n_classes:
        warnings.warn(
            "GBC: every class has a single sample, so every class variance is the "
            "floor alone and the score is its maximum (0: no overlap) whatever "
            "the features; it cannot rank models. Collect at least two samples "
            "per class.",
            SaturatedScoreWarning,
            stacklevel=user_stacklevel(),
        )
    # An exact power-of-two rescaling for features whose squares would overflow
    # or underflow float64; the absolute variance floor is rescaled with them.
    F = small_source_to_array(F)
    F, scale = rescaled(F)
    center = basis = None
    if n_components is not None and is_streamed(F) and F.shape[0] > F.shape[1]:
        # Streamed: the class means of the projections are the projected class
        # means, and their variances are taken block by block (three passes).
        k = min(int(n_components), *F.shape)
        spectrum = CenteredSpectrum(F, labels=(y, n_classes), n_vectors=k)
        _, means = spectrum.class_statistics(y, n_classes)
        center, basis = spectrum.mean, spectrum.vectors[:, :k]
        means = (means - center) @ basis
    else:
        if n_components is not None:
            k = min(int(n_components), *F.shape)
            F = CenteredSpectrum(F, n_vectors=k).scores(k)
        _, means = class_statistics(F, y, n_classes)
    with np.errstate(over="ignore", under="ignore"):
        floor = np.float64(_MIN_VARIANCE) / scale / scale
    info = np.finfo(np.float64)
    # Bounded so that a sum of D floors (the spherical mean) stays finite.
    floor = float(np.clip(floor, info.tiny, info.max / (4 * max(means.shape[1], 1))))
    var = class_variances(F, y, n_classes, means, center=center, basis=basis)
    var = np.maximum(var, floor)
    if gaussian_type == "spherical":
        var = var.mean(axis=1, keepdims=True)
    log_var = np.log(var)
    total = 0.0
    for c in range(n_classes):
        avg = 0.5 * (var[c] + var)  # (C, D) or (C, 1)
        first = np.sum((means[c] - means) ** 2 / avg, axis=1) / 8.0
        # Spherical: the log terms of D identical variances are summed once, as
        # the reference reduces scalars there.
        second = np.sum(np.log(avg) - 0.5 * log_var[c] - 0.5 * log_var, axis=1)
        dist = first + 0.5 * second
        coeff = np.exp(-dist)
        coeff[c] = 0.0
        total += coeff.sum()
    if total == 0.0 and n_classes > 1 and F.shape[0] > n_classes:
        warnings.warn(
            PerfectSeparationWarning(
                "GBC is exactly 0, its maximum: every pair of class Gaussians "
                "is so far apart that its Bhattacharyya coefficient "
                "exp(-distance) underflows float64 (distances above ~745), so "
                "every such model scores the same and the score cannot rank "
                "them among themselves. Project the features on fewer "
                "principal components first (n_components=64, as the "
                "reference pipeline does).",
                maximum=0.0,
            ),
            stacklevel=user_stacklevel(),
        )
    return float(-total)


__all__ = ["gbc"]
