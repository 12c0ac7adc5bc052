"""LogME: the logarithm of the maximum Bayesian evidence of a linear model.

You, Liu, Wang, Long, "LogME: Practical Assessment of Pre-trained Models for
Transfer Learning", ICML 2021, and You, Liu, Wang, Jordan, Long, "Ranking and Tuning
Pre-trained Models: A New Paradigm for Exploiting Model Hubs", JMLR 2022.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._source import DEVICE_PARAMETER, STREAMING_FEATURES, FeatureSource
from ..utils._validation import (
    check_classification_target,
    check_features,
    check_regression_target,
    infer_task,
    num_rows,
)
from ..utils._warnings import user_stacklevel
from ._linalg import (
    TridiagonalSystem,
    gram_statistics,
    iter_float64_chunks,
    kernel_matrix,
    magnitude_scale,
    onehot,
)

METHODS = ("global", "fixed_point", "icml")
DEFAULT_TOL = {"global": 1e-10, "fixed_point": 1e-3, "icml": 1e-2}
DEFAULT_MAX_ITER = {"global": 100, "fixed_point": 11, "icml": 11}
_LOG_2PI = np.log(2.0 * np.pi)
# Spacing of the grid over log(α/β) that locates every local maximum of the
# profiled evidence (a sum of logistic terms of unit width in log α/β), and the
# offsets of the coarse points beyond it, where the evidence is monotone or
# nearly so (asymptotic regimes below the smallest / above the summed spectrum).
_GRID_STEP = 0.5
_OUTER_OFFSETS = (2.0, 6.0, 14.0, 30.0)
# Features whose largest magnitude lies outside [2^-_SAFE_EXPONENT,
# 2^_SAFE_EXPONENT] are rescaled by a power of two before any product, so the
# Gram matrix neither overflows nor underflows (the maximum evidence does not
# depend on the scale of the features).
_SAFE_EXPONENT = 200
_EPS = np.finfo(np.float64).eps
# Gains of the profiled evidence (per unit of N + rank) below this are round-off
# (see _global_maximum).
_FLAT_GAIN = 1e3 * _EPS


@dataclass(frozen=True)
class LogMEResult:
    """Everything LogME computes for one feature matrix and target.

    Attributes
    ----------
    score : float
        Mean of ``evidence`` over targets: the LogME score (higher is better).
    evidence : ndarray of shape (n_targets,)
        Maximum log evidence per sample, one per class (one-vs-rest) or target
        column.
    alpha, beta : ndarray of shape (n_targets,)
        Prior precision of the weights and precision of the noise at the optimum;
        ``inf`` where the maximum is a limit (α → ∞: zero weights; β → ∞:
        noise-free interpolation by features of rank N).
    n_iter : ndarray of shape (n_targets,)
        Iterations used per target (for ``method="global"``: Newton steps over
        all the candidate maxima refined; 0 for a maximum at a limit).
    converged : ndarray of shape (n_targets,), dtype bool
        Whether each target met the tolerance within ``max_iter``.
    coef : ndarray of shape (n_targets, n_features) or None
        Posterior mean of the weights, ``(FᵀF + (α/β)·I)⁻¹ Fᵀy``; ``None`` when
        not requested (``compute_coef=False``, as :func:`logme` does).
    """

    score: float
    evidence: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    coef: np.ndarray | None


class LogMEStatistics:
    """Sufficient statistics of LogME: ``FᵀF``, ``FᵀY``, ``‖y_k‖²`` and ``N``.

    Built in one pass (``from_features``) or accumulated chunk by chunk
    (``update``), so features can arrive as memory-mapped arrays or in pieces with
    the same result as the in-memory path.
    """

    def __init__(self, n_features, n_targets):
        self.n_features = int(n_features)
        self.n_targets = int(n_targets)
        self.gram = np.zeros((n_features, n_features), dtype=np.float64)
        self.cross = np.zeros((n_features, n_targets), dtype=np.float64)
        self.target_sq = np.zeros(n_targets, dtype=np.float64)
        self.n_samples = 0
        # Statistics are of ``scale · F``; the scale is set by the first chunk.
        self.scale = None

    def update(self, F, Y):
        """Add a chunk of features ``F`` (n, d) and targets ``Y`` (n, K or sparse)."""
        if self.scale is None:
            self.scale = 1.0 / magnitude_scale(F, _SAFE_EXPONENT)
        G, B = gram_statistics(F, Y, scale=self.scale)
        self.gram += G
        self.cross += B
        self.target_sq += _column_sq_sums(Y)
        self.n_samples += F.shape[0]
        return self


def _column_sq_sums(Y):
    if hasattr(Y, "multiply"):  # sparse one-hot
        return np.asarray(Y.multiply(Y).sum(axis=0)).ravel().astype(np.float64)
    return np.einsum("ij,ij->j", Y, Y)


class _EvidenceProblem:
    """Quadratic forms of LogME for every target at any shift ``t = α/β``.

    Primal form (N > D, or accumulated statistics): ``A = FᵀF`` and ``R = FᵀY``.
    Dual form (N ≤ D): ``A = FFᵀ`` and ``R = Y``; ``A`` then has only N eigenvalues
    and the other ``D - N`` eigenvalues of ``FᵀF`` are zeros.
    """

    def __init__(
        self, system, target_sq, n_samples, n_features, features=None, scale=1.0
    ):
        self.system = system
        self.target_sq = target_sq
        self.n_samples = n_samples
        self.n_features = n_features
        self.features = features  # kept only by the dual form, for the weights
        self.dual = features is not None
        self.eigenvalues = system.eigenvalues
        # The system holds the statistics of ``scale · F`` (a power of two).
        self.scale = scale

    @classmethod
    def from_statistics(cls, stats):
        system = TridiagonalSystem(stats.gram, stats.cross)
        scale = 1.0 if stats.scale is None else stats.scale
        return cls(
            system, stats.target_sq, stats.n_samples, stats.n_features, scale=scale
        )

    @classmethod
    def from_features(cls, F, Y):
        n, d = F.shape
        target_sq = _column_sq_sums(Y)
        scale = 1.0 / magnitude_scale(F, _SAFE_EXPONENT)
        if n > d:
            G, B = gram_statistics(F, Y, lower_only=True, scale=scale)
            system = TridiagonalSystem(G, B, overwrite_a=True)
            return cls(system, target_sq, n, d, scale=scale)
        Fd = F.to_array() if isinstance(F, FeatureSource) else F
        Fd = np.ascontiguousarray(Fd, dtype=np.float64)
        if scale != 1.0:
            Fd = Fd * scale
        Yd = Y.toarray() if hasattr(Y, "toarray") else Y
        system = TridiagonalSystem(
            kernel_matrix(Fd, lower_only=True), Yd, overwrite_a=True
        )
        return cls(system, target_sq, n, d, features=Fd, scale=scale)

    def profile_forms(self, shift, cols=None, second=False):
        """``Q``, ``dQ/dt`` (and ``d²Q/dt²``) at shift ``t`` for target columns.

        ``shift`` is one shift for every column, or one per column of ``cols``
        (the columns' systems then solved stacked, one LAPACK call).
        ``Q(t) = ‖y - F m‖² + t‖m‖² = t·yᵀ(FFᵀ + tI)⁻¹y``, the energy that fixes
        ``β = N/Q`` at ``t = α/β``; one tridiagonal solve for all the columns (two
        for the second derivative).
        """
        C = self.system.C if cols is None else self.system.C[:, cols]
        if np.ndim(shift):
            solve = self.system.solve_shifted
        else:
            solve = self.system.solve_columns
        U = solve(shift, C)
        cu = np.einsum("ij,ij->j", C, U)
        uu = np.einsum("ij,ij->j", U, U)
        if self.dual:
            Q, dQ = shift * cu, cu - shift * uu
        else:
            sq = self.target_sq if cols is None else self.target_sq[cols]
            Q, dQ = sq - cu, uu
        if not second:
            return Q, dQ
        uv = np.einsum("ij,ij->j", U, solve(shift, U))
        d2Q = -2.0 * uu + 2.0 * shift * uv if self.dual else -2.0 * uv
        return Q, dQ, d2Q

    def forms(self, k, t):
        """Return ``(‖m‖², ‖y - F m‖²)`` for target ``k`` with ``m = (FᵀF+tI)⁻¹Fᵀy``."""
        c = self.system.C[:, k]
        u = self.system.solve(k, t)
        if self.dual:
            # m = Fᵀu and y - F m = t·u with u = (FFᵀ + tI)⁻¹ y.
            cu = c @ u
            uu = u @ u
            return cu - t * uu, t * t * uu
        m2 = u @ u
        return m2, self.target_sq[k] - c @ u - t * m2

    def coef(self, shifts):
        """Posterior means ``m_k`` of shape (K, D) at the given shifts.

        An infinite shift (α = ∞) gives zero weights.
        """
        n = self.system.C.shape[0]
        sol = (
            np.column_stack(
                [
                    self.system.solve(k, t) if np.isfinite(t) else np.zeros(n)
                    for k, t in enumerate(shifts)
                ]
            )
            if len(shifts)
            else np.zeros((n, 0))
        )
        M = self.system.apply_q(sol)
        if self.dual:
            M = self.features.T @ M
        # Weights of the rescaled features are 1/scale times the original ones.
        return np.ascontiguousarray(M.T) * self.scale

    def log_det(self, alpha, beta):
        """``Σ log(α + β s_i)`` over all D eigenvalues of ``FᵀF``, per target."""
        s = self.eigenvalues
        out = np.log(alpha[:, None] + beta[:, None] * s[None, :]).sum(axis=1)
        missing = self.n_features - s.shape[0]
        if missing > 0:
            out += missing * np.log(alpha)
        return out


class _Profile:
    """The log evidence with β profiled out, as a function of ``x = log(α/β)``.

    For a shift ``t = α/β`` the evidence is maximised over β in closed form,
    ``β = N/Q(t)``, which leaves (times N)

    ``E(t) = -N/2 log(Q(t)/N) - 1/2 Σ log(1 + s_i/t) - N/2 (1 + log 2π)``

    with the sum over the non-zero eigenvalues ``s_i`` of ``FᵀF``: the zero ones
    (N < D, rank-deficient features) contribute the ``(D - k) log α`` of the
    full formula exactly. It depends on the target only through ``Q``.
    """

    def __init__(self, problem):
        self.problem = problem
        self.N = problem.n_samples
        s = problem.eigenvalues
        smax = float(s[0]) if s.size else 0.0
        if not smax > 0:
            raise ValueError(
                "LogME evidence is not finite: the features are degenerate for "
                "this target (for example all zeros, or a target the features "
                "fit exactly)."
            )
        # Eigenvalues below the round-off of the Gram matrix are zeros.
        self.tol_eig = smax * s.shape[0] * _EPS
        self.s = s[s > self.tol_eig]
        # Rank N: every target lies in the span of the features, and the
        # evidence has a finite limit as β → ∞ (noise-free interpolation).
        self.interpolates = self.s.shape[0] >= self.N

    def spectral_terms(self, t):
        """``Σ log(1 + s/t)``, ``Σ s/(s + t)`` and ``Σ s t/(s + t)²`` per shift."""
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        r = self.s[None, :] / t[:, None]
        g = r / (1.0 + r)
        return np.log1p(r).sum(axis=1), g.sum(axis=1), (g / (1.0 + r)).sum(axis=1)

    def values(self, t, Q, dQ, logdet, gamma):
        """``E`` and ``dE/dx`` (x = log t) from the forms at shift ``t``."""
        N = self.N
        with np.errstate(divide="ignore", invalid="ignore"):
            E = -0.5 * N * np.log(Q / N) - 0.5 * logdet - 0.5 * N * (1.0 + _LOG_2PI)
            dE = -0.5 * N * t * dQ / Q + 0.5 * gamma
        return E, dE

    def points(self, ks, xs):
        """``E``, ``dE/dx``, ``d²E/dx²`` and ``Q`` for targets ``ks`` at ``xs``.

        One point per pair ``(ks[j], xs[j])`` (a target may appear more than
        once); all the pairs' shifted systems are solved together.
        """
        t = np.exp(xs)
        Q, dQ, d2Q = self.problem.profile_forms(t, ks, second=True)
        logdet, gamma, curv = self.spectral_terms(t)
        E, dE = self.values(t, Q, dQ, logdet, gamma)
        h = t * dQ / Q
        d2E = -0.5 * self.N * ((t * dQ + t * t * d2Q) / Q - h * h) - 0.5 * curv
        return E, dE, d2E, Q

    def limit_at_zero(self, cols):
        """``E`` and ``lim Q/t`` as ``t → 0`` (β → ∞), for interpolating features."""
        problem = self.problem
        if problem.dual:
            # Q/t = yᵀ(FFᵀ + tI)⁻¹y, positive definite at t = 0 (rank N).
            C = problem.system.C[:, cols]
            psi = np.einsum("ij,ij->j", C, problem.system.solve_columns(0.0, C))
        else:
            # Q/t → dQ/dt(0) = ‖(FᵀF)⁺Fᵀy‖²: one Richardson step from a shift far
            # below the spectrum (error O(t²/s²)) avoids the singular solve.
            t = float(self.s[-1]) * 1e-6
            _, dQ, d2Q = problem.profile_forms(t, cols, second=True)
            psi = dQ - t * d2Q
        N = self.N
        E = (
            -0.5 * N * np.log(psi / N)
            - 0.5 * np.log(self.s).sum()
            - 0.5 * N * (1.0 + _LOG_2PI)
        )
        return E, psi

    def limit_at_infinity(self, cols):
        """``E`` as ``t → ∞`` (α → ∞, zero weights): the pure-noise model."""
        sq = self.problem.target_sq[cols]
        return -0.5 * self.N * (np.log(sq / self.N) + 1.0 + _LOG_2PI)

    def grid(self):
        """Points ``x = log t`` where every target's profile is sampled."""
        lo = np.log(self.s[-1]) - 2.0
        hi = np.log(self.s.sum()) + 2.0
        core = np.arange(lo, hi + _GRID_STEP, _GRID_STEP)
        if self.interpolates and self.problem.dual:
            floor = lo - _OUTER_OFFSETS[-1]
        elif self.interpolates:
            # Q = ‖y‖² - cᵀ(T + tI)⁻¹c cancels as t → 0: stay where it is exact.
            floor = lo - _OUTER_OFFSETS[0]
        else:
            # Far below the non-zero spectrum only round-off eigenvalues remain.
            floor = max(lo - _OUTER_OFFSETS[-1], np.log(1e3 * self.tol_eig))
        below = [lo - o for o in _OUTER_OFFSETS[::-1] if lo - o >= floor]
        if lo - _OUTER_OFFSETS[-1] < floor < (below[0] if below else lo):
            # Features that fit a target to a tiny relative residual r put its
            # maximum near t ≈ (D/N)·r·s, far below the spectrum: the deepest
            # exact point is sampled too, or the maximum would be taken for
            # the exact fit's unbounded rise.
            below.insert(0, floor)
        above = [hi + o for o in _OUTER_OFFSETS[:3]]
        return np.concatenate([below, core, above])


def _refine(profile, ks, a, b, x, tol, max_iter):
    """Safeguarded Newton for the zero of dE/dx in brackets ``[a_j, b_j]``.

    One bracket per entry of ``ks`` (the target it belongs to), all refined in
    lockstep: each iteration evaluates every unfinished bracket's point with one
    stacked tridiagonal solve, and each bracket follows exactly the iteration it
    would on its own. ``dE/dx > 0`` at ``a`` and ``<= 0`` at ``b``; a Newton step
    that leaves the bracket (or meets non-negative curvature) is replaced by
    bisection. Returns arrays ``(x, E, Q, n_iter, converged)``.
    """
    a, b, x = (np.array(v, dtype=np.float64) for v in (a, b, x))
    m = x.shape[0]
    E_out, Q_out = np.full(m, np.nan), np.full(m, np.nan)
    x_out = x.copy()
    n_iter = np.full(m, max_iter, dtype=np.int64)
    converged = np.zeros(m, dtype=bool)
    active = np.arange(m)
    for it in range(1, max_iter + 1):
        if active.size == 0:
            break
        xa = x[active]
        E, dE, d2E, Q = profile.points(ks[active], xa)
        rising = dE > 0
        a[active[rising]] = xa[rising]
        b[active[~rising]] = xa[~rising]
        aa, bb = a[active], b[active]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(d2E < 0, -dE / d2E, np.nan)
        x_new = xa + step
        # A Newton step within the tolerance is convergence, checked before the
        # safeguard: at the zero itself (dE = 0 makes x the new bracket end) the
        # step lands on the end, and bisecting away from it would take ~30
        # steps back to the same point.
        newton_done = np.abs(step) <= tol
        outside = ~((aa < x_new) & (x_new < bb))
        x_new[outside] = 0.5 * (aa + bb)[outside]
        done = newton_done | (np.abs(x_new - xa) <= tol) | (bb - aa <= tol)
        # Every bracket reports its last evaluated point with that point's E and
        # Q (when max_iter runs out too: the earlier one-bracket loop returned
        # the next, unevaluated x beside the previous point's E and Q).
        x_out[active], E_out[active], Q_out[active] = xa, E, Q
        n_iter[active[done]] = it
        converged[active[done]] = True
        x[active] = x_new
        active = active[~done]
    return x_out, E_out, Q_out, n_iter, converged


def _global_maximum(problem, tol, max_iter):
    """The global maximum of each target's evidence over (α, β) > 0.

    β is profiled out; every target's profile is sampled on one grid of
    ``log(α/β)`` (one multi-column tridiagonal solve per point); each bracket
    of a sign change of the derivative is refined by safeguarded Newton; the
    two ends (α → ∞, and β → ∞ where the features interpolate) are candidates
    with their exact limits. The highest candidate wins.
    """
    profile = _Profile(problem)
    N = problem.n_samples
    K = problem.system.C.shape[1]
    xs = profile.grid()
    ts = np.exp(xs)
    logdet, gamma, _ = profile.spectral_terms(ts)
    E = np.empty((xs.shape[0], K))
    dE = np.empty((xs.shape[0], K))
    for j, t in enumerate(ts):
        Q, dQ = problem.profile_forms(t)
        if np.any(Q <= 0):
            _raise_exact_fit()
        E[j], dE[j] = profile.values(t, Q, dQ, logdet[j], gamma[j])
    all_cols = np.arange(K)
    top = profile.limit_at_infinity(all_cols)
    rises_at_bottom = dE[0] < 0
    if rises_at_bottom.any() and not profile.interpolates:
        _raise_exact_fit()
    bottom = np.full(K, -np.inf)
    psi = np.full(K, np.nan)
    if profile.interpolates and rises_at_bottom.any():
        cols = np.flatnonzero(rises_at_bottom)
        bottom[cols], psi[cols] = profile.limit_at_zero(cols)

    evidence = np.empty(K)
    alpha = np.empty(K)
    beta = np.empty(K)
    shift = np.empty(K)
    n_iter = np.zeros(K, dtype=np.int64)
    converged = np.ones(K, dtype=bool)
    # Every bracket of a sign change of dE/dx (+ to -) of every target, refined
    # together; each starts from its higher end. Far outside the spectrum the
    # profile is flat to the last digit and dE/dx is round-off that changes sign
    # at random: with dE/dx decreasing across a bracket [a, b], its maximum lies
    # above the higher end by at most min(dE(a), -dE(b))·(b - a); a bracket where
    # that is below _FLAT_GAIN · (N + k) (k kept eigenvalues; each term of E is
    # of that size), ~1e-13 of the evidence per sample, is not refined (it took
    # bisection down to the tolerance).
    gain = np.minimum(dE[:-1], -dE[1:]) * np.diff(xs)[:, None]
    steep = gain > _FLAT_GAIN * (N + profile.s.shape[0])
    rows, ks = np.nonzero((dE[:-1] > 0) & (dE[1:] <= 0) & steep)
    starts = np.where(E[rows, ks] >= E[rows + 1, ks], xs[rows], xs[rows + 1])
    rx, rE, rQ, rit, rok = _refine(
        profile, ks, xs[rows], xs[rows + 1], starts, tol, max_iter
    )
    np.add.at(n_iter, ks, rit)
    # Each target's best grid point, then any refined maximum above it.
    j_best = np.argmax(E, axis=0)
    best_E = E[j_best, all_cols]
    best_t = ts[j_best]
    best_Q = np.full(K, np.nan)
    best_ok = np.ones(K, dtype=bool)
    for j in range(ks.shape[0]):  # in bracket order: ties keep the first
        k = ks[j]
        if rE[j] > best_E[k]:
            best_E[k], best_t[k] = rE[j], float(np.exp(rx[j]))
            best_Q[k], best_ok[k] = rQ[j], rok[j]
    # Grid points won: their energies, one stacked solve.
    at_grid = np.flatnonzero(np.isnan(best_Q))
    if at_grid.size:
        best_Q[at_grid] = problem.profile_forms(best_t[at_grid], at_grid)[0]
    for k in range(K):
        Ek, t, Q, ok = best_E[k], best_t[k], best_Q[k], best_ok[k]
        if dE[-1, k] > 0 and top[k] >= Ek:
            Ek, t, ok = top[k], np.inf, True
        if rises_at_bottom[k] and bottom[k] >= Ek:
            Ek, t, ok = bottom[k], 0.0, True
        if 0.0 < t < np.inf and not problem.dual:
            _check_residual_resolved(Q, problem.target_sq[k], problem.n_features)
        evidence[k] = Ek / N
        converged[k] = ok
        shift[k] = t
        if np.isinf(t):
            alpha[k], beta[k] = np.inf, N / problem.target_sq[k]
        elif t == 0.0:
            alpha[k], beta[k] = N / psi[k], np.inf
        else:
            beta[k] = N / Q
            alpha[k] = t * beta[k]
    return evidence, alpha, beta, n_iter, converged, shift


def _raise_exact_fit():
    raise ValueError(
        "LogME evidence has no maximum: the features fit a target (almost) "
        "exactly, so the evidence grows without bound as the noise vanishes. "
        "Remove duplicated or target-derived feature columns."
    )


#: Smallest relative residual energy ``Q/‖y‖²`` at the maximum, in units of its
#: round-off ``D·eps`` (the primal form computes ``Q = ‖y‖² - cᵀ(T + tI)⁻¹c``,
#: which cancels): above it the evidence keeps ~6 digits (measured against a
#: 40-digit evaluation at the same α, β: relative error ≈ eps/r).
_RESOLVED_RESIDUAL = 1e5


def _check_residual_resolved(Q, target_sq, n_features):
    """Refuse a maximum whose residual energy is lost to round-off."""
    ratio = Q / target_sq
    if ratio < _RESOLVED_RESIDUAL * n_features * _EPS:
        raise ValueError(
            "LogME evidence cannot be resolved: the features fit a target "
            f"almost exactly (the residual is {ratio:.1e} of its energy, "
            "within the round-off of the Gram matrix it is computed from), so "
            "the maximum evidence would be round-off. Remove duplicated or "
            "target-derived feature columns."
        )


def _maximize_evidence(problem, method, tol, max_iter, epsilon):
    """Run the per-target evidence maximisation, vectorised over targets."""
    K = problem.system.C.shape[1]
    N, D = problem.n_samples, problem.n_features
    s = problem.eigenvalues
    alpha = np.ones(K)
    beta = np.ones(K)
    m2 = np.zeros(K)
    res2 = np.zeros(K)
    shift = np.ones(K)
    n_iter = np.zeros(K, dtype=np.int64)
    converged = np.zeros(K, dtype=bool)
    active = np.arange(K)
    for it in range(max_iter):
        if active.size == 0:
            break
        t = alpha[active] / beta[active]
        gamma = (s[None, :] / (s[None, :] + t[:, None])).sum(axis=1)
        forms = np.array([problem.forms(k, tk) for k, tk in zip(active, t)])
        m2_a, res2_a = forms[:, 0], forms[:, 1]
        alpha_a = gamma / (m2_a + epsilon)
        beta_a = (N - gamma) / (res2_a + epsilon)
        change = np.abs(alpha_a / beta_a - t) / t
        # The two published schemes differ in their stopping comparison.
        done = change <= tol if method == "fixed_point" else change < tol
        alpha[active], beta[active] = alpha_a, beta_a
        m2[active], res2[active] = m2_a, res2_a
        shift[active] = t
        n_iter[active] = it + 1
        converged[active[done]] = True
        active = active[~done]
    if method == "icml":
        # The ICML evidence adds the epsilons to both energy terms.
        m2_e, res2_e = m2 + epsilon, res2 + epsilon
    else:
        m2_e, res2_e = m2, res2
    evidence = (
        D / 2.0 * np.log(alpha)
        + N / 2.0 * np.log(beta)
        - 0.5 * problem.log_det(alpha, beta)
        - beta / 2.0 * res2_e
        - alpha / 2.0 * m2_e
        - N / 2.0 * _LOG_2PI
    ) / N
    return evidence, alpha, beta, n_iter, converged, shift


def logme_from_problem(
    problem,
    *,
    method="global",
    tol=None,
    max_iter=None,
    epsilon=1e-5,
    compute_coef=True,
):
    """Maximise the evidence of a prepared problem and return a LogMEResult."""
    if tol is None:
        tol = DEFAULT_TOL[method]
    if max_iter is None:
        max_iter = DEFAULT_MAX_ITER[method]
    if method == "global":
        evidence, alpha, beta, n_iter, converged, shift = _global_maximum(
            problem, tol, max_iter
        )
    else:
        evidence, alpha, beta, n_iter, converged, shift = _maximize_evidence(
            problem, method, tol, max_iter, epsilon
        )
    if problem.scale != 1.0:
        # α of the rescaled features; the weights' prior precision scales as
        # 1/scale² (α/β is a shift of the Gram matrix).
        with np.errstate(over="ignore", under="ignore"):
            alpha = np.ldexp(alpha, -2 * (np.frexp(problem.scale)[1] - 1))
    if not np.all(np.isfinite(evidence)):
        raise ValueError(
            "LogME evidence is not finite: the features are degenerate for this "
            "target (for example all zeros, or a target the features fit exactly)."
        )
    if not converged.all():
        warnings.warn(
            f"LogME did not converge within max_iter={max_iter} for "
            f"{int((~converged).sum())} of {converged.size} targets; the score "
            "uses the last iterate. Increase max_iter for a tighter optimum.",
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
        )
    return LogMEResult(
        score=float(np.mean(evidence)),
        evidence=evidence,
        alpha=alpha,
        beta=beta,
        n_iter=n_iter,
        converged=converged,
        coef=problem.coef(shift) if compute_coef else None,
    )


def prepare_logme_target(y, n_samples, task):
    """Validate ``y`` for LogME; return ``(task, Y, classes)``.

    Classification labels become a sparse one-hot matrix (one-vs-rest targets);
    regression targets (and multi-label indicator matrices) a float (N, K) array.
    """
    task = infer_task(y, task)
    if task == "classification":
        y_enc, classes = check_classification_target(
            y, n_samples, min_samples_per_class=2, allow_many_classes=True
        )
        return task, onehot(y_enc, classes.shape[0]), classes
    return task, check_regression_target(y, n_samples), None


#: Constraints of LogME's parameters, shared by :func:`logme` and the estimator.
_PARAMETERS = {
    "task": [StrOptions({"auto", "classification", "regression"})],
    "method": [StrOptions(set(METHODS))],
    "max_iter": [Interval(Integral, 1, None, closed="left"), None],
    "tol": [Interval(Real, 0, None, closed="neither"), None],
    "epsilon": [Interval(Real, 0, None, closed="left")],
    "device": DEVICE_PARAMETER,
}


@validate_params(
    {"features": STREAMING_FEATURES, "y": ["array-like"], **_PARAMETERS},
    prefer_skip_nested_validation=True,
)
def logme(
    features,
    y,
    *,
    task="auto",
    method="global",
    max_iter=None,
    tol=None,
    epsilon=1e-5,
    device=None,
):
    r"""LogME transferability score: the maximum log evidence per sample.

    Fits a Bayesian linear model :math:`y = F w + \varepsilon` with prior
    :math:`w \sim \mathcal{N}(0, \alpha^{-1} I)` and noise
    :math:`\varepsilon \sim \mathcal{N}(0, \beta^{-1})` to each target, maximises
    the marginal likelihood over :math:`\alpha, \beta` and returns the mean over
    targets of the maximum log evidence divided by N. Higher is better; values are
    typically in [-2, 2] and comparable only between feature sets on the same
    target.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Features of the target data from a pre-trained model. float32 stays float32
        at the input; every computation runs in float64, chunk by chunk, with no
        full float64 copy when ``n_samples > n_features``.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Class labels (any labels: strings, gaps, offsets), real-valued targets, or
        a multi-label indicator matrix (scored as one binary target per column).
    task : {"auto", "classification", "regression"}, default="auto"
        ``"auto"`` infers it from ``y`` (:func:`~skdisco.utils.infer_task`).
        Classification scores each class one-vs-rest.
    method : {"global", "fixed_point", "icml"}, default="global"
        How the evidence is maximised over :math:`\alpha, \beta`. ``"global"``
        returns its global maximum per target (Notes). ``"fixed_point"`` (the
        JMLR iteration, thuml/LogME's default) and ``"icml"`` (MacKay's
        iteration of the ICML paper) reproduce the published code: with the
        default ``max_iter`` they stop after its 11 iterations from
        :math:`\alpha = \beta = 1`.
    max_iter : int, default=None
        Iterations per target: Newton steps per candidate maximum for
        ``"global"`` (``None``: 100), iterations of the reference schemes
        (``None``: the reference's 11).
    tol : float, default=None
        Relative change of :math:`\alpha/\beta` that stops the iteration
        (``None``: ``1e-10`` for ``"global"``, ``1e-3`` for ``"fixed_point"``,
        ``1e-2`` for ``"icml"``, the references' values).
    epsilon : float, default=1e-5
        Added to the energy terms in the updates of the reference schemes, as the
        reference code does; ``epsilon=0`` with ``method="icml"`` reproduces the
        Transfer-Learning-Library. Not used by ``"global"`` (exact evidence).
    device : {"cpu", "cuda", "auto"}, default=None
        Where the pass over the rows (the Gram matrix and the class sums) runs:
        None for NumPy on the host (a CUDA tensor stays on its GPU, in float64),
        ``"cpu"`` torch float64 on the CPU (equal to NumPy to round-off),
        ``"cuda"`` float32 products on the GPU (TF32 off, blocks centred on a
        shift, float64 totals; the tolerance is on the GPU backend page),
        ``"auto"`` CUDA when available, else the CPU. The evidence is then
        maximised on the host in float64. For N ≤ D the rows are read whole
        onto the host (the N × N kernel is the smaller problem).

    Returns
    -------
    score : float
        LogME score, higher is better.

    See Also
    --------
    skdisco.scorers.LogMEScorer : The estimator, with per-target attributes and
        ``partial_fit``.

    Notes
    -----
    With :math:`F^\top F = V \operatorname{diag}(s) V^\top`, :math:`t = \alpha/\beta`
    and :math:`m = (F^\top F + tI)^{-1} F^\top y` the evidence per sample is

    .. math::

        \frac{1}{N}\Big[\tfrac{D}{2}\log\alpha + \tfrac{N}{2}\log\beta
        - \tfrac12\sum_{i=1}^{D}\log(\alpha + \beta s_i)
        - \tfrac{\beta}{2}\lVert y - F m\rVert^2 - \tfrac{\alpha}{2}\lVert m\rVert^2
        - \tfrac{N}{2}\log 2\pi\Big].

    The implementation never forms eigenvectors: it reduces the Gram matrix
    (:math:`F^\top F`, or :math:`F F^\top` when N ≤ D) to tridiagonal form once,
    takes its eigenvalues, and evaluates the two quadratic forms for every target
    and iteration with an O(D) tridiagonal solve.

    **The default is the global maximum** (``method="global"``). For a ratio
    :math:`t = \alpha/\beta` the best β is :math:`N/Q(t)` with
    :math:`Q(t) = \lVert y - F m\rVert^2 + t\lVert m\rVert^2`, which leaves the
    one-dimensional profile

    .. math::

        E(t) = -\tfrac{N}{2}\log\tfrac{Q(t)}{N}
        - \tfrac12\sum_{s_i > 0}\log\big(1 + \tfrac{s_i}{t}\big)
        - \tfrac{N}{2}(1 + \log 2\pi)

    (the zero eigenvalues of N < D or rank-deficient features give the
    :math:`(D - k)\log\alpha` of the full formula exactly). It is sampled for
    every target at once on a grid of :math:`\log t` spanning the spectrum (one
    multi-column tridiagonal solve per point), every sign change of its
    derivative is refined by safeguarded Newton steps, and the highest
    candidate wins. Two suprema lie on the boundary and are returned as exact
    limits, not capped: :math:`\alpha \to \infty` (``alpha = inf``, zero
    weights, the pure-noise evidence :math:`-\frac12(\log\frac{\lVert y
    \rVert^2}{N} + 1 + \log 2\pi)`) when the evidence keeps rising with
    :math:`\alpha`, and, for features of rank N (N ≤ D), :math:`\beta \to
    \infty` (``beta = inf``, noise-free interpolation,
    :math:`\log\mathcal{N}(y \mid 0, FF^\top/\alpha)/N`). A target the
    features fit exactly with N > rank has unbounded evidence: a ValueError.
    One fitted to a relative residual :math:`r = Q/\lVert y\rVert^2` below
    :math:`10^5 D\,\epsilon` (~5e-9 at D = 2048) is a ValueError too: with
    N > D, :math:`Q` is :math:`\lVert y\rVert^2` minus a quadratic form of the
    Gram matrix, whose round-off (relative error about :math:`\epsilon / r`)
    would decide the evidence's leading digits. Above it the maximum is
    returned however far below the spectrum it lies (the grid reaches down to
    the round-off of the eigenvalues). Scaling the features by :math:`c` maps
    α to :math:`c^2\alpha` at the same β, so the maximum is exactly scale
    invariant; the computation is too (shifts relative to the spectrum, and
    features beyond :math:`2^{\pm 200}`
    rescaled by a power of two before any product).

    Why it differs from the published code: the references stop after 11
    iterations from :math:`\alpha = \beta = 1`, which is short of the maximum
    and depends on the scale of the features, and their fixed point, even
    iterated to convergence, can be a local maximum. Measured on the landed
    code: case ``d`` of our reference set (N = 100 < D = 512) -0.2892 with the
    reference iteration, -0.2580 here (two classes at the α → ∞ boundary);
    N = 150, D = 1024, C = 15 class-structured features 0.4079 → 0.4085;
    classes of 3 to 12 samples (N = 472, D = 72) the converged fixed point
    0.735099, the maximum 0.735207 (one class 0.005 higher); the digits of
    the README at 1×, 100×, 1000× and 1e30× the pixels 0.2703, 0.2701, 0.2444
    and -1.854 with the reference iteration, 0.270278 at every scale here.
    The reference values stay one argument away (``method="fixed_point"`` or
    ``"icml"``) and are tested.

    **Deviation from the reference** (thuml/LogME, fixed-point path): when
    N < D or the features are rank-deficient, the reference sums
    :math:`\log(\alpha + \beta s_i)` over the non-zero singular values only,
    dropping :math:`(D - k)\log\alpha` and inflating the score (case ``d`` of our
    reference set: 17.08 instead of about -0.289). We sum over all D eigenvalues,
    as the ICML path and the Transfer-Learning-Library do (thuml/LogME issue 23).
    Labels are remapped to ``0 .. C-1`` (the reference averages over
    ``max(y) + 1`` classes, counting absent labels).

    References
    ----------
    .. [1] K. You, Y. Liu, J. Wang, M. Long. "LogME: Practical Assessment of
       Pre-trained Models for Transfer Learning". ICML 2021.
    .. [2] K. You, Y. Liu, Z. Zhang, J. Wang, M. I. Jordan, M. Long. "Ranking and
       Tuning Pre-trained Models: A New Paradigm for Exploiting Model Hubs".
       JMLR 23(209), 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdisco.transferability import logme
    >>> X, y = load_digits(return_X_y=True)
    >>> round(logme(X / 16.0, y), 4)
    0.2703
    """
    F = check_features(features, out_of_core=True, n_samples=num_rows(y), device=device)
    task, Y, _ = prepare_logme_target(y, F.shape[0], task)
    return logme_result(
        F,
        Y,
        method=method,
        max_iter=max_iter,
        tol=tol,
        epsilon=epsilon,
        compute_coef=False,
    ).score


def logme_result(
    F,
    Y,
    *,
    method="global",
    max_iter=None,
    tol=None,
    epsilon=1e-5,
    compute_coef=True,
):
    """LogME of features ``F`` for the target matrix ``Y`` (N, K).

    ``Y`` is the one-hot matrix of encoded class labels (one-vs-rest targets) or
    the float regression targets, as :func:`prepare_logme_target` returns it.
    Inputs are validated and encoded by the caller (the public function or the
    estimator): nothing is checked again here.
    """
    problem = _EvidenceProblem.from_features(F, Y)
    return logme_from_problem(
        problem,
        method=method,
        tol=tol,
        max_iter=max_iter,
        epsilon=epsilon,
        compute_coef=compute_coef,
    )


__all__ = ["logme", "LogMEResult", "LogMEStatistics", "iter_float64_chunks"]
