"""PACTran against google-research/pactran_metrics reference values."""

import numpy as np
import pytest

from skdisco.transferability import pactran_dirichlet, pactran_gamma, pactran_gauss
from skdisco.transferability._pactran import pac_gauss_result
from skdisco.utils import check_classification_target

ZOO = "z_zoo5_n600_c10"
CASES = [
    "a_gauss_n300_d32_c4",
    "b_lowrank_n2000_d256_c20",
    "d_n_lt_d_n100_d512_c10",
    "g_imbalanced_const_col_n300_d48_c5",
]
FAST_CASES = [c for c in CASES if not c.startswith("b_")]


def _inputs(data, model=None):
    suffix = "" if model is None else f"_m{model}"
    return data[f"X{suffix}"], data[f"source_probs{suffix}"], data["y"]


@pytest.mark.parametrize("case", CASES)
def test_pactran_dirichlet_gamma_match_reference(case, reference_scores, load_case):
    _, P, y = _inputs(load_case(case))
    ref = reference_scores[case]
    assert pactran_dirichlet(P, y) == pytest.approx(
        -ref["pactran_dir.pactran.alpha1"], rel=1e-6
    )
    assert pactran_gamma(P, y) == pytest.approx(
        -ref["pactran_gamma.pactran.alpha1"], rel=1e-6
    )


@pytest.mark.parametrize("model", range(5))
def test_pactran_dirichlet_gamma_match_reference_zoo(
    model, reference_scores, load_case
):
    _, P, y = _inputs(load_case(ZOO), model)
    ref = reference_scores[ZOO]
    assert pactran_dirichlet(P, y) == pytest.approx(
        -ref[f"m{model}.pactran_dir.pactran.alpha1"], rel=1e-6
    )
    assert pactran_gamma(P, y) == pytest.approx(
        -ref[f"m{model}.pactran_gamma.pactran.alpha1"], rel=1e-6
    )


@pytest.mark.parametrize("case", FAST_CASES)
@pytest.mark.parametrize("lda", ["lda10", "lda1", "lda0.1"])
def test_pactran_gauss_matches_reference(case, lda, reference_scores, load_case):
    X, _, y = _inputs(load_case(case))
    y_enc, classes = check_classification_target(y)
    ref = reference_scores[case][f"pactran_gauss.pactran.{lda}"]
    factor = float(lda[3:])
    a = pac_gauss_result(X, y_enc, len(classes), lda_factor=factor)
    b = pac_gauss_result(X, y_enc, len(classes), lda_factor=factor, variance_scale=10.0)
    assert a.pac_gauss == pytest.approx(ref["pac_gauss_s2a"], rel=1e-6)
    assert b.pac_gauss == pytest.approx(ref["pac_gauss_s2b"], rel=1e-6)
    assert a.pac_opt == pytest.approx(ref["pac_opt"], rel=1e-6)
    assert pactran_gauss(X, y, lda_factor=factor) == -a.pac_gauss


@pytest.mark.parametrize("model", [0, 3])
def test_pactran_gauss_matches_reference_zoo(model, reference_scores, load_case):
    X, _, y = _inputs(load_case(ZOO), model)
    ref = reference_scores[ZOO][f"m{model}.pactran_gauss.pactran.lda1"]
    assert -pactran_gauss(X, y) == pytest.approx(ref["pac_gauss_s2a"], rel=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_pactran_gauss_etran_copy_matches_reference(case, reference_scores, load_case):
    X, _, y = _inputs(load_case(case))
    ref = reference_scores[case]["pactran_gauss.ETran_copy.lda1.neg"]
    assert pactran_gauss(X, y, max_iter=10) == pytest.approx(ref, rel=1e-6)


def test_pactran_label_gaps_equal_case_a(load_case):
    Xa, Pa, ya = _inputs(load_case("a_gauss_n300_d32_c4"))
    Xe, Pe, ye = _inputs(load_case("e_gap_labels_n300_d32_c4"))
    assert pactran_dirichlet(Pe, ye) == pytest.approx(pactran_dirichlet(Pa, ya))
    assert pactran_gamma(Pe, ye) == pytest.approx(pactran_gamma(Pa, ya))
    assert pactran_gauss(Xe, ye, max_iter=10) == pytest.approx(
        pactran_gauss(Xa, ya, max_iter=10), rel=1e-12
    )


def test_pactran_gauss_input_unchanged_and_deterministic(load_case):
    X, _, y = _inputs(load_case("a_gauss_n300_d32_c4"))
    X0 = X.copy()
    a = pactran_gauss(X, y, max_iter=10, random_state=3)
    np.testing.assert_array_equal(X, X0)
    assert pactran_gauss(X, y, max_iter=10, random_state=3) == a


def test_pactran_gauss_random_state_matches_global_seed(load_case):
    X, _, y = _inputs(load_case("a_gauss_n300_d32_c4"))
    assert pactran_gauss(X, y, random_state=np.random.RandomState(0)) == (
        pactran_gauss(X, y)
    )


@pytest.mark.parametrize("func", [pactran_dirichlet, pactran_gamma])
@pytest.mark.parametrize(
    "P, y, match",
    [
        (np.array([[0.5, 0.5], [np.nan, 1.0]]), [0, 1], "NaN"),
        (np.array([[1.5, -0.5], [0.5, 0.5]]), [0, 1], "negative"),
        (np.array([[0.9, 0.9], [0.5, 0.5]]), [0, 1], "sum to 1"),
        (np.array([[0.5, 0.5], [0.5, 0.5]]), [0, 0], "class"),
        (np.array([[0.5, 0.5], [0.5, 0.5]]), [0, 1, 1], "samples"),
    ],
)
def test_pactran_source_bad_input_raises(func, P, y, match):
    with pytest.raises(ValueError, match=match):
        func(P, y)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.full((4, 2), np.inf), [0, 1, 0, 1], "infinity|NaN"),
        (np.ones((4, 2)), [0, 0, 0, 0], "class"),
        (np.ones((4, 2)), [0, 1], "samples"),
    ],
)
def test_pactran_gauss_bad_input_raises(X, y, match):
    with pytest.raises(ValueError, match=match):
        pactran_gauss(X, y)
