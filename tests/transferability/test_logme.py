"""LogME against the published reference values and independent oracles."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import BayesianRidge

from skdisco.transferability import logme
from skdisco.transferability._logme import logme_result, prepare_logme_target

CLASSIFICATION_CASES = [
    "a_gauss_n300_d32_c4",
    "b_lowrank_n2000_d256_c20",
    "d_n_lt_d_n100_d512_c10",
    "g_imbalanced_const_col_n300_d48_c5",
]
REGRESSION_CASES = [
    "c1_regression_n1000_d64_k1",
    "c3_regression_n1000_d64_k3",
    "f_multilabel_n500_d64_k5",
]
# (method, epsilon, reference implementation)
SCHEMES = [
    ("fixed_point", 1e-5, "thuml_LogME.fixed_point"),
    ("icml", 1e-5, "thuml_LogME.icml"),
    ("icml", 0.0, "tllib"),
]
RTOL = 1e-6


def _quiet_logme(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return logme(*args, **kwargs)


def _case_xy(load_case, case):
    data = load_case(case)
    return data["X"], data["y"] if "y" in data else data["Y"]


@pytest.mark.parametrize("case", CLASSIFICATION_CASES + REGRESSION_CASES)
@pytest.mark.parametrize("method,epsilon,impl", SCHEMES)
def test_logme_matches_reference(
    case, method, epsilon, impl, load_case, reference_scores
):
    X, y = _case_xy(load_case, case)
    prefix = "logme_regression" if case in REGRESSION_CASES else "logme"
    expected = reference_scores[case][f"{prefix}.{impl}"]
    task = "regression" if case in REGRESSION_CASES else "classification"
    got = _quiet_logme(X, y, task=task, method=method, epsilon=epsilon)
    if case.startswith("d_") and impl.endswith("fixed_point"):
        # The documented reference defect (N < D): the reference drops
        # (D - k) log(alpha); the correct evidence is near the ICML value.
        assert expected > 17.0
        icml = reference_scores[case]["logme.thuml_LogME.icml"]
        assert got == pytest.approx(icml, rel=2e-3)
        assert abs(got - expected) > 17.0
    else:
        assert got == pytest.approx(expected, rel=RTOL)


@pytest.mark.parametrize(
    "case",
    [
        "a_gauss_n300_d32_c4",
        "d_n_lt_d_n100_d512_c10",
        "c3_regression_n1000_d64_k3",
        "f_multilabel_n500_d64_k5",
    ],
)
def test_logme_details_match_reference(case, load_case, reference_scores):
    X, y = _case_xy(load_case, case)
    prefix = "logme_regression" if case in REGRESSION_CASES else "logme"
    details = reference_scores[case][f"{prefix}.thuml_LogME.fixed_point.details"]
    task = "regression" if case in REGRESSION_CASES else "classification"
    _, Y, _ = prepare_logme_target(y, X.shape[0], task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = logme_result(X, Y, method="fixed_point")
    # alpha and beta do not depend on the log-determinant, so they match the
    # reference even where its evidence is wrong (case d).
    np.testing.assert_allclose(res.alpha, details["alphas"], rtol=RTOL)
    np.testing.assert_allclose(res.beta, details["betas"], rtol=RTOL)
    assert np.linalg.norm(res.coef) == pytest.approx(details["ms_fro_norm"], rel=RTOL)


def test_logme_label_gaps_equal_relabelled_case(load_case, reference_scores):
    X, y = _case_xy(load_case, "e_gap_labels_n300_d32_c4")
    assert set(np.unique(y)) == {3, 7, 10, 42}
    expected = reference_scores["a_gauss_n300_d32_c4"]["logme.thuml_LogME.fixed_point"]
    # The reference averages over 43 "classes" here (6.495...); we remap.
    for labels in (y, y.astype(str)):
        got = logme(X, labels, method="fixed_point")
        assert got == pytest.approx(expected, rel=1e-12)
    # The default (the global maximum) is relabelling-invariant too.
    X_a, y_a = _case_xy(load_case, "a_gauss_n300_d32_c4")
    assert logme(X, y) == pytest.approx(logme(X_a, y_a), rel=1e-12)


def _decaying_spectrum_problem(n, d, seed):
    """Features with a decaying spectrum and two targets with signal and noise.

    With isotropic features and N < D, noise and signal are not identifiable
    (F Fᵀ is nearly a multiple of I) and the evidence runs off to beta = infinity;
    a decaying spectrum keeps the optimum interior, as real features do.
    """
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n, d)) * 0.9 ** np.arange(d)
    Y = np.column_stack(
        [
            F @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n),
            0.3 * F @ rng.standard_normal(d) + rng.standard_normal(n),
        ]
    )
    return F, Y


def _dense_log_evidence(F, y, alpha, beta):
    """log N(y | 0, I/beta + F Fᵀ/alpha) / N -- the marginal likelihood itself."""
    N = F.shape[0]
    cov = np.eye(N) / beta + F @ F.T / alpha
    return multivariate_normal(mean=np.zeros(N), cov=cov).logpdf(y) / N


@pytest.mark.parametrize("n,d", [(120, 20), (40, 90)], ids=["N>D", "N<D"])
@pytest.mark.parametrize("method", ["fixed_point", "icml"])
def test_logme_evidence_equals_dense_marginal_likelihood(n, d, method):
    F, Y = _decaying_spectrum_problem(n, d, seed=0)
    res = logme_result(F, Y, method=method, max_iter=2000, tol=1e-13, epsilon=0.0)
    assert res.converged.all()
    for k in range(Y.shape[1]):
        expected = _dense_log_evidence(F, Y[:, k], res.alpha[k], res.beta[k])
        assert res.evidence[k] == pytest.approx(expected, rel=1e-8)


def test_logme_rank_deficient_features_count_every_dimension():
    # Duplicated columns: rank 10 of D = 20 with N > D. The evidence must be the
    # D-dimensional marginal likelihood (all D eigenvalues, zeros included).
    rng = np.random.default_rng(1)
    base = rng.standard_normal((200, 10))
    F = np.hstack([base, base])
    y = base @ rng.standard_normal(10) + 0.5 * rng.standard_normal(200)
    res = logme_result(F, y[:, None], max_iter=2000, tol=1e-13, epsilon=0.0)
    expected = _dense_log_evidence(F, y, res.alpha[0], res.beta[0])
    assert res.evidence[0] == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("n,d", [(150, 12), (30, 60)], ids=["N>D", "N<D"])
def test_logme_matches_bayesian_ridge_at_convergence(n, d):
    F, Y = _decaying_spectrum_problem(n, d, seed=2)
    y = Y[:, 0]
    res = logme_result(F, y[:, None], max_iter=5000, tol=1e-14, epsilon=0.0)
    br = BayesianRidge(
        fit_intercept=False,
        alpha_1=0.0,
        alpha_2=0.0,
        lambda_1=0.0,
        lambda_2=0.0,
        max_iter=100000,
        tol=1e-14,
        alpha_init=1.0,
        lambda_init=1.0,
    ).fit(F, y)
    # sklearn: lambda_ = weight precision (our alpha), alpha_ = noise (our beta).
    assert res.alpha[0] == pytest.approx(br.lambda_, rel=1e-6)
    assert res.beta[0] == pytest.approx(br.alpha_, rel=1e-6)
    np.testing.assert_allclose(res.coef[0], br.coef_, rtol=1e-6, atol=1e-10)


def test_logme_schemes_converge_to_the_same_optimum_when_n_below_d(load_case):
    # Case d: with the reference's 11 iterations neither scheme has converged, so
    # the fixed-point and ICML values differ by ~1e-3; run to convergence they agree.
    X, y = _case_xy(load_case, "d_n_lt_d_n100_d512_c10")
    fp = logme(X, y, max_iter=3000, tol=1e-13, epsilon=0.0)
    icml = logme(X, y, method="icml", max_iter=3000, tol=1e-13, epsilon=0.0)
    assert fp == pytest.approx(icml, rel=1e-9)


def test_logme_float32_input_matches_float64():
    rng = np.random.default_rng(3)
    F = rng.standard_normal((500, 40)).astype(np.float32)
    y = rng.integers(0, 5, 500)
    assert logme(F, y) == pytest.approx(logme(F.astype(np.float64), y), rel=1e-12)


def test_logme_primal_and_dual_paths_agree():
    # N = D + 1 uses the d x d Gram; N = D uses the N x N kernel. Same data, padded.
    rng = np.random.default_rng(4)
    F = rng.standard_normal((64, 64))
    y = rng.integers(0, 3, 64)
    _, Y, _ = prepare_logme_target(y, 64, "classification")
    from skdisco.transferability._linalg import gram_statistics
    from skdisco.transferability._logme import (
        LogMEStatistics,
        _EvidenceProblem,
        logme_from_problem,
    )

    dual = logme_result(F, Y, max_iter=200, tol=1e-12)
    stats = LogMEStatistics(64, 3).update(F, Y)
    primal = logme_from_problem(
        _EvidenceProblem.from_statistics(stats), max_iter=200, tol=1e-12
    )
    np.testing.assert_allclose(primal.evidence, dual.evidence, rtol=1e-9)
    assert gram_statistics(F)[0] == pytest.approx(F.T @ F)


def test_logme_warns_when_not_converged():
    rng = np.random.default_rng(5)
    F = rng.standard_normal((100, 10))
    y = rng.integers(0, 2, 100)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        logme(F, y, method="fixed_point", max_iter=1)


def test_logme_informative_features_beat_noise():
    rng = np.random.default_rng(6)
    y = np.repeat(np.arange(5), 60)
    informative = 2.0 * rng.standard_normal((5, 30))[y] + rng.standard_normal((300, 30))
    noise = rng.standard_normal((300, 30))
    assert logme(informative, y) > logme(noise, y)


def test_logme_multilabel_indicator_scored_as_binary_targets():
    rng = np.random.default_rng(7)
    F = rng.standard_normal((200, 16))
    Y = (rng.random((200, 3)) < 0.4).astype(int)
    expected = np.mean(
        [logme(F, Y[:, k].astype(float), task="regression") for k in range(3)]
    )
    assert logme(F, Y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "X,y,match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), [0, 1, 0], "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), [0, 1, 0], "infinity"),
        (np.ones((4, 2)), [1, 1, 1, 1], "single class"),
        (np.arange(8.0).reshape(4, 2), [0, 0, 0, 1], "at least 2 samples"),
        (np.ones((4, 2)), [0, 1, 0], "samples"),
        (np.ones(4), [0, 1, 0, 1], "2D array"),
        (np.ones((0, 3)), [], "0 sample"),
        (np.array([["a", "b"], ["c", "d"]]), [0, 1], "numeric"),
        (np.ones((4, 2)), np.array([0.0, np.nan, 1.0, 2.0]), "NaN"),
    ],
    ids=[
        "nan",
        "inf",
        "one-class",
        "class-of-one",
        "length",
        "1d",
        "empty",
        "non-numeric",
        "nan-target",
    ],
)
def test_logme_bad_input_raises_value_error(X, y, match):
    with pytest.raises(ValueError, match=match):
        logme(X, y)


# --- The default: the global maximum of the evidence ------------------------


def _rare_class_problem(seed=3, d=72):
    """Classes of 3 to 12 samples (N ~ 470, D = 72): the fixed point of the
    published iteration is a local maximum for some of them."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 13, 64)
    sizes = sizes[np.cumsum(sizes) <= 480]
    y = np.repeat(np.arange(sizes.size), sizes)
    means = rng.standard_normal((sizes.size, d))[y]
    F = (rng.standard_normal((y.size, d)) + means) * 0.85 ** np.arange(d)
    return F, y


