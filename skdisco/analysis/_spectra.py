"""Spectra of features: singular values, the principal/residual split, bands.

The measurements DISCO rests on (Zhang et al., AAAI 2025) and that Deng et al.
(ICCV 2023, "Towards Inadequately Pre-trained Models in Transfer Learning") use
to show that pre-training learns the large-singular-value components first.
Everything comes from one eigendecomposition of the d × d Gram matrix of the
centred features (the N × N kernel when N ≤ d), as in the scorers; the N × d
matrix is never decomposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

from ..transferability._linalg import (
    centered_gram,
    column_mean,
    kernel_matrix,
    rescaled,
)
from ..utils._validation import check_features

__all__ = ["SpectralProfile", "spectral_profile"]


@dataclass(frozen=True)
class SpectralProfile:
    """The singular spectrum of a feature matrix and its principal/residual split.

    Returned by :func:`spectral_profile`; see there for the definitions.

    Parameters
    ----------
    singular_values : ndarray of shape (rank,)
        Non-zero singular values ``σ_1 ≥ σ_2 ≥ ...`` of the (centred) features.
    mass : ndarray of shape (rank,)
        Each component's share of the σ mass, ``σ_i / Σ_j σ_j``.
    cumulative_mass : ndarray of shape (rank,)
        ``Σ_{j ≤ i} σ_j / Σ_j σ_j``; the last entry is 1.
    n_principal : int
        The smallest ``k`` whose cumulative σ mass reaches ``threshold``.
    threshold : float
        The fraction of σ mass that defines the principal components.
    effective_rank : float
        ``exp(H(p))`` with ``p = mass`` and ``H`` the Shannon entropy (Roy and
        Vetterli, 2007): 1 for a rank-one spectrum, ``rank`` for a flat one.
    n_samples, n_features : int
        Shape of the features.
    centering : bool
        Whether the column means were removed first.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.analysis import spectral_profile
    >>> X = np.random.default_rng(0).normal(size=(100, 3)) * [9.0, 1.0, 1.0]
    >>> profile = spectral_profile(X, threshold=0.5)
    >>> profile.n_principal, profile.principal.tolist(), profile.residual.tolist()
    (1, [0], [1, 2])
    """

    singular_values: np.ndarray
    mass: np.ndarray
    cumulative_mass: np.ndarray
    n_principal: int
    threshold: float
    effective_rank: float
    n_samples: int
    n_features: int
    centering: bool

    @property
    def rank(self):
        """Number of non-zero singular values."""
        return int(self.singular_values.shape[0])

    @property
    def principal(self):
        """Indices of the principal components, ``0 .. n_principal - 1``."""
        return np.arange(self.n_principal)

    @property
    def residual(self):
        """Indices of the residual components, ``n_principal .. rank - 1``."""
        return np.arange(self.n_principal, self.rank)

    @property
    def principal_ratio(self):
        """σ ratio of the split: ``Σ_principal σ / Σ_residual σ`` (inf if none)."""
        head = float(self.singular_values[: self.n_principal].sum())
        tail = float(self.singular_values[self.n_principal :].sum())
        return head / tail if tail > 0 else float("inf")

    def to_frame(self):
        """The spectrum as a tidy DataFrame, one row per component.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``component`` (0-based), ``singular_value``, ``mass``,
            ``cumulative_mass`` and ``band`` (``"principal"`` or
            ``"residual"``).

        Examples
        --------
        >>> import numpy as np
        >>> from skdisco.analysis import spectral_profile
        >>> X = np.random.default_rng(0).normal(size=(50, 3)) * [10.0, 1.0, 0.1]
        >>> spectral_profile(X).to_frame()["band"].tolist()
        ['principal', 'residual', 'residual']
        """
        import pandas as pd

        return pd.DataFrame(
            {
                "component": np.arange(self.rank),
                "singular_value": self.singular_values,
                "mass": self.mass,
                "cumulative_mass": self.cumulative_mass,
                "band": np.where(
                    np.arange(self.rank) < self.n_principal, "principal", "residual"
                ),
            }
        )


def singular_values(features, *, centering=True):
    """Non-zero singular values of the (centred) features, descending, float64.

    From ``eigvalsh`` of the d × d Gram (N > d) or the N × N kernel (N ≤ d),
    computed on features rescaled by a power of two when their magnitude would
    overflow float64 (exact), then scaled back. Eigenvalues at round-off level
    (``λ ≤ λ_max · max(N, d) · eps``, the scorers' rank tolerance) are dropped.

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
        Validated features, float32 or float64.
    centering : bool, default=True
        Remove the column means first.

    Returns
    -------
    sigma : ndarray of shape (rank,)
        The singular values; empty when the (centred) features are zero.
    """
    F, scale = rescaled(features)
    n, d = F.shape
    mean = column_mean(F) if centering else np.zeros(d)
    if n > d:
        A = centered_gram(F, mean)
    else:
        A = kernel_matrix(np.asarray(F, dtype=np.float64) - mean)
    lam = np.clip(np.linalg.eigvalsh(A)[::-1], 0.0, None)
    if lam[0] <= 0:
        return np.zeros(0)
    tol = lam[0] * max(n, d) * np.finfo(np.float64).eps
    return np.sqrt(lam[lam > tol]) * scale


@validate_params(
    {
        "features": ["array-like"],
        "threshold": [Interval(Real, 0, 1, closed="right")],
        "centering": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def spectral_profile(features, *, threshold=0.8, centering=True):
    """The singular spectrum of features and its principal/residual split.

    With ``Z = F - mean = U Σ Vᵀ`` (``centering=True``), the singular values
    ``σ_1 ≥ ... ≥ σ_r > 0`` are split, as in DISCO (Zhang et al., 2025) and Deng
    et al. (2023), into the **principal** components -- the smallest ``k``
    whose cumulative mass ``Σ_{i ≤ k} σ_i / Σ_i σ_i`` reaches ``threshold`` --
    and the **residual** ones. The effective rank is ``exp(-Σ p_i log p_i)``
    with ``p_i = σ_i / Σ σ`` (Roy and Vetterli, 2007).

    The singular values come from one eigendecomposition of the d × d Gram
    matrix ``ZᵀZ`` (or the N × N kernel ``Z Zᵀ`` when N ≤ d), the matrix the
    scorers decompose; the N × d features are never decomposed. Every quantity
    is invariant to the order of the samples and to rotations of the feature
    space; ``mass``, ``cumulative_mass``, ``n_principal`` and
    ``effective_rank`` are also invariant to a global rescaling.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target samples (a torch tensor is accepted).
    threshold : float in (0, 1], default=0.8
        Fraction of the σ mass the principal components carry.
    centering : bool, default=True
        Remove the column means first (the spectrum of the covariance).

    Returns
    -------
    profile : SpectralProfile
        Singular values, masses, the split and the effective rank;
        ``profile.to_frame()`` is a tidy DataFrame, one row per component.

    Raises
    ------
    ValueError
        If the features are constant (no non-zero singular value), hold NaN or
        inf, or have fewer than two samples.

    See Also
    --------
    component_transferability : The task score of each spectral band.
    spectral_shift : How the spectrum changes under fine-tuning.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.analysis import spectral_profile
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)) * [8.0, 4.0, 0.5, 0.5]
    >>> profile = spectral_profile(X)
    >>> profile.n_principal, profile.rank
    (2, 4)
    >>> round(profile.effective_rank, 2)
    2.51
    """
    F = check_features(features)
    sigma = singular_values(F, centering=centering)
    if sigma.size == 0:
        raise ValueError(
            "The features are constant (every singular value of the "
            f"{'centred ' if centering else ''}feature matrix is zero); a "
            "spectrum needs features that vary across samples."
        )
    mass = sigma / sigma.sum()
    cumulative = np.cumsum(mass)
    cumulative[-1] = 1.0  # exactly, whatever the round-off of the sum
    # Smallest k with cumulative[k-1] >= threshold (a hair of tolerance so that
    # a split planted exactly at the threshold lands there despite round-off).
    k = int(np.searchsorted(cumulative, threshold - 1e-12, side="left")) + 1
    k = min(k, sigma.size)
    p = mass[mass > 0]
    effective_rank = float(np.exp(-np.sum(p * np.log(p))))
    return SpectralProfile(
        singular_values=sigma,
        mass=mass,
        cumulative_mass=cumulative,
        n_principal=k,
        threshold=float(threshold),
        effective_rank=effective_rank,
        n_samples=int(F.shape[0]),
        n_features=int(F.shape[1]),
        centering=bool(centering),
    )
