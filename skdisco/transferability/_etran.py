"""ETran: energy-based transferability estimation.

Gholami, Akbari, Wang, Zhang, "ETran: Energy-Based Transferability Estimation",
ICCV 2023. Reference code: mgholamikn/ETran ``metrics.py`` (``Energy_Score``,
``LDA_Score``) and ``tw.py`` (the combination over a set of models).
"""

from __future__ import annotations

import warnings
from functools import partial
from numbers import Real

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._source import DEVICE_PARAMETER, STREAMING_FEATURES, fill_device_doc
from ..utils._validation import (
    check_classification_target,
    check_features,
    num_rows,
)
from ..utils._warnings import user_stacklevel
from ._linalg import (
    _TRANSFORM_CHUNK_BYTES,
    _on_device,
    check_within_scatter,
    class_statistics,
    lda_coefficients,
    lda_posterior_values,
    lda_statistics,
    minmax_across_models,
    posterior_chunk_bytes,
    rescaled,
    row_values,
    sfda_shrinkage,
    shrink_covariance,
    true_class_probability,
)

#: ETran's weight of the energy score in the combination (``tw.py``).
ENERGY_WEIGHT = 0.15

#: Constraints of ETran's parameters, shared by the functions and the estimator.
_PARAMETERS = {
    "percent": [Interval(Real, 0, 100, closed="right")],
    "tail": [StrOptions({"bottom", "top"})],
    "covariance": [StrOptions({"identity", "shrunk"})],
    "device": DEVICE_PARAMETER,
}
_ENERGY_PARAMETERS = {k: _PARAMETERS[k] for k in ("percent", "tail", "device")}
_LDA_PARAMETERS = {k: _PARAMETERS[k] for k in ("covariance", "device")}


def energy_result(F, percent=0.5, tail="bottom"):
    """ETran's energy score of features ``F``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    if _on_device(F):
        from ..utils._torch import device_row_logsumexp

        energy = device_row_logsumexp(F, chunk_bytes=_TRANSFORM_CHUNK_BYTES)
    else:
        energy = row_values(F, _energy_block)  # one pass; O(N) energies
    n = energy.shape[0]
    k = int(percent * 10) * n // 1000
    if k < 1:
        warnings.warn(
            f"ETran's energy score averages the {percent}% {tail} samples, which "
            f"is no sample of {n} (the reference returns NaN below "
            f"{int(np.ceil(1000 / max(int(percent * 10), 1)))} samples); using "
            "the single most extreme sample.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        k = 1
    if tail == "bottom":
        chosen = np.partition(energy, k - 1)[:k]
    else:
        chosen = np.partition(energy, n - k)[n - k :]
    return float(chosen.mean())


def _energy_block(block):
    return logsumexp(block, axis=1)


def lda_result(F, y, n_classes, covariance="identity"):
    """ETran's LDA score of ``F`` and labels encoded ``0 .. n_classes - 1``.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    # Features of extreme magnitude are divided by a power of two (exactly);
    # what depends on their scale is scaled back below.
    F, scale = rescaled(F)
    if covariance == "identity":  # the class means only: no scatter pass
        counts, means = class_statistics(F, y, n_classes)
    else:
        counts, means, within = lda_statistics(F, y, n_classes)
    priors = counts / counts.sum()
    center = priors @ means
    if covariance == "identity":
        cov = None
    else:
        check_within_scatter(within, "ETran's shrunk LDA")
        cov = shrink_covariance(within, sfda_shrinkage(within, scale=scale))[0]
    coef, intercept = lda_coefficients(means, priors, cov, center)
    if cov is None and scale != 1.0:
        true = row_values(
            F,
            partial(
                _rescaled_identity_block,
                coef=coef,
                intercept=intercept,
                center=center,
                log_priors=np.log(priors),
                scale=scale,
            ),
            y,
            chunk_bytes=posterior_chunk_bytes(F.shape[1], n_classes),
        )
    else:
        true = lda_posterior_values(F, y, coef, intercept, center)
    return float(true.mean())


def _rescaled_identity_block(
    block, y_block, *, coef, intercept, center, log_priors, scale
):
    """True-class identity-covariance posterior of rows ``block · scale``.

    Its logits are ``scale² · L + log π`` with ``L`` the logits of the block
    less their log priors (not scale invariant). Taking each row's maximum of
    ``L`` off first keeps ``scale² · L`` finite or ``-inf`` (a class
    infinitely less likely), never ``inf - inf``.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        s2 = np.float64(scale) * scale
        L = (block - center) @ coef.T + (intercept - log_priors)
        L -= L.max(axis=1, keepdims=True)
        P = softmax(np.where(L == 0, 0.0, L * s2) + log_priors, axis=1)
    return true_class_probability(P, y_block)


def etran_result(F, y, n_classes, *, percent=0.5, tail="bottom", covariance="identity"):
    """ETran's two components ``[energy, lda]`` of ``F`` and encoded labels.

    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    return np.array(
        [energy_result(F, percent, tail), lda_result(F, y, n_classes, covariance)]
    )


