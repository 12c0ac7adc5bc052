"""ETran against mgholamikn/ETran reference values and oracles."""

import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from skdisco.transferability import (
    etran,
    etran_combine,
    etran_components,
    etran_energy,
    etran_lda,
)
from skdisco.transferability._linalg import power_iteration_eigenvalue

ZOO = "z_zoo5_n600_c10"
CASES = [
    "a_gauss_n300_d32_c4",
    "b_lowrank_n2000_d256_c20",
    "d_n_lt_d_n100_d512_c10",
    "g_imbalanced_const_col_n300_d48_c5",
]


@pytest.mark.parametrize("case", CASES)
def test_etran_lda_matches_reference(case, reference_scores, load_case):
    data = load_case(case)
    ref = reference_scores[case]["etran_lda.ETran"]
    assert etran_lda(data["X"], data["y"]) == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("case", [c for c in CASES if not c.startswith("d_")])
def test_etran_energy_matches_reference(case, reference_scores, load_case):
    data = load_case(case)
    ref = reference_scores[case]["etran_energy.ETran.bot0.5"]
    assert etran_energy(data["X"]) == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("model", range(5))
def test_etran_components_match_reference_zoo(model, reference_scores, load_case):
    data, ref = load_case(ZOO), reference_scores[ZOO]
    got = etran_components(data[f"X_m{model}"], data["y"])
    expected = [
        ref[f"m{model}.etran_energy.ETran.bot0.5"],
        ref[f"m{model}.etran_lda.ETran"],
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_etran_zoo_matches_reference(reference_scores, load_case):
    data, ref = load_case(ZOO), reference_scores[ZOO]
    got = etran([data[f"X_m{m}"] for m in range(5)], data["y"])
    expected = [ref[f"m{m}.etran.ETran.zoo_minmax"] for m in range(5)]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


def test_etran_lda_label_gaps_equal_case_a(load_case):
    a, e = load_case("a_gauss_n300_d32_c4"), load_case("e_gap_labels_n300_d32_c4")
    assert etran_lda(e["X"], e["y"]) == pytest.approx(etran_lda(a["X"], a["y"]))


def test_etran_lda_reference_defect_is_nearest_mean(load_case):
    """The reference's eigh(inv(Sw) @ Sb) gives V Vᵀ = I: nearest class mean."""
    data = load_case("b_lowrank_n2000_d256_c20")
    X, y = data["X"], data["y"]
    C, n = 20, X.shape[0]
    means = np.array([X[y == c].mean(0) for c in range(C)])
    Sw = sum(np.mean(y == c) * np.cov(X[y == c].T, bias=True) for c in range(C))
    Sb = np.cov(X.T, bias=True) - Sw
    _, V = np.linalg.eigh(np.linalg.inv(Sw + 1e-3 * np.eye(256)) @ Sb)
    np.testing.assert_allclose(V @ V.T, np.eye(256), atol=1e-10)
    priors = np.bincount(y) / n
    logits = X @ means.T - 0.5 * (means**2).sum(1) + np.log(priors)
    naive = softmax(logits, axis=1)[np.arange(n), y].mean()
    assert etran_lda(X, y) == pytest.approx(naive, rel=1e-9)


def test_etran_lda_shrunk_is_sfda_first_stage_lda(load_case):
    data = load_case("a_gauss_n300_d32_c4")
    X, y = data["X"], data["y"]
    n, d = X.shape
    priors = np.bincount(y) / n
    means = np.array([X[y == c].mean(0) for c in range(4)])
    Sw = sum(priors[c] * np.cov(X[y == c].T, bias=True) for c in range(4))
    s = max(np.exp(-5 * power_iteration_eigenvalue(Sw)), 1e-10)
    P = np.linalg.inv((1 - s) * Sw + s * np.trace(Sw) / d * np.eye(d))
    logits = X @ P @ means.T - 0.5 * np.diag(means @ P @ means.T) + np.log(priors)
    naive = softmax(logits, axis=1)[np.arange(n), y].mean()
    assert etran_lda(X, y, covariance="shrunk") == pytest.approx(naive, rel=1e-9)


def test_etran_energy_small_sample_warns_and_is_defined(load_case):
    data = load_case("d_n_lt_d_n100_d512_c10")  # reference: NaN
    with pytest.warns(UserWarning, match="NaN"):
        got = etran_energy(data["X"])
    assert got == pytest.approx(logsumexp(data["X"], axis=1).min())


def test_etran_energy_top_tail_oracle():
    X = np.random.default_rng(0).normal(size=(1000, 5))
    e = np.sort(logsumexp(X, axis=1))
    assert etran_energy(X, percent=2, tail="top") == pytest.approx(e[-20:].mean())
    assert etran_energy(X, percent=2) == pytest.approx(e[:20].mean())


def test_etran_combine_weights_and_constant_warning():
    np.testing.assert_allclose(
        etran_combine([1.0, 3.0, 2.0], [0.5, 0.7, 0.9]), [0.0, 0.575, 0.925]
    )
    with pytest.warns(UserWarning, match="same for every model"):
        np.testing.assert_allclose(etran_combine([1.0, 1.0], [0.2, 0.4]), [0, 0.85])


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.full((6, 2), np.nan), [0, 0, 0, 1, 1, 1], "NaN"),
        (np.ones((6, 2)), [2] * 6, "class"),
        (np.ones((6, 2)), [0, 1], "samples"),
        (np.ones((5, 2)), [0, 0, 0, 0, 1], "class"),
    ],
)
def test_etran_bad_input_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        etran_components(X, y)


def test_etran_combine_length_mismatch_raises():
    with pytest.raises(ValueError, match="one value per model"):
        etran_combine([1.0, 2.0], [0.5])