def _rank_deficient_problem():
    """Duplicated and all-zero columns: rank 10 of D = 22 with N = 200."""
    rng = np.random.default_rng(1)
    base = rng.standard_normal((200, 10)) * 0.8 ** np.arange(10)
    F = np.hstack([base, base, np.zeros((200, 2))])
    y = np.repeat(np.arange(4), 50)
    return F + 0.0, base[:, 0] * 0 + y  # labels as floats: scored as classes


class _DenseEvidence:
    """log N(y | 0, I/β + F Fᵀ/α) / N from one SVD -- independent of skdisco."""

    def __init__(self, F, y):
        N = F.shape[0]
        U, sv, _ = np.linalg.svd(F, full_matrices=True)
        self.s = np.zeros(N)
        self.s[: sv.shape[0]] = sv**2
        self.z2 = (U.T @ y) ** 2
        self.N = N

    def __call__(self, log_alpha, log_beta):
        with np.errstate(over="ignore", invalid="ignore"):
            var = np.exp(-log_beta) + self.s * np.exp(-log_alpha)
        return -0.5 * np.mean(np.log(var) + self.z2 / var) - 0.5 * np.log(2 * np.pi)

    def best_of_multistart(self):
        """Highest evidence L-BFGS finds from a 5 x 5 grid of (log α, log β)."""
        from scipy.optimize import minimize

        best = -np.inf
        for la in np.linspace(-12.0, 12.0, 5):
            for lb in np.linspace(-12.0, 12.0, 5):
                res = minimize(
                    lambda p: -self(*p), [la, lb], method="L-BFGS-B", tol=1e-14
                )
                best = max(best, -res.fun)
        return best


