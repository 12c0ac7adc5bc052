"""GBCScorer: the estimator reproduces the google-research reference values."""

import pytest

from skdisco.scorers import GBCScorer

# (reference key, estimator parameters); the labels of case e have gaps, and its
# correct answer is case a's (the reference reads them as 43 classes).
KEYS = [
    ("gbc.google_research.spherical", {}),
    ("gbc.google_research.diagonal", {"gaussian_type": "diagonal"}),
]
CASES = ["a_gauss_n300_d32_c4", "e_gap_labels_n300_d32_c4", "z_zoo5_n600_c10"]


@pytest.mark.parametrize("key, params", KEYS, ids=[k for k, _ in KEYS])
@pytest.mark.parametrize("case", CASES)
def test_gbc_scorer_matches_reference(reference_scores, load_case, case, key, params):
    arrays = load_case(case)
    if case.startswith("z_"):
        X, expected = arrays["X_m2"], reference_scores[case]["m2." + key]
    else:
        X = arrays["X"]
        expected = reference_scores["a_gauss_n300_d32_c4"][key]
    scorer = GBCScorer(**params).fit(X, arrays["y"])
    assert scorer.score_ == pytest.approx(expected, rel=1e-6)
    assert scorer.score(X, arrays["y"]) == scorer.score_
