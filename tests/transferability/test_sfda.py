"""SFDA against the TencentARC/SFDA reference values and properties."""

import warnings

import numpy as np
import pytest

from skdisco.transferability import sfda
from skdisco.transferability._linalg import power_iteration_eigenvalue
from skdisco.transferability._sfda import sfda_result

CASES = [
    "a_gauss_n300_d32_c4",
    "b_lowrank_n2000_d256_c20",
    "d_n_lt_d_n100_d512_c10",
    "g_imbalanced_const_col_n300_d48_c5",
]


@pytest.mark.parametrize("case", CASES)
def test_sfda_matches_reference(case, reference_scores, load_case):
    data = load_case(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = sfda(data["X"], data["y"])
    assert got == pytest.approx(reference_scores[case]["sfda.SFDA"], rel=1e-6)


@pytest.mark.parametrize("model", range(5))
def test_sfda_matches_reference_zoo(model, reference_scores, load_case):
    data = load_case("z_zoo5_n600_c10")
    ref = reference_scores["z_zoo5_n600_c10"][f"m{model}.sfda.SFDA"]
    assert sfda(data[f"X_m{model}"], data["y"]) == pytest.approx(ref, rel=1e-6)


def test_sfda_label_gaps_equal_case_a(load_case):
    a, e = load_case("a_gauss_n300_d32_c4"), load_case("e_gap_labels_n300_d32_c4")
    assert sfda(e["X"], e["y"]) == pytest.approx(sfda(a["X"], a["y"]), rel=1e-12)


def test_sfda_input_unchanged(load_case):
    data = load_case("a_gauss_n300_d32_c4")
    X = data["X"].copy()
    sfda(X, data["y"])
    np.testing.assert_array_equal(X, data["X"])


def test_sfda_warns_when_saturated(load_case):
    data = load_case("d_n_lt_d_n100_d512_c10")
    with pytest.warns(UserWarning, match="saturates"):
        assert sfda(data["X"], data["y"]) == pytest.approx(1.0)


def test_sfda_float32_matches_float64(load_case):
    data = load_case("a_gauss_n300_d32_c4")
    X32 = data["X"].astype(np.float32)
    assert sfda(X32, data["y"]) == pytest.approx(
        sfda(X32.astype(np.float64), data["y"]), rel=1e-12
    )


def test_sfda_chunked_rows_match_whole(load_case, monkeypatch):
    import skdisco.transferability._linalg as linalg

    data = load_case("b_lowrank_n2000_d256_c20")
    whole = sfda(data["X"], data["y"])
    monkeypatch.setattr(linalg, "_CHUNK_BYTES", 8 * 256 * 37)
    chunked = sfda_result(data["X"], data["y"], 20).score
    assert chunked == pytest.approx(whole, rel=1e-10)


def test_sfda_first_stage_is_naive_shrunk_lda(load_case):
    """Oracle: the first stage equals a naive shrunk LDA written out in full."""
    from scipy.special import softmax

    data = load_case("a_gauss_n300_d32_c4")
    X, y = data["X"], data["y"]
    C, (n, d) = 4, X.shape
    priors = np.bincount(y) / n
    means = np.array([X[y == c].mean(0) for c in range(C)])
    Sw = sum(priors[c] * np.cov(X[y == c].T, bias=True) for c in range(C))
    s = max(np.exp(-5 * power_iteration_eigenvalue(Sw)), 1e-10)
    S = (1 - s) * Sw + s * np.trace(Sw) / d * np.eye(d)
    P = np.linalg.inv(S)
    logits = X @ P @ means.T - 0.5 * np.diag(means @ P @ means.T) + np.log(priors)
    naive = softmax(logits, axis=1)[np.arange(n), y].mean()
    assert sfda_result(X, y, C).first_stage_score == pytest.approx(naive, rel=1e-9)


def test_power_iteration_on_diagonal_matrix_is_largest_eigenvalue():
    A = np.diag([5.0, 1.0, 0.5])
    assert power_iteration_eigenvalue(A, 20) == pytest.approx(5.0, rel=1e-9)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.full((6, 2), np.nan), [0, 0, 0, 1, 1, 1], "NaN"),
        (np.ones((6, 2)), [0] * 6, "class"),
        (np.ones((6, 2)), [0, 1, 0, 1], "samples"),
        (np.ones((5, 2)), [0, 0, 0, 0, 1], "class"),
        (np.ones(6), [0, 0, 0, 1, 1, 1], "2D"),
    ],
)
def test_sfda_bad_input_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        sfda(X, y)


def test_sfda_warns_when_separable_classes_saturate_it():
    # Classes far apart: every posterior rounds to 1 and the score is its
    # maximum, a tie between all such models; classes that overlap do not warn.
    from skdisco.utils import SaturatedScoreWarning

    rng = np.random.default_rng(0)
    y = rng.integers(0, 20, 3000)
    means = rng.normal(size=(20, 256))
    far = 3.0 * means[y] + rng.normal(size=(3000, 256))
    with pytest.warns(SaturatedScoreWarning, match="SFDA saturates"):
        assert sfda(far, y) == pytest.approx(1.0, abs=1e-12)
    near = 0.05 * means[y] + rng.normal(size=(3000, 256))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sfda(near, y) < 0.5