def _targets(F, y):
    task = "regression" if np.ndim(y) == 2 else "classification"
    _, Y, _ = prepare_logme_target(y, F.shape[0], task)
    return Y.toarray() if hasattr(Y, "toarray") else Y


_ORACLE_CASES = {
    "N>D": lambda: _decaying_spectrum_problem(120, 20, seed=0),
    "N<D": lambda: _decaying_spectrum_problem(40, 90, seed=0),
    "rare-classes": _rare_class_problem,
    "rank-deficient": _rank_deficient_problem,
}


@pytest.mark.parametrize("case", list(_ORACLE_CASES))
def test_logme_default_is_global_maximum_of_dense_evidence(case):
    F, y = _ORACLE_CASES[case]()
    Y = _targets(F, y)
    res = logme_result(F, Y)
    assert res.converged.all()
    # Every target of the small cases; of the rare classes, every fourth.
    for k in range(0, Y.shape[1], 4 if Y.shape[1] > 10 else 1):
        dense = _DenseEvidence(F, Y[:, k])
        # Nothing a dense multi-start search finds is higher ...
        assert dense.best_of_multistart() <= res.evidence[k] + 1e-10
        a, b = res.alpha[k], res.beta[k]
        if np.isfinite(a) and np.isfinite(b):
            # ... the returned optimum is the evidence at (α, β) ...
            la, lb = np.log(a), np.log(b)
            assert dense(la, lb) == pytest.approx(res.evidence[k], abs=1e-10)
            # ... and its gradient vanishes there.
            h = 1e-4
            grad = [
                (dense(la + h, lb) - dense(la - h, lb)) / (2 * h),
                (dense(la, lb + h) - dense(la, lb - h)) / (2 * h),
            ]
            np.testing.assert_allclose(grad, 0.0, atol=1e-8)
        elif np.isinf(a):
            # α → ∞ (zero weights): the pure-noise evidence, the supremum.
            y2 = np.mean(Y[:, k] ** 2)
            assert res.evidence[k] == pytest.approx(
                -0.5 * (np.log(y2) + 1 + np.log(2 * np.pi)), abs=1e-12
            )
            assert dense(np.log(a if np.isfinite(a) else 1e300), -np.log(y2)) <= (
                res.evidence[k] + 1e-12
            )
        else:
            # β → ∞ (noise-free interpolation, rank N): log N(y | 0, FFᵀ/α).
            assert np.isinf(b) and F.shape[0] <= np.linalg.matrix_rank(F)
            assert dense(np.log(a), 40.0) == pytest.approx(res.evidence[k], abs=1e-8)


