"""DISCO: transferability from the distribution of spectral components.

Zhang, Shu, Chen, Long, Guo, Yang, "Assessing Pre-trained Models for Transfer
Learning through Distribution of Spectral Components", AAAI 2025 (arXiv 2412.19085).
No official code is public; what the paper fixes and what is our decision is listed
in the docstring of :func:`disco` and in ``docs/methods/disco.md``.
"""

from __future__ import annotations

import copy
import inspect
import math
import warnings
from dataclasses import dataclass
from functools import partial
from numbers import Integral, Real

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    RealNotInt,
    StrOptions,
    validate_params,
)

from ..utils._source import (
    DEVICE_PARAMETER,
    STREAMING_FEATURES,
    FeatureSource,
    fill_device_doc,
    reduce_blocks,
    take_rows,
)
from ..utils._validation import (
    as_numpy,
    check_classification_target,
    check_features,
    check_regression_target,
    infer_task,
    num_rows,
)
from ..utils._warnings import PerfectSeparationWarning, user_stacklevel
from ._linalg import (
    _TRANSFORM_CHUNK_BYTES,
    DiagonalSystem,
    Tridiagonalization,
    _cross,
    _distributed,
    _on_device,
    blas_matmul,
    centered_gram,
    class_sums,
    column_mean,
    iter_float64_chunks,
    kernel_matrix,
    minmax_across_models,
    posterior_chunk_bytes,
    rescaled,
    reverse_columns,
    row_sq_norms,
    row_values,
    shrink_covariance,
)
from ._logme import _EvidenceProblem, logme_from_problem

COVARIANCES = ("isotropic", "shared", "class", "identity")
POSTERIORS = ("cross_validated", "in_sample")
REGRESSION_SCORES = ("in_sample", "loo", "evidence")

_PARAMETERS = {
    "n_groups": [Interval(Integral, 1, None, closed="left")],
    "group_size": [Interval(Integral, 1, None, closed="left"), None],
    "centering": ["boolean"],
    "covariance": [StrOptions(set(COVARIANCES))],
    "shrinkage": [Interval(Real, 0, 1, closed="both"), StrOptions({"oas"})],
    "posterior": [StrOptions(set(POSTERIORS))],
    "n_folds": [Interval(Integral, 2, None, closed="left")],
    "regression_score": [StrOptions(set(REGRESSION_SCORES))],
    "hard_examples": [
        None,
        StrOptions({"auto"}),
        Interval(Integral, 1, None, closed="left"),
        Interval(RealNotInt, 0, 1, closed="right"),
    ],
    "hard_examples_threshold": [Interval(Integral, 1, None, closed="left")],
    "standardize_targets": ["boolean"],
    "task": [StrOptions({"auto", "classification", "regression"})],
    "random_state": ["random_state"],
    "device": DEVICE_PARAMETER,
}
#: Parameters of DISCO's detection components (the others take their defaults).
_DETECTION_PARAMETERS = {
    k: _PARAMETERS[k] for k in ("n_groups", "random_state", "device")
}

#: Features whose largest magnitude lies outside [2^-200, 2^200] are scored in a
#: basis scaled by a power of two: their Gram matrix would overflow (or
#: underflow) in float64. Inside the window nothing is rescaled.
_SAFE_EXPONENT = 200
#: Bounds of the identity covariance's precision in the scaled basis: logits
#: ``ρ·(p·μ - ½‖μ‖²)`` with ρ ≥ 2^600 already give a hard (0/1) softmax
#: wherever two classes' logits differ in double precision, and with
#: ρ ≤ 2^-600 the class priors alone (features at most 2 in magnitude).
_PRECISION_EXPONENT = 600


@dataclass(frozen=True)
class DiscoResult:
    """The DISCO score and its per-component breakdown.

    What :func:`disco_components` returns; its fields are its parameters.

    Parameters
    ----------
    score : float
        ``sum(contributions)``: the DISCO score (higher is better).
    task : {"classification", "regression"}
        What was scored: S_ncc per group (classification) or S_lr (regression).
    singular_values : ndarray of shape (n_components,)
        Non-zero singular values of the (centred) features, descending.
    groups : list of ndarray
        Indices into ``singular_values`` of each spectral component (group).
    ratios : ndarray of shape (n_groups,)
        ``sum(σ in group) / sum(σ)``; they sum to 1.
    group_scores : ndarray of shape (n_groups,)
        Task score of each group: mean true-class posterior in [0, 1]
        (classification); regression: minus the mean squared error, in
        sample or left out, or the log evidence per sample
        (``regression_score``).
    contributions : ndarray of shape (n_groups,)
        ``ratios * group_scores``.
    shrinkage : ndarray
        Shrinkage coefficient used per group (``covariance="shared"``, shape
        (n_groups,)), per group and class (``"class"``, shape (n_groups,
        n_classes), the last fold's for cross-validation), or empty.
    sample_indices : ndarray or None
        Rows kept by hard-example sampling (sorted), or None when all were used.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdisco.transferability import disco_components
    >>> X, y = load_iris(return_X_y=True)
    >>> result = disco_components(X, y)
    >>> result.task, len(result.groups)
    ('classification', 2)
    """

    score: float
    task: str
    singular_values: np.ndarray
    groups: list
    ratios: np.ndarray
    group_scores: np.ndarray
    contributions: np.ndarray
    shrinkage: np.ndarray
    sample_indices: np.ndarray | None


