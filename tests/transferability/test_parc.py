"""PARC against the SFDA reference values and the reference algorithm."""

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from skdisco.transferability import parc

CASES = [
    "a_gauss_n300_d32_c4",
    "b_lowrank_n2000_d256_c20",
    "d_n_lt_d_n100_d512_c10",
    "e_gap_labels_n300_d32_c4",
    "g_imbalanced_const_col_n300_d48_c5",
    "z_zoo5_n600_c10",
]


def _reference_cases():
    """``(case, prefix)`` pairs: one per case, five (``m0.`` .. ``m4.``) for z."""
    out = []
    for case in CASES:
        prefixes = [f"m{k}." for k in range(5)] if case.startswith("z_") else [""]
        out += [(case, p) for p in prefixes]
    return out


def _inputs(load_case, case, prefix):
    arrays = load_case(case)
    if prefix:
        k = prefix[1]
        return arrays[f"X_m{k}"], arrays["y"], arrays[f"source_probs_m{k}"]
    return arrays["X"], arrays["y"], arrays["source_probs"]


def _expected(reference_scores, case, prefix, key):
    """Reference value; for case e (label gaps) the correct answer is case a's."""
    if case.startswith("e_"):
        case = "a_gauss_n300_d32_c4"
    value = reference_scores[case].get(prefix + key)
    if value is None or isinstance(value, dict):
        pytest.skip(f"no reference value for {prefix}{key} in {case}")
    return value


# Case d: the label dissimilarities' round-off (which same-class pairs come out
# as 1.1e-16 instead of 0, and so get split ranks) depends on the BLAS kernel of
# the machine; the reference machine's pattern is not reproducible here.
BLAS_DEPENDENT = {("d_n_lt_d_n100_d512_c10", "")}


@pytest.mark.parametrize("case, prefix", _reference_cases())
def test_parc_matches_reference(reference_scores, load_case, case, prefix):
    if (case, prefix) in BLAS_DEPENDENT:
        pytest.xfail("reference tie-breaking is BLAS-kernel dependent (see test)")
    X, y, _ = _inputs(load_case, case, prefix)
    expected = _expected(reference_scores, case, prefix, "parc.SFDA.ratio2")
    assert parc(X, y) == pytest.approx(expected, rel=1e-6)


def _reference_algorithm(X, y):
    f = PCA(32, svd_solver="randomized", random_state=1919, iterated_power=1)
    f = StandardScaler().fit_transform(f.fit_transform(X))
    iu = np.triu_indices(X.shape[0], 1)
    r1 = (1 - np.corrcoef(f))[iu]
    r2 = (1 - np.corrcoef(np.eye(int(y.max()) + 1)[y]))[iu]
    return spearmanr(r1, r2)[0] * 100


@pytest.mark.parametrize(
    "case", ["d_n_lt_d_n100_d512_c10", "g_imbalanced_const_col_n300_d48_c5"]
)
def test_parc_equals_reference_algorithm_on_this_machine(load_case, case):
    arrays = load_case(case)
    X, y = arrays["X"], arrays["y"]
    assert parc(X, y) == pytest.approx(_reference_algorithm(X, y), rel=1e-9)


def test_parc_exact_ties_equals_spearman_with_binary_labels():
    rng = np.random.default_rng(0)
    y = np.arange(80) % 4
    X = rng.standard_normal((80, 40)) + y[:, None]
    f = PCA(32, svd_solver="randomized", random_state=1919, iterated_power=1)
    f = StandardScaler().fit_transform(f.fit_transform(X))
    iu = np.triu_indices(80, 1)
    expected = spearmanr((1 - np.corrcoef(f))[iu], y[iu[0]] != y[iu[1]])[0] * 100
    assert parc(X, y, label_ties="exact") == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (
            np.array([[0.0, 1.0], [np.nan, 1.0], [1.0, 2.0], [2.0, 0.0]]),
            [0, 1, 0, 1],
            "NaN",
        ),
        (np.arange(8.0).reshape(4, 2), [0, 0, 0, 0], "single class"),
        (np.arange(8.0).reshape(4, 2), [0, 1, 0], "samples"),
        (np.arange(4.0), [0, 1, 0, 1], "2D|2-D|2d"),
        (np.array([["a", "b"], ["c", "d"]]), [0, 1], "numeric"),
    ],
)
def test_parc_bad_input_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        parc(X, y)