def test_logme_default_beats_fully_iterated_fixed_point_on_rare_classes():
    # The published fixed point, iterated to convergence, stops at a local
    # maximum for some classes of a handful of samples.
    F, y = _rare_class_problem()
    Y = _targets(F, y)
    best = logme_result(F, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fp = logme_result(F, Y, method="fixed_point", max_iter=5000, tol=1e-12)
    assert np.all(best.evidence >= fp.evidence - 1e-12)
    assert np.max(best.evidence - fp.evidence) > 4e-3
    assert best.score == pytest.approx(0.735207, abs=1e-6)
    assert fp.score == pytest.approx(0.735099, abs=1e-6)


def test_logme_default_reaches_maximum_on_case_d(load_case):
    # N < D: the reference's 11 iterations stop at -0.2892; the maximum is -0.2580,
    # with two classes at the α → ∞ boundary.
    X, y = _case_xy(load_case, "d_n_lt_d_n100_d512_c10")
    assert logme(X, y) == pytest.approx(-0.258041, abs=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert logme(X, y, method="fixed_point") == pytest.approx(-0.289170, abs=1e-6)
    res = logme_result(X, _targets(X, y))
    assert np.isinf(res.alpha).sum() == 2
    assert np.all(res.coef[np.isinf(res.alpha)] == 0.0)


@pytest.mark.parametrize("case", ["N>D", "N<D", "rare-classes"])
def test_logme_default_is_invariant_to_feature_scale(case):
    F, y = _ORACLE_CASES[case]()
    base = logme(F, y)
    for factor in [1e-6, 1e-3, 0.1, 7.0, 100.0, 1e3, 1e6]:
        assert logme(factor * F, y) == pytest.approx(base, rel=1e-8)


@pytest.mark.parametrize("factor", [1e30, 1e200, 1e-200])
def test_logme_extreme_feature_scale_is_finite_and_equal(factor, load_case):
    X, y = _case_xy(load_case, "a_gauss_n300_d32_c4")
    assert logme(factor * X, y) == pytest.approx(logme(X, y), rel=1e-10)
    X, y = _case_xy(load_case, "d_n_lt_d_n100_d512_c10")
    assert logme(factor * X, y) == pytest.approx(logme(X, y), rel=1e-10)


def test_logme_default_does_not_warn_on_readme_quick_start():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    pooled = X.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(len(X), 16)
    noise = np.random.default_rng(0).standard_normal(X.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = [logme(f, y) for f in (X, pooled, noise)]
    assert scores[0] > scores[1] > scores[2]
    assert scores[0] == pytest.approx(0.270278, abs=1e-6)


def test_logme_target_fit_exactly_raises_value_error():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 5))
    with pytest.raises(ValueError, match="no maximum"):
        logme(X, X @ np.ones(5), task="regression")


def test_logme_maximum_far_below_the_spectrum_is_found():
    # Classes 3e3 noise widths apart: each one-hot target is fitted to a
    # relative residual of ~3e-7, which puts its maximum at t = α/β ~ 1, 2e8
    # below the spectrum and under the grid's former lowest point: the
    # evidence was refused as unbounded ("no maximum") though it has one.
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 20)
    X = np.eye(3)[y] * 3e3 + rng.normal(size=(60, 3))
    converged = logme(
        X, y, method="fixed_point", max_iter=100_000, tol=1e-15, epsilon=0.0
    )
    assert logme(X, y) == pytest.approx(converged, rel=1e-10)
    # Closer to an exact fit the residual is round-off of the Gram matrix:
    # refused, with the reason, not returned as digits of noise.
    X = np.eye(3)[y] * 3e5 + rng.normal(size=(60, 3))
    with pytest.raises(ValueError, match="cannot be resolved.*almost exactly"):
        logme(X, y)


