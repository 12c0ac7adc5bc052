"""PARCScorer: the estimator reproduces the reference value (SFDA's PARC)."""

import pytest

from skdisco.scorers import PARCScorer


@pytest.mark.parametrize(
    "case, prefix",
    [("a_gauss_n300_d32_c4", ""), ("g_imbalanced_const_col_n300_d48_c5", "")]
    + [("z_zoo5_n600_c10", f"m{k}.") for k in (0, 3)],
)
def test_parc_scorer_matches_reference(reference_scores, load_case, case, prefix):
    arrays = load_case(case)
    X = arrays[f"X_m{prefix[1]}"] if prefix else arrays["X"]
    expected = reference_scores[case][prefix + "parc.SFDA.ratio2"]
    scorer = PARCScorer().fit(X, arrays["y"])
    assert scorer.score_ == pytest.approx(expected, rel=1e-6)


def test_parc_scorer_relabelled_classes_give_case_a(reference_scores, load_case):
    arrays = load_case("e_gap_labels_n300_d32_c4")
    expected = reference_scores["a_gauss_n300_d32_c4"]["parc.SFDA.ratio2"]
    assert PARCScorer().fit(arrays["X"], arrays["y"]).score_ == pytest.approx(
        expected, rel=1e-6
    )