def _validated(features, y, device):
    F = check_features(features, out_of_core=True, n_samples=num_rows(y), device=device)
    y_enc, classes = check_classification_target(y, F.shape[0], min_samples_per_class=2)
    return F, y_enc, classes.shape[0]


@validate_params(
    {"features": STREAMING_FEATURES, **_ENERGY_PARAMETERS},
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def etran_energy(features, *, percent=0.5, tail="bottom", device=None):
    r"""ETran's energy score: mean free energy of the most extreme samples.

    The energy of a sample is :math:`\log\sum_j e^{f_j}` over its feature
    dimensions (the reference applies it to penultimate features); the score
    is the mean over the ``percent`` % of samples with the lowest (``"bottom"``)
    or highest energy. It needs no labels. Higher is better (the reference's
    direction); the scale depends on the model, so it is meaningful only after
    normalising across models (:func:`etran_combine`).

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features), or out-of-core
        Features of the target data (a ``numpy.memmap``, Dask array, iterable
        of row chunks or function returning one are read in row blocks).
    percent : float, default=0.5
        Percentage of samples averaged, with the reference's resolution of 0.1:
        ``int(percent * 10) * n_samples // 1000`` samples.
    tail : {"bottom", "top"}, default="bottom"
        Average the lowest- or the highest-energy samples.
    {device}

    Returns
    -------
    energy : float
        Mean energy of the selected samples.

    Warns
    -----
    UserWarning
        When that count is 0 (fewer than 200 samples at the default): the
        single most extreme sample is used. **Deviation**: the reference
        averages an empty selection and returns NaN.

    Notes
    -----
    **Out of core.** One pass over the rows, in order, keeping the N energies
    (not the features): a one-shot generator of chunks is read once.

    **Not scale invariant.** The energy is a log-sum-exp of the raw features, so it
    changes with their scale (on the first 600 rows of scikit-learn's digits:
    ETran's components move by 88 % at 0.01× and by a factor 94 at 100×); the
    scorer's ``scale_invariant`` tag is False.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.transferability import etran_energy
    >>> X = np.random.default_rng(0).normal(size=(400, 8))
    >>> round(etran_energy(X), 4)
    1.3552
    """
    F = check_features(features, out_of_core=True, device=device)
    return energy_result(F, percent, tail)


@validate_params(
    {"features": STREAMING_FEATURES, "y": ["array-like"], **_LDA_PARAMETERS},
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def etran_lda(features, y, *, covariance="identity", device=None):
    r"""ETran's LDA score: mean posterior of the true class of a linear classifier.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features), or out-of-core
        Features of the target data (a ``numpy.memmap``, Dask array, iterable
        of row chunks or function returning one are read in row blocks).
    y : array-like of shape (n_samples,)
        Class labels (any labels); at least two classes, two samples per class.
    covariance : {"identity", "shrunk"}, default="identity"
        ``"identity"`` reproduces the reference's (and the paper's) numbers;
        ``"shrunk"`` is the LDA the reference intends, SFDA's shrunk
        within-class covariance.
    {device}

    Returns
    -------
    score : float
        In (0, 1], higher is better; 1/C is about chance.

    Notes
    -----
    The posterior is
    :math:`p(c \mid x) \propto \pi_c \exp(x^\top \Sigma^{-1}\mu_c -
    \tfrac12\mu_c^\top\Sigma^{-1}\mu_c)` and the score
    :math:`\frac1N\sum_i p(y_i \mid x_i)`.

    Neither covariance makes the score scale invariant: the logits of
    ``"identity"`` grow with the square of the features' scale, and the
    shrinkage of ``"shrunk"`` reads it. Features of extreme magnitude (beyond
    :math:`2^{\pm 256}`) are divided by a power of two and what depends on the
    scale is scaled back, so the value is the one the formula gives, not an
    overflow; constant within-class features make ``"shrunk"`` raise a
    ``ValueError`` (its covariance is zero).

    **Deviation, decided**: the reference meant SFDA's shrunk LDA but computes
    ``np.linalg.eigh(inv(Sw) @ Sb)``: ``eigh`` reads only the lower triangle of
    that non-symmetric matrix and returns an *orthogonal* ``V``, so the
    ``V Vᵀ`` that should be ``Σ⁻¹`` is the identity and the classifier is
    nearest class mean with log-prior offsets (:math:`\Sigma = I`), whatever
    :math:`S_w` is. That value is what ETran's published numbers measure, so
    it is the default and matches the reference to round-off; we compute it
    directly instead of through the meaningless eigendecomposition.
    ``covariance="shrunk"`` gives the intended LDA. Labels are encoded to
    ``0 .. C-1`` (the reference fails on label gaps). Cost: one pass for the
    class means (identity) or :math:`O(N D^2 + D^3)` (shrunk), and one for
    the posteriors.

    **Out of core.** Passes over the rows, in order: 2 with the identity
    covariance (class sums, posteriors), 3 with ``"shrunk"`` (and the
    within-class scatter); each a reduction whose tasks run on the workers
    for a Dask array. Only each row's true-class posterior is kept (O(N)),
    never the N × C posterior.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import etran_lda
    >>> X, y = load_iris(return_X_y=True)
    >>> round(etran_lda(X, y), 4)
    0.8173
    """
    F, y_enc, n_classes = _validated(features, y, device)
    return lda_result(F, y_enc, n_classes, covariance)


@validate_params(
    {"features": STREAMING_FEATURES, "y": ["array-like"], **_PARAMETERS},
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def etran_components(
    features, y, *, percent=0.5, tail="bottom", covariance="identity", device=None
):
    """The two per-model components of ETran: ``(energy, lda)``.

    ETran is defined only relative to a set of models: each component is
    min-max normalised across the models and combined by :func:`etran_combine`.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features), or out-of-core
        Features of the target data (a ``numpy.memmap``, Dask array, iterable
        of row chunks or function returning one are read in row blocks) from one model.
    y : array-like of shape (n_samples,)
        Class labels.
    percent, tail
        Passed to :func:`etran_energy`.
    covariance : {"identity", "shrunk"}, default="identity"
        Passed to :func:`etran_lda`.
    {device}

    Returns
    -------
    components : ndarray of shape (2,)
        ``[energy, lda]``, both higher-is-better.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.transferability import etran_components
    >>> X, y = load_digits(return_X_y=True)
    >>> etran_components(X, y).shape
    (2,)
    """
    F, y_enc, n_classes = _validated(features, y, device)
    return etran_result(
        F, y_enc, n_classes, percent=percent, tail=tail, covariance=covariance
    )


@validate_params(
    {
        "energy": ["array-like"],
        "lda": ["array-like"],
        "energy_weight": [Interval(Real, 0, 1, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def etran_combine(energy, lda, *, energy_weight=ENERGY_WEIGHT):
    r"""ETran scores of a set of models from their components.

    Parameters
    ----------
    energy : array-like of shape (n_models,)
        Energy component of each model.
    lda : array-like of shape (n_models,)
        LDA component of each model.
    energy_weight : float, default=0.15
        :math:`w` in :math:`w\,\mathrm{mm}(\text{energy}) +
        (1-w)\,\mathrm{mm}(\text{lda})` (``tw.py``: 0.15).

    Returns
    -------
    scores : ndarray of shape (n_models,)
        In [0, 1], higher is better; comparable only within the set. A
        component equal for every model contributes 0, with a warning (the
        reference divides by zero).

    Examples
    --------
    >>> from skdisco.transferability import etran_combine
    >>> etran_combine([1.0, 3.0, 2.0], [0.5, 0.7, 0.9])
    array([0.   , 0.575, 0.925])
    """
    e = np.asarray(energy, dtype=np.float64).ravel()
    a = np.asarray(lda, dtype=np.float64).ravel()
    if e.shape != a.shape:
        raise ValueError(
            f"energy and lda must have one value per model; got {e.shape[0]} and "
            f"{a.shape[0]}."
        )
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(a))):
        raise ValueError("energy and lda must be finite.")
    return energy_weight * minmax_across_models(e, "energy") + (
        1.0 - energy_weight
    ) * minmax_across_models(a, "LDA score")


@validate_params(
    {
        "features_per_model": [list, tuple],
        "y": ["array-like"],
        **_PARAMETERS,
        "energy_weight": [Interval(Real, 0, 1, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def etran(
    features_per_model,
    y,
    *,
    percent=0.5,
    tail="bottom",
    covariance="identity",
    energy_weight=ENERGY_WEIGHT,
    device=None,
):
    """ETran scores of several models on one target: components, then combination.

    Parameters
    ----------
    features_per_model : list of array-like of shape (n_samples, n_features_m)
        One feature matrix per model, rows in the order of ``y``.
    y : array-like of shape (n_samples,)
        Class labels shared by all models.
    percent, tail, covariance
        Passed to :func:`etran_components`.
    energy_weight : float, default=0.15
        Passed to :func:`etran_combine`.
    device : {"cpu", "cuda", "auto"}, default=None
        Passed to :func:`etran_components`: where each model's passes run.

    Returns
    -------
    scores : ndarray of shape (n_models,)
        In [0, 1], higher is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.transferability import etran
    >>> X, y = load_digits(return_X_y=True)
    >>> noisy = X + np.random.default_rng(0).normal(scale=8.0, size=X.shape)
    >>> etran([X, noisy], y, percent=5).round(2)
    array([0.85, 0.15])
    """
    comps = np.array(
        [
            etran_components(
                F, y, percent=percent, tail=tail, covariance=covariance, device=device
            )
            for F in features_per_model
        ]
    )
    return etran_combine(comps[:, 0], comps[:, 1], energy_weight=energy_weight)


__all__ = [
    "ENERGY_WEIGHT",
    "etran",
    "etran_combine",
    "etran_components",
    "etran_energy",
    "etran_lda",
]