def _profile_and_brackets(F, Y):
    from skdisco.transferability._logme import _EvidenceProblem, _Profile

    problem = _EvidenceProblem.from_features(F, Y)
    profile = _Profile(problem)
    xs = profile.grid()
    dE = np.array(
        [profile.values(np.exp(x), *problem.profile_forms(np.exp(x)),
                        *(v[0] for v in profile.spectral_terms(np.exp(x))[:2]))[1]
         for x in xs]
    )
    rows, ks = np.nonzero((dE[:-1] > 0) & (dE[1:] <= 0))
    return profile, xs, rows, ks


@pytest.mark.parametrize("n,d", [(300, 40), (60, 150)], ids=["N>D", "N<D"])
def test_lockstep_newton_equals_each_bracket_refined_alone(n, d):
    # All brackets of all targets are refined together (one stacked solve per
    # iteration); each must follow exactly the iteration it follows alone.
    from skdisco.transferability._logme import _refine

    F, y = _rare_class_problem(d=d) if n == 300 else (
        _decaying_spectrum_problem(n, d, seed=1)[0],
        np.arange(n) % 7,
    )
    profile, xs, rows, ks = _profile_and_brackets(F, _targets(F, y))
    assert ks.size >= 3
    together = _refine(profile, ks, xs[rows], xs[rows + 1], xs[rows], 1e-10, 100)
    for j in range(ks.size):
        alone = _refine(
            profile, ks[j : j + 1], xs[rows[j : j + 1]], xs[rows[j : j + 1] + 1],
            xs[rows[j : j + 1]], 1e-10, 100,
        )
        for got, want in zip(together, alone):
            np.testing.assert_allclose(got[j], want[0], rtol=1e-12, atol=0)


def test_logme_newton_stops_at_the_zero_instead_of_bisecting_away():
    # N < D, classes in a low-rank subspace: Newton reaches dE/dx = 0 within a
    # few steps; the zero then became the bracket's end, the safeguard bisected
    # away from it and ~30 halvings walked back (36 steps for one class here).
    # Far below the spectrum the profile is flat to the last digit and dE/dx is
    # round-off that changes sign: such brackets are not refined at all. The
    # evidence is still the global maximum of the dense evidence.
    rng = np.random.default_rng(0)
    n, d, c = 300, 600, 30
    y = np.arange(n) % c
    centres = rng.standard_normal((c, 64)) @ rng.standard_normal((64, d)) / 8.0
    F = np.maximum(centres[y] + rng.standard_normal((n, d)) / np.sqrt(
        np.arange(1, d + 1)), 0.0)
    Y = _targets(F, y)
    res = logme_result(F, Y)
    assert res.converged.all()
    assert res.n_iter.max() <= 12
    for k in range(0, c, 6):
        dense = _DenseEvidence(F, Y[:, k])
        assert dense.best_of_multistart() <= res.evidence[k] + 1e-10
