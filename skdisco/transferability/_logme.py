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

from ..utils._validation import (
    check_classification_target,
    check_features,
    check_regression_target,
    infer_task,
)
from ._linalg import (
    TridiagonalSystem,
    gram_statistics,
    iter_float64_chunks,
    kernel_matrix,
    onehot,
)

METHODS = ("fixed_point", "icml")
DEFAULT_TOL = {"fixed_point": 1e-3, "icml": 1e-2}
_LOG_2PI = np.log(2.0 * np.pi)


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
        Prior precision of the weights and precision of the noise at the optimum.
    n_iter : ndarray of shape (n_targets,)
        Iterations used per target.
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

    def update(self, F, Y):
        """Add a chunk of features ``F`` (n, d) and targets ``Y`` (n, K or sparse)."""
        G, B = gram_statistics(F, Y)
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

    def __init__(self, system, target_sq, n_samples, n_features, features=None):
        self.system = system
        self.target_sq = target_sq
        self.n_samples = n_samples
        self.n_features = n_features
        self.features = features  # kept only by the dual form, for the weights
        self.dual = features is not None
        self.eigenvalues = system.eigenvalues

    @classmethod
    def from_statistics(cls, stats):
        system = TridiagonalSystem(stats.gram, stats.cross)
        return cls(system, stats.target_sq, stats.n_samples, stats.n_features)

    @classmethod
    def from_features(cls, F, Y):
        n, d = F.shape
        target_sq = _column_sq_sums(Y)
        if n > d:
            G, B = gram_statistics(F, Y, lower_only=True)
            return cls(TridiagonalSystem(G, B, overwrite_a=True), target_sq, n, d)
        Fd = np.ascontiguousarray(F, dtype=np.float64)
        Yd = Y.toarray() if hasattr(Y, "toarray") else Y
        system = TridiagonalSystem(kernel_matrix(Fd), Yd)
        return cls(system, target_sq, n, d, features=Fd)

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
        """Posterior means ``m_k`` of shape (K, D) at the given shifts."""
        sol = (
            np.column_stack([self.system.solve(k, t) for k, t in enumerate(shifts)])
            if len(shifts)
            else np.zeros((self.system.C.shape[0], 0))
        )
        M = self.system.apply_q(sol)
        if self.dual:
            M = self.features.T @ M
        return np.ascontiguousarray(M.T)

    def log_det(self, alpha, beta):
        """``Σ log(α + β s_i)`` over all D eigenvalues of ``FᵀF``, per target."""
        s = self.eigenvalues
        out = np.log(alpha[:, None] + beta[:, None] * s[None, :]).sum(axis=1)
        missing = self.n_features - s.shape[0]
        if missing > 0:
            out += missing * np.log(alpha)
        return out


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
    method="fixed_point",
    tol=None,
    max_iter=11,
    epsilon=1e-5,
    compute_coef=True,
):
    """Maximise the evidence of a prepared problem and return a LogMEResult."""
    if tol is None:
        tol = DEFAULT_TOL[method]
    evidence, alpha, beta, n_iter, converged, shift = _maximize_evidence(
        problem, method, tol, max_iter, epsilon
    )
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
            stacklevel=3,
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
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="neither"), None],
    "epsilon": [Interval(Real, 0, None, closed="left")],
}


@validate_params(
    {"features": ["array-like"], "y": ["array-like"], **_PARAMETERS},
    prefer_skip_nested_validation=True,
)
def logme(
    features,
    y,
    *,
    task="auto",
    method="fixed_point",
    max_iter=11,
    tol=None,
    epsilon=1e-5,
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
    method : {"fixed_point", "icml"}, default="fixed_point"
        Evidence maximisation scheme: the fixed-point iteration of the JMLR paper
        (the reference's default) or MacKay's iteration of the ICML paper.
    max_iter : int, default=11
        Maximum iterations per target (the reference's 11).
    tol : float, default=None
        Relative change of :math:`\alpha/\beta` that stops the iteration:
        ``1e-3`` for ``"fixed_point"``, ``1e-2`` for ``"icml"`` (the references').
    epsilon : float, default=1e-5
        Added to the energy terms in the updates, as the reference code does;
        ``epsilon=0`` with ``method="icml"`` reproduces the Transfer-Learning-Library.

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
    F = check_features(features)
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
    method="fixed_point",
    max_iter=11,
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