# --------------------------------------------------------------------------- #
# the spectrum, shared by every group
# --------------------------------------------------------------------------- #
class _Spectrum:
    """One eigendecomposition of the Gram matrix of ``Z = F - mean``.

    Primal (N > d): ``ZᵀZ = V Λ Vᵀ`` with ``V = Q W`` kept factored: ``Q`` as the
    Householder reflectors of the tridiagonal reduction, ``W`` the eigenvectors of
    the tridiagonal matrix. Products ``Vᵀ B`` and ``V A`` with m columns then cost
    O(d²·m) and the d × d back-transformation ``Q W`` -- most of a full ``eigh``
    -- is formed only when a caller needs ``V`` itself (:attr:`V`), e.g. for
    coordinates of many rows. Coordinates ``P = Z V`` are formed only for the rows
    that need them. Dual (N ≤ d): ``Z Zᵀ = U Λ Uᵀ`` and ``P = U Σ``, ``U = Q W``
    factored likewise: :meth:`top_coords` back-transforms the leading
    components only, :attr:`P` all of them on first use.
    Only the ``r`` components with ``λ > λ_max · max(N, d) · eps`` are kept.
    """

    def __init__(self, F, centering, scale=1.0, gram=None, mean=None):
        n, d = F.shape
        self.F = F
        self.n_samples = n
        #: ``F`` is the features divided by ``scale`` (see _linalg.rescaled).
        self.scale = scale
        # The first rows almost always differ already; scan all only if not.
        first = F.peek() if isinstance(F, FeatureSource) else F[:256]
        if not (np.ptp(first, axis=0).any() or _varies(F, first[0])):
            # Uncentred constant features still have one singular value (the
            # mean direction); the score would be the class prior, silently.
            raise ValueError(
                "The features are constant (every sample has the same feature "
                "vector); DISCO needs features that vary across samples."
            )
        # ``gram`` and ``mean``: the rows' Gram (about their mean, or the
        # origin) and mean, when known already (_kept_gram).
        if not centering:
            self.mean = np.zeros(d)
        else:
            self.mean = column_mean(F) if mean is None else mean
        self._tri = self._V = self._P = self._top = None
        self._primal = n > d
        if n > d:
            # LAPACK reads the lower triangle in place: no symmetrised copy.
            if gram is None:
                gram = centered_gram(F, self.mean, lower_only=True)
            self._tri = Tridiagonalization(gram, overwrite_a=True)
            del gram
            lam, vec = self._tri.eigh()
            lam, vec = lam[::-1], reverse_columns(vec)
        else:
            # Eigenvectors are back-transformed when asked for (P,
            # top_coords): with an isotropic class model only the leading
            # groups' are (see _dual_complement).
            Z = np.asarray(F, dtype=np.float64) - self.mean
            self._tri = Tridiagonalization(
                kernel_matrix(Z, lower_only=True), overwrite_a=True
            )
            del Z
            lam, vec = self._tri.eigh()
            lam, vec = lam[::-1], reverse_columns(vec)
        lam = np.clip(lam, 0.0, None)
        tol = lam[0] * max(n, d) * np.finfo(np.float64).eps
        r = int(np.count_nonzero(lam > tol)) if lam[0] > 0 else 0
        if r == 0:
            raise ValueError(
                "The features are constant (every singular value of the "
                f"{'centred ' if centering else ''}feature matrix is zero); DISCO "
                "needs features that vary across samples."
            )
        self.sigma = np.sqrt(lam[:r])
        self.rank = r
        # Every direction is a kept component: Σ_g V_g V_gᵀ = I (primal, in
        # feature space) or Σ_g P_g P_gᵀ = Z Zᵀ (dual).
        self.full_rank = r == min(n, d)
        self._W = vec[:, :r]  # Fortran-ordered: a view

    @property
    def primal(self):
        return self._primal

    @property
    def P(self):
        """Coordinates ``P = U Σ`` of every row (dual form; None in the primal).

        Back-transformed on first use: the callers that need only the leading
        components use :meth:`top_coords` instead.
        """
        if self._primal:
            return None
        if self._P is None:
            self._P = np.ascontiguousarray(self.top_coords(self.rank))
            self._top = None
        return self._P

    def top_coords(self, k):
        """Coordinates on the ``k`` leading components (dual form, N × k).

        ``Q`` is applied to the tridiagonal's eigenvectors of those ``k``
        components only (O(N²·k) instead of O(N²·r)); the widest computed is
        kept, narrower requests are views of it.
        """
        if self._P is not None:
            return self._P[:, :k]
        if self._top is None or self._top.shape[1] < k:
            U = self._tri.apply_q(self._W[:, :k])
            U *= self.sigma[:k]
            self._top = U
        return self._top[:, :k]

    def unformed(self):
        """This spectrum without the columns of ``V`` formed so far (primal form).

        A shallow copy: the decomposition is shared, and the products that
        follow are computed as on a fresh spectrum (``Vᵀ B`` with ``V``
        factored rather than formed, which round differently in the last
        bit). In the dual form the coordinates are formed by the same calls
        either way and are kept.
        """
        fresh = copy.copy(self)
        if self._primal:
            fresh._V = None
        return fresh

    @property
    def V(self):
        """Right singular vectors ``V`` (d × r), back-transformed once on first use."""
        if self._V is None or self._V.shape[1] < self.rank:
            self._V = self._tri.apply_q(self._W)  # Fortran-ordered
        return self._V

    def lead_v(self, k):
        """``V[:, :k]``, back-transforming only the ``k`` leading columns (primal).

        Once formed, :meth:`vt` and :meth:`v_blocks` use it for products with
        those components.
        """
        if self._V is None or self._V.shape[1] < k:
            self._V = self._tri.apply_q(self._W[:, :k])
        return self._V[:, :k]

    def vt(self, B, n_components=None):
        """``V[:, :k]ᵀ B`` (k × m, Fortran-ordered) for a (d × m) matrix ``B``.

        Primal form; ``k = n_components``, all ``r`` components by default.
        With ``V`` factored, ``Qᵀ`` is applied to at most d columns of ``B`` at a
        time (one d × d working array, however wide ``B`` is).
        """
        k = self.rank if n_components is None else n_components
        out = np.empty((k, B.shape[1]), order="F")
        if self._V is not None and k <= self._V.shape[1]:
            return blas_matmul(self._V[:, :k].T, B, out=out)
        W = self._W[:, :k]
        step = self._tri.n
        for a in range(0, B.shape[1], step):
            QtB = self._tri.apply_qt(B[:, a : a + step])
            out[:, a : a + step] = blas_matmul(W.T, QtB)
        return out

    def v_blocks(self, blocks, out, columns):
        """Write the products ``V_g B`` (d × m each) into ``out`` (primal form).

        ``blocks`` are pairs ``(g, B)``: ``g`` a group of consecutive components
        (``V_g`` is a view), ``B`` with ``len(g)`` rows. Product ``i`` goes to
        the columns of ``out`` (Fortran-ordered, d × M) from ``columns[i]`` on;
        its other columns are left as they are. When ``V`` is kept factored,
        ``V_g B = Q (W_g B)``: the products ``W_g B`` are formed side by side,
        below their first row, in pieces of at most d columns, and ``Q`` is
        applied to each piece in one LAPACK call: one call on the K·C columns of K folds
        runs at about 1.3× (one thread) to 1.7× (two) the speed of K calls
        on C columns each at d = 2048, C = 100.
        """
        widest = max((g[-1] + 1 for g, _ in blocks), default=0)
        if self._V is not None and widest <= self._V.shape[1]:
            for (g, B), a in zip(blocks, columns):
                Vg = self._V[:, g[0] : g[-1] + 1]
                out[:, a : a + B.shape[1]] = blas_matmul(Vg, B)
            return
        d = out.shape[0]
        # W below its first row, the columns used, copied once into a
        # Fortran-ordered array: dgemm reads its column slices in place.
        W1 = np.asfortranarray(self._W[1:, :widest])
        order = sorted(range(len(blocks)), key=lambda i: columns[i])
        pieces, width = [], d
        for i in order:
            m = blocks[i][1].shape[1]
            if width + m > d and width:
                pieces.append([])
                width = 0
            pieces[-1].append(i)
            width += m
        for piece in pieces:
            sizes = [blocks[i][1].shape[1] for i in piece]
            at = np.cumsum([0] + sizes)
            sub = np.empty((d - 1, at[-1]), order="F")
            for j, i in enumerate(piece):
                g, B = blocks[i]
                a, m = columns[i], sizes[j]
                blas_matmul(W1[:, g[0] : g[-1] + 1], B, out=sub[:, at[j] : at[j + 1]])
                out[0, a : a + m] = self._W[0, g[0] : g[-1] + 1] @ B
            sub = self._tri.apply_reflectors(sub)
            for j, i in enumerate(piece):
                a = columns[i]
                out[1:, a : a + sizes[j]] = sub[:, at[j] : at[j + 1]]

    def coords(self, rows):
        """Coordinates ``P[rows]`` (len(rows) × r), for in-memory features."""
        if self.P is not None:
            return self.P[rows]
        return blas_matmul(
            np.asarray(self.F[rows], dtype=np.float64) - self.mean, self.V
        )

    def cross(self, B):
        """``Pᵀ B`` (r × K) for a dense (N × K) matrix ``B``."""
        if self.P is not None:
            return blas_matmul(self.P.T, B)
        if _on_device(self.F):
            from ..utils._torch import device_cross

            ZtB = device_cross(self.F, B, chunk_bytes=_TRANSFORM_CHUNK_BYTES)
        elif _distributed(self.F):
            ZtB = reduce_blocks(self.F, _cross_block, B)
        else:
            ZtB = np.zeros((self.F.shape[1], B.shape[1]))
            for start, stop, block in iter_float64_chunks(self.F):
                ZtB += blas_matmul(block.T, B[start:stop])
                del block  # before the next block is read
        ZtB -= np.outer(self.mean, B.sum(axis=0))
        return self.vt(ZtB)

    def binned_sums(self, index, n_bins):
        """Counts and row sums per bin ``b``: ``Σ_{i: index_i = b} z_i``, one pass.

        Rows of ``Z`` (primal, n_bins × d) or coordinates ``P`` (dual,
        n_bins × r).
        """
        if self.P is not None:
            return class_sums(self.P, index, n_bins)
        return self.row_sums(index, n_bins)

    def row_sums(self, index, n_bins):
        """Counts and sums of the rows of ``Z`` per bin (n_bins × d), either form."""
        counts, sums = class_sums(self.F, index, n_bins)
        sums -= np.outer(counts, self.mean)
        return counts, sums


def _varies(F, row):
    """Whether any row of ``F`` differs from ``row`` (one pass, a reduction)."""
    if not isinstance(F, FeatureSource):
        return bool(np.ptp(F, axis=0).any())
    return bool(reduce_blocks(F, partial(_differs_block, row=row), combine=max))


def _differs_block(block, *, row):
    return bool((block != row).any())


def _cross_block(block, B_block):
    return _cross(block.T, B_block)


