"""Score warnings name the line the user wrote, not skdisco's or scikit-learn's."""

import warnings

import numpy as np
import pytest

from skdisco.scorers import GBCScorer, HScoreScorer
from skdisco.transferability import gbc, hscore, transrate
from skdisco.utils import SaturatedScoreWarning
from skdisco.utils._warnings import user_stacklevel


def _single_sample_classes():
    return np.array([[0.0], [1.0], [5.0]]), np.array(["a", "b", "c"])


def _more_dimensions_than_samples():
    rng = np.random.default_rng(0)
    return rng.standard_normal((40, 60)), np.arange(40) % 3


def _a_row_at_the_mean():
    X = np.array([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 0]])
    return np.vstack([X, [[0, 0, 2], [0, 0, -2]]]), [0, 0, 1, 1, 0, 1, 0]


def _constant_score_ranking():
    import pandas as pd

    from skdisco.selection import evaluate_ranking

    ranking = pd.DataFrame(
        {"model": ["a", "b", "c"], "logme": [1.0, 1.0, 1.0], "logme_rank": [1, 1, 1]}
    )
    return evaluate_ranking(ranking, {"a": 0.9, "b": 0.5, "c": 0.1})


def _csv_with_its_index(tmp_path):
    import pandas as pd

    from skdisco.datasets import load_features

    path = tmp_path / "F.csv"
    pd.DataFrame({"f0": [0.5, 1.5], "f1": [2.0, 3.0]}).to_csv(path)
    return load_features(path)


CASES = [
    (lambda: gbc(*_single_sample_classes()), SaturatedScoreWarning),
    (lambda: GBCScorer().fit(*_single_sample_classes()), SaturatedScoreWarning),
    (lambda: hscore(*_more_dimensions_than_samples()), SaturatedScoreWarning),
    (
        lambda: HScoreScorer().fit(*_more_dimensions_than_samples()),
        SaturatedScoreWarning,
    ),
    # A row equal to the mean has no direction for TransRate's unit rows.
    (lambda: transrate(*_a_row_at_the_mean()), UserWarning),
    # Elsewhere in the package, behind validate_params too.
    (_constant_score_ranking, UserWarning),
    (_csv_with_its_index, UserWarning),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_score_warnings_point_at_the_callers_line(case, tmp_path):
    call, category = CASES[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if call is _csv_with_its_index:
            call(tmp_path)
        else:
            call()
    mine = [w for w in caught if issubclass(w.category, category)]
    assert mine, "no warning"
    assert all(w.filename == __file__ for w in mine), [w.filename for w in mine]


def test_user_stacklevel_counts_the_frames_inside_the_package():
    # Called from this file (outside the package): level 1, this very line.
    assert user_stacklevel() == 1
