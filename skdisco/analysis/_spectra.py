"""Spectra of features: singular values, the principal/residual split, bands.

The measurements DISCO rests on (Zhang et al., AAAI 2025) and that Deng et al.
(ICCV 2023, "Towards Inadequately Pre-trained Models in Transfer Learning") use
to show that pre-training learns the large-singular-value components first.
Everything comes from one eigendecomposition of the d × d Gram matrix of the
centred features (the N × N kernel when N ≤ d), as in the scorers; the N × d
matrix is never decomposed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..transferability._disco import _PARAMETERS, make_groups
from ..transferability._linalg import (
    CenteredSpectrum,
    centered_gram,
    column_mean,
    kernel_matrix,
    magnitude_scale,
    rescaled,
)
from ..utils._validation import check_features

__all__ = [
    "SpectralProfile",
    "SpectralShift",
    "component_transferability",
    "plot_component_transferability",
    "plot_spectral_profile",
    "plot_spectral_shift",
    "spectral_profile",
    "spectral_shift",
]

#: DISCO's parameters, validated as :func:`skdisco.transferability.disco` does.
_DISCO_PARAMETERS = dict(_PARAMETERS)


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
    return np.sqrt(lam[: kept_rank(lam, n, d)]) * scale


def kept_rank(lam, n_samples, n_features):
    """How many of the descending eigenvalues ``lam`` are not round-off.

    ``λ > λ_max · max(N, d) · eps``, the scorers' rank tolerance; 0 when all
    are zero.
    """
    if lam.size == 0 or lam[0] <= 0:
        return 0
    tol = lam[0] * max(n_samples, n_features) * np.finfo(np.float64).eps
    return int(np.count_nonzero(lam > tol))


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
    return profile_from_singular_values(
        sigma, threshold, F.shape[0], F.shape[1], centering
    )


def profile_from_singular_values(sigma, threshold, n_samples, n_features, centering):
    """The :class:`SpectralProfile` of singular values already computed.

    Shared by :func:`spectral_profile` and the instruments that decompose the
    features themselves (one eigendecomposition per feature matrix).
    """
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
        n_samples=int(n_samples),
        n_features=int(n_features),
        centering=bool(centering),
    )


# --------------------------------------------------------------------------- #
# the task score of each spectral band
# --------------------------------------------------------------------------- #
MEASURES = ("auto", "ncc", "lr")


def _principal_bands(threshold, centering):
    """``groups(sigma)``: the principal components, then the residual ones."""

    def groups(sigma):
        k = profile_from_singular_values(sigma, threshold, 2, 1, centering).n_principal
        idx = np.arange(sigma.shape[0])
        return [g for g in (idx[:k], idx[k:]) if g.size]

    return groups


def band_scores(
    features,
    y,
    *,
    n_groups,
    group_size,
    bands,
    threshold,
    task,
    measure,
    standardize_targets,
    centering,
    **disco_params,
):
    """``(frame, profile)``: :func:`component_transferability` and the profile.

    The profile is that of the spectrum DISCO decomposed (the same centring,
    the samples hard-example sampling kept): one eigendecomposition for both.
    """
    import pandas as pd

    from ..transferability._disco import disco_result, prepare_disco_target

    F = check_features(features)
    n = F.shape[0]
    task, target, classes = prepare_disco_target(
        y, n, task, standardize_targets if task != "classification" else True
    )
    if measure == "auto":
        measure = "ncc" if task == "classification" else "lr"
    if measure == "ncc" and task == "regression":
        raise ValueError(
            "measure='ncc' (a nearest-centroid posterior) needs class labels, but "
            "y is a regression target; use measure='lr' (or 'auto')."
        )
    n_classes = None
    if task == "classification" and measure == "lr":
        # S_lr of the one-hot labels: the least-squares fit of each class's
        # indicator on the band, standardised per column as DISCO's targets.
        onehot = np.eye(classes.shape[0])[target]
        _, target, _ = prepare_disco_target(
            onehot, n, "regression", standardize_targets
        )
        disco_task = "regression"
    else:
        disco_task = task
        n_classes = None if classes is None else classes.shape[0]
    res = disco_result(
        F,
        target,
        task=disco_task,
        n_classes=n_classes,
        n_groups=n_groups,
        group_size=group_size,
        centering=centering,
        groups=None if bands is None else _principal_bands(threshold, centering),
        **disco_params,
    )
    n_used = n if res.sample_indices is None else res.sample_indices.shape[0]
    profile = profile_from_singular_values(
        res.singular_values, threshold, n_used, F.shape[1], centering
    )
    first = np.array([g[0] for g in res.groups])
    last = np.array([g[-1] for g in res.groups])
    frame = pd.DataFrame(
        {
            "band": np.arange(len(res.groups)),
            "first_component": first,
            "last_component": last,
            "n_components": last - first + 1,
            "sigma_sum": [float(res.singular_values[g].sum()) for g in res.groups],
            "sigma_mass": res.ratios,
            "score": res.group_scores,
            "contribution": res.contributions,
            "measure": measure,
            "principal": last < profile.n_principal,
        }
    )
    return frame, profile


@validate_params(
    {
        "features": ["array-like"],
        "y": ["array-like"],
        "bands": [None, StrOptions({"principal"})],
        "threshold": [Interval(Real, 0, 1, closed="right")],
        "measure": [StrOptions(set(MEASURES))],
        **_DISCO_PARAMETERS,
    },
    prefer_skip_nested_validation=True,
)
def component_transferability(
    features,
    y,
    *,
    n_groups=4,
    group_size=None,
    bands=None,
    threshold=0.8,
    task="auto",
    measure="auto",
    centering=False,
    covariance="isotropic",
    shrinkage="oas",
    posterior="cross_validated",
    n_folds=5,
    hard_examples="auto",
    hard_examples_threshold=20_000,
    standardize_targets=True,
    random_state=None,
):
    r"""The task score of each spectral band of the features (DISCO's S_ncc / S_lr).

    The singular values of the features are split into bands of consecutive
    components, exactly as :func:`skdisco.transferability.disco` splits them
    into groups, and each band's task score is DISCO's own: the
    cross-validated mean true-class posterior of a Gaussian class model on the
    band's coordinates (S_ncc, classification) or minus the mean squared error
    of the least-squares fit of the standardised target on the band (S_lr,
    regression). ``sigma_mass`` is DISCO's ratio ``Σ_{j∈g} σ_j / Σ_j σ_j``,
    so ``(frame.sigma_mass * frame.score).sum()`` is the DISCO score with the
    same parameters. It is DISCO's breakdown at any band width, labelled by
    where each band lies in the principal/residual split of
    :func:`spectral_profile`.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target samples (a torch tensor is accepted).
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Class labels (any labels; every class needs two samples) or real-valued
        targets.
    n_groups : int, default=4
        Number of bands: the r non-zero singular values are split into this
        many consecutive groups whose sizes differ by at most one (DISCO's
        grouping; more bands than components gives one component per band,
        with a warning). The default is 4, not DISCO's 2: a breakdown needs
        more than a head and a tail.
    group_size : int, default=None
        Band width instead: bands of that many components (the last may be
        narrower); overrides ``n_groups``.
    bands : {"principal"} or None, default=None
        ``"principal"``: two bands, the principal components of the split at
        ``threshold`` and the residual ones (one band when there is no
        residual); overrides ``n_groups`` and ``group_size``.
    threshold : float in (0, 1], default=0.8
        Fraction of the σ mass the principal components carry (the ``principal``
        column and ``bands="principal"``), as in :func:`spectral_profile`.
    task : {"auto", "classification", "regression"}, default="auto"
        What ``y`` is; ``"auto"`` infers it.
    measure : {"auto", "ncc", "lr"}, default="auto"
        The band's task score: ``"ncc"`` (classification only) or ``"lr"``;
        ``"auto"`` is DISCO's choice, S_ncc for classification and S_lr for
        regression. ``"lr"`` on class labels fits their one-hot indicators
        (standardised per column when ``standardize_targets``).
    centering : bool, default=False
        Remove the column means before the decomposition (DISCO's default is not
        to).
    covariance : {"isotropic", "shared", "class", "identity"}, default="isotropic"
        Covariance of S_ncc's Gaussian class model, as in DISCO.
    shrinkage : float in [0, 1] or "oas", default="oas"
        Shrinkage of the ``"shared"`` and ``"class"`` covariances, as in DISCO.
    posterior : {"cross_validated", "in_sample"}, default="cross_validated"
        How S_ncc scores the samples, as in DISCO.
    n_folds : int, default=5
        Folds of the cross-validated posterior.
    hard_examples : "auto", int, float or None, default="auto"
        DISCO's hard-example sampling (classification only); the profile and
        the bands are then those of the kept samples.
    hard_examples_threshold : int, default=20000
        Size above which ``"auto"`` samples.
    standardize_targets : bool, default=True
        Standardise each regression target column, as in DISCO.
    random_state : int, RandomState instance or None, default=None
        Permutes the fold labels of the cross-validated posterior.

    Returns
    -------
    frame : pandas.DataFrame
        One row per band: ``band`` (0-based), ``first_component``,
        ``last_component`` (0-based, inclusive), ``n_components``,
        ``sigma_sum``, ``sigma_mass`` (share of Σσ), ``score`` (S_ncc in
        [0, 1], or S_lr ≤ 0; higher is better), ``contribution``
        (``sigma_mass * score``), ``measure`` (``"ncc"`` or ``"lr"``) and
        ``principal`` (True when every component of the band is among the
        first ``n_principal`` of the profile).

    Raises
    ------
    ValueError
        On features with NaN or inf, constant features, a class with fewer
        than two samples, a single class, or ``measure="ncc"`` for a regression
        target.

    See Also
    --------
    skdisco.transferability.disco_components : DISCO's score and breakdown.
    spectral_profile : The singular spectrum and its principal/residual split.
    plot_component_transferability : Draw the frame.

    Notes
    -----
    The task score of a band is that of :func:`skdisco.transferability.disco`
    (computed by the same code, from one eigendecomposition of the Gram
    matrix): with :math:`Z = U \Sigma V^\top` and band :math:`g`, S_ncc is
    the mean softmax probability of the true class under
    :math:`\log \hat y_{ic} = -\tfrac12 (p_i^g - \mu_c^g)^\top
    \Lambda^{-1}(p_i^g - \mu_c^g) + \log \pi_c + \text{const}` with
    :math:`p_i^g = V_g^\top z_i`, and :math:`S_{lr}^g = -\frac{1}{NK}\lVert
    Y - U_g U_g^\top Y\rVert_F^2`. See the Notes of
    :func:`skdisco.transferability.disco` for the decisions (cross-validated
    posterior, isotropic covariance) and their measured effect.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.analysis import component_transferability
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 40)
    >>> X = rng.normal(size=(120, 8)) * [9, 8, 7, 6, 1, 1, 1, 1]
    >>> X[:, 6] += 3.0 * y  # the class signal lives in a small-σ direction
    >>> frame = component_transferability(X, y, n_groups=4)
    >>> frame[["band", "n_components", "principal"]].values.tolist()
    [[0, 2, True], [1, 2, True], [2, 2, False], [3, 2, False]]
    >>> int(frame["score"].idxmax())  # the band holding the signal
    2
    """
    return band_scores(
        features,
        y,
        n_groups=n_groups,
        group_size=group_size,
        bands=bands,
        threshold=threshold,
        task=task,
        measure=measure,
        standardize_targets=standardize_targets,
        centering=centering,
        covariance=covariance,
        shrinkage=shrinkage,
        posterior=posterior,
        n_folds=n_folds,
        hard_examples=hard_examples,
        hard_examples_threshold=hard_examples_threshold,
        random_state=random_state,
    )[0]


# --------------------------------------------------------------------------- #
# the spectral shift between pre-trained and fine-tuned features
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class SpectralShift:
    """How the spectrum of features changes from before to after fine-tuning.

    Returned by :func:`spectral_shift`; see there for the definitions.

    Parameters
    ----------
    groups : pandas.DataFrame
        One row per group ``g`` of the *before* spectrum: ``group``,
        ``first_component``, ``last_component``, ``n_components``,
        ``sigma_mass_before``, ``sigma_mass_after``, ``sigma_mass_change``
        (after minus before), ``relative_change`` (``‖Z_g − Z′_g‖_F /
        ‖Z_g‖_F``), ``rms_change`` (``‖(Z − Z′) V_g‖_F / √|g|``, the change
        per direction, equal for every group under an isotropic change) and
        ``principal`` (every component of the group among the
        before profile's first ``n_principal``).
    principal_angles : ndarray of shape (n_components,)
        Principal angles (radians, descending) between the top
        ``n_components`` right singular subspaces before and after.
    n_components : int
        Dimension of the subspaces compared by ``principal_angles``.
    principal_change : float
        ``‖(Z − Z′) V_k‖_F / ‖Z V_k‖_F`` over the first ``n_components``
        components of the before spectrum (the principal part by default).
    residual_change : float or None
        The same over the remaining components of the before spectrum; None
        when there are none.
    before, after : SpectralProfile
        The two spectra (same ``threshold``, centred).

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.analysis import spectral_shift
    >>> X = np.random.default_rng(0).normal(size=(100, 4)) * [8.0, 4.0, 1.0, 1.0]
    >>> shift = spectral_shift(X, 2.0 * X, n_groups=2)
    >>> shift.groups["relative_change"].round(12).tolist()
    [1.0, 1.0]
    >>> round(shift.max_angle, 6)
    0.0
    """

    groups: object
    principal_angles: np.ndarray
    n_components: int
    principal_change: float
    residual_change: float | None
    before: SpectralProfile
    after: SpectralProfile

    @property
    def max_angle(self):
        """Largest principal angle (radians): 0 when the subspaces coincide."""
        return float(self.principal_angles.max()) if self.principal_angles.size else 0.0

    @property
    def principal_mass_before(self):
        """Σσ share of the first ``n_components`` components before."""
        return float(self.before.cumulative_mass[self.n_components - 1])

    @property
    def principal_mass_after(self):
        """Σσ share of the first ``n_components`` components after."""
        return float(self.after.cumulative_mass[self.n_components - 1])


def _decompose(F, threshold):
    """``(CenteredSpectrum, rank, profile)`` of validated features: one ``eigh``."""
    spec = CenteredSpectrum(F)
    n, d = F.shape
    r = kept_rank(spec.eigenvalues, n, d)
    sigma = np.sqrt(spec.eigenvalues[:r])
    return spec, r, profile_from_singular_values(sigma, threshold, n, d, True)


def _right_vectors(spec, k):
    """The first ``k`` right singular vectors ``V_k`` (d × k) of a spectrum."""
    if not spec.dual:
        return spec.vectors[:, :k]
    return spec.basis_matmul(np.eye(k))  # v_i = Zᵀ u_i / σ_i


def _masses_by_group(sigma, groups):
    """Σσ share of each group's index range; components past the last group's
    end (a spectrum of higher rank) count in the last group."""
    sums = np.array([sigma[g[0] : g[-1] + 1].sum() for g in groups])
    sums[-1] += sigma[groups[-1][-1] + 1 :].sum()
    return sums / sigma.sum()


@validate_params(
    {
        "features_before": ["array-like"],
        "features_after": ["array-like"],
        "n_groups": [Interval(Integral, 1, None, closed="left")],
        "group_size": [Interval(Integral, 1, None, closed="left"), None],
        "threshold": [Interval(Real, 0, 1, closed="right")],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def spectral_shift(
    features_before,
    features_after,
    *,
    n_groups=4,
    group_size=None,
    threshold=0.8,
    n_components=None,
):
    r"""How each spectral component of the features moves under fine-tuning.

    DISCO's motivating measurement (Zhang et al., 2025): the features of the
    same samples from the pre-trained model (``features_before``, ``F``) and
    from the fine-tuned one (``features_after``, ``F′``) are compared
    component by component of the pre-trained spectrum. DISCO's premise is
    that the components with large singular values change little.

    Parameters
    ----------
    features_before : array-like of shape (n_samples, n_features)
        Pre-trained features.
    features_after : array-like of shape (n_samples, n_features)
        Fine-tuned features of the same samples, rows aligned with
        ``features_before``, in the same feature space (same width).
    n_groups : int, default=4
        Groups of consecutive components of the before spectrum, as DISCO
        groups them (:func:`component_transferability`).
    group_size : int, default=None
        Components per group instead (the last may be smaller).
    threshold : float in (0, 1], default=0.8
        σ mass of the principal components of both profiles.
    n_components : int, default=None
        Dimension ``k`` of the subspaces compared by the principal angles and
        ``principal_change``; by default the before profile's
        ``n_principal`` (at most the rank after).

    Returns
    -------
    shift : SpectralShift
        ``shift.groups`` (one row per group), ``shift.principal_angles``, the
        scalars ``principal_change``, ``residual_change``, ``max_angle``,
        ``principal_mass_before`` / ``principal_mass_after`` and both profiles.

    Raises
    ------
    ValueError
        If the two matrices differ in rows or width, either is constant or
        holds NaN or inf, or ``n_components`` exceeds either rank.

    See Also
    --------
    spectral_profile : The spectrum of one feature matrix.
    component_transferability : The task score of each spectral band.
    plot_spectral_shift : Draw the per-group change.

    Notes
    -----
    With the centred features :math:`Z = F - \bar F = U \Sigma V^\top` and
    :math:`Z' = F' - \bar F'`, and the before spectrum's groups :math:`g` of
    consecutive components (right singular vectors :math:`V_g`), the group's
    component before and after is the projection on the same directions,
    :math:`Z_g = Z V_g V_g^\top` and :math:`Z'_g = Z' V_g V_g^\top`, and

    .. math::

        \Delta_g = \frac{\lVert Z_g - Z'_g\rVert_F}{\lVert Z_g\rVert_F}
                 = \frac{\lVert (Z - Z') V_g\rVert_F}
                        {\bigl(\sum_{j \in g} \sigma_j^2\bigr)^{1/2}} .

    DISCO's paper states the premise (large-σ components change little during
    fine-tuning, and the spectrum's mass moves toward them) without a formula
    we could read; this projection is our reading of it. It compares the same
    directions in both, so it is defined for any after spectrum (an SVD of
    :math:`Z'` of its own would pair components only up to sign and rotation
    inside repeated singular values), invariant to the sample order, to a
    common rotation of both feature spaces and to the choice of basis inside a
    group; it is *not* invariant to a rotation of the after features inside a
    group's subspace (that moves the samples' coordinates). ``F′ = c F`` gives
    :math:`\Delta_g = |1 - c|` for every group. An isotropic change (the
    same in every direction) gives :math:`\Delta_g \propto 1/\sigma_g`, so
    a relative change growing with the group index is what no structure at
    all predicts; ``rms_change``, :math:`\lVert (Z - Z')V_g\rVert_F /
    \sqrt{|g|}`, is flat under it and tells the two apart.

    The σ mass of group :math:`g` is :math:`\sum_{j\in g}\sigma_j / \sum_j
    \sigma_j` before, and the same index range of the after's own singular
    values :math:`\sigma'_j` after (components of a higher after rank count in
    the last group); ``sigma_mass_change`` is after minus before. The principal
    angles :math:`0 \le \theta_1 \le \dots \le \theta_k \le \pi/2` between
    :math:`\operatorname{span} V_k` and :math:`\operatorname{span} V'_k` come
    from :func:`scipy.linalg.subspace_angles` (listed descending); they are
    exactly zero when the two bases are identical.

    Cost: one eigendecomposition per feature matrix (of the d × d Gram, or
    the N × N kernel when N ≤ d) and one N × d × r product.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.analysis import spectral_shift
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 6)) * [9.0, 7.0, 5.0, 1.0, 1.0, 1.0]
    >>> tuned = X + 0.5 * rng.normal(size=X.shape)  # the same noise everywhere
    >>> shift = spectral_shift(X, tuned, n_groups=2)
    >>> d = shift.groups["relative_change"]
    >>> bool(d[0] < d[1])  # the large-σ group moved less, relatively
    True
    """
    from scipy.linalg import subspace_angles

    Fb = check_features(features_before, name="features_before")
    Fa = check_features(features_after, name="features_after")
    if Fb.shape[0] != Fa.shape[0]:
        raise ValueError(
            f"features_before has {Fb.shape[0]} rows and features_after "
            f"{Fa.shape[0]}; give the features of the same samples, rows aligned."
        )
    if Fb.shape[1] != Fa.shape[1]:
        raise ValueError(
            f"features_before has {Fb.shape[1]} columns and features_after "
            f"{Fa.shape[1]}; the shift projects both on the before spectrum's "
            "directions, so they need the same feature space (same width)."
        )
    # One power-of-two scale for both (exact): the shift is scale invariant.
    scale = max(magnitude_scale(Fb), magnitude_scale(Fa))
    if scale != 1.0:
        Fb = np.asarray(Fb, dtype=np.float64) / scale
        Fa = np.asarray(Fa, dtype=np.float64) / scale
    try:
        spec_b, r_b, before = _decompose(Fb, threshold)
    except ValueError as exc:
        raise ValueError(f"features_before: {exc}") from None
    try:
        spec_a, r_a, after = _decompose(Fa, threshold)
    except ValueError as exc:
        raise ValueError(f"features_after: {exc}") from None
    before = replace(before, singular_values=before.singular_values * scale)
    after = replace(after, singular_values=after.singular_values * scale)
    k = min(before.n_principal, r_a) if n_components is None else int(n_components)
    if k > min(r_b, r_a):
        raise ValueError(
            f"n_components={k} exceeds the rank of the features (before "
            f"{r_b}, after {r_a})."
        )
    groups = make_groups(r_b, n_groups, group_size)
    V = _right_vectors(spec_b, r_b)
    diff = (np.asarray(Fb, dtype=np.float64) - Fa) - (spec_b.mean - spec_a.mean)
    P = diff @ V
    moved = np.einsum("ij,ij->j", P, P)  # ‖(Z − Z′) v_j‖²
    energy = spec_b.eigenvalues[:r_b]  # ‖Z v_j‖² = σ_j²

    def relative(cols):
        return float(np.sqrt(moved[cols].sum() / energy[cols].sum()))

    mass_before = _masses_by_group(before.singular_values, groups)
    mass_after = _masses_by_group(after.singular_values, groups)
    import pandas as pd

    first = np.array([g[0] for g in groups])
    last = np.array([g[-1] for g in groups])
    frame = pd.DataFrame(
        {
            "group": np.arange(len(groups)),
            "first_component": first,
            "last_component": last,
            "n_components": last - first + 1,
            "sigma_mass_before": mass_before,
            "sigma_mass_after": mass_after,
            "sigma_mass_change": mass_after - mass_before,
            "relative_change": [relative(g) for g in groups],
            "rms_change": [float(np.sqrt(moved[g].mean())) for g in groups],
            "principal": last < before.n_principal,
        }
    )
    Vb, Va = V[:, :k], _right_vectors(spec_a, k)
    if np.array_equal(Vb, Va):
        angles = np.zeros(k)
    else:
        angles = subspace_angles(Vb, Va)
    return SpectralShift(
        groups=frame,
        principal_angles=angles,
        n_components=k,
        principal_change=relative(slice(0, k)),
        residual_change=relative(slice(k, r_b)) if k < r_b else None,
        before=before,
        after=after,
    )


# --------------------------------------------------------------------------- #
# plots (matplotlib: the optional ``plot`` extra)
# --------------------------------------------------------------------------- #
_PRINCIPAL_COLOR, _RESIDUAL_COLOR = "tab:blue", "tab:gray"


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.5))
    return ax


def plot_spectral_profile(profile, ax=None):
    """Draw a spectrum: σ on a log scale, the split shaded, cumulative mass.

    Parameters
    ----------
    profile : SpectralProfile
        What :func:`spectral_profile` returns.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes of the singular values; the cumulative σ mass is on its twin
        (``ax.right_ax``).

    See Also
    --------
    spectral_profile : Compute the profile.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skdisco.analysis import plot_spectral_profile, spectral_profile
    >>> X = np.random.default_rng(0).normal(size=(100, 6)) * [9, 5, 2, 1, 1, 1]
    >>> ax = plot_spectral_profile(spectral_profile(X))
    >>> ax.get_yscale()
    'log'
    """
    if not isinstance(profile, SpectralProfile):
        raise ValueError(
            "profile must be a SpectralProfile (what spectral_profile returns); "
            f"got {type(profile).__name__}."
        )
    ax = _axes(ax)
    k, idx = profile.n_principal, np.arange(profile.rank)
    ax.axvspan(
        -0.5, k - 0.5, color=_PRINCIPAL_COLOR, alpha=0.12, label=f"principal ({k})"
    )
    if k < profile.rank:
        ax.axvspan(
            k - 0.5,
            profile.rank - 0.5,
            color=_RESIDUAL_COLOR,
            alpha=0.12,
            label=f"residual ({profile.rank - k})",
        )
    ax.plot(idx, profile.singular_values, ".-", color="black", lw=1, ms=3)
    ax.set_yscale("log")
    ax.set_xlim(-0.5, profile.rank - 0.5)
    ax.set_xlabel("component")
    ax.set_ylabel("singular value σ")
    right = ax.twinx()
    right.plot(idx, profile.cumulative_mass, color="tab:orange", lw=1.5)
    right.axhline(profile.threshold, color="tab:orange", ls=":", lw=1)
    right.set_ylim(0, 1.02)
    right.set_ylabel("cumulative σ mass", color="tab:orange")
    ax.right_ax = right
    ax.legend(loc="center right", fontsize="small")
    ax.set_title(f"effective rank {profile.effective_rank:.1f}")
    return ax


def _check_frame(frame, columns, what):
    missing = [c for c in columns if c not in getattr(frame, "columns", ())]
    if missing:
        raise ValueError(
            f"frame must be what {what} returns; it lacks the column(s) "
            f"{', '.join(missing)}."
        )


def _band_bars(ax, frame, column):
    """Bars of ``frame[column]`` per band, principal ones coloured; returns x."""
    x = np.arange(len(frame))
    colors = np.where(frame["principal"], _PRINCIPAL_COLOR, _RESIDUAL_COLOR)
    ax.bar(x, frame[column], color=colors)
    labels = [
        f"{a}" if a == b else f"{a}–{b}"
        for a, b in zip(frame["first_component"], frame["last_component"])
    ]
    ax.set_xticks(x, labels, rotation=45 if len(x) > 6 else 0)
    return x


def plot_component_transferability(frame, ax=None):
    """Draw each band's task score, principal bands coloured, σ mass on a twin.

    Parameters
    ----------
    frame : pandas.DataFrame
        What :func:`component_transferability` returns.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes of the scores (bars); the σ mass of each band is on its twin
        (``ax.right_ax``).

    See Also
    --------
    component_transferability : Compute the frame.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.analysis import (component_transferability,
    ...                               plot_component_transferability)
    >>> X, y = load_digits(return_X_y=True)
    >>> ax = plot_component_transferability(component_transferability(X, y))
    >>> len(ax.patches)
    4
    """
    _check_frame(
        frame,
        [
            "band",
            "first_component",
            "last_component",
            "score",
            "sigma_mass",
            "principal",
            "measure",
        ],
        "component_transferability",
    )
    ax = _axes(ax)
    x = _band_bars(ax, frame, "score")
    ax.set_xlabel("band (components)")
    measure = frame["measure"].iloc[0] if len(frame) else ""
    ax.set_ylabel(
        {"ncc": "S_ncc (true-class posterior)", "lr": "S_lr (−MSE)"}.get(
            measure, "score"
        )
    )
    right = ax.twinx()
    right.plot(x, frame["sigma_mass"], "o-", color="tab:orange", lw=1)
    right.set_ylim(0, max(1e-12, float(frame["sigma_mass"].max())) * 1.1)
    right.set_ylabel("σ mass", color="tab:orange")
    ax.right_ax = right
    ax.set_title("task score per spectral band (blue: principal)")
    return ax


def plot_spectral_shift(shift, ax=None):
    """Draw the relative change of each group and its σ mass, before and after.

    Parameters
    ----------
    shift : SpectralShift
        What :func:`spectral_shift` returns.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes of the relative changes (bars); the σ mass before and after
        is on its twin (``ax.right_ax``).

    See Also
    --------
    spectral_shift : Compute the shift.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skdisco.analysis import plot_spectral_shift, spectral_shift
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 6)) * [9, 5, 2, 1, 1, 1]
    >>> ax = plot_spectral_shift(spectral_shift(X, X + rng.normal(size=X.shape)))
    >>> len(ax.patches)
    4
    """
    if not isinstance(shift, SpectralShift):
        raise ValueError(
            "shift must be a SpectralShift (what spectral_shift returns); got "
            f"{type(shift).__name__}."
        )
    frame = shift.groups
    ax = _axes(ax)
    x = _band_bars(ax, frame, "relative_change")
    ax.set_xlabel("group of the pre-trained spectrum (components)")
    ax.set_ylabel("‖Z_g − Z′_g‖ / ‖Z_g‖")
    right = ax.twinx()
    right.plot(
        x,
        frame["sigma_mass_before"],
        "o-",
        color="tab:orange",
        lw=1,
        label="σ mass before",
    )
    right.plot(
        x, frame["sigma_mass_after"], "s--", color="tab:red", lw=1, label="σ mass after"
    )
    right.set_ylim(
        0,
        1.05
        * max(
            1e-12, float(frame[["sigma_mass_before", "sigma_mass_after"]].max().max())
        ),
    )
    right.set_ylabel("σ mass")
    right.legend(loc="upper right", fontsize="small")
    ax.right_ax = right
    ax.set_title(
        f"spectral shift (largest principal angle {np.degrees(shift.max_angle):.1f}°)"
    )
    return ax