def make_groups(n_components, n_groups=4, group_size=None):
    """Split ``range(n_components)`` into consecutive groups.

    ``group_size`` set: groups of that size (the last may be smaller). Otherwise
    ``n_groups`` groups whose sizes differ by at most one (the first ones larger,
    :func:`numpy.array_split`). More groups than components is a documented
    fall-back: one component per group, with a warning.

    Examples
    --------
    >>> from skdisco.transferability._disco import make_groups
    >>> [g.tolist() for g in make_groups(5, n_groups=2)]
    [[0, 1, 2], [3, 4]]
    """
    idx = np.arange(n_components)
    if group_size is not None:
        return [idx[i : i + group_size] for i in range(0, n_components, group_size)]
    if n_groups > n_components:
        warnings.warn(
            f"n_groups={n_groups} exceeds the {n_components} non-zero singular "
            f"values of the features; using {n_components} groups of one "
            "component each.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        n_groups = n_components
    return [g for g in np.array_split(idx, n_groups)]


#: Leading components whose squared coordinates break ties of the fold key.
_TIE_COMPONENTS = 3


def _fold_keys(spec, F, y):
    """The stratified folds' key of every row: ``‖z‖²`` (``z = x - mean``), and
    where two rows of a class tie on it, their squared coordinates on the
    leading components.

    Integer-valued features (pixel counts, one-hot codes) often give rows of
    one class the same norm; ranked by the norm alone, such rows took their
    folds in the order given, and the score depended on the order of the
    samples (2.6e-4 on scikit-learn's digits). The squared coordinates
    ``(z·v_k)²`` are invariant to sample order, to rotations and (as ranks) to
    a global rescaling, like the norm; they are computed only for the tied
    rows (all rows, in one pass, for an iterable of chunks).
    """
    key = row_sq_norms(F, spec.mean)
    by_class = np.lexsort((key, y))
    same = (key[by_class][1:] == key[by_class][:-1]) & (
        y[by_class][1:] == y[by_class][:-1]
    )
    if not same.any():
        return key
    tied = np.zeros(key.shape[0], dtype=bool)
    tied[by_class[1:][same]] = tied[by_class[:-1][same]] = True
    rows = np.flatnonzero(tied)
    k = min(_TIE_COMPONENTS, spec.rank)
    if not spec.primal:
        coords = spec.top_coords(k)[rows]
    else:
        formed = spec._V is not None and spec._V.shape[1] >= k
        lead = spec._V[:, :k] if formed else spec._tri.apply_q(spec._W[:, :k])
        if not isinstance(F, FeatureSource):
            block = np.asarray(F[rows], dtype=np.float64)
        elif F.random_access:
            block = F.rows(rows)
        else:
            block = None
        if block is not None:
            coords = blas_matmul(block - spec.mean, lead)
        else:
            coords = row_values(F, partial(_coords_block, mean=spec.mean, basis=lead))[
                rows
            ]
    keys = np.zeros((key.shape[0], 1 + k))
    keys[:, 0] = key
    keys[rows, 1:] = coords**2
    return keys


def _coords_block(block, *, mean, basis):
    return blas_matmul(block - mean, basis)


def stratified_folds(key, y, n_classes, n_folds, random_state=None):
    """Fold of every sample: within each class, rank by ``key``, deal round-robin.

    The assignment depends on the samples' ``key`` (here the norm of the centred
    feature row) and labels only, never on their order in the array, so the
    cross-validated score is invariant to sample order and to rotations of the
    feature space. ``key`` of shape (N, m) ranks lexicographically, its first
    column first (ties of the norm broken by further rotation-invariant keys:
    :func:`_fold_keys`); rows equal in every key keep their order, which
    matters only if they differ elsewhere. ``random_state`` permutes the fold
    labels within each block of ``n_folds`` consecutive ranks (the same
    permutation for every class). A class with ``n_c ≥ 2`` samples keeps at
    least one of them in the training part of every fold.
    """
    counts = np.bincount(y, minlength=n_classes)
    n_blocks = -(-int(counts.max()) // n_folds)
    if random_state is None:
        perms = np.tile(np.arange(n_folds), (n_blocks, 1))
    else:
        # One permutation per block of ranks, shared by all classes, so the
        # assignment does not depend on how the classes are named or ordered.
        rng = check_random_state(random_state)
        perms = np.array([rng.permutation(n_folds) for _ in range(n_blocks)])
    fold = np.empty(y.shape[0], dtype=np.int64)
    for c in range(n_classes):
        members = np.flatnonzero(y == c)
        if key.ndim == 1:
            ranked = members[np.argsort(key[members], kind="stable")]
        else:  # lexsort: the last key is the primary one
            ranked = members[np.lexsort(key[members].T[::-1])]
        labels = perms.ravel()[: ranked.shape[0]]
        fold[ranked] = labels
    return fold


# --------------------------------------------------------------------------- #
# per-group task scores
# --------------------------------------------------------------------------- #
def _cholesky(S, what):
    try:
        return cho_factor(S, lower=True, check_finite=False)
    except LinAlgError as exc:
        raise ValueError(
            f"The {what} covariance is singular: a group has more dimensions than "
            "the samples can estimate. Use shrinkage > 0, covariance='isotropic' "
            "or 'shared', fewer components per group, or more samples per class."
        ) from exc


def _true_class_prob_sum(L, y_rows):
    """Sum over rows of the softmax probability of the true class (overwrites L)."""
    L -= L.max(axis=1, keepdims=True)
    np.exp(L, out=L)
    return float((L[np.arange(L.shape[0]), y_rows] / L.sum(axis=1)).sum())


def _group_precisions(spec, groups, counts, sums, energy, covariance, shrinkage):
    """Per group, the precision of its class model, and the shrinkage used.

    A float ``ρ`` for an isotropic covariance ``I/ρ`` (``"identity"``: ρ = 1 in
    the features' units, ``scale²`` in the scaled basis; ``"isotropic"``: one
    over the pooled within-class variance per dimension of the group), or the
    Cholesky factor of the (shrunk) pooled within-class covariance
    (``"shared"``). ``sums`` are the class sums in the eigenbasis (all
    columns, or those before the last group when it is the complement, whose
    statistics come from ``energy = Σ_c ‖s_c‖² / n_c``, the class sums ``s_c``
    of the rows of ``Z`` over every direction).
    """
    n = spec.n_samples
    if covariance == "identity":
        twice = 2 * (math.frexp(spec.scale)[1] - 1)  # scale = 2^k: ρ = 2^(2k)
        rho = math.ldexp(
            1.0, min(max(twice, -_PRECISION_EXPONENT), _PRECISION_EXPONENT)
        )
        return [rho] * len(groups), np.zeros(0)
    factors, coefs = [], []
    means = sums / counts[:, None]
    for g in groups:
        total = float(np.sum(spec.sigma[g] ** 2))
        if covariance == "isotropic":
            if g[-1] < sums.shape[1]:
                between = float(np.einsum("cj,cj->", means[:, g], sums[:, g]))
            else:  # the complement: ‖V_Gᵀ s‖² = ‖s‖² - ‖V_{<G}ᵀ s‖²
                between = energy - float(np.einsum("cj,cj->", means, sums))
            # Pooled within-class scatter by subtraction; floored relative to
            # the group's total scatter, so the floor scales with the features.
            floor = total * max(n, spec.F.shape[1]) * np.finfo(np.float64).eps
            within = max(total - between, floor)
            factors.append(n * len(g) / within)
            continue
        M = means[:, g]
        within = np.diag(spec.sigma[g] ** 2) - (M.T * counts) @ M
        within = (within + within.T) / 2.0
        S, a = shrink_covariance(within / n, shrinkage, n)
        coefs.append(a)
        factors.append(_cholesky(S, "shared within-class"))
    return factors, np.asarray(coefs)


def _classification_group_scores(
    spec, y, n_classes, groups, *, covariance, shrinkage, folds
):
    """Mean true-class posterior of every group (S_ncc^g), vectorised."""
    n = spec.n_samples
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    if covariance == "class":
        if isinstance(spec.F, FeatureSource):
            raise ValueError(
                "covariance='class' cannot read out-of-core features: its "
                "per-class covariances are refitted on every fold from the "
                "coordinates of all samples, held at once (N × r floats). Use "
                "covariance='isotropic' or 'shared' (they stream), keep "
                "hard-example sampling on (hard_examples='auto' or a count: the "
                "kept rows are scored in memory), or score a subset drawn with "
                "skdisco.utils.subsample."
            )
        totals = np.zeros(len(groups))
        P = spec.coords(slice(None))
        coefs = None
        for rows in folds:
            train = _complement(rows, n)
            coefs = _class_cov_fold(
                P, y, n_classes, groups, train, rows, shrinkage, totals
            )
        return totals / n, coefs
    G, C, K = len(groups), n_classes, len(folds)
    in_sample = K == 1 and folds[0].shape[0] == n
    # Class sums of every fold in one pass over the rows (bin = fold·C + class),
    # then in the eigenbasis: totals and training sums follow by subtraction.
    fold_of = np.zeros(n, dtype=np.intp)
    for k, rows in enumerate(folds):
        fold_of[rows] = k
    r = spec.rank
    # Logits as Z @ W with W = V_g B_g (d × C per group) when that is cheaper than
    # coordinates Z V of every row; groups are consecutive, so V_g are views.
    linear = spec.primal and G * C < r
    # Isotropic covariance with every direction kept: the last group's projector
    # is I minus the others', so its W needs no eigenvectors at all.
    isotropic = covariance in ("identity", "isotropic")
    complement = linear and isotropic and spec.full_rank and G > 1
    # Dual: the last group's inner products over every direction minus the
    # others' (_dual_complement).
    dual_complement = (
        not spec.primal
        and isotropic
        and spec.full_rank
        and G > 1
        and _dual_complement_pays(n, r - int(groups[-1][0]), spec.F.shape[1], C)
    )
    if dual_complement:
        n_top = int(groups[-1][0])
        top = spec.top_coords(n_top)
        fold_counts, binned = class_sums(top, fold_of * C + y, K * C)
    else:
        fold_counts, binned = spec.binned_sums(fold_of * C + y, K * C)
    fold_counts = fold_counts.reshape(K, C)  # binned: (K·C, d) primal, (K·C, r) dual
    if spec.primal:
        # With the complement only the other groups' coordinates are needed.
        n_eig = groups[-1][0] if complement else r
        # V stays factored while applying Q to the columns needed costs less than
        # forming the n_eig columns of V used: Vᵀ on the K·C fold sums, V on the
        # W blocks.
        n_cols = K * C + ((G - complement) * K * C if linear else 0)
        if not linear:
            spec.V  # noqa: B018 - back-transform once, use dense products
        elif n_cols >= n_eig:
            spec.lead_v(n_eig)
        E = spec.vt(binned.T, n_eig).T.reshape(K, C, n_eig)
        Sz = binned.reshape(K, C, -1)
    elif dual_complement:
        E = binned.reshape(K, C, n_top)
        energy, full_sq, R = _dual_complement(
            spec, y, C, folds, fold_of, counts, fold_counts, in_sample
        )
    else:
        E = binned.reshape(K, C, r)
    eig_groups = groups[:-1] if complement or dual_complement else groups
    sums = E.sum(axis=0)  # (C, r): all samples
    sums_z = Sz.sum(axis=0) if complement else None
    if complement:
        energy = float(np.einsum("cj,cj->", sums_z, sums_z / counts[:, None]))
    elif not dual_complement:
        energy = None
    factors, coefs = _group_precisions(
        spec, groups, counts, sums, energy, covariance, shrinkage
    )
    # Per fold: class means and priors from the other folds, then the logits'
    # constants and (linear path) their weights B_g; all folds' V_g B_g products
    # are then written into one array, Q applied to them in place. The fold
    # means reuse one C × r buffer (and the complement's one C × d), and the
    # weights' array is allocated only once the eigenbasis sums E are freed.
    fold_cs, fold_Bs = [], []
    means = np.empty(sums.shape)
    Mz = np.empty(sums_z.shape) if complement else None
    for k in range(K):
        if in_sample:
            tr_counts = counts
            np.copyto(means, sums)
        else:
            tr_counts = counts - fold_counts[k]
            np.subtract(sums, E[k], out=means)
        means /= tr_counts[:, None]
        log_prior = np.log(tr_counts / tr_counts.sum())
        Bs, cs = [], []
        for g, fac in zip(eig_groups, factors):
            M = means[:, g[0] : g[-1] + 1]
            if isotropic:
                B = fac * M.T
            else:
                B = cho_solve(fac, M.T, check_finite=False)
            Bs.append(B)
            cs.append(-0.5 * np.einsum("cj,jc->c", M, B) + log_prior)
        if complement:
            # Last group: ‖V_Gᵀ m‖² = ‖m‖² - Σ_g ‖V_gᵀ m‖² (and W likewise below).
            _fold_means(Mz, sums_z, None if in_sample else Sz[k], tr_counts)
            sq = np.einsum("cj,cj->c", Mz, Mz) - np.einsum("cj,cj->c", means, means)
            cs.append(-0.5 * factors[-1] * sq + log_prior)
        elif dual_complement:  # the same, ‖m‖² from _dual_complement
            sq = full_sq[k] - np.einsum("cj,cj->c", means, means)
            cs.append(-0.5 * factors[-1] * sq + log_prior)
        fold_cs.append(np.concatenate(cs))
        fold_Bs.append(Bs)
    # The eigenbasis class sums (K·C × r floats) are folded into the constants
    # and the coefficients: free them before the weights are allocated.
    E = sums = means = M = Mz = None
    if linear:
        # Every fold's weights side by side in one array, [W_k1 .. W_kG] per
        # fold k (the folds' weights are views of it). The complement's
        # ρ_G m_z are written first, straight from the feature-space sums.
        width = G * C
        W_all = np.empty((spec.F.shape[1], K * width), order="F")
        if complement:
            for k in range(K):
                tr_counts = counts if in_sample else counts - fold_counts[k]
                last = W_all[:, k * width + (G - 1) * C : (k + 1) * width].T
                _fold_means(last, sums_z, None if in_sample else Sz[k], tr_counts)
                last *= factors[-1]
    # The feature-space class sums are no longer needed: free them before the
    # posterior pass.
    binned = Sz = sums_z = None
    if linear:
        pairs = [(g, B) for Bs in fold_Bs for g, B in zip(eig_groups, Bs)]
        starts = [k * width + j * C for k in range(K) for j in range(len(eig_groups))]
        spec.v_blocks(pairs, out=W_all, columns=starts)
        del pairs
        weights = [W_all[:, k * width : (k + 1) * width] for k in range(K)]
        if complement:  # W_G = ρ_G (I - Σ_g V_g V_gᵀ) m, W_g = ρ_g V_g V_gᵀ m
            for W in weights:
                last = W[:, (G - 1) * C :]
                for j in range(G - 1):
                    last -= (factors[-1] / factors[j]) * W[:, j * C : (j + 1) * C]
        offsets = [spec.mean @ W for W in weights]
        score = partial(
            _linear_posterior_block,
            n_classes=C,
            weights=weights,
            offsets=offsets,
            consts=fold_cs,
        )
    elif dual_complement:
        score = partial(
            _dual_posterior_block,
            n_classes=C,
            n_top=n_top,
            groups=[(int(g[0]), int(g[-1]) + 1) for g in eig_groups],
            Bs=fold_Bs,
            consts=fold_cs,
            factors=factors,
        )
    else:
        if spec.primal:
            basis, center = spec.V, spec.mean
        else:  # dual: the coordinates of every row are held already
            basis, center = None, None
        score = partial(
            _coords_posterior_block,
            n_classes=C,
            basis=basis,
            center=center,
            groups=[(int(g[0]), int(g[-1]) + 1) for g in groups],
            Bs=fold_Bs,
            consts=fold_cs,
        )
    # The posterior pass: every row once, in order, each block's rows scored
    # with their own fold's weights (a reduction: Dask tasks on the workers).
    fold_of = np.zeros(n, dtype=np.intp)
    for k, rows in enumerate(folds):
        fold_of[rows] = k
    if dual_complement:  # each row: leading coordinates, z·m over every direction
        rows_of = np.hstack([top, R])
        top = R = None
    else:
        rows_of = spec.P if not spec.primal else spec.F
    # Blocks whose logits (C per group) are no larger than their rows.
    chunk = posterior_chunk_bytes(rows_of.shape[1], C)
    if _on_device(rows_of):  # the rows stay on their device
        from ..utils._torch import device_disco_posterior_sums

        # The same weights (or basis and groups) as the host pass's blocks.
        totals = device_disco_posterior_sums(
            rows_of, y, fold_of, chunk_bytes=chunk, **score.keywords
        )
    elif isinstance(rows_of, np.ndarray) and K > 1:
        totals = _fold_major_sums(rows_of, score, y, fold_of, folds, chunk)
    else:
        totals = reduce_blocks(rows_of, score, y, fold_of, chunk_bytes=chunk)
    return totals / n, coefs


def _fold_major_sums(X, score, y, fold_of, folds, chunk_bytes):
    """The posterior pass over in-memory rows, one fold at a time.

    Each block gathers rows of one fold (a copy, as selecting a fold's rows
    in a block of consecutive rows is), so its logits are one matrix product
    with that fold's weights, not one product per fold in every block. At
    N = 5 000, d = 2048, C = 100 (five folds) the pass took 0.070 against
    0.077 s on two threads (best of four; typically 0.074 against 0.097),
    the same on one; at d = 512, N = 10 000, 0.081 against 0.095 s on two.
    Blocks of at most ``chunk_bytes`` of float64 rows.
    """
    step = max(1, int(chunk_bytes // (8 * max(X.shape[1], 1))))
    total = None
    for rows in folds:
        for a in range(0, rows.size, step):
            idx = rows[a : a + step]
            block = np.asarray(X[idx], dtype=np.float64)
            part = score(block, y[idx], fold_of[idx])
            del block  # before the next block is gathered
            total = part if total is None else total + part
    return total


def _fold_means(out, sums, fold_sums, counts):
    """``(sums - fold_sums) / counts`` per class row, written into ``out``
    (``fold_sums`` None: ``sums / counts``, the in-sample means)."""
    if fold_sums is None:
        np.copyto(out, sums)
    else:
        np.subtract(sums, fold_sums, out=out)
    out /= counts[:, None]
    return out


def _linear_posterior_block(
    block, y_block, fold_block, *, n_classes, weights, offsets, consts
):
    """Per-group sums of the true-class posterior over one block (linear logits).

    The logits of group j are the columns ``j·C : (j+1)·C`` of
    ``Z W_k + c_k = F W_k - mean·W_k + c_k`` for the rows of fold k.
    """
    totals = 0.0
    for k in np.unique(fold_block):
        sel = fold_block == k
        part = block if sel.all() else block[sel]
        L_all = blas_matmul(part, weights[k])
        L_all += consts[k] - offsets[k]  # one pass over the logits, not two
        totals = totals + _group_sums(L_all, y_block[sel], n_classes)
    return totals


def _coords_posterior_block(
    block, y_block, fold_block, *, n_classes, basis, center, groups, Bs, consts
):
    """Per-group sums of the true-class posterior over one block (coordinates).

    ``basis`` None: the block holds coordinates already (the dual form).
    """
    C = n_classes
    P = block if basis is None else blas_matmul(block - center, basis)
    totals = np.zeros(len(groups))
    for k in np.unique(fold_block):
        sel = fold_block == k
        Pk, y_rows = (P, y_block) if sel.all() else (P[sel], y_block[sel])
        for j, ((a, b), B) in enumerate(zip(groups, Bs[k])):
            L = blas_matmul(Pk[:, a:b], B)
            L += consts[k][j * C : (j + 1) * C]
            totals[j] += _true_class_prob_sum(L, y_rows)
    return totals


def _dual_complement_pays(n, width, d, n_classes):
    """Whether :func:`_dual_complement` costs less than the last group's
    eigenvectors: it saves ``Q`` on ``width`` columns (~2·N² each) for a
    product of the rows with every class mean (~2·N·d per class) and a pass
    of class sums (N·d)."""
    return n * width > d * (n_classes + 1)


def _dual_complement(
    spec, y, n_classes, folds, fold_of, counts, fold_counts, in_sample
):
    """The last group's statistics over every direction (dual form).

    With every direction of the rows kept (``Σ_g P_g P_gᵀ = Z Zᵀ``), a
    quantity of the last group is the same over every direction minus the
    other groups': for the class sums ``s_c`` of the rows of ``Z`` and, per
    fold ``k``, the training means ``m_c`` (the other folds' rows),

    * ``energy = Σ_c ‖s_c‖² / n_c``;
    * ``sq[k, c] = ‖m_c‖²``;
    * ``R[i, c] = z_i · m_c`` with the training means of row i's fold
      (N × d × C multiply-adds: no kernel is kept, no eigenvector of the
      last group formed).

    Returns ``(energy, sq, R)``.
    """
    C, K = n_classes, len(folds)
    Sz = spec.row_sums(fold_of * C + y, K * C)[1].reshape(K, C, -1)
    sums = Sz.sum(axis=0)
    energy = float(np.einsum("cj,cj->", sums, sums / counts[:, None]))
    sq = np.empty((K, C))
    R = np.empty((spec.n_samples, C))
    means = np.empty(sums.shape)
    for k, rows in enumerate(folds):
        tr = counts if in_sample else counts - fold_counts[k]
        _fold_means(means, sums, None if in_sample else Sz[k], tr)
        sq[k] = np.einsum("cj,cj->c", means, means)
        Z = np.asarray(spec.F[rows], dtype=np.float64)
        Z -= spec.mean
        R[rows] = blas_matmul(Z, means.T)
        del Z
    return energy, sq, R


def _dual_posterior_block(
    block, y_block, fold_block, *, n_classes, n_top, groups, Bs, consts, factors
):
    """Per-group sums of the true-class posterior over one block (dual, complement).

    ``block`` holds each row's leading coordinates (``n_top`` columns) and its
    inner products with its fold's training class means over every direction
    (``C`` columns, :func:`_dual_complement`). The leading groups' logits
    are ``P_g B_g + c``; the last group's, with ``B_g = ρ_g M_gᵀ``, are
    ``ρ_G (z·m - Σ_g p_g·m_g) + c = ρ_G R - Σ_g (ρ_G/ρ_g) P_g B_g + c``.
    """
    C = n_classes
    G = len(groups) + 1
    totals = np.zeros(G)
    for k in np.unique(fold_block):
        sel = fold_block == k
        part, y_rows = (block, y_block) if sel.all() else (block[sel], y_block[sel])
        last = factors[-1] * part[:, n_top:]
        for j, ((a, b), B) in enumerate(zip(groups, Bs[k])):
            L = blas_matmul(part[:, a:b], B)
            last -= (factors[-1] / factors[j]) * L
            L += consts[k][j * C : (j + 1) * C]
            totals[j] += _true_class_prob_sum(L, y_rows)
        last += consts[k][(G - 1) * C :]
        totals[G - 1] += _true_class_prob_sum(last, y_rows)
    return totals


def _group_sums(L_all, y_rows, C):
    """``[Σ_i softmax(L_g)_{i, y_i}]_g`` for the logits of G groups side by side."""
    G = L_all.shape[1] // C
    return np.array(
        [_true_class_prob_sum(L_all[:, j * C : (j + 1) * C], y_rows) for j in range(G)]
    )


def _complement(rows, n):
    mask = np.ones(n, dtype=bool)
    mask[rows] = False
    return np.flatnonzero(mask)


def _class_cov_fold(P, y, n_classes, groups, train, rows, shrinkage, totals):
    """Class-specific Gaussian posteriors of the ``rows`` from the ``train`` rows."""
    if train.shape[0] == 0:
        train = rows
    y_tr, y_rows = y[train], y[rows]
    tr_counts = np.bincount(y_tr, minlength=n_classes)
    if tr_counts.min() < 2:
        raise ValueError(
            "covariance='class' needs at least 2 training samples of every class "
            "in every fold (3 per class with posterior='cross_validated', 2 "
            "in-sample); use covariance='shared' or merge the small classes."
        )
    log_prior = np.log(tr_counts / tr_counts.sum())
    coefs = np.zeros((len(groups), n_classes))
    for k, g in enumerate(groups):
        Pg_rows = P[np.ix_(rows, g)]
        L = np.empty((rows.shape[0], n_classes))
        for c in range(n_classes):
            Xc = P[np.ix_(train[y_tr == c], g)]
            mu = Xc.mean(axis=0)
            R = Xc - mu
            S, coefs[k, c] = shrink_covariance(
                R.T @ R / R.shape[0], shrinkage, R.shape[0]
            )
            fac = _cholesky(S, f"class-{c}")
            D = Pg_rows - mu
            sol = cho_solve(fac, D.T, check_finite=False)
            logdet = 2.0 * np.log(np.diag(fac[0])).sum()
            L[:, c] = -0.5 * np.einsum("ij,ji->i", D, sol) - 0.5 * logdet
        L += log_prior
        totals[k] += _true_class_prob_sum(L, y_rows)
    return coefs


#: Rows whose leverage in a group is within this of 1 are interpolated by the
#: group: their leave-one-out residual is the ridgeless limit (see below).
_LEVERAGE_TOL = np.sqrt(np.finfo(np.float64).eps)


def _regression_group_scores(spec, Y, groups, reading="in_sample"):
    """S_lr of every group: ``-MSE`` in sample or left out, or the log evidence.

    ``reading="in_sample"``: minus the mean squared residual of the least-squares
    fit of ``Y`` on the group (the paper's S_lr). ``"loo"``: the same with each
    row's leave-one-out residual ``e_i / (1 - h_i)``. ``"evidence"``: LogME's
    maximum log evidence per sample of the Bayesian linear regression on the
    group's coordinates (mean over target columns).
    """
    n, K = Y.shape
    C = spec.cross(Y)  # Pᵀ Y, (r, K)
    if reading == "evidence":
        target_sq = np.einsum("ij,ij->j", Y, Y)
        out = []
        for g in groups:
            # Coordinates of a group are orthogonal: Pᵀ_g P_g = Σ_g², diagonal.
            system = DiagonalSystem(spec.sigma[g] ** 2, C[g])
            problem = _EvidenceProblem(system, target_sq, n, len(g))
            try:
                out.append(logme_from_problem(problem, compute_coef=False).score)
            except ValueError as exc:
                raise ValueError(
                    f"regression_score='evidence': the {len(g)} components of "
                    f"spectral group {len(out)} fit the target exactly, so its "
                    "evidence has no maximum (with centred features and no more "
                    "samples than features, every centred target lies in their "
                    "span). Use more groups, regression_score='loo', or more "
                    "samples than features."
                ) from exc
        return np.array(out)
    if reading == "loo":
        return -_loo_sq_residuals(spec, Y, C, groups) / (n * K)
    explained = (C / spec.sigma[:, None]) ** 2  # ‖U_jᵀ Y‖² per component
    total = float(np.einsum("ij,ij->", Y, Y))
    out = np.array([-max(total - explained[g].sum(), 0.0) / (n * K) for g in groups])
    return out


def _loo_sq_residuals(spec, Y, C, groups):
    """Sum of squared leave-one-out residuals of least squares on each group.

    With ``U_g`` the group's left singular vectors, the fit is ``U_g U_gᵀ Y``,
    the leverage of row i ``h_i = ‖U_g[i]‖²`` and its leave-one-out residual
    ``e_i / (1 - h_i)``. A row the group interpolates (``h_i = 1``, then
    ``e_i = 0``) gets the limit of ridge's leave-one-out residual as the ridge
    vanishes, ``Σ_j u_ij c_j / σ_j² / Σ_j u_ij² / σ_j²`` (``c_j = u_jᵀ y``):
    the residual of the minimum-norm least-squares fit without the row. One
    pass over the rows, a bounded chunk at a time.
    """
    sigma = spec.sigma
    Cu = C / sigma[:, None]  # U_jᵀ Y
    totals = np.zeros(len(groups))
    step = max(1, _TRANSFORM_CHUNK_BYTES // (8 * max(spec.F.shape[1], spec.rank)))
    for start in range(0, spec.n_samples, step):
        part = slice(start, min(start + step, spec.n_samples))
        U = spec.coords(part) / sigma  # rows of U (all r components)
        Yp = Y[part]
        for j, g in enumerate(groups):
            Ug = U[:, g]
            lev = np.einsum("ij,ij->i", Ug, Ug)
            resid = Yp - Ug @ Cu[g]
            gap = 1.0 - lev
            inner = gap <= _LEVERAGE_TOL
            gap[inner] = 1.0
            loo = resid / gap[:, None]
            if inner.any():
                W = Ug[inner] / sigma[g]
                loo[inner] = (W @ (Cu[g] / sigma[g][:, None])) / np.einsum(
                    "ij,ij->i", W, W
                )[:, None]
            totals[j] += float(np.einsum("ij,ij->", loo, loo))
    return totals


# --------------------------------------------------------------------------- #
# hard-example sampling
# --------------------------------------------------------------------------- #
def hard_example_indices(F, y, n_classes, n_keep, shrinkage="oas"):
    """Rows of the ``n_keep`` hardest samples under a shrunk LDA, sorted.

    A linear discriminant analysis with a shared, shrunk covariance (the same
    shrinkage rule as the per-group posteriors) is fitted to all samples; the
    samples whose true-class posterior is lowest are kept, and any class left with
    fewer than two samples gets its two hardest samples back, so the result may
    hold a few more than ``n_keep`` rows. Deterministic (no randomness).

    Samples are ranked by the log-odds of the wrong classes,
    ``log Σ_{c≠y} exp(L_c - L_y) = log((1 - q)/q)`` for the true-class
    posterior ``q`` -- the same order as ``q``, but exact where ``q`` rounds to
    1 in float64 (every sample of well-separated classes: ranking ``q`` itself
    then kept the first rows in the order given) -- and ties by the squared
    norm of the row. The rows kept are then the same whatever the order of the
    samples (exactly equal rows, the only ties left, are interchangeable).
    """
    return _hard_examples(F, y, n_classes, n_keep, shrinkage)[0]


def _hard_examples(F, y, n_classes, n_keep, shrinkage, keep_gram=False):
    """:func:`hard_example_indices`, and the centred Gram matrix of all rows
    and their mean it computed on the way (for :func:`_kept_gram`; the Gram
    is None unless ``keep_gram``: it is dropped before the posterior pass)."""
    n, d = F.shape
    # Three passes: class sums (the mean is their total), the centred Gram, the
    # posteriors.
    counts, sums = class_sums(F, y, n_classes)
    mean = sums.sum(axis=0) / n
    M = sums / counts[:, None] - mean  # class means, centred
    gram = centered_gram(F, mean)
    within = gram - (M.T * counts) @ M
    if not keep_gram:
        gram = None
    S, _ = shrink_covariance((within + within.T) / (2.0 * n), shrinkage, n)
    B = cho_solve(_cholesky(S, "hard-example LDA"), M.T, check_finite=False)
    c = -0.5 * np.einsum("cj,jc->c", M, B) + np.log(counts / n)
    # Logits (x - mean)·B + c as x·B + (c - mean·B): no centred copy of the rows.
    if _on_device(F):
        from ..utils._torch import device_hard_example_keys

        keys = device_hard_example_keys(
            F, y, B, c - mean @ B, chunk_bytes=_TRANSFORM_CHUNK_BYTES
        )
    else:
        keys = row_values(F, partial(_hard_example_block, B=B, c=c - mean @ B), y)
    # Hardest first: the largest log-odds of error, then the largest norm.
    order = np.lexsort((-keys[:, 1], -keys[:, 0]))
    keep = np.zeros(n, dtype=bool)
    keep[order[:n_keep]] = True
    kept = np.bincount(y[keep], minlength=n_classes)
    for cls in np.flatnonzero(kept < 2):
        members = order[y[order] == cls]
        keep[members[:2]] = True
    return np.flatnonzero(keep), gram, mean


def _kept_gram(F, kept, gram, mean, centering):
    """The kept rows' Gram matrix as all rows' minus the dropped rows'.

    ``gram`` is the centred Gram matrix of all rows of ``F`` (in memory) about
    their ``mean`` (symmetric; overwritten); the dropped rows' about the same
    mean is subtracted, then moved to the kept rows' own mean ``m``
    (``centering``) or to the origin:
    ``Σ_kept (x - m)(x - m)ᵀ = G_kept,mean - n_k δδᵀ`` with ``δ = m - mean``,
    plus ``n_k m mᵀ`` for the uncentred Gram. It reads the fewer rows when
    more than half are kept. Returns ``(G, m)``, ``G`` Fortran-ordered.
    """
    dropped = np.ones(F.shape[0], dtype=bool)
    dropped[kept] = False
    n_k = kept.shape[0]
    rows = F[dropped]
    G = gram.T  # Fortran-ordered, and the same matrix: no copy
    G -= centered_gram(rows, mean)
    m = (F.shape[0] * mean - column_mean(rows) * rows.shape[0]) / n_k
    del rows
    delta = m - mean
    G -= n_k * np.outer(delta, delta)
    if not centering:
        G += n_k * np.outer(m, m)
    return G, m


def _hard_example_block(block, y_block, *, B, c):
    """Each row's ``[log Σ_{c≠y} exp(L_c - L_y), ‖x‖²]`` under the hard-example LDA.

    The first is ``log((1 - q)/q)`` for the true-class posterior ``q``,
    computed shifted by its largest term: finite and exact however close to 1
    ``q`` is.
    """
    L = blas_matmul(block, B)
    L += c
    rows = np.arange(L.shape[0])
    L -= L[rows, y_block][:, None]
    L[rows, y_block] = -np.inf
    top = L.max(axis=1)
    L -= top[:, None]
    np.exp(L, out=L)
    odds = top + np.log(L.sum(axis=1))
    return np.column_stack([odds, np.einsum("ij,ij->i", block, block)])


def _resolve_hard_examples(hard_examples, threshold, n, n_classes):
    if hard_examples is None:
        return None
    if isinstance(hard_examples, str):  # "auto"
        if n <= threshold:
            return None
        n_keep = threshold
    elif isinstance(hard_examples, Integral):
        n_keep = int(hard_examples)
    else:
        n_keep = math.ceil(float(hard_examples) * n)
    n_keep = max(n_keep, 2 * n_classes)
    return None if n_keep >= n else n_keep


# --------------------------------------------------------------------------- #
# public API
# --------------------------------------------------------------------------- #
def prepare_disco_target(y, n_samples, task, standardize_targets=True):
    """Validate ``y``; return ``(task, y_or_Y, classes)``.

    Classification: labels encoded ``0 .. C-1`` (every class needs ≥ 2 samples).
    Regression: float (N, K), centred and scaled to unit variance per column when
    ``standardize_targets``.
    """
    task = infer_task(y, task)
    if task == "classification":
        y_enc, classes = check_classification_target(
            y, n_samples, min_samples_per_class=2, allow_many_classes=True
        )
        return task, y_enc, classes
    Y = check_regression_target(y, n_samples)
    if standardize_targets:
        std = Y.std(axis=0)
        if np.any(std == 0):
            raise ValueError(
                "A regression target column is constant; it cannot be standardised "
                "(pass standardize_targets=False or drop the column)."
            )
        Y = (Y - Y.mean(axis=0)) / std
    return task, Y, None


def disco_result(
    F,
    y,
    *,
    task,
    n_classes=None,
    n_groups=2,
    group_size=None,
    centering=False,
    covariance="isotropic",
    shrinkage="oas",
    posterior="cross_validated",
    n_folds=5,
    regression_score="evidence",
    hard_examples="auto",
    hard_examples_threshold=20_000,
    random_state=None,
    groups=None,
):
    """DISCO of features ``F`` for a target prepared by :func:`prepare_disco_target`.

    ``y`` holds labels encoded ``0 .. n_classes - 1`` (classification) or the
    float (N, K), possibly standardised, targets (regression). ``groups``, a
    callable ``groups(sigma) -> list of index arrays`` (consecutive, covering
    ``range(len(sigma))``), replaces :func:`make_groups` -- for bands that depend
    on the spectrum itself (``skdisco.analysis.component_transferability``).
    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    spec, y, sample_indices = _disco_spectrum(
        F,
        y,
        task=task,
        n_classes=n_classes,
        centering=centering,
        shrinkage=shrinkage,
        hard_examples=hard_examples,
        hard_examples_threshold=hard_examples_threshold,
    )
    return _disco_from_spectrum(
        spec,
        y,
        task=task,
        n_classes=n_classes,
        n_groups=n_groups,
        group_size=group_size,
        covariance=covariance,
        shrinkage=shrinkage,
        posterior=posterior,
        n_folds=n_folds,
        regression_score=regression_score,
        random_state=random_state,
        groups=groups,
        sample_indices=sample_indices,
    )


def _disco_spectrum(
    F,
    y,
    *,
    task,
    n_classes,
    centering,
    shrinkage,
    hard_examples,
    hard_examples_threshold,
):
    """:func:`disco_result`'s first part: the rows scored and their spectrum.

    Returns ``(spectrum, y, sample_indices)``: the :class:`_Spectrum` of the
    rows kept by hard-example sampling (all rows when ``sample_indices`` is
    None), and their targets.
    """
    n = F.shape[0]
    sample_indices = gram = kept_mean = None
    if isinstance(F, FeatureSource) and n <= F.shape[1]:
        # The dual form decomposes the N × N kernel: N rows take no more memory
        # than the d × d Gram matrix of the primal form.
        F = F.to_array()
    F, scale = rescaled(F, _SAFE_EXPONENT)
    if task == "classification":
        keep = _resolve_hard_examples(
            hard_examples, hard_examples_threshold, n, n_classes
        )
        if keep is not None:
            # More than half kept (primal form, in memory): their Gram matrix
            # as all rows' (from the ranking's pass) minus the dropped rows'.
            subtract = 2 * keep > n and keep > F.shape[1] and isinstance(F, np.ndarray)
            sample_indices, all_gram, all_mean = _hard_examples(
                F, y, n_classes, keep, shrinkage, keep_gram=subtract
            )
            if subtract:
                gram, kept_mean = _kept_gram(
                    F, sample_indices, all_gram, all_mean, centering
                )
            del all_gram
            if isinstance(F, FeatureSource):  # the kept rows, read once
                F = take_rows(F, sample_indices)
            else:
                F = F[sample_indices]
            y = y[sample_indices]
            n = F.shape[0]
    elif hard_examples is not None and hard_examples != "auto":
        raise ValueError(
            "hard_examples applies to classification only (it ranks samples by "
            "their LDA class posterior); pass hard_examples=None for regression."
        )
    spec = _Spectrum(F, centering, scale, gram=gram, mean=kept_mean)
    return spec, y, sample_indices


def _disco_from_spectrum(
    spec,
    y,
    *,
    task,
    n_classes,
    n_groups,
    group_size,
    covariance,
    shrinkage,
    posterior,
    n_folds,
    regression_score,
    random_state,
    groups,
    sample_indices,
):
    """:func:`disco_result`'s second part: the groups' scores on a spectrum.

    ``spec`` is only read (its lazily formed products are kept), so two
    targets of the same rows share one decomposition.
    """
    F, n, scale = spec.F, spec.n_samples, spec.scale
    if groups is None:
        groups = make_groups(spec.sigma.shape[0], n_groups, group_size)
    else:
        groups = groups(spec.sigma * scale)
    ratios = np.array([spec.sigma[g].sum() for g in groups]) / spec.sigma.sum()
    if task == "classification":
        if posterior == "in_sample":
            folds = [np.arange(n)]
        else:
            key = _fold_keys(spec, F, y)
            fold = stratified_folds(key, y, n_classes, n_folds, random_state)
            folds = [np.flatnonzero(fold == k) for k in range(n_folds)]
            folds = [f for f in folds if f.size]
        scores, coefs = _classification_group_scores(
            spec,
            y,
            n_classes,
            groups,
            covariance=covariance,
            shrinkage=shrinkage,
            folds=folds,
        )
    else:
        scores = _regression_group_scores(spec, y, groups, regression_score)
        coefs = np.zeros(0)
    contributions = ratios * scores
    # 1 within the rounding of a float64 mean of n posteriors (pairwise
    # summation: a few log2(n) ulps) in every group: saturated.
    saturated = 1.0 - scores <= 2 * math.log2(max(n, 2)) * np.finfo(float).eps
    if task == "classification" and np.all(saturated):
        warnings.warn(
            PerfectSeparationWarning(
                f"DISCO is {float(contributions.sum())!r}, its maximum 1 up to "
                "rounding: every sample's true-class posterior rounds to 1 in "
                "float64 in every group of components (the classes are apart "
                "by margins above ~37 nats), so every model that separates the "
                "classes this well scores the same and the score cannot rank "
                "them among themselves. Rank them on a harder target (finer "
                "labels, another domain) or by a score that does not saturate "
                "(LogME).",
                maximum=1.0,
            ),
            stacklevel=user_stacklevel(),
        )
    return DiscoResult(
        score=float(contributions.sum()),
        task=task,
        singular_values=spec.sigma * scale,
        groups=groups,
        ratios=ratios,
        group_scores=scores,
        contributions=contributions,
        shrinkage=np.zeros(0) if coefs is None else np.asarray(coefs),
        sample_indices=sample_indices,
    )


def _validated_result(features, y, kwargs):
    F = check_features(
        features,
        out_of_core=True,
        n_samples=num_rows(y),
        device=kwargs.pop("device"),
    )
    task, target, classes = prepare_disco_target(
        y, F.shape[0], kwargs.pop("task"), kwargs.pop("standardize_targets")
    )
    n_classes = None if classes is None else classes.shape[0]
    return disco_result(F, target, task=task, n_classes=n_classes, **kwargs), classes


@validate_params(
    {"features": STREAMING_FEATURES, "y": ["array-like"], **_PARAMETERS},
    prefer_skip_nested_validation=True,
)
def disco_components(
    features,
    y,
    *,
    n_groups=2,
    group_size=None,
    centering=False,
    covariance="isotropic",
    shrinkage="oas",
    posterior="cross_validated",
    n_folds=5,
    regression_score="evidence",
    hard_examples="auto",
    hard_examples_threshold=20_000,
    standardize_targets=True,
    task="auto",
    random_state=None,
    device=None,
):
    """DISCO score with its per-component breakdown.

    Takes the parameters of :func:`disco` (their text below is disco's) and
    returns a :class:`DiscoResult` holding the singular values, the groups,
    their singular-value ratios, task scores and contributions
    (``score == contributions.sum()``).

    Returns
    -------
    result : DiscoResult
        The score and its breakdown.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.transferability import disco_components
    >>> X, y = load_digits(return_X_y=True)
    >>> res = disco_components(X, y, n_groups=4)
    >>> [len(g) for g in res.groups]
    [16, 15, 15, 15]
    >>> bool(abs(res.ratios.sum() - 1.0) < 1e-12)
    True
    >>> bool(abs(res.contributions.sum() - res.score) < 1e-12)
    True
    """
    kwargs = dict(
        n_groups=n_groups,
        group_size=group_size,
        centering=centering,
        covariance=covariance,
        shrinkage=shrinkage,
        posterior=posterior,
        n_folds=n_folds,
        regression_score=regression_score,
        hard_examples=hard_examples,
        hard_examples_threshold=hard_examples_threshold,
        standardize_targets=standardize_targets,
        task=task,
        random_state=random_state,
        device=device,
    )
    return _validated_result(features, y, kwargs)[0]


@validate_params(
    {"features": STREAMING_FEATURES, "y": ["array-like"], **_PARAMETERS},
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def disco(
    features,
    y,
    *,
    n_groups=2,
    group_size=None,
    centering=False,
    covariance="isotropic",
    shrinkage="oas",
    posterior="cross_validated",
    n_folds=5,
    regression_score="evidence",
    hard_examples="auto",
    hard_examples_threshold=20_000,
    standardize_targets=True,
    task="auto",
    random_state=None,
    device=None,
):
    r"""DISCO transferability score: task scores of spectral components, weighted.

    The (centred) target features are decomposed by SVD, the singular values are
    split into ``G`` groups of consecutive values (spectral components), each
    group's share of the singular values is multiplied by how well that group
    alone solves the task, and the products are summed. Higher is better.

    Range: classification scores lie in ``[0, 1]`` (a weighted mean of mean
    true-class probabilities; chance is about ``Σ_c π_c²``, 1/C for balanced
    classes). Regression scores with standardised targets: in ``[-1, 0]``
    in sample (minus a weighted mean of ``1 - R²`` per group; 0 is a perfect
    fit), at most 0 left out (below -1 where a group predicts held-out samples
    worse than their mean), and with the evidence a weighted mean log
    evidence per sample, at least -1.419 (the noise-only model's).

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features), or out-of-core
        Features of the target data from a pre-trained model (float32 stays
        float32 at the input; float64 inside). A ``numpy.memmap``, a Dask
        array (zarr, HDF5), an iterable of row chunks or a function returning
        one are read in row blocks (see Notes, *Out of core*).
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Class labels (any labels; every class needs two samples), or real-valued
        targets (one or several columns; detection boxes flattened to ``K·4``
        columns).
    n_groups : int, default=2
        Number of spectral components G; the r non-zero singular values are split
        into G consecutive groups whose sizes differ by at most one. More groups
        than non-zero singular values falls back to one value per group (with a
        warning). ``n_groups=1`` is no decomposition at all (a cross-validated
        nearest-centroid probe of the whole space). *Decision; default from the
        zoo benchmark, see Notes.*
    group_size : int, default=None
        Fixed number of singular values per group instead (the last group may be
        smaller); overrides ``n_groups``.
    centering : bool, default=False
        Subtract the feature mean before the SVD, so σ₁ is not the mean
        direction of (post-ReLU) features. *Decision.*
    covariance : {"isotropic", "shared", "class", "identity"}, default="isotropic"
        Covariance Λ of the Gaussian class model of each group: ``σ_g² I`` with
        ``σ_g²`` the pooled within-class variance per dimension of the group
        (a nearest-centroid classifier at the features' own scale), the pooled
        within-class covariance (as LDA), one per class (QDA, with the
        log-determinant term), or the identity (nearest centroid in the
        features' units, so the score changes when the features are rescaled).
        *Decision.*
    shrinkage : float in [0, 1] or "oas", default="oas"
        Shrinkage of Λ toward ``tr(Λ)/s · I``: fixed, or the Oracle Approximating
        Shrinkage coefficient (:class:`sklearn.covariance.OAS`), per group.
        Ignored for ``covariance="isotropic"`` and ``"identity"``. *Decision.*
    posterior : {"cross_validated", "in_sample"}, default="cross_validated"
        ``"in_sample"`` is the paper's reading (class means fitted on the samples
        they score). ``"cross_validated"`` scores each sample with class means
        and priors fitted on the other folds (see Notes). *Decision.*
    n_folds : int, default=5
        Folds of the cross-validated posterior.
    regression_score : {"in_sample", "loo", "evidence"}, default="evidence"
        Regression score S_lr of a group. ``"in_sample"`` is the paper's
        reading: minus the mean squared residual of least squares on the
        group's coordinates, fitted on the samples it scores, so a wider group
        never scores lower, whatever its directions carry. ``"loo"``: the same
        with each sample's leave-one-out residual (closed form, see Notes).
        ``"evidence"``: the maximum log evidence per sample of the Bayesian
        linear regression on the group (LogME's, on the group's coordinates),
        which charges each direction for the fit it buys. Classification
        ignores it. *Decision; see Notes.*
    hard_examples : "auto", int, float or None, default="auto"
        Hard-example sampling (classification only): keep that many samples (int)
        or that fraction (float in (0, 1]) with the lowest true-class posterior
        under a shrunk LDA, at least two per class, and run DISCO on them.
        ``"auto"`` keeps ``hard_examples_threshold`` samples when there are more,
        and all of them otherwise; None never samples.
    hard_examples_threshold : int, default=20000
        Size above which ``"auto"`` samples.
    standardize_targets : bool, default=True
        Centre and scale each regression target column to unit variance, so the
        MSE compares across models and datasets. *Decision.*
    task : {"auto", "classification", "regression"}, default="auto"
        What ``y`` is; ``"auto"`` infers it.
    random_state : int, RandomState instance or None, default=None
        Permutes the fold labels of the cross-validated posterior (None: a fixed
        round-robin assignment). The score never depends on sample order.
    {device}

    Returns
    -------
    score : float
        DISCO score, higher is better.

    Warns
    -----
    PerfectSeparationWarning
        Classification only: when the score is 1, its maximum, up to the
        rounding of a mean of N posteriors -- every sample's true-class
        posterior rounds to 1 in float64 in every group (margins above ~37
        nats), so every model that separates the classes that well scores 1
        and the score cannot order them.
        :func:`~skdisco.selection.rank_models` then keeps 1, such models tied
        at the top.

    See Also
    --------
    disco_components : The same with the per-component breakdown.
    disco_detection : Combine classification and regression scores of candidate
        models for object detection.
    skdisco.scorers.DiscoScorer : The estimator, with the breakdown as attributes.

    Notes
    -----
    With :math:`Z = F - \bar F = U \Sigma V^\top`, the r non-zero singular values
    :math:`\sigma_1 \ge \dots \ge \sigma_r` and groups :math:`g`, the coordinates
    of sample i in group g are :math:`p_i^g = V_g^\top z_i` (the rows of
    :math:`U_g \Sigma_g`), and (from the paper)

    .. math::

        S_{ratio}^g = \frac{\sum_{j \in g} \sigma_j}{\sum_{j} \sigma_j},\qquad
        \mathrm{DISCO} = \sum_g S_{ratio}^g \, S_{task}^g .

    Classification, :math:`S_{task}^g = S_{ncc}^g = \frac1N \sum_i
    \hat y^g_{i, y_i}` with :math:`\hat y^g_{i,c} \propto \pi_c
    \exp(-\tfrac12 (p_i^g - \mu_c^g)^\top \Lambda^{-1} (p_i^g - \mu_c^g))`
    (softmax over classes). With a shared Λ the logits are linear in
    :math:`z_i`, so when :math:`G\,C < r` they are computed as :math:`Z W` with
    :math:`W = [V_g \Lambda_g^{-1} M_g^\top]_g` (d × GC) and the N × r
    coordinates are never formed. Regression, :math:`S_{lr}^g = -\frac{1}{NK}
    \lVert Y - U_g U_g^\top Y\rVert_F^2` (least squares on the group,
    :math:`Z_g Z_g^+ = U_g U_g^\top`) with :math:`U_g^\top Y =
    \Sigma_g^{-1} V_g^\top Z^\top Y` (``regression_score="in_sample"``).

    **Regression out of sample (ours).** In sample, a group's residual can only
    shrink as it gains directions, so S_lr rewards wide groups whatever they
    carry. ``regression_score="loo"`` replaces each residual :math:`e_i` by
    the residual of the fit without sample i, :math:`e_i / (1 - h_i)` with the
    leverage :math:`h_i = \lVert U_g[i]\rVert^2`; a sample the group
    interpolates (:math:`h_i = 1` within :math:`\sqrt{\epsilon}`) gets the
    vanishing-ridge limit :math:`\sum_j u_{ij} c_j \sigma_j^{-2} / \sum_j
    u_{ij}^2 \sigma_j^{-2}` (:math:`c_j = u_j^\top y`), the residual of the
    minimum-norm refit. ``regression_score="evidence"`` scores the group by
    LogME's maximum evidence of :math:`y = P_g w + \varepsilon`: the
    coordinates are orthogonal with :math:`P_g^\top P_g = \Sigma_g^2`, so the
    evidence is a function of :math:`\sigma_j` and :math:`c_j` alone (a
    diagonal system, no further decomposition). Both need one pass over the
    rows (the coordinates of a bounded chunk at a time) or none; the SVD basis
    and the target's standardisation use all samples, as the cross-validated
    posterior's basis does. With standardised targets both are per-sample
    quantities of the same target, so they compare across models, and since
    the ratios sum to 1 the total is equivariant to any shift of the group
    scores: the ranking of models does not depend on the reading's offset.
    The default is the evidence, chosen leave one target out over the two
    regression targets of the zoo (``benchmarks/zoo/disco_regression.py``,
    42 candidates, τ_w against fine-tuning; two targets are very little
    evidence): at two groups the evidence ranks best on each target, so it is
    chosen whichever is held out, and scores 0.420 on Ising temperature and
    0.320 on the held-back Cahn-Hilliard energy, where the in-sample reading
    scores 0.314 and -0.282 and leave-one-out 0.355 and -0.023 (LogME on the
    standardised targets: 0.627 and 0.316). The paper's reading is
    ``regression_score="in_sample"``, bit for bit the previous default.

    **Decisions (ours, not the paper's).** The paper scores S_ncc on the
    samples that fit the class model; measured on real candidates, that reading
    collapses to "share of σ in the first group" and ranks models against the
    truth. The default is therefore a cross-validated posterior: folds are dealt
    round-robin within each class after ranking samples by
    :math:`\lVert z_i\rVert` (independent of sample order and of rotations);
    each fold's samples are scored with class means and priors from the other
    folds. The SVD basis (label-free) and, for ``covariance="shared"``, the
    within-class covariance use all samples; ``covariance="class"`` estimates
    each class covariance on the training folds only. The literal reading is
    ``disco(F, y, n_groups=4, centering=False, covariance="shared",
    posterior="in_sample", hard_examples=None)``.

    **Defaults, from the zoo benchmark** (``benchmarks/zoo/``, 42 candidates,
    6 real targets, ``docs/zoo_benchmark.md``): no centring ranked better than
    centring in 35 of 40 comparisons of the sweep; the cross-validated and
    in-sample posteriors are within 0.005 at two groups (the cross-validated
    one is kept: it never scores a sample with its own label, and puts pure
    noise at chance). Two groups have the best mean over the six targets; on
    the classification targets fewer groups rank better, and one group (no
    spectral split) best of all; on the regression target more groups rank
    better in sample (0.64 at 16 groups, 0.31 at 2, 0.07 at 1; with the
    evidence 0.68, 0.42 and 0.63).

    **Scale invariance.** The score does not change when the features are
    multiplied by a constant (tested from 1e-6 to 1e6, and features beyond
    :math:`2^{\pm 200}` are scored in a basis scaled by a power of two), for
    every covariance but ``"identity"``: its nearest-centroid posterior
    :math:`\propto \exp(-\tfrac12\lVert p - \mu_c\rVert^2)` sharpens as the
    features grow, so models carrying the same information ranked by their
    feature norm (on four overlapping classes, 0.254, 0.488 and 0.546 at 0.1×,
    1× and 30× the features, where the default scores 0.481 at every scale).
    The default is therefore ``covariance="isotropic"``: ``σ_g² I`` with
    ``σ_g²`` the pooled within-class variance per dimension of group g, the
    identity's nearest centroid at the features' own scale, at the same cost.
    On the zoo's quick profile it ranks below the identity covariance (mean
    weighted τ 0.563 against 0.668 at two groups: there the feature norm
    happens to track fine-tuning quality) and far above the invariant shared
    (0.230) and class (0.334) covariances; the identity covariance, the
    previous default, is ``covariance="identity"``. LogME ranks better than
    every DISCO setting on the full profile (0.78).

    The rank r counts eigenvalues of the Gram matrix above
    :math:`\lambda_1 \max(N, d)\,\epsilon`. Cost: one Gram matrix and one
    eigendecomposition (d × d, or N × N when N ≤ d) shared by all groups, its
    eigenvectors kept factored as Householder reflectors times the tridiagonal
    problem's eigenvectors and applied only to the class sums and the logits'
    weights (the d × d back-transformation is skipped when that is cheaper),
    plus O(N d G C) for the logits; memory O(d² + chunk · d) besides O(N)
    numbers (fold keys, fold labels). At N = 20 000,
    d = 2048, C = 100 the default takes 1.1-1.5× the time of :func:`logme` on
    the same features, as the identity covariance does
    (``benchmarks/bench_disco.py``, one BLAS thread).

    **Out of core.** Every step reads the rows in order, block by block: the
    Gram matrix, the fold keys :math:`\lVert z_i\rVert^2`, the per-fold
    class sums and the posterior pass, where each block's rows are scored
    with their own fold's weights. For a Dask array each pass is a reduction
    whose tasks run on the workers of the active scheduler (only d × d and
    per-group sums, and the O(N) fold keys, come back). Passes over the rows
    with N > d: 4 for classification (Gram, fold keys, fold class sums,
    posteriors; 3 in-sample), plus one for the mean with ``centering=True``;
    2 for regression (Gram, ``Zᵀ Y``). Hard-example sampling makes 4 passes
    (mean, Gram, class sums, LDA posteriors) and one read of the kept rows,
    which are then scored in memory. With N ≤ d the rows are read whole (the
    N × N kernel is no larger than a d × d Gram). A one-shot generator is
    refused (DISCO reads the rows more than once), and so is
    ``covariance="class"`` without hard-example sampling (its class
    covariances are refitted per fold from every sample's coordinates).
    Features beyond :math:`2^{\pm 200}` are divided by a power of two as each
    block is read (in order, on the caller, not as Dask tasks).

    References
    ----------
    .. [1] T. Zhang, Y. Shu, X. Chen, Y. Long, W. Guo, F. Yang. "Assessing
       Pre-trained Models for Transfer Learning through Distribution of Spectral
       Components". AAAI 2025. arXiv:2412.19085.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.transferability import disco
    >>> X, y = load_digits(return_X_y=True)
    >>> noise = np.random.default_rng(0).standard_normal(X.shape)
    >>> bool(disco(X, y) > disco(noise, y))
    True
    """
    return disco_components(
        features,
        y,
        n_groups=n_groups,
        group_size=group_size,
        centering=centering,
        covariance=covariance,
        shrinkage=shrinkage,
        posterior=posterior,
        n_folds=n_folds,
        regression_score=regression_score,
        hard_examples=hard_examples,
        hard_examples_threshold=hard_examples_threshold,
        standardize_targets=standardize_targets,
        task=task,
        random_state=random_state,
        device=device,
    ).score


@validate_params(
    {"cls_scores": ["array-like"], "reg_scores": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def disco_detection(cls_scores, reg_scores):
    r"""Combine DISCO classification and regression scores for object detection.

    From the paper: each score is min–max normalised across the candidate models,
    then the two are added, :math:`S_{obj} = \tilde S_{cls} + \tilde S_{reg}`.
    A score equal for every candidate normalises to 0 (it cannot separate them),
    with a warning.

    Parameters
    ----------
    cls_scores : array-like of shape (n_models,)
        Classification DISCO score of each candidate (box labels).
    reg_scores : array-like of shape (n_models,)
        Regression DISCO score of each candidate (box coordinates, ``K·4``
        target columns).

    Returns
    -------
    scores : ndarray of shape (n_models,)
        Combined scores in [0, 2]; higher is better.

    Examples
    --------
    >>> from skdisco.transferability import disco_detection
    >>> disco_detection([0.2, 0.6, 0.4], [-0.5, -0.1, -0.4]).round(6).tolist()
    [0.0, 2.0, 0.75]
    """
    a = _model_scores(cls_scores, "cls_scores")
    b = _model_scores(reg_scores, "reg_scores")
    if a.shape != b.shape:
        raise ValueError(
            f"cls_scores has {a.shape[0]} models but reg_scores has {b.shape[0]}; "
            "give one score of each kind per candidate model."
        )
    return minmax_across_models(a, "classification score") + minmax_across_models(
        b, "regression score"
    )


def prepare_detection_target(y, n_samples):
    """Validate a detection target; return ``(labels, classes, boxes)``.

    ``y`` has shape ``(n_samples, 1 + n_box_targets)``: column 0 the class label
    of each box (encoded ``0 .. C-1``, every class with ≥ 2 boxes), the other
    columns its regression targets (standardised per column, as DISCO's
    regression target).
    """
    y = np.asarray(as_numpy(y))
    if y.ndim != 2 or y.shape[1] < 2:
        raise ValueError(
            "y must have shape (n_samples, 1 + n_box_targets): the class label "
            "of each box, then its regression targets (e.g. 4 coordinates)."
        )
    _, labels, classes = prepare_disco_target(y[:, 0], n_samples, "classification")
    _, boxes, _ = prepare_disco_target(
        np.asarray(y[:, 1:], dtype=np.float64), n_samples, "regression"
    )
    return labels, classes, boxes


def disco_detection_result(F, labels, n_classes, boxes, *, n_groups=2, random_state=0):
    """``[classification DISCO, regression DISCO]`` of one model's box features.

    ``labels`` are encoded ``0 .. n_classes - 1`` and ``boxes`` prepared, as
    :func:`prepare_detection_target` returns them.
    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    # DISCO's defaults for everything else, read from its signature.
    options = {
        name: p.default
        for name, p in inspect.signature(disco_result).parameters.items()
        if p.default is not inspect.Parameter.empty and name != "n_classes"
    }
    options.update(n_groups=n_groups, random_state=random_state)
    # Which rows are scored and their spectrum; the shrinkage is read by both
    # the hard-example ranking and the groups' class models.
    sampling = ("centering", "hard_examples", "hard_examples_threshold")
    spectrum_options = {name: options[name] for name in (*sampling, "shrinkage")}
    scoring = {name: v for name, v in options.items() if name not in sampling}
    spec, kept_labels, kept = _disco_spectrum(
        F, labels, task="classification", n_classes=n_classes, **spectrum_options
    )
    cls = _disco_from_spectrum(
        spec,
        kept_labels,
        task="classification",
        n_classes=n_classes,
        sample_indices=kept,
        **scoring,
    )
    if kept is not None:
        # Hard-example sampling kept some boxes for the labels; the
        # coordinates are scored on all of them, with their own spectrum.
        spec = _disco_spectrum(
            F, boxes, task="regression", n_classes=None, **spectrum_options
        )[0]
    else:
        # Both targets are of the same rows: one decomposition. The labels'
        # score formed some of V's columns; the coordinates' (their evidence
        # reads Vᵀ B for the 4 box columns only) are scored as on a fresh
        # spectrum, so both equal the two disco calls bit for bit.
        spec = spec.unformed()
    reg = _disco_from_spectrum(
        spec, boxes, task="regression", n_classes=None, sample_indices=None, **scoring
    )
    return np.array([cls.score, reg.score])


@validate_params(
    {"features": STREAMING_FEATURES, "y": ["array-like"], **_DETECTION_PARAMETERS},
    prefer_skip_nested_validation=True,
)
@fill_device_doc
def disco_detection_components(features, y, *, n_groups=2, random_state=0, device=None):
    r"""The two per-model components of DISCO's object-detection score.

    DISCO of the box features for the box labels (classification) and for the
    box coordinates (regression). Over a set of candidate models they are
    combined by :func:`disco_detection`.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features), or out-of-core
        Features of the boxes (one row per box) from one model; out-of-core
        features are read in row blocks, as by :func:`disco`.
    y : array-like of shape (n_samples, 1 + n_box_targets)
        Column 0: the class label of each box; the other columns: its
        regression targets (e.g. the 4 box coordinates).
    n_groups : int, default=2
        Number of spectral components of each DISCO score.
    random_state : int, RandomState instance or None, default=0
        Seeds DISCO's cross-validated posterior.
    {device}

    Returns
    -------
    components : ndarray of shape (2,)
        ``[classification DISCO, regression DISCO]``, both higher-is-better:
        ``disco(features, y[:, 0], task="classification", ...)`` and
        ``disco(features, y[:, 1:], task="regression", ...)``.

    See Also
    --------
    disco_detection : The combination over a set of models.
    skdisco.scorers.DiscoDetectionScorer : The estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.transferability import disco_detection_components
    >>> rng = np.random.default_rng(0)
    >>> labels, boxes = rng.integers(0, 3, 200), rng.normal(size=(200, 4))
    >>> X = np.column_stack([labels + rng.normal(0, 0.3, 200), boxes])
    >>> disco_detection_components(X, np.column_stack([labels, boxes])).shape
    (2,)
    """
    F = check_features(features, out_of_core=True, n_samples=num_rows(y), device=device)
    labels, classes, boxes = prepare_detection_target(y, F.shape[0])
    return disco_detection_result(
        F,
        labels,
        classes.shape[0],
        boxes,
        n_groups=n_groups,
        random_state=random_state,
    )


def _model_scores(s, name):
    s = np.asarray(s, dtype=np.float64)
    if s.ndim != 1 or s.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of model scores.")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return s


def _parameters_section(doc):
    """The ``Parameters`` section of a numpydoc docstring, heading included."""
    start = doc.index("    Parameters\n")
    return doc[start : doc.index("    Returns\n", start)]


# disco_components takes disco's parameters: one text documents both.
disco_components.__doc__ = disco_components.__doc__.replace(
    "    Returns\n", _parameters_section(disco.__doc__) + "    Returns\n", 1
)

__all__ = [
    "DiscoResult",
    "disco",
    "disco_components",
    "disco_detection",
    "disco_detection_components",
]
