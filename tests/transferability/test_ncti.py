"""NCTI against BUserName/NCTI reference values and a scikit-learn oracle."""

import warnings

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from skdisco.transferability import (
    ncti,
    ncti_combine,
    ncti_components,
    ncti_lda_score,
)

ZOO = "z_zoo5_n600_c10"


def _sklearn_oracle(X, y, n_components=64):
    """The reference's NCTI_Score with an exact (full-SVD) PCA."""
    pca = PCA(n_components=n_components, svd_solver="full")
    Z = pca.fit_transform(X)
    s = max(np.exp(-pca.explained_variance_[:32].sum()), 1e-10)
    if s == 1e-10:
        clf = LinearDiscriminantAnalysis(solver="svd")
    else:
        clf = LinearDiscriminantAnalysis(solver="eigen", shrinkage=float(s))
    low = clf.fit_transform(Z, y)
    low = low - low.mean(axis=0)
    P = clf.predict_proba(Z)
    nuc = sum(np.linalg.norm(P[y == c], ord="nuc") for c in np.unique(y))
    return np.array(
        [np.linalg.norm(low, ord="nuc"), P[np.arange(len(y)), y].mean(), np.log(nuc)]
    )


def test_ncti_components_match_reference_exact_pca_model(reference_scores, load_case):
    # m0 has 64 features: the reference's PCA used its exact solver.
    data = load_case(ZOO)
    ref = reference_scores[ZOO]["m0.ncti_components.NCTI"]
    got = ncti_components(data["X_m0"], data["y"])
    np.testing.assert_allclose(got, ref, rtol=1e-6)


@pytest.mark.parametrize(
    "case, key",
    [
        ("b_lowrank_n2000_d256_c20", "X"),
        ("d_n_lt_d_n100_d512_c10", "X"),
        (ZOO, "X_m1"),
        (ZOO, "X_m2"),
        (ZOO, "X_m3"),
        (ZOO, "X_m4"),
    ],
)
def test_ncti_components_match_exact_pca_oracle(case, key, load_case):
    data = load_case(case)
    got = ncti_components(data[key], data["y"])
    np.testing.assert_allclose(got, _sklearn_oracle(data[key], data["y"]), rtol=1e-6)


@pytest.mark.parametrize(
    "case, key, ref_key",
    [
        ("b_lowrank_n2000_d256_c20", "X", "ncti_components.NCTI"),
        ("d_n_lt_d_n100_d512_c10", "X", "ncti_components.NCTI"),
        (ZOO, "X_m2", "m2.ncti_components.NCTI"),
    ],
)
def test_ncti_components_near_randomized_pca_reference(
    case, key, ref_key, reference_scores, load_case
):
    # The reference's PCA(64) picked sklearn's randomized solver (unseeded) for
    # these shapes: its values are one random approximation. Ours are exact.
    data = load_case(case)
    got = ncti_components(data[key], data["y"])
    np.testing.assert_allclose(got, reference_scores[case][ref_key], rtol=2e-2)


def test_ncti_eigen_solver_branch_matches_sklearn(load_case):
    # Small-variance features take the shrunk ("eigen") LDA branch.
    data = load_case(ZOO)
    X = data["X_m1"] * 0.05
    np.testing.assert_allclose(
        ncti_components(X, data["y"]), _sklearn_oracle(X, data["y"]), rtol=1e-6
    )


def test_ncti_combine_matches_reference_zoo(reference_scores, load_case):
    ref = reference_scores[ZOO]
    comps = [ref[f"m{m}.ncti_components.NCTI"] for m in range(5)]
    expected = [ref[f"m{m}.ncti.NCTI.zoo_minmax"] for m in range(5)]
    np.testing.assert_allclose(ncti_combine(comps), expected, rtol=1e-12, atol=1e-12)


def test_ncti_zoo_ranking_matches_reference_order(reference_scores, load_case):
    data = load_case(ZOO)
    ours = ncti([data[f"X_m{m}"] for m in range(5)], data["y"])
    ref = [reference_scores[ZOO][f"m{m}.ncti.NCTI.zoo_minmax"] for m in range(5)]
    np.testing.assert_array_equal(np.argsort(ours), np.argsort(ref))


def test_ncti_label_gaps_equal_case_a(load_case):
    a, e = load_case("a_gauss_n300_d32_c4"), load_case("e_gap_labels_n300_d32_c4")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(
            ncti_components(e["X"], e["y"]),
            ncti_components(a["X"], a["y"]),
            rtol=1e-10,
        )


def test_ncti_warns_and_reduces_pca_when_too_few_features(load_case):
    data = load_case("a_gauss_n300_d32_c4")
    with pytest.warns(UserWarning, match="Using 32 components"):
        got = ncti_components(data["X"], data["y"])
    np.testing.assert_allclose(
        got, _sklearn_oracle(data["X"], data["y"], n_components=32), rtol=1e-6
    )


def test_ncti_lda_score_is_second_component(load_case):
    data = load_case(ZOO)
    assert ncti_lda_score(data["X_m0"], data["y"]) == pytest.approx(
        ncti_components(data["X_m0"], data["y"])[1], rel=1e-15
    )


def test_ncti_combine_constant_component_warns():
    with pytest.warns(UserWarning, match="same for every model"):
        out = ncti_combine([[1.0, 0.5, 2.0], [1.0, 0.7, 3.0]])
    np.testing.assert_allclose(out, [0.0, 0.0])


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.full((6, 2), np.inf), [0, 0, 0, 1, 1, 1], "infinity|NaN"),
        (np.ones((6, 2)), [1] * 6, "class"),
        (np.ones((6, 2)), [0, 1, 0], "samples"),
        (np.ones((4, 2)), [0, 0, 0, 1], "class"),
    ],
)
def test_ncti_bad_input_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        ncti_components(X, y)


def test_ncti_combine_bad_shape_raises():
    with pytest.raises(ValueError, match="shape"):
        ncti_combine([[1.0, 2.0]])
